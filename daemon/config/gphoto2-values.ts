/**
 * The allow-list gphoto2 values pass, in the configuration and again before they
 * reach an argv (capture/gphoto2-args.ts): setting names and values, camera models
 * and ports. Pure; the configuration reports each problem with its key path.
 */
// A configuration entry name as gphoto2 lists it: "iso", "f-number", "/main/imgsettings/iso", "d002".
const SETTING_NAME = /^[A-Za-z0-9_/][A-Za-z0-9_./-]{0,99}$/;
// A value as the camera's choices spell them: "100", "f/8", "1/250", "0.3", "-0.7", "RAW + Large Fine JPEG", "Auto ISO".
const SETTING_VALUE = /^[A-Za-z0-9_.,:/+() -]{1,100}$/;
const SIGNED_NUMBER = /^-[0-9][0-9./]*$/;
const PORT = /^(usb:\d{3},\d{3}|usb:|ptpip:[A-Za-z0-9.:[\]-]+|ip:[A-Za-z0-9.:[\]-]+|serial:\/dev\/[A-Za-z0-9._-]+)$/;
const MODEL = /^[A-Za-z0-9 ._()+/-]{1,100}$/;

/**
 * Why a setting may not reach gphoto2's argv, or null when it may. The allow-list
 * has no shell or quoting characters ($ ` ; | & < > \ " ' newline), and nothing
 * may look like an option: a name never starts with "-", a value only when it is
 * a negative number (exposure compensation "-0.7").
 */
export function settingProblem(name: string, value: string | number | boolean): string | null {
  if (!SETTING_NAME.test(name)) {
    return `setting name "${printable(name)}" is not allowed: use the name gphoto2 --list-config prints (letters, digits, "_", "-", ".", "/"; not starting with "-")`;
  }
  const text = String(value);
  if (text.startsWith('-') && !SIGNED_NUMBER.test(text)) {
    return `setting ${name}: value "${printable(text)}" is not allowed: only a negative number may start with "-"`;
  }
  if (!SETTING_VALUE.test(text)) {
    return `setting ${name}: value "${printable(text)}" is not allowed: use letters, digits, spaces and . , : / + ( ) - _ only, as in gphoto2 --get-config ${name}`;
  }
  return null;
}

export function modelProblem(model: string): string | null {
  return MODEL.test(model) ? null : `camera model "${printable(model)}" is not allowed: use the model exactly as gphoto2 --auto-detect prints it`;
}

export function portProblem(port: string): string | null {
  return PORT.test(port) ? null : `camera port "${printable(port)}" is not allowed: expected a port as gphoto2 --auto-detect prints it, such as usb:001,004`;
}

function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
