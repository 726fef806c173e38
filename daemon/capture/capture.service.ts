/**
 * Captures pictures: one camera operation at a time per source, each attempt
 * bounded by `camera.timeout`, ending in a stored picture or a failure that is
 * logged with its source and counted. A slot that finds its camera still busy is
 * skipped (logged and counted); "capture now" during a capture shares the one in
 * flight.
 *
 * The camera is free again once its file is written: the next slot's picture may
 * be taken while the previous one is still processed (the pipeline takes one
 * picture at a time, so a 1080p source would otherwise wait behind a 24 MP one
 * and miss its slots). Per source, at most three pictures wait for their turn, and
 * outcomes are processed and recorded in the order the pictures were taken.
 *
 * When a camera fails, the recovery ladder climbs one rung at a time:
 *   1. retry within the slot (`recovery.retries`), as long as the retry can end
 *      before the next slot; the last retry follows the driver's reset when it has
 *      one (gphoto2: USB reset and a fresh detection);
 *   2. after `powerCycle.afterFailures` failed slots in a row, cut the camera's
 *      power through the relay for `powerCycle.off` (at most `maxPerDay`), let it
 *      start, and try once more;
 *   3. mark the camera down and raise an event. A camera that is down is still
 *      tried once at every slot, without the ladder, so pictures resume the moment
 *      it answers (and an event says it is back).
 */
import path from 'node:path';
import type { Logger } from '../logger';
import type { Config, SourceConfig } from '../config/schema';
import { formatDuration } from '../config/duration';
import { type Picture, isCameraFault } from '../domain/pictures';
import type { SourceStateRepository } from '../store/source-state.repository';
import type { EventsRepository } from '../store/events.repository';
import type { CoverageRepository, GapKind } from '../store/coverage.repository';
import type { PictureStore } from '../storage/picture.store';
import { PipelineError, type PicturePipeline } from '../pipeline/picture.pipeline';
import { removeIfExists, tempPathFor } from '../files/atomic';
import { localDate, pictureFileName } from '../domain/data-folder';
import { RelayUnavailableError, type Relay, type RelayConfig } from '../hardware/relay';
import { CameraError, abortError, sleep, type Camera, type CameraView, type CaptureResult } from './camera';
import type { CameraFactory } from './drivers';
import { messageOf } from '../error-causes';
import { ExposureRamp, type RampView } from './exposure/exposure-ramp';
import { SCENE_FRAMES } from './exposure/ramp';

export type CaptureReason = 'slot' | 'manual';

export type CaptureOutcome =
  | { status: 'captured'; picture: Picture; durationMs: number }
  | { status: 'skipped'; reason: string; /** The data disk is full: nothing to do with the camera. */ storage?: true }
  | { status: 'failed'; error: CameraError };

/** Why a "capture now" was skipped, for the words the UI says it in (the storage guard's own reason aside). */
export const SKIPPED_STOPPING = 'the daemon is stopping';
export const SKIPPED_TEST_SHOT = 'a test shot';

/** Without a relay, a camera is marked down after this many failed slots in a row. */
export const DOWN_AFTER_FAILURES = 3;
/** How long an abandoned driver capture may take to kill its program and clean up (above process.ts's kill grace). */
const ABANDON_SETTLE_MS = 2_500;
/** How far back a ramp looks for the frames it goes on from, after a restart or a reload. */
const RAMP_MEMORY_MS = 3_600_000;
/** Pause before a plain retry: a busy camera often needs a moment. */
const RETRY_PAUSE_MS = 2_000;
/**
 * Captures of one source in flight at once: one being processed and three waiting (or being taken).
 * A 24 MP picture of another source takes up to 2.5 s in the pipeline on a slow box: a source
 * every second then has two or three pictures waiting, on disk, none in memory.
 */
export const MAX_CAPTURES_IN_FLIGHT = 4;
export const SKIPPED_BUSY = 'the previous capture is still running';
export const SKIPPED_PROCESSING = 'the previous pictures are still waiting to be processed';

interface Unit {
  source: SourceConfig;
  camera: Camera;
  relay: Relay | null;
  /** Why the configured relay could not be opened; null once it is open (or not yet tried). */
  relayFault: RelayFault | null;
  /** The latest capture in flight: it ends after every earlier one (see `capture`). */
  inFlight: Promise<CaptureOutcome> | null;
  /** How many captures are in flight (at most MAX_CAPTURES_IN_FLIGHT), and how to abort each. */
  stops: Set<AbortController>;
  /** The latest capture's signal: an earlier one leaves the camera and the ladder to it. */
  latest: AbortSignal | null;
  /** A capture, a reset, a power cycle or a test shot is using the camera now. */
  cameraBusy: boolean;
  /** Until the previous capture service has let this source go (a reload): its capture in flight, and when it is done. */
  handover: Handover | null;
  closed: boolean;
  /** The source's exposure ramp (camera.exposure.mode: ramp); null: the camera's settings are left as they are. */
  ramp: ExposureRamp | null;
}

