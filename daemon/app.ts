/**
 * The composition root: builds every service from the configuration (through
 * compose/), starts them in dependency order and stops them in reverse
 * (lifecycle.ts), and applies configuration changes while running. Constructors
 * elsewhere only assign; all start-up work happens in `start()`.
 */
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import { setLogLevels, type Logger } from './logger';
import type { Config } from './config/schema';
import { loadConfig, type LoadedConfig, ConfigError } from './config/load';
import type { SourceSettings } from './settings/source-settings';
import { openRepositories } from './store/repositories';
import type { UsersService } from './auth/users.service';
import type { PictureStore } from './storage/picture.store';
import { configureSharp } from './pipeline/sharp';
import { AppError } from './errors';
import { messageOf } from './error-causes';
import type { ConfigRejection } from './health/conditions';
import { Services, type BuildOptions } from './compose/services';
import { Lifecycle, service, type Stage } from './lifecycle';

/**
 * How long a capture in flight may finish after SIGTERM before it is discarded. With
 * the 2.5 s an abandoned driver gets to kill its program and clean up, the daemon
 * exits well inside its 9.5 s hard limit, on a busy box too.
 */
const STOP_GRACE_MS = 5_000;

export interface AppOptions extends BuildOptions {
  log: Logger;
}

export class App {
  #loaded: LoadedConfig;
  /** The root logger: each service takes a child named after its module. */
  readonly #root: Logger;
  /** Lines about the daemon as a whole. */
  readonly #log: Logger;
  readonly #options: AppOptions;
  readonly #now: () => number;
  /** Every service, built once at start. */
  #services: Services | null = null;
  /** Starts them in order and stops them in reverse. */
  #lifecycle: Lifecycle | null = null;
  /** Configuration changes (reloads, settings edits) run one at a time, in order. */
  #changes: Promise<unknown> = Promise.resolve();
  /** The last reload refused for errors in the file, until a valid one is applied (an alert). */
  #rejected: ConfigRejection | null = null;
  #stopping = false;

