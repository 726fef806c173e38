/**
 * The built-in `testpattern` camera driver. This file is the Camera: options, serialised
 * captures, JPEG encoding and writing. What is in the picture lives in ./testpattern/:
 * scene, landscape and painter are drawn once per camera; light, render and overlays run per
 * frame; noise is the seeded randomness under all of it.
 */
import { promises as fsp } from 'node:fs';
import { IANAZone } from 'luxon';
import {
  abortError,
  CameraError,
  throwIfAborted,
  type Camera,
  type CaptureRequest,
  type CaptureResult,
} from './camera';
import { evOf, type ExposureKnob, type ExposureLabels, type PictureExposure, type Settings } from '../domain/exposure';
import type { ExposureControl } from './exposure/exposure-ramp';
import { sunAltitude } from './sun';
import { lookAt } from './testpattern/light';
import type { Rgb } from './testpattern/math';
import { SENSOR_CHOICES, SENSOR_START, sensorGain } from './testpattern/sensor';
import { hashString } from './testpattern/noise';
import { frameOverlays } from './testpattern/overlays';
import { renderFrame } from './testpattern/render';
import { buildScene, type Scene } from './testpattern/scene';
import { encodeJpeg } from '../pipeline/sharp';
import { messageOf } from '../error-causes';

/**
 * A synthetic camera that behaves like a real one: an outdoor scene lit by the time of day,
 * drifting clouds, a slewing tower crane and passing traffic, a burnt-in name and timestamp,
 * and sensor noise. It exists so the demo and the tests exercise the real pipeline with
 * realistic JPEG sizes and decode costs, without hardware.
 */
export interface TestPatternOptions {
  sourceId: string;
  sourceName: string;
  /** 16..6000 */
  width: number;
  /** 16..4000 */
  height: number;
  /** IANA zone for the printed timestamp and, without `location`, the time of day. */
  timezone: string;
  /** When given, the light follows the real sun elevation at this place. */
  location?: { latitude: number; longitude: number };
  /** JPEG quality 1..100, default 90. */
  quality?: number;
  /**
   * The simulated sensor (issue 27): frames come out as bright as their shutter, ISO and
   * aperture make them, starting from these values (default 1/250 s, ISO 100, f/8). Without
   * it the picture is exposed as a camera's own auto would.
   */
  sensor?: { start?: Partial<Record<ExposureKnob, number>> | undefined };
}

export const TESTPATTERN_LIMITS = { minWidth: 16, maxWidth: 6000, minHeight: 16, maxHeight: 4000 } as const;

export class TestPatternCamera implements Camera {
  readonly driver = 'testpattern';

  readonly #options: Readonly<TestPatternOptions> & { readonly quality: number };
  readonly #seed: number;
  #scene: Scene | undefined;
  #frame: Buffer | undefined;
  /** Serialises captures: they share the frame buffer. */
  #tail: Promise<unknown> = Promise.resolve();
  /** An encode that outlived an aborted capture still reads the frame buffer. */
  #encoding: Promise<unknown> = Promise.resolve();
  /** The simulated sensor's settings now (kept from frame to frame, as a camera keeps them); null without a sensor. */
  #settings: Settings | null;

  constructor(options: TestPatternOptions) {
    this.#options = { ...validateOptions(options), quality: options.quality ?? 90 };
    this.#seed = hashString(options.sourceId);
    this.#settings = options.sensor ? startSettings(options.sensor.start ?? {}) : null;
  }

  /** The simulated DSLR's third-stop scales, and its settings now. */
  async exposureControl(): Promise<ExposureControl> {
    const s = this.#settings;
    if (!s) throw new CameraError('unsupported', 'testpattern: this test pattern has no simulated sensor', 'set camera.exposure to give it one');
    return { choices: SENSOR_CHOICES, current: { shutter: s.shutter, iso: s.iso ?? undefined, aperture: s.aperture ?? undefined } };
  }

  capture(request: CaptureRequest): Promise<CaptureResult> {
    const run = this.#tail.then(() => this.#captureOnce(request));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.#tail;
    await this.#encoding;
    this.#scene = undefined;
    this.#frame = undefined;
  }

  async #captureOnce({ destination, takenAt, signal, exposure }: CaptureRequest): Promise<CaptureResult> {
    throwIfAborted(signal);
    const time = takenAt.getTime();
    if (!Number.isFinite(time)) throw new CameraError('failed', 'testpattern: takenAt is not a valid date');
    await this.#encoding;
    throwIfAborted(signal);

