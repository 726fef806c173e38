// A source: the calendar of days with pictures, and one day's pictures by hour.
import { exposureCard } from './exposure.js';
import { api, apiUrl, seg, pictureUrl, shownSize } from '../api.js';
import { h, fill, spinner, button } from '../dom.js';
import { session } from '../session.js';
import * as time from '../time.js';
import { t } from '../i18n.js';
import { replaceQuery } from '../router.js';
import { latestPictureId, loadSource, sourceFacts, sourceHeader } from './common.js';
import { shareButton } from './share.js';

const WEEKDAYS = [t('source.weekdayMon'), t('source.weekdayTue'), t('source.weekdayWed'), t('source.weekdayThu'), t('source.weekdayFri'), t('source.weekdaySat'), t('source.weekdaySun')];
/** Thumbnails shown per hour before "show all": a day at 10 s is 360 an hour. */
const PER_HOUR = 48;

const REASONS = {
  camera: t('source.reasonCamera'),
  disk: t('source.reasonDisk'),
  busy: t('source.reasonBusy'),
  late: t('source.reasonLate'),
  off: t('source.reasonOff'),
  rejected: t('source.reasonRejected'),
  purged: t('source.reasonPurged'),
  unknown: t('source.reasonUnknown'),
};

/** "9 Nov, 09:00–10:00 · camera failed · 4 pictures missed": a gap as people read it. */
export function gapText(gap, withDay = false) {
  const n = gap.slots;
  const what = t('source.gapWhat', { reason: REASONS[gap.reason] || gap.reason, count: n });
  if (!gap.from) return what;
  const from = time.hourMinute(gap.from);
  const to = time.hourMinute(new Date(Date.parse(gap.to) - 1).toISOString());
  const when = from === to ? from : t('source.timeSpan', { from, to });
  return withDay ? t('source.gapOnDay', { day: time.dayMonth(gap.from), when, what }) : t('source.gapAt', { when, what });
}

/** One line on a day's pictures against the slots planned: "31 of 36 planned (86 %)". */
export function coverageText(day) {
  if (day.state === 'unplanned') return day.unplanned === 'disabled' ? t('source.switchedOff') : t('source.unplanned');
  if (day.state === 'future') return t('source.notYet');
  if (day.state === 'before') return t('source.beforeFirst');
  if (!day.expected) return t('source.coverageCount', { count: day.pictures });
  const pct = Math.floor((day.ratio || 0) * 100);
  const values = { count: day.pictures, expected: day.expected, pct };
  return day.estimated ? t('source.coverageEstimated', values) : t('source.coverage', values);
}

/** The list of a day's gaps, each with its reason (and the camera's error for the box's people). */
export function gapList(gaps, withDay = false) {
  return h(
    'ul',
    { class: 'gaps' },
    gaps.map((g) => h('li', { class: `gap gap-${g.reason}`, dataset: { reason: g.reason } }, gapText(g, withDay), g.message ? h('small', { class: 'gap-message', text: ` ${g.message}` }) : null)),
  );
}

const monthOf = (date) => date.slice(0, 7);
const shiftMonth = (month, by) => {
  const [y, m] = month.split('-').map(Number);
  const d = new Date(Date.UTC(y, m - 1 + by, 1));
  return d.toISOString().slice(0, 7);
};

/**
 * The coverage calendar (issue 25): each day coloured by its pictures against the
 * slots the schedule planned, the month's gaps with their reasons, and the way to the
 * first day, today and any month between. A visitor of a gallery link gets the days
 * with pictures (the box's workings are not part of a link).
 */
