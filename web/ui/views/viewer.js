// One picture: preview size, previous/next (buttons, arrow keys, swipe), zoom to
// 100% (the original for the download level, else the preview) by click or toggle.
// A visitor of a picture or compare link sees the picture alone: no way to another.
import { api, apiUrl, seg, pictureUrl } from '../api.js';
import { h, fill, spinner } from '../dom.js';
import { session } from '../session.js';
import * as t from '../time.js';
import { shareButton } from './share.js';

const SWIPE_PX = 50;

export async function viewerView(root, ctx, id) {
  fill(root, spinner());
  const answer = await api.get(`/api/pictures/${seg(id)}`, ctx.signal);
  const p = answer.picture;
  // Only a gallery link (or a login) walks from picture to picture.
  const walks = !session.share || session.share.scope === 'gallery';
  const prev = walks ? answer.prev : null;
  const next = walks ? answer.next : null;
  const source = p.source;
  const mayDownload = session.can(source, 'download');
  const sourceEntry = await api.get(`/api/sources/${seg(source)}`, ctx.signal).catch(() => ({ id: source, name: source }));

  const go = (target) => {
    if (target) location.replace(`#/p/${target}`);
  };
  const big = mayDownload ? pictureUrl(p, 'original') : pictureUrl(p, 'preview');
  const img = h('img', { class: 'photo', src: pictureUrl(p, 'preview'), alt: `${sourceEntry.name}, ${t.dateTime(p.takenAt)}`, width: p.width || 1280, height: p.height || 720, decoding: 'async' });
  const stage = h('div', { class: 'stage', tabindex: '0', 'aria-label': 'Picture; click to zoom' }, img);
  let zoomed = false;
  const zoomButton = h('button', { type: 'button', class: 'toggle', 'aria-pressed': 'false', 'data-action': 'zoom' }, '100%');

  const setZoom = (on, at) => {
    zoomed = on;
    stage.classList.toggle('zoomed', on);
    zoomButton.setAttribute('aria-pressed', String(on));
    zoomButton.textContent = on ? 'Fit' : '100%';
    if (on) {
      if (img.getAttribute('src') !== big) img.src = big;
      // Keep the clicked point under the finger/cursor once the picture is full size.
      if (at) {
        const apply = () => {
          stage.scrollLeft = at.x * img.naturalWidth - stage.clientWidth / 2;
          stage.scrollTop = at.y * img.naturalHeight - stage.clientHeight / 2;
        };
        if (img.complete && img.naturalWidth) requestAnimationFrame(apply);
        else img.addEventListener('load', apply, { once: true });
      }
    }
  };
  zoomButton.addEventListener('click', () => setZoom(!zoomed));

  // Click to zoom, swipe to move on (only when not zoomed: then a drag scrolls).
  let down = null;
  stage.addEventListener('pointerdown', (e) => {
    down = { x: e.clientX, y: e.clientY, touch: e.pointerType === 'touch' };
  });
  stage.addEventListener('pointerup', (e) => {
    if (!down) return;
    const dx = e.clientX - down.x;
    const dy = e.clientY - down.y;
    down = null;
    if (!zoomed && Math.abs(dx) > SWIPE_PX && Math.abs(dx) > 1.5 * Math.abs(dy)) return go(dx < 0 ? next : prev);
    if (Math.abs(dx) < 8 && Math.abs(dy) < 8 && e.target === img) {
      const r = img.getBoundingClientRect();
      setZoom(!zoomed, { x: (e.clientX - r.left) / r.width, y: (e.clientY - r.top) / r.height });
    }
  });
  document.addEventListener(
    'keydown',
    (e) => {
      if (e.target instanceof HTMLInputElement || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === 'ArrowRight') go(next);
      else if (e.key === 'ArrowLeft') go(prev);
      else if (e.key === 'z' || e.key === '+') setZoom(!zoomed);
      else if (e.key === 'Escape' && walks) location.hash = `#/s/${source}/${p.date}`;
      else return;
      e.preventDefault();
    },
    { signal: ctx.signal },
  );
  // Fetch the neighbours' previews now, so that "next" is instant on a slow link.
  for (const n of [next, prev]) if (n) new Image().src = apiUrl(`/api/pictures/${n}/preview`);

  const crumbs = session.share
    ? walks
      ? h('p', { class: 'crumbs' }, h('a', { href: `#/s/${source}`, class: 'source-name', text: sourceEntry.name }), ' › ', h('a', { href: `#/s/${source}/${p.date}`, text: t.day(p.date, 'medium') }))
      : h('p', { class: 'crumbs' }, h('span', { class: 'source-name', text: sourceEntry.name }))
    : h('p', { class: 'crumbs' }, h('a', { href: '#/', text: 'Sources' }), ' › ', h('a', { href: `#/s/${source}`, class: 'source-name', text: sourceEntry.name }), ' › ', h('a', { href: `#/s/${source}/${p.date}`, text: t.day(p.date, 'medium') }));
  const share = shareButton(source, () => ({ scopes: ['picture'], picture: p.id, describe: `${sourceEntry.name}, ${t.dateTime(p.takenAt)}` }), ctx);

  fill(
    root,
    h(
      'div',
      { class: 'viewer' },
      h(
        'div',
        { class: 'viewer-bar' },
        crumbs,
        h('h1', { class: 'taken-at' }, h('time', { datetime: p.takenAt, text: t.dateTime(p.takenAt) })),
      ),
      stage,
      h(
        'div',
        { class: 'viewer-tools' },
        !walks ? null : prev ? h('a', { class: 'button', href: `#/p/${prev}`, rel: 'prev', 'data-action': 'prev', onclick: (e) => { e.preventDefault(); go(prev); } }, '‹ Previous') : h('span', { class: 'button disabled', text: '‹ Previous' }),
        zoomButton,
        !walks ? null : next ? h('a', { class: 'button', href: `#/p/${next}`, rel: 'next', 'data-action': 'next', onclick: (e) => { e.preventDefault(); go(next); } }, 'Next ›') : h('span', { class: 'button disabled', text: 'Next ›' }),
        share,
        mayDownload ? h('a', { class: 'button download', href: `${pictureUrl(p, 'original')}?download=1`, download: '', text: 'Download original' }) : null,
      ),
      h('p', { class: 'meta' }, `${p.width}×${p.height}`, p.exifTakenAt ? ` · camera clock ${t.time(p.exifTakenAt)}` : '', walks ? ' · ← → to move, Z to zoom' : ' · Z to zoom'),
    ),
  );
  stage.focus({ preventScroll: true });
}
