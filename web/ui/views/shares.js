// The Shares page: the user's share links (every link for a maintainer), what each
// opens, its state, uses and last use, and Revoke for those still active. The links
// themselves are not here: the box keeps only a hash of each (shown once, when made).
import { api, seg } from '../api.js';
import { h, fill, spinner, errorBox, labelled, button } from '../dom.js';
import { session } from '../session.js';
import * as t from '../time.js';
import { replaceQuery } from '../router.js';
import { periodText } from './common.js';
import { LEVEL_NAMES, SCOPE_NAMES } from './share.js';

const STATE_BADGES = { active: 'ok', expired: 'muted', revoked: 'bad' };

export async function sharesView(root, ctx) {
  const title = h('h1', { text: 'Share links' });
  fill(root, title, spinner());
  const filter = h('select', { name: 'source', 'aria-label': 'Source' });
  const list = h('div', { class: 'cards shares' });
  const notice = h('div', { class: 'notices', 'aria-live': 'polite' });
  let names = new Map();

  const opens = (s) => {
    if (s.scope === 'gallery') return periodText(s.from, s.to) || 'Every picture and film';
    if (s.scope === 'latest') return 'The live picture';
    if (s.scope === 'picture' && s.picture) return h('a', { href: `#/p/${s.picture}`, text: `Picture ${s.picture}` });
    if (s.scope === 'compare' && s.pictures) return ['Pictures ', h('a', { href: `#/p/${s.pictures[0]}`, text: String(s.pictures[0]) }), ' and ', h('a', { href: `#/p/${s.pictures[1]}`, text: String(s.pictures[1]) })];
    if (s.scope === 'video' && s.video) return h('a', { href: `#/s/${s.source}/videos`, text: `Film ${s.video}` });
    return SCOPE_NAMES[s.scope] || s.scope;
  };

  const card = (s) => {
    const problem = h('div', { class: 'notices' });
    const ended = s.state === 'revoked' ? ['Revoked', `${t.dateMinutes(s.revokedAt)}${s.revokedBy ? ` by ${s.revokedBy}` : ''}`] : [s.state === 'expired' ? 'Expired' : 'Expires', t.dateMinutes(s.expiresAt)];
    const revoke =
      s.state === 'active'
        ? button('Revoke', async () => {
            if (!confirm(`Revoke the link "${s.label || SCOPE_NAMES[s.scope]}" of ${names.get(s.source) || s.source}? Whoever has it can no longer open it, from now on.`)) return;
            revoke.disabled = true;
            try {
              const { share } = await api.del(`/api/shares/${seg(s.id)}`);
              el.replaceWith(card(share));
            } catch (err) {
              revoke.disabled = false;
              fill(problem, errorBox(err, 'Cannot revoke'));
            }
          }, { class: 'small danger', 'data-action': 'revoke' })
        : null;
    const el = h(
      'article',
      { class: 'card share-item', dataset: { share: s.id, state: s.state } },
      h('header', { class: 'row spread' }, h('h3', { class: 'share-label', text: s.label || SCOPE_NAMES[s.scope] || s.scope }), h('span', { class: `badge ${STATE_BADGES[s.state] || 'muted'}`, text: s.state })),
      h(
        'dl',
        { class: 'kv' },
        h('dt', { text: 'Source' }),
        h('dd', null, h('a', { href: `#/s/${s.source}`, class: 'source-name', text: names.get(s.source) || s.source })),
        h('dt', { text: 'Opens' }),
        h('dd', { class: 'opens' }, opens(s)),
        h('dt', { text: 'Level' }),
        h('dd', { class: 'level', text: LEVEL_NAMES[s.level] || s.level }),
        h('dt', { text: 'Made' }),
        h('dd', { title: t.dateTime(s.createdAt) }, t.dateMinutes(s.createdAt), session.isMaintainer && s.createdBy ? ` by ${s.createdBy}` : ''),
        h('dt', { text: ended[0] }),
        h('dd', { class: 'ends', text: ended[1] }),
        h('dt', { text: 'Opened' }),
        h('dd', { class: 'uses' }, s.uses === 0 ? 'never' : `${s.uses} time${s.uses === 1 ? '' : 's'}`, s.lastUsedAt ? `, last ${t.dateMinutes(s.lastUsedAt)} (${t.relative(s.lastUsedAt)})` : ''),
      ),
      revoke ? h('footer', { class: 'row' }, revoke) : null,
      problem,
    );
    return el;
  };

  const load = async () => {
    const source = filter.value;
    const { shares } = await api.get(`/api/shares${source ? `?source=${seg(source)}` : ''}`, ctx.signal);
    if (shares.length === 0) fill(list, h('p', { class: 'empty', text: source ? 'No share link of this source.' : 'No share link yet.' }));
    else fill(list, shares.map(card));
  };

  const { sources } = await api.get('/api/sources', ctx.signal);
  names = new Map(sources.map((s) => [s.id, s.name]));
  const wanted = ctx.query.get('source') || '';
  fill(filter, h('option', { value: '', text: 'All sources' }), sources.map((s) => h('option', { value: s.id, text: s.name, selected: s.id === wanted })));
  filter.addEventListener('change', () => {
    replaceQuery(filter.value ? { source: filter.value } : {});
    load().catch((err) => fill(notice, errorBox(err, 'Cannot load the links')));
  });
  await load();
  fill(
    root,
    title,
    h(
      'p',
      { class: 'hint' },
      session.isMaintainer ? 'Every share link of this box. ' : 'The links you made. ',
      'Make one with the Share button of a source, a picture, a film or a comparison. A link is shown only when it is made: to give it again, make a new one and revoke the old. Ended links stay listed for 30 days.',
    ),
    h('form', { class: 'filters row', onsubmit: (e) => e.preventDefault() }, labelled('Source', filter)),
    notice,
    list,
  );
}
