// Two moments of a source side by side, or one over the other with a slider.
import { api, seg, pictureUrl } from '../api.js';
import { h, fill, spinner, errorBox, labelled } from '../dom.js';
import * as t from '../time.js';
import { replaceQuery } from '../router.js';
import { loadSource, sourceHeader } from './common.js';

async function nearest(id, iso, signal) {
  const answer = await api.get(`/api/sources/${seg(id)}/pictures?at=${encodeURIComponent(iso)}`, signal);
  return answer.pictures[0] || null;
}

export async function compareView(root, ctx, id) {
  fill(root, spinner());
  const [source, { days }] = await Promise.all([loadSource(id, ctx.signal), api.get(`/api/sources/${seg(id)}/days`, ctx.signal)]);
  const lastAt = (source.latest && source.latest.takenAt) || (source.lastCapture && source.lastCapture.at) || new Date().toISOString();
  const firstDay = days.length ? days[0].date : null;
  const defaultA = firstDay && firstDay < t.wallClock(lastAt).slice(0, 10) ? `${firstDay}T12:00` : t.wallClock(new Date(Date.parse(lastAt) - 3600_000));
  const inputA = h('input', { type: 'datetime-local', name: 'a', value: ctx.query.get('a') || defaultA, required: true });
  const inputB = h('input', { type: 'datetime-local', name: 'b', value: ctx.query.get('b') || t.wallClock(lastAt), required: true });
  let mode = ctx.query.get('mode') === 'slider' ? 'slider' : 'side';

  const modeButtons = ['side', 'slider'].map((m) =>
    h('button', { type: 'button', class: 'toggle', 'aria-pressed': String(mode === m), dataset: { mode: m }, text: m === 'side' ? 'Side by side' : 'Slider', onclick: () => {
      mode = m;
      for (const b of modeButtons) b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
      show();
    } }),
  );
  const out = h('section', { class: 'compare-out', 'aria-live': 'polite' });
  let pair = null;

  const caption = (p, label) => h('figcaption', null, h('strong', { text: `${label} ` }), p ? h('a', { href: `#/p/${p.id}` }, h('time', { datetime: p.takenAt, text: t.dateTime(p.takenAt) })) : 'no picture');
  const show = () => {
    replaceQuery({ a: inputA.value, b: inputB.value, mode });
    if (!pair) return;
    const [a, b] = pair;
    if (!a || !b) return fill(out, h('p', { class: 'empty', text: 'No picture near these moments.' }));
    const imgA = h('img', { src: pictureUrl(a, 'preview'), alt: `A: ${t.dateTime(a.takenAt)}`, width: a.width, height: a.height });
    const imgB = h('img', { src: pictureUrl(b, 'preview'), alt: `B: ${t.dateTime(b.takenAt)}`, width: b.width, height: b.height });
    if (mode === 'side') {
      fill(out, h('div', { class: 'side-by-side' }, h('figure', null, imgA, caption(a, 'A')), h('figure', null, imgB, caption(b, 'B'))));
      return;
    }
    // Slider: B underneath, A on top clipped to the left part; the range moves the edge.
    imgA.className = 'over';
    const edge = h('span', { class: 'edge', 'aria-hidden': 'true' });
    const range = h('input', { type: 'range', min: 0, max: 100, value: 50, 'aria-label': 'Position of the edge between A and B', class: 'slider' });
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
    fill(out, h('figure', { class: 'slider-figure' }, overlay, range, h('div', { class: 'captions' }, caption(a, 'A (left)'), caption(b, 'B (right)'))));
  };

  const load = async () => {
    const isoA = t.fromWallClock(inputA.value);
    const isoB = t.fromWallClock(inputB.value);
    if (!isoA || !isoB) return;
    fill(out, spinner());
    try {
      pair = await Promise.all([nearest(id, isoA, ctx.signal), nearest(id, isoB, ctx.signal)]);
      show();
    } catch (err) {
      if (err.name !== 'AbortError') fill(out, errorBox(err, 'Cannot find the pictures'));
    }
  };
  const form = h(
    'form',
    { class: 'compare-form', onsubmit: (e) => {
      e.preventDefault();
      load();
    } },
    labelled('Moment A', inputA),
    labelled('Moment B', inputB),
    h('button', { type: 'submit', class: 'primary', text: 'Compare' }),
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'Display' }, modeButtons),
  );
  inputA.addEventListener('change', load);
  inputB.addEventListener('change', load);
  fill(root, sourceHeader(source, 'compare'), form, h('p', { class: 'hint', text: `Times are in ${t.timeZone()}; each side shows the picture nearest to its moment.` }), out);
  await load();
}
