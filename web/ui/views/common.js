// Pieces shared by the source pages: the header with its tabs, status badges and
// "Capture now" for directors.
import { api, seg, pictureUrl } from '../api.js';
import { h, fill, errorBox, button } from '../dom.js';
import { t, tNodes, number } from '../i18n.js';
import { session } from '../session.js';
import * as time from '../time.js';

/** The latest picture's id: `latest` (issue 7) or the last capture's. */
export function latestPictureId(source) {
  if (source.latest && source.latest.id) return source.latest.id;
  return source.lastCapture ? source.lastCapture.pictureId : null;
}

export function statusBadges(source) {
  const out = [];
  if (!source.enabled) out.push(h('span', { class: 'badge muted', text: t('sourceInfo.disabled') }));
  if (source.down) out.push(h('span', { class: 'badge bad', text: t('sourceInfo.downSince', { date: time.shortDateTime(source.down.since) }), title: time.dateTime(source.down.since) }));
  else if (source.consecutiveFailures > 0) out.push(h('span', { class: 'badge warn', text: t('sourceInfo.failures', { count: source.consecutiveFailures }) }));
  if (source.busy) out.push(h('span', { class: 'badge info', text: t('sourceInfo.capturing') }));
  if (source.public) out.push(h('span', { class: 'badge info', text: t('sourceInfo.public') }));
  return out;
}

export function statusLines(source) {
  const last = source.lastCapture ? source.lastCapture.at : null;
  return h(
    'dl',
    { class: 'status' },
    h('dt', { text: t('sourceInfo.last') }),
    h('dd', { title: last ? time.dateTime(last) : '' }, last ? `${time.shortDateTime(last)} (${time.relative(last)})` : t('sourceInfo.never')),
    h('dt', { text: t('sourceInfo.next') }),
    h('dd', { title: source.nextSlot ? time.dateTime(source.nextSlot) : '' }, source.nextSlot ? t('sourceInfo.nextEvery', { date: time.shortDateTime(source.nextSlot), every: source.every }) : source.enabled ? t('sourceInfo.noSlot') : t('sourceInfo.disabled')),
    source.lastError && source.consecutiveFailures > 0 ? [h('dt', { text: t('sourceInfo.error') }), h('dd', { class: 'bad-text', text: source.lastError.message })] : null,
    source.camera ? [h('dt', { text: t('sourceInfo.camera') }), cameraLine(source.camera)] : null,
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
  if (camera.access === 'program') return h('dd', { class: 'camera', text: camera.reason ? t('sourceInfo.programReason', { reason: camera.reason }) : t('sourceInfo.program') });
  if (!camera.readAt) return h('dd', { class: 'camera', text: t('sourceInfo.sessionNotOpened') });
  const parts = [camera.model || t('sourceInfo.cameraModel')];
  if (camera.serial) parts.push(t('sourceInfo.serial', { serial: camera.serial }));
  if (camera.battery) parts.push(t('sourceInfo.battery', { battery: camera.battery }));
  const exposure = EXPOSURE_SHOWN.filter(([name]) => camera.exposure[name] !== undefined).map(([name, prefix]) => `${prefix}${camera.exposure[name]}`);
  if (exposure.length > 0) parts.push(exposure.join(' '));
  return h('dd', { class: 'camera', title: time.dateTime(camera.readAt) }, t('sourceInfo.cameraRead', { facts: parts.join(' · '), ago: time.relative(camera.readAt) }));
}

const KINDS = { daily: t('sourceInfo.kindDaily'), weekly: t('sourceInfo.kindWeekly'), monthly: t('sourceInfo.kindMonthly'), custom: t('sourceInfo.kindCustom') };

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
    h('dt', { text: t('sourceInfo.since') }),
    h('dd', { text: s.firstDay ? t('sourceInfo.sinceDays', { day: time.day(s.firstDay, 'medium'), days: s.days }) : t('sourceInfo.noPicture') }),
    h('dt', { text: t('sourceInfo.pictures') }),
    h('dd', { text: number(s.pictures) }),
    film ? [h('dt', { text: t('sourceInfo.film') }), h('dd', null, h('a', { href: `#/s/${source.id}/videos`, text: t('sourceInfo.filmOf', { kind: KINDS[film.kind] || t('sourceInfo.kindCustom'), day: time.day(time.wallClock(film.from).slice(0, 10), 'medium') }) }), ` (${time.duration(film.durationMs)})`)] : null,
  );
}

