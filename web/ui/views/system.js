// The box's health: alerts, vital signs, storage, the last 48 hours, alert channels,
// versions, sync targets and their backlog, the fleet's MQTT broker, progress e-mails; recent events for
// maintainers (directors see the status read-only: nothing on this page changes anything).
import { api } from '../api.js';
import { h, fill, spinner, errorBox, bytes } from '../dom.js';
import { onResize } from '../chart.js';
import * as time from '../time.js';
import { t, tNodes, number } from '../i18n.js';
import { HISTORY_MS, alertsBlock, channelsBlock, healthCard, historyChart, pausedBanner, storageCard } from './health.js';

const REFRESH_MS = 30_000;

function kv(rows) {
  return h('dl', { class: 'kv' }, rows.filter(Boolean).map(([k, v]) => [h('dt', { text: k }), h('dd', null, v)]));
}

// The worker's words (`TargetActivity`), as the badge says them; an unknown one as it comes.
const SYNC_ACTIVITY = {
  idle: t('system.syncIdle'),
  connecting: t('system.syncConnecting'),
  sending: t('system.syncSending'),
  retrying: t('system.syncRetrying'),
  'host-key-mismatch': t('system.syncHostKeyMismatch'),
  'not-running': t('system.syncNotRunning'),
  unknown: t('system.syncUnknown'),
};

function target(s) {
  const backlog = s.backlog || s.pending || {};
  const pending = backlog.pending ?? backlog.files ?? 0;
  const activity = s.activity || s.state || 'unknown';
  // The badge says what the worker is doing now (the word `lapsebox sync status` uses); red while the target fails.
  const bad = Boolean(s.failingSince) || activity === 'host-key-mismatch' || activity === 'retrying';
  return h(
    'article',
    { class: 'card target', dataset: { target: s.id } },
    h('h3', null, s.id, ' ', h('small', { class: 'muted-text target-type', text: s.type === 's3' ? 'S3' : 'SFTP' }), ' ', h('span', { class: `badge ${bad ? 'bad' : activity === 'sending' || activity === 'connecting' ? 'info' : 'ok'}`, text: SYNC_ACTIVITY[activity] || activity })),
    kv([
      // SFTP: host[:port] /remote/dir/<box>; S3: s3://bucket/prefix/<box>/ at host[:port] (the port only when not the protocol's own).
      s.type === 's3'
        ? [t('system.bucket'), t('system.bucketAt', { dir: s.remoteDir, host: `${s.host}${s.port && s.port !== 443 && s.port !== 80 ? `:${s.port}` : ''}` })]
        : [t('system.server'), `${s.host}${s.port && s.port !== 22 ? `:${s.port}` : ''}${s.remoteDir ? ` ${s.remoteDir}` : ''}`],
      [
        t('system.waiting'),
        backlog.oldestAgeSeconds
          ? t('system.targetWaitingOldest', { count: pending, size: bytes(backlog.bytes), age: time.relative(new Date(Date.now() - backlog.oldestAgeSeconds * 1000)) })
          : t('system.targetWaiting', { count: pending, size: bytes(backlog.bytes) }),
      ],
      [
        t('system.sent'),
        s.sent
          ? s.sent.last
            ? t('system.targetSentLast', { files: s.sent.files, size: bytes(s.sent.bytes), age: time.relative(s.sent.last) })
            : t('system.targetSent', { files: s.sent.files, size: bytes(s.sent.bytes) })
          : '–',
      ],
      s.lastOk ? [t('system.lastSuccess'), time.dateTime(s.lastOk)] : null,
      s.failingSince ? [t('system.failingSince'), time.dateTime(s.failingSince)] : null,
      s.lastError ? [t('system.lastError'), h('span', { class: 'bad-text', text: `${s.lastError.message} (${time.relative(s.lastError.at)})` })] : null,
      s.nextAttemptAt ? [t('system.nextTry'), time.dateTime(s.nextAttemptAt)] : null,
    ]),
    s.failing && s.failing.length
      ? h('details', null, h('summary', { text: t('system.filesFailing', { count: s.failing.length }) }), h('ul', { class: 'failing' }, s.failing.map((f) => h('li', null, h('code', { text: f.file }), ' · ', t('system.fileAttempts', { count: f.attempts }), ' · ', f.error || ''))))
      : null,
  );
}

