// What a visitor of a share link sees that no logged-in page has: the live picture
// of a `latest` link, refreshed while the page is open.
import { api, seg, shareUrl } from '../api.js';
import { h, fill, spinner, errorBox } from '../dom.js';
import { session } from '../session.js';
import * as time from '../time.js';
import { t, tNodes } from '../i18n.js';
import { sourceHeader } from './common.js';

/** How often the live picture is asked for again; the server answers 304 when it has not changed. */
const REFRESH_MS = 60_000;

export async function sharedLatestView(root, ctx) {
  const id = session.share.source;
  fill(root, spinner());
  let source = await api.get(`/api/sources/${seg(id)}`, ctx.signal);
  const img = h('img', { class: 'live-img', alt: t('shared.latestAlt', { name: source.name }), width: 1280, height: 720, decoding: 'async' });
  const when = h('p', { class: 'live-time', 'aria-live': 'polite' });
  const tools = h('div', { class: 'viewer-tools' });
  const problem = h('div', { class: 'notices' });

  const draw = () => {
    const latest = source.latest;
    if (!latest) {
      img.hidden = true;
      fill(when, h('span', { class: 'empty', text: t('shared.noPicture') }));
      fill(tools);
      return;
    }
    // The picture's id in the query: a new picture is a new URL, the same one stays cached.
    const src = `${shareUrl('latest.jpg')}?v=${encodeURIComponent(latest.id)}`;
    if (img.getAttribute('src') !== src) img.src = src;
    img.hidden = false;
    fill(when, tNodes('shared.taken', { time: h('time', { datetime: latest.takenAt, text: time.dateTime(latest.takenAt) }), ago: time.relative(latest.takenAt) }));
    fill(tools, session.can(id, 'download') ? h('a', { class: 'button download', href: src, download: `${id}-${latest.date}.jpg`, text: t('shared.download') }) : null);
  };
  draw();
  fill(root, sourceHeader(source, ''), h('section', { class: 'live' }, h('div', { class: 'live-stage' }, img), when, tools), problem);
  ctx.every(REFRESH_MS, async () => {
    try {
      source = await api.get(`/api/sources/${seg(id)}`, ctx.signal);
      fill(problem);
      draw();
    } catch (err) {
      if (err.name !== 'AbortError') fill(problem, errorBox(err, t('shared.refreshFailed')));
    }
  });
}
