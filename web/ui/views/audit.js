// Who changed what and when, newest first, paged with `before`.
import { api } from '../api.js';
import { h, fill, spinner, errorBox, labelled, button } from '../dom.js';
import * as time from '../time.js';
import { t } from '../i18n.js';
import { replaceQuery } from '../router.js';

const PAGE = 50;

/** A changed value in a line: strings as they are, objects as "key: value" pairs. */
function value(v) {
  if (v === null || v === undefined) return '';
  const text =
    typeof v === 'string'
      ? v
      : v && typeof v === 'object' && !Array.isArray(v)
        ? Object.entries(v).map(([k, x]) => `${k}: ${typeof x === 'string' ? x : JSON.stringify(x)}`).join(', ')
        : JSON.stringify(v);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

// The column names, again on each cell for the stacked (phone) layout.
const COLUMNS = { when: t('audit.when'), who: t('audit.who'), action: t('audit.action'), target: t('audit.target'), change: t('audit.change') };

function row(e) {
  return h(
    'tr',
    { dataset: { entry: e.id } },
    h('td', { text: time.shortDateTime(e.at), title: time.dateTime(e.at), dataset: { label: COLUMNS.when } }),
    h('td', { dataset: { label: COLUMNS.who } }, h('strong', { text: e.actor || '' }), e.address ? h('small', { class: 'block', text: e.address }) : null),
    h('td', { dataset: { label: COLUMNS.action } }, h('code', { text: e.action })),
    h('td', { text: e.target || '', dataset: { label: COLUMNS.target } }),
    h('td', { class: 'change', dataset: { label: COLUMNS.change } }, e.oldValue !== null && e.oldValue !== undefined ? h('del', { text: value(e.oldValue) }) : null, ' ', e.newValue !== null && e.newValue !== undefined ? h('ins', { text: value(e.newValue) }) : null),
  );
}

export async function auditView(root, ctx) {
  const actor = h('input', { type: 'text', name: 'actor', value: ctx.query.get('actor') || '', placeholder: t('audit.anyActor') });
  const action = h('input', { type: 'text', name: 'action', value: ctx.query.get('action') || '', placeholder: t('audit.anyAction') });
  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'audit stack' }, h('thead', null, h('tr', null, [COLUMNS.when, COLUMNS.who, COLUMNS.action, COLUMNS.target, COLUMNS.change].map((x) => h('th', { text: x })))), tbody));

  const load = async (before) => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (before) q.set('before', before);
    if (actor.value.trim()) q.set('actor', actor.value.trim());
    if (action.value.trim()) q.set('action', action.value.trim());
    const answer = await api.get(`/api/audit?${q}`, ctx.signal);
    if (!before) tbody.replaceChildren();
    tbody.append(...answer.entries.map(row));
    if (!before && answer.entries.length === 0) tbody.append(h('tr', null, h('td', { colspan: 5, class: 'empty', text: t('audit.noEntries') })));
    fill(more, answer.next ? button(t('audit.olderEntries'), () => load(answer.next).catch((err) => more.append(errorBox(err))), { 'data-action': 'older' }) : null);
  };
  const form = h(
    'form',
    { class: 'filters row', onsubmit: (e) => {
      e.preventDefault();
      replaceQuery({ ...(actor.value ? { actor: actor.value } : {}), ...(action.value ? { action: action.value } : {}) });
      load().catch((err) => fill(more, errorBox(err)));
    } },
    labelled(COLUMNS.who, actor),
    labelled(COLUMNS.action, action),
    h('button', { type: 'submit', text: t('audit.filter') }),
  );
  fill(root, h('h1', { text: t('audit.title') }), spinner());
  await load();
  fill(root, h('h1', { text: t('audit.title') }), form, table, more);
}
