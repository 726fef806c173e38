// The box's health: disk, versions, sync targets and their backlog; recent events
// for maintainers (directors see the status read-only).
import { api } from '../api.js';
import { h, fill, spinner, errorBox, bytes } from '../dom.js';
import * as t from '../time.js';

const REFRESH_MS = 30_000;

function kv(rows) {
  return h('dl', { class: 'kv' }, rows.filter(Boolean).map(([k, v]) => [h('dt', { text: k }), h('dd', null, v)]));
}

function target(s) {
  const backlog = s.backlog || s.pending || {};
  const pending = backlog.pending ?? backlog.files ?? 0;
  const activity = s.activity || s.state || 'unknown';
  const bad = Boolean(s.failingSince) || activity === 'host-key-mismatch' || activity === 'retrying';
  const state = s.failingSince && activity !== 'host-key-mismatch' ? 'failing' : activity;
  return h(
    'article',
    { class: 'card target', dataset: { target: s.id } },
    h('h3', null, s.id, ' ', h('span', { class: `badge ${bad ? 'bad' : state === 'sending' ? 'info' : 'ok'}`, text: state })),
    kv([
      ['Server', `${s.host}${s.port && s.port !== 22 ? `:${s.port}` : ''}${s.remoteDir ? ` ${s.remoteDir}` : ''}`],
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

function events(list) {
  if (list.length === 0) return h('p', { class: 'empty', text: 'No recent events.' });
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'events' },
      h('thead', null, h('tr', null, ['When', 'Kind', 'Source', 'Message'].map((x) => h('th', { text: x })))),
      h('tbody', null, list.map((e) => h('tr', null, h('td', { text: t.shortDateTime(e.at), title: t.dateTime(e.at) }), h('td', null, h('span', { class: 'badge', text: e.kind })), h('td', { text: e.source || e.target || '' }), h('td', { text: e.message })))),
    ),
  );
}

export async function systemView(root, ctx) {
  fill(root, h('h1', { text: 'System' }), spinner());
  const body = h('div');
  const draw = async () => {
    const [s, ev] = await Promise.all([
      api.get('/api/system', ctx.signal),
      // Events: maintainers (directors too where the box allows it; a 403 just hides them).
      api.get('/api/events?limit=50', ctx.signal).catch((err) => (err.status === 403 ? null : err)),
    ]);
    const usedPercent = s.disk ? Math.round(100 - s.disk.freePercent) : 0;
    fill(
      body,
      h(
        'div',
        { class: 'cards two' },
        h('section', { class: 'card' }, h('h2', { text: 'Appliance' }), kv([['Name', s.appliance.name], ['Id', s.appliance.id], ['Time zone', s.appliance.timezone], ['lapsebox', s.versions.lapsebox], ['Node.js', s.versions.node]])),
        s.disk
          ? h(
              'section',
              { class: 'card disk' },
              h('h2', { text: 'Disk' }),
              h('meter', { min: 0, max: 100, low: 70, high: 90, optimum: 0, value: usedPercent, 'aria-label': 'Disk used' }),
              kv([['Free', `${bytes(s.disk.freeBytes)} of ${bytes(s.disk.totalBytes)} (${s.disk.freePercent}%)`], ['Data folder', h('code', { text: s.disk.path })]]),
            )
          : null,
      ),
      h('h2', { text: 'Sync targets' }),
      s.sync && s.sync.targets.length ? h('div', { class: 'cards' }, s.sync.targets.map(target)) : h('p', { class: 'empty', text: 'No sync target configured.' }),
      ev ? [h('h2', { text: 'Recent events' }), ev instanceof Error ? errorBox(ev, 'Cannot load the events') : events(ev.events)] : null,
    );
  };
  await draw();
  fill(root, h('h1', { text: 'System' }), body);
  ctx.every(REFRESH_MS, () => draw().catch(() => {}));
}
