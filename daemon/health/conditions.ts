/**
 * What is wrong with the box right now, as a list of conditions: pure, from a
 * snapshot of its state, so that each rule can be checked on its own. The alert
 * service turns changes of these conditions into messages.
 *
 * Each message is written by the translator given: the alert service asks for the
 * English one (its log, its records, the status) and for the box's language (the
 * messages people get). What other parts wrote (a camera's error, the storage
 * guard's reason, the configuration's errors) is quoted as it is, in English.
 */
import type { Config, SourceConfig } from '../config/schema';
import type { Translate } from '../i18n/catalogs';
import { nextSlot, type SlotContext } from '../schedule/slots';
import { describePower, type PowerState } from './throttling';
import { serverOf } from '../sync/remote-paths';
import { duration, localDateTime, semicolons } from './alert-message';

export const ALERT_KINDS = [
  'picture-late',
  'camera-down',
  'disk-low',
  'capture-paused',
  'temperature-high',
  'under-voltage',
  'clock-unsynced',
  'sync-unreachable',
  'sync-backlog',
  'sync-host-key',
  'config-invalid',
  'relay-unavailable',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface Condition {
  /** kind, or kind:subject: one alert per source or target. */
  key: string;
  kind: AlertKind;
  severity: 'warning' | 'error';
  sourceId: string | null;
  targetId: string | null;
  /** A line a person can act on, in the translator's language. */
  message: string;
}

/** The box as the rules see it. */
export interface Snapshot {
  now: number;
  /** When the daemon started: a source that never captured is late from then. */
  startedAt: number;
  sources: { id: string; lastCaptureAt: number | null; downSince: number | null; lastError: string | null }[];
  health: { cpuTempC: number | null; power: PowerState | null; clock: { synchronized: boolean | null }; processUptimeSeconds: number } | null;
  storage: { low: boolean; freePercent: number | null; paused: string | null; waitingForSync: number } | null;
  /** Configured power relays that cannot be opened now (none before the daemon tried). */
  relaysUnavailable?: { sourceId: string; gpio: number; line: number; reason: string; fix: string }[];
  targets: { id: string; activity: string; failingSince: number | null; lastError: string | null; oldestPendingAt: number | null; pending: number }[];
  /** The last reload the daemon refused, while the running configuration is older than the file. */
  configRejected?: ConfigRejection | null;
  /** Keys raised now (for the rules with hysteresis). */
  raised: ReadonlySet<string>;
}

/** A reload refused because the file has errors. */
export interface ConfigRejection {
  at: number;
  file: string;
  /** Each with its key path, as `lapsebox config check` prints them. */
  problems: string[];
}

/** Degrees under temperatureMax at which "temperature high" clears. */
export const TEMPERATURE_HYSTERESIS = 5;
/** A clock not synchronised this long after start-up is worth a word (NTP needs a moment at boot). */
const CLOCK_GRACE_S = 15 * 60;

/** The conditions that hold in the snapshot, their messages written by `t`; anything not listed is fine. */
export function conditions(config: Config, s: Snapshot, t: Translate): Condition[] {
  const out: Condition[] = [];
  const zone = config.appliance.timezone;
  const ctx: SlotContext = { timezone: zone, ...(config.appliance.location ? { location: config.appliance.location } : {}) };
  const local = (ms: number) => localDateTime(ms, zone, t);
  const storagePaused = s.storage?.paused ?? null;

  for (const source of config.sources) {
    const state = s.sources.find((x) => x.id === source.id);
    if (!source.enabled || !state) continue;
    const name = label(source);
    const relay = source.recovery.powerCycle && !source.recovery.powerCycle.simulate ? s.relaysUnavailable?.find((r) => r.sourceId === source.id) : undefined;
    if (relay) {
      out.push({
        key: `relay-unavailable:${source.id}`,
        kind: 'relay-unavailable',
        severity: 'error',
        sourceId: source.id,
        targetId: null,
        message: t('mail.alert.relayUnavailable', { name, gpio: String(relay.gpio), line: String(relay.line), reason: relay.reason, fix: relay.fix }),
      });
    }
    if (state.downSince !== null) {
      const since = local(state.downSince);
      const message = state.lastError ? t('mail.alert.cameraDownError', { name, since, error: state.lastError }) : t('mail.alert.cameraDown', { name, since });
      out.push({ key: `camera-down:${source.id}`, kind: 'camera-down', severity: 'error', sourceId: source.id, targetId: null, message });
      continue; // "late" would say the same thing again
    }
    if (storagePaused) continue; // the disk says why
    const lateKey = `picture-late:${source.id}`;
    // Counting from startedAt spares the slots the daemon was not running for; an alert raised before
    // a restart stays raised though, or people would hear "recovered" while still no picture comes.
    const from = state.lastCaptureAt !== null && s.raised.has(lateKey) ? state.lastCaptureAt : Math.max(state.lastCaptureAt ?? 0, s.startedAt);
    const due = nextSlot(new Date(from), { everyMs: source.schedule.every, windows: source.schedule.windows }, ctx);
    if (due && due.getTime() <= s.now - config.alerts.lateAfter) {
      const since = state.lastCaptureAt === null ? t('mail.alert.noPictureYet') : t('mail.alert.noPictureSince', { at: local(state.lastCaptureAt) });
      const values = { name, since, slot: local(due.getTime()), late: duration(Math.floor((s.now - due.getTime()) / 60_000) * 60_000 || 60_000, t) };
      out.push({
        key: lateKey,
        kind: 'picture-late',
        severity: 'warning',
        sourceId: source.id,
        targetId: null,
        message: state.lastError ? t('mail.alert.pictureLateError', { ...values, error: state.lastError }) : t('mail.alert.pictureLate', values),
      });
    }
  }

  if (s.storage) {
    if (storagePaused) out.push({ key: 'capture-paused', kind: 'capture-paused', severity: 'error', sourceId: null, targetId: null, message: storagePaused });
    else if (s.storage.low) {
      const { freePercent, waitingForSync: waiting } = s.storage;
      // Written here rather than in the message: it may be unknown ("?").
      const free = freePercent === null ? '?' : new Intl.NumberFormat(t.locale, { maximumFractionDigits: 1, useGrouping: false }).format(freePercent);
      const values = { free, min: config.storage.retention.minFreePercent };
      const message = waiting > 0 ? t('mail.alert.diskLowWaiting', { ...values, waiting }) : t('mail.alert.diskLow', values);
      out.push({ key: 'disk-low', kind: 'disk-low', severity: 'warning', sourceId: null, targetId: null, message });
    }
  }

  const h = s.health;
  if (h) {
    const max = config.alerts.temperatureMax;
    const hot = h.cpuTempC !== null && (h.cpuTempC >= max || (s.raised.has('temperature-high') && h.cpuTempC > max - TEMPERATURE_HYSTERESIS));
    if (hot) out.push({ key: 'temperature-high', kind: 'temperature-high', severity: 'warning', sourceId: null, targetId: null, message: t('mail.alert.temperatureHigh', { temp: h.cpuTempC!, max }) });
    const p = h.power;
    if (p && (p.underVoltage || p.throttled || p.underVoltageOccurred)) {
      out.push({ key: 'under-voltage', kind: 'under-voltage', severity: p.underVoltage || p.throttled ? 'error' : 'warning', sourceId: null, targetId: null, message: semicolons(describePower(p, t), t) });
    }
    if (h.clock.synchronized === false && h.processUptimeSeconds >= CLOCK_GRACE_S) {
      out.push({ key: 'clock-unsynced', kind: 'clock-unsynced', severity: 'warning', sourceId: null, targetId: null, message: t('mail.alert.clockUnsynced') });
    }
  }

  const rejected = s.configRejected;
  if (rejected) {
    // The errors themselves stay English, as `lapsebox config check` prints them.
    const values = { file: rejected.file, at: local(rejected.at), problems: rejected.problems.slice(0, 5).join('; ') };
    const more = rejected.problems.length - 5;
    out.push({
      key: 'config-invalid',
      kind: 'config-invalid',
      severity: 'error',
      sourceId: null,
      targetId: null,
      message: more > 0 ? t('mail.alert.configInvalidMore', { ...values, more }) : t('mail.alert.configInvalid', values),
    });
  }

  for (const target of config.sync.targets) {
    const ts = s.targets.find((x) => x.id === target.id);
    if (!ts) continue;
    if (ts.activity === 'host-key-mismatch') {
      const message = ts.lastError ? t('mail.alert.syncHostKeyError', { target: ts.id, error: ts.lastError }) : t('mail.alert.syncHostKey', { target: ts.id });
      out.push({ key: `sync-host-key:${ts.id}`, kind: 'sync-host-key', severity: 'error', sourceId: null, targetId: ts.id, message });
    } else if (ts.failingSince !== null && s.now - ts.failingSince >= target.alertAfter) {
      const values = { target: ts.id, host: serverOf(target).host, since: local(ts.failingSince) };
      const message = ts.lastError ? t('mail.alert.syncUnreachableError', { ...values, error: ts.lastError }) : t('mail.alert.syncUnreachable', values);
      out.push({ key: `sync-unreachable:${ts.id}`, kind: 'sync-unreachable', severity: 'error', sourceId: null, targetId: ts.id, message });
    }
    if (ts.oldestPendingAt !== null && s.now - ts.oldestPendingAt >= target.alertAfter) {
      const message = t('mail.alert.syncBacklog', { pending: ts.pending, target: ts.id, since: local(ts.oldestPendingAt) });
      out.push({ key: `sync-backlog:${ts.id}`, kind: 'sync-backlog', severity: 'warning', sourceId: null, targetId: ts.id, message });
    }
  }
  return out;
}

function label(source: SourceConfig): string {
  return source.name && source.name !== source.id ? `${source.id} (${source.name})` : source.id;
}