// The box-wide public switch, read-only here: it is switched on the Sources page.
function publicState(p) {
  if (p.enabled) return h('span', { class: 'public-state', text: t('system.publicOn') });
  return h('span', { class: 'bad-text public-state', text: t('system.publicOffSince', { since: time.shortDateTime(p.changedAt), user: p.changedBy }), title: time.dateTime(p.changedAt) });
}

// The link to the fleet's MQTT broker, in the words of `lapsebox status`: how it is and since
// when, what went out and what waits, what went wrong. Shown only with an mqtt section.
function mqttCard(m) {
  const words = { connected: t('system.mqttConnected'), connecting: t('system.mqttConnecting'), waiting: t('system.mqttNotConnected'), stopped: t('system.mqttStopped') };
  const tone = { connected: 'ok', connecting: 'info', waiting: 'bad', stopped: 'muted' }[m.activity] || 'muted';
  // In the box's time zone; the full date and time on hover.
  const at = (iso, format = time.shortDateTime) => h('time', { datetime: iso, title: time.dateTime(iso), text: format(iso) });
  // While not connected, `since` is when the link was lost (or the daemon started without one).
  const waiting = () => {
    const since = m.since ? at(m.since, time.time) : null;
    const next = m.nextAttemptAt ? at(m.nextAttemptAt, time.time) : null;
    if (since && next) return tNodes('system.mqttWaitingSinceNext', { since, next });
    if (since) return tNodes('system.mqttWaitingSince', { since });
    if (next) return tNodes('system.mqttWaitingNext', { next });
    return t('system.mqttWaiting');
  };
  const state =
    m.activity === 'connected' ? tNodes('system.mqttConnectedSince', { since: h('time', { datetime: m.since, text: time.dateTime(m.since) }) })
    : m.activity === 'waiting' ? waiting()
    : m.activity === 'connecting' ? (m.since ? tNodes('system.mqttConnectingSince', { since: at(m.since, time.time) }) : words.connecting)
    : words[m.activity] || m.activity;
  // The broker's message names the topic, most often; said once.
  const refused = m.refused && (m.refused.message.includes(m.refused.topic) ? m.refused.message : t('system.mqttRefusedOn', { topic: m.refused.topic, message: m.refused.message }));
  return h(
    'article',
    { class: 'card mqtt', dataset: { activity: m.activity } },
    h('h3', null, h('span', { class: 'broker', text: m.broker }), ' ', h('span', { class: `badge ${tone}`, text: words[m.activity] || m.activity })),
    kv([
      [t('system.mqttTopic'), h('code', { text: m.topic })],
      [t('system.mqttClientId'), h('code', { text: m.clientId })],
      [t('system.mqttState'), h('span', { class: 'state' }, state)],
      m.lastError ? [t('system.lastError'), h('span', { class: 'bad-text last-error', text: m.lastError })] : null,
      [t('system.mqttPublishedLabel'), m.lastPublishedAt ? tNodes('system.mqttPublishedLast', { count: m.published, last: at(m.lastPublishedAt) }) : t('system.mqttMessages', { count: m.published })],
      [t('system.waiting'), t('system.mqttMessages', { count: m.queued })],
      m.dropped > 0 ? [t('system.mqttDroppedLabel'), h('span', { class: 'warn-text', text: t('system.mqttDropped', { count: m.dropped }) })] : null,
      m.refused ? [t('system.mqttRefusedLabel'), h('span', { class: 'bad-text refused' }, tNodes('system.atReason', { at: at(m.refused.at), reason: refused }))] : null,
      // A product's name: the same in every language.
      ['Home Assistant', m.homeAssistant ? t('system.mqttHomeAssistantOn') : t('system.mqttHomeAssistantOff')],
      [t('system.mqttCommandsLabel'), m.commands ? t('system.mqttCommandsOn') : t('system.mqttCommandsOff')],
    ]),
  );
}

