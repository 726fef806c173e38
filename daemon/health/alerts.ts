/**
 * Alerts: each condition (conditions.ts) has a state, ok or raised, and people
 * hear about changes of that state, never a storm:
 *
 * - a condition that appears is told at once ("raised"), one that goes away is
 *   told as "recovered";
 * - at most one message per alert within `alerts.quietPeriod`: a change inside it
 *   waits for its end, and is told only if the state then still differs from what
 *   was last said (a flap that came back is not told twice);
 * - while an alert stays raised, a reminder every `alerts.remindEvery`;
 * - one-off notices: a camera power cycle done;
 * - a daily report on the previous day, at `alerts.dailyReport.at`.
 *
 * States live in SQLite, so a restart neither repeats nor forgets a message;
 * messages go through the notifier's queue (retried until delivered).
 */
import { DateTime } from 'luxon';
import type { Config } from '../config/schema';
import { formatDuration } from '../config/duration';
import type { Logger } from '../logger';
import type { Repositories } from '../store/repositories';
import type { AlertRecord } from '../store/alerts.repository';
import { slotsBetween } from '../schedule/slots';
import type { StorageStatus } from '../storage/retention';
import type { TargetStatus } from '../sync/sync.service';
import type { AlertMessage } from '../domain/alerts';
import type { SystemSample } from './system-probe';
import { conditions, type Condition, type ConfigRejection, type Snapshot } from './conditions';
import type { RelayState } from '../capture/capture.service';

/** How often conditions are looked at. */
const CHECK_EVERY_MS = 30_000;

export interface AlertServiceDeps {
  config: () => Config;
  store: Pick<Repositories, 'alerts' | 'state' | 'events' | 'pictures' | 'outbox' | 'notifications'>;
  notifier: { enqueue(message: AlertMessage): number };
  health: () => SystemSample | null;
  storage: () => StorageStatus | null;
  sync: () => TargetStatus[];
  /** The last reload refused for errors in the file, if the running configuration is still the older one. */
  configRejected?: () => ConfigRejection | null;
  /** The running capture service's power relays. */
  relays?: () => RelayState[];
  log: Logger;
  now?: () => number;
  checkEveryMs?: number;
}

export interface ActiveAlert {
  key: string;
  kind: string;
  severity: 'warning' | 'error';
  sourceId: string | null;
  targetId: string | null;
  message: string;
  since: string;
}

export class AlertService {
  readonly #deps: AlertServiceDeps;
  readonly #now: () => number;
  #startedAt = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Report dates handled in this run, for boxes without a channel (no row records them). */
  readonly #reported = new Set<string>();

