/**
 * The composition root: builds every service from the configuration, starts them
 * in dependency order and stops them in reverse. Constructors elsewhere only
 * assign; all start-up work happens in `start()`.
 */
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import { setLogLevels, type Logger } from './logger';
import type { Config, LogModule } from './config/schema';
import { loadConfig, type LoadedConfig, ConfigError } from './config/load';
import { SourceSettings } from './settings/source-settings';
import { openRepositories, type Repositories } from './store/repositories';
import type { PictureStore } from './storage/picture.store';
import type { CaptureService, Handover } from './capture/capture.service';
import { buildCaptureStack } from './capture/capture-stack';
import { PicturePipeline } from './pipeline/picture.pipeline';
import { PictureSizes } from './storage/picture-sizes';
import { createCamera, type CameraFactory } from './capture/drivers';
import { openRelay, type Relay, type RelayConfig } from './hardware/relay';
import { Scheduler } from './schedule/scheduler';
import { StatusService } from './status.service';
import { UsersService } from './auth/users.service';
import { Authenticator } from './auth/authenticator';
import { AccessService } from './auth/access.service';
import { PublicImages } from './storage/public-image';
import { configureSharp } from './pipeline/sharp';
import { AppError } from './errors';
import { createWebApp } from '../web/app';
import { createControlApp } from './control/server';
import { listen, type Listener } from '../web/server';
import { controlRequest } from './control/client';
import type { FfmpegRunnerOptions } from './timelapse/ffmpeg.runner';
import { buildVideoStack } from './timelapse/video-stack';
import type { VideoJobs } from './timelapse/video-jobs.service';
import { TimelapseScheduler } from './timelapse/timelapse.scheduler';
import { Outbox } from './sync/outbox';
import { SyncService, type SyncPolicies } from './sync/sync.service';
import { StorageGuard, type DiskProbe } from './storage/retention';
import { createSystemProbe, type SystemProbe } from './health/system-probe';
import { HealthHistory } from './health/health-history';
import { Notifier } from './health/notifier';
import { AlertService } from './health/alerts';
import type { ConfigRejection } from './health/conditions';
import { Metrics } from './health/metrics';

/**
 * How long a capture in flight may finish after SIGTERM before it is discarded. With
 * the 2.5 s an abandoned driver gets to kill its program and clean up, the daemon
 * exits well inside its 9.5 s hard limit, on a busy box too.
 */
const STOP_GRACE_MS = 5_000;

export interface AppOptions {
  log: Logger;
  createCamera?: CameraFactory;
  /** Power relays; default: onoff where GPIO is accessible, else simulated. */
  openRelay?: (config: RelayConfig, log: Logger) => Relay;
  now?: () => number;
  /** ffmpeg and ffprobe (tests point them at missing programs). */
  ffmpeg?: FfmpegRunnerOptions;
  /** Retry pacing of the sync (tests shorten it). */
  syncPolicies?: SyncPolicies;
  /** Free space of the data folder; default statfs (tests without a small real file system inject one). */
  diskProbe?: DiskProbe;
  /** How often the storage guard measures the disk (default 30 s). */
  storageCheckMs?: number;
  /** The health probe (tests pass a scripted one); default systeminformation and the Pi's tools. */
  systemProbe?: SystemProbe;
  /** How often health is sampled (default 1 min) and alerts are checked (default 30 s). */
  healthSampleMs?: number;
  alertCheckMs?: number;
}