// A source's progress e-mails: when the next goes, the last sent, one waiting for a retry with
// its error, the last one given up or skipped and why, and recipients who get nothing.
function progressCard(p) {
  const at = (iso) => h('time', { datetime: iso, title: time.dateTime(iso), text: time.shortDateTime(iso) });
  const bad = p.problem || (p.lastProblem && p.lastProblem.state === 'failed');
  const badge = !p.enabled ? ['muted', t('system.progressOff')] : p.pending ? ['warn', p.pending.sending ? t('system.progressSending') : t('system.progressRetrying')] : bad ? ['bad', t('system.progressProblem')] : ['ok', t('system.progressOk')];
  return h(
    'article',
    { class: 'card progress', dataset: { progress: p.sourceId } },
    h('h3', null, p.sourceName, ' ', h('span', { class: `badge ${badge[0]}`, text: badge[1] })),
    kv([
      [t('system.progressRhythm'), `${p.content}, ${p.rhythm}`],
      [t('system.progressTo'), p.recipients.length ? p.recipients.join(', ') : h('span', { class: 'bad-text', text: t('system.progressNobody') })],
      p.withoutAddress.length ? [t('system.progressNoAddressLabel'), h('span', { class: 'warn-text', text: t('system.progressNoAddress', { names: p.withoutAddress.join(', ') }) })] : null,
      p.problem ? [t('system.progressProblemLabel'), h('span', { class: 'bad-text', text: p.problem })] : null,
      p.enabled ? [t('system.progressNext'), p.nextAt ? at(p.nextAt) : '–'] : null,
      [t('system.progressLastSentLabel'), p.lastSent ? tNodes('system.progressLastSent', { at: at(p.lastSent.at), count: p.lastSent.recipients }) : t('system.progressNoneYet')],
      p.pending
        ? [
            t('system.waiting'),
            h(
              'span',
              { class: 'warn-text pending' },
              p.pending.sending
                ? t('system.progressBeingSent')
                : p.pending.lastError
                  ? tNodes('system.progressRetryError', { count: p.pending.attempts, next: at(p.pending.nextAttemptAt), error: p.pending.lastError })
                  : tNodes('system.progressRetry', { count: p.pending.attempts, next: at(p.pending.nextAttemptAt) }),
            ),
          ]
        : null,
      p.lastProblem ? [p.lastProblem.state === 'failed' ? t('system.progressGivenUp') : t('system.progressSkipped'), h('span', { class: `${p.lastProblem.state === 'failed' ? 'bad' : 'warn'}-text last-problem` }, tNodes('system.atReason', { at: at(p.lastProblem.at), reason: p.lastProblem.reason }))] : null,
      p.failed > 0 ? [t('system.progressGivenUpInAll'), t('system.progressEmails', { count: p.failed })] : null,
    ]),
  );
}

// Each source's power relay as the daemon holds it now; one that cannot be opened says why and the fix.
function relays(list) {
  const words = { open: t('system.relayOpen'), simulated: t('system.relaySimulated'), waiting: t('system.relayOpening'), unavailable: t('system.relayUnavailable') };
  return h(
    'section',
    { class: 'card relays' },
    h('h2', { text: t('system.powerRelays') }),
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
            ? h('span', { class: 'bad-text', text: t('system.relayUnavailableSince', { message: r.unavailable.message, since: time.shortDateTime(r.unavailable.since) }) })
            : h('span', { text: `GPIO ${r.gpio}` }),
        ),
      ),
    ),
  );
}

