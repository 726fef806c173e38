// The box's health: alerts, vital signs, storage, the last 48 hours, alert channels,
// versions, sync targets and their backlog, the fleet's MQTT broker, progress e-mails; recent events for
// maintainers (directors see the status read-only: nothing on this page changes anything).
import { api } from '../api.js';
import { h, fill, spinner, errorBox, bytes } from '../dom.js';
import * as t from '../time.js';
import { HISTORY_MS, alertsBlock, channelsBlock, healthCard, historyChart, pausedBanner, storageCard } from './health.js';

const REFRESH_MS = 30_000;

function kv(rows) {
  return h('dl', { class: 'kv' }, rows.filter(Boolean).map(([k, v]) => [h('dt', { text: k }), h('dd', null, v)]));
}

function target(s) {
  const backlog = s.backlog || s.pending || {};
  const pending = backlog.pending ?? backlog.files ?? 0;
  const activity = s.activity || s.state || 'unknown';
  // The badge says what the worker is doing now (the word `lapsebox sync status` uses); red while the target fails.
  const bad = Boolean(s.failingSince) || activity === 'host-key-mismatch' || activity === 'retrying';
  return h(
    'article',
    { class: 'card target', dataset: { target: s.id } },
    h('h3', null, s.id, ' ', h('small', { class: 'muted-text target-type', text: s.type === 's3' ? 'S3' : 'SFTP' }), ' ', h('span', { class: `badge ${bad ? 'bad' : activity === 'sending' || activity === 'connecting' ? 'info' : 'ok'}`, text: activity })),
    kv([
      // SFTP: host[:port] /remote/dir/<box>; S3: s3://bucket/prefix/<box>/ at host[:port] (the port only when not the protocol's own).
      s.type === 's3'
        ? ['Bucket', `${s.remoteDir} at ${s.host}${s.port && s.port !== 443 && s.port !== 80 ? `:${s.port}` : ''}`]
        : ['Server', `${s.host}${s.port && s.port !== 22 ? `:${s.port}` : ''}${s.remoteDir ? ` ${s.remoteDir}` : ''}`],
      ['Waiting', `${pending} file${pending === 1 ? '' : 's'}, ${bytes(backlog.bytes)}${backlog.oldestAgeSeconds ? `, oldest ${t.relative(new Date(Date.now() - backlog.oldestAgeSeconds * 1000))}` : ''}`],
      ['Sent', s.sent ? `${s.sent.files} files, ${bytes(s.sent.bytes)}${s.sent.last ? `, last ${t.relative(s.sent.last)}` : ''}` : '–'],
      s.lastOk ? ['Last success', t.dateTime(s.lastOk)] : null,
      s.failingSince ? ['Failing since', t.dateTime(s.failingSince)] : null,
      s.lastError ? ['Last error', h('span', { class: 'bad-text', text: `${s.lastError.message} (${t.relative(s.lastError.at)})` })] : null,
      s.nextAttemptAt ? ['Next try', t.dateTime(s.nextAttemptAt)] : null,
    ]),
    s.failing && s.failing.length
      ? h('details', null, h('summary', { text: `${s.failing.length} file${s.failing.length > 1 ? 's' : ''} failing` }), h('ul', { class: 'failing' }, s.failing.map((f) => h('li', null, h('code', { text: f.file }), ` · ${f.attempts} attempts · `, f.error || ''))))
      : null,
  );
}

