// A small time chart drawn as SVG with DOM calls: no library, no markup from strings.
// Up to two value axes (left and right), lines broken where data is missing, a
// dot for a point that stands alone. Sized in CSS pixels for the width it is given,
// so text stays legible on a phone and the chart does not grow tall on a desktop.
import { h, svg } from './dom.js';
import * as time from './time.js';

const HEIGHT = 190;
const MARGIN = { top: 10, right: 40, bottom: 24, left: 38 };
/** Horizontal grid lines: both axes share them. */
const STEPS = 4;

const round = (n) => Math.round(n * 10) / 10;

/**
 * chart({ from, to, width, label, gapMs, xTicks: [{ at, label }], series: [{ key, name,
 *   axis: 'left' | 'right', min, max, format(v), ticks (false: none on the axis), gapMs (its own),
 *   points: [[ms, value | null]] }] })
 * Each series is drawn with the classes `series <key>`; the caller's CSS colours them.
 */
export function timeChart({ from, to, width, label, gapMs, xTicks, series }) {
  const W = Math.round(width);
  const plot = { x0: MARGIN.left, x1: W - MARGIN.right, y0: MARGIN.top, y1: HEIGHT - MARGIN.bottom };
  const x = (ms) => round(plot.x0 + ((ms - from) / (to - from)) * (plot.x1 - plot.x0));
  const yOf = (s) => (v) => round(plot.y1 - ((Math.min(s.max, Math.max(s.min, v)) - s.min) / (s.max - s.min)) * (plot.y1 - plot.y0));

  const grid = svg('g', { class: 'grid' });
  const axes = svg('g', { class: 'axes' });
  for (let i = 0; i <= STEPS; i++) {
    const y = round(plot.y1 - (i / STEPS) * (plot.y1 - plot.y0));
    grid.append(svg('line', { x1: plot.x0, x2: plot.x1, y1: y, y2: y }));
    for (const s of series) {
      if (s.ticks === false) continue;
      const value = s.min + (i / STEPS) * (s.max - s.min);
      const left = s.axis !== 'right';
      axes.append(svg('text', { class: `tick ${s.key}`, x: left ? plot.x0 - 4 : plot.x1 + 4, y: y + 4, 'text-anchor': left ? 'end' : 'start', text: s.format(value) }));
    }
  }
  for (const tick of xTicks) {
    const px = x(tick.at);
    grid.append(svg('line', { x1: px, x2: px, y1: plot.y0, y2: plot.y1 }));
    axes.append(svg('text', { class: 'tick', x: px, y: HEIGHT - 6, 'text-anchor': 'middle', text: tick.label }));
  }

  const lines = series.map((s) => {
    const y = yOf(s);
    const g = svg('g', { class: `series ${s.key}` });
    const known = s.points.filter(([, v]) => v !== null && v !== undefined);
    // Runs of points with no hole longer than gapMs between them.
    const runs = [];
    for (const p of known) {
      const run = runs[runs.length - 1];
      if (run && p[0] - run[run.length - 1][0] <= (s.gapMs ?? gapMs)) run.push(p);
      else runs.push([p]);
    }
    for (const run of runs) {
      if (run.length === 1) g.append(svg('circle', { cx: x(run[0][0]), cy: y(run[0][1]), r: 3 }));
      else g.append(svg('path', { d: run.map(([ms, v], i) => `${i === 0 ? 'M' : 'L'}${x(ms)} ${y(v)}`).join('') }));
    }
    return g;
  });

  return svg(
    'svg',
    { class: 'chart-svg', viewBox: `0 0 ${W} ${HEIGHT}`, width: W, height: HEIGHT, role: 'img', 'aria-label': label },
    svg('title', { text: label }),
    grid,
    svg('rect', { class: 'frame', x: plot.x0, y: plot.y0, width: plot.x1 - plot.x0, height: plot.y1 - plot.y0 }),
    lines,
    axes,
  );
}

/** The legend under a chart: a colour swatch and a name per series. */
export function legend(items) {
  return h('ul', { class: 'legend' }, items.map(({ key, text }) => h('li', null, h('span', { class: `swatch ${key}`, 'aria-hidden': 'true' }), text)));
}

/** Ticks at local hours that are a multiple of `stepHours` hours, in the box's zone; the day at midnight. */
export function hourTicks(from, to, stepHours) {
  const HOUR = 3_600_000;
  const ticks = [];
  for (let ms = Math.ceil(from / HOUR) * HOUR; ms <= to; ms += HOUR) {
    const p = time.parts(ms);
    if (p.minute !== 0 || p.hour % stepHours !== 0) continue;
    ticks.push({ at: ms, label: p.hour === 0 ? time.dayMonth(ms) : time.hourMinute(ms) });
  }
  return ticks;
}

/** Calls `redraw` 150 ms after the window's size last changed (a phone turned, a window resized), until the view is left. */
export function onResize(ctx, redraw) {
  let timer = 0;
  const listener = () => {
    clearTimeout(timer);
    timer = setTimeout(redraw, 150);
  };
  window.addEventListener('resize', listener);
  ctx.onLeave(() => {
    window.removeEventListener('resize', listener);
    clearTimeout(timer);
  });
}
