/**
 * The composition root's builder: every service of a box, built from the
 * configuration and the options, one way. The daemon (../app.ts) builds the whole set
 * and starts it in order; a command on a stopped box (cli/daemon-or-here.ts) builds
 * the few services it needs through the same class, so both are wired alike.
 * Constructors elsewhere only assign; nothing here starts anything.
 */
import { Catalogs } from '../i18n/catalogs';
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import type { RequestListener } from 'node:http';
import type { Logger } from '../logger';
import type { Config, LogModule } from '../config/schema';
import type { LoadedConfig } from '../config/load';
import type { Repositories } from '../store/repositories';
import { SourceSettings } from '../settings/source-settings';
import { PublicSwitch } from '../settings/public-switch';
import type { ShareService } from '../shares/share.service';
import type { PictureStore } from '../storage/picture.store';
import type { PictureSizes } from '../storage/picture-sizes';
import { PublicImages } from '../storage/public-image';
import { StorageGuard, type DiskProbe } from '../storage/retention';
import type { PicturePipeline } from '../pipeline/picture.pipeline';
import type { CaptureService, Handover } from '../capture/capture.service';
import { createCamera, type CameraFactory } from '../capture/drivers';
import { openRelay, type Relay, type RelayConfig } from '../hardware/relay';
import { Scheduler } from '../schedule/scheduler';
import { StatusService } from '../status.service';
import { UsersService } from '../auth/users.service';
import { Authenticator } from '../auth/authenticator';
import { AccessService } from '../auth/access.service';
import type { FfmpegRunnerOptions } from '../timelapse/ffmpeg.runner';
import type { VideoJobs } from '../timelapse/video-jobs.service';
import { TimelapseScheduler } from '../timelapse/timelapse.scheduler';
import { Outbox } from '../sync/outbox';
import { SyncService, type SyncPolicies } from '../sync/sync.service';
import { createSystemProbe, type SystemProbe } from '../health/system-probe';
import { HealthHistory } from '../health/health-history';
import { Notifier } from '../health/notifier';
import { AlertService } from '../health/alerts';
import type { ConfigRejection } from '../health/conditions';
import { Metrics } from '../health/metrics';
import { MqttService } from '../mqtt/mqtt.service';
import { ProgressService } from '../progress/progress.service';
import { localDate } from '../domain/data-folder';
import { AppError } from '../errors';
import { messageOf } from '../error-causes';
import type { Service } from '../lifecycle';
import { createWebApp } from '../../web/app';
import { listen, type Listener } from '../../web/server';
import { createControlApp } from '../control/server';
import { ControlSocket } from '../control/socket';
import { buildCaptureStack, buildCoverage, buildPictureStore, buildPipeline, buildShares, buildSizes, buildVideoStack } from './stacks';
import { DaemonRuns } from '../health/daemon-runs';
import type { CoverageCalculator } from '../schedule/coverage';

/** What tests and the box's hardware change; each has a default for the real box. */
export interface BuildOptions {
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

/** What only the running daemon has: its configuration file, the way a change is made live, a refused reload. */
export interface DaemonHooks {
  file: () => string;
  /** Makes a validated configuration live (after any change already under way). */
  apply: (next: LoadedConfig) => Promise<void>;
  /** The last reload refused for errors in the file (an alert), or null. */
  configRejected: () => ConfigRejection | null;
}

export interface ServicesDeps extends BuildOptions {
  /** The configuration in force; the daemon's changes with a reload. */
  config: () => Config;
  /** The data folder's database, open; whoever opened it closes it. */
  store: Repositories;
  /** The root logger: each service takes a child named after its module. */
  log: Logger;
  /**
   * Set for the daemon. Without it the services are those of a command on a stopped
   * box: the status says what the database and the schedule say, captures are not
   * held back by the storage guard, and nothing is measured for /metrics.
   */
  daemon?: DaemonHooks;
}

/**
 * Every service of a box, each built on first use and then kept. The capture
 * service, its picture store and its schedule are the exception: a change of
 * configuration replaces them (`releaseCapture`, `replaceCapture`).
 */
export class Services {
  readonly #deps: ServicesDeps;
  readonly #config: () => Config;
  readonly #now: () => number;
  /** Capture services replaced by a change whose captures in flight have not ended yet. */
  readonly #draining = new Set<CaptureService>();
  #outbox: Outbox | null = null;
  #metrics: Metrics | null = null;
  #storage: StorageGuard | null = null;
  #pipeline: PicturePipeline | null = null;
  #pictureStore: PictureStore | null = null;
  #capture: CaptureService | null = null;
  #scheduler: Scheduler | null = null;
  #sizes: PictureSizes | null = null;
  #users: UsersService | null = null;
  #videoJobs: VideoJobs | null = null;
  #timelapse: TimelapseScheduler | null = null;
  #sync: SyncService | null = null;
  #health: HealthHistory | null = null;
  #notifier: Notifier | null = null;
  #alerts: AlertService | null = null;
  #status: StatusService | null = null;
  #settings: SourceSettings | null = null;
  #web: WebServer | null = null;
  #control: ControlSocket | null = null;
  #catalogs: Catalogs | null = null;
  #mqtt: MqttService | null = null;
  #publicSwitch: PublicSwitch | null = null;
  #shares: ShareService | null = null;
  #accessService: AccessService | null = null;
  #progress: ProgressService | null = null;
  #runs: DaemonRuns | null = null;
  #coverage: CoverageCalculator | null = null;

