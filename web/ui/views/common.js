// Pieces shared by the source pages: the header with its tabs, status badges and
// "Capture now" for directors.
import { api, seg, pictureUrl } from '../api.js';
import { h, fill, errorBox, button } from '../dom.js';
import { session } from '../session.js';
import * as t from '../time.js';

/** The latest picture's id: `latest` (issue 7) or the last capture's. */
export function latestPictureId(source) {
  if (source.latest && source.latest.id) return source.latest.id;
  return source.lastCapture ? source.lastCapture.pictureId : null;
}

export function statusBadges(source) {
  const out = [];
  if (!source.enabled) out.push(h('span', { class: 'badge muted', text: 'disabled' }));
  if (source.down) out.push(h('span', { class: 'badge bad', text: `down since ${t.shortDateTime(source.down.since)}`, title: t.dateTime(source.down.since) }));
  else if (source.consecutiveFailures > 0) out.push(h('span', { class: 'badge warn', text: `${source.consecutiveFailures} failure${source.consecutiveFailures > 1 ? 's' : ''}` }));
  if (source.busy) out.push(h('span', { class: 'badge info', text: 'capturing' }));
  if (source.public) out.push(h('span', { class: 'badge info', text: 'public' }));
  return out;
}

export function statusLines(source) {
  const last = source.lastCapture ? source.lastCapture.at : null;
  return h(
    'dl',
    { class: 'status' },
    h('dt', { text: 'Last' }),
    h('dd', { title: last ? t.dateTime(last) : '' }, last ? `${t.shortDateTime(last)} (${t.relative(last)})` : 'never'),
    h('dt', { text: 'Next' }),
    h('dd', { title: source.nextSlot ? t.dateTime(source.nextSlot) : '' }, source.nextSlot ? `${t.shortDateTime(source.nextSlot)} (every ${source.every})` : source.enabled ? 'no slot planned' : 'disabled'),
    source.lastError && source.consecutiveFailures > 0 ? [h('dt', { text: 'Error' }), h('dd', { class: 'bad-text', text: source.lastError.message })] : null,
    source.camera ? [h('dt', { text: 'Camera' }), cameraLine(source.camera)] : null,
  );
}

/** The exposure settings worth a glance, in this order, as the camera spells them. */
const EXPOSURE_SHOWN = [
  ['shutterspeed', ''],
  ['f-number', ''],
  ['aperture', 'f/'],
  ['iso', 'ISO '],
  ['exposurecompensation', 'EV '],
];

/** A gphoto2 camera as its driver knows it: the session's reading, or why the program is used. */
function cameraLine(camera) {
  if (camera.access === 'program') return h('dd', { class: 'camera', text: `gphoto2 program for each shot${camera.reason ? ` (${camera.reason})` : ''}` });
  if (!camera.readAt) return h('dd', { class: 'camera', text: 'session not opened yet' });
  const parts = [camera.model || 'camera'];
  if (camera.serial) parts.push(`serial ${camera.serial}`);
  if (camera.battery) parts.push(`battery ${camera.battery}`);
  const exposure = EXPOSURE_SHOWN.filter(([name]) => camera.exposure[name] !== undefined).map(([name, prefix]) => `${prefix}${camera.exposure[name]}`);
  if (exposure.length > 0) parts.push(exposure.join(' '));
  return h('dd', { class: 'camera', title: t.dateTime(camera.readAt) }, `${parts.join(' · ')} (read ${t.relative(camera.readAt)})`);
}

const KINDS = { daily: 'Daily film', weekly: 'Weekly film', monthly: 'Monthly film', custom: 'Film' };

/**
 * The project as a customer reads it: since when, how many days and pictures, the newest
 * film. The schedule's workings (next slot, interval, errors) are for the box's people.
 */
export function summaryLines(source) {
  const s = source.summary;
  if (!s) return null;
  const film = s.latestFilm;
  return h(
    'dl',
    { class: 'status summary' },
    h('dt', { text: 'Since' }),
    h('dd', { text: s.firstDay ? `${t.day(s.firstDay, 'medium')} · ${s.days} day${s.days === 1 ? '' : 's'}` : 'no picture yet' }),
    h('dt', { text: 'Pictures' }),
    h('dd', { text: s.pictures.toLocaleString('en-GB') }),
    film ? [h('dt', { text: 'Film' }), h('dd', null, h('a', { href: `#/s/${source.id}/videos`, text: `${KINDS[film.kind] || 'Film'} · ${t.day(t.wallClock(film.from).slice(0, 10), 'medium')}` }), ` (${t.duration(film.durationMs)})`)] : null,
  );
}

