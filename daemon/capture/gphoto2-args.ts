/**
 * Everything about the gphoto2 command line that can be decided without running it:
 * the argv for each operation, the allow-list that settings pass before they reach
 * an argv, and the parsers and error classifier for what gphoto2 prints.
 * Pure functions: the tests check them value by value.
 */
import { CameraError } from './camera';
import { portProblem, settingProblem } from '../config/gphoto2-values';

/** The user unit that mounts cameras for a desktop session. */
export const GVFS_UNIT = 'gvfs-gphoto2-volume-monitor.service';

/** What to do about gvfs holding cameras, wherever lapsebox says so (a capture error, `lapsebox cameras`, `lapsebox doctor`). */
export const GVFS_FIX = `sudo scripts/install.sh masks it for every user and ends it; by hand: sudo systemctl --global mask ${GVFS_UNIT} && sudo pkill -f 'gvfsd?-gphoto2' (or reboot)`;

export interface DetectedCamera {
  model: string;
  port: string;
}

export interface Gphoto2Setting {
  name: string;
  value: string;
}

/** Where gphoto2 keeps RAW files: Canon, Nikon, Sony, Olympus, Panasonic, Fuji, Pentax, Samsung, Adobe. */
export const RAW_EXTENSIONS = ['cr2', 'cr3', 'crw', 'nef', 'nrw', 'arw', 'srf', 'sr2', 'orf', 'rw2', 'raf', 'pef', 'srw', 'dng', 'x3f', 'raw'] as const;
export const JPEG_EXTENSIONS = ['jpg', 'jpeg'] as const;

/** Checks every setting; throws one CameraError listing all the problems. */
export function checkedSettings(settings: Record<string, string | number | boolean>): Gphoto2Setting[] {
  const problems: string[] = [];
  const checked: Gphoto2Setting[] = [];
  for (const [name, value] of Object.entries(settings)) {
    const problem = settingProblem(name, value);
    if (problem) problems.push(problem);
    else checked.push({ name, value: typeof value === 'boolean' ? (value ? '1' : '0') : String(value) });
  }
  if (problems.length > 0) throw new CameraError('failed', problems.join('; '), 'fix camera.settings in the configuration');
  return checked;
}

/** Control characters shown escaped, so a hostile value cannot forge log lines. */
function portArgs(port: string): string[] {
  const problem = portProblem(port);
  if (problem) throw new CameraError('failed', problem);
  return ['--port', port];
}

export function autoDetectArgs(): string[] {
  return ['--auto-detect'];
}

export function summaryArgs(port: string): string[] {
  return [...portArgs(port), '--summary'];
}

/** Reads one setting: its value now and its choices (parseGetConfig). */
export function getConfigArgs(port: string, name: string): string[] {
  const problem = settingProblem(name, '1');
  if (problem) throw new CameraError('failed', problem);
  return [...portArgs(port), '--get-config', name];
}

export function resetArgs(port: string): string[] {
  return [...portArgs(port), '--reset'];
}

/**
 * Applies the settings, then captures and downloads every file the shot makes
 * (one JPEG, or RAW + JPEG) into `folder`, named capture.<extension>.
 */
export function captureArgs(options: { port: string; settings: readonly Gphoto2Setting[]; folder: string }): string[] {
  const args = portArgs(options.port);
  for (const { name, value } of options.settings) {
    const problem = settingProblem(name, value);
    if (problem) throw new CameraError('failed', problem);
    args.push('--set-config', `${name}=${value}`);
  }
  // %C is the extension the camera gives each file; the folder is ours alone.
  args.push('--capture-image-and-download', '--no-keep', '--force-overwrite', '--filename', `${options.folder}/capture.%C`);
  return args;
}

/**
 * Parses `gphoto2 --auto-detect`:
 *   Model                          Port
 *   ----------------------------------------------------------
 *   Canon EOS 550D                 usb:001,005
 * Model names contain spaces; the port is the last field.
 */
export function parseAutoDetect(stdout: string): DetectedCamera[] {
  const cameras: DetectedCamera[] = [];
  let inTable = false;
  for (const line of stdout.split(/\r?\n/)) {
    if (/^-{10,}\s*$/.test(line)) {
      inTable = true;
      continue;
    }
    if (!inTable) continue;
    const match = /^(.*\S)\s+(\S+)\s*$/.exec(line);
    if (match && match[1] && match[2]) cameras.push({ model: match[1], port: match[2] });
  }
  return cameras;
}