/** What a source's card and page say under its picture: the status for the box's people, the summary for customers. */
export function sourceFacts(source) {
  return session.can(source.id, 'edit') ? statusLines(source) : summaryLines(source);
}

const TABS = [
  ['', t('sourceInfo.tabCalendar'), 'view'],
  ['compare', t('sourceInfo.tabCompare'), 'view'],
  ['videos', t('sourceInfo.tabVideos'), 'view'],
  ['settings', t('sourceInfo.tabSettings'), 'edit'],
];

/** Title, status and tabs of a source page; `active` is the tab's suffix; `extra`, more actions (a Share button). */
export function sourceHeader(source, active, extra = null) {
  if (session.share) return sharedSourceHeader(source, active);
  const id = source.id;
  const tabs = h(
    'nav',
    { class: 'tabs', 'aria-label': t('sourceInfo.tabsLabel') },
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
    h('p', { class: 'crumbs' }, h('a', { href: '#/', text: t('sourceInfo.sources') }), ' › '),
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
        { class: 'tabs', 'aria-label': t('sourceInfo.tabsLabel') },
        [['', t('sourceInfo.tabPictures')], ['videos', t('sourceInfo.tabVideos')]].map(([suffix, text]) => h('a', { href: `#/s/${source.id}${suffix ? `/${suffix}` : ''}`, text, 'aria-current': suffix === active ? 'page' : null })),
      )
    : null;
  return h('header', { class: 'source-head' }, h('div', { class: 'title-row' }, h('h1', { class: 'source-name', text: source.name })), gallery ? periodLine(share) : null, tabs);
}

/** "Pictures from 20 Nov 2026 to 21 Nov 2026" for a gallery link with a period. */
export function periodText(from, to) {
  if (from && to) return from === to ? t('sourceInfo.periodDay', { day: time.day(from, 'medium') }) : t('sourceInfo.periodFromTo', { from: time.day(from, 'medium'), to: time.day(to, 'medium') });
  if (from) return t('sourceInfo.periodFrom', { from: time.day(from, 'medium') });
  if (to) return t('sourceInfo.periodTo', { to: time.day(to, 'medium') });
  return null;
}

function periodLine(share) {
  const text = periodText(share.from, share.to);
  return text ? h('p', { class: 'hint period', text }) : null;
}

function captureButton(source, result) {
  const btn = button(t('sourceInfo.captureNow'), async () => {
    btn.disabled = true;
    btn.textContent = t('sourceInfo.capturingNow');
    try {
      const answer = await api.post(`/api/sources/${seg(source.id)}/capture`);
      const p = answer.picture;
      const taken = time.dateTime(p.takenAt);
      const open = h('a', { href: `#/p/${p.id}`, text: t('sourceInfo.open') });
      fill(
        result,
        h('a', { href: `#/p/${p.id}`, class: 'capture-thumb' }, h('img', { src: pictureUrl(p, 'thumb'), alt: t('sourceInfo.newPictureAlt', { date: taken }), width: 160, height: Math.round((160 * p.height) / p.width) || 90 })),
        h(
          'p',
          null,
          h('strong', { text: t('sourceInfo.newPicture') }),
          answer.durationMs
            ? tNodes('sourceInfo.capturedIn', { date: taken, seconds: number(answer.durationMs / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 }), link: open })
            : tNodes('sourceInfo.captured', { date: taken, link: open }),
        ),
      );
      result.className = 'capture-result ok';
    } catch (err) {
      fill(result, errorBox(err, t('sourceInfo.captureFailed')));
      result.className = 'capture-result';
    } finally {
      result.hidden = false;
      btn.disabled = false;
      btn.textContent = t('sourceInfo.captureNow');
    }
  }, { class: 'primary', 'data-action': 'capture' });
  return btn;
}

export async function loadSource(id, signal) {
  return api.get(`/api/sources/${seg(id)}`, signal);
}