export async function calendarView(root, ctx, id) {
  fill(root, spinner());
  const [source, { days }] = await Promise.all([loadSource(id, ctx.signal), api.get(`/api/sources/${seg(id)}/days`, ctx.signal)]);
  const counts = new Map(days.map((d) => [d.date, d.count]));
  const today = time.wallClock(new Date().toISOString()).slice(0, 10);
  const firstDay = days.length ? days[0].date : today;
  const lastMonth = session.share ? monthOf(days.length ? days[days.length - 1].date : today) : monthOf(today);
  const firstMonth = monthOf(firstDay);
  let month = ctx.query.get('month');
  if (!month || !/^\d{4}-\d{2}$/.test(month) || month < firstMonth || month > lastMonth) month = lastMonth;
  const withCoverage = !session.share;

  const calendar = h('section', { class: 'calendar', 'aria-label': t('source.calendar') });
  const gapsBox = h('section', { class: 'month-gaps', 'aria-live': 'polite' });
  let drawn = 0;
  const draw = async () => {
    const ticket = ++drawn;
    const coverage = withCoverage ? await api.get(`/api/sources/${seg(id)}/coverage?month=${month}`, ctx.signal).catch((err) => (err.name === 'AbortError' ? Promise.reject(err) : null)) : null;
    if (ticket !== drawn) return;
    const byDate = new Map((coverage ? coverage.days : []).map((d) => [d.date, d]));
    const [y, m] = month.split('-').map(Number);
    const go = (target) => () => {
      month = target;
      replaceQuery({ month });
      draw();
    };
    const prev = month > firstMonth ? shiftMonth(month, -1) : null;
    const next = month < lastMonth ? shiftMonth(month, 1) : null;
    const first = new Date(Date.UTC(y, m - 1, 1));
    const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
    const lead = (first.getUTCDay() + 6) % 7; // Monday first
    const cells = [];
    for (let i = 0; i < lead; i++) cells.push(h('span', { class: 'day blank', 'aria-hidden': 'true' }));
    for (let d = 1; d <= daysInMonth; d++) {
      const date = `${month}-${String(d).padStart(2, '0')}`;
      const n = counts.get(date) || 0;
      const cov = byDate.get(date);
      // Without the coverage (a share link's visitor), a day says only that it has pictures.
      const state = cov ? cov.state : n ? 'pictures' : date > today ? 'future' : 'before';
      const label = t('source.dayLabel', { day: time.day(date), text: cov ? coverageText(cov) : t('source.pictureCount', { count: n }) });
      const mark = cov && cov.state === 'partial' ? t('source.markPercent', { pct: Math.floor(cov.ratio * 100) }) : cov && cov.state === 'missed' ? t('source.markNone') : '';
      const classes = ['day', `state-${state}`, n ? 'has' : null, date === today ? 'today' : null];
      const body = [h('span', { class: 'num', text: d }), h('span', { class: 'mark', text: mark }), cov && cov.ratio !== null ? h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { class: `fill r${Math.round(cov.ratio * 10)}` })) : null];
      cells.push(
        n
          ? h('a', { class: classes, href: `#/s/${id}/${date}`, dataset: { date, state }, 'aria-label': label, title: label }, body)
          : h('span', { class: classes, dataset: { date, state }, title: label, 'aria-label': label, role: 'img' }, body),
      );
    }
    fill(
      calendar,
      h(
        'div',
        { class: 'month-nav' },
        button('‹', go(prev), { disabled: !prev, 'aria-label': t('source.previousMonth'), class: 'icon' }),
        h('h2', { text: time.monthTitle(y, m) }),
        button('›', go(next), { disabled: !next, 'aria-label': t('source.nextMonth'), class: 'icon' }),
      ),
      h(
        'div',
        { class: 'month-jump' },
        button(t('source.firstDay'), go(firstMonth), { class: 'small', disabled: month === firstMonth, 'data-action': 'first-day' }),
        button(session.share ? t('source.lastDay') : t('source.today'), go(lastMonth), { class: 'small', disabled: month === lastMonth, 'data-action': 'today' }),
      ),
      h('div', { class: 'month-grid' }, WEEKDAYS.map((w) => h('span', { class: 'weekday', text: w })), cells),
      coverage ? legend() : null,
      days.length === 0 ? h('p', { class: 'empty', text: t('source.noPicturesYet') }) : null,
    );
    if (!coverage) return fill(gapsBox);
    const withGaps = coverage.days.filter((d) => d.gaps.length > 0 || d.state === 'missed');
    const planned = coverage.days.reduce((n, d) => n + d.expected, 0);
    const taken = coverage.days.reduce((n, d) => n + Math.min(d.pictures, d.expected), 0);
    fill(
      gapsBox,
      h('h2', { text: t('source.thisMonth') }),
      h('p', { class: 'month-summary', text: planned ? t('source.monthSummary', { taken, planned, pct: Math.floor((taken / planned) * 100) }) : t('source.monthUnplanned') }),
      withGaps.length
        ? h(
            'ul',
            { class: 'gap-days' },
            withGaps.reverse().map((d) =>
              h(
                'li',
                { dataset: { date: d.date } },
                counts.get(d.date) ? h('a', { href: `#/s/${id}/${d.date}`, text: time.day(d.date, 'medium') }) : h('strong', { text: time.day(d.date, 'medium') }),
                ` · ${coverageText(d)}`,
                d.gaps.length ? gapList(d.gaps) : null,
              ),
            ),
          )
        : planned
          ? h('p', { class: 'ok-text', text: t('source.monthComplete') })
          : null,
    );
  };
  await draw();

  // Under a gallery link with a period, the server gives the period's latest picture.
  const latestId = latestPictureId(source);
  const latest = latestId
    ? h(
        'section',
        { class: 'latest' },
        h('h2', { text: t('source.latest') }),
        h('a', { href: `#/p/${latestId}` }, h('img', { src: apiUrl(`/api/pictures/${latestId}/${shownSize()}`), alt: t('source.latestAlt', { name: source.name }), class: 'latest-img', width: 640, height: 360, decoding: 'async' })),
        session.share ? null : sourceFacts(source),
      )
    : null;
  // Share the source: its pictures and films (a period too), or its live picture.
  const share = shareButton(id, () => ({ scopes: ['gallery', 'latest'] }), ctx);
  // The exposure ramp (issue 27): what it does now and today's chart, for those who may change the source.
  const exposure = !session.share && session.can(id, 'edit') && source.exposure ? exposureCard(ctx, id, today, source.exposure) : null;
  const side = latest || exposure ? h('div', { class: 'side-column' }, latest, exposure) : null;
  fill(root, sourceHeader(source, '', share), h('div', { class: 'split' }, h('div', { class: 'calendar-column' }, calendar, gapsBox), side));
}

