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
 *
 * Messages are written in the box's language (`appliance.locale` when they are
 * made); the log, the stored states and the status keep the English words.
 */
import { DateTime } from 'luxon';
import type { Config } from '../config/schema';
import { BASE_LANGUAGE, type Catalogs, type Translate } from '../i18n/catalogs';
import type { Logger } from '../logger';
import type { Repositories } from '../store/repositories';
import type { AlertRecord } from '../store/alerts.repository';
import { slotsBetween } from '../schedule/slots';
import type { StorageStatus } from '../storage/retention';
import type { TargetStatus } from '../sync/sync.service';
import type { AlertMessage } from '../domain/alerts';
import type { SystemSample } from './system-probe';
import { conditions, type AlertKind, type ConfigRejection, type Snapshot } from './conditions';
import { defaultCatalogs, duration, localDate, localDateTimeZone } from './alert-message';
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
  /** The box's catalogs (the daemon's `Services.catalogs`); read from i18n/ when not given. */
  catalogs?: Catalogs;
  now?: () => number;
  checkEveryMs?: number;
}

/** What a message says, in one language: the English one goes to the log. */
interface Words {
  title: string;
  text: string;
}

/** A message to queue, and its English words for the log line. */
interface Made {
  message: AlertMessage;
  english: Words;
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
  /**
   * The condition's message in the box's language as last seen, by alert key, for "it was: ..."
   * when it recovers (the record keeps the English one). Lost on restart: then the English one is quoted.
   */
  readonly #said = new Map<string, string>();
  /** What the last check saw: the alerts raised now are said again from it in a reader's language. */
  #last: { cfg: Config; snapshot: Snapshot } | null = null;

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

  /**
   * Alerts raised now, most serious first; their messages in `t`'s language when given
   * (said again from what the last check saw), else as recorded (English).
   */
  active(t?: Translate): ActiveAlert[] {
    const words = t && this.#last ? new Map(conditions(this.#last.cfg, this.#last.snapshot, t).map((c) => [c.key, c.message])) : null;
    return this.#deps.store.alerts
      .all()
      .filter((a) => a.state === 'raised')
      .sort((a, b) => (a.severity === b.severity ? (a.raisedAt ?? 0) - (b.raisedAt ?? 0) : a.severity === 'error' ? -1 : 1))
      .map((a) => ({ key: a.key, kind: a.kind, severity: a.severity, sourceId: a.sourceId, targetId: a.targetId, message: words?.get(a.key) ?? a.message, since: new Date(a.raisedAt ?? a.changedAt).toISOString() }));
  }

  /** One look at everything: conditions, notices, the daily report. Returns the messages queued. */
  check(): AlertMessage[] {
    const sent: AlertMessage[] = [];
    const send = ({ message: m, english }: Made) => {
      sent.push(m);
      const rows = this.#deps.notifier.enqueue(m);
      const line = { topic: m.topic, status: m.status, title: english.title, channels: rows };
      if (m.type === 'report') this.#deps.log.info(line, english.title);
      else if (m.severity === 'error' && m.status !== 'recovered') this.#deps.log.error(line, `alert ${m.status}: ${english.text.split('\n')[0]}`);
      else this.#deps.log.warn(line, `alert ${m.status}: ${m.status === 'recovered' ? english.title : english.text.split('\n')[0]}`);
    };
    this.#applyConditions(send);
    this.#notices(send);
    this.#dailyReport(send);
    return sent;
  }

  /** English for the log, and the language people read (`appliance.locale`, as it is now). */
  #translators(cfg: Config): { english: Translate; box: Translate } {
    const catalogs = this.#deps.catalogs ?? defaultCatalogs();
    return { english: catalogs.translator(BASE_LANGUAGE), box: catalogs.translator(cfg.appliance.locale) };
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