/** The serial number from `gphoto2 --summary` ("  Serial Number: 0123456789"), if the camera tells. */
export function parseSerial(summary: string): string | undefined {
  const match = /^\s*Serial Number:\s*(\S.*?)\s*$/m.exec(summary);
  const serial = match?.[1];
  // Some cameras report a serial made of zeros or nothing useful.
  return serial && !/^0+$/.test(serial) ? serial : undefined;
}

/** gphoto2's final error line: "*** Error (-53: 'Could not claim the USB device') ***". */
function errorCode(stderr: string): number | undefined {
  const match = /\*\*\* Error \((-?\d+):/.exec(stderr);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** The most specific line gphoto2 printed about the failure. */
function errorSummary(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && l !== '*** Error ***' && !l.startsWith('For debugging messages'));
  const final = lines.filter((l) => l.startsWith('*** Error')).pop();
  const detail = lines.find((l) => !l.startsWith('*** Error'));
  const text = [detail, final].filter(Boolean).join(' ');
  return text.length > 300 ? `${text.slice(0, 300)}...` : text || 'no error message';
}

/**
 * Maps what gphoto2 printed on a failed run to a typed error with advice. The
 * numbers are libgphoto2's result codes (gphoto2-result.h, gphoto2-port-result.h).
 */
export function classifyGphoto2Error(stderr: string, context: { sourceId: string; port?: string }): CameraError {
  const code = errorCode(stderr);
  const camera = `camera ${context.sourceId}`;
  const at = context.port ? ` at ${context.port}` : '';
  const said = errorSummary(stderr);
  const has = (pattern: RegExp) => pattern.test(stderr);

  if (code === -53 || has(/Could not claim the USB device|Could not claim interface/i)) {
    return new CameraError(
      'claimed',
      `${camera}: gphoto2 could not claim the USB device${at}: ${said}`,
      `another program holds it, most often gvfs-gphoto2 on a box with a desktop: ${GVFS_FIX}`,
    );
  }
  if (code === -110 || has(/PTP Device Busy|Device Busy/i)) {
    return new CameraError('busy', `${camera}: the camera is busy${at}: ${said}`, 'it may still be saving the last shot; lengthen the interval, or check that nothing else drives it');
  }
  if (code === -60 || code === -31 || has(/Permission denied|Could not lock the device|Could not open USB device/i)) {
    return new CameraError('claimed', `${camera}: gphoto2 could not open the USB device${at}: ${said}`, 'check that the lapsebox user is in the plugdev group and the libgphoto2 udev rules are installed');
  }
  if (code === -105 || code === -52 || has(/No camera found|Could not detect any camera|Could not find the requested device/i)) {
    return new CameraError('not-found', `${camera}: no camera found${at}`, 'is it switched on, awake and plugged in? "lapsebox cameras" lists what the box can see');
  }
  if (code === -10 || has(/Timeout reading from or writing to the port/i)) {
    return new CameraError('timeout', `${camera}: the camera stopped answering${at}: ${said}`, 'it may be hung; a USB reset or a power cycle usually brings it back');
  }
  if (has(/Perhaps no focus|Out of Focus|could not focus/i)) {
    return new CameraError('failed', `${camera}: the camera could not focus: ${said}`, 'set the lens to manual focus (MF) for a timelapse');
  }
  if (has(/not found in configuration tree/i) || has(/Failed to set (new )?configuration value/i) || has(/Choice .* not found/i) || code === -2) {
    return new CameraError('failed', `${camera}: a camera setting was refused: ${said}`, 'check camera.settings against "gphoto2 --list-config" and "gphoto2 --get-config NAME" for this model');
  }
  if (code === -7 || code === -34 || code === -35 || code === -37 || code === -51 || has(/I\/O problem|PTP I\/O Error|Could not (read|write) (from|to) (the )?port/i)) {
    return new CameraError('io', `${camera}: USB I/O error${at}: ${said}`, 'check the USB cable and hub, and the camera battery or power supply');
  }
  return new CameraError('failed', `${camera}: gphoto2 failed${at}: ${said}`);
}