    const { width, height, quality } = this.#options;
    const scene = (this.#scene ??= await buildScene(width, height, this.#seed, signal));
    const frame = (this.#frame ??= Buffer.allocUnsafe(width * height * 3));
    const settings = this.#settings ? (this.#settings = applied(this.#settings, exposure ?? {})) : null;
    const look = lookAt(takenAt, this.#options, this.#seed);
    if (settings) look.exposure = sensorGain(settings, sunAltitude(takenAt, this.#options), look.ambient);

    await renderFrame(scene, look, frame, signal);
    // The crane and the traffic are drawn over the frame: lit by the same exposure.
    const lit = settings ? { ...look, ambient: [look.ambient[0] * look.exposure, look.ambient[1] * look.exposure, look.ambient[2] * look.exposure] as Rgb } : look;
    const overlays = frameOverlays(scene, lit, { name: this.#options.sourceName, at: takenAt, zone: this.#options.timezone });

    throwIfAborted(signal);
    const encoding = encodeJpeg(frame, { width, height }, overlays, quality);
    this.#encoding = encoding.catch(() => undefined);
    let jpeg: Buffer;
    try {
      jpeg = await untilAborted(encoding, signal);
    } catch (err) {
      if (err instanceof CameraError) throw err;
      throw new CameraError('failed', `testpattern: JPEG encoding failed: ${messageOf(err)}`, undefined, { cause: err });
    }

    throwIfAborted(signal);
    await writeOrNothing(destination, jpeg, signal);
    return { width, height, size: jpeg.length, ...(settings ? { exposure: sensorExposure(settings) } : {}) };
  }
}

/** The sensor's first settings: the start values given, on the nearest of its choices. */
function startSettings(start: Partial<Record<ExposureKnob, number>>): Settings {
  const near = (knob: ExposureKnob, value: number) => SENSOR_CHOICES[knob].reduce((best, c) => (Math.abs(Math.log2(c.value / value)) < Math.abs(Math.log2(best.value / value)) ? c : best)).value;
  return {
    shutter: near('shutter', start.shutter ?? SENSOR_START.shutter),
    iso: near('iso', start.iso ?? SENSOR_START.iso!),
    aperture: near('aperture', start.aperture ?? SENSOR_START.aperture!),
  };
}

/** The settings after a frame's labels are set; a label that is none of the choices is refused, as a camera refuses it. */
function applied(now: Settings, labels: ExposureLabels): Settings {
  const next = { ...now };
  for (const [knob, label] of Object.entries(labels) as [ExposureKnob, string][]) {
    const choice = SENSOR_CHOICES[knob].find((c) => c.label === label);
    if (!choice) throw new CameraError('failed', `testpattern: "${label}" is not one of the simulated camera's choices for ${knob}`, 'pick a value from its third-stop scale');
    next[knob] = choice.value;
  }
  return next;
}

function sensorExposure(settings: Settings): PictureExposure {
  const label = (knob: ExposureKnob, value: number | null) => (value === null ? null : (SENSOR_CHOICES[knob].find((c) => c.value === value)?.label ?? String(value)));
  return { shutter: label('shutter', settings.shutter), iso: label('iso', settings.iso), aperture: label('aperture', settings.aperture), ev: Math.round(evOf(settings) * 100) / 100 };
}

function validateOptions(o: TestPatternOptions): TestPatternOptions {
  const { minWidth, maxWidth, minHeight, maxHeight } = TESTPATTERN_LIMITS;
  if (typeof o.sourceId !== 'string' || o.sourceId === '') throw new Error('testpattern: sourceId must be a non-empty string');
  if (typeof o.sourceName !== 'string') throw new Error('testpattern: sourceName must be a string');
  if (!Number.isInteger(o.width) || o.width < minWidth || o.width > maxWidth) {
    throw new Error(`testpattern: width must be an integer from ${minWidth} to ${maxWidth}, got ${String(o.width)}`);
  }
  if (!Number.isInteger(o.height) || o.height < minHeight || o.height > maxHeight) {
    throw new Error(`testpattern: height must be an integer from ${minHeight} to ${maxHeight}, got ${String(o.height)}`);
  }
  if (typeof o.timezone !== 'string' || !IANAZone.isValidZone(o.timezone)) {
    throw new Error(`testpattern: timezone must be an IANA zone name, got ${String(o.timezone)}`);
  }
  if (o.location !== undefined) {
    const { latitude, longitude } = o.location;
    if (!Number.isFinite(latitude) || Math.abs(latitude) > 90) throw new Error(`testpattern: location.latitude must be -90..90, got ${String(latitude)}`);
    if (!Number.isFinite(longitude) || Math.abs(longitude) > 180) throw new Error(`testpattern: location.longitude must be -180..180, got ${String(longitude)}`);
  }
  if (o.quality !== undefined && (!Number.isInteger(o.quality) || o.quality < 1 || o.quality > 100)) {
    throw new Error(`testpattern: quality must be an integer from 1 to 100, got ${String(o.quality)}`);
  }
  return o;
}

async function writeOrNothing(destination: string, jpeg: Buffer, signal: AbortSignal): Promise<void> {
  try {
    await fsp.writeFile(destination, jpeg, { signal });
  } catch (err) {
    await removeQuietly(destination);
    if (signal.aborted) throw abortError(signal);
    throw new CameraError('io', `testpattern: cannot write ${destination}: ${messageOf(err)}`, 'check free space and permissions of the picture folder', { cause: err });
  }
  if (signal.aborted) {
    await removeQuietly(destination);
    throw abortError(signal);
  }
}

async function removeQuietly(file: string): Promise<void> {
  await fsp.unlink(file).catch(() => undefined);
}

/** Rejects as soon as the signal fires, without waiting for work that cannot be cancelled. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => { signal.removeEventListener('abort', onAbort); resolve(value); },
      (err: unknown) => { signal.removeEventListener('abort', onAbort); reject(err); },
    );
  });
}
