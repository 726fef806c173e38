// Two moments of a source side by side, or one over the other with a slider. A
// visitor of a compare link sees the link's two pictures, loaded by id.
import { api, seg, pictureUrl } from '../api.js';
import { h, fill, spinner, errorBox, labelled, button } from '../dom.js';
import { session } from '../session.js';
import * as time from '../time.js';
import { t } from '../i18n.js';
import { replaceQuery } from '../router.js';
import { loadSource, sourceHeader } from './common.js';
import { shareButton } from './share.js';

async function nearest(id, iso, signal) {
  const answer = await api.get(`/api/sources/${seg(id)}/pictures?at=${encodeURIComponent(iso)}`, signal);
  return answer.pictures[0] || null;
}

export async function compareView(root, ctx, id) {
  fill(root, spinner());
  const shared = session.share && session.share.scope === 'compare' ? session.share : null;
  if (shared) return sharedCompare(root, ctx, id, shared.pictures);
  const [source, { days }] = await Promise.all([loadSource(id, ctx.signal), api.get(`/api/sources/${seg(id)}/days`, ctx.signal)]);
  const lastAt = (source.latest && source.latest.takenAt) || (source.lastCapture && source.lastCapture.at) || new Date().toISOString();
  const firstDay = days.length ? days[0].date : null;
  const defaultA = firstDay && firstDay < time.wallClock(lastAt).slice(0, 10) ? `${firstDay}T12:00` : time.wallClock(new Date(Date.parse(lastAt) - 3600_000));
  const inputA = h('input', { type: 'datetime-local', name: 'a', value: ctx.query.get('a') || defaultA, required: true });
  const inputB = h('input', { type: 'datetime-local', name: 'b', value: ctx.query.get('b') || time.wallClock(lastAt), required: true });
  const out = h('section', { class: 'compare-out', 'aria-live': 'polite' });
  let pair = null;
  const display = comparison(out, ctx.query.get('mode') === 'slider' ? 'slider' : 'side', () => pair, (mode) => replaceQuery({ a: inputA.value, b: inputB.value, mode }), true);

  const load = async () => {
    const isoA = time.fromWallClock(inputA.value);
    const isoB = time.fromWallClock(inputB.value);
    if (!isoA || !isoB) return;
    fill(out, spinner());
    try {
      pair = await Promise.all([nearest(id, isoA, ctx.signal), nearest(id, isoB, ctx.signal)]);
      display.show();
    } catch (err) {
      if (err.name !== 'AbortError') fill(out, errorBox(err, t('compare.notFound')));
    }
  };
  // Share these two pictures, as they are now.
  const share = shareButton(id, () => {
    const [a, b] = pair || [];
    if (!a || !b) return null;
    return { scopes: ['compare'], pictures: [a.id, b.id], describe: t('compare.describe', { a: time.dateTime(a.takenAt), b: time.dateTime(b.takenAt) }) };
  }, ctx);
  // Presets: A at B's time of day, a day or a week before B, or on the first day.
  const preset = (text, action, daysBack) =>
    button(text, () => {
      const b = inputB.value || time.wallClock(lastAt);
      const hhmm = b.slice(11, 16);
      inputA.value = daysBack === null ? `${firstDay}T${hhmm}` : `${shiftDay(b.slice(0, 10), -daysBack)}T${hhmm}`;
      replaceQuery({ a: inputA.value, b: inputB.value, mode: display.mode() });
      load();
    }, { class: 'small', dataset: { preset: action } });
  const presets = h(
    'div',
    { class: 'presets', role: 'group', 'aria-label': t('compare.presets') },
    h('span', { class: 'hint', text: `${t('compare.aIs')} ` }),
    preset(t('compare.dayBefore'), 'yesterday', 1),
    preset(t('compare.weekBefore'), 'week', 7),
    firstDay ? preset(t('compare.firstDay'), 'first', null) : null,
  );
  const form = h(
    'form',
    { class: 'compare-form', onsubmit: (e) => {
      e.preventDefault();
      load();
    } },
    labelled(t('compare.momentA'), inputA),
    labelled(t('compare.momentB'), inputB),
    h('button', { type: 'submit', class: 'primary', text: t('compare.submit') }),
    display.modes,
    display.download,
    share,
  );
  inputA.addEventListener('change', load);
  inputB.addEventListener('change', load);
  fill(root, sourceHeader(source, 'compare'), form, presets, h('p', { class: 'hint', text: t('compare.hint', { zone: time.timeZone() }) }), out);
  await load();
}

/** A visitor's compare link: the two pictures it names, side by side or with the slider. */
async function sharedCompare(root, ctx, id, ids) {
  const [source, ...answers] = await Promise.all([loadSource(id, ctx.signal), ...ids.map((pid) => api.get(`/api/pictures/${seg(pid)}`, ctx.signal))]);
  const pair = answers.map((a) => a.picture);
  const out = h('section', { class: 'compare-out', 'aria-live': 'polite' });
  const display = comparison(out, ctx.query.get('mode') === 'slider' ? 'slider' : 'side', () => pair, (mode) => replaceQuery({ mode }), false);
  fill(root, sourceHeader(source, 'compare'), h('div', { class: 'compare-form' }, display.modes, display.download), out);
  display.show();
}

