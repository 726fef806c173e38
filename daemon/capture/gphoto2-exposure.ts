/**
 * The exposure ramp on a gphoto2 camera (issue 27): which of the camera's settings are
 * its shutter, ISO and aperture, their choices as the ramp reads them, the --set-config
 * pairs of a frame, and the settings a frame was taken with. Shared by the session and
 * the program drivers; the words are gphoto2's (`--get-config` prints the same choices
 * the binding gives).
 */
import { choicesOf, evOf, parseAperture, parseIso, parseShutter, type Choices, type ExposureKnob, type ExposureLabels, type PictureExposure } from '../domain/exposure';
import { CameraError } from './camera';
import type { ExposureControl } from './exposure/exposure-ramp';
import type { Gphoto2Setting } from './gphoto2-args';
import { RAMP_SETTINGS } from './gphoto2-session/protocol';

const KNOBS: readonly ExposureKnob[] = ['shutter', 'iso', 'aperture'];
const PARSE: Record<ExposureKnob, (label: string) => number | null> = { shutter: parseShutter, iso: parseIso, aperture: parseAperture };

/** A camera's settings as the ramp sees them: its gphoto2 name for each knob it has, with the choices and the value now. */
export interface Gphoto2Exposure extends ExposureControl {
  names: Partial<Record<ExposureKnob, string>>;
}

/** From the camera's choices and current values by gphoto2 name (the session's reading, or --get-config). */
export function gphoto2Exposure(choices: Readonly<Record<string, readonly string[]>>, current: Readonly<Record<string, string>>): Gphoto2Exposure {
  const names: Partial<Record<ExposureKnob, string>> = {};
  const out: Record<ExposureKnob, ReturnType<typeof choicesOf>> = { shutter: [], iso: [], aperture: [] };
  const now: Partial<Record<ExposureKnob, number>> = {};
  for (const knob of KNOBS) {
    const name = RAMP_SETTINGS[knob].find((n) => (choices[n]?.length ?? 0) > 0);
    if (!name) continue;
    const list = choicesOf(knob, choices[name]!);
    if (list.length === 0) continue;
    names[knob] = name;
    out[knob] = list;
    const value = current[name] === undefined ? null : PARSE[knob](current[name]);
    if (value !== null) now[knob] = value;
  }
  if (out.shutter.length === 0) {
    throw new CameraError('unsupported', 'the camera offers no shutter speeds lapsebox can set (gphoto2 lists no shutterspeed choices)', 'set the camera to manual (M) exposure, or set camera.exposure.mode to manual');
  }
  return { names, choices: out as Choices, current: now };
}

/** The --set-config pairs of a frame's labels, only those that differ from `current` (by gphoto2 name). */
export function exposureSettings(labels: ExposureLabels, exposure: Gphoto2Exposure, current: Readonly<Record<string, string>> = {}): Gphoto2Setting[] {
  const out: Gphoto2Setting[] = [];
  for (const knob of KNOBS) {
    const label = labels[knob];
    const name = exposure.names[knob];
    if (label === undefined || name === undefined || current[name] === label) continue;
    out.push({ name, value: label });
  }
  return out;
}

/** The exposure a frame was taken with, from the camera's values by gphoto2 name; null when its shutter is not one of them. */
export function pictureExposure(values: Readonly<Record<string, string>>, exposure: Gphoto2Exposure): PictureExposure | null {
  const label = (knob: ExposureKnob): string | null => {
    const name = exposure.names[knob];
    const value = name === undefined ? undefined : values[name];
    return value !== undefined && PARSE[knob](value) !== null ? value : null;
  };
  const shutter = label('shutter');
  if (shutter === null) return null;
  const iso = label('iso');
  const aperture = label('aperture');
  const settings = { shutter: parseShutter(shutter)!, iso: iso === null ? null : parseIso(iso), aperture: aperture === null ? null : parseAperture(aperture) };
  return { shutter, iso, aperture, ev: Math.round(evOf(settings) * 100) / 100 };
}

/**
 * Parses `gphoto2 --get-config NAME`:
 *   Label: Shutter Speed / Readonly: 0 / Type: RADIO / Current: 1/125 / Choice: 0 30 / Choice: 1 25 / ... / END
 * into the value now and the choices.
 */
export function parseGetConfig(stdout: string): { current: string | null; choices: string[] } {
  let current: string | null = null;
  const choices: string[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const cur = /^Current:\s?(.*)$/.exec(line);
    if (cur) current = cur[1]!.trim();
    const choice = /^Choice:\s+\d+\s(.*)$/.exec(line);
    if (choice) choices.push(choice[1]!.trim());
  }
  return { current, choices };
}
