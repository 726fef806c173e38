// Every source the user may see, as a card with its latest picture and status; above them,
// for directors and maintainers, the box-wide public switch.
import { api, apiUrl } from '../api.js';
import { h, fill, errorBox, spinner, button } from '../dom.js';
import { session } from '../session.js';
import * as time from '../time.js';
import { t } from '../i18n.js';
import { latestPictureId, sourceFacts, statusBadges } from './common.js';

const REFRESH_MS = 60_000;

function card(source) {
  const pictureId = latestPictureId(source);
  const href = `#/s/${source.id}`;
  return h(
    'article',
    { class: 'card source-card', dataset: { source: source.id } },
    h(
      'a',
      { href, class: 'thumb-link', 'aria-label': t('gallery.open', { name: source.name }) },
      pictureId ? h('img', { src: apiUrl(`/api/pictures/${pictureId}/thumb`), alt: '', width: 320, height: 180, loading: 'lazy', decoding: 'async' }) : h('span', { class: 'no-picture', text: t('gallery.noPicture') }),
    ),
    h('div', { class: 'card-body' }, h('h2', null, h('a', { href, class: 'source-name', text: source.name })), h('p', { class: 'badges' }, statusBadges(source)), sourceFacts(source)),
  );
}

// The box-wide public switch (issue 22), on the page a director lands on: after an accident on
// site, every public picture and embed page is one press (and a confirmation) away from off.
const SWITCH_OFF = t('gallery.confirmOff');
const SWITCH_ON = t('gallery.confirmOn');

function publicSwitch(box) {
  const render = (state, err) => {
    const since = state.changedAt ? h('span', { class: 'since', text: t('gallery.since', { when: time.shortDateTime(state.changedAt), ago: time.relative(state.changedAt), user: state.changedBy }), title: time.dateTime(state.changedAt) }) : null;
    const flip = async (btn, enabled, question) => {
      if (!confirm(question)) return;
      btn.disabled = true;
      try {
        render(await api.put('/api/public', { enabled }));
      } catch (e) {
        render(state, e);
      }
    };
    const problem = err ? errorBox(err, t('gallery.switchFailed')) : null;
    if (state.enabled) {
      const off = button(t('gallery.switchOff'), () => flip(off, false, SWITCH_OFF), { class: 'danger', 'data-action': 'public-off' });
      fill(box, h('div', { class: 'card public-switch', dataset: { public: 'on' } }, h('p', { class: 'what' }, h('strong', { text: `${t('gallery.publicLead')} ` }), h('span', { class: 'badge ok', text: t('gallery.publicOn') }), ` ${t('gallery.publicOnText')}`), off), problem);
    } else {
      const on = button(t('gallery.switchOn'), () => flip(on, true, SWITCH_ON), { class: 'primary', 'data-action': 'public-on' });
      fill(box, h('div', { class: 'banner bad public-switch', role: 'alert', dataset: { public: 'off' } }, h('p', { class: 'what' }, h('strong', { text: t('gallery.publicOff') }), ` ${t('gallery.publicOffText')}`, since), on), problem);
    }
  };
  return {
    load: async (signal) => {
      try {
        render(await api.get('/api/public', signal));
      } catch (err) {
        if (err.name === 'AbortError') throw err;
        fill(box, errorBox(err, t('gallery.readFailed')));
      }
    },
  };
}

export async function galleryView(root, ctx) {
  fill(root, h('h1', { text: t('gallery.title') }), spinner());
  const grid = h('div', { class: 'cards' });
  const switchBox = h('div', { class: 'public-switch-box' });
  const control = session.isDirector ? publicSwitch(switchBox) : null;
  const load = async () => {
    const [{ sources }] = await Promise.all([api.get('/api/sources', ctx.signal), control ? control.load(ctx.signal) : null]);
    if (sources.length === 0) fill(grid, h('p', { class: 'empty', text: t('gallery.empty') }));
    else fill(grid, sources.map(card));
  };
  await load();
  fill(root, h('h1', { text: t('gallery.title') }), control ? switchBox : null, grid);
  ctx.every(REFRESH_MS, () => load().catch((err) => grid.prepend(errorBox(err, t('gallery.refreshFailed')))));
}
