// A source's videos with a player; directors also build custom videos here and
// follow the job until it is done (or cancel it). A visitor of a video link sees
// the player of that film alone.
import { api, apiUrl, seg, linkBelow, phoneScreen } from '../api.js';
import { h, fill, spinner, errorBox, labelled, button, bytes } from '../dom.js';
import { t, number } from '../i18n.js';
import { session } from '../session.js';
import * as time from '../time.js';
import { loadSource, sourceHeader } from './common.js';
import { fieldErrors, clearFieldErrors } from './forms.js';
import { shareButton } from './share.js';

const POLL_MS = 1000;
/** A job's progress as the API gives it: percent, 0 to 100 (clamped, so a stray value cannot overflow the bar). */
const percent = (progress) => Math.min(100, Math.max(0, Number(progress) || 0));
const KIND_NAMES = { daily: t('videos.kindDaily'), weekly: t('videos.kindWeekly'), monthly: t('videos.kindMonthly'), custom: t('videos.kindCustom') };
/** A job's status as its badge says it; a status this UI does not know shows as the API spells it. */
const JOB_STATUSES = {
  queued: t('videos.jobQueued'),
  running: t('videos.jobRunning'),
  succeeded: t('videos.jobSucceeded'),
  done: t('videos.jobDone'),
  skipped: t('videos.jobSkipped'),
  failed: t('videos.jobFailed'),
  cancelled: t('videos.jobCancelled'),
};
const SPEEDS = [0.5, 1, 2, 4];
/** The quality the user picked in this page ('phone' or 'full'), or null: chosen by screen and connection. */
let preferred = null;

/**
 * The file to play: the phone rendition on a small screen or a slow or metered link
 * (data saver or 2G/3G by the Network Information API, or this page's own measure of
 * its transfers), else the film; the user's choice wins. A film without a phone
 * rendition is its own.
 */
function pickRendition(v) {
  const full = { name: 'full', file: v.file, width: v.width, height: v.height, bitrate: v.bitrate };
  if (!v.phone) return full;
  const phone = { name: 'phone', ...v.phone };
  if (preferred) return preferred === 'phone' ? phone : full;
  return linkBelow(2 * (v.bitrate || Infinity)) || phoneScreen() ? phone : full;
}

/** "Daily · 23 Nov 2026", "Custom · 20 Nov 2026 – 21 Nov 2026": the period, in the box's days. */
function title(v) {
  const kind = KIND_NAMES[v.kind] || v.kind;
  if (!v.from || !v.to) return t('videos.title', { kind, period: v.label });
  const first = time.wallClock(v.from).slice(0, 10);
  const last = time.wallClock(new Date(Date.parse(v.to) - 1)).slice(0, 10);
  const period = first === last ? time.day(first, 'medium') : t('videos.dayRange', { from: time.day(first, 'medium'), to: time.day(last, 'medium') });
  return t('videos.title', { kind, period });
}

/** "1 min 20 s · 480 pictures at 24 fps · 1920×1080 · 4.2 Mbit/s": the film as played. */
function factsText(v, rendition) {
  // The size goes in as plain arguments, not `{width, number}`: a resolution is not grouped ("1920", not "1 920").
  const values = { duration: time.duration(v.durationMs), frames: v.frames, fps: v.fps, width: rendition.width, height: rendition.height };
  if (!rendition.bitrate) return t('videos.facts', values);
  return t('videos.factsBitrate', { ...values, mbits: number(rendition.bitrate / 1e6, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) });
}

