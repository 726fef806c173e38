// Every source the user may see, as a card with its latest picture and status.
import { api } from '../api.js';
import { h, fill, errorBox, spinner } from '../dom.js';
import { latestPictureId, statusBadges, statusLines } from './common.js';

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
      pictureId ? h('img', { src: `/api/pictures/${pictureId}/thumb`, alt: '', width: 320, height: 180, loading: 'lazy', decoding: 'async' }) : h('span', { class: 'no-picture', text: 'No picture yet' }),
    ),
    h('div', { class: 'card-body' }, h('h2', null, h('a', { href, class: 'source-name', text: source.name })), h('p', { class: 'badges' }, statusBadges(source)), statusLines(source)),
  );
}

export async function galleryView(root, ctx) {
  fill(root, h('h1', { text: 'Sources' }), spinner());
  const grid = h('div', { class: 'cards' });
  const load = async () => {
    const { sources } = await api.get('/api/sources', ctx.signal);
    if (sources.length === 0) fill(grid, h('p', { class: 'empty', text: 'No source to show. Ask the people who run this box to give you access.' }));
    else fill(grid, sources.map(card));
  };
  await load();
  fill(root, h('h1', { text: 'Sources' }), grid);
  ctx.every(REFRESH_MS, () => load().catch((err) => grid.prepend(errorBox(err, 'Refresh failed'))));
}
