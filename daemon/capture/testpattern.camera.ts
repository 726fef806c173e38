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
import { lookAt } from './testpattern/light';
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

  constructor(options: TestPatternOptions) {
    this.#options = { ...validateOptions(options), quality: options.quality ?? 90 };
    this.#seed = hashString(options.sourceId);
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

  async #captureOnce({ destination, takenAt, signal }: CaptureRequest): Promise<CaptureResult> {
    throwIfAborted(signal);
    const time = takenAt.getTime();
    if (!Number.isFinite(time)) throw new CameraError('failed', 'testpattern: takenAt is not a valid date');
    await this.#encoding;
    throwIfAborted(signal);

    const { width, height, quality } = this.#options;
    const scene = (this.#scene ??= await buildScene(width, height, this.#seed, signal));
    const frame = (this.#frame ??= Buffer.allocUnsafe(width * height * 3));
    const look = lookAt(takenAt, this.#options, this.#seed);

    await renderFrame(scene, look, frame, signal);
    const overlays = frameOverlays(scene, look, { name: this.#options.sourceName, at: takenAt, zone: this.#options.timezone });

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
    return { width, height, size: jpeg.length };
  }
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