  constructor(deps: AlertServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  start(): void {
    this.#startedAt = this.#now();
    this.#schedule();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Alerts raised now, most serious first. */
  active(): ActiveAlert[] {
    return this.#deps.store.alerts
      .all()
      .filter((a) => a.state === 'raised')
      .sort((a, b) => (a.severity === b.severity ? (a.raisedAt ?? 0) - (b.raisedAt ?? 0) : a.severity === 'error' ? -1 : 1))
      .map((a) => ({ key: a.key, kind: a.kind, severity: a.severity, sourceId: a.sourceId, targetId: a.targetId, message: a.message, since: new Date(a.raisedAt ?? a.changedAt).toISOString() }));
  }

  /** One look at everything: conditions, notices, the daily report. Returns the messages queued. */
  check(): AlertMessage[] {
    const sent: AlertMessage[] = [];
    const send = (m: AlertMessage) => {
      sent.push(m);
      const rows = this.#deps.notifier.enqueue(m);
      const line = { topic: m.topic, status: m.status, title: m.title, channels: rows };
      if (m.type === 'report') this.#deps.log.info(line, m.title);
      else if (m.severity === 'error' && m.status !== 'recovered') this.#deps.log.error(line, `alert ${m.status}: ${m.text.split('\n')[0]}`);
      else this.#deps.log.warn(line, `alert ${m.status}: ${m.status === 'recovered' ? m.title : m.text.split('\n')[0]}`);
    };
    this.#applyConditions(send);
    this.#notices(send);
    this.#dailyReport(send);
    return sent;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      try {
        this.check();
      } catch (err) {
        this.#deps.log.error({ err }, 'alert check failed');
      }
      this.#schedule();
    }, this.#deps.checkEveryMs ?? CHECK_EVERY_MS);
    this.#timer.unref();
  }

  #snapshot(raised: ReadonlySet<string>): Snapshot {
    const { config, store } = this.#deps;
    const cfg = config();
    const health = this.#deps.health();
    const storage = this.#deps.storage();
    return {
      now: this.#now(),
      startedAt: this.#startedAt || this.#now(),
      sources: cfg.sources.map((s) => {
        const st = store.state.get(s.id);
        return { id: s.id, lastCaptureAt: st.lastCaptureAt, downSince: st.downSince, lastError: st.lastError };
      }),
      health: health && { cpuTempC: health.cpuTempC, power: health.power, clock: health.clock, processUptimeSeconds: health.processUptimeSeconds },
      storage: storage && { low: storage.low, freePercent: storage.disk?.freePercent ?? null, paused: storage.paused?.reason ?? null, waitingForSync: storage.waitingForSync },
      targets: this.#deps.sync().map((t) => ({
        id: t.id,
        activity: t.activity,
        failingSince: t.failingSince === null ? null : Date.parse(t.failingSince),
        lastError: t.lastError?.message ?? null,
        oldestPendingAt: t.backlog.oldestAt,
        pending: t.backlog.pending,
      })),
      configRejected: this.#deps.configRejected?.() ?? null,
      relaysUnavailable: (this.#deps.relays?.() ?? []).flatMap((r) => (r.fault ? [{ sourceId: r.sourceId, gpio: r.gpio, line: r.fault.line, reason: r.fault.reason, fix: r.fault.fix }] : [])),
      raised,
    };
  }

  #applyConditions(send: (m: AlertMessage) => void): void {
    const { config, store } = this.#deps;
    const cfg = config();
    const now = this.#now();
    const stored = new Map(store.alerts.all().map((r) => [r.key, r]));
    const records = new Map(stored);
    const raised = new Set([...records.values()].filter((r) => r.state === 'raised').map((r) => r.key));
    const found = new Map(conditions(cfg, this.#snapshot(raised)).map((c) => [c.key, c]));

    // New and changed states.
    for (const c of found.values()) {
      const r = records.get(c.key);
      if (!r) {
        records.set(c.key, { key: c.key, kind: c.kind, sourceId: c.sourceId, targetId: c.targetId, state: 'raised', severity: c.severity, message: c.message, raisedAt: now, changedAt: now, notifiedAt: null, notifiedState: null, reminders: 0, flaps: 0 });
      } else if (r.state === 'ok') {
        records.set(c.key, { ...r, state: 'raised', severity: c.severity, message: c.message, raisedAt: r.notifiedState === 'raised' ? r.raisedAt : now, changedAt: now, flaps: r.flaps + 1 });
      } else {
        records.set(c.key, { ...r, severity: c.severity, message: c.message });
      }
    }
    for (const r of records.values()) {
      if (r.state === 'raised' && !found.has(r.key)) records.set(r.key, { ...r, state: 'ok', changedAt: now, flaps: r.flaps + 1 });
    }

    // What people hear.
    for (let r of records.values()) {
      const told = r.notifiedState ?? 'ok';
      const quietOver = r.notifiedAt === null || now - r.notifiedAt >= cfg.alerts.quietPeriod;
      if (r.state !== told && quietOver) {
        send(this.#message(cfg, r, r.state === 'raised' ? 'raised' : 'recovered', found.get(r.key)));
        r = { ...r, notifiedAt: now, notifiedState: r.state, reminders: 0, flaps: 0 };
      } else if (r.state === 'raised' && told === 'raised' && cfg.alerts.remindEvery > 0 && r.notifiedAt !== null && now - r.notifiedAt >= cfg.alerts.remindEvery) {
        send(this.#message(cfg, r, 'reminder', found.get(r.key)));
        r = { ...r, notifiedAt: now, reminders: r.reminders + 1, flaps: 0 };
      } else if (r.state === told && r.flaps > 0 && quietOver) {
        r = { ...r, flaps: 0 };
      }
      records.set(r.key, r);
    }
    for (const r of records.values()) {
      const old = stored.get(r.key);
      if (!old || JSON.stringify(old) !== JSON.stringify(r)) store.alerts.save(r);
    }
  }

  #message(cfg: Config, r: AlertRecord, status: 'raised' | 'reminder' | 'recovered', condition: Condition | undefined): AlertMessage {
    const now = this.#now();
    const since = r.raisedAt ?? r.changedAt;
    const local = (ms: number) => localTime(ms, cfg.appliance.timezone);
    const lasting = formatDuration(Math.max(60_000, Math.round((now - since) / 60_000) * 60_000));
    const subject = r.sourceId ?? r.targetId;
    const name = r.sourceId ? cfg.sources.find((s) => s.id === r.sourceId)?.name : undefined;
    const title = `${r.kind.replace(/-/g, ' ')}${subject ? `: ${subject}${name && name !== subject ? ` (${name})` : ''}` : ''}`;
    const lines =
      status === 'recovered'
        ? [`Back to normal after ${lasting} (raised ${local(since)}).`, `It was: ${r.message}`]
        : [
            condition?.message ?? r.message,
            status === 'reminder' ? `Still so after ${lasting} (raised ${local(since)}; reminder ${r.reminders + 1}).` : `Since ${local(since)}.`,
            ...(r.flaps > 0 && status === 'raised' ? [`It changed ${r.flaps} times during the quiet period.`] : []),
          ];
    return {
      type: 'alert',
      appliance: { id: cfg.appliance.id, name: cfg.appliance.name ?? cfg.appliance.id },
      topic: r.key,
      kind: r.kind,
      status,
      severity: status === 'recovered' ? 'info' : r.severity,
      sourceId: r.sourceId,
      targetId: r.targetId,
      title,
      text: lines.join('\n'),
      at: new Date(now).toISOString(),
      since: new Date(since).toISOString(),
    };
  }

  /** One-off events become notices (power cycles); the others are covered by the conditions. */
  #notices(send: (m: AlertMessage) => void): void {
    const { config, store } = this.#deps;
    const cfg = config();
    const now = this.#now();
    for (const event of store.events.pending()) {
      if (event.kind === 'camera-power-cycle') {
        const topic = `camera-power-cycle:${event.sourceId ?? ''}`;
        const last = store.notifications.lastFor(topic);
        // Power cycles are limited per day anyway; inside the quiet period they are only logged.
        if (!last || now - last.createdAt >= cfg.alerts.quietPeriod) {
          send({
            type: 'alert',
            appliance: { id: cfg.appliance.id, name: cfg.appliance.name ?? cfg.appliance.id },
            topic,
            kind: 'camera-power-cycle',
            status: 'notice',
            severity: 'warning',
            sourceId: event.sourceId,
            targetId: null,
            title: `camera power cycled: ${event.sourceId ?? '?'}`,
            text: event.message,
            at: new Date(now).toISOString(),
            since: new Date(event.at).toISOString(),
          });
        }
      }
      store.events.markNotified(event.id, now);
    }
  }

  /** The report on the previous local day, once, at or after `dailyReport.at`. */
  #dailyReport(send: (m: AlertMessage) => void): void {
    const cfg = this.#deps.config();
    const report = cfg.alerts.dailyReport;
    if (!report.enabled) return;
    const zone = cfg.appliance.timezone;
    const now = DateTime.fromMillis(this.#now(), { zone });
    if (now.toFormat('HH:mm') < report.at) return;
    const day = now.minus({ days: 1 }).toISODate()!;
    const topic = `report:${day}`;
    if (this.#reported.has(day) || this.#deps.store.notifications.lastFor(topic)) return;
    this.#reported.add(day);
    // Started after the report time: report only a day the box did something on (not the day before it was installed).
    const dueAt = now.set({ hour: Number(report.at.slice(0, 2)), minute: Number(report.at.slice(3, 5)), second: 0, millisecond: 0 }).toMillis();
    if ((this.#startedAt || this.#now()) > dueAt && !this.#activeOn(cfg, day)) return;
    send(this.dailyReport(day));
  }

  #activeOn(cfg: Config, day: string): boolean {
    const { store } = this.#deps;
    return cfg.sources.some((s) => {
      const counts = store.state.day(s.id, day);
      return counts.failures + counts.skipped > 0 || store.pictures.days(s.id).some((d) => d.date === day);
    });
  }

  /** The report on one local day: per source, pictures against slots expected, failures; disk and sync backlog. */
  dailyReport(day: string): AlertMessage {
    const { store } = this.#deps;
    const cfg = this.#deps.config();
    const zone = cfg.appliance.timezone;
    const start = DateTime.fromISO(day, { zone }).startOf('day');
    const end = start.plus({ days: 1 });
    const ctx = { timezone: zone, ...(cfg.appliance.location ? { location: cfg.appliance.location } : {}) };
    const sources = cfg.sources.map((s) => {
      const expected = s.enabled ? slotsBetween(start.toJSDate(), end.toJSDate(), { everyMs: s.schedule.every, windows: s.schedule.windows }, ctx, 1_000_000).length : 0;
      const pictures = store.pictures.days(s.id).find((d) => d.date === day)?.count ?? 0;
      const counts = store.state.day(s.id, day);
      return { id: s.id, name: s.name ?? s.id, enabled: s.enabled, expected, pictures, failures: counts.failures, skipped: counts.skipped, purged: counts.purged };
    });
    const storage = this.#deps.storage();
    const sync = this.#deps.sync();
    const targets = sync.map((t) => ({ id: t.id, pending: t.backlog.pending, oldest: t.backlog.oldestAt === null ? null : new Date(t.backlog.oldestAt).toISOString(), lastOk: t.lastOk }));
    const active = this.active();
    const pct = (a: number, b: number) => (b === 0 ? '' : ` (${Math.round((a / b) * 1000) / 10} %)`);
    const lines = [
      `Daily report for ${day} (${zone}).`,
      '',
      ...sources.map((s) =>
        s.enabled
          ? `${s.id}${s.name !== s.id ? ` (${s.name})` : ''}: ${s.pictures} pictures of ${s.expected} slots${pct(s.pictures, s.expected)}, ${s.failures} failed captures, ${s.skipped} slots skipped${s.purged ? `, ${s.purged} old pictures deleted by retention` : ''}`
          : `${s.id}: disabled`,
      ),
      '',
      storage?.disk ? `Disk: ${storage.disk.freePercent} % free (${Math.round(storage.disk.freeBytes / 1024 / 1024)} MB of ${Math.round(storage.disk.totalBytes / 1024 / 1024)} MB)${storage.paused ? ' — capture is paused' : ''}` : 'Disk: not measured',
      // The text in the box's zone; `details` keeps the instants as ISO data.
      ...(sync.length ? sync.map((t) => `Sync ${t.id}: ${t.backlog.pending} files waiting${t.backlog.oldestAt === null ? '' : `, the oldest since ${localTime(t.backlog.oldestAt, zone)}`}`) : ['Sync: no target']),
      '',
      active.length ? `Alerts raised now: ${active.map((a) => a.key).join(', ')}` : 'No alert raised now.',
    ];
    return {
      type: 'report',
      appliance: { id: cfg.appliance.id, name: cfg.appliance.name ?? cfg.appliance.id },
      topic: `report:${day}`,
      kind: 'daily-report',
      status: 'report',
      severity: active.some((a) => a.severity === 'error') ? 'error' : active.length ? 'warning' : 'info',
      sourceId: null,
      targetId: null,
      title: `daily report ${day}`,
      text: lines.join('\n'),
      at: new Date(this.#now()).toISOString(),
      since: null,
      details: { day, sources, disk: storage?.disk ?? null, sync: targets, alerts: active.map((a) => a.key) },
    };
  }
}

/** An instant as people read it in alert and report texts: "2026-12-05 23:28 CET", in the appliance's zone. */
export function localTime(ms: number, zone: string): string {
  return DateTime.fromMillis(ms, { zone }).toFormat('yyyy-LL-dd HH:mm ZZZZ');
}
