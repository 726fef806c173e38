// One picture: small or preview size (by screen and link), previous/next (buttons, arrow keys, swipe), zoom to
// 100% (the original for the download level, else the preview) by click or toggle.
// A visitor of a picture or compare link sees the picture alone: no way to another.
import { api, apiUrl, seg, pictureUrl, shownSize, earlyPicture } from '../api.js';
import { h, fill, spinner } from '../dom.js';
import { session } from '../session.js';
import * as time from '../time.js';
import { t } from '../i18n.js';
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
  // The picture starts downloading now (if start-up has not already), while the source's name is
  // asked for: on a slow link it is what takes long. A phone or a slow link gets the small size.
  const shown = pictureUrl(p, shownSize());
  const attributes = { class: 'photo', alt: time.dateTime(p.takenAt), width: p.width || 1280, height: p.height || 720 };
  const started = earlyPicture(id, shown);
  const img = started || h('img', { ...attributes, src: shown, decoding: 'async' });
  if (started) for (const [name, value] of Object.entries(attributes)) img.setAttribute(name, String(value));
  const sourceEntry = await api.get(`/api/sources/${seg(source)}`, ctx.signal).catch(() => ({ id: source, name: source }));
  img.alt = t('viewer.pictureOf', { source: sourceEntry.name, time: time.dateTime(p.takenAt) });

  // Back to the day at this picture (the day's player opens on it).
  const dayHref = `#/s/${source}/${p.date}?p=${p.id}`;
  const go = (target) => {
    if (target) location.replace(`#/p/${target}`);
  };
  const big = mayDownload ? pictureUrl(p, 'original') : pictureUrl(p, 'preview');
  const stage = h('div', { class: 'stage', tabindex: '0', 'aria-label': t('viewer.stage') }, img);
  let zoomed = false;
  const zoomButton = h('button', { type: 'button', class: 'toggle', 'aria-pressed': 'false', 'data-action': 'zoom' }, t('viewer.zoom'));

  const setZoom = (on, at) => {
    resetPinch();
    zoomed = on;
    stage.classList.toggle('zoomed', on);
    zoomButton.setAttribute('aria-pressed', String(on));
    zoomButton.textContent = on ? t('viewer.fit') : t('viewer.zoom');
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

  // Two fingers pinch the picture (up to 6x, the original fetched for the download level), one
  // finger then moves it; a double tap or "Fit" puts it back. Not pinched: click to zoom, swipe to move on.
  const pinch = { scale: 1, x: 0, y: 0, start: null, pointers: new Map(), moved: false };
  const applyPinch = () => {
    img.style.transform = pinch.scale === 1 ? '' : `translate(${pinch.x}px, ${pinch.y}px) scale(${pinch.scale})`;
    stage.classList.toggle('pinched', pinch.scale > 1);
    stage.dataset.scale = pinch.scale.toFixed(2);
  };
  const resetPinch = () => {
    Object.assign(pinch, { scale: 1, x: 0, y: 0, start: null });
    applyPinch();
  };
  const pair = () => {
    const [a, b] = [...pinch.pointers.values()];
    return { dist: Math.hypot(a.x - b.x, a.y - b.y), mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 } };
  };
  let down = null;
  let lastTap = 0;
  stage.addEventListener('pointerdown', (e) => {
    pinch.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pinch.pointers.size === 2) {
      const { dist, mid } = pair();
      const r = stage.getBoundingClientRect();
      pinch.start = { dist, mid: { x: mid.x - r.left, y: mid.y - r.top }, scale: pinch.scale, x: pinch.x, y: pinch.y };
      pinch.moved = true;
      if (!zoomed && img.getAttribute('src') !== big) img.src = big;
      down = null;
      return;
    }
    pinch.moved = false;
    down = { x: e.clientX, y: e.clientY, touch: e.pointerType === 'touch', panX: pinch.x, panY: pinch.y };
  });
  stage.addEventListener('pointermove', (e) => {
    if (!pinch.pointers.has(e.pointerId)) return;
    pinch.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pinch.pointers.size === 2 && pinch.start) {
      const { dist, mid } = pair();
      const r = stage.getBoundingClientRect();
      const s0 = pinch.start;
      const scale = Math.min(6, Math.max(1, (s0.scale * dist) / Math.max(1, s0.dist)));
      // The point under the fingers stays under them (transform-origin is the top left corner).
      const at = { x: mid.x - r.left, y: mid.y - r.top };
      pinch.x = at.x - ((s0.mid.x - s0.x) * scale) / s0.scale;
      pinch.y = at.y - ((s0.mid.y - s0.y) * scale) / s0.scale;
      pinch.scale = scale;
      applyPinch();
    } else if (down && pinch.scale > 1) {
      pinch.x = down.panX + e.clientX - down.x;
      pinch.y = down.panY + e.clientY - down.y;
      pinch.moved = true;
      applyPinch();
    }
  });
  const lift = (e) => {
    pinch.pointers.delete(e.pointerId);
    if (pinch.pointers.size < 2) pinch.start = null;
    if (pinch.scale <= 1.02 && pinch.scale !== 1) resetPinch();
  };
  stage.addEventListener('pointercancel', lift);
  stage.addEventListener('pointerup', (e) => {
    lift(e);
    if (!down) return;
    const dx = e.clientX - down.x;
    const dy = e.clientY - down.y;
    const tap = Math.abs(dx) < 8 && Math.abs(dy) < 8;
    down = null;
    if (pinch.scale > 1 || pinch.moved) {
      // A double tap on a pinched picture fits it again.
      if (tap && e.timeStamp - lastTap < 350) resetPinch();
      lastTap = tap ? e.timeStamp : 0;
      return;
    }
    if (!zoomed && Math.abs(dx) > SWIPE_PX && Math.abs(dx) > 1.5 * Math.abs(dy)) return go(dx < 0 ? next : prev);
    if (tap && e.target === img) {
      const r = img.getBoundingClientRect();
      setZoom(!zoomed, { x: (e.clientX - r.left) / r.width, y: (e.clientY - r.top) / r.height });
    }
  });

  // Fullscreen: the picture alone on the screen (F, or the button); the keys still move.
  const fullButton = typeof stage.requestFullscreen === 'function'
    ? h('button', { type: 'button', class: 'toggle', 'aria-pressed': 'false', 'data-action': 'fullscreen', onclick: () => toggleFullscreen() }, t('viewer.fullScreen'))
    : null;
  const toggleFullscreen = () => {
    if (!fullButton) return;
    if (document.fullscreenElement) document.exitFullscreen().catch(() => undefined);
    else stage.requestFullscreen().catch(() => undefined);
  };
  document.addEventListener('fullscreenchange', () => fullButton?.setAttribute('aria-pressed', String(document.fullscreenElement === stage)), { signal: ctx.signal });
  ctx.onLeave(() => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => undefined);
  });
  document.addEventListener(
    'keydown',
    (e) => {
      if (e.target instanceof HTMLInputElement || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === 'ArrowRight') go(next);
      else if (e.key === 'ArrowLeft') go(prev);
      else if (e.key === 'z' || e.key === '+') setZoom(!zoomed);
      else if (e.key === 'f') toggleFullscreen();
      else if (e.key === 'Escape' && document.fullscreenElement) return;
      else if (e.key === 'Escape' && walks) location.hash = dayHref;
      else return;
      e.preventDefault();
    },
    { signal: ctx.signal },
  );
  // The neighbours at the same size, so that "next" is instant on a slow link: once the picture shown
  // has arrived, not beside it (on 1.6 Mbit/s the three at once took 5.0 s for the visible one, 2.8 s alone).
  const prefetch = () => {
    for (const n of [next, prev]) if (n) new Image().src = apiUrl(`/api/pictures/${n}/${shownSize()}`);
  };
  if (img.complete && img.naturalWidth) prefetch();
  else img.addEventListener('load', prefetch, { once: true });

  const crumbs = session.share
    ? walks
      ? h('p', { class: 'crumbs' }, h('a', { href: `#/s/${source}`, class: 'source-name', text: sourceEntry.name }), ' › ', h('a', { href: dayHref, text: time.day(p.date, 'medium') }))
      : h('p', { class: 'crumbs' }, h('span', { class: 'source-name', text: sourceEntry.name }))
    : h('p', { class: 'crumbs' }, h('a', { href: '#/', text: t('viewer.sources') }), ' › ', h('a', { href: `#/s/${source}`, class: 'source-name', text: sourceEntry.name }), ' › ', h('a', { href: dayHref, text: time.day(p.date, 'medium') }));
  const share = shareButton(source, () => ({ scopes: ['picture'], picture: p.id, describe: t('viewer.pictureOf', { source: sourceEntry.name, time: time.dateTime(p.takenAt) }) }), ctx);

  fill(
    root,
    h(
      'div',
      { class: 'viewer' },
      h(
        'div',
        { class: 'viewer-bar' },
        crumbs,
        h('h1', { class: 'taken-at' }, h('time', { datetime: p.takenAt, text: time.dateTime(p.takenAt) })),
      ),
      stage,
      h(
        'div',
        { class: 'viewer-tools' },
        !walks ? null : prev ? h('a', { class: 'button', href: `#/p/${prev}`, rel: 'prev', 'data-action': 'prev', onclick: (e) => { e.preventDefault(); go(prev); } }, t('viewer.previous')) : h('span', { class: 'button disabled', text: t('viewer.previous') }),
        zoomButton,
        fullButton,
        !walks ? null : next ? h('a', { class: 'button', href: `#/p/${next}`, rel: 'next', 'data-action': 'next', onclick: (e) => { e.preventDefault(); go(next); } }, t('viewer.next')) : h('span', { class: 'button disabled', text: t('viewer.next') }),
        share,
        mayDownload ? h('a', { class: 'button download', href: `${pictureUrl(p, 'original')}?download=1`, download: '', text: t('viewer.downloadOriginal') }) : null,
      ),
      h('p', { class: 'meta' }, `${p.width}×${p.height}`, p.exifTakenAt ? ` · ${t('viewer.cameraClock', { time: time.time(p.exifTakenAt) })}` : '', ` · ${walks ? t('viewer.keysWalk') : t('viewer.keys')}`),
    ),
  );
  stage.focus({ preventScroll: true });
}