function legend() {
  const item = (state, text) => h('li', null, h('span', { class: `swatch state-${state}`, 'aria-hidden': 'true' }), text);
  return h(
    'ul',
    { class: 'legend', 'aria-label': t('source.legend') },
    item('complete', t('source.legendComplete')),
    item('partial', t('source.legendPartial')),
    item('missed', t('source.legendMissed')),
    item('unplanned', t('source.legendUnplanned')),
  );
}

/** Every picture of a day, following the API's cursor. */
async function dayPictures(id, date, signal) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 50; page++) {
    // A whole day (1,440 pictures at one a minute) in one answer: one round trip on a slow link, not three.
    const q = new URLSearchParams({ date, limit: '2000' });
    if (cursor) q.set('cursor', cursor);
    const answer = await api.get(`/api/sources/${seg(id)}/pictures?${q}`, signal);
    out.push(...answer.pictures);
    cursor = answer.next;
    if (!cursor) break;
  }
  return out;
}

/** A picture's thumbnail in an hour; its file is asked for once it nears the screen (`nearScreen`). */
function thumb(p) {
  const height = p.width && p.height ? Math.round((240 * p.height) / p.width) : 135;
  return h(
    'a',
    { href: `#/p/${p.id}`, class: 'thumb', dataset: { picture: p.id } },
    h('img', { alt: t('day.pictureAt', { time: time.time(p.takenAt) }), decoding: 'async', width: 240, height, dataset: { src: pictureUrl(p, 'thumb') } }),
    h('span', { class: 'time', text: time.time(p.takenAt) }),
  );
}

