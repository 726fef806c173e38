// Every source the user may see, as a card with its latest picture and status; above them,
// for directors and maintainers, the box-wide public switch.
import { api, apiUrl } from '../api.js';
import { h, fill, errorBox, spinner, button } from '../dom.js';
import { session } from '../session.js';
import * as t from '../time.js';
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
      { href, class: 'thumb-link', 'aria-label': `Open ${source.name}` },
      pictureId ? h('img', { src: apiUrl(`/api/pictures/${pictureId}/thumb`), alt: '', width: 320, height: 180, loading: 'lazy', decoding: 'async' }) : h('span', { class: 'no-picture', text: 'No picture yet' }),
    ),
    h('div', { class: 'card-body' }, h('h2', null, h('a', { href, class: 'source-name', text: source.name })), h('p', { class: 'badges' }, statusBadges(source)), sourceFacts(source)),
  );
}

// The box-wide public switch (issue 22), on the page a director lands on: after an accident on
// site, every public picture and embed page is one press (and a confirmation) away from off.
const SWITCH_OFF = 'Switch off the public pictures of every source? Websites that embed them show "switched off" instead, at once, until you switch them back on.';
const SWITCH_ON = 'Switch the public pictures back on? Sources set as public are shown to anyone again, on websites that embed them too.';

function publicSwitch(box) {
  const render = (state, err) => {
    const since = state.changedAt ? h('span', { class: 'since', text: `Since ${t.shortDateTime(state.changedAt)} (${t.relative(state.changedAt)}), by ${state.changedBy}.`, title: t.dateTime(state.changedAt) }) : null;
    const flip = async (btn, enabled, question) => {
      if (!confirm(question)) return;
      btn.disabled = true;
      try {
        render(await api.put('/api/public', { enabled }));
      } catch (e) {
        render(state, e);
      }
    };
    const problem = err ? errorBox(err, 'The switch did not change') : null;
    if (state.enabled) {
      const off = button('Switch public pictures off', () => flip(off, false, SWITCH_OFF), { class: 'danger', 'data-action': 'public-off' });
      fill(box, h('div', { class: 'card public-switch', dataset: { public: 'on' } }, h('p', { class: 'what' }, h('strong', { text: 'Public pictures: ' }), h('span', { class: 'badge ok', text: 'on' }), ' Sources set as public are shown to anyone, on websites that embed them too.'), off), problem);
    } else {
      const on = button('Switch public pictures back on', () => flip(on, true, SWITCH_ON), { class: 'primary', 'data-action': 'public-on' });
      fill(box, h('div', { class: 'banner bad public-switch', role: 'alert', dataset: { public: 'off' } }, h('p', { class: 'what' }, h('strong', { text: 'Public pictures are switched off.' }), ' Every public picture and embed page of this box answers "not found".', since), on), problem);
    }
  };
  return {
    load: async (signal) => {
      try {
        render(await api.get('/api/public', signal));
      } catch (err) {
        if (err.name === 'AbortError') throw err;
        fill(box, errorBox(err, 'Cannot read the public switch'));
      }
    },
  };
}

export async function galleryView(root, ctx) {
  fill(root, h('h1', { text: 'Sources' }), spinner());
  const grid = h('div', { class: 'cards' });
  const switchBox = h('div', { class: 'public-switch-box' });
  const control = session.isDirector ? publicSwitch(switchBox) : null;
  const load = async () => {
    const [{ sources }] = await Promise.all([api.get('/api/sources', ctx.signal), control ? control.load(ctx.signal) : null]);
    if (sources.length === 0) fill(grid, h('p', { class: 'empty', text: 'No source to show. Ask the people who run this box to give you access.' }));
    else fill(grid, sources.map(card));
  };
  await load();
  fill(root, h('h1', { text: 'Sources' }), control ? switchBox : null, grid);
  ctx.every(REFRESH_MS, () => load().catch((err) => grid.prepend(errorBox(err, 'Refresh failed'))));
}