// The box-wide public switch, read-only here: it is switched on the Sources page.
function publicState(p) {
  if (p.enabled) return h('span', { class: 'public-state', text: 'on' });
  return h('span', { class: 'bad-text public-state', text: `off since ${t.shortDateTime(p.changedAt)}, by ${p.changedBy} (switched on the Sources page)`, title: t.dateTime(p.changedAt) });
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

// The link to the fleet's MQTT broker, in the words of `lapsebox status`: how it is and since
// when, what went out and what waits, what went wrong. Shown only with an mqtt section.
function mqttCard(m) {
  const words = { connected: 'connected', connecting: 'connecting', waiting: 'not connected', stopped: 'stopped' };
  const tone = { connected: 'ok', connecting: 'info', waiting: 'bad', stopped: 'muted' }[m.activity] || 'muted';
  // In the box's time zone; the full date and time on hover.
  const at = (iso, format = t.shortDateTime) => h('time', { datetime: iso, title: t.dateTime(iso), text: format(iso) });
  // While not connected, `since` is when the link was lost (or the daemon started without one).
  const state =
    m.activity === 'connected' ? ['connected since ', h('time', { datetime: m.since, text: t.dateTime(m.since) })]
    : m.activity === 'waiting' ? ['not connected', m.since ? [' since ', at(m.since, t.time)] : null, ': waiting', m.nextAttemptAt ? [', next try at ', at(m.nextAttemptAt, t.time)] : null]
    : m.activity === 'connecting' ? ['connecting', m.since ? [' since ', at(m.since, t.time)] : null]
    : words[m.activity] || m.activity;
  // The broker's message names the topic, most often; said once.
  const refused = m.refused && (m.refused.message.includes(m.refused.topic) ? m.refused.message : `on ${m.refused.topic}: ${m.refused.message}`);
  return h(
    'article',
    { class: 'card mqtt', dataset: { activity: m.activity } },
    h('h3', null, h('span', { class: 'broker', text: m.broker }), ' ', h('span', { class: `badge ${tone}`, text: words[m.activity] || m.activity })),
    kv([
      ['Topic', h('code', { text: m.topic })],
      ['Client id', h('code', { text: m.clientId })],
      ['State', h('span', { class: 'state' }, state)],
      m.lastError ? ['Last error', h('span', { class: 'bad-text last-error', text: m.lastError })] : null,
      ['Published', [plural(m.published, 'message'), m.lastPublishedAt ? [', last at ', at(m.lastPublishedAt)] : null]],
      ['Waiting', plural(m.queued, 'message')],
      m.dropped > 0 ? ['Dropped', h('span', { class: 'warn-text', text: `${plural(m.dropped, 'event')}: too many waited while the broker was away` })] : null,
      m.refused ? ['Refused', h('span', { class: 'bad-text refused' }, at(m.refused.at), `: ${refused}`)] : null,
      ['Home Assistant', m.homeAssistant ? 'discovery on' : 'off'],
      ['Commands', m.commands ? 'on: capture and enable or disable sources over MQTT' : 'off'],
    ]),
  );
}

// A source's progress e-mails: when the next goes, the last sent, one waiting for a retry with
// its error, the last one given up or skipped and why, and recipients who get nothing.
function progressCard(p) {
  const at = (iso) => h('time', { datetime: iso, title: t.dateTime(iso), text: t.shortDateTime(iso) });
  const bad = p.problem || (p.lastProblem && p.lastProblem.state === 'failed');
  const badge = !p.enabled ? ['muted', 'off'] : p.pending ? ['warn', p.pending.sending ? 'sending' : 'retrying'] : bad ? ['bad', 'problem'] : ['ok', 'ok'];
  return h(
    'article',
    { class: 'card progress', dataset: { progress: p.sourceId } },
    h('h3', null, p.sourceName, ' ', h('span', { class: `badge ${badge[0]}`, text: badge[1] })),
    kv([
      ['Rhythm', `${p.content}, ${p.rhythm}`],
      ['To', p.recipients.length ? p.recipients.join(', ') : h('span', { class: 'bad-text', text: 'nobody' })],
      p.withoutAddress.length ? ['No address', h('span', { class: 'warn-text', text: `${p.withoutAddress.join(', ')} (get nothing)` })] : null,
      p.problem ? ['Problem', h('span', { class: 'bad-text', text: p.problem })] : null,
      p.enabled ? ['Next', p.nextAt ? at(p.nextAt) : '–'] : null,
      ['Last sent', p.lastSent ? [at(p.lastSent.at), `, to ${plural(p.lastSent.recipients, 'recipient')}`] : 'none yet'],
      p.pending
        ? ['Waiting', h('span', { class: 'warn-text pending' }, p.pending.sending ? 'being sent' : [`${plural(p.pending.attempts, 'failed attempt')}, next try `, at(p.pending.nextAttemptAt), p.pending.lastError ? `: ${p.pending.lastError}` : ''])]
        : null,
      p.lastProblem ? [p.lastProblem.state === 'failed' ? 'Given up' : 'Skipped', h('span', { class: `${p.lastProblem.state === 'failed' ? 'bad' : 'warn'}-text last-problem` }, at(p.lastProblem.at), `: ${p.lastProblem.reason}`)] : null,
      p.failed > 0 ? ['Given up in all', plural(p.failed, 'e-mail')] : null,
    ]),
  );
}

// Each source's power relay as the daemon holds it now; one that cannot be opened says why and the fix.
function relays(list) {
  const words = { open: 'ok', simulated: 'simulated', waiting: 'opening', unavailable: 'unavailable' };
  return h(
    'section',
    { class: 'card relays' },
    h('h2', { text: 'Power relays' }),
    h(
      'ul',
      { class: 'relays' },
      list.map((r) =>
        h(
          'li',
          { dataset: { relay: r.sourceId } },
          h('strong', { text: r.sourceId }),
          ' ',
          h('span', { class: `badge ${r.unavailable ? 'bad' : r.state === 'open' ? 'ok' : 'muted'}`, text: words[r.state] || r.state }),
          ' ',
          r.unavailable
            ? h('span', { class: 'bad-text', text: `relay unavailable: ${r.unavailable.message}; no power cycle for this camera (since ${t.shortDateTime(r.unavailable.since)})` })
            : h('span', { text: `GPIO ${r.gpio}` }),
        ),
      ),
    ),
  );
}

function events(list) {
  if (list.length === 0) return h('p', { class: 'empty', text: 'No recent events.' });
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'events stack' },
      h('thead', null, h('tr', null, ['When', 'Kind', 'Source', 'Message'].map((x) => h('th', { text: x })))),
      h('tbody', null, list.map((e) => h('tr', null, h('td', { text: t.shortDateTime(e.at), title: t.dateTime(e.at), dataset: { label: 'When' } }), h('td', { dataset: { label: 'Kind' } }, h('span', { class: 'badge', text: e.kind })), h('td', { text: e.source || e.target || '', dataset: { label: 'Source' } }), h('td', { text: e.since ? `${e.message} (since ${t.shortDateTime(e.since)})` : e.message, title: e.since ? t.dateTime(e.since) : undefined, dataset: { label: 'Message' } })))),
    ),
  );
}

