/**
 * The status of sources and of the box, as `lapsebox status`, `/api/sources` and
 * the control socket report it. Reads only; one shape for every caller.
 */
import fs from 'node:fs/promises';
import type { Config, SourceConfig } from './config/schema';
import type { PicturesRepository } from './store/pictures.repository';
import type { SourceStateRepository } from './store/source-state.repository';
import { nextSlot } from './schedule/slots';
import { formatDuration } from './config/duration';
import { localDate } from './domain/data-folder';
import type { SyncService, TargetStatus } from './sync/sync.service';
import { packageVersion } from './package-info';
import { maskSecrets } from './secrets';
import type { StorageStatus } from './storage/retention';
import type { SystemSample } from './health/system-probe';
import { describePower, type PowerState } from './health/throttling';
import type { ActiveAlert } from './health/alerts';
import type { Translate } from './i18n/catalogs';
import type { ChannelStatus } from './health/notifier';
import type { RelayState } from './capture/capture.service';
import type { CameraView } from './capture/camera';
import type { RampView } from './capture/exposure/exposure-ramp';
import type { MqttStatus } from './domain/mqtt';
import type { ProgressStatus } from './progress/progress.service';
import { publicSwitchJson, type PublicSwitch, type PublicSwitchJson } from './settings/public-switch';

export interface SourceStatus {
  id: string;
  name: string;
  enabled: boolean;
  driver: string;
  public: boolean;
  every: string;
  lastCapture: { at: string; pictureId: number | null } | null;
  nextSlot: string | null;
  busy: boolean;
  consecutiveFailures: number;
  lastError: { at: string; message: string } | null;
  /** Set when the recovery ladder gave up; the camera is still tried at every slot. */
  down: { since: string } | null;
  powerCycles: { today: number; maxPerDay: number; last: string | null } | null;
  counts: { pictures: number; captures: number; failures: number; skipped: number };
  /** A gphoto2 camera as the running daemon's driver knows it (session or program, model, serial, battery, exposure); null otherwise. */
  camera: CameraView | null;
  /** The source's exposure ramp (camera.exposure.mode: ramp): its target, the last frame's settings and light; null otherwise. */
  exposure: RampView | null;
}

export interface DiskStatus {
  path: string;
  totalBytes: number;
  freeBytes: number;
  freePercent: number;
}

/** The box as a whole: `GET /api/system`, `lapsebox status`. */
export interface SystemStatus {
  appliance: { id: string; name: string; timezone: string };
  versions: { lapsebox: string; node: string };
  disk: DiskStatus;
  /** Retention and the storage guard; null without a running daemon. */
  storage: StorageStatus | null;
  /** The last health sample (temperature, load, memory, power, clock); null without a running daemon or before the first sample. */
  health: HealthView | null;
  /** Alerts raised now, most serious first. */
  alerts: ActiveAlert[];
  /** The alert channels' queues; null without a running daemon. */
  notifications: { webhook: ChannelStatus | null; email: ChannelStatus | null } | null;
  sync: { targets: TargetStatus[] };
  /** The power relays of enabled sources as the daemon holds them now; null without a running daemon. */
  relays: RelayStatus[] | null;
  /** The link to the fleet's MQTT broker; null without an mqtt section or a running daemon. */
  mqtt: MqttStatus | null;
  /** The box-wide public switch (`lapsebox public`): off, every public route answers 404. */
  public: PublicSwitchJson;
  /** Progress e-mails of the sources that have them: next, last sent, waiting, given up; null without a running daemon. */
  progress: ProgressStatus[] | null;
}

/** A source's power relay: `unavailable` says why it cannot be opened and the fix (no power cycle meanwhile). */
export interface RelayStatus {
  sourceId: string;
  gpio: number;
  state: RelayState['state'];
  unavailable: { line: number; reason: string; fix: string; since: string; message: string } | null;
}

function relayStatus(r: RelayState): RelayStatus {
  const f = r.fault;
  return {
    sourceId: r.sourceId,
    gpio: r.gpio,
    state: r.state,
    unavailable: f && { line: f.line, reason: f.reason, fix: f.fix, since: new Date(f.since).toISOString(), message: `GPIO ${r.gpio} (sysfs line ${f.line}) cannot be opened: ${f.reason}; ${f.fix}` },
  };
}

/** A health sample as people read it: the Pi's power flags also in words. */
export type HealthView = Omit<SystemSample, 'power'> & { power: (PowerState & { sentences: string[] }) | null };

function healthView(sample: SystemSample | null, t?: Translate): HealthView | null {
  if (!sample) return null;
  return { ...sample, power: sample.power ? { ...sample.power, sentences: describePower(sample.power, t) } : null };
}

/** What the running daemon knows beyond the database: its planned slots and busy cameras. */
export interface LiveView {
  nextSlot(sourceId: string): Date | null;
  isBusy(sourceId: string): boolean;
  /** What the source's driver knows of its camera now (gphoto2 only). */
  camera?(sourceId: string): CameraView | null;
  /** What the source's exposure ramp is doing, when it has one. */
  exposure?(sourceId: string): RampView | null;
}