export async function videosView(root, ctx, id) {
  fill(root, spinner());
  const source = await loadSource(id, ctx.signal);
  const mayDownload = session.can(id, 'download');
  const player = h('section', { class: 'player', hidden: true });
  const list = h('section', { class: 'video-list', 'aria-label': t('videos.listLabel') }, spinner());

  const play = (v, scroll = true, start = true) => {
    const rendition = pickRendition(v);
    const video = h('video', { controls: true, preload: 'metadata', playsinline: true, muted: true, src: apiUrl(rendition.file), poster: v.poster ? apiUrl(v.poster) : undefined, width: rendition.width, height: rendition.height, dataset: { rendition: rendition.name } });
    const share = shareButton(id, () => ({ scopes: ['video'], video: v.id, describe: title(v) }), ctx);
    const speeds = h(
      'div',
      { class: 'segmented speeds', role: 'group', 'aria-label': t('videos.speed') },
      SPEEDS.map((rate) =>
        h('button', { type: 'button', class: 'toggle', 'aria-pressed': String(rate === 1), dataset: { speed: rate }, text: t('videos.speedRate', { rate }), onclick: (e) => {
          video.playbackRate = rate;
          for (const b of speeds.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === e.currentTarget));
        } }),
      ),
    );
    // The player keeps the chosen speed when the browser resets it (a new source, a seek on some browsers).
    video.addEventListener('loadedmetadata', () => {
      const pressed = speeds.querySelector('[aria-pressed="true"]');
      video.playbackRate = Number(pressed ? pressed.dataset.speed : 1);
    });
    const quality = v.phone
      ? h(
          'div',
          { class: 'segmented quality', role: 'group', 'aria-label': t('videos.quality') },
          [['phone', `${v.phone.height}p`], ['full', `${v.height}p`]].map(([name, text]) =>
            h('button', { type: 'button', class: 'toggle', 'aria-pressed': String(rendition.name === name), dataset: { quality: name }, text, onclick: () => {
              preferred = name;
              play(v, false);
            } }),
          ),
        )
      : null;
    const facts = factsText(v, rendition);
    fill(
      player,
      video,
      h('div', { class: 'player-tools' }, speeds, quality),
      h('p', { class: 'video-title' }, h('strong', { text: title(v) }), ` · ${facts}`),
      share || mayDownload
        ? h('div', { class: 'viewer-tools' }, share, mayDownload ? h('a', { class: 'button download', href: `${apiUrl(v.file)}?download=1`, download: '', text: t('videos.downloadSize', { size: bytes(v.size) }) }) : null)
        : null,
    );
    player.hidden = false;
    if (scroll) player.scrollIntoView({ behavior: 'smooth', block: 'start' });
    // Opened by a tap: it plays at once (the tap is the user's consent; the films have no sound).
    if (start) video.play().catch(() => undefined);
  };

  // A video link: that film's player, nothing else.
  if (session.share && session.share.scope === 'video') {
    const { videos } = await api.get(`/api/sources/${seg(id)}/videos`, ctx.signal);
    const film = videos.find((v) => v.id === session.share.video);
    fill(root, sourceHeader(source, 'videos'), film ? player : h('p', { class: 'empty', text: t('videos.filmGone') }));
    if (film) play(film, false, false);
    return;
  }

  const load = async () => {
    const { videos } = await api.get(`/api/sources/${seg(id)}/videos`, ctx.signal);
    if (videos.length === 0) return fill(list, h('p', { class: 'empty', text: session.share ? t('videos.emptyShared') : t('videos.empty') }));
    fill(
      list,
      h(
        'ul',
        { class: 'videos' },
        videos.map((v) =>
          h(
            'li',
            { class: 'video-item', dataset: { video: v.id } },
            h(
              'button',
              { type: 'button', class: 'video-open', onclick: () => play(v), 'aria-label': t('videos.playTitle', { title: title(v) }) },
              v.poster ? h('img', { src: apiUrl(v.poster), alt: '', loading: 'lazy', width: 240, height: Math.round((240 * v.height) / v.width) || 135 }) : h('span', { class: 'no-picture', text: '▶' }),
              h('span', { class: 'video-label' }, h('strong', { text: title(v) }), h('small', { text: t('videos.itemFacts', { duration: time.duration(v.durationMs), frames: v.frames, made: time.shortDateTime(v.createdAt) }) })),
            ),
            mayDownload ? h('a', { class: 'button small download', href: `${apiUrl(v.file)}?download=1`, download: '', text: t('videos.download') }) : null,
          ),
        ),
      ),
    );
    return videos;
  };

  fill(root, sourceHeader(source, 'videos'), player, list, session.can(id, 'edit') ? customVideos(id, ctx, load) : null);
  await load();
}

