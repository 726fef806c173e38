/**
 * Exposure settings as cameras write them, and as numbers the ramp can add (issue 27): pure words, no I/O.
 *
 * gphoto2 gives each setting as the camera's own list of choices, in the camera's own
 * words: shutter speeds as `1/250`, `0.3`, `30`, `1.0000s` (Nikon, the virtual camera)
 * or `30"`; apertures as `f/8` (`f-number`) or `8.0` (Canon's `aperture`); ISO as `100`.
 * Choices that are not a value (`Bulb`, `Time`, `Auto`, `Auto ISO`, `implicit auto`)
 * are none of the ramp's: it never picks them.
 *
 * Brightness on the sensor is proportional to t · S / N² (shutter time in seconds, ISO
 * sensitivity, f-number), so in stops (EV, log2) it is log2(t) + log2(S/100) − 2·log2(N):
 * `stopsOf` gives that figure, one stop brighter for each +1.
 */

/** sRGB taken as a power curve: linear light is the encoded value to this power (a stop of light is 2^(1/2.2) on encoded values). */
export const SRGB_GAMMA = 2.2;

/** A setting's value as the camera spells it, and the number it stands for. */
export interface Choice {
  /** What gphoto2 --set-config NAME=… takes: the camera's own spelling. */
  label: string;
  /** Seconds (shutter), the f-number (aperture) or the ISO sensitivity. */
  value: number;
}

export type ExposureKnob = 'shutter' | 'iso' | 'aperture';

const NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
const FRACTION = new RegExp(`^${NUMBER}\\s*/\\s*${NUMBER}\\s*s?$`);
const SECONDS = new RegExp(`^${NUMBER}\\s*(?:s|sec|"|'')?$`);
const F_NUMBER = new RegExp(`^(?:f\\s*/?\\s*)?${NUMBER}$`, 'i');
const ISO = new RegExp(`^(?:iso\\s*)?${NUMBER}$`, 'i');

/** Seconds from a shutter speed choice; null for Bulb, Time, Auto and what is not a speed. */
export function parseShutter(label: string): number | null {
  const text = label.trim();
  const fraction = FRACTION.exec(text);
  if (fraction) {
    const [num, den] = [Number(fraction[1]), Number(fraction[2])];
    return den > 0 && num > 0 ? num / den : null;
  }
  const seconds = SECONDS.exec(text);
  if (seconds) {
    const value = Number(seconds[1]);
    return value > 0 ? value : null;
  }
  return null;
}

/** The f-number from an aperture choice (`f/8`, `f8`, `8`, `8.0`); null for what is not one. */
export function parseAperture(label: string): number | null {
  const m = F_NUMBER.exec(label.trim());
  if (!m) return null;
  const value = Number(m[1]);
  return value >= 0.5 && value <= 128 ? value : null;
}

/** The sensitivity from an ISO choice (`100`, `ISO 100`); null for Auto and what is not one. */
export function parseIso(label: string): number | null {
  const m = ISO.exec(label.trim());
  if (!m) return null;
  const value = Number(m[1]);
  return value >= 1 && value <= 10_000_000 ? value : null;
}

const PARSERS: Record<ExposureKnob, (label: string) => number | null> = { shutter: parseShutter, iso: parseIso, aperture: parseAperture };

/**
 * The choices of one setting that stand for a value, sorted from the darkest to the
 * brightest (a shorter shutter, a lower ISO, a larger f-number come first); the same
 * value spelled twice is kept once (its first spelling).
 */
export function choicesOf(knob: ExposureKnob, labels: readonly string[]): Choice[] {
  const seen = new Set<number>();
  const out: Choice[] = [];
  for (const label of labels) {
    const value = PARSERS[knob](label);
    if (value === null || seen.has(value)) continue;
    seen.add(value);
    out.push({ label, value });
  }
  return out.sort((a, b) => stopsOfKnob(knob, a.value) - stopsOfKnob(knob, b.value));
}

/**
 * One knob's share of the exposure, in stops: brighter is larger. Cameras print rounded
 * values (1/125 s is 2^-7 s, 1/128; 1/60 is 1/64; f/5.6 is 2^2.5): each value counts
 * for its nominal place, the nearest third or half of a stop (1/90 s is a half-stop
 * scale's), so that one detent is one third of a stop (1/160 to 1/125 is 0.356 stop by
 * the printed figures, 1/80 to 1/60 0.415).
 */
export function stopsOfKnob(knob: ExposureKnob, value: number): number {
  const nominal = (stops: number) => {
    const third = Math.round(stops * 3) / 3;
    const half = Math.round(stops * 2) / 2;
    return Math.abs(stops - half) < Math.abs(stops - third) ? half : third;
  };
  switch (knob) {
    case 'shutter':
      return nominal(Math.log2(value));
    case 'iso':
      return nominal(Math.log2(value / 100));
    case 'aperture':
      return nominal(-2 * Math.log2(value));
  }
}

/** The settings of a frame; a camera without ISO or aperture control has null there. */
export interface Settings {
  shutter: number;
  iso: number | null;
  aperture: number | null;
}

/** How much light the settings let in, in stops (the ISO 100 and f/1 reference: 0 is 1 s at f/1, ISO 100). */
export function stopsOf(settings: Settings): number {
  const sum = stopsOfKnob('shutter', settings.shutter) + (settings.iso === null ? 0 : stopsOfKnob('iso', settings.iso)) + (settings.aperture === null ? 0 : stopsOfKnob('aperture', settings.aperture));
  // On the sixth of a stop, exactly: two settings that let in the same light compare equal.
  return Math.round(sum * 6) / 6;
}

/** A camera's choices for each knob, darkest first (choicesOf); empty: the camera has no such setting. */
export type Choices = Record<ExposureKnob, readonly Choice[]>;

/** Settings in the camera's own spelling, by knob: what a frame is to be taken with. */
export type ExposureLabels = Partial<Record<ExposureKnob, string>>;

/** The exposure a picture was taken with, as stored with it (issue 27). */
export interface PictureExposure {
  /** The camera's spelling of each setting; null: the camera has no such setting. */
  shutter: string | null;
  iso: string | null;
  aperture: string | null;
  /**
   * The exposure value of the settings, for ISO 100 (EV, log2(N²/t) − log2(ISO/100)):
   * 15 for a sunny day, 0 or below at night; one less for each stop more light let in.
   */
  ev: number;
}

/** The EV of settings (PictureExposure.ev). */
export function evOf(settings: Settings): number {
  return -stopsOf(settings);
}

/** The settings a picture's stored exposure stands for; null where a label no longer parses. */
export function settingsOf(exposure: Pick<PictureExposure, 'shutter' | 'iso' | 'aperture'>): Settings | null {
  const shutter = exposure.shutter === null ? null : parseShutter(exposure.shutter);
  if (shutter === null) return null;
  const iso = exposure.iso === null ? null : parseIso(exposure.iso);
  const aperture = exposure.aperture === null ? null : parseAperture(exposure.aperture);
  if ((exposure.iso !== null && iso === null) || (exposure.aperture !== null && aperture === null)) return null;
  return { shutter, iso, aperture };
}
