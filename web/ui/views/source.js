// A source: the calendar of days with pictures, and one day's pictures by hour.
import { api, apiUrl, seg, pictureUrl } from '../api.js';
import { h, fill, spinner, button } from '../dom.js';
import { session } from '../session.js';
import * as t from '../time.js';
import { replaceQuery } from '../router.js';
import { latestPictureId, loadSource, sourceHeader, statusLines } from './common.js';
import { shareButton } from './share.js';

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
/** Thumbnails shown per hour before "show all": a day at 10 s is 360 an hour. */
const PER_HOUR = 48;

export async function calendarView(root, ctx, id) {
  fill(root, spinner());
  const [source, { days }] = await Promise.all([loadSource(id, ctx.signal), api.get(`/api/sources/${seg(id)}/days`, ctx.signal)]);
  const counts = new Map(days.map((d) => [d.date, d.count]));
  const months = [...new Set(days.map((d) => d.date.slice(0, 7)))].sort();
  let month = ctx.query.get('month');
  if (!month || !/^\d{4}-\d{2}$/.test(month)) month = months[months.length - 1] || t.wallClock(new Date()).slice(0, 7);

  const calendar = h('section', { class: 'calendar', 'aria-label': 'Days with pictures' });
  const draw = () => {
    const [y, m] = month.split('-').map(Number);
    const index = months.indexOf(month);
    const prev = index > 0 ? months[index - 1] : months.filter((x) => x < month).pop();
    const next = months.find((x) => x > month);
    const go = (target) => () => {
      month = target;
      replaceQuery({ month });
      draw();
    };
    const first = new Date(Date.UTC(y, m - 1, 1));
    const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
    const lead = (first.getUTCDay() + 6) % 7; // Monday first
    const cells = [];
    for (let i = 0; i < lead; i++) cells.push(h('span', { class: 'day blank', 'aria-hidden': 'true' }));
    for (let d = 1; d <= daysInMonth; d++) {
      const date = `${month}-${String(d).padStart(2, '0')}`;
      const n = counts.get(date);
      cells.push(
        n
          ? h('a', { class: 'day has', href: `#/s/${id}/${date}`, dataset: { date }, 'aria-label': `${t.day(date)}: ${n} pictures` }, h('span', { class: 'num', text: d }), h('span', { class: 'count', text: n }))
          : h('span', { class: 'day', dataset: { date } }, h('span', { class: 'num', text: d })),
      );
    }
    fill(
      calendar,
      h(
        'div',
        { class: 'month-nav' },
        button('‹', go(prev), { disabled: !prev, 'aria-label': 'Previous month with pictures', class: 'icon' }),
        h('h2', { text: t.monthTitle(y, m) }),
        button('›', go(next), { disabled: !next, 'aria-label': 'Next month with pictures', class: 'icon' }),
      ),
      h('div', { class: 'month-grid' }, WEEKDAYS.map((w) => h('span', { class: 'weekday', text: w })), cells),
      days.length === 0 ? h('p', { class: 'empty', text: 'No pictures yet.' }) : null,
    );
  };
  draw();

  // Under a gallery link with a period, the server gives the period's latest picture.
  const latestId = latestPictureId(source);
  const latest = latestId
    ? h(
        'section',
        { class: 'latest' },
        h('h2', { text: 'Latest picture' }),
        h('a', { href: `#/p/${latestId}` }, h('img', { src: apiUrl(`/api/pictures/${latestId}/preview`), alt: `Latest picture of ${source.name}`, class: 'latest-img', width: 640, height: 360, decoding: 'async' })),
        session.share ? null : statusLines(source),
      )
    : null;
  // Share the source: its pictures and films (a period too), or its live picture.
  const share = shareButton(id, () => ({ scopes: ['gallery', 'latest'] }), ctx);
  fill(root, sourceHeader(source, '', share), h('div', { class: 'split' }, calendar, latest));
}

