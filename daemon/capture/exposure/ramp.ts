/**
 * The exposure ramp (issue 27): from the last frames' luminance and settings, the next
 * frame's settings. A pure function: no camera, no clock, no I/O.
 *
 * Each frame tells how bright the scene was, whatever settings took it: its luminance in
 * stops (the sRGB mean taken back to linear light) minus the light its settings let in.
 * The scene's level is the median of the last frames (one headlight, one truck in front
 * of the lens does not move it; a dusk does), plus what the sun's course says will change
 * before the next frame (feed-forward, in stops, from the caller). The settings then move
 * towards the target by at most `maxStepStops` a frame (each knob too), and not at all
 * within a dead band of half a step (no hunting between two choices), using the camera's
 * own choices: the shutter first, then the ISO, the aperture last and only when allowed.
 * A camera whose steps are coarser than that takes its smallest one.
 */
import { SRGB_GAMMA, stopsOf, stopsOfKnob, type Choice, type Choices, type ExposureKnob, type Settings } from '../../domain/exposure';

export interface Frame {
  /** Mean luminance of the picture, 0 to 1 (sRGB-encoded, as the pipeline measures it). */
  luminance: number;
  settings: Settings;
}

export interface RampOptions {
  /** The luminance wanted, 0 to 1 (sRGB-encoded mean). */
  target: number;
  /** The largest change between two frames, in stops (1/3 by default in the configuration). */
  maxStepStops: number;
  /** The knobs the ramp may turn, in the order it turns them to gain light. */
  order: readonly ExposureKnob[];
  /** The range each knob may use: seconds, ISO, f-number. */
  limits: Partial<Record<ExposureKnob, { min: number; max: number }>>;
}


export interface Plan {
  settings: Settings;
  /** The camera's spelling of each value to set (only the knobs it has). */
  labels: Partial<Record<ExposureKnob, string>>;
  /** The light the new settings let in, in stops; and what would have reached the target. */
  stops: number;
  wantedStops: number;
  /** The scene's level the plan is made for, in stops (median of the last frames, with the feed-forward). */
  sceneStops: number;
  /** Why the settings are what they are. */
  reason: 'first frame' | 'within the dead band' | 'stepping' | 'at the limit';
}

/** The frames the scene's level is the median of: a one- or two-frame event does not move it. */
export const SCENE_FRAMES = 5;
/** Luminance this close to black or white says little (clipped): its correction is capped. */
const CLIP_LOW = 0.02;
const CLIP_HIGH = 0.98;
const CLIPPED_CORRECTION_STOPS = 2;

/** A frame's luminance in stops of linear light (0 is white). */
function lightStops(luminance: number): number {
  return SRGB_GAMMA * Math.log2(Math.min(1, Math.max(1e-4, luminance)));
}

/**
 * How bright the scene was at one frame, in stops: what reached the sensor minus what the
 * settings let in. A clipped frame counts as CLIPPED_CORRECTION_STOPS beyond the target at
 * most: black says "darker than this", not how much darker (the ramp steps on anyway).
 */