/** A source as a capture service being replaced hands it over: see `release()`. */
export interface Handover {
  /** The capture still running in the previous service, if any. */
  inFlight: Promise<CaptureOutcome> | null;
  /** Settles once that capture has ended and the source's camera and relay are closed. */
  released: Promise<void>;
  /** The relay fault of the source there, still true until this service opens the relay itself. */
  relayFault?: RelayFault | null;
}

/** A configured power relay that could not be opened: the camera has no power cycle. */
export interface RelayFault {
  /** The relay configuration it was for: another one (a reload) must be tried anew. */
  config: RelayConfig;
  line: number;
  reason: string;
  fix: string;
  since: number;
}

/** A source's power relay as the service holds it now. */
export interface RelayState {
  sourceId: string;
  gpio: number;
  /** open: at rest or cycling; simulated: asked for; unavailable: see fault; waiting: the previous service still holds the source. */
  state: 'open' | 'simulated' | 'unavailable' | 'waiting';
  fault: RelayFault | null;
}

/** The storage guard, as capture sees it (daemon/storage/retention.ts). */
export interface StorageGate {
  /** Why capture is paused, or null. */
  blocked(): string | null;
  /** After a failed attempt: measures the disk; why it is full, or null when the disk is not the cause. */
  diskTrouble(): Promise<string | null>;
}

/** Told of each stored picture (metrics). */
export type CaptureObserver = (sourceId: string, timing: { totalMs: number; pipelineMs: number }) => void;

type Attempt = { ok: true; picture: Picture } | { ok: false; error: CameraError };

export class CaptureService {
  readonly #units = new Map<string, Unit>();
  readonly #config: Config;
  readonly #store: PictureStore;
  readonly #pipeline: Pick<PicturePipeline, 'process' | 'warnOnce' | 'render'>;
  readonly #state: SourceStateRepository;
  readonly #events: EventsRepository;
  readonly #openRelay: (config: RelayConfig, sourceId: string) => Relay;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #storage: StorageGate | null;
  readonly #observe: CaptureObserver;
  readonly #gaps: Pick<CoverageRepository, 'recordGap'> | null;
  #stopping = false;

  constructor(deps: {
    config: Config;
    createCamera: CameraFactory;
    store: PictureStore;
    pipeline: Pick<PicturePipeline, 'process' | 'warnOnce' | 'render'>;
    state: SourceStateRepository;
    events: EventsRepository;
    openRelay: (config: RelayConfig, sourceId: string) => Relay;
    log: Logger;
    now?: () => number;
    storage?: StorageGate;
    observe?: CaptureObserver;
    /** Where a slot that got no picture is noted, with why (the coverage calendar). */
    gaps?: Pick<CoverageRepository, 'recordGap'>;
    /** From the service this one replaces (a reload): each source is used only once that one has let it go. */
    handover?: ReadonlyMap<string, Handover>;
  }) {
    this.#config = deps.config;
    this.#store = deps.store;
    this.#now = deps.now ?? Date.now;
    for (const source of deps.config.sources) {
      const handover = deps.handover?.get(source.id) ?? null;
      // Until its own attempt, a relay the previous service could not open is still a fault (no flapping alert).
      const inherited = handover?.relayFault ?? null;
      const powerCycle = source.enabled ? source.recovery.powerCycle : undefined;
      const relayFault = inherited && powerCycle && sameRelay(inherited.config, powerCycle) ? inherited : null;
      const unit: Unit = { source, camera: deps.createCamera(source, deps.config.appliance, deps.log), relay: null, relayFault, inFlight: null, stops: new Set(), latest: null, cameraBusy: false, handover, closed: false, ramp: this.#rampFor(source) };
      this.#units.set(source.id, unit);
      void handover?.released.then(() => {
        if (unit.handover === handover) unit.handover = null;
      });
    }
    this.#pipeline = deps.pipeline;
    this.#state = deps.state;
    this.#events = deps.events;
    this.#openRelay = deps.openRelay;
    this.#log = deps.log;
    this.#storage = deps.storage ?? null;
    this.#observe = deps.observe ?? (() => undefined);
    this.#gaps = deps.gaps ?? null;
  }

  /**
   * A source's exposure ramp, when its camera.exposure asks for one, going on from the
   * frames of the last hour (a restart, a reload): older ones say little of the light now.
   */
  #rampFor(source: SourceConfig): ExposureRamp | null {
    const camera = source.camera;
    const exposure = camera.driver === 'gphoto2' || camera.driver === 'testpattern' ? camera.exposure : undefined;
    if (exposure?.mode !== 'ramp' || !source.enabled) return null;
    const { timezone, location } = this.#config.appliance;
    // The test pattern's light follows its own sun even without a location; a real camera's needs one.
    const sun = exposure.sun ?? (camera.driver === 'testpattern' || location !== undefined);
    const ramp = new ExposureRamp(exposure, sun ? { timezone, location } : null);
    const now = this.#now();
    const recent = this.#store.exposed(source.id, now - RAMP_MEMORY_MS, now + 1, { limit: SCENE_FRAMES, newestFirst: true });
    ramp.seed(recent.reverse().flatMap((p) => (p.luminance !== null && p.exposure ? [{ takenAt: p.takenAt, luminance: p.luminance, exposure: p.exposure }] : [])));
    return ramp;
  }