/** The view's width less a card's padding and border. */
const chartWidth = (root) => (root.clientWidth || 360) - 28;

export async function systemView(root, ctx) {
  fill(root, h('h1', { text: 'System' }), spinner());
  const body = h('div');
  // The chart is drawn for the width it gets, so its text stays legible on a phone:
  // again when that changes (a phone turned, a window resized).
  const chart = { box: h('div'), history: null, width: 0 };
  const drawChart = (fresh) => {
    const width = chartWidth(root);
    if (!chart.history || (!fresh && Math.abs(width - chart.width) < 24)) return;
    chart.width = width;
    fill(chart.box, chart.history instanceof Error ? errorBox(chart.history, 'Cannot load the history') : historyChart(chart.history, width));
  };
  let resizing = 0;
  const onResize = () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => drawChart(false), 150);
  };
  window.addEventListener('resize', onResize);
  ctx.onLeave(() => {
    window.removeEventListener('resize', onResize);
    clearTimeout(resizing);
  });
  const draw = async () => {
    const to = Date.now();
    const [s, ev, history] = await Promise.all([
      api.get('/api/system', ctx.signal),
      // Events: maintainers (directors too where the box allows it; a 403 just hides them).
      api.get('/api/events?limit=50', ctx.signal).catch((err) => (err.status === 403 ? null : err)),
      // A chart that cannot load leaves the rest of the page alone.
      api.get(`/api/system/history?resolution=hour&from=${encodeURIComponent(new Date(to - HISTORY_MS).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}`, ctx.signal).catch((err) => (err.name === 'AbortError' ? Promise.reject(err) : err)),
    ]);
    chart.history = history;
    drawChart(true);
    fill(
      body,
      pausedBanner(s.storage),
      h('section', { class: 'alerts-block' }, h('h2', null, 'Alerts', s.alerts && s.alerts.length ? [' ', h('span', { class: 'badge bad', text: String(s.alerts.length) })] : null), alertsBlock(s.alerts)),
      h(
        'div',
        { class: 'cards two' },
        healthCard(s.health),
        storageCard(s.disk, s.storage),
        h('section', { class: 'card' }, h('h2', { text: 'Appliance' }), kv([['Name', s.appliance.name], ['Id', s.appliance.id], ['Time zone', s.appliance.timezone], ['lapsebox', s.versions.lapsebox], ['Node.js', s.versions.node], s.public ? ['Public pictures', publicState(s.public)] : null])),
      ),
      s.relays && s.relays.length ? relays(s.relays) : null,
      h('section', { class: 'card chart' }, h('h2', { text: 'Last 48 hours' }), chart.box),
      h('h2', { text: 'Alert channels' }),
      channelsBlock(s.notifications),
      h('h2', { text: 'Sync targets' }),
      s.sync && s.sync.targets.length ? h('div', { class: 'cards' }, s.sync.targets.map(target)) : h('p', { class: 'empty', text: 'No sync target configured.' }),
      // One card, the width of the page (`two` fits the cards to the row).
      s.mqtt ? [h('h2', { text: 'Fleet broker (MQTT)' }), h('div', { class: 'cards two' }, mqttCard(s.mqtt))] : null,
      s.progress && s.progress.length ? [h('h2', { text: 'Progress e-mails' }), h('div', { class: 'cards' }, s.progress.map(progressCard))] : null,
      ev ? [h('h2', { text: 'Recent events' }), ev instanceof Error ? errorBox(ev, 'Cannot load the events') : events(ev.events)] : null,
    );
  };
  await draw();
  fill(root, h('h1', { text: 'System' }), body);
  ctx.every(REFRESH_MS, () => draw().catch(() => {}));
}
