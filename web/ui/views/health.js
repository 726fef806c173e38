// The system page's health parts: vital signs, storage guard, active alerts, alert
// channels and the last 48 hours as a chart. Each part takes its piece of
// GET /api/system (or /api/system/history) and returns elements; nothing here fetches.
import { h, append, bytes } from '../dom.js';
import { timeChart, legend } from '../chart.js';
import * as t from '../time.js';

const HOUR_MS = 3_600_000;
/** The chart's span. */
export const HISTORY_MS = 48 * HOUR_MS;

function kv(rows) {
  return h('dl', { class: 'kv' }, rows.filter(Boolean).map(([k, v]) => [h('dt', { text: k }), h('dd', null, v)]));
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "3 d 4 h", "2 h 5 min", "40 s". */
function uptime(seconds) {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  const d = Math.floor(s / 86_400);
  const hrs = Math.floor((s % 86_400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d} d ${hrs} h` : hrs > 0 ? `${hrs} h ${min} min` : `${min} min`;
}

function power(p) {
  if (!p) return h('span', { class: 'muted-text', text: 'no Raspberry Pi firmware flags' });
  // The daemon puts the flags in words (daemon/health/throttling.ts), what holds now first.
  const lines = p.sentences;
  if (lines.length === 0) return h('span', { class: 'ok-text', text: 'no under-voltage or throttling since boot' });
  const now = p.underVoltage || p.frequencyCapped || p.throttled || p.softTempLimit;
  return h('ul', { class: ['power', now ? 'bad-text' : 'warn-text'] }, lines.map((line) => h('li', { text: line })));
}

function clock(c) {
  if (c.synchronized === null) return h('span', { class: 'muted-text', text: 'unknown' });
  if (c.synchronized) return `yes${c.via ? ` (${c.via})` : ''}`;
  return h('span', { class: 'bad-text', text: `no${c.via ? ` (${c.via})` : ''}: picture times may be off` });
}

/** Temperature, load, memory, uptime, power and clock of the last sample. */
export function healthCard(s) {
  const card = h('section', { class: 'card health' }, h('h2', { text: 'Health' }));
  if (!s) {
    card.append(h('p', { class: 'empty', text: 'No health sample yet.' }));
    return card;
  }
  const busy = s.load[0] > s.cpus;
  const memShare = s.memory.totalBytes > 0 ? Math.round((s.memory.availableBytes / s.memory.totalBytes) * 100) : null;
  card.append(
    kv([
      ['CPU temperature', s.cpuTempC === null ? h('span', { class: 'muted-text', text: 'unknown' }) : `${s.cpuTempC.toFixed(1)} °C`],
      ['Load', h('span', { class: busy ? 'warn-text' : null, text: `${s.load.map((l) => l.toFixed(2)).join(' · ')} on ${plural(s.cpus, 'core')}${busy ? ' (busy)' : ''}` })],
      ['Memory', `${bytes(s.memory.availableBytes)} available of ${bytes(s.memory.totalBytes)}${memShare === null ? '' : ` (${memShare}%)`}; lapsebox uses ${bytes(s.memory.processRssBytes)}`],
      ['Uptime', `${uptime(s.uptimeSeconds)} (lapsebox ${uptime(s.processUptimeSeconds)})`],
      ['Power', power(s.power)],
      ['Clock synchronised', clock(s.clock)],
    ]),
    h('p', { class: 'hint', text: `Measured ${t.shortDateTime(s.at)} (${t.relative(s.at)}).`, title: t.dateTime(s.at) }),
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
    h('strong', { text: `capture paused: ${pauseReason(storage.paused)}` }),
    h('span', { class: 'since', text: `Since ${t.shortDateTime(storage.paused.since)} (${t.relative(storage.paused.since)}).`, title: t.dateTime(storage.paused.since) }),
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
    h('h2', null, 'Storage', storage && storage.paused ? [' ', h('span', { class: 'badge bad', text: 'capture paused' })] : storage && storage.low ? [' ', h('span', { class: 'badge warn', text: 'low' })] : null),
    d ? h('meter', { min: 0, max: 100, low: 70, high: 90, optimum: 0, value: usedPercent, 'aria-label': 'Disk used' }) : null,
    kv([
      d ? ['Free', `${bytes(d.freeBytes)} of ${bytes(d.totalBytes)} (${d.freePercent}%)`] : null,
      disk ? ['Data folder', h('code', { text: disk.path })] : null,
      storage && storage.paused ? ['Capture', h('span', { class: 'bad-text', text: `paused since ${t.shortDateTime(storage.paused.since)}: ${pauseReason(storage.paused)}` })] : null,
      r ? ['Retention', r.maxAgeDays > 0 ? `pictures kept ${plural(r.maxAgeDays, 'day')}` : 'pictures kept until space is needed'] : null,
      r ? ['Guard', `oldest sent pictures deleted below ${r.minFreePercent}% free; capture pauses below ${r.reserveMB} MB`] : null,
      storage ? ['Waiting for sync', storage.waitingForSync > 0 ? `${plural(storage.waitingForSync, 'picture')} must reach a target before they may be deleted` : 'none'] : null,
      storage ? ['Last purge', purge ? `${t.shortDateTime(purge.at)}: ${plural(purge.pictures, 'picture')}, ${bytes(purge.bytes)} (${purge.why === 'age' ? 'by age' : 'for space'})` : 'none since start'] : null,
      storage && storage.purged.pictures > 0 ? ['Deleted since start', `${plural(storage.purged.pictures, 'picture')}, ${bytes(storage.purged.bytes)}`] : null,
    ]),
  );
}

/** Alerts raised now, most serious first (the server's order). */
export function alertsBlock(alerts) {
  if (!alerts || alerts.length === 0) return h('p', { class: 'empty alerts-none', text: 'No active alert.' });
  return h(
    'ul',
    { class: 'alerts' },
    alerts.map((a) =>
      h(
        'li',
        { class: ['alert', `severity-${a.severity}`], dataset: { alert: a.key } },
        h('span', { class: `badge ${a.severity === 'error' ? 'bad' : 'warn'}`, text: a.severity }),
        ' ',
        h('span', { class: 'message', text: a.message }),
        h('small', { class: 'since', text: `since ${t.shortDateTime(a.since)} (${t.relative(a.since)})`, title: t.dateTime(a.since) }),
      ),
    ),
  );
}

function channelCard(name, c) {
  const head = h('h3', null, name, ' ', c ? h('span', { class: `badge ${c.lastError || c.failed > 0 ? 'bad' : c.activity === 'sending' ? 'info' : c.configured ? 'ok' : 'muted'}`, text: c.configured ? c.activity : 'not configured' }) : h('span', { class: 'badge muted', text: 'not configured' }));
  if (!c) return h('article', { class: 'card channel', dataset: { channel: name } }, head, h('p', { class: 'empty', text: 'Not configured.' }));
  return h(
    'article',
    { class: 'card channel', dataset: { channel: name } },
    head,
    kv([
      ['Configured', c.configured ? c.destination || 'yes' : 'no (removed while messages still wait)'],
      ['Pending', `${plural(c.pending, 'message')}${c.oldestAt ? `, oldest ${t.relative(c.oldestAt)}` : ''}`],
      ['Last sent', c.lastSentAt ? t.shortDateTime(c.lastSentAt) : 'never'],
      c.nextAttemptAt ? ['Next try', t.shortDateTime(c.nextAttemptAt)] : null,
      c.failed > 0 ? ['Given up', plural(c.failed, 'message')] : null,
      ['Last error', c.lastError ? h('span', { class: 'bad-text', text: c.lastError }) : 'none'],
    ]),
  );
}

/** Webhook and e-mail: where alerts go and what waits for them. */
export function channelsBlock(notifications) {
  if (!notifications) return h('p', { class: 'empty', text: 'Alert channels are not running.' });
  return h('div', { class: 'cards channels' }, channelCard('webhook', notifications.webhook), channelCard('email', notifications.email));
}

/** Ticks at local hours that are a multiple of `step` hours; the day at midnight. */
function hourTicks(from, to, stepHours) {
  const ticks = [];
  for (let ms = Math.ceil(from / HOUR_MS) * HOUR_MS; ms <= to; ms += HOUR_MS) {
    const p = t.parts(ms);
    if (p.minute !== 0 || p.hour % stepHours !== 0) continue;
    ticks.push({ at: ms, label: p.hour === 0 ? t.dayMonth(ms) : t.hourMinute(ms) });
  }
  return ticks;
}

/**
 * Disk free (lowest of each hour) and CPU temperature (mean of each hour, when the
 * box knows it) over the last 48 hours; an empty state before the first full hour.
 */
export function historyChart(history, width) {
  const section = h('div', { class: 'history' });
  const points = history.points || [];
  if (points.length === 0) {
    section.append(h('p', { class: 'empty history-empty', text: 'No history yet: a point is added for every full hour the box runs.' }));
    return section;
  }
  const from = Date.parse(history.from);
  const to = Date.parse(history.to);
  const at = (p) => Date.parse(p.at);
  const disk = points.map((p) => [at(p), p.diskTotalBytes > 0 ? (p.diskFreeBytes / p.diskTotalBytes) * 100 : null]);
  const temps = points.filter((p) => p.cpuTempC !== null).map((p) => p.cpuTempC);
  const series = [{ key: 'disk', axis: 'left', min: 0, max: 100, format: (v) => `${Math.round(v)}%`, points: disk }];
  if (temps.length > 0) {
    // A scale from a cool box to a hot one, widened to what was seen; 4 steps of whole degrees.
    const lo = Math.floor(Math.min(40, ...temps) / 10) * 10;
    const hi = lo + Math.ceil((Math.max(80, ...temps) - lo) / 20) * 20;
    series.push({ key: 'temp', axis: 'right', min: lo, max: hi, format: (v) => `${Math.round(v)}°`, points: points.map((p) => [at(p), p.cpuTempC]) });
  }
  const w = Math.max(300, Math.min(1200, width));
  const last = points[points.length - 1];
  const lastDisk = disk[disk.length - 1][1];
  append(section, [
    timeChart({ from, to, width: w, label: `Disk free${temps.length ? ' and CPU temperature' : ''}, last 48 hours`, gapMs: 1.5 * HOUR_MS, xTicks: hourTicks(from, to, w < 560 ? 12 : 6), series }),
    legend([
      { key: 'disk', text: `Disk free, lowest of each hour${lastDisk === null ? '' : ` (${lastDisk.toFixed(1)}% at ${t.hourMinute(last.at)})`}` },
      temps.length ? { key: 'temp', text: `CPU temperature, mean of each hour${last.cpuTempC === null ? '' : ` (${last.cpuTempC.toFixed(1)} °C)`}` } : null,
    ].filter(Boolean)),
    temps.length ? null : h('p', { class: 'hint', text: 'CPU temperature: unknown on this box.' }),
  ]);
  return section;
}