/** Pictures a second when the day plays. */
const PLAY_SPEEDS = [2, 5, 10, 20];
/** Thumbnails along the scrubber: enough to see the day go by, few enough for a slow link. */
const STRIP_THUMBS = { phone: 8, wide: 16 };
/**
 * Gives the `data-src` images under `root` their file once they come within a screen's
 * quarter of the view, and those added later through the returned `watch`. Chromium's own
 * `loading="lazy"` reaches 2,500 px ahead on a slow link: on a phone, a dozen hours of
 * thumbnails (a megabyte) that nobody scrolls to.
 */
function nearScreen(root, signal) {
  const seen = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        e.target.src = e.target.dataset.src;
        e.target.removeAttribute('data-src');
        seen.unobserve(e.target);
      }
    },
    { rootMargin: '25% 0px' },
  );
  const watch = (within) => {
    for (const img of within.querySelectorAll('img[data-src]')) seen.observe(img);
  };
  watch(root);
  signal.addEventListener('abort', () => seen.disconnect(), { once: true });
  return watch;
}

/** A scrubbed picture waits this long (the hand still moving) before its full preview is asked for. */
const SETTLE_MS = 200;

/**
 * The day as a player (issue 25): the picture at the scrubber's place, the scrubber over
 * the day with thumbnails along its time axis (a range input: arrows, Page Up/Down, Home,
 * End and touch all move it), and "play the day" at the chosen speed, each picture shown
 * once it has arrived (a slow link slows the play, it does not skip). The place is kept in
 * the address (`?p=<picture>`), so that the viewer's way back returns to it.
 */
