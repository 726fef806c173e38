/**
 * The JSON the box publishes (SPEC §8): its state, each source's state and its events.
 * Pure: built from what `lapsebox status` and the API report, so the broker says what
 * the box says everywhere else. `lapsebox fleet` reads the same shapes back.
 */
import type { SourceStatus, SystemStatus } from '../status.service';
import type { ActiveAlert } from '../health/alerts';

/** How a camera is doing, in one word (Home Assistant's enum sensor lists these). */
export const CAMERA_STATES = ['ok', 'failing', 'down', 'disabled'] as const;
export type CameraState = (typeof CAMERA_STATES)[number];

/** At most this many open alerts are listed in the state (the counts cover them all). */
const ALERTS_LISTED = 20;

/** `<prefix>/<box>/state`, retained. */
export interface BoxState {
  box: string;
  name: string;
  version: string;
  /** When this state was made. */
  at: string;
  /** Since when the box has been connected to the broker this time. */
  onlineSince: string | null;
  /** Of the daemon. */
  uptimeSeconds: number;
  /** How often the state is published again when nothing changed: a reader may call a state older than about twice this stale. */
  intervalSeconds: number;
  /** The box's UI (`web.publicUrl`), or null. */
  url: string | null;
  disk: { freeBytes: number; totalBytes: number; freePercent: number };
  temperatureC: number | null;
  /** The Pi firmware's flags now and since boot; null off a Pi. */
  power: { underVoltage: boolean; frequencyCapped: boolean; throttled: boolean; softTempLimit: boolean; occurredSinceBoot: boolean } | null;
  /** Whether the clock is set by NTP; null when the system does not say. */
  clockSynchronized: boolean | null;
  /** True while capture is paused because the disk is full. */
  capturePaused: boolean;
  /** True while any alert is open (Home Assistant's problem sensor). */
  problem: boolean;
  alerts: {
    open: number;
    errors: number;
    warnings: number;
    list: { kind: string; severity: 'warning' | 'error'; source: string | null; target: string | null; message: string; since: string }[];
  };
  /** What waits to be sent, over every target and per target. */
  sync: {
    files: number;
    bytes: number;
    oldest: string | null;
    targets: { id: string; type: string; files: number; bytes: number; oldest: string | null; failing: boolean; lastError: string | null }[];
  };
  sources: string[];
}

/** `<prefix>/<box>/<source>/state`, retained. */
export interface SourceState {
  source: string;
  name: string;
  at: string;
  enabled: boolean;
  camera: CameraState;
  lastCapture: string | null;
  /** Changes with each picture, so that a reader of `publicUrl` sees a new address for a new picture. */
  lastPictureId: number | null;
  nextSlot: string | null;
  every: string;
  failuresInRow: number;
  /** Pictures taken today (the appliance's time zone). */
  picturesToday: number;
  /** True while the box's "picture late" alert is open for this source. */
  late: boolean;
  lastError: { at: string; message: string } | null;
  /** The public picture, when the source is public and `web.publicUrl` is set. */
  publicUrl: string | null;
}

export interface BoxStateInput {
  system: SystemStatus;
  now: number;
  onlineSince: number | null;
  startedAt: number;
  intervalMs: number;
  publicUrl: string | null;
  sources: string[];
}

export function boxState(input: BoxStateInput): BoxState {
  const { system } = input;
  const health = system.health;
  const alerts = system.alerts;
  const targets = system.sync.targets.map((t) => ({
    id: t.id,
    type: t.type,
    files: t.backlog.pending,
    bytes: t.backlog.bytes,
    oldest: t.backlog.oldestAt === null ? null : new Date(t.backlog.oldestAt).toISOString(),
    failing: t.failingSince !== null,
    lastError: t.failingSince !== null ? (t.lastError?.message ?? null) : null,
  }));
  const oldest = targets.map((t) => t.oldest).filter((o): o is string => o !== null).sort()[0] ?? null;
  const power = health?.power ?? null;
  return {
    box: system.appliance.id,
    name: system.appliance.name,
    version: system.versions.lapsebox,
    at: new Date(input.now).toISOString(),
    onlineSince: input.onlineSince === null ? null : new Date(input.onlineSince).toISOString(),
    uptimeSeconds: Math.max(0, Math.round((input.now - input.startedAt) / 1000)),
    intervalSeconds: Math.round(input.intervalMs / 1000),
    url: input.publicUrl,
    disk: { freeBytes: system.disk.freeBytes, totalBytes: system.disk.totalBytes, freePercent: system.disk.freePercent },
    temperatureC: health?.cpuTempC ?? null,
    power: power && {
      underVoltage: power.underVoltage,
      frequencyCapped: power.frequencyCapped,
      throttled: power.throttled,
      softTempLimit: power.softTempLimit,
      occurredSinceBoot: power.underVoltageOccurred || power.frequencyCappedOccurred || power.throttledOccurred || power.softTempLimitOccurred,
    },
    clockSynchronized: health?.clock.synchronized ?? null,
    capturePaused: system.storage?.paused != null,
    problem: alerts.length > 0,
    alerts: {
      open: alerts.length,
      errors: alerts.filter((a) => a.severity === 'error').length,
      warnings: alerts.filter((a) => a.severity === 'warning').length,
      list: alerts.slice(0, ALERTS_LISTED).map((a) => ({ kind: a.kind, severity: a.severity, source: a.sourceId, target: a.targetId, message: a.message, since: a.since })),
    },
    sync: { files: sum(targets.map((t) => t.files)), bytes: sum(targets.map((t) => t.bytes)), oldest, targets },
    sources: input.sources,
  };
}

export interface SourceStateInput {
  status: SourceStatus;
  picturesToday: number;
  alerts: readonly ActiveAlert[];
  /** `web.publicUrl`, without a trailing "/". */
  publicUrl: string | null;
  now: number;
}

export function sourceState(input: SourceStateInput): SourceState {
  const s = input.status;
  const camera: CameraState = !s.enabled ? 'disabled' : s.down ? 'down' : s.consecutiveFailures > 0 ? 'failing' : 'ok';
  const pictureId = s.lastCapture?.pictureId ?? null;
  return {
    source: s.id,
    name: s.name,
    at: new Date(input.now).toISOString(),
    enabled: s.enabled,
    camera,
    lastCapture: s.lastCapture?.at ?? null,
    lastPictureId: pictureId,
    nextSlot: s.nextSlot,
    every: s.every,
    failuresInRow: s.consecutiveFailures,
    picturesToday: input.picturesToday,
    late: input.alerts.some((a) => a.kind === 'picture-late' && a.sourceId === s.id),
    lastError: s.lastError,
    publicUrl:
      s.public && input.publicUrl !== null
        ? `${input.publicUrl}/public/${encodeURIComponent(s.id)}/latest.jpg${pictureId === null ? '' : `?v=${pictureId}`}`
        : null,
  };
}

/**
 * What must change for a state to be published before its interval: everything but the
 * clock-driven fields (the time it was made, the uptime, the disk and temperature, which
 * move a little all the time and go out with the interval).
 */
export function significant(state: BoxState | SourceState): string {
  if ('box' in state) {
    const { at: _at, uptimeSeconds: _u, disk: _d, temperatureC: _t, ...rest } = state;
    return JSON.stringify(rest);
  }
  const { at: _at, ...rest } = state;
  return JSON.stringify(rest);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
