/**
 * What is wrong with the box right now, as a list of conditions: pure, from a
 * snapshot of its state, so that each rule can be checked on its own. The alert
 * service turns changes of these conditions into messages.
 */
import type { Config, SourceConfig } from '../config/schema';
import { formatDuration } from '../config/duration';
import { nextSlot, type SlotContext } from '../schedule/slots';
import type { PowerState } from './throttling';
import { describePower } from './throttling';
import { DateTime } from 'luxon';
import { serverOf } from '../sync/remote-paths';

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
  /** A line a person can act on. */
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

/** The conditions that hold in the snapshot; anything not listed is fine. */
export function conditions(config: Config, s: Snapshot): Condition[] {
  const out: Condition[] = [];
  const zone = config.appliance.timezone;
  const ctx: SlotContext = { timezone: zone, ...(config.appliance.location ? { location: config.appliance.location } : {}) };
  const local = (ms: number) => DateTime.fromMillis(ms, { zone }).toFormat('yyyy-LL-dd HH:mm');
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
        message: `${name}: the power relay on GPIO ${relay.gpio} (sysfs line ${relay.line}) cannot be opened: ${relay.reason}; ${relay.fix}. Pictures go on, but a hung camera is not power-cycled`,
      });
    }
    if (state.downSince !== null) {
      out.push({ key: `camera-down:${source.id}`, kind: 'camera-down', severity: 'error', sourceId: source.id, targetId: null, message: `camera ${name} is down since ${local(state.downSince)}${state.lastError ? `: ${state.lastError}` : ''}. It is still tried at every slot.` });
      continue; // "late" would say the same thing again
    }
    if (storagePaused) continue; // the disk says why
    const lateKey = `picture-late:${source.id}`;
    // Counting from startedAt spares the slots the daemon was not running for; an alert raised before
    // a restart stays raised though, or people would hear "recovered" while still no picture comes.
    const from = state.lastCaptureAt !== null && s.raised.has(lateKey) ? state.lastCaptureAt : Math.max(state.lastCaptureAt ?? 0, s.startedAt);
    const due = nextSlot(new Date(from), { everyMs: source.schedule.every, windows: source.schedule.windows }, ctx);
    if (due && due.getTime() <= s.now - config.alerts.lateAfter) {
      const since = state.lastCaptureAt === null ? 'no picture yet' : `no picture since ${local(state.lastCaptureAt)}`;
      out.push({
        key: lateKey,
        kind: 'picture-late',
        severity: 'warning',
        sourceId: source.id,
        targetId: null,
        message: `${name}: ${since}; the slot of ${local(due.getTime())} is ${formatDuration(Math.floor((s.now - due.getTime()) / 60_000) * 60_000 || 60_000)} late${state.lastError ? ` (last error: ${state.lastError})` : ''}`,
      });
    }
  }

  if (s.storage) {
    if (storagePaused) out.push({ key: 'capture-paused', kind: 'capture-paused', severity: 'error', sourceId: null, targetId: null, message: storagePaused });
    else if (s.storage.low) {
      const waiting = s.storage.waitingForSync > 0 ? `; ${s.storage.waitingForSync} pictures wait to be sent before they may be deleted` : '';
      out.push({ key: 'disk-low', kind: 'disk-low', severity: 'warning', sourceId: null, targetId: null, message: `the data disk has ${s.storage.freePercent ?? '?'} % free, below storage.retention.minFreePercent (${config.storage.retention.minFreePercent} %)${waiting}` });
    }
  }

  const h = s.health;
  if (h) {
    const max = config.alerts.temperatureMax;
    const hot = h.cpuTempC !== null && (h.cpuTempC >= max || (s.raised.has('temperature-high') && h.cpuTempC > max - TEMPERATURE_HYSTERESIS));
    if (hot) out.push({ key: 'temperature-high', kind: 'temperature-high', severity: 'warning', sourceId: null, targetId: null, message: `the CPU is at ${h.cpuTempC!.toFixed(1)} °C (alerts.temperatureMax ${max} °C): check the enclosure's sun shade and ventilation` });
    const p = h.power;
    if (p && (p.underVoltage || p.throttled || p.underVoltageOccurred)) {
      out.push({ key: 'under-voltage', kind: 'under-voltage', severity: p.underVoltage || p.throttled ? 'error' : 'warning', sourceId: null, targetId: null, message: describePower(p).join('; ') });
    }
    if (h.clock.synchronized === false && h.processUptimeSeconds >= CLOCK_GRACE_S) {
      out.push({ key: 'clock-unsynced', kind: 'clock-unsynced', severity: 'warning', sourceId: null, targetId: null, message: 'the clock is not synchronised (NTP): picture times and schedules may drift; check the network and timedatectl' });
    }
  }

  const rejected = s.configRejected;
  if (rejected) {
    const shown = rejected.problems.slice(0, 5).join('; ');
    const more = rejected.problems.length > 5 ? ` (and ${rejected.problems.length - 5} more)` : '';
    out.push({
      key: 'config-invalid',
      kind: 'config-invalid',
      severity: 'error',
      sourceId: null,
      targetId: null,
      message: `the configuration file ${rejected.file} has errors and was not applied at ${local(rejected.at)}; the box keeps running on the previous one: ${shown}${more}. Fix it, check it with "lapsebox config check", then "sudo systemctl reload lapsebox"`,
    });
  }

  for (const target of config.sync.targets) {
    const t = s.targets.find((x) => x.id === target.id);
    if (!t) continue;
    if (t.activity === 'host-key-mismatch') {
      out.push({ key: `sync-host-key:${t.id}`, kind: 'sync-host-key', severity: 'error', sourceId: null, targetId: t.id, message: `sync target "${t.id}" presented a host key that does not match the pinned hostKey: nothing is sent to it${t.lastError ? ` (${t.lastError})` : ''}. If the server was reinstalled, check its new fingerprint with its administrator and update hostKey` });
    } else if (t.failingSince !== null && s.now - t.failingSince >= target.alertAfter) {
      out.push({ key: `sync-unreachable:${t.id}`, kind: 'sync-unreachable', severity: 'error', sourceId: null, targetId: t.id, message: `sync target "${t.id}" (${serverOf(target).host}) has failed since ${local(t.failingSince)}${t.lastError ? `: ${t.lastError}` : ''}` });
    }
    if (t.oldestPendingAt !== null && s.now - t.oldestPendingAt >= target.alertAfter) {
      out.push({ key: `sync-backlog:${t.id}`, kind: 'sync-backlog', severity: 'warning', sourceId: null, targetId: t.id, message: `${t.pending} ${t.pending === 1 ? 'file waits' : 'files wait'} for sync target "${t.id}", the oldest since ${local(t.oldestPendingAt)}` });
    }
  }
  return out;
}

function label(source: SourceConfig): string {
  return source.name && source.name !== source.id ? `${source.id} (${source.name})` : source.id;
}