function events(list) {
  if (list.length === 0) return h('p', { class: 'empty', text: t('system.noRecentEvents') });
  // The column names, again on each cell for the stacked (phone) layout.
  const label = { when: t('system.eventWhen'), kind: t('system.eventKind'), source: t('system.eventSource'), message: t('system.eventMessage') };
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'events stack' },
      h('thead', null, h('tr', null, [label.when, label.kind, label.source, label.message].map((x) => h('th', { text: x })))),
      h('tbody', null, list.map((e) => h('tr', null, h('td', { text: time.shortDateTime(e.at), title: time.dateTime(e.at), dataset: { label: label.when } }), h('td', { dataset: { label: label.kind } }, h('span', { class: 'badge', text: e.kind })), h('td', { text: e.source || e.target || '', dataset: { label: label.source } }), h('td', { text: e.since ? t('system.eventSince', { message: e.message, since: time.shortDateTime(e.since) }) : e.message, title: e.since ? time.dateTime(e.since) : undefined, dataset: { label: label.message } })))),
    ),
  );
}

/** The view's width less a card's padding and border. */
const chartWidth = (root) => (root.clientWidth || 360) - 28;

export async function systemView(root, ctx) {
  fill(root, h('h1', { text: t('system.title') }), spinner());
  const body = h('div');
  // The chart is drawn for the width it gets, so its text stays legible on a phone:
  // again when that changes (a phone turned, a window resized).
  const chart = { box: h('div'), history: null, width: 0 };
  const drawChart = (fresh) => {
    const width = chartWidth(root);
    if (!chart.history || (!fresh && Math.abs(width - chart.width) < 24)) return;
    chart.width = width;
    fill(chart.box, chart.history instanceof Error ? errorBox(chart.history, t('system.cannotLoadHistory')) : historyChart(chart.history, width));
  };
  onResize(ctx, () => drawChart(false));
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
      h('section', { class: 'alerts-block' }, h('h2', null, t('system.alerts'), s.alerts && s.alerts.length ? [' ', h('span', { class: 'badge bad', text: number(s.alerts.length) })] : null), alertsBlock(s.alerts)),
      h(
        'div',
        { class: 'cards two' },
        healthCard(s.health),
        storageCard(s.disk, s.storage),
        h('section', { class: 'card' }, h('h2', { text: t('system.appliance') }), kv([[t('system.applianceName'), s.appliance.name], [t('system.applianceId'), s.appliance.id], [t('system.timeZone'), s.appliance.timezone], ['lapsebox', s.versions.lapsebox], ['Node.js', s.versions.node], s.public ? [t('system.publicPictures'), publicState(s.public)] : null])),
      ),
      s.relays && s.relays.length ? relays(s.relays) : null,
      h('section', { class: 'card chart' }, h('h2', { text: t('system.last48Hours') }), chart.box),
      h('h2', { text: t('system.alertChannels') }),
      channelsBlock(s.notifications),
      h('h2', { text: t('system.syncTargets') }),
      s.sync && s.sync.targets.length ? h('div', { class: 'cards' }, s.sync.targets.map(target)) : h('p', { class: 'empty', text: t('system.noSyncTarget') }),
      // One card, the width of the page (`two` fits the cards to the row).
      s.mqtt ? [h('h2', { text: t('system.fleetBroker') }), h('div', { class: 'cards two' }, mqttCard(s.mqtt))] : null,
      s.progress && s.progress.length ? [h('h2', { text: t('system.progressEmailsTitle') }), h('div', { class: 'cards' }, s.progress.map(progressCard))] : null,
      ev ? [h('h2', { text: t('system.recentEvents') }), ev instanceof Error ? errorBox(ev, t('system.cannotLoadEvents')) : events(ev.events)] : null,
    );
  };
  await draw();
  fill(root, h('h1', { text: t('system.title') }), body);
  ctx.every(REFRESH_MS, () => draw().catch(() => {}));
}