export class App {
  #loaded: LoadedConfig;
  /** The root logger: modules take a child named after them (`#logFor`). */
  readonly #root: Logger;
  /** Lines about the daemon as a whole. */
  readonly #log: Logger;
  readonly #createCamera: CameraFactory;
  readonly #openRelay: (config: RelayConfig, log: Logger) => Relay;
  readonly #now: () => number;
  readonly #ffmpeg: AppOptions['ffmpeg'];
  readonly #syncPolicies: AppOptions['syncPolicies'];
  readonly #options: AppOptions;
  #outbox: Outbox | null = null;
  #storage: StorageGuard | null = null;
  #healthHistory: HealthHistory | null = null;
  #notifier: Notifier | null = null;
  #alerts: AlertService | null = null;
  #metrics: Metrics | null = null;
  #sync: SyncService | null = null;
  #videoJobs: VideoJobs | null = null;
  #timelapse: TimelapseScheduler | null = null;
  #store: Repositories | null = null;
  #pictureStore: PictureStore | null = null;
  #pipeline: PicturePipeline | null = null;
  #capture: CaptureService | null = null;
  #scheduler: Scheduler | null = null;
  #web: Listener | null = null;
  #control: Listener | null = null;
  #settings: SourceSettings | null = null;
  /** Configuration changes (reloads, settings edits) run one at a time, in order. */
  #changes: Promise<unknown> = Promise.resolve();
  /** Capture services replaced by a change whose captures in flight have not ended yet. */
  readonly #draining = new Set<CaptureService>();
  /** The last reload refused for errors in the file, until a valid one is applied (an alert). */
  #rejected: ConfigRejection | null = null;
  #stopping = false;

  constructor(loaded: LoadedConfig, options: AppOptions) {
    this.#loaded = loaded;
    this.#root = options.log;
    this.#log = options.log.child({ module: 'daemon' });
    this.#createCamera = options.createCamera ?? createCamera;
    this.#openRelay = options.openRelay ?? ((config, log) => openRelay(config, { log }));
    this.#now = options.now ?? Date.now;
    this.#ffmpeg = options.ffmpeg;
    this.#syncPolicies = options.syncPolicies;
    this.#options = options;
  }

  get config(): Config {
    return this.#loaded.config;
  }

  /** Source settings as the web UI edits them; null until started. */
  get settings(): SourceSettings | null {
    return this.#settings;
  }

  /** Where the web UI listens once started, `host:port`. */
  get webAddress(): string | null {
    return this.#web?.address ?? null;
  }

