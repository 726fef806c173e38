// The exposure ramp as the director sees it (issue 27): the settings of the last frame,
// the target, and a chart of each picture's luminance and exposure value over a day.
import { api, seg } from '../api.js';
import { h, fill, errorBox } from '../dom.js';
import { timeChart, legend, hourTicks, onResize } from '../chart.js';
import * as time from '../time.js';
import { t, number } from '../i18n.js';

const HOUR_MS = 3_600_000;

/** "1/250 s · ISO 100 · f/8", the values as the camera spells them. */
export function settingsText(s) {
  if (!s) return '–';
  const parts = [];
  if (s.shutter) parts.push(/^[\d./]+$/.test(s.shutter) ? t('exposure.shutter', { value: s.shutter }) : s.shutter);
  if (s.iso) parts.push(t('exposure.iso', { value: s.iso }));
  if (s.aperture) parts.push(s.aperture.startsWith('f/') ? s.aperture : `f/${s.aperture}`);
  return parts.join(' · ');
}

const REASONS = {
  'first frame': () => t('exposure.reasonFirst'),
  'within the dead band': () => t('exposure.reasonSteady'),
  stepping: () => t('exposure.reasonStepping'),
  'at the limit': () => t('exposure.reasonLimit'),
};

/** The ramp now: the last frame's settings and light against the target, and what the ramp is doing. */
export function rampLines(ramp) {
  const reason = ramp.reason ? (REASONS[ramp.reason] || (() => ramp.reason))() : t('exposure.reasonNone');
  return h(
    'dl',
    { class: 'status exposure-now' },
    h('dt', { text: t('exposure.settings') }),
    h('dd', { class: 'exposure-settings', title: ramp.at ? time.dateTime(ramp.at) : '' }, ramp.settings ? t('exposure.settingsEv', { settings: settingsText(ramp.settings), ev: number(ramp.ev, { maximumFractionDigits: 1 }) }) : '–'),
    h('dt', { text: t('exposure.target') }),
    h('dd', { class: 'exposure-target', text: ramp.luminance === null ? number(ramp.target) : t('exposure.targetLast', { target: number(ramp.target), luminance: number(ramp.luminance, { maximumFractionDigits: 1 }) }) }),
    h('dt', { text: t('exposure.state') }),
    h('dd', { class: ['exposure-reason', ramp.atLimit ? 'warn-text' : null], text: ramp.sun ? t('exposure.reasonWithSun', { reason }) : reason }),
  );
}

/** The next local day after `date` (YYYY-MM-DD). */
function nextDate(date) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** Luminance (left, 0–255, with the target) and EV (right) of each picture of the day; an empty state without any. */
export function exposureChart(data, width) {
  const points = data.points.filter((p) => p.luminance !== null);
  if (points.length === 0) return h('p', { class: 'empty', text: t('exposure.noPoints') });
  const from = Date.parse(time.fromWallClock(`${data.date}T00:00`));
  const to = Date.parse(time.fromWallClock(`${nextDate(data.date)}T00:00`));
  const at = (p) => Date.parse(p.at);
  const series = [{ key: 'luminance', axis: 'left', min: 0, max: 255, format: (v) => number(Math.round(v)), points: points.map((p) => [at(p), p.luminance]) }];
  if (data.target !== null) series.push({ key: 'target', axis: 'left', min: 0, max: 255, ticks: false, gapMs: Infinity, format: String, points: [[from, data.target], [to, data.target]] });
  const evs = points.filter((p) => p.ev !== null).map((p) => p.ev);
  if (evs.length > 0) {
    // Whole EVs, four grid steps shared with the luminance axis.
    const lo = Math.floor(Math.min(...evs));
    const hi = lo + Math.max(4, Math.ceil((Math.max(...evs) - lo) / 4) * 4);
    series.push({ key: 'ev', axis: 'right', min: lo, max: hi, format: (v) => t('exposure.evTick', { v: number(v, { maximumFractionDigits: 1 }) }), points: points.map((p) => [at(p), p.ev]) });
  }
  const w = Math.max(300, Math.min(1200, width));
  return h(
    'div',
    { class: 'exposure-chart' },
    timeChart({ from, to, width: w, label: t('exposure.chartLabel', { day: time.day(data.date, 'medium') }), gapMs: HOUR_MS / 2, xTicks: hourTicks(from, to, w < 560 ? 6 : 3), series }),
    legend([
      { key: 'luminance', text: t('exposure.legendLuminance') },
      data.target !== null ? { key: 'target', text: t('exposure.legendTarget', { target: number(data.target) }) } : null,
      evs.length > 0 ? { key: 'ev', text: t('exposure.legendEv') } : null,
    ].filter(Boolean)),
  );
}

/**
 * The exposure card of a source's page for a day: the ramp now (`ramp`, today only) and the
 * day's chart, drawn for the width it gets and again when that changes. `onlyWithSettings`:
 * nothing at all for a day without any picture's settings (a camera lapsebox does not expose).
 */
export function exposureCard(ctx, sourceId, date, ramp, onlyWithSettings = false) {
  const box = h('div', { class: 'exposure-box' });
  const card = h('section', { class: 'card chart exposure', 'aria-label': t('exposure.title') }, h('h2', { text: t('exposure.title') }), ramp ? rampLines(ramp) : null, box);
  let data = null;
  let drawnWidth = 0;
  const width = () => (card.clientWidth || 360) - 28;
  const draw = (fresh) => {
    if (!data || (!fresh && Math.abs(width() - drawnWidth) < 24)) return;
    drawnWidth = width();
    fill(box, data instanceof Error ? errorBox(data, t('exposure.cannotLoad')) : exposureChart(data, drawnWidth));
  };
  onResize(ctx, () => draw(false));
  api
    .get(`/api/sources/${seg(sourceId)}/exposure?date=${date}`, ctx.signal)
    .then((d) => {
      if (onlyWithSettings && !d.points.some((p) => p.ev !== null)) return card.remove();
      data = d;
      draw(true);
    })
    .catch((err) => {
      if (err.name === 'AbortError') return;
      data = err;
      draw(true);
    });
  return card;
}
