/**
 * Frames evened out before the film (issue 27). An exposure ramp changes the settings in
 * steps (a third of a stop at most): the light of the scene falls smoothly, the frames'
 * brightness in a staircase, which a film shows as flicker. Each picture's settings are
 * stored with it, so each frame can be given the small gain that puts it where smooth
 * settings would have: the EV of its settings less that of the line through the middle
 * of each step.
 * Real changes of the scene (a cloud, the site's lamps) are in the pictures, not in the
 * settings, and are left as they are; frames without stored settings get no gain. Pure:
 * the gains, joined with the deflicker's factors (deflicker.ts), and the commands that give
 * them to ffmpeg.
 */
import { SRGB_GAMMA } from '../domain/exposure';
import { deflickerFactors } from './deflicker';

/** A frame as the evening-out sees it: when, the EV of its settings (null: not known), and its mean luminance (0-255). */
export interface EvenedFrame {
  takenAt: number;
  ev: number | null;
  luminance: number | null;
}

/** sRGB taken as a power of 2.2: a stop of light is 2^(1/2.2) on the encoded values, where nothing clips. */
export const GAMMA_RESPONSE = 1 / SRGB_GAMMA;

/**
 * Frames at most this far apart are neighbours: a steady run of pictures (every 10 s, every
 * minute, every 5 minutes). Farther apart (a thinned monthly film, the night between two
 * days' windows) each frame has its own settings for its own light, and is left as it is.
 */
export const EVENING_REACH_MS = 10 * 60_000;
/** The largest gain given, in stops: a staircase's is half a step; more is the light's own change. */
export const EVENING_MAX_STOPS = 0.5;

/** A run of neighbouring frames with the same settings: one step of the staircase. */
interface Run {
  first: number;
  last: number;
  ev: number;
  /** The middle of the run in time: where the smooth line through the staircase meets it. */
  middle: number;
}

/**
 * Each frame's gain in stops of light (+ brighter), in film order. The staircase of the
 * settings is replaced by the line through the middle of each of its steps: a frame gets
 * the EV of its settings less that line's EV at its time, interpolated between the middle
 * of its own step and that of the step before (in the first half of its step) or after
 * (in the second half). A frame of a step with no neighbouring step on that side (the
 * first and the last, a gap, a frame without settings) gets none; so does a step of one
 * frame (the settings moved every frame: each has its own).
 */
export function evenOut(frames: readonly Pick<EvenedFrame, 'takenAt' | 'ev'>[]): number[] {
  const runs: Run[] = [];
  /** Whether run k and run k + 1 are neighbours (no gap, no frame without settings between them). */
  const joined: boolean[] = [];
  frames.forEach((frame, i) => {
    const run = runs.at(-1);
    const near = i > 0 && frames[i - 1]!.ev !== null && frame.takenAt - frames[i - 1]!.takenAt <= EVENING_REACH_MS;
    if (frame.ev === null) return;
    if (run && run.last === i - 1 && near && frame.ev === run.ev) {
      run.last = i;
      return;
    }
    if (run) joined[runs.length - 1] = run.last === i - 1 && near;
    runs.push({ first: i, last: i, ev: frame.ev, middle: 0 });
  });
  for (const run of runs) run.middle = (frames[run.first]!.takenAt + frames[run.last]!.takenAt) / 2;

  const gains = new Array<number>(frames.length).fill(0);
  runs.forEach((run, k) => {
    for (let i = run.first; i <= run.last; i++) {
      const t = frames[i]!.takenAt;
      const other = t < run.middle ? (joined[k - 1] ? runs[k - 1] : undefined) : t > run.middle ? (joined[k] ? runs[k + 1] : undefined) : undefined;
      if (!other) continue;
      const smooth = run.ev + ((other.ev - run.ev) * (t - run.middle)) / (other.middle - run.middle);
      const gain = run.ev - smooth;
      gains[i] = Math.max(-EVENING_MAX_STOPS, Math.min(EVENING_MAX_STOPS, Math.round(gain * 1000) / 1000));
    }
  });
  return gains;
}

