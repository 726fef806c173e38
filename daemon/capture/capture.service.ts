/**
 * Captures pictures: one camera operation at a time per source, each bounded by
 * `camera.timeout`, ending in a stored picture or a failure that is logged with
 * its source and counted. A slot that finds its camera still busy is skipped
 * (logged and counted); "capture now" during a capture shares the one in flight.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger';
import type { Config, SourceConfig } from '../config/schema';
import { formatDuration } from '../config/duration';
import type { Picture } from '../store/pictures.repository';
import type { SourceStateRepository } from '../store/source-state.repository';
import type { PictureStore } from '../files/picture.store';
import { isCompleteJpeg } from '../files/jpeg';
import { removeIfExists, tempPathFor } from '../files/atomic';
import { pictureFileName } from '../files/layout';
import { CameraError, type Camera } from './camera';
import type { CameraFactory } from './drivers';

export type CaptureReason = 'slot' | 'manual';

export type CaptureOutcome =
  | { status: 'captured'; picture: Picture; durationMs: number }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; error: CameraError };

interface Unit {
  source: SourceConfig;
  camera: Camera;
  inFlight: Promise<CaptureOutcome> | null;
  controller: AbortController | null;
}

export class CaptureService {
  readonly #units = new Map<string, Unit>();
  readonly #store: PictureStore;
  readonly #state: SourceStateRepository;
  readonly #log: Logger;
  readonly #now: () => number;
  #stopping = false;

  constructor(deps: {
    config: Config;
    createCamera: CameraFactory;
    store: PictureStore;
    state: SourceStateRepository;
    log: Logger;
    now?: () => number;
  }) {
    for (const source of deps.config.sources) {
      this.#units.set(source.id, { source, camera: deps.createCamera(source, deps.config.appliance), inFlight: null, controller: null });
    }
    this.#store = deps.store;
    this.#state = deps.state;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
  }

  has(sourceId: string): boolean {
    return this.#units.has(sourceId);
  }

  isBusy(sourceId: string): boolean {
    return this.#units.get(sourceId)?.inFlight != null;
  }

  /** Captures one picture now. Never rejects: the outcome says how it ended. */
  capture(sourceId: string, reason: CaptureReason): Promise<CaptureOutcome> {
    const unit = this.#units.get(sourceId);
    if (!unit) return Promise.resolve({ status: 'skipped', reason: `no source "${sourceId}"` });
    if (this.#stopping) return Promise.resolve({ status: 'skipped', reason: 'the daemon is stopping' });
    if (unit.inFlight) {
      if (reason === 'manual') return unit.inFlight;
      this.#state.recordSkip(sourceId);
      this.#log.warn({ source: sourceId }, 'slot skipped: the previous capture is still running');
      return Promise.resolve({ status: 'skipped', reason: 'the previous capture is still running' });
    }
    const run = this.#run(unit, reason).finally(() => {
      unit.inFlight = null;
      unit.controller = null;
    });
    unit.inFlight = run;
    return run;
  }

  async #run(unit: Unit, reason: CaptureReason): Promise<CaptureOutcome> {
    const { source, camera } = unit;
    const started = this.#now();
    const controller = new AbortController();
    unit.controller = controller;
    const timeoutMs = source.camera.timeout;
    const timer = setTimeout(
      () =>
        controller.abort(
          new CameraError(
            'timeout',
            `camera ${source.id}: no picture within ${formatDuration(timeoutMs)}`,
            'the camera may be hung; check its cable and power, or raise camera.timeout',
          ),
        ),
      timeoutMs,
    );
    let temp: string | undefined;
    try {
      const dir = await this.#store.prepareDir(source.id, started);
      temp = tempPathFor(path.join(dir, pictureFileName(started)));
      const aborted = new Promise<never>((_, reject) => {
        const fail = () => reject(controller.signal.reason instanceof CameraError ? controller.signal.reason : new CameraError('aborted', 'capture aborted'));
        if (controller.signal.aborted) fail();
        else controller.signal.addEventListener('abort', fail, { once: true });
      });
      // The race ends the wait even if a driver ignores the signal; its late output is removed below.
      const result = await Promise.race([camera.capture({ destination: temp, takenAt: new Date(started), signal: controller.signal }), aborted]);
      if (!(await isCompleteJpeg(temp).catch(() => false))) {
        throw new CameraError('bad-output', `camera ${source.id}: the picture is not a complete JPEG`, 'the transfer was cut short; check the cable');
      }
      const picture = await this.#store.commit(source.id, temp, started, { width: result.width, height: result.height, size: (await fs.stat(temp)).size });
      temp = undefined;
      const durationMs = this.#now() - started;
      this.#log.info({ source: source.id, reason, picture: picture.path, bytes: picture.size, ms: durationMs }, 'picture captured');
      return { status: 'captured', picture, durationMs };
    } catch (err) {
      const error = toCameraError(err, source.id);
      this.#state.recordFailure(source.id, this.#now(), error.describe());
      const failures = this.#state.get(source.id).consecutiveFailures;
      this.#log.error({ source: source.id, reason, code: error.code, consecutiveFailures: failures }, `capture failed: ${error.describe()}`);
      return { status: 'failed', error };
    } finally {
      clearTimeout(timer);
      if (temp) await removeIfExists(temp).catch(() => undefined);
    }
  }

  /**
   * Stops taking new captures, lets the ones in flight finish for up to `graceMs`,
   * then aborts them; an aborted capture leaves no file and no row.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    const pending = [...this.#units.values()].flatMap((u) => (u.inFlight ? [u.inFlight] : []));
    if (pending.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled(pending), graceOver]);
      clearTimeout(timer);
      for (const unit of this.#units.values()) unit.controller?.abort(new CameraError('aborted', `camera ${unit.source.id}: capture abandoned, the daemon is stopping`));
      await Promise.allSettled(pending);
    }
    await Promise.allSettled([...this.#units.values()].map((u) => u.camera.close?.()));
  }
}

function toCameraError(err: unknown, sourceId: string): CameraError {
  if (err instanceof CameraError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CameraError('failed', `camera ${sourceId}: ${message}`, undefined, { cause: err });
}