  constructor(deps: ServicesDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    this.#now = deps.now ?? Date.now;
  }

  get store(): Repositories {
    return this.#deps.store;
  }

  /** One outbox for pictures and videos; new rows wake the sync workers of their targets. */
  get outbox(): Outbox {
    return (this.#outbox ??= new Outbox({ config: this.#config, repo: this.store.outbox, now: this.#now, notify: (ids) => this.#sync?.wake(ids) }));
  }

  get metrics(): Metrics {
    const store = this.store;
    return (this.#metrics ??= new Metrics({
      config: this.#config,
      state: store.state,
      backlog: (id) => store.outbox.backlog(id),
      health: () => this.#health?.latest() ?? null,
      storage: () => (this.#storage ? { capturePaused: this.#storage.status().paused !== null } : null),
      alerts: () => this.#alerts?.active() ?? [],
      now: this.#now,
    }));
  }

  get storage(): StorageGuard {
    const o = this.#deps;
    return (this.#storage ??= new StorageGuard({
      config: this.#config,
      store: this.store,
      log: this.#logFor('storage'),
      now: this.#now,
      onPurged: (source, pictures, bytes) => this.#metrics?.purged(source, pictures, bytes),
      ...(o.diskProbe ? { disk: o.diskProbe } : {}),
      ...(o.storageCheckMs ? { checkEveryMs: o.storageCheckMs } : {}),
    }));
  }

  /** One pipeline, kept across reloads (its watermark cache and its one-at-a-time limit). */
  get pipeline(): PicturePipeline {
    return (this.#pipeline ??= buildPipeline(() => this.#config().appliance, this.#deps.log));
  }

  /** The picture store of the configuration in force. */
  get pictureStore(): PictureStore {
    return (this.#pictureStore ??= buildPictureStore({ config: this.#config(), store: this.store, log: this.#deps.log, pipeline: this.pipeline, outbox: this.outbox }));
  }

  /** The capture service of the configuration in force. */
  get capture(): CaptureService {
    return (this.#capture ??= this.#buildCapture(this.#config()));
  }

  /** The schedule of the configuration in force, driving `capture`. */
  get scheduler(): Scheduler {
    return (this.#scheduler ??= new Scheduler({ config: this.#config(), capture: this.capture, state: this.store.state, coverage: this.store.coverage, log: this.#logFor('schedule'), now: this.#now }));
  }

  /**
   * Lets the capture service and its schedule go for a change of configuration: no
   * slot starts, and each capture in flight ends as it would have. Returns what the
   * next capture service takes over.
   */
  releaseCapture(): ReadonlyMap<string, Handover> {
    this.#scheduler?.stop();
    const old = this.capture;
    const handover = old.release();
    this.#draining.add(old);
    void Promise.all([...handover.values()].map((h) => h.released)).then(() => this.#draining.delete(old));
    return handover;
  }

  /**
   * Builds the picture store, capture service and schedule of the configuration in
   * force, taking each source over from the released service; starts the capture
   * service (its relays) but not the schedule. Changes nothing when building fails.
   */
  replaceCapture(handover: ReadonlyMap<string, Handover>): void {
    const config = this.#config();
    const pictureStore = buildPictureStore({ config, store: this.store, log: this.#deps.log, pipeline: this.pipeline, outbox: this.outbox });
    const capture = this.#buildCapture(config, handover, pictureStore);
    const scheduler = new Scheduler({ config, capture, state: this.store.state, coverage: this.store.coverage, log: this.#logFor('schedule'), now: this.#now });
    this.#pictureStore = pictureStore;
    this.#capture = capture;
    this.#scheduler = scheduler;
    capture.start();
  }

  /** Stops the capture service and those a change replaced whose captures are still in flight. */
  async stopCapture(graceMs: number): Promise<void> {
    await Promise.all([this.#capture?.stop(graceMs), ...[...this.#draining].map((old) => old.stop(graceMs))]);
  }

  get sizes(): PictureSizes {
    return (this.#sizes ??= buildSizes({ store: this.store, pictureStore: this.pictureStore, pipeline: this.pipeline, log: this.#deps.log }));
  }

  get users(): UsersService {
    return (this.#users ??= new UsersService(this.store.users, this.store.audit, this.#now));
  }

  get videoJobs(): VideoJobs {
    return (this.#videoJobs ??= buildVideoStack({
      config: this.#config,
      store: this.store,
      sizes: this.sizes,
      log: this.#deps.log,
      ffmpeg: this.#deps.ffmpeg,
      now: this.#now,
      outbox: this.outbox,
      onEncoded: (source, kind, ms) => this.#metrics?.observeEncode(source, kind, ms),
    }).jobs);
  }

  get timelapse(): TimelapseScheduler {
    return (this.#timelapse ??= new TimelapseScheduler({ config: this.#config, jobs: this.videoJobs, log: this.#logFor('timelapse'), now: this.#now }));
  }

  get sync(): SyncService {
    const policies = this.#deps.syncPolicies;
    return (this.#sync ??= new SyncService({
      config: this.#config,
      store: this.store,
      outbox: this.outbox,
      log: this.#logFor('sync'),
      now: this.#now,
      // The current capture service's (it is replaced on reload); an upload waits at most 2 s for them.
      capturesFirst: () => this.#capture?.quiet(CAPTURES_FIRST_MAX_MS) ?? Promise.resolve(),
      ...(policies ? { policies } : {}),
    }));
  }

  get health(): HealthHistory {
    const o = this.#deps;
    return (this.#health ??= new HealthHistory({
      probe: o.systemProbe ?? createSystemProbe({ dataDir: this.#config().storage.dataDir, now: this.#now }),
      repo: this.store.health,
      timezone: () => this.#config().appliance.timezone,
      log: this.#logFor('health'),
      now: this.#now,
      ...(o.healthSampleMs ? { intervalMs: o.healthSampleMs } : {}),
    }));
  }

  get notifier(): Notifier {
    return (this.#notifier ??= new Notifier({ config: this.#config, repo: this.store.notifications, log: this.#logFor('alerts'), now: this.#now, catalogs: this.catalogs }));
  }

  get alerts(): AlertService {
    const lateAfter = this.#config().alerts.lateAfter;
    return (this.#alerts ??= new AlertService({
      config: this.#config,
      store: this.store,
      // The fleet's broker hears alerts as the webhook does (it is no channel: nothing waits for it in the database).
      notifier: {
        enqueue: (message) => {
          this.#mqtt?.event(message);
          return this.notifier.enqueue(message);
        },
      },
      health: () => this.#health?.latest() ?? null,
      storage: () => this.#storage?.status() ?? null,
      sync: () => this.#sync?.status() ?? [],
      configRejected: () => this.#deps.daemon?.configRejected() ?? null,
      relays: () => this.#capture?.relays() ?? [],
      log: this.#logFor('alerts'),
      // Messages are written in config().appliance.locale, read when each is made.
      catalogs: this.catalogs,
      now: this.#now,
      // A quarter of the grace for late pictures, so "late" is told within a quarter of it.
      checkEveryMs: this.#deps.alertCheckMs ?? Math.min(30_000, Math.max(1_000, lateAfter / 4)),
    }));
  }

  /** When this daemon runs: a slot outside every run was missed with the box off. */
  get runs(): DaemonRuns {
    return (this.#runs ??= new DaemonRuns({ repo: this.store.coverage, log: this.#logFor('schedule'), now: this.#now }));
  }

  /** Each day's pictures against the slots planned, and why slots got none. */
  get coverage(): CoverageCalculator {
    return (this.#coverage ??= buildCoverage(this.store, () => this.#runs?.startedAt ?? null));
  }

  /** The daemon's status reads its live parts; a stopped box's reads the database and the schedule. */
  get status(): StatusService {
    const store = this.store;
    const base = { config: this.#config, pictures: store.pictures, state: store.state, publicSwitch: this.publicSwitch, now: this.#now };
    return (this.#status ??= !this.#deps.daemon
      ? new StatusService({ ...base, live: null })
      : new StatusService({
          ...base,
          live: { nextSlot: (id) => this.#scheduler?.nextSlot(id) ?? null, isBusy: (id) => this.#capture?.isBusy(id) ?? false, camera: (id) => this.#capture?.cameraView(id) ?? null, exposure: (id) => this.#capture?.exposureView(id) ?? null },
          sync: { status: () => this.#sync?.status() ?? [] },
          storage: () => this.storage.status(),
          health: () => this.#health?.latest() ?? null,
          alerts: (t) => this.#alerts?.active(t) ?? [],
          notifications: () => this.#notifier?.status() ?? null,
          relays: () => this.#capture?.relays() ?? [],
          mqtt: () => this.#mqtt?.status() ?? null,
          progress: (t) => this.#progress?.status(t) ?? null,
        }));
  }

  /** The box on its fleet's MQTT broker; does nothing without an mqtt section. */
  get mqtt(): MqttService {
    const store = this.store;
    const settings = this.settings;
    return (this.#mqtt ??= new MqttService({
      config: this.#config,
      status: this.status,
      picturesToday: (id) => store.pictures.countOn(id, localDate(this.#now(), this.#config().appliance.timezone)),
      alerts: () => this.#alerts?.active() ?? [],
      retained: store.mqttRetained,
      audit: store.audit,
      actions: settings && {
        capture: (id) => this.capture.capture(id, 'manual'),
        setEnabled: async (id, enabled, who) => {
          await settings.patch(id, { enabled }, { ...who, profile: 'director' });
        },
      },
      log: this.#logFor('mqtt'),
      now: this.#now,
    }));
  }

  /** The box-wide public switch, read from the database on every public request (a stopped box's CLI writes it there too). */
  get publicSwitch(): PublicSwitch {
    return (this.#publicSwitch ??= new PublicSwitch({ repo: this.store.publicSwitch, audit: this.store.audit, log: this.#logFor('web'), now: this.#now }));
  }

  /** Groups and grants, and each user's levels on the sources. */
  #access(): AccessService {
    const store = this.store;
    return (this.#accessService ??= new AccessService({ access: store.access, users: store.users, audit: store.audit, sourceIds: () => this.#config().sources.map((s) => s.id), now: this.#now }));
  }

  /** Share links: made and opened over the web, their expiry noted as it happens. */
  get shares(): ShareService {
    return (this.#shares ??= buildShares({ config: this.#config, store: this.store, grantsFor: (user) => this.#access().grantsFor(user), now: this.#now }));
  }

  /** Progress e-mails: on their rhythm, through the SMTP server of alerts.email, each with a share link. */
  get progress(): ProgressService {
    const store = this.store;
    return (this.#progress ??= new ProgressService({
      config: this.#config,
      repo: store.progress,
      pictures: store.pictures,
      videos: store.videos,
      // Each member with the language they chose (users' `language`): their e-mail is in it.
      groupMembers: (name) => store.access.memberAddresses(name)?.map((m) => ({ ...m, language: store.users.findByName(m.username)?.language ?? null })) ?? null,
      catalogs: this.catalogs,
      shares: this.shares,
      sizes: this.sizes,
      audit: store.audit,
      log: this.#logFor('progress'),
      now: this.#now,
    }));
  }

  /** The UI's editor of the config file; null on a stopped box (nothing to make live). */
  get settings(): SourceSettings | null {
    const daemon = this.#deps.daemon;
    if (!daemon) return null;
    return (this.#settings ??= new SourceSettings({ file: daemon.file, apply: daemon.apply, audit: this.store.audit, now: this.#now }));
  }

  /** The web UI and API on `web.host`:`web.port`. */
  get web(): WebServer {
    return (this.#web ??= new WebServer(this.#webApp(), this.#config().web));
  }

  /** The control socket the CLI reaches the running daemon through. */
  get control(): ControlSocket {
    return (this.#control ??= new ControlSocket({
      socketPath: this.store.layout.controlSocket,
      dataDir: this.#config().storage.dataDir,
      handler: createControlApp({ config: this.#config, status: this.status, capture: this.#currentCapture(), videoJobs: this.videoJobs, sync: this.sync, publicSwitch: this.publicSwitch, log: this.#logFor('control'), startedAt: this.#now() }),
    }));
  }

  /** The message catalogs (i18n/), read once: the UI's page, public pages, e-mails. */
  get catalogs(): Catalogs {
    return (this.#catalogs ??= new Catalogs());
  }

  #webApp(): RequestListener {
    const store = this.store;
    const settings = this.settings;
    return createWebApp({
      config: this.#config,
      layout: store.layout,
      authenticator: new Authenticator(store.users, { now: this.#now }),
      catalogs: this.catalogs,
      status: this.status,
      capture: this.#currentCapture(),
      pictures: store.pictures,
      sizes: this.sizes,
      videos: store.videos,
      videoJobs: this.videoJobs,
      publicImages: new PublicImages({ pictures: store.pictures, sizes: this.sizes, now: this.#now }),
      publicSwitch: this.publicSwitch,
      users: this.users,
      accessAdmin: this.#access(),
      shares: this.shares,
      audit: store.audit,
      events: store.events,
      coverage: this.coverage,
      ...(settings ? { settings } : {}),
      progress: this.progress,
      health: () => this.#healthz(),
      metrics: this.metrics,
      history: (resolution, from, to) => this.health.history(resolution, from, to),
      log: this.#logFor('web'),
    });
  }

  /**
   * The capture service is replaced on reload; routes reach whichever is current (it
   * waits, source by source, for the one it replaced to let the camera go).
   */
  #currentCapture(): Pick<CaptureService, 'capture' | 'isBusy' | 'readCameras' | 'testShot'> {
    return {
      capture: (...args) => this.capture.capture(...args),
      isBusy: (id) => this.capture.isBusy(id),
      readCameras: (signal) => this.capture.readCameras(signal),
      testShot: (id, proposed) => this.capture.testShot(id, proposed),
    };
  }

  #buildCapture(config: Config, handover?: ReadonlyMap<string, Handover>, pictureStore = this.pictureStore): CaptureService {
    return buildCaptureStack({
      config,
      store: this.store,
      log: this.#deps.log,
      createCamera: this.#deps.createCamera ?? createCamera,
      openRelay: (relay, sourceId) => (this.#deps.openRelay ?? defaultRelay)(relay, this.#logFor('relay', { source: sourceId })),
      pipeline: this.pipeline,
      pictureStore,
      now: this.#now,
      ...(this.#deps.daemon ? { storage: this.storage, observe: (source, timing) => this.#metrics?.observeCapture(source, timing) } : {}),
      ...(handover ? { handover } : {}),
    }).capture;
  }

  /** GET /healthz: the database answers and the data folder is writable. */
  async #healthz(): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      this.store.db.prepare('SELECT 1').get();
    } catch (err) {
      return { ok: false, reason: `database unavailable: ${messageOf(err)}` };
    }
    try {
      await fs.access(this.#config().storage.dataDir, constants.W_OK);
    } catch {
      return { ok: false, reason: 'the data folder is not writable' };
    }
    return { ok: true };
  }

  #logFor(module: LogModule, bindings: Record<string, string> = {}): Logger {
    return this.#deps.log.child({ module, ...bindings });
  }
}

const defaultRelay = (config: RelayConfig, log: Logger): Relay => openRelay(config, { log });

/**
 * How long an upload waits for the captures running when it is due: enough for a picture
 * to go through the pipeline, short enough that a hung camera (up to camera.timeout) does
 * not stall the sync. Measured reason: the soak's 1,900-file backlog sent after an outage
 * made a 1 s slot miss on a 2-core box.
 */
const CAPTURES_FIRST_MAX_MS = 2000;

/** The web UI's listener: listens at start, closes at stop (requests still running after 3 s are cut). */
export class WebServer implements Service {
  readonly name = 'web';
  readonly #handler: RequestListener;
  readonly #web: Config['web'];
  #listener: Listener | null = null;

  constructor(handler: RequestListener, web: Config['web']) {
    this.#handler = handler;
    this.#web = web;
  }

  /** `host:port` once listening. */
  get address(): string | null {
    return this.#listener?.address ?? null;
  }

  /** The address as people type it. */
  get url(): string {
    return `${this.#web.tls ? 'https' : 'http'}://${this.address}`;
  }

  async start(): Promise<void> {
    const { host, port, tls } = this.#web;
    this.#listener = await listen(this.#handler, { host, port, ...(tls ? { tls } : {}) }).catch((err: NodeJS.ErrnoException) => {
      throw new AppError(
        'unavailable',
        err.code === 'EADDRINUSE' ? `web.port ${port} on ${host} is already in use by another program` : `cannot listen on ${host}:${port}: ${err.message}`,
      );
    });
  }

  async stop(): Promise<void> {
    await this.#listener?.close();
  }
}