export class StatusService {
  readonly #config: () => Config;
  readonly #pictures: PicturesRepository;
  readonly #state: SourceStateRepository;
  readonly #live: LiveView | null;
  readonly #sync: Pick<SyncService, 'status'> | null;
  readonly #storage: (() => StorageStatus) | null;
  readonly #health: () => SystemSample | null;
  readonly #alerts: (t?: Translate) => ActiveAlert[];
  readonly #notifications: () => SystemStatus['notifications'];
  readonly #relays: (() => RelayState[]) | null;
  readonly #mqtt: () => MqttStatus | null;
  readonly #publicSwitch: Pick<PublicSwitch, 'state'> | null;
  readonly #progress: (t?: Translate) => ProgressStatus[] | null;
  readonly #now: () => number;

  constructor(deps: {
    config: () => Config;
    pictures: PicturesRepository;
    state: SourceStateRepository;
    live: LiveView | null;
    sync?: Pick<SyncService, 'status'>;
    storage?: () => StorageStatus;
    health?: () => SystemSample | null;
    /** The alerts raised now, their messages in `t`'s language when given (else English). */
    alerts?: (t?: Translate) => ActiveAlert[];
    notifications?: () => SystemStatus['notifications'];
    /** The running capture service's relays. */
    relays?: () => RelayState[];
    mqtt?: () => MqttStatus | null;
    /** The box-wide public switch; without it the status says on, never switched. */
    publicSwitch?: Pick<PublicSwitch, 'state'>;
    progress?: (t?: Translate) => ProgressStatus[] | null;
    now?: () => number;
  }) {
    this.#config = deps.config;
    this.#pictures = deps.pictures;
    this.#state = deps.state;
    this.#live = deps.live;
    this.#sync = deps.sync ?? null;
    this.#storage = deps.storage ?? null;
    this.#health = deps.health ?? (() => null);
    this.#alerts = deps.alerts ?? (() => []);
    this.#notifications = deps.notifications ?? (() => null);
    this.#relays = deps.relays ?? null;
    this.#mqtt = deps.mqtt ?? (() => null);
    this.#publicSwitch = deps.publicSwitch ?? null;
    this.#progress = deps.progress ?? (() => null);
    this.#now = deps.now ?? Date.now;
  }

  source(source: SourceConfig): SourceStatus {
    const state = this.#state.get(source.id);
    const config = this.#config();
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    // Without a running daemon (CLI on a stopped box) the next slot is what the schedule says.
    const next = !source.enabled
      ? null
      : this.#live
        ? this.#live.nextSlot(source.id)
        : nextSlot(new Date(this.#now()), { everyMs: source.schedule.every, windows: source.schedule.windows }, {
            timezone: config.appliance.timezone,
            ...(config.appliance.location ? { location: config.appliance.location } : {}),
          });
    // Errors quote what the camera or the network said: URLs in them keep their secrets hidden.
    return maskSecrets({
      id: source.id,
      name: source.name ?? source.id,
      enabled: source.enabled,
      driver: source.camera.driver,
      public: source.public.enabled,
      every: formatDuration(source.schedule.every),
      lastCapture: state.lastCaptureAt === null ? null : { at: iso(state.lastCaptureAt)!, pictureId: state.lastPictureId },
      nextSlot: next ? next.toISOString() : null,
      busy: this.#live?.isBusy(source.id) ?? false,
      consecutiveFailures: state.consecutiveFailures,
      lastError: state.lastError === null ? null : { at: iso(state.lastErrorAt)!, message: state.lastError },
      down: state.downSince === null ? null : { since: iso(state.downSince)! },
      powerCycles: source.recovery.powerCycle
        ? {
            today: this.#state.powerCyclesOn(source.id, localDate(this.#now(), config.appliance.timezone)),
            maxPerDay: source.recovery.powerCycle.maxPerDay,
            last: iso(state.lastPowerCycleAt),
          }
        : null,
      counts: { pictures: this.#pictures.count(source.id), captures: state.captures, failures: state.failures, skipped: state.skipped },
      camera: source.enabled ? (this.#live?.camera?.(source.id) ?? null) : null,
      exposure: source.enabled ? (this.#live?.exposure?.(source.id) ?? null) : null,
    });
  }

  sources(): SourceStatus[] {
    return this.#config().sources.map((s) => this.source(s));
  }

  /** The box as a whole; its sentences for people in `t`'s language when given (the System page's reader), else English. */
  async system(t?: Translate): Promise<SystemStatus> {
    const config = this.#config();
    return maskSecrets({
      appliance: { id: config.appliance.id, name: config.appliance.name ?? config.appliance.id, timezone: config.appliance.timezone },
      versions: { lapsebox: packageVersion(), node: process.versions.node },
      disk: await this.disk(),
      storage: this.#storage?.() ?? null,
      health: healthView(this.#health(), t),
      alerts: this.#alerts(t),
      notifications: this.#notifications(),
      sync: { targets: this.#sync?.status() ?? [] },
      relays: this.#relays ? this.#relays().map(relayStatus) : null,
      mqtt: this.#mqtt(),
      public: this.publicSwitch(),
      progress: this.#progress(t),
    });
  }

  /** The box-wide public switch, from the database (the same with or without a running daemon). */
  publicSwitch(): PublicSwitchJson {
    return publicSwitchJson(this.#publicSwitch?.state() ?? { enabled: true, changedAt: null, changedBy: null });
  }

  async disk(): Promise<DiskStatus> {
    const dir = this.#config().storage.dataDir;
    const s = await fs.statfs(dir);
    const total = s.blocks * s.bsize;
    const free = s.bavail * s.bsize;
    return { path: dir, totalBytes: total, freeBytes: free, freePercent: total > 0 ? Math.round((free / total) * 1000) / 10 : 0 };
  }
}