/** The custom video form and the user's jobs on this source. */
function customVideos(id, ctx, reload) {
  const today = time.wallClock(new Date()).slice(0, 10);
  const from = h('input', { type: 'date', name: 'from', value: today, required: true, dataset: { path: 'from' } });
  const to = h('input', { type: 'date', name: 'to', value: today, required: true, dataset: { path: 'to' } });
  const keepFrom = h('input', { type: 'time', name: 'keepFrom', dataset: { path: 'keepFrom' } });
  const keepTo = h('input', { type: 'time', name: 'keepTo', dataset: { path: 'keepTo' } });
  const minInterval = h('input', { type: 'text', name: 'minInterval', placeholder: t('videos.minIntervalExample'), inputmode: 'text', size: 6, dataset: { path: 'minInterval' } });
  const fps = h('input', { type: 'number', name: 'fps', min: 1, max: 120, placeholder: t('videos.default'), dataset: { path: 'fps' } });
  const width = h('input', { type: 'number', name: 'width', min: 16, step: 2, placeholder: t('videos.default'), dataset: { path: 'width' } });
  const message = h('div', { class: 'form-error', hidden: true });
  const jobs = h('ul', { class: 'jobs' });
  const following = new Set();

  const jobRow = (job) => {
    const row = h('li', { class: 'job', dataset: { job: job.id } });
    const draw = (j) => {
      const done = !['queued', 'running'].includes(j.status);
      fill(
        row,
        h('span', { class: `badge ${j.status === 'failed' ? 'bad' : done ? 'muted' : 'info'}`, text: JOB_STATUSES[j.status] || j.status }),
        ` ${j.label || `#${j.id}`} `,
        done ? null : h('progress', { max: 100, value: percent(j.progress), 'aria-label': t('videos.progress') }),
        done ? null : h('span', { class: 'pct', text: number(Math.round(percent(j.progress)) / 100, { style: 'percent' }) }),
        j.message ? h('small', { class: 'job-message', text: ` ${j.message}` }) : null,
        done ? null : button(t('videos.cancel'), async () => {
          try {
            draw((await api.del(`/api/jobs/${j.id}`)).job);
          } catch (err) {
            row.append(errorBox(err, t('videos.cannotCancel')));
          }
        }, { class: 'small' }),
      );
    };
    draw(job);
    const follow = async () => {
      if (following.has(job.id)) return;
      following.add(job.id);
      try {
        while (!ctx.signal.aborted) {
          const { job: j } = await api.get(`/api/jobs/${job.id}`, ctx.signal);
          draw(j);
          if (!['queued', 'running'].includes(j.status)) {
            if (j.status === 'succeeded' || j.status === 'done') await reload();
            break;
          }
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
      } catch (err) {
        if (err.name !== 'AbortError') row.append(errorBox(err, t('videos.lostJob')));
      }
    };
    if (['queued', 'running'].includes(job.status)) follow();
    return row;
  };

  const form = h(
    'form',
    { class: 'custom-video', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      clearFieldErrors(form, message);
      const body = { from: from.value, to: to.value };
      if (keepFrom.value) body.keepFrom = keepFrom.value;
      if (keepTo.value) body.keepTo = keepTo.value;
      if (minInterval.value.trim()) body.minInterval = minInterval.value.trim();
      if (fps.value) body.fps = Number(fps.value);
      if (width.value) body.width = Number(width.value);
      try {
        const { job } = await api.post(`/api/sources/${seg(id)}/videos`, body);
        jobs.prepend(jobRow(job));
      } catch (err) {
        fieldErrors(form, message, err);
      }
    } },
    h('h2', { text: t('videos.customTitle') }),
    h('div', { class: 'row' }, labelled(t('videos.from'), from), labelled(t('videos.toIncluded'), to)),
    h('div', { class: 'row' }, labelled(t('videos.dailyFrom'), keepFrom), labelled(t('videos.dailyTo'), keepTo), labelled(t('videos.minInterval'), minInterval)),
    h('div', { class: 'row' }, labelled(t('videos.fps'), fps), labelled(t('videos.width'), width)),
    message,
    h('button', { type: 'submit', class: 'primary', text: t('videos.build') }),
    h('h3', { text: t('videos.yourJobs') }),
    jobs,
  );
  api
    .get(`/api/jobs?source=${seg(id)}`, ctx.signal)
    .then(({ jobs: list }) => {
      for (const job of list.slice(0, 10)) jobs.append(jobRow(job));
    })
    .catch(() => {});
  return h('section', { class: 'panel' }, form);
}