  #applyConditions(send: (m: Made) => void): void {
    const { config, store } = this.#deps;
    const cfg = config();
    const now = this.#now();
    const stored = new Map(store.alerts.all().map((r) => [r.key, r]));
    const records = new Map(stored);
    const raised = new Set([...records.values()].filter((r) => r.state === 'raised').map((r) => r.key));
    const { english, box } = this.#translators(cfg);
    const snapshot = this.#snapshot(raised);
    this.#last = { cfg, snapshot };
    // The English words are the record's (log, status); the box's language is what people read.
    const found = new Map(conditions(cfg, snapshot, english).map((c) => [c.key, c]));
    for (const c of box === english ? found.values() : conditions(cfg, snapshot, box)) this.#said.set(c.key, c.message);

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
        send(this.#message(cfg, r, r.state === 'raised' ? 'raised' : 'recovered', found.get(r.key)?.message));
        if (r.state === 'ok') this.#said.delete(r.key);
        r = { ...r, notifiedAt: now, notifiedState: r.state, reminders: 0, flaps: 0 };
      } else if (r.state === 'raised' && told === 'raised' && cfg.alerts.remindEvery > 0 && r.notifiedAt !== null && now - r.notifiedAt >= cfg.alerts.remindEvery) {
        send(this.#message(cfg, r, 'reminder', found.get(r.key)?.message));
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

  /** `found`: the condition's English message now (none when it no longer holds). */
  #message(cfg: Config, r: AlertRecord, status: 'raised' | 'reminder' | 'recovered', found: string | undefined): Made {
    const now = this.#now();
    const since = r.raisedAt ?? r.changedAt;
    const { english, box } = this.#translators(cfg);
    const words = (t: Translate, message: string): Words => {
      const values = { lasting: duration(Math.max(60_000, Math.round((now - since) / 60_000) * 60_000), t), since: localDateTimeZone(since, cfg.appliance.timezone, t) };
      const lines =
        status === 'recovered'
          ? [t('mail.alert.recovered', values), t('mail.alert.itWas', { message })]
          : [
              message,
              status === 'reminder' ? t('mail.alert.reminder', { ...values, n: r.reminders + 1 }) : t('mail.alert.since', values),
              ...(r.flaps > 0 && status === 'raised' ? [t('mail.alert.flaps', { flaps: r.flaps })] : []),
            ];
      return { title: alertTitle(cfg, r, t), text: lines.join('\n') };
    };
    const englishWords = words(english, found ?? r.message);
    const said = box === english ? englishWords : words(box, this.#said.get(r.key) ?? r.message);
    return {
      message: {
        type: 'alert',
        appliance: { id: cfg.appliance.id, name: cfg.appliance.name ?? cfg.appliance.id },
        topic: r.key,
        kind: r.kind,
        status,
        severity: status === 'recovered' ? 'info' : r.severity,
        sourceId: r.sourceId,
        targetId: r.targetId,
        ...said,
        lang: box.lang,
        at: new Date(now).toISOString(),
        since: new Date(since).toISOString(),
      },
      english: englishWords,
    };
  }

  /** One-off events become notices (power cycles); the others are covered by the conditions. */
  #notices(send: (m: Made) => void): void {
    const { config, store } = this.#deps;
    const cfg = config();
    const now = this.#now();
    for (const event of store.events.pending()) {
      if (event.kind === 'camera-power-cycle') {
        const topic = `camera-power-cycle:${event.sourceId ?? ''}`;
        const last = store.notifications.lastFor(topic);
        // Power cycles are limited per day anyway; inside the quiet period they are only logged.
        if (!last || now - last.createdAt >= cfg.alerts.quietPeriod) {
          const { english, box } = this.#translators(cfg);
          const source = event.sourceId ?? '?';
          // The text is the capture service's own line, in English as it logged it.
          const words = (t: Translate): Words => ({ title: t('mail.alert.powerCycled', { source }), text: event.message });
          send({
            message: {
              type: 'alert',
              appliance: { id: cfg.appliance.id, name: cfg.appliance.name ?? cfg.appliance.id },
              topic,
              kind: 'camera-power-cycle',
              status: 'notice',
              severity: 'warning',
              sourceId: event.sourceId,
              targetId: null,
              ...words(box),
              lang: box.lang,
              at: new Date(now).toISOString(),
              since: new Date(event.at).toISOString(),
            },
            english: words(english),
          });
        }
      }
      store.events.markNotified(event.id, now);
    }
  }

  /** The report on the previous local day, once, at or after `dailyReport.at`. */
  #dailyReport(send: (m: Made) => void): void {
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
    send(this.#report(day));
  }

  #activeOn(cfg: Config, day: string): boolean {
    const { store } = this.#deps;
    return cfg.sources.some((s) => {
      const counts = store.state.day(s.id, day);
      return counts.failures + counts.skipped > 0 || store.pictures.days(s.id).some((d) => d.date === day);
    });
  }

  /** The report on one local day, in the box's language: per source, pictures against slots expected, failures; disk and sync backlog. */
  dailyReport(day: string): AlertMessage {
    return this.#report(day).message;
  }

