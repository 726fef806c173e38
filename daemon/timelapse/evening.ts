/**
 * Frames evened out before the film (issue 27). An exposure ramp changes the settings in
 * steps (a third of a stop at most): the light of the scene falls smoothly, the frames'
 * brightness in a staircase, which a film shows as flicker. Each picture's settings are
 * stored with it, so each frame can be given the small gain that puts it where smooth
 * settings would have: the EV of its settings minus the mean EV of the frames around it.
 * Real changes of the scene (a cloud, the site's lamps) are in the pictures, not in the
 * settings, and are left as they are; frames without stored settings get no gain. Pure:
 * the gains, and the commands that give them to ffmpeg.
 */

/** A frame as the evening-out sees it: when, and the EV of its settings (null: not known). */
export interface EvenedFrame {
  takenAt: number;
  ev: number | null;
}

/** Frames on each side of one that its mean EV is taken over (about two ramp steps at dusk every 10 s). */
export const EVENING_WINDOW = 7;
/**
 * Neighbours are frames at most this far in time: the ramp's staircase shows where several
 * frames share a step (a frame every 10 s to a minute). Frames farther apart (a 5-minute
 * schedule, a thinned monthly film) each have their own settings for their own light,
 * and are left as they are.
 */
export const EVENING_REACH_MS = 3 * 60_000;
/** The largest gain given, in stops: a staircase's is half a step; more is the light's own change. */
export const EVENING_MAX_STOPS = 0.5;

/**
 * Each frame's gain in stops of light (+ brighter), in film order: the EV of its settings
 * minus the mean EV of the frames around it, on a window as wide on both sides (so that a
 * steady ramp is not bent at its ends), with known settings, close enough in time.
 */
export function evenOut(frames: readonly EvenedFrame[]): number[] {
  return frames.map((frame, i) => {
    if (frame.ev === null) return 0;
    let k = Math.min(EVENING_WINDOW, i, frames.length - 1 - i);
    // The same reach on both sides: shrunk where a neighbour has no settings or is too far away in time.
    for (; k > 0; k--) {
      const reach = frames.slice(i - k, i + k + 1);
      if (reach.every((f) => f.ev !== null && Math.abs(f.takenAt - frame.takenAt) <= EVENING_REACH_MS)) break;
    }
    if (k === 0) return 0;
    const around = frames.slice(i - k, i + k + 1);
    const mean = around.reduce((sum, f) => sum + f.ev!, 0) / around.length;
    const gain = frame.ev - mean;
    return Math.max(-EVENING_MAX_STOPS, Math.min(EVENING_MAX_STOPS, Math.round(gain * 1000) / 1000));
  });
}

/**
 * ffmpeg's sendcmd commands that set each frame's gain on the `lutyuv@gain` filter: frame i
 * is read at i / rate seconds, and a gain of g stops scales the JPEG's full-range Y′ by
 * 2^(g/2.2) and its colour differences around 128 by the same (the sRGB curve is close to
 * a power of 2.2, so a gain of light is a factor on the encoded values). Each command is
 * set half a frame early, so rounding never lets a frame through with its neighbour's gain.
 * Null when no frame has a gain (nothing to add to the chain).
 */
export function gainCommands(gains: readonly number[], rate: string): string | null {
  if (gains.every((g) => Math.abs(g) < 0.005)) return null;
  const [num, den] = rate.includes('/') ? rate.split('/').map(Number) as [number, number] : [Number(rate), 1];
  const perSecond = num / den;
  const lines: string[] = [];
  let last: number | null = null;
  gains.forEach((gain, i) => {
    const factor = Math.round(Math.pow(2, gain / 2.2) * 10_000) / 10_000;
    if (factor === last) return;
    last = factor;
    const at = i === 0 ? 0 : (i - 0.5) / perSecond;
    const f = factor.toFixed(4);
    lines.push(`${at.toFixed(6)} lutyuv@gain y 'clip(val*${f},0,255)', lutyuv@gain u 'clip((val-128)*${f}+128,0,255)', lutyuv@gain v 'clip((val-128)*${f}+128,0,255)';`);
  });
  return `${lines.join('\n')}\n`;
}