/**
 * The two pictures in `out`, side by side or with the slider, and the buttons that
 * switch; `linked`: the captions open each picture in the viewer.
 */
function comparison(out, initialMode, getPair, remember, linked) {
  let mode = initialMode;
  const modeButtons = ['side', 'slider'].map((m) =>
    h('button', { type: 'button', class: 'toggle', 'aria-pressed': String(mode === m), dataset: { mode: m }, text: m === 'side' ? t('compare.sideBySide') : t('compare.slider'), onclick: () => {
      mode = m;
      for (const b of modeButtons) b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
      show();
    } }),
  );
  const when = (p) => h('time', { datetime: p.takenAt, text: time.dateTime(p.takenAt) });
  const caption = (p, label) => h('figcaption', null, h('strong', { text: `${label} ` }), p ? (linked ? h('a', { href: `#/p/${p.id}` }, when(p)) : when(p)) : t('compare.noPicture'));
  const show = () => {
    remember(mode);
    const pair = getPair();
    if (!pair) return;
    const [a, b] = pair;
    if (!a || !b) return fill(out, h('p', { class: 'empty', text: t('compare.empty') }));
    const imgA = h('img', { src: pictureUrl(a, 'preview'), alt: t('compare.altA', { time: time.dateTime(a.takenAt) }), width: a.width, height: a.height });
    const imgB = h('img', { src: pictureUrl(b, 'preview'), alt: t('compare.altB', { time: time.dateTime(b.takenAt) }), width: b.width, height: b.height });
    if (mode === 'side') {
      fill(out, h('div', { class: 'side-by-side' }, h('figure', null, imgA, caption(a, 'A')), h('figure', null, imgB, caption(b, 'B'))));
      return;
    }
    // Slider: B underneath, A on top clipped to the left part; the range moves the edge.
    imgA.className = 'over';
    const edge = h('span', { class: 'edge', 'aria-hidden': 'true' });
    const range = h('input', { type: 'range', min: 0, max: 100, value: 50, 'aria-label': t('compare.edge'), class: 'slider' });
    const place = () => {
      const x = Number(range.value);
      imgA.style.clipPath = `inset(0 ${100 - x}% 0 0)`;
      edge.style.left = `${x}%`;
    };
    range.addEventListener('input', place);
    const overlay = h('div', { class: 'overlay' }, imgB, imgA, edge);
    // Dragging on the picture moves the edge too (touch friendly).
    const drag = (e) => {
      const r = overlay.getBoundingClientRect();
      range.value = String(Math.max(0, Math.min(100, ((e.clientX - r.left) / r.width) * 100)));
      place();
    };
    overlay.addEventListener('pointerdown', (e) => {
      overlay.setPointerCapture(e.pointerId);
      drag(e);
    });
    overlay.addEventListener('pointermove', (e) => {
      if (overlay.hasPointerCapture(e.pointerId)) drag(e);
    });
    place();
    fill(out, h('figure', { class: 'slider-figure' }, overlay, range, h('div', { class: 'captions' }, caption(a, t('compare.aLeft')), caption(b, t('compare.bRight')))));
  };
  const download = button(t('compare.download'), async () => {
    const pair = getPair();
    if (!pair || !pair[0] || !pair[1]) return;
    download.disabled = true;
    try {
      const blob = await comparisonImage(pair[0], pair[1]);
      const a = h('a', { href: URL.createObjectURL(blob), download: `compare-${pair[0].id}-${pair[1].id}.jpg` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } finally {
      download.disabled = false;
    }
  }, { class: 'small', 'data-action': 'download-compare' });
  return { show, mode: () => mode, download, modes: h('div', { class: 'segmented', role: 'group', 'aria-label': t('compare.display') }, modeButtons) };
}

/** A day `by` days from a local date "YYYY-MM-DD". */
function shiftDay(date, by) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + by)).toISOString().slice(0, 10);
}

/** The two pictures side by side in one JPEG, each with its date and time under it (drawn in the browser). */
async function comparisonImage(a, b) {
  const load = (p) =>
    new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error(`picture ${p.id} did not load`));
      img.src = pictureUrl(p, 'preview');
    });
  const [ia, ib] = await Promise.all([load(a), load(b)]);
  const height = Math.max(ia.naturalHeight, ib.naturalHeight);
  const band = Math.max(28, Math.round(height / 18));
  const canvas = document.createElement('canvas');
  canvas.width = ia.naturalWidth + ib.naturalWidth;
  canvas.height = height + band;
  const g = canvas.getContext('2d');
  g.fillStyle = '#111';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.drawImage(ia, 0, 0);
  g.drawImage(ib, ia.naturalWidth, 0);
  g.fillStyle = '#fff';
  g.font = `${Math.round(band * 0.55)}px system-ui, sans-serif`;
  g.textBaseline = 'middle';
  g.fillText(`A  ${time.dateTime(a.takenAt)}`, 12, height + band / 2);
  g.fillText(`B  ${time.dateTime(b.takenAt)}`, ia.naturalWidth + 12, height + band / 2);
  return new Promise((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the browser could not make the image'))), 'image/jpeg', 0.9));
}