  #report(day: string): Made {
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
    const { english, box } = this.#translators(cfg);
    const words = (t: Translate): Words => {
      const lines = [
        t('mail.report.heading', { day: localDate(day, zone, t), zone }),
        '',
        ...sources.map((s) => {
          const source = `${s.id}${s.enabled && s.name !== s.id ? ` (${s.name})` : ''}`;
          if (!s.enabled) return t('mail.report.sourceDisabled', { source });
          const percent = s.expected === 0 ? '' : t('mail.report.sourcePercent', { percent: Math.round((s.pictures / s.expected) * 1000) / 10 });
          const purged = s.purged ? t('mail.report.sourcePurged', { purged: s.purged }) : '';
          return t('mail.report.source', { source, pictures: s.pictures, expected: s.expected, percent, failures: s.failures, skipped: s.skipped, purged });
        }),
        '',
        reportDisk(storage, t),
        // The text in the box's zone; `details` keeps the instants as ISO data.
        ...(sync.length
          ? sync.map((s) =>
              s.backlog.oldestAt === null
                ? t('mail.report.sync', { target: s.id, pending: s.backlog.pending })
                : t('mail.report.syncOldest', { target: s.id, pending: s.backlog.pending, since: localDateTimeZone(s.backlog.oldestAt, zone, t) }),
            )
          : [t('mail.report.syncNone')]),
        '',
        active.length ? t('mail.report.alertsRaised', { keys: active.map((a) => a.key).join(', ') }) : t('mail.report.noAlert'),
      ];
      return { title: t('mail.report.title', { day: localDate(day, zone, t) }), text: lines.join('\n') };
    };
    return {
      message: {
        type: 'report',
        appliance: { id: cfg.appliance.id, name: cfg.appliance.name ?? cfg.appliance.id },
        topic: `report:${day}`,
        kind: 'daily-report',
        status: 'report',
        severity: active.some((a) => a.severity === 'error') ? 'error' : active.length ? 'warning' : 'info',
        sourceId: null,
        targetId: null,
        ...words(box),
        lang: box.lang,
        at: new Date(this.#now()).toISOString(),
        since: null,
        details: { day, sources, disk: storage?.disk ?? null, sync: targets, alerts: active.map((a) => a.key) },
      },
      english: words(english),
    };
  }
}

/** "picture late: north (North tower)", "disk low", in the translator's language. */
function alertTitle(cfg: Config, r: AlertRecord, t: Translate): string {
  const kind = kindName(r.kind, t);
  const subject = r.sourceId ?? r.targetId;
  if (!subject) return kind;
  const name = r.sourceId ? cfg.sources.find((s) => s.id === r.sourceId)?.name : undefined;
  return name && name !== subject ? t('mail.alert.titleSubjectName', { kind, subject, name }) : t('mail.alert.titleSubject', { kind, subject });
}

/** An alert's kind in words; one the catalogs do not know (a record from another version) as its words. */
function kindName(kind: string, t: Translate): string {
  switch (kind as AlertKind) {
    case 'picture-late':
      return t('mail.alert.kindPictureLate');
    case 'camera-down':
      return t('mail.alert.kindCameraDown');
    case 'disk-low':
      return t('mail.alert.kindDiskLow');
    case 'capture-paused':
      return t('mail.alert.kindCapturePaused');
    case 'temperature-high':
      return t('mail.alert.kindTemperatureHigh');
    case 'under-voltage':
      return t('mail.alert.kindUnderVoltage');
    case 'clock-unsynced':
      return t('mail.alert.kindClockUnsynced');
    case 'sync-unreachable':
      return t('mail.alert.kindSyncUnreachable');
    case 'sync-backlog':
      return t('mail.alert.kindSyncBacklog');
    case 'sync-host-key':
      return t('mail.alert.kindSyncHostKey');
    case 'config-invalid':
      return t('mail.alert.kindConfigInvalid');
    case 'relay-unavailable':
      return t('mail.alert.kindRelayUnavailable');
    default:
      return kind.replace(/-/g, ' ');
  }
}

/** The report's disk line. */
function reportDisk(storage: StorageStatus | null, t: Translate): string {
  const disk = storage?.disk;
  if (!disk) return t('mail.report.diskUnknown');
  const values = { free: disk.freePercent, freeMb: Math.round(disk.freeBytes / 1024 / 1024), totalMb: Math.round(disk.totalBytes / 1024 / 1024) };
  return storage.paused ? t('mail.report.diskPaused', values) : t('mail.report.disk', values);
}