function dayPlayer(pictures, ctx, initialId) {
  let index = Math.max(0, pictures.findIndex((p) => String(p.id) === String(initialId)));
  let playing = null;
  let speed = 5;
  const last = pictures.length - 1;
  // The picture shown: small on a phone or a slow link (a fifth of the bytes), else the preview.
  const size = shownSize();
  const img = h('img', { class: 'photo', alt: '', decoding: 'async', width: pictures[0].width || 1280, height: pictures[0].height || 720 });
  const open = h('a', { class: 'stage-link', 'aria-label': t('day.openPicture') }, img);
  const stage = h('div', { class: 'stage day-stage' }, open);
  const label = h('span', { class: 'scrub-time', 'aria-live': 'off' });
  const range = h('input', { type: 'range', class: 'scrubber', min: 0, max: last, step: 1, value: index, 'aria-label': t('day.scrubber') });
  const wide = window.matchMedia('(min-width: 700px)').matches;
  const n = Math.min(pictures.length, wide ? STRIP_THUMBS.wide : STRIP_THUMBS.phone);
  const strip = h(
    'div',
    { class: 'strip', 'aria-hidden': 'true' },
    Array.from({ length: n }, (_, i) => {
      const p = pictures[Math.round((i * last) / Math.max(1, n - 1))];
      return h('img', { alt: '', decoding: 'async', width: 160, height: 90, dataset: { src: pictureUrl(p, 'thumb') } });
    }),
  );
  const playButton = button(t('day.play'), () => (playing ? stop() : play()), { class: 'primary play', 'data-action': 'play', 'aria-pressed': 'false' });
  const speeds = h('select', { 'aria-label': t('day.speed'), class: 'speed', onchange: (e) => (speed = Number(e.target.value)) }, PLAY_SPEEDS.map((v) => h('option', { value: v, selected: v === speed, text: t('day.speedOption', { speed: v }) })));
  const step = (by) => button(by < 0 ? '‹' : '›', () => show(index + by, true), { class: 'icon', 'aria-label': by < 0 ? t('day.previousPicture') : t('day.nextPicture'), dataset: { step: by } });

  let settle = 0;
  /** Shows picture `i`: its thumbnail at once while the hand moves, its preview once it stops (`now`: at once); the address keeps it (`remember`). */
  const show = (i, now = false, remember = true) => {
    index = Math.min(last, Math.max(0, i));
    const p = pictures[index];
    range.value = String(index);
    label.textContent = t('day.position', { time: time.time(p.takenAt), index: index + 1, total: pictures.length });
    range.setAttribute('aria-valuetext', t('day.positionSpoken', { time: time.time(p.takenAt), index: index + 1, total: pictures.length }));
    open.href = `#/p/${p.id}`;
    img.alt = t('day.pictureAt', { time: time.time(p.takenAt) });
    img.dataset.picture = p.id;
    if (remember) replaceQuery({ p: p.id });
    clearTimeout(settle);
    const preview = pictureUrl(p, size);
    if (now) img.src = preview;
    else {
      if (img.getAttribute('src') !== preview) img.src = pictureUrl(p, 'thumb');
      settle = setTimeout(() => {
        if (pictures[index] === p) img.src = preview;
      }, SETTLE_MS);
    }
  };
  range.addEventListener('input', () => {
    stop();
    show(Number(range.value));
  });

  /** Plays from here: the next picture is fetched, then shown when both it has arrived and its turn has come. */
  const play = () => {
    if (index >= last) show(0, true);
    const run = { stopped: false };
    playing = run;
    playButton.textContent = t('day.pause');
    playButton.setAttribute('aria-pressed', 'true');
    const next = () => {
      if (run.stopped) return;
      if (index >= last) return stop();
      const due = performance.now() + 1000 / speed;
      const p = pictures[index + 1];
      const loading = new Image();
      loading.decoding = 'async';
      loading.src = pictureUrl(p, size);
      loading.decode().catch(() => undefined).then(() => {
        if (run.stopped) return;
        setTimeout(() => {
          if (run.stopped) return;
          show(index + 1, true);
          next();
        }, Math.max(0, due - performance.now()));
      });
    };
    next();
  };
  const stop = () => {
    if (!playing) return;
    playing.stopped = true;
    playing = null;
    playButton.textContent = t('day.play');
    playButton.setAttribute('aria-pressed', 'false');
  };
  ctx.onLeave(stop);
  document.addEventListener(
    'keydown',
    (e) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === 'ArrowRight') show(index + 1, true);
      else if (e.key === 'ArrowLeft') show(index - 1, true);
      else if (e.key === ' ' || e.key === 'k') playing ? stop() : play();
      else return;
      e.preventDefault();
    },
    { signal: ctx.signal },
  );
  // Opened on the day: its address stays as it was until the place moves.
  show(index, true, false);
  // The picture first: the scrubber's thumbnails (and the hours' below) once it has arrived, not beside it.
  const ready = new Promise((resolve) => {
    img.addEventListener('load', resolve, { once: true });
    img.addEventListener('error', resolve, { once: true });
  }).then(() => {
    for (const thumbImg of strip.querySelectorAll('img[data-src]')) thumbImg.src = thumbImg.dataset.src;
  });
  const element = h(
    'section',
    { class: 'day-player', 'aria-label': t('day.player') },
    stage,
    h('div', { class: 'scrub' }, strip, range),
    h('div', { class: 'player-bar' }, step(-1), playButton, step(1), speeds, label),
  );
  return { element, ready };
}