  constructor(loaded: LoadedConfig, options: AppOptions) {
    this.#loaded = loaded;
    this.#root = options.log;
    this.#log = options.log.child({ module: 'daemon' });
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get config(): Config {
    return this.#loaded.config;
  }

  /** Source settings as the web UI edits them; null until started. */
  get settings(): SourceSettings | null {
    return this.#lifecycle ? this.#services!.settings : null;
  }

  /** Where the web UI listens once started, `host:port`. */
  get webAddress(): string | null {
    return this.#services?.web.address ?? null;
  }

  async start(): Promise<void> {
    const config = this.config;
    for (const warning of this.#loaded.warnings) this.#log.warn({ config: this.#loaded.file }, warning);
    configureSharp();
    await fs.mkdir(config.storage.dataDir, { recursive: true, mode: 0o750 });
    await fs.access(config.storage.dataDir, constants.W_OK).catch(() => {
      throw new AppError('unavailable', `the data folder ${config.storage.dataDir} is not writable by this user`);
    });
    if (this.#stopping) throw new AppError('unavailable', 'the daemon was stopped while starting');
    const store = openRepositories(config.storage.dataDir);
    try {
      this.#services = new Services({
        ...this.#options,
        config: () => this.config,
        store,
        daemon: { file: () => this.#loaded.file, apply: (next) => this.#applyLoaded(next), configRejected: () => this.#rejected },
      });
      this.#lifecycle = new Lifecycle(this.#startOrder(this.#services), this.#log);
    } catch (err) {
      store.close();
      throw err;
    }
    await this.#lifecycle.start();
    this.#log.info({ web: this.#services.web.url, dataDir: config.storage.dataDir, sources: config.sources.map((s) => s.id) }, 'lapsebox is running');
  }

  /**
   * The services in the order they start; they stop in reverse. Each needs those
   * before it: the database first, the control socket claimed before anything is
   * written, the schedules last, once captures can be stored and sent.
   */
  #startOrder(s: Services): Stage[] {
    return [
      // Opened before the services are built (each takes its repositories); closed last.
      service('database', () => undefined, () => s.store.close()),
      // Claimed first and given up last: no command works on the data folder while this daemon holds it.
      service('control socket', () => s.control.claim(), () => s.control.close()),
      service('maintainer', () => this.#ensureMaintainer(s.users)),
      // From here to the stop, the box counts as on in the coverage calendar.
      service('runs', () => s.runs.start(), () => s.runs.stop()),
      // Stopped together: a capture's grace (STOP_GRACE_MS), the web's open requests (3 s),
      // an encode and an upload are cut at once, not one after the other, within the 9.5 s.
      [
        service('capture', () => s.capture.start(), () => s.stopCapture(STOP_GRACE_MS)),
        service('reconcile', () => this.#reconcile(s.pictureStore)),
        service('videos', () => s.videoJobs.start(), () => s.videoJobs.stop()),
        service('sync', () => s.sync.start(), () => s.sync.stop()),
        s.web,
        // Answers from here on; closed with the socket, last.
        service('control', () => s.control.listen()),
        // A full disk at boot pauses capture before the first slot.
        service('storage', () => s.storage.check().then(() => s.storage.start()), () => s.storage.stop()),
        service('health', () => s.health.start(), () => s.health.stop()),
        service('shares', () => s.shares.start(), () => s.shares.stop()),
        service('notifier', () => s.notifier.start(), () => s.notifier.stop()),
        // After the shares (its links) and the web (the links' pages); a send in flight gets its grace with the others.
        s.progress,
        // Says "offline" on the broker while the others stop.
        service('mqtt', () => s.mqtt.start(), () => s.mqtt.stop()),
      ],
      service('alerts', () => s.alerts.start(), () => s.alerts.stop()),
      // The current schedule: a reload replaces it.
      service('schedule', () => s.scheduler.start(), () => s.scheduler.stop()),
      service('timelapse', () => s.timelapse.start(), () => s.timelapse.stop()),
    ];
  }

  async #ensureMaintainer(users: UsersService): Promise<void> {
    const created = await users.ensureMaintainer(this.config.storage.dataDir);
    if (!created) return;
    this.#log.warn(
      { user: created.username, passwordFile: created.passwordFile },
      `no maintainer existed: created user "${created.username}"; its password is in ${created.passwordFile} (readable by this user only). Log in, then change it with "lapsebox users passwd ${created.username}" and delete the file`,
    );
  }

  async #reconcile(pictureStore: PictureStore): Promise<void> {
    const report = await pictureStore.reconcile(this.config.sources.map((s) => s.id));
    this.#log.info(report, 'data folder reconciled with the database');
    if (report.ignored.length > 0) this.#log.warn({ files: report.ignored.slice(0, 20) }, 'files in picture folders that are not complete pictures were left alone');
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
        const problems = err instanceof ConfigError ? err.problems : [messageOf(err)];
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
    if (this.#stopping || !this.#services) throw new AppError('unavailable', 'the daemon is stopping; the change applies at the next start');
    const services = this.#services;
    const before = this.config;
    // The listener's settings need a restart; the address people use from outside (links) does not.
    const listener = (web: Config['web']) => JSON.stringify({ ...web, publicUrl: undefined });
    const restartNeeded = [
      ...(listener(before.web) !== listener(next.config.web) ? ['web'] : []),
      ...(JSON.stringify(before.storage) !== JSON.stringify(next.config.storage) ? ['storage'] : []),
    ];
    if (restartNeeded.length > 0) this.#log.warn({ keys: restartNeeded }, 'these settings change only after a restart: systemctl restart lapsebox');
    const kept = { ...next.config, web: { ...before.web, publicUrl: next.config.web.publicUrl }, storage: before.storage };
    const handover = services.releaseCapture();
    const previous = this.#loaded;
    this.#loaded = { ...next, config: kept };
    try {
      services.replaceCapture(handover);
    } catch (err) {
      // The old service is released already: go on with the previous configuration rather than with none.
      this.#log.error({ err }, 'the new configuration could not be applied; the previous one stays');
      this.#loaded = previous;
      services.replaceCapture(handover);
      services.scheduler.start();
      throw err;
    }
    setLogLevels(this.#root, kept.logging);
    for (const warning of next.warnings) this.#log.warn(warning);
    services.scheduler.start();
    const busy = [...handover].filter(([, h]) => h.inFlight !== null).map(([id]) => id);
    if (busy.length > 0) this.#log.info({ sources: busy }, 'captures in flight finish with the previous configuration');
    await services.sync.reconfigure();
    // A fixed alert channel sends what waited at once, not at the end of its backoff.
    services.notifier.wake();
    services.progress.reconfigure();
    services.mqtt.reconfigure();
    if (this.#rejected) {
      this.#rejected = null;
      this.#checkAlerts();
    }
    this.#log.info({ sources: kept.sources.map((s) => s.id) }, 'configuration reloaded');
  }

  /** Tells the alert service now rather than at its next look (a refused or mended reload). */
  #checkAlerts(): void {
    try {
      this.#services?.alerts.check();
    } catch (err) {
      this.#log.error({ err }, 'alert check failed');
    }
  }

  /** Stops in reverse order; a capture in flight finishes or is discarded whole. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#lifecycle?.stop();
    this.#log.info('lapsebox stopped');
  }
}