/** Every picture of a day, following the API's cursor. */
async function dayPictures(id, date, signal) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 50; page++) {
    const q = new URLSearchParams({ date });
    if (cursor) q.set('cursor', cursor);
    const answer = await api.get(`/api/sources/${seg(id)}/pictures?${q}`, signal);
    out.push(...answer.pictures);
    cursor = answer.next;
    if (!cursor) break;
  }
  return out;
}

function thumb(p) {
  const height = p.width && p.height ? Math.round((240 * p.height) / p.width) : 135;
  return h(
    'a',
    { href: `#/p/${p.id}`, class: 'thumb', dataset: { picture: p.id } },
    h('img', { src: pictureUrl(p, 'thumb'), alt: `Picture at ${t.time(p.takenAt)}`, loading: 'lazy', decoding: 'async', width: 240, height }),
    h('span', { class: 'time', text: t.time(p.takenAt) }),
  );
}

export async function dayView(root, ctx, id, date) {
  fill(root, spinner());
  const [source, { days }, pictures] = await Promise.all([loadSource(id, ctx.signal), api.get(`/api/sources/${seg(id)}/days`, ctx.signal), dayPictures(id, date, ctx.signal)]);
  const index = days.findIndex((d) => d.date === date);
  const prev = index > 0 ? days[index - 1].date : days.filter((d) => d.date < date).pop()?.date;
  const next = days.find((d) => d.date > date)?.date;

  const byHour = new Map();
  for (const p of pictures) {
    const hour = t.parts(p.takenAt).hour;
    if (!byHour.has(hour)) byHour.set(hour, []);
    byHour.get(hour).push(p);
  }
  const hours = [...byHour.entries()].sort((a, b) => a[0] - b[0]);
  const sections = hours.map(([hour, list]) => {
    const grid = h('div', { class: 'thumbs' }, list.slice(0, PER_HOUR).map(thumb));
    const more = list.length > PER_HOUR ? button(`Show all ${list.length}`, () => {
      fill(grid, list.map(thumb));
      more.remove();
    }) : null;
    return h('section', { class: 'hour', id: `h${hour}` }, h('h3', null, `${String(hour).padStart(2, '0')}:00`, h('small', { text: ` ${list.length} picture${list.length > 1 ? 's' : ''}` })), grid, more);
  });
  const jump = h('nav', { class: 'hour-jump', 'aria-label': 'Hours' }, hours.map(([hour]) => h('a', { href: `#h${hour}`, text: String(hour).padStart(2, '0'), onclick: (e) => {
    e.preventDefault();
    document.getElementById(`h${hour}`)?.scrollIntoView({ behavior: 'smooth' });
  } })));
  const downloads = session.can(id, 'download') && pictures.length > 0
    ? h('a', { class: 'button download', href: apiUrl(`/api/sources/${seg(id)}/days/${date}/zip`), download: `${id}-${date}.zip`, text: 'Download the day (zip)' })
    : null;
  // Share this day (or change the period in the dialog).
  const share = shareButton(id, () => ({ scopes: ['gallery', 'latest'], from: date, to: date }), ctx);

  fill(
    root,
    sourceHeader(source, '', share),
    h(
      'div',
      { class: 'day-head' },
      h(
        'div',
        { class: 'day-nav' },
        prev ? h('a', { class: 'button icon', href: `#/s/${id}/${prev}`, 'aria-label': 'Previous day', text: '‹' }) : h('span', { class: 'button icon disabled', 'aria-hidden': 'true', text: '‹' }),
        h('h2', { class: 'day-title', text: t.day(date) }),
        next ? h('a', { class: 'button icon', href: `#/s/${id}/${next}`, 'aria-label': 'Next day', text: '›' }) : h('span', { class: 'button icon disabled', 'aria-hidden': 'true', text: '›' }),
      ),
      h('div', { class: 'day-tools' }, h('span', { class: 'count', text: `${pictures.length} picture${pictures.length === 1 ? '' : 's'}` }), downloads),
    ),
    hours.length > 1 ? jump : null,
    pictures.length === 0 ? h('p', { class: 'empty', text: 'No pictures on this day.' }) : sections,
  );
}