export function sceneOf(frame: Frame, target: number): number {
  const targetStops = lightStops(target);
  let measured = lightStops(frame.luminance);
  if (frame.luminance <= CLIP_LOW) measured = Math.max(measured, targetStops - CLIPPED_CORRECTION_STOPS);
  if (frame.luminance >= CLIP_HIGH) measured = Math.min(measured, targetStops + CLIPPED_CORRECTION_STOPS);
  return measured - stopsOf(frame.settings);
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The choices of a knob within its limits (all of them without limits). */
function allowed(knob: ExposureKnob, choices: Choices, options: RampOptions): readonly Choice[] {
  const limit = options.limits[knob];
  const inRange = choices[knob].filter((c) => !limit || (c.value >= limit.min - 1e-9 && c.value <= limit.max + 1e-9));
  return inRange.length > 0 ? inRange : choices[knob];
}

/**
 * The next frame's settings. `frames`: the last frames, oldest first (at least one);
 * `feedForwardStops`: how much brighter (+) or darker (−) the scene will be at the next
 * frame than at the last one, from the sun's course (0 without a location).
 */
export function nextExposure(frames: readonly Frame[], options: RampOptions, choices: Choices, feedForwardStops = 0): Plan {
  const last = frames.at(-1);
  if (!last) throw new Error('the ramp needs the last frame');
  const recent = frames.slice(-SCENE_FRAMES);
  const sceneStops = median(recent.map((f) => sceneOf(f, options.target))) + feedForwardStops;
  const wantedStops = lightStops(options.target) - sceneStops;
  const currentStops = stopsOf(last.settings);

  // Every combination of the knobs' allowed choices; a knob the ramp may not turn (or the camera lacks) stays as it is.
  const knobs: ExposureKnob[] = ['shutter', 'iso', 'aperture'];
  const lists = knobs.map((knob): readonly (Choice | null)[] => {
    const current = knob === 'shutter' ? last.settings.shutter : last.settings[knob];
    if (current === null || choices[knob].length === 0) return [null];
    if (!options.order.includes(knob)) return [choices[knob].find((c) => Math.abs(c.value - current) < 1e-9) ?? { label: String(current), value: current }];
    return allowed(knob, choices, options);
  });
  const combos: Choice[][] = [];
  for (const s of lists[0]!) for (const i of lists[1]!) for (const a of lists[2]!) combos.push([s, i, a] as Choice[]);
  const settingsOf = (combo: (Choice | null)[]): Settings => ({ shutter: combo[0]?.value ?? last.settings.shutter, iso: combo[1]?.value ?? null, aperture: combo[2]?.value ?? null });

  // Within the dead band: no change.
  const gap = wantedStops - currentStops;
  const sameAsNow = combos.find((c) => same(settingsOf(c), last.settings));
  if (sameAsNow && Math.abs(gap) < options.maxStepStops / 2) return plan(sameAsNow, 'within the dead band');

  // The step: towards the target, at most maxStepStops from now.
  let goal = currentStops + Math.max(-options.maxStepStops, Math.min(options.maxStepStops, gap));
  const delta = (c: (Choice | null)[]) => stopsOf(settingsOf(c)) - currentStops;
  // Each knob moves by maxStep at most too: the noise of the ISO and the blur of the shutter change as gently as the light.
  const gentle = (c: (Choice | null)[]) => {
    const st = settingsOf(c);
    return knobs.every((knob) => {
      const from = knob === 'shutter' ? last.settings.shutter : last.settings[knob];
      const to = knob === 'shutter' ? st.shutter : st[knob];
      return from === null || to === null || Math.abs(stopsOfKnob(knob, to) - stopsOfKnob(knob, from)) <= options.maxStepStops + 1e-6;
    });
  };
  let pool = combos.filter((c) => Math.abs(delta(c)) <= options.maxStepStops + 1e-6 && gentle(c));
  if (!pool.some((c) => delta(c) * Math.sign(gap) > 1e-6)) {
    // The camera's own steps are coarser than maxStep (a body with full-stop shutter speeds):
    // its smallest step towards the target, once the target is more than half that step away.
    const toward = combos.filter((c) => delta(c) * Math.sign(gap) > 1e-6);
    const smallest = Math.min(...toward.map((c) => Math.abs(delta(c))));
    if (toward.length > 0 && Math.abs(gap) > smallest / 2) {
      pool = toward.filter((c) => Math.abs(delta(c)) <= smallest + 1e-6);
      goal = currentStops + Math.sign(gap) * smallest;
    }
  }
  if (pool.length === 0) pool = combos;
  // Closest to the goal; among those (the same light), the knobs used in their order: the aperture
  // nearest its darkest allowed choice, then the lowest ISO, then the smallest change of shutter.
  const rank = (c: (Choice | null)[]): number[] => {
    const st = settingsOf(c);
    const penalties = options.order.map((knob) => {
      const list = allowed(knob, choices, options);
      const value = knob === 'shutter' ? st.shutter : st[knob];
      const at = list.findIndex((x) => value !== null && Math.abs(x.value - value) < 1e-9);
      return knob === options.order[0] ? 0 : Math.max(0, at);
    });
    // The last knob of the order is the one most avoided: its penalty counts first.
    return [Math.round(Math.abs(stopsOf(st) - goal) * 1000), ...penalties.reverse(), Math.abs(stopsOfKnob('shutter', st.shutter) - stopsOfKnob('shutter', last.settings.shutter))];
  };
  const best = pool.map((c) => ({ c, r: rank(c) })).sort((x, y) => compare(x.r, y.r))[0]!.c;
  const limited = Math.abs(stopsOf(settingsOf(best)) - goal) > options.maxStepStops / 2 && Math.abs(gap) > options.maxStepStops / 2;
  return plan(best, limited ? 'at the limit' : frames.length === 1 ? 'first frame' : 'stepping');

  function plan(combo: (Choice | null)[], reason: Plan['reason']): Plan {
    const labels: Partial<Record<ExposureKnob, string>> = {};
    combo.forEach((choice, k) => {
      if (choice) labels[knobs[k]!] = choice.label;
    });
    const settings = settingsOf(combo);
    return { settings, labels, stops: stopsOf(settings), wantedStops, sceneStops, reason };
  }
}

function same(a: Settings, b: Settings): boolean {
  const eq = (x: number | null, y: number | null) => (x === null ? y === null : y !== null && Math.abs(x - y) < 1e-9);
  return eq(a.shutter, b.shutter) && eq(a.iso, b.iso) && eq(a.aperture, b.aperture);
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
