// The Shares page: the user's share links (every link for a maintainer), what each
// opens, its state, uses and last use, and Revoke for those still active. The links
// themselves are not here: the box keeps only a hash of each (shown once, when made).
import { api, seg } from '../api.js';
import { h, fill, spinner, errorBox, labelled, button } from '../dom.js';
import { t, tNodes } from '../i18n.js';
import { session } from '../session.js';
import * as time from '../time.js';
import { replaceQuery } from '../router.js';
import { periodText } from './common.js';
import { LEVEL_NAMES, SCOPE_NAMES } from './share.js';

const STATE_BADGES = { active: 'ok', expired: 'muted', revoked: 'bad' };
/** A link's state as its badge says it; `data-state` keeps the API's word. */
const STATE_NAMES = { active: t('shares.stateActive'), expired: t('shares.stateExpired'), revoked: t('shares.stateRevoked') };

export async function sharesView(root, ctx) {
  const title = h('h1', { text: t('shares.title') });
  fill(root, title, spinner());
  const filter = h('select', { name: 'source', 'aria-label': t('shares.source') });
  const list = h('div', { class: 'cards shares' });
  const notice = h('div', { class: 'notices', 'aria-live': 'polite' });
  let names = new Map();

  const opens = (s) => {
    if (s.scope === 'gallery') return periodText(s.from, s.to) || t('shares.opensGallery');
    if (s.scope === 'latest') return t('shares.opensLatest');
    if (s.scope === 'picture' && s.picture) return h('a', { href: `#/p/${s.picture}`, text: t('shares.opensPicture', { id: s.picture }) });
    if (s.scope === 'compare' && s.pictures) {
      return tNodes('shares.opensCompare', {
        first: h('a', { href: `#/p/${s.pictures[0]}`, text: String(s.pictures[0]) }),
        second: h('a', { href: `#/p/${s.pictures[1]}`, text: String(s.pictures[1]) }),
      });
    }
    if (s.scope === 'video' && s.video) return h('a', { href: `#/s/${s.source}/videos`, text: t('shares.opensVideo', { id: s.video }) });
    return SCOPE_NAMES[s.scope] || s.scope;
  };

  const card = (s) => {
    const problem = h('div', { class: 'notices' });
    const ended =
      s.state === 'revoked'
        ? [t('shares.revoked'), s.revokedBy ? t('shares.dateBy', { date: time.dateMinutes(s.revokedAt), user: s.revokedBy }) : time.dateMinutes(s.revokedAt)]
        : [s.state === 'expired' ? t('shares.expired') : t('shares.expires'), time.dateMinutes(s.expiresAt)];
    const uses = t('shares.uses', { uses: s.uses });
    const revoke =
      s.state === 'active'
        ? button(t('shares.revoke'), async () => {
            if (!confirm(t('shares.revokeConfirm', { label: s.label || SCOPE_NAMES[s.scope], source: names.get(s.source) || s.source }))) return;
            revoke.disabled = true;
            try {
              const { share } = await api.del(`/api/shares/${seg(s.id)}`);
              el.replaceWith(card(share));
            } catch (err) {
              revoke.disabled = false;
              fill(problem, errorBox(err, t('shares.cannotRevoke')));
            }
          }, { class: 'small danger', 'data-action': 'revoke' })
        : null;
    const el = h(
      'article',
      { class: 'card share-item', dataset: { share: s.id, state: s.state } },
      h('header', { class: 'row spread' }, h('h3', { class: 'share-label', text: s.label || SCOPE_NAMES[s.scope] || s.scope }), h('span', { class: `badge ${STATE_BADGES[s.state] || 'muted'}`, text: STATE_NAMES[s.state] || s.state })),
      h(
        'dl',
        { class: 'kv' },
        h('dt', { text: t('shares.source') }),
        h('dd', null, h('a', { href: `#/s/${s.source}`, class: 'source-name', text: names.get(s.source) || s.source })),
        h('dt', { text: t('shares.opens') }),
        h('dd', { class: 'opens' }, opens(s)),
        h('dt', { text: t('shares.level') }),
        h('dd', { class: 'level', text: LEVEL_NAMES[s.level] || s.level }),
        h('dt', { text: t('shares.made') }),
        h('dd', { title: time.dateTime(s.createdAt) }, session.isMaintainer && s.createdBy ? t('shares.dateBy', { date: time.dateMinutes(s.createdAt), user: s.createdBy }) : time.dateMinutes(s.createdAt)),
        h('dt', { text: ended[0] }),
        h('dd', { class: 'ends', text: ended[1] }),
        h('dt', { text: t('shares.opened') }),
        h('dd', { class: 'uses' }, s.lastUsedAt ? t('shares.usesLast', { uses, date: time.dateMinutes(s.lastUsedAt), ago: time.relative(s.lastUsedAt) }) : uses),
      ),
      revoke ? h('footer', { class: 'row' }, revoke) : null,
      problem,
    );
    return el;
  };

  const load = async () => {
    const source = filter.value;
    const { shares } = await api.get(`/api/shares${source ? `?source=${seg(source)}` : ''}`, ctx.signal);
    if (shares.length === 0) fill(list, h('p', { class: 'empty', text: source ? t('shares.emptySource') : t('shares.empty') }));
    else fill(list, shares.map(card));
  };

  const { sources } = await api.get('/api/sources', ctx.signal);
  names = new Map(sources.map((s) => [s.id, s.name]));
  const wanted = ctx.query.get('source') || '';
  fill(filter, h('option', { value: '', text: t('shares.allSources') }), sources.map((s) => h('option', { value: s.id, text: s.name, selected: s.id === wanted })));
  filter.addEventListener('change', () => {
    replaceQuery(filter.value ? { source: filter.value } : {});
    load().catch((err) => fill(notice, errorBox(err, t('shares.cannotLoad'))));
  });
  await load();
  fill(
    root,
    title,
    h('p', { class: 'hint', text: session.isMaintainer ? t('shares.hintMaintainer') : t('shares.hintOwn') }),
    h('form', { class: 'filters row', onsubmit: (e) => e.preventDefault() }, labelled(t('shares.source'), filter)),
    notice,
    list,
  );
}