export async function dayView(root, ctx, id, date) {
  fill(root, spinner());
  const coverage = session.share ? Promise.resolve(null) : api.get(`/api/sources/${seg(id)}/coverage?from=${date}&to=${date}`, ctx.signal).catch((err) => (err.name === 'AbortError' ? Promise.reject(err) : null));
  const [source, { days }, pictures, cov] = await Promise.all([loadSource(id, ctx.signal), api.get(`/api/sources/${seg(id)}/days`, ctx.signal), dayPictures(id, date, ctx.signal), coverage]);
  root.classList.add('wide');
  const covDay = cov ? cov.days[0] : null;
  const index = days.findIndex((d) => d.date === date);
  const prev = index > 0 ? days[index - 1].date : days.filter((d) => d.date < date).pop()?.date;
  const next = days.find((d) => d.date > date)?.date;

  const byHour = new Map();
  for (const p of pictures) {
    const hour = time.parts(p.takenAt).hour;
    if (!byHour.has(hour)) byHour.set(hour, []);
    byHour.get(hour).push(p);
  }
  const hours = [...byHour.entries()].sort((a, b) => a[0] - b[0]);
  const sections = hours.map(([hour, list]) => {
    const grid = h('div', { class: 'thumbs' }, list.slice(0, PER_HOUR).map(thumb));
    const more = list.length > PER_HOUR ? button(t('day.showAll', { count: list.length }), () => {
      fill(grid, list.map(thumb));
      watch?.(grid);
      more.remove();
    }) : null;
    return h('section', { class: 'hour', id: `h${hour}` }, h('h3', null, `${String(hour).padStart(2, '0')}:00`, h('small', { text: ` ${t('day.hourCount', { count: list.length })}` })), grid, more);
  });
  const jump = h('nav', { class: 'hour-jump', 'aria-label': t('day.hours') }, hours.map(([hour]) => h('a', { href: `#h${hour}`, text: String(hour).padStart(2, '0'), onclick: (e) => {
    e.preventDefault();
    document.getElementById(`h${hour}`)?.scrollIntoView({ behavior: 'smooth' });
  } })));
  const downloads = session.can(id, 'download') && pictures.length > 0
    ? h('a', { class: 'button download', href: apiUrl(`/api/sources/${seg(id)}/days/${date}/zip`), download: `${id}-${date}.zip`, text: t('day.download') })
    : null;
  // Share this day (or change the period in the dialog).
  const share = shareButton(id, () => ({ scopes: ['gallery', 'latest'], from: date, to: date }), ctx);
  const player = pictures.length === 0 ? null : dayPlayer(pictures, ctx, ctx.query.get('p'));
  const hoursBox = h('div', { class: 'day-hours' });

  fill(
    root,
    sourceHeader(source, '', share),
    h(
      'div',
      { class: 'day-head' },
      h(
        'div',
        { class: 'day-nav' },
        prev ? h('a', { class: 'button icon', href: `#/s/${id}/${prev}`, 'aria-label': t('day.previousDay'), text: '‹' }) : h('span', { class: 'button icon disabled', 'aria-hidden': 'true', text: '‹' }),
        h('h2', { class: 'day-title', text: time.day(date) }),
        next ? h('a', { class: 'button icon', href: `#/s/${id}/${next}`, 'aria-label': t('day.nextDay'), text: '›' }) : h('span', { class: 'button icon disabled', 'aria-hidden': 'true', text: '›' }),
      ),
      h('div', { class: 'day-tools' }, h('span', { class: 'count', text: t('day.count', { count: pictures.length }) }), downloads),
    ),
    covDay ? h('div', { class: 'day-coverage' }, h('p', { text: coverageText(covDay) }), covDay.gaps.length ? gapList(covDay.gaps) : null) : null,
    player ? player.element : null,
    // The day's exposure (issue 27), when its pictures have their settings: for those who may change the source.
    !session.share && session.can(id, 'edit') ? exposureCard(ctx, id, date, null, true) : null,
    hoursBox,
  );
  // The hours' thumbnails once the player's picture has arrived (or at once without one), each
  // asked for as it nears the screen.
  let watch = null;
  const showHours = () => {
    fill(hoursBox, hours.length > 1 ? jump : null, pictures.length === 0 ? h('p', { class: 'empty', text: t('day.empty') }) : sections);
    watch = nearScreen(hoursBox, ctx.signal);
  };
  if (player) player.ready.then(showHours);
  else showHours();
}
