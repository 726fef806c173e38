/**
 * One source's exposure ramp (issue 27): the last frames it took, what the pure ramp
 * (ramp.ts) says the next one is to be taken with, and what the director is shown of it.
 * The capture service asks it before each capture and tells it each picture's luminance
 * after; it holds no clock and no camera of its own.
 */
import { settingsOf, type Choice, type Choices, type ExposureKnob, type ExposureLabels, type PictureExposure, type Settings } from '../../domain/exposure';
import type { ExposureConfig } from '../../config/schema';
import { sunAltitude, type SunPlace } from '../sun';
import { daylightStops } from './daylight';
import { nextExposure, sceneOf, SCENE_FRAMES, type Frame, type Plan, type RampOptions } from './ramp';

/** What a camera says of its exposure settings: its own choices, and the values it has now where it can tell. */
export interface ExposureControl {
  choices: Choices;
  current: Partial<Record<ExposureKnob, number>>;
}

/** A frame the ramp has seen: when, how bright (0-255) and with what settings. */
export interface RampFrame {
  takenAt: number;
  luminance: number;
  exposure: PictureExposure;
}

/** The ramp as the status and the UI show it. */
export interface RampView {
  /** The luminance wanted (0-255) and the largest step (EV). */
  target: number;
  maxStep: number;
  /** The settings the last frame was taken with, in the camera's words, and their EV; null before the first. */
  settings: ExposureLabels | null;
  ev: number | null;
  /** The last picture's luminance (0-255) and when it was taken (ISO 8601); null before the first. */
  luminance: number | null;
  at: string | null;
  /** Why the last settings are what they are. */
  reason: Plan['reason'] | null;
  /** True when the ramp wants more (or less) light than its limits give: the frames drift from the target. */
  atLimit: boolean;
  /** Feed-forward from the sun's course is on. */
  sun: boolean;
}

const KNOBS: readonly ExposureKnob[] = ['shutter', 'iso', 'aperture'];

export class ExposureRamp {
  readonly #config: ExposureConfig;
  readonly #options: RampOptions;
  /** Where the sun is for the feed-forward; null: no feed-forward. */
  readonly #sun: SunPlace | null;
  #frames: (Frame & { takenAt: number })[] = [];
  #asked: { labels: ExposureLabels; reason: Plan['reason'] } | null = null;
  #lastSeen: { luminance: number; at: number; exposure: PictureExposure } | null = null;

  constructor(config: ExposureConfig, sun: SunPlace | null) {
    this.#config = config;
    this.#sun = sun;
    const limits: RampOptions['limits'] = {};
    for (const knob of KNOBS) {
      const range = config[knob];
      if (range) limits[knob] = range;
    }
    this.#options = { target: config.target / 255, maxStepStops: config.maxStep, order: config.order, limits };
  }

  /** The last frames from before a restart or a reload, oldest first: the ramp goes on from them. */
  seed(frames: readonly RampFrame[]): void {
    for (const frame of frames) this.record(frame.takenAt, frame.luminance, frame.exposure);
  }