  async start(): Promise<void> {
    const config = this.config;
    for (const warning of this.#loaded.warnings) this.#log.warn({ config: this.#loaded.file }, warning);
    configureSharp();
    await fs.mkdir(config.storage.dataDir, { recursive: true, mode: 0o750 });
    await fs.access(config.storage.dataDir, constants.W_OK).catch(() => {
      throw new AppError('unavailable', `the data folder ${config.storage.dataDir} is not writable by this user`);
    });

    const store = openRepositories(config.storage.dataDir);
    this.#store = store;
    await this.#claimControlSocket(store.layout.controlSocket);

    const users = new UsersService(store.users, store.audit, this.#now);
    const created = await users.ensureMaintainer(config.storage.dataDir);
    if (created) {
      this.#log.warn(
        { user: created.username, passwordFile: created.passwordFile },
        `no maintainer existed: created user "${created.username}"; its password is in ${created.passwordFile} (readable by this user only). Log in, then change it with "lapsebox users passwd ${created.username}" and delete the file`,
      );
    }

    // One outbox for pictures and videos; new rows wake the sync workers of their targets.
    this.#outbox = new Outbox({ config: () => this.config, repo: store.outbox, now: this.#now, notify: (ids) => this.#sync?.wake(ids) });
    const metrics = new Metrics({
      config: () => this.config,
      state: store.state,
      backlog: (id) => store.outbox.backlog(id),
      health: () => this.#healthHistory?.latest() ?? null,
      storage: () => (this.#storage ? { capturePaused: this.#storage.status().paused !== null } : null),
      alerts: () => this.#alerts?.active() ?? [],
      now: this.#now,
    });
    this.#metrics = metrics;
    this.#storage = new StorageGuard({
      config: () => this.config,
      store,
      log: this.#logFor('storage'),
      now: this.#now,
      onPurged: (source, pictures, bytes) => metrics.purged(source, pictures, bytes),
      ...(this.#options.diskProbe ? { disk: this.#options.diskProbe } : {}),
      ...(this.#options.storageCheckMs ? { checkEveryMs: this.#options.storageCheckMs } : {}),
    });
    this.#buildCapture();
    const report = await this.#pictureStore!.reconcile(config.sources.map((s) => s.id));
    this.#log.info(report, 'data folder reconciled with the database');
    if (report.ignored.length > 0) this.#log.warn({ files: report.ignored.slice(0, 20) }, 'files in picture folders that are not complete pictures were left alone');

    const status = new StatusService({
      config: () => this.config,
      pictures: store.pictures,
      state: store.state,
      live: { nextSlot: (id) => this.#scheduler?.nextSlot(id) ?? null, isBusy: (id) => this.#capture?.isBusy(id) ?? false },
      sync: { status: () => this.#sync?.status() ?? [] },
      storage: () => this.#storage!.status(),
      health: () => this.#healthHistory?.latest() ?? null,
      alerts: () => this.#alerts?.active() ?? [],
      notifications: () => this.#notifier?.status() ?? null,
      relays: () => this.#capture?.relays() ?? [],
      now: this.#now,
    });
    // The capture service is rebuilt on reload; routes reach whichever is current
    // (it waits, source by source, for the one it replaced to let the camera go).
    const capture: Pick<CaptureService, 'capture' | 'isBusy'> = {
      capture: (...args) => this.#capture!.capture(...args),
      isBusy: (id) => this.#capture!.isBusy(id),
    };

    const sizes = new PictureSizes({ layout: store.layout, pictures: store.pictures, store: this.#pictureStore!, pipeline: this.#pipeline!, log: this.#logFor('pipeline') });
    const { jobs: videoJobs } = buildVideoStack({
      config: () => this.config,
      store,
      sizes,
      log: this.#root,
      ffmpeg: this.#ffmpeg,
      now: this.#now,
      outbox: this.#outbox,
      onEncoded: (source, kind, ms) => metrics.observeEncode(source, kind, ms),
    });
    this.#videoJobs = videoJobs;
    await videoJobs.start();
    const sync = new SyncService({
      config: () => this.config,
      store,
      outbox: this.#outbox,
      log: this.#logFor('sync'),
      now: this.#now,
      ...(this.#syncPolicies ? { policies: this.#syncPolicies } : {}),
    });
    this.#sync = sync;
    sync.start();
    const healthLog = this.#logFor('health');
    this.#healthHistory = new HealthHistory({
      probe: this.#options.systemProbe ?? createSystemProbe({ dataDir: config.storage.dataDir, now: this.#now }),
      repo: store.health,
      timezone: () => this.config.appliance.timezone,
      log: healthLog,
      now: this.#now,
      ...(this.#options.healthSampleMs ? { intervalMs: this.#options.healthSampleMs } : {}),
    });
    this.#notifier = new Notifier({ config: () => this.config, repo: store.notifications, log: this.#logFor('alerts'), now: this.#now });
    this.#alerts = new AlertService({
      config: () => this.config,
      store,
      notifier: this.#notifier,
      health: () => this.#healthHistory?.latest() ?? null,
      storage: () => this.#storage?.status() ?? null,
      sync: () => this.#sync?.status() ?? [],
      configRejected: () => this.#rejected,
      relays: () => this.#capture?.relays() ?? [],
      log: this.#logFor('alerts'),
      now: this.#now,
      // A quarter of the grace for late pictures, so "late" is told within a quarter of it.
      checkEveryMs: this.#options.alertCheckMs ?? Math.min(30_000, Math.max(1_000, config.alerts.lateAfter / 4)),
    });
    this.#timelapse = new TimelapseScheduler({ config: () => this.config, jobs: videoJobs, log: this.#logFor('timelapse'), now: this.#now });
    this.#settings = new SourceSettings({ file: () => this.#loaded.file, apply: (next) => this.#applyLoaded(next), audit: store.audit, now: this.#now });

    const web = createWebApp({
      config: () => this.config,
      layout: store.layout,
      authenticator: new Authenticator(store.users, { now: this.#now }),
      status,
      capture,
      pictures: store.pictures,
      sizes,
      videos: store.videos,
      videoJobs,
      publicImages: new PublicImages({ pictures: store.pictures, sizes, now: this.#now }),
      users,
      accessAdmin: new AccessService({ access: store.access, users: store.users, audit: store.audit, sourceIds: () => this.config.sources.map((s) => s.id), now: this.#now }),
      audit: store.audit,
      events: store.events,
      settings: this.#settings,
      health: () => this.#health(),
      metrics,
      history: (resolution, from, to) => this.#healthHistory!.history(resolution, from, to),
      log: this.#logFor('web'),
    });
    this.#web = await listen(web, { host: config.web.host, port: config.web.port, ...(config.web.tls ? { tls: config.web.tls } : {}) }).catch((err: NodeJS.ErrnoException) => {
      throw new AppError(
        'unavailable',
        err.code === 'EADDRINUSE'
          ? `web.port ${config.web.port} on ${config.web.host} is already in use by another program`
          : `cannot listen on ${config.web.host}:${config.web.port}: ${err.message}`,
      );
    });
    const control = createControlApp({ config: () => this.config, status, capture, videoJobs, sync, log: this.#logFor('control'), startedAt: this.#now() });
    this.#control = await listen(control, { socketPath: store.layout.controlSocket });
    await fs.chmod(store.layout.controlSocket, 0o660);

    // A full disk at boot pauses capture before the first slot.
    await this.#storage.check();
    this.#storage.start();
    this.#healthHistory.start();
    this.#notifier.start();
    this.#alerts.start();
    this.#scheduler!.start();
    this.#timelapse.start();
    this.#log.info(
      { web: `${config.web.tls ? 'https' : 'http'}://${this.#web.address}`, dataDir: config.storage.dataDir, sources: config.sources.map((s) => s.id) },
      'lapsebox is running',
    );
  }

  #buildCapture(handover?: ReadonlyMap<string, Handover>): void {
    const store = this.#store!;
    const config = this.config;
    this.#pipeline ??= new PicturePipeline({ appliance: () => this.config.appliance, log: this.#logFor('pipeline') });
    const stack = buildCaptureStack({
      config,
      store,
      log: this.#root,
      createCamera: this.#createCamera,
      openRelay: (relay, sourceId) => this.#openRelay(relay, this.#logFor('relay', { source: sourceId })),
      pipeline: this.#pipeline,
      outbox: this.#outbox!,
      now: this.#now,
      storage: this.#storage!,
      observe: (source, timing) => this.#metrics?.observeCapture(source, timing),
      ...(handover ? { handover } : {}),
    });
    this.#pictureStore = stack.pictureStore;
    this.#capture = stack.capture;
    this.#capture.start();
    this.#scheduler = new Scheduler({ config, capture: this.#capture, state: store.state, log: this.#logFor('schedule'), now: this.#now });
  }

  #logFor(module: LogModule, bindings: Record<string, string> = {}): Logger {
    return this.#root.child({ module, ...bindings });
  }

  /** Refuses to run twice on one data folder; removes the socket a crashed daemon left. */
  async #claimControlSocket(socketPath: string): Promise<void> {
    const answer = await controlRequest(socketPath, 'GET', '/status', 2_000).catch(() => null);
    if (answer) throw new AppError('conflict', `another lapsebox daemon is already running on ${this.config.storage.dataDir}`);
    await fs.rm(socketPath, { force: true });
  }

  async #health(): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      this.#store!.db.prepare('SELECT 1').get();
    } catch (err) {
      return { ok: false, reason: `database unavailable: ${(err as Error).message}` };
    }
    try {
      await fs.access(this.config.storage.dataDir, constants.W_OK);
    } catch {
      return { ok: false, reason: 'the data folder is not writable' };
    }
    return { ok: true };
  }

  /**
   * Re-reads the configuration file (SIGHUP). A file with errors keeps the running
   * configuration; sources and schedules change at once; web and storage need a restart.
   */
  reload(): Promise<boolean> {
    // The file is read in turn too: read before a settings edit wrote it, and applied after, it would undo the edit.
    return this.#oneChangeAtATime(async () => {
      if (this.#stopping) return false;
      let next: LoadedConfig;
      try {
        next = loadConfig(this.#loaded.file);
      } catch (err) {
        const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
        this.#log.error({ problems }, 'configuration not reloaded: the file has errors; the running configuration stays');
        this.#rejected = { at: this.#now(), file: this.#loaded.file, problems };
        this.#checkAlerts();
        return false;
      }
      await this.#swapConfig(next);
      return true;
    });
  }

  /**
   * Makes a validated configuration live (source settings edited from the UI):
   * after any reload or edit already under way.
   */
  #applyLoaded(next: LoadedConfig): Promise<void> {
    return this.#oneChangeAtATime(() => this.#swapConfig(next));
  }

  #oneChangeAtATime<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#changes.then(change);
    this.#changes = run.catch(() => undefined);
    return run;
  }

  /**
   * Sources, schedules and sync targets change at once; web and storage keep their
   * running values until a restart. No capture is dropped: the new capture service
   * takes each source over once the old one's capture in flight has ended, and the
   * new schedule starts at once (a slot already started before is not run twice).
   */
  async #swapConfig(next: LoadedConfig): Promise<void> {
    if (this.#stopping) throw new AppError('unavailable', 'the daemon is stopping; the change applies at the next start');
    const before = this.config;
    const restartNeeded = (['web', 'storage'] as const).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(next.config[k]));
    if (restartNeeded.length > 0) this.#log.warn({ keys: restartNeeded }, 'these settings change only after a restart: systemctl restart lapsebox');
    const kept = { ...next.config, web: before.web, storage: before.storage };
    this.#scheduler?.stop();
    const old = this.#capture!;
    const handover = old.release();
    this.#draining.add(old);
    void Promise.all([...handover.values()].map((h) => h.released)).then(() => this.#draining.delete(old));
    const previous = this.#loaded;
    this.#loaded = { ...next, config: kept };
    try {
      this.#buildCapture(handover);
    } catch (err) {
      // The old service is released already: go on with the previous configuration rather than with none.
      this.#log.error({ err }, 'the new configuration could not be applied; the previous one stays');
      this.#loaded = previous;
      this.#buildCapture(handover);
      this.#scheduler!.start();
      throw err;
    }
    setLogLevels(this.#root, kept.logging);
    for (const warning of next.warnings) this.#log.warn(warning);
    this.#scheduler!.start();
    const busy = [...handover].filter(([, h]) => h.inFlight !== null).map(([id]) => id);
    if (busy.length > 0) this.#log.info({ sources: busy }, 'captures in flight finish with the previous configuration');
    await this.#sync?.reconfigure();
    // A fixed alert channel sends what waited at once, not at the end of its backoff.
    this.#notifier?.wake();
    if (this.#rejected) {
      this.#rejected = null;
      this.#checkAlerts();
    }
    this.#log.info({ sources: kept.sources.map((s) => s.id) }, 'configuration reloaded');
  }

  /** Tells the alert service now rather than at its next look (a refused or mended reload). */
  #checkAlerts(): void {
    try {
      this.#alerts?.check();
    } catch (err) {
      this.#log.error({ err }, 'alert check failed');
    }
  }

  /** Stops in reverse order; a capture in flight finishes or is discarded whole. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#scheduler?.stop();
    this.#timelapse?.stop();
    this.#alerts?.stop();
    await Promise.all([
      this.#healthHistory?.stop(),
      this.#notifier?.stop(),
      this.#web?.close(),
      this.#capture?.stop(STOP_GRACE_MS),
      ...[...this.#draining].map((old) => old.stop(STOP_GRACE_MS)),
      this.#videoJobs?.stop(),
      this.#sync?.stop(),
      this.#storage?.stop(),
    ]);
    if (this.#control) {
      // Only the daemon that listens on the socket removes it; a second daemon refused at start must not.
      await this.#control.close();
      await fs.rm(this.#store!.layout.controlSocket, { force: true }).catch(() => undefined);
    }
    this.#store?.close();
    this.#log.info('lapsebox stopped');
  }
}
