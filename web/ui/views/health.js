// The system page's health parts: vital signs, storage guard, active alerts, alert
// channels and the last 48 hours as a chart. Each part takes its piece of
// GET /api/system (or /api/system/history) and returns elements; nothing here fetches.
import { h, append, bytes } from '../dom.js';
import { timeChart, legend, hourTicks } from '../chart.js';
import * as time from '../time.js';
import { t, number } from '../i18n.js';

const HOUR_MS = 3_600_000;
/** The chart's span. */
export const HISTORY_MS = 48 * HOUR_MS;

function kv(rows) {
  return h('dl', { class: 'kv' }, rows.filter(Boolean).map(([k, v]) => [h('dt', { text: k }), h('dd', null, v)]));
}

/** A decimal number as `toFixed` wrote it, in the page's locale. */
const fixed = (n, digits) => number(n, { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** "3 d 4 h", "2 h 5 min", "40 s". */
function uptime(seconds) {
  const s = Math.floor(seconds);
  if (s < 60) return t('health.uptimeSeconds', { s });
  const d = Math.floor(s / 86_400);
  const hrs = Math.floor((s % 86_400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  return d > 0 ? t('health.uptimeDaysHours', { d, h: hrs }) : hrs > 0 ? t('health.uptimeHoursMinutes', { h: hrs, min }) : t('health.uptimeMinutes', { min });
}

function power(p) {
  if (!p) return h('span', { class: 'muted-text', text: t('health.noFirmwareFlags') });
  // The daemon puts the flags in words (daemon/health/throttling.ts), what holds now first.
  const lines = p.sentences;
  if (lines.length === 0) return h('span', { class: 'ok-text', text: t('health.noThrottling') });
  const now = p.underVoltage || p.frequencyCapped || p.throttled || p.softTempLimit;
  return h('ul', { class: ['power', now ? 'bad-text' : 'warn-text'] }, lines.map((line) => h('li', { text: line })));
}

function clock(c) {
  if (c.synchronized === null) return h('span', { class: 'muted-text', text: t('health.clockUnknown') });
  if (c.synchronized) return c.via ? t('health.clockYesVia', { via: c.via }) : t('health.clockYes');
  return h('span', { class: 'bad-text', text: c.via ? t('health.clockNoVia', { via: c.via }) : t('health.clockNo') });
}

/** Temperature, load, memory, uptime, power and clock of the last sample. */
export function healthCard(s) {
  const card = h('section', { class: 'card health' }, h('h2', { text: t('health.title') }));
  if (!s) {
    card.append(h('p', { class: 'empty', text: t('health.noSample') }));
    return card;
  }
  const busy = s.load[0] > s.cpus;
  const loads = s.load.map((l) => fixed(l, 2)).join(' · ');
  const memShare = s.memory.totalBytes > 0 ? Math.round((s.memory.availableBytes / s.memory.totalBytes) * 100) : null;
  card.append(
    kv([
      [t('health.cpuTemperature'), s.cpuTempC === null ? h('span', { class: 'muted-text', text: t('health.cpuTemperatureUnknown') }) : t('health.celsius', { value: fixed(s.cpuTempC, 1) })],
      [t('health.load'), h('span', { class: busy ? 'warn-text' : null, text: busy ? t('health.loadOnCoresBusy', { loads, cpus: s.cpus }) : t('health.loadOnCores', { loads, cpus: s.cpus }) })],
      [
        t('health.memory'),
        memShare === null
          ? t('health.memoryUse', { available: bytes(s.memory.availableBytes), total: bytes(s.memory.totalBytes), used: bytes(s.memory.processRssBytes) })
          : t('health.memoryUseShare', { available: bytes(s.memory.availableBytes), total: bytes(s.memory.totalBytes), share: memShare, used: bytes(s.memory.processRssBytes) }),
      ],
      [t('health.uptime'), t('health.uptimeBoxProcess', { box: uptime(s.uptimeSeconds), process: uptime(s.processUptimeSeconds) })],
      [t('health.power'), power(s.power)],
      [t('health.clockSynchronised'), clock(s.clock)],
    ]),
    h('p', { class: 'hint', text: t('health.measured', { at: time.shortDateTime(s.at), ago: time.relative(s.at) }), title: time.dateTime(s.at) }),
  );
  return card;
}

/** The guard's reason, said once: it may already start with "capture paused:". */
const pauseReason = (paused) => paused.reason.replace(/^capture paused:\s*/i, '');

/** Shown above everything while capture is paused for lack of space. */
export function pausedBanner(storage) {
  if (!storage || !storage.paused) return null;
  return h(
    'div',
    { class: 'banner bad capture-paused', role: 'alert' },
    h('strong', { text: t('health.capturePausedReason', { reason: pauseReason(storage.paused) }) }),
    h('span', { class: 'since', text: t('health.pausedSince', { since: time.shortDateTime(storage.paused.since), ago: time.relative(storage.paused.since) }), title: time.dateTime(storage.paused.since) }),
  );
}

/** The data disk and the storage guard: free space, retention, what waits for sync, the last purge. */
export function storageCard(disk, storage) {
  const d = (storage && storage.disk) || disk;
  const usedPercent = d ? Math.round(100 - d.freePercent) : 0;
  const r = storage && storage.retention;
  const purge = storage && storage.lastPurge;
  return h(
    'section',
    { class: 'card disk storage' },
    h('h2', null, t('health.storage'), storage && storage.paused ? [' ', h('span', { class: 'badge bad', text: t('health.capturePaused') })] : storage && storage.low ? [' ', h('span', { class: 'badge warn', text: t('health.storageLow') })] : null),
    d ? h('meter', { min: 0, max: 100, low: 70, high: 90, optimum: 0, value: usedPercent, 'aria-label': t('health.diskUsed') }) : null,
    kv([
      d ? [t('health.free'), t('health.freeOfTotal', { free: bytes(d.freeBytes), total: bytes(d.totalBytes), percent: d.freePercent })] : null,
      disk ? [t('health.dataFolder'), h('code', { text: disk.path })] : null,
      storage && storage.paused ? [t('health.capture'), h('span', { class: 'bad-text', text: t('health.pausedSinceReason', { since: time.shortDateTime(storage.paused.since), reason: pauseReason(storage.paused) }) })] : null,
      r ? [t('health.retention'), r.maxAgeDays > 0 ? t('health.keptDays', { days: r.maxAgeDays }) : t('health.keptUntilSpaceNeeded')] : null,
      r ? [t('health.guard'), t('health.guardRules', { minFree: r.minFreePercent, reserve: r.reserveMB })] : null,
      storage ? [t('health.waitingForSync'), storage.waitingForSync > 0 ? t('health.mustReachTarget', { count: storage.waitingForSync }) : t('health.waitingForSyncNone')] : null,
      storage ? [t('health.lastPurge'), purge ? t('health.purge', { at: time.shortDateTime(purge.at), count: purge.pictures, size: bytes(purge.bytes), why: purge.why }) : t('health.noPurgeSinceStart')] : null,
      storage && storage.purged.pictures > 0 ? [t('health.deletedSinceStart'), t('health.picturesSize', { count: storage.purged.pictures, size: bytes(storage.purged.bytes) })] : null,
    ]),
  );
}

/** Alerts raised now, most serious first (the server's order). */
export function alertsBlock(alerts) {
  if (!alerts || alerts.length === 0) return h('p', { class: 'empty alerts-none', text: t('health.noActiveAlert') });
  const severity = { error: t('health.severityError'), warning: t('health.severityWarning') };
  return h(
    'ul',
    { class: 'alerts' },
    alerts.map((a) =>
      h(
        'li',
        { class: ['alert', `severity-${a.severity}`], dataset: { alert: a.key } },
        h('span', { class: `badge ${a.severity === 'error' ? 'bad' : 'warn'}`, text: severity[a.severity] || a.severity }),
        ' ',
        h('span', { class: 'message', text: a.message }),
        h('small', { class: 'since', text: t('health.alertSince', { since: time.shortDateTime(a.since), ago: time.relative(a.since) }), title: time.dateTime(a.since) }),
      ),
    ),
  );
}

// The channels' names as headings, and what a channel is doing (the notifier's `ChannelActivity`).
const CHANNEL_NAMES = { webhook: t('health.channelWebhook'), email: t('health.channelEmail') };
const CHANNEL_ACTIVITY = { idle: t('health.channelIdle'), sending: t('health.channelSending'), retrying: t('health.channelRetrying') };

function channelCard(name, c) {
  const head = h('h3', null, CHANNEL_NAMES[name] || name, ' ', c ? h('span', { class: `badge ${c.lastError || c.failed > 0 ? 'bad' : c.activity === 'sending' ? 'info' : c.configured ? 'ok' : 'muted'}`, text: c.configured ? CHANNEL_ACTIVITY[c.activity] || c.activity : t('health.channelNotConfigured') }) : h('span', { class: 'badge muted', text: t('health.channelNotConfigured') }));
  if (!c) return h('article', { class: 'card channel', dataset: { channel: name } }, head, h('p', { class: 'empty', text: t('health.channelNotConfiguredLong') }));
  return h(
    'article',
    { class: 'card channel', dataset: { channel: name } },
    head,
    kv([
      [t('health.channelConfigured'), c.configured ? c.destination || t('health.channelConfiguredYes') : t('health.channelConfiguredNo')],
      [t('health.channelPending'), c.oldestAt ? t('health.channelMessagesOldest', { count: c.pending, age: time.relative(c.oldestAt) }) : t('health.channelMessages', { count: c.pending })],
      [t('health.channelLastSent'), c.lastSentAt ? time.shortDateTime(c.lastSentAt) : t('health.channelNever')],
      c.nextAttemptAt ? [t('health.channelNextTry'), time.shortDateTime(c.nextAttemptAt)] : null,
      c.failed > 0 ? [t('health.channelGivenUp'), t('health.channelMessages', { count: c.failed })] : null,
      [t('health.channelLastError'), c.lastError ? h('span', { class: 'bad-text', text: c.lastError }) : t('health.channelNoError')],
    ]),
  );
}

/** Webhook and e-mail: where alerts go and what waits for them. */
export function channelsBlock(notifications) {
  if (!notifications) return h('p', { class: 'empty', text: t('health.channelsNotRunning') });
  return h('div', { class: 'cards channels' }, channelCard('webhook', notifications.webhook), channelCard('email', notifications.email));
}

/**
 * Disk free (lowest of each hour) and CPU temperature (mean of each hour, when the
 * box knows it) over the last 48 hours; an empty state before the first full hour.
 */
export function historyChart(history, width) {
  const section = h('div', { class: 'history' });
  const points = history.points || [];
  if (points.length === 0) {
    section.append(h('p', { class: 'empty history-empty', text: t('health.noHistory') }));
    return section;
  }
  const from = Date.parse(history.from);
  const to = Date.parse(history.to);
  const at = (p) => Date.parse(p.at);
  const disk = points.map((p) => [at(p), p.diskTotalBytes > 0 ? (p.diskFreeBytes / p.diskTotalBytes) * 100 : null]);
  const temps = points.filter((p) => p.cpuTempC !== null).map((p) => p.cpuTempC);
  const series = [{ key: 'disk', axis: 'left', min: 0, max: 100, format: (v) => t('health.tickPercent', { v: Math.round(v) }), points: disk }];
  if (temps.length > 0) {
    // A scale from a cool box to a hot one, widened to what was seen; 4 steps of whole degrees.
    const lo = Math.floor(Math.min(40, ...temps) / 10) * 10;
    const hi = lo + Math.ceil((Math.max(80, ...temps) - lo) / 20) * 20;
    series.push({ key: 'temp', axis: 'right', min: lo, max: hi, format: (v) => t('health.tickDegrees', { v: Math.round(v) }), points: points.map((p) => [at(p), p.cpuTempC]) });
  }
  const w = Math.max(300, Math.min(1200, width));
  const last = points[points.length - 1];
  const lastDisk = disk[disk.length - 1][1];
  append(section, [
    timeChart({ from, to, width: w, label: temps.length ? t('health.chartLabelDiskTemp') : t('health.chartLabelDisk'), gapMs: 1.5 * HOUR_MS, xTicks: hourTicks(from, to, w < 560 ? 12 : 6), series }),
    legend([
      { key: 'disk', text: lastDisk === null ? t('health.legendDisk') : t('health.legendDiskLast', { percent: fixed(lastDisk, 1), at: time.hourMinute(last.at) }) },
      temps.length ? { key: 'temp', text: last.cpuTempC === null ? t('health.legendTemp') : t('health.legendTempLast', { temp: fixed(last.cpuTempC, 1) }) } : null,
    ].filter(Boolean)),
    temps.length ? null : h('p', { class: 'hint', text: t('health.cpuTemperatureUnknownHere') }),
  ]);
  return section;
}