  /** The settings for a frame to be taken at `takenAt`, from the camera's choices. */
  next(control: ExposureControl, takenAt: number): ExposureLabels {
    const frames = this.#frames;
    if (frames.length === 0) return this.#ask(this.#first(control), 'first frame', control.choices);
    const plan = nextExposure(frames, this.#options, control.choices, this.#feedForward(frames, takenAt));
    return this.#ask(plan.settings, plan.reason, control.choices, plan.labels);
  }

  /** The settings last asked for (a test shot takes them too); undefined before the first frame. */
  current(): ExposureLabels | undefined {
    return this.#asked?.labels;
  }

  /** A picture taken: its luminance (0-255; null for a camera fault, which teaches nothing) and its settings. */
  record(takenAt: number, luminance: number | null, exposure: PictureExposure | null): void {
    if (luminance === null || exposure === null) return;
    const settings = settingsOf(exposure);
    if (!settings) return;
    this.#lastSeen = { luminance, at: takenAt, exposure };
    this.#frames.push({ takenAt, luminance: luminance / 255, settings });
    if (this.#frames.length > SCENE_FRAMES) this.#frames.shift();
  }

  view(): RampView {
    const asked = this.#asked;
    const seen = this.#lastSeen;
    const labels: ExposureLabels = {};
    if (seen) for (const knob of KNOBS) if (seen.exposure[knob] !== null) labels[knob] = seen.exposure[knob]!;
    return {
      target: this.#config.target,
      maxStep: this.#config.maxStep,
      settings: seen ? labels : null,
      ev: seen ? seen.exposure.ev : null,
      luminance: seen ? Math.round(seen.luminance * 10) / 10 : null,
      at: seen ? new Date(seen.at).toISOString() : null,
      reason: asked?.reason ?? null,
      atLimit: asked?.reason === 'at the limit',
      sun: this.#sun !== null,
    };
  }

  /**
   * How much the light will change from the frames' middle to the next frame, by the sun's
   * course, scaled by how much of the sky's change the frames themselves showed: at night a
   * lit site does not darken with the sky, and the model then counts for nothing.
   */
  #feedForward(frames: readonly (Frame & { takenAt: number })[], takenAt: number): number {
    if (!this.#sun) return 0;
    const model = (at: number) => daylightStops(sunAltitude(new Date(at), this.#sun!));
    const middle = frames.reduce((sum, f) => sum + f.takenAt, 0) / frames.length;
    const change = model(takenAt) - model(middle);
    return change * skyShare(frames.map((f) => model(f.takenAt)), frames.map((f) => sceneOf(f, this.#options.target)));
  }

  /** The first frame: the configured start, else the camera's current values, within the limits. */
  #first(control: ExposureControl): Settings {
    const pick = (knob: ExposureKnob): number | null => {
      const choices = control.choices[knob];
      if (choices.length === 0) return null;
      const range = this.#options.limits[knob];
      const allowed = this.#options.order.includes(knob) && range ? choices.filter((c) => c.value >= range.min - 1e-9 && c.value <= range.max + 1e-9) : choices;
      const list = allowed.length > 0 ? allowed : choices;
      const wanted = this.#config.start?.[knob] ?? control.current[knob] ?? list[list.length >> 1]!.value;
      return nearest(list, wanted).value;
    };
    return { shutter: pick('shutter') ?? this.#config.start?.shutter ?? 1 / 125, iso: pick('iso'), aperture: pick('aperture') };
  }

  /** The labels to set: the knobs the ramp turns, and those given a start value; the others are the camera's own business. */
  #ask(settings: Settings, reason: Plan['reason'], choices: Choices, planned?: ExposureLabels): ExposureLabels {
    const labels: ExposureLabels = {};
    for (const knob of KNOBS) {
      if (!this.#options.order.includes(knob) && this.#config.start?.[knob] === undefined) continue;
      const value = knob === 'shutter' ? settings.shutter : settings[knob];
      const label = planned?.[knob] ?? (value === null ? undefined : choices[knob].find((c) => Math.abs(c.value - value) < 1e-9)?.label);
      if (label !== undefined) labels[knob] = label;
    }
    this.#asked = { labels, reason };
    return labels;
  }
}

/**
 * The share of the sky's change that the scene followed over the last frames (0 to 1): the
 * slope of the scene's level against the model's. When the model barely moved, 1 (its
 * change is too small to matter either way).
 */
export function skyShare(model: readonly number[], scene: readonly number[]): number {
  const n = model.length;
  const mx = model.reduce((a, b) => a + b, 0) / n;
  const my = scene.reduce((a, b) => a + b, 0) / n;
  let cov = 0;
  let varx = 0;
  for (let i = 0; i < n; i++) {
    cov += (model[i]! - mx) * (scene[i]! - my);
    varx += (model[i]! - mx) ** 2;
  }
  if (Math.max(...model) - Math.min(...model) < 0.05) return 1;
  return Math.max(0, Math.min(1, cov / varx));
}

/** The choice nearest a value, in stops (log scale). */
function nearest(list: readonly Choice[], value: number): Choice {
  let best = list[0]!;
  for (const c of list) if (Math.abs(Math.log2(c.value / value)) < Math.abs(Math.log2(best.value / value))) best = c;
  return best;
}