/** What a source's card and page say under its picture: the status for the box's people, the summary for customers. */
export function sourceFacts(source) {
  return session.can(source.id, 'edit') ? statusLines(source) : summaryLines(source);
}

const TABS = [
  ['', 'Calendar', 'view'],
  ['compare', 'Compare', 'view'],
  ['videos', 'Videos', 'view'],
  ['settings', 'Settings', 'edit'],
];

/** Title, status and tabs of a source page; `active` is the tab's suffix; `extra`, more actions (a Share button). */
export function sourceHeader(source, active, extra = null) {
  if (session.share) return sharedSourceHeader(source, active);
  const id = source.id;
  const tabs = h(
    'nav',
    { class: 'tabs', 'aria-label': 'Source' },
    TABS.filter(([, , level]) => session.can(id, level)).map(([suffix, text]) =>
      h('a', { href: `#/s/${id}${suffix ? `/${suffix}` : ''}`, text, 'aria-current': suffix === active ? 'page' : null }),
    ),
  );
  const result = h('div', { class: 'capture-result', hidden: true, 'aria-live': 'polite' });
  const actions = h('div', { class: 'actions' });
  if (extra) actions.append(extra);
  if (session.can(id, 'edit')) actions.append(captureButton(source, result));
  return h(
    'header',
    { class: 'source-head' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/', text: 'Sources' }), ' › '),
    h('div', { class: 'title-row' }, h('h1', { class: 'source-name', text: source.name }), h('span', { class: 'badges' }, statusBadges(source)), actions),
    tabs,
    result,
  );
}

/** A visitor's source header: the name, the period a gallery link covers, and its tabs (no status, no actions). */
function sharedSourceHeader(source, active) {
  const share = session.share;
  const gallery = share.scope === 'gallery';
  const tabs = gallery
    ? h(
        'nav',
        { class: 'tabs', 'aria-label': 'Source' },
        [['', 'Pictures'], ['videos', 'Videos']].map(([suffix, text]) => h('a', { href: `#/s/${source.id}${suffix ? `/${suffix}` : ''}`, text, 'aria-current': suffix === active ? 'page' : null })),
      )
    : null;
  return h('header', { class: 'source-head' }, h('div', { class: 'title-row' }, h('h1', { class: 'source-name', text: source.name })), gallery ? periodLine(share) : null, tabs);
}

/** "Pictures from 20 Nov 2026 to 21 Nov 2026" for a gallery link with a period. */
export function periodText(from, to) {
  if (from && to) return from === to ? `Pictures of ${t.day(from, 'medium')}` : `Pictures from ${t.day(from, 'medium')} to ${t.day(to, 'medium')}`;
  if (from) return `Pictures from ${t.day(from, 'medium')} on`;
  if (to) return `Pictures up to ${t.day(to, 'medium')}`;
  return null;
}

function periodLine(share) {
  const text = periodText(share.from, share.to);
  return text ? h('p', { class: 'hint period', text }) : null;
}

function captureButton(source, result) {
  const btn = button('Capture now', async () => {
    btn.disabled = true;
    btn.textContent = 'Capturing…';
    try {
      const answer = await api.post(`/api/sources/${seg(source.id)}/capture`);
      const p = answer.picture;
      fill(
        result,
        h('a', { href: `#/p/${p.id}`, class: 'capture-thumb' }, h('img', { src: pictureUrl(p, 'thumb'), alt: `New picture, ${t.dateTime(p.takenAt)}`, width: 160, height: Math.round((160 * p.height) / p.width) || 90 })),
        h('p', null, h('strong', { text: 'New picture: ' }), t.dateTime(p.takenAt), answer.durationMs ? ` (${(answer.durationMs / 1000).toFixed(1)} s)` : '', ' · ', h('a', { href: `#/p/${p.id}`, text: 'open' })),
      );
      result.className = 'capture-result ok';
    } catch (err) {
      fill(result, errorBox(err, 'Capture failed'));
      result.className = 'capture-result';
    } finally {
      result.hidden = false;
      btn.disabled = false;
      btn.textContent = 'Capture now';
    }
  }, { class: 'primary', 'data-action': 'capture' });
  return btn;
}

export async function loadSource(id, signal) {
  return api.get(`/api/sources/${seg(id)}`, signal);
}