/**
 * How much the pictures' brightness answers a stop of their settings: log2 of the luminance's
 * ratio across each step, less the frame-to-frame drift of the light just before it, per stop
 * of the step; the median of the steps (a passing truck at one of them does not count).
 * Highlights that clip and a black that stays black make a scene answer less than the
 * power curve says; the gains are scaled to what the frames showed. Without three clean
 * steps to measure, the power curve's.
 */
export function responseOf(frames: readonly EvenedFrame[]): number {
  const clean = (f: EvenedFrame | undefined): f is EvenedFrame & { ev: number; luminance: number } => f !== undefined && f.ev !== null && f.luminance !== null && f.luminance > 5 && f.luminance < 250;
  const ratios: number[] = [];
  for (let i = 2; i < frames.length; i++) {
    const [before, last, first] = [frames[i - 2], frames[i - 1], frames[i]];
    if (!clean(before) || !clean(last) || !clean(first) || before.ev !== last.ev || first.ev === last.ev || Math.abs(first.ev - last.ev) > 1) continue;
    if (first.takenAt - before.takenAt > 2 * EVENING_REACH_MS) continue;
    const jump = Math.log2(first.luminance / last.luminance) - Math.log2(last.luminance / before.luminance);
    ratios.push(jump / (last.ev - first.ev));
  }
  if (ratios.length < 3) return GAMMA_RESPONSE;
  ratios.sort((a, b) => a - b);
  const median = ratios[ratios.length >> 1]!;
  return Math.max(0.1, Math.min(0.6, median));
}

/** A frame's factors on its encoded values: the luma (Y′) and the colour differences (around 128). */
export interface FrameFactor {
  y: number;
  c: number;
}

/**
 * Each frame's factors, in film order: the ramp's gain (`evenOut`: evenOut's stops, scaled by
 * how much the frames answered a stop, on the luma and the colour alike, as light would),
 * then the deflicker's on the luma (deflicker.ts), measured on the frames as the gain leaves
 * them (a gain of g on the encoded values scales their mean by g where nothing clips).
 */
export function frameFactors(frames: readonly EvenedFrame[], options: { evenOut: boolean; deflicker: boolean }): FrameFactor[] {
  const response = options.evenOut ? responseOf(frames) : GAMMA_RESPONSE;
  const gains = options.evenOut ? evenOut(frames).map((stops) => Math.pow(2, stops * response)) : frames.map(() => 1);
  const deflicker = options.deflicker ? deflickerFactors(frames.map((f, i) => (f.luminance === null ? null : f.luminance * gains[i]!))) : frames.map(() => 1);
  return gains.map((g, i) => ({ y: g * deflicker[i]!, c: g }));
}

/**
 * ffmpeg's sendcmd commands that set each frame's factors on the `lutyuv@gain` filter: frame i
 * is read at i / rate seconds; its full-range Y′ is scaled by `y` and its colour differences
 * around 128 by `c` (4 decimals). Only what changed is sent; each command is set half a frame
 * early, so rounding never lets a frame through with its neighbour's factors. Null when every
 * factor is 1 (nothing to add to the chain).
 */
export function gainCommands(factors: readonly FrameFactor[], rate: string): string | null {
  const round = (f: number) => f.toFixed(4);
  if (factors.every((f) => round(f.y) === '1.0000' && round(f.c) === '1.0000')) return null;
  const [num, den] = rate.includes('/') ? (rate.split('/').map(Number) as [number, number]) : [Number(rate), 1];
  const perSecond = num / den;
  const lines: string[] = [];
  let last: { y: string; c: string } | null = null;
  factors.forEach((factor, i) => {
    const y = round(factor.y);
    const c = round(factor.c);
    const commands: string[] = [];
    if (y !== last?.y) commands.push(`lutyuv@gain y 'clip(val*${y},0,255)'`);
    if (c !== last?.c) commands.push(`lutyuv@gain u 'clip((val-128)*${c}+128,0,255)'`, `lutyuv@gain v 'clip((val-128)*${c}+128,0,255)'`);
    last = { y, c };
    if (commands.length === 0) return;
    const at = i === 0 ? 0 : (i - 0.5) / perSecond;
    lines.push(`${at.toFixed(6)} ${commands.join(', ')};`);
  });
  return `${lines.join('\n')}\n`;
}