  /** What a source's exposure ramp is doing; null without one. */
  exposureView(sourceId: string): RampView | null {
    return this.#units.get(sourceId)?.ramp?.view() ?? null;
  }

  /** Notes a slot of `sourceId` that got no picture, and why. */
  #missed(sourceId: string, kind: GapKind, message: string | null = null): void {
    const source = this.#units.get(sourceId)?.source;
    if (!source || !this.#gaps) return;
    try {
      this.#gaps.recordGap(sourceId, { kind, at: this.#now(), message, everyMs: source.schedule.every });
    } catch (err) {
      // The database full, say: the coverage calendar misses this reason (the slot shows as unexplained); capture goes on.
      this.#log.warn({ source: sourceId, err: messageOf(err) }, 'a missed slot could not be recorded for the coverage calendar');
    }
  }

  /** Puts every power relay in its safe state (cameras powered), each once the previous service has let its source go. */
  start(): void {
    for (const unit of this.#units.values()) {
      const powerCycle = unit.source.recovery.powerCycle;
      if (!powerCycle || !unit.source.enabled) continue;
      // A service released or stopped before its turn came never touches the relay.
      const open = () => {
        if (unit.closed || this.#stopping) return;
        try {
          unit.relay = this.#openRelay(powerCycle, unit.source.id);
          unit.relayFault = null;
        } catch (err) {
          // Captures go on without the last rung of the ladder rather than not at all; status and alerts say so.
          const known = err instanceof RelayUnavailableError;
          unit.relayFault = {
            config: powerCycle,
            line: known ? err.line : powerCycle.gpio,
            reason: known ? err.reason : messageOf(err),
            fix: known ? err.fix : 'check recovery.powerCycle and run "lapsebox doctor"',
            since: unit.relayFault?.since ?? this.#now(),
          };
          this.#log.error({ source: unit.source.id, gpio: powerCycle.gpio, err: messageOf(err) }, 'the power relay cannot be used: no power cycle for this camera until a reload or a restart opens it');
        }
      };
      if (unit.handover) void unit.handover.released.then(open);
      else open();
    }
  }

  /**
   * A test shot (issue 25): the camera takes a picture, the pipeline makes it as `proposed`
   * (a source's settings not saved yet) would, and its preview size comes back as a JPEG;
   * nothing is stored, indexed, sent or counted. It waits for a capture in flight, and a
   * slot that comes during it is skipped as busy, like during any capture.
   */
  async testShot(sourceId: string, proposed: SourceConfig): Promise<Buffer> {
    const unit = this.#units.get(sourceId);
    if (!unit) throw new CameraError('not-found', `no source "${sourceId}"`);
    for (;;) {
      if (this.#stopping) throw new CameraError('aborted', 'the daemon is stopping');
      const busy = unit.inFlight ?? unit.handover?.inFlight ?? null;
      if (!busy) break;
      await busy;
    }
    const stop = new AbortController();
    const run = this.#testShot(unit, proposed, stop.signal);
    unit.inFlight = run.then(
      (): CaptureOutcome => ({ status: 'skipped', reason: SKIPPED_TEST_SHOT }),
      (err: unknown): CaptureOutcome => ({ status: 'failed', error: toCameraError(err, sourceId) }),
    );
    unit.stops.add(stop);
    unit.latest = stop.signal;
    unit.cameraBusy = true;
    try {
      return await run;
    } finally {
      unit.inFlight = null;
      unit.stops.delete(stop);
      unit.latest = null;
      unit.cameraBusy = false;
    }
  }

  async #testShot(unit: Unit, proposed: SourceConfig, stop: AbortSignal): Promise<Buffer> {
    const { source, camera } = unit;
    const started = this.#now();
    const { signal, clear } = this.#timeoutSignal(stop, source.camera.timeout, `camera ${source.id}: no picture within ${formatDuration(source.camera.timeout)}`);
    const dir = await this.#store.prepareDir(source.id, started);
    const temp = tempPathFor(path.join(dir, pictureFileName(started)));
    const rewritten = tempPathFor(path.join(dir, pictureFileName(started)));
    let companions: { path: string }[] = [];
    let onAbort: (() => void) | undefined;
    try {
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(abortError(signal));
        else signal.addEventListener('abort', (onAbort = () => reject(abortError(signal))), { once: true });
      });
      // The ramp's last settings: the test shot looks as the next frame will.
      const exposure = unit.ramp?.current();
      const result = await Promise.race([camera.capture({ destination: temp, takenAt: new Date(started), signal, ...(exposure ? { exposure } : {}) }), aborted]);
      companions = result.companions ?? [];
      const processed = await this.#pipeline.process(temp, { source: proposed, takenAt: started }, rewritten).catch((err: unknown) => {
        if (err instanceof PipelineError) throw new CameraError('bad-output', `camera ${source.id}: ${err.message}`, 'the camera did not deliver a JPEG picture; check its picture format settings');
        throw err;
      });
      const kind = proposed.image.watermark ? 'preview-wm' : 'preview';
      const made = processed.derivatives.find((d) => d.kind === kind)?.data;
      if (made) return made;
      if (processed.metrics.rejection && isCameraFault(processed.metrics.rejection)) {
        throw new CameraError('bad-output', `camera ${source.id}: the test shot is unusable (${processed.metrics.rejection.code}: ${processed.metrics.rejection.detail})`, 'the camera delivered a damaged picture; check its cable, link and settings');
      }
      const { width, height } = processed.metrics;
      return await this.#pipeline.render(processed.master, { source: proposed, takenAt: started, size: { width, height } }, kind);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      clear();
      await removeIfExists(temp).catch(() => undefined);
      await removeIfExists(rewritten).catch(() => undefined);
      for (const companion of companions) await removeIfExists(companion.path).catch(() => undefined);
    }
  }

  /**
   * Hands every source over to the service that replaces this one (a reload or a
   * settings edit): takes no new capture, lets each capture in flight end as it
   * would have (within its own camera timeouts, retries and power cycle), then
   * closes that source's camera and relay. Nothing is discarded.
   */
  release(): Map<string, Handover> {
    this.#stopping = true;
    const handovers = new Map<string, Handover>();
    for (const unit of this.#units.values()) {
      const inFlight = unit.inFlight ?? unit.handover?.inFlight ?? null;
      const released = Promise.all([unit.handover?.released, unit.inFlight]).then(() => this.#close(unit));
      handovers.set(unit.source.id, { inFlight, released, relayFault: unit.relayFault });
    }
    return handovers;
  }

  /** Every enabled source's power relay: open, simulated, unavailable (with why and the fix), or waiting for a handover. */
  relays(): RelayState[] {
    const out: RelayState[] = [];
    for (const unit of this.#units.values()) {
      const powerCycle = unit.source.recovery.powerCycle;
      if (!powerCycle || !unit.source.enabled) continue;
      const state = unit.relay ? (unit.relay.simulated ? 'simulated' : 'open') : unit.relayFault ? 'unavailable' : 'waiting';
      out.push({ sourceId: unit.source.id, gpio: powerCycle.gpio, state, fault: unit.relay ? null : unit.relayFault });
    }
    return out;
  }

  has(sourceId: string): boolean {
    return this.#units.has(sourceId);
  }

  /**
   * Each enabled source's camera read again now, where its driver can (gphoto2's session,
   * between two captures): for `lapsebox cameras`. A camera that does not answer says why.
   */
  async readCameras(signal: AbortSignal): Promise<{ sourceId: string; view: CameraView; error: string | null }[]> {
    const units = [...this.#units.values()].filter((u) => u.source.enabled && u.camera.view);
    return Promise.all(
      units.map(async ({ source, camera }) => {
        let error: string | null = null;
        if (camera.refresh) await camera.refresh(signal).catch((err: unknown) => (error = toCameraError(err, source.id).describe()));
        return { sourceId: source.id, view: camera.view!(), error };
      }),
    );
  }

  /** What a source's driver knows of its camera now (gphoto2: the session's reading); null for the other drivers. */
  cameraView(sourceId: string): CameraView | null {
    return this.#units.get(sourceId)?.camera.view?.() ?? null;
  }

  /**
   * Resolves once the captures running now have ended, or after `maxMs`: how other work
   * (the sync's uploads) lets captures go first without being held up by a hung camera.
   */
  async quiet(maxMs: number): Promise<void> {
    const running = [...this.#units.values()].flatMap((u) => (u.inFlight ? [u.inFlight] : []));
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(running), new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)))]);
    clearTimeout(timer);
  }

  isBusy(sourceId: string): boolean {
    const unit = this.#units.get(sourceId);
    return unit ? unit.stops.size > 0 || unit.handover !== null : false;
  }

  /** Captures one picture now. Never rejects: the outcome says how it ended. */
  capture(sourceId: string, reason: CaptureReason): Promise<CaptureOutcome> {
    const unit = this.#units.get(sourceId);
    if (!unit) return Promise.resolve({ status: 'skipped', reason: `no source "${sourceId}"` });
    if (this.#stopping) return Promise.resolve({ status: 'skipped', reason: SKIPPED_STOPPING });
    const full = this.#storage?.blocked() ?? null;
    if (full !== null) {
      if (reason === 'slot') {
        this.#state.recordSkip(sourceId, this.#today());
        this.#missed(sourceId, 'disk');
      }
      this.#log.debug({ source: sourceId, reason }, full);
      return Promise.resolve({ status: 'skipped', reason: full, storage: true });
    }
    if (unit.handover) {
      // The previous capture service still holds the camera (a reload during a capture).
      const { inFlight, released } = unit.handover;
      if (reason === 'manual') return inFlight ?? released.then(() => this.capture(sourceId, reason));
      if (inFlight) return Promise.resolve(this.#skipBusy(sourceId, SKIPPED_BUSY));
      return released.then(() => this.capture(sourceId, reason));
    }
    const previous = unit.inFlight;
    if (previous) {
      if (reason === 'manual') return previous;
      if (unit.cameraBusy) return Promise.resolve(this.#skipBusy(sourceId, SKIPPED_BUSY));
      if (unit.stops.size >= MAX_CAPTURES_IN_FLIGHT) return Promise.resolve(this.#skipBusy(sourceId, SKIPPED_PROCESSING));
    }
    const stop = new AbortController();
    unit.stops.add(stop);
    unit.latest = stop.signal;
    // The camera is taken now, before the first await: the next slot sees it busy.
    unit.cameraBusy = true;
    const run = this.#climb(unit, reason, stop.signal, previous ?? Promise.resolve())
      .then((outcome) => {
        // A slot the camera failed: its gap is noted once, with the error that ended it (after the ladder).
        if (reason === 'slot' && outcome.status === 'failed' && outcome.error.code !== 'aborted') this.#missed(sourceId, 'camera', outcome.error.describe());
        return outcome;
      })
      .finally(() => {
        unit.stops.delete(stop);
        if (unit.latest === stop.signal) {
          unit.inFlight = null;
          unit.latest = null;
          unit.cameraBusy = false;
        }
      });
    unit.inFlight = run;
    return run;
  }

  /** A slot skipped because the source is busy: counted, noted for the coverage calendar, and logged. */
  #skipBusy(sourceId: string, reason: string): CaptureOutcome {
    this.#state.recordSkip(sourceId, this.#today());
    this.#missed(sourceId, 'busy');
    this.#log.warn({ source: sourceId }, `slot skipped: ${reason}`);
    return { status: 'skipped', reason };
  }

  /**
   * One capture with the recovery ladder around it. `previous` is the capture before it,
   * still being processed: this one's picture is processed, and its outcome recorded, after.
   */
  async #climb(unit: Unit, reason: CaptureReason, stop: AbortSignal, previous: Promise<unknown>): Promise<CaptureOutcome> {
    const { source } = unit;
    const started = this.#now();
    let attempt = await this.#attempt(unit, reason, stop, previous);
    // The previous capture's outcome first (a failure of ours must not be counted before its success).
    await previous;
    const wasDown = this.#state.get(source.id).downSince !== null;
    // A full disk is not the camera's fault: no retry, no failure counted, no power cycle.
    if (!attempt.ok && attempt.error.code !== 'aborted' && this.#storage) {
      const full = await this.#storage.diskTrouble();
      if (full !== null) {
        if (reason === 'slot') {
          this.#state.recordSkip(source.id, this.#today());
          this.#missed(source.id, 'disk');
        }
        this.#log.error({ source: source.id, reason, error: attempt.error.message }, full);
        return { status: 'skipped', reason: full, storage: true };
      }
    }

    // Rung 1: retries within the slot, the last one after the driver's reset. A camera that is down gets none.
    const retries = wasDown ? 0 : source.recovery.retries;
    for (let retry = 1; !attempt.ok && retry <= retries && worthRetrying(attempt.error) && !stop.aborted; retry++) {
      const withReset = retry === retries && unit.camera.reset !== undefined;
      const pause = withReset ? 0 : Math.min(RETRY_PAUSE_MS, source.schedule.every / 10);
      if (unit.latest !== stop) {
        this.#log.info({ source: source.id }, 'no retry: the next slot has the camera');
        break;
      }
      if (this.#now() + pause + source.camera.timeout > started + source.schedule.every) {
        this.#log.info({ source: source.id }, 'no retry: it could not end before the next slot');
        break;
      }
      this.#log.warn({ source: source.id, retry, of: retries, reset: withReset }, `retrying the capture${withReset ? ' after a reset of the camera' : ''}`);
      unit.cameraBusy = true;
      if (withReset) await this.#reset(unit, stop);
      else await sleep(pause, stop).catch(() => undefined);
      if (stop.aborted) break;
      attempt = await this.#attempt(unit, reason, stop, previous);
    }
    if (attempt.ok) return this.#succeeded(unit, attempt.picture, reason, started, wasDown);

    const error = attempt.error;
    if (error.code === 'aborted') {
      this.#log.info({ source: source.id, reason }, error.message);
      return { status: 'failed', error };
    }
    this.#state.recordFailure(source.id, this.#now(), error.describe(), this.#today());
    const failures = this.#state.get(source.id).consecutiveFailures;
    this.#log.error({ source: source.id, reason, code: error.code, consecutiveFailures: failures }, `capture failed: ${error.describe()}`);
    if (wasDown || !worthRetrying(error)) return { status: 'failed', error };
    // A later slot's capture has the camera: it goes on with the ladder, counting this failure.
    if (unit.latest !== stop) return { status: 'failed', error };

    // Rung 2: the power cycle, when the failures in a row reach the threshold.
    const powerCycle = source.recovery.powerCycle;
    const threshold = powerCycle?.afterFailures ?? DOWN_AFTER_FAILURES;
    if (failures < threshold) return { status: 'failed', error };
    if (powerCycle && unit.relay && !stop.aborted) {
      const day = localDate(this.#now(), this.#config.appliance.timezone);
      const done = this.#state.powerCyclesOn(source.id, day);
      if (done < powerCycle.maxPerDay) {
        unit.cameraBusy = true;
        await this.#powerCycle(unit, powerCycle, day, error, stop);
        const after = await this.#attempt(unit, reason, stop, previous);
        if (after.ok) return this.#succeeded(unit, after.picture, reason, started, wasDown);
        // Stopping is not the camera's fault, here as after the first attempt.
        if (after.error.code === 'aborted') return { status: 'failed', error: after.error };
        this.#state.recordFailure(source.id, this.#now(), after.error.describe(), this.#today());
        this.#log.error({ source: source.id, code: after.error.code }, `capture failed after the power cycle: ${after.error.describe()}`);
        this.#markDown(unit, this.#state.get(source.id).consecutiveFailures, after.error, 'a power cycle did not bring it back');
        return { status: 'failed', error: after.error };
      }
      this.#log.warn({ source: source.id, powerCyclesToday: done }, `no power cycle: already ${done} today (powerCycle.maxPerDay)`);
      this.#markDown(unit, failures, error, `the daily limit of ${powerCycle.maxPerDay} power cycles is reached`);
      return { status: 'failed', error };
    }
    // Rung 3: down.
    this.#markDown(unit, failures, error, powerCycle ? 'its relay is not available' : 'no power relay is configured');
    return { status: 'failed', error };
  }

  /**
   * One capture attempt, bounded by camera.timeout; the file is stored and indexed on success.
   * The camera is let go once its file is written; the picture is processed after `previous`.
   */
  async #attempt(unit: Unit, reason: CaptureReason, stop: AbortSignal, previous: Promise<unknown>): Promise<Attempt> {
    const { source, camera } = unit;
    // No camera operation starts once the daemon is stopping.
    if (stop.aborted) return { ok: false, error: abortError(stop) };
    const started = this.#now();
    const { signal, clear } = this.#timeoutSignal(stop, source.camera.timeout, `camera ${source.id}: no picture within ${formatDuration(source.camera.timeout)}`);
    let temp: string | undefined;
    /** Where the pipeline writes the picture when it has to rewrite it (masks, rotation, crop). */
    let rewritten: string | undefined;
    let companions: { path: string; extension: string }[] = [];
    /** The driver's capture while it has not answered: an abandoned one gets a moment to clean up after itself. */
    let capturing: Promise<CaptureResult> | undefined;
    /** The race's listener, removed after the attempt (see #timeoutSignal). */
    let onAbort: (() => void) | undefined;
    try {
      const dir = await this.#store.prepareDir(source.id, started);
      temp = tempPathFor(path.join(dir, pictureFileName(started)));
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(abortError(signal));
        else signal.addEventListener('abort', (onAbort = () => reject(abortError(signal))), { once: true });
      });
      // The ramp's settings for this frame, from the camera's own choices (the session opens here if it must).
      const exposure = unit.ramp && camera.exposureControl ? unit.ramp.next(await Promise.race([camera.exposureControl(signal), aborted]), started) : undefined;
      // The race ends the wait even if a driver ignores the signal; its late output is removed below.
      capturing = camera.capture({ destination: temp, takenAt: new Date(started), signal, ...(exposure ? { exposure } : {}) });
      const result = await Promise.race([capturing, aborted]);
      capturing = undefined;
      companions = result.companions ?? [];
      const captured = this.#now();
      // The camera is free for the next slot; the deadline was the camera's, not the processing's.
      if (unit.latest === stop) unit.cameraBusy = false;
      clear();
      await previous;
      rewritten = tempPathFor(path.join(dir, pictureFileName(started)));
      const processed = await this.#pipeline.process(temp, { source, takenAt: started }, rewritten).catch((err: unknown) => {
        if (err instanceof PipelineError) throw new CameraError('bad-output', `camera ${source.id}: ${err.message}`, 'the camera did not deliver a JPEG picture; check its picture format settings');
        throw err;
      });
      this.#pipeline.warnOnce(source.id, processed.warnings);
      const picture = await this.#store.commit(source.id, { tempPath: temp, processed, takenAt: started, companions, exposure: result.exposure ?? null });
      unit.ramp?.record(picture.takenAt, picture.luminance, picture.exposure);
      temp = undefined;
      rewritten = undefined;
      companions = [];
      const timing = { ms: this.#now() - started, pipelineMs: this.#now() - captured, ...(picture.exposure ? { ev: picture.exposure.ev, luminance: picture.luminance } : {}) };
      this.#observe(source.id, { totalMs: timing.ms, pipelineMs: timing.pipelineMs });
      if (picture.rejection && isCameraFault(picture.rejection)) {
        return {
          ok: false,
          error: new CameraError('bad-output', `camera ${source.id}: the picture is unusable (${picture.rejection.code}: ${picture.rejection.detail}); it is kept as ${picture.path}`, 'the camera delivered a damaged picture; check its cable, link and settings'),
        };
      }
      if (picture.rejection) {
        this.#log.warn({ source: source.id, reason, picture: picture.path, rejection: picture.rejection.code, ...timing }, `picture captured but rejected: ${picture.rejection.detail}`);
      } else {
        this.#log.info({ source: source.id, reason, picture: picture.path, bytes: picture.size, ...timing }, 'picture captured');
      }
      return { ok: true, picture };
    } catch (err) {
      return { ok: false, error: toCameraError(err, source.id) };
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      clear();
      // A driver stopped by the daemon's stop kills its program (TERM, then KILL 2 s later) and removes
      // its working files: wait for that, boundedly, as the process exits next. (After a timeout the
      // cleanup goes on in the background, so the next slot is not delayed.)
      if (capturing && stop.aborted) await settledWithin(capturing, ABANDON_SETTLE_MS);
      if (temp) await removeIfExists(temp).catch(() => undefined);
      if (rewritten) await removeIfExists(rewritten).catch(() => undefined);
      for (const companion of companions) await removeIfExists(companion.path).catch(() => undefined);
    }
  }

  #succeeded(unit: Unit, picture: Picture, reason: CaptureReason, started: number, wasDown: boolean): CaptureOutcome {
    if (wasDown) {
      const since = this.#state.get(unit.source.id).downSince ?? started;
      this.#state.setDown(unit.source.id, null);
      const message = `camera ${unit.source.id} is back after ${formatDuration(Math.max(1000, Math.round((this.#now() - since) / 1000) * 1000))} down`;
      this.#events.add({ at: this.#now(), sourceId: unit.source.id, kind: 'camera-up', message });
      this.#log.warn({ source: unit.source.id, reason }, message);
    }
    return { status: 'captured', picture, durationMs: this.#now() - started };
  }

  /** The driver's reset (gphoto2: USB reset and re-detection), bounded like a capture. */
  async #reset(unit: Unit, stop: AbortSignal): Promise<void> {
    const { source, camera } = unit;
    if (!camera.reset) return;
    const { signal, clear } = this.#timeoutSignal(stop, source.camera.timeout, `camera ${source.id}: the reset did not end within ${formatDuration(source.camera.timeout)}`);
    try {
      await camera.reset(signal);
      this.#log.info({ source: source.id }, 'camera reset');
    } catch (err) {
      this.#log.warn({ source: source.id }, `camera reset failed: ${toCameraError(err, source.id).describe()}`);
    } finally {
      clear();
    }
  }

  async #powerCycle(unit: Unit, powerCycle: NonNullable<SourceConfig['recovery']['powerCycle']>, day: string, error: CameraError, stop: AbortSignal): Promise<void> {
    const { source } = unit;
    const relay = unit.relay!;
    const at = this.#now();
    this.#state.recordPowerCycle(source.id, at, day);
    const count = this.#state.powerCyclesOn(source.id, day);
    const message = `camera ${source.id}: power cycle ${count} of at most ${powerCycle.maxPerDay} today, after ${powerCycle.afterFailures} failed captures in a row (${error.message})`;
    this.#events.add({ at, sourceId: source.id, kind: 'camera-power-cycle', message });
    this.#log.warn({ source: source.id, gpio: relay.gpio, simulated: relay.simulated, off: formatDuration(powerCycle.off) }, message);
    try {
      await relay.setCameraPower(false);
      await sleep(powerCycle.off, stop).catch(() => undefined);
    } finally {
      // Whatever happens, the camera gets its power back.
      await relay.setCameraPower(true).catch((err: unknown) => this.#log.error({ source: source.id, err }, 'could not restore camera power'));
    }
    await sleep(powerCycle.settle, stop).catch(() => undefined);
    await this.#reset(unit, stop);
  }

  #markDown(unit: Unit, failures: number, error: CameraError, why: string): void {
    const { source } = unit;
    this.#state.setDown(source.id, this.#now());
    const message = `camera ${source.id} is down after ${failures} failed captures in a row (${why}): ${error.describe()}. It is still tried at every slot.`;
    this.#events.add({ at: this.#now(), sourceId: source.id, kind: 'camera-down', message });
    this.#log.error({ source: source.id, code: error.code }, message);
  }

  #today(): string {
    return localDate(this.#now(), this.#config.appliance.timezone);
  }

  /**
   * A signal that fires when `stop` does or after `ms`, with a timeout CameraError as its
   * reason; `clear` unhooks it from both. Not `AbortSignal.any`: Node keeps a signal made
   * by it for the life of the process once it has an abort listener and has not fired,
   * which is every capture that succeeds (about 2 KB each: 20 MB of heap a day at one
   * picture every 10 s, found by the soak).
   */
  #timeoutSignal(stop: AbortSignal, ms: number, message: string): { signal: AbortSignal; clear: () => void } {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new CameraError('timeout', message, 'the camera may be hung; check its cable and power, or raise camera.timeout')), ms);
    const onStop = () => controller.abort(stop.reason);
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
    return {
      signal: controller.signal,
      clear: () => {
        clearTimeout(timer);
        stop.removeEventListener('abort', onStop);
      },
    };
  }

  /**
   * Stops taking new captures, lets the ones in flight finish for up to `graceMs`,
   * then aborts them; an aborted capture leaves no file and no row. Relays go back
   * to their safe state (cameras powered).
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    const pending = [...this.#units.values()].flatMap((u) => (u.inFlight ? [u.inFlight] : []));
    if (pending.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled(pending), graceOver]);
      clearTimeout(timer);
      for (const unit of this.#units.values()) for (const stop of unit.stops) stop.abort(new CameraError('aborted', `camera ${unit.source.id}: capture abandoned, the daemon is stopping`));
      await Promise.allSettled(pending);
    }
    await Promise.all([...this.#units.values()].map((u) => this.#close(u)));
  }

  /** Closes a source's camera and puts its relay back in its safe state, once. */
  async #close(unit: Unit): Promise<void> {
    if (unit.closed) return;
    unit.closed = true;
    try {
      await unit.camera.close?.();
    } catch (err) {
      this.#log.warn({ source: unit.source.id, err: messageOf(err) }, 'camera did not close cleanly');
    }
    unit.relay?.close();
    unit.relay = null;
  }
}

/** Waits for a promise to settle, at most `ms`. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Retrying cannot help a driver that is not installed, nor a daemon that is stopping. */
function worthRetrying(error: CameraError): boolean {
  return error.code !== 'unsupported' && error.code !== 'aborted';
}

function toCameraError(err: unknown, sourceId: string): CameraError {
  if (err instanceof CameraError) return err;
  const message = messageOf(err);
  return new CameraError('failed', `camera ${sourceId}: ${message}`, undefined, { cause: err });
}

/** The same pin the same way: a fault found for one is still true for the other. */
function sameRelay(a: RelayConfig, b: RelayConfig): boolean {
  return a.gpio === b.gpio && a.activeLow === b.activeLow && Boolean(a.simulate) === Boolean(b.simulate);
}
