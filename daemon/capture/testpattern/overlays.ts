/**
 * The moving parts and the caption, drawn per frame as small SVGs that sharp composites
 * over the rendered frame: a slewing tower crane, passing traffic, and the burnt-in name and
 * timestamp. Each SVG is clipped to its own box so rsvg never renders a full 24 MP canvas.
 */
import { DateTime } from 'luxon';
import { LAYOUT } from './layout';
import type { Look } from './light';
import type { Rgb } from './math';
import type { Scene } from './scene';
import { escapeMarkup } from '../../markup';

/**
 * An SVG and where it goes on the frame: a layer of the pipeline's `encodeJpeg`.
 */
export interface SvgOverlay {
  input: Buffer;
  left: number;
  top: number;
}

/** What is printed in the top-left corner: the source's name and the local time of the shot. */
export interface Caption {
  name: string;
  at: Date;
  /** IANA zone of the printed time. */
  zone: string;
}

/** Every overlay of one frame, bottom to top; parts wholly outside the frame are left out. */
export function frameOverlays(scene: Scene, look: Look, caption: Caption): SvgOverlay[] {
  return [
    craneOverlay(scene, look),
    ...trafficOverlays(scene, look),
    captionOverlay(scene, caption.name, caption.at, caption.zone),
  ].filter((o): o is SvgOverlay => o !== undefined);
}

function clippedSvg(scene: Scene, x0: number, y0: number, x1: number, y1: number, body: string): SvgOverlay | undefined {
  const left = Math.max(0, Math.floor(x0));
  const top = Math.max(0, Math.floor(y0));
  const right = Math.min(scene.width, Math.ceil(x1));
  const bottom = Math.min(scene.height, Math.ceil(y1));
  const w = right - left;
  const h = bottom - top;
  if (w < 1 || h < 1) return undefined;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="${left} ${top} ${w} ${h}">${body}</svg>`;
  return { input: Buffer.from(svg), left, top };
}

function lit(rgb: Rgb, ambient: Rgb): string {
  const c = (i: number): number => Math.max(0, Math.min(255, Math.round(rgb[i] * ambient[i])));
  return `rgb(${c(0)},${c(1)},${c(2)})`;
}

const f1 = (n: number): string => n.toFixed(1);

function craneOverlay(scene: Scene, look: Look): SvgOverlay | undefined {
  const U = scene.unit;
  const px = scene.crane.x;
  const py = scene.crane.y;
  const t = look.timeMs / 1000;
  // One slewing turn every four minutes, so frames seconds apart differ visibly.
  const angle = (2 * Math.PI * t) / 240;
  const c = Math.cos(angle);
  const sn = Math.sin(angle);
  const jibLength = 0.3 * U;
  const counterLength = 0.09 * U;
  const depth = Math.max(2, 0.012 * U);
  const apexH = 0.05 * U;
  const sw = Math.max(1, 0.0018 * U);

  const tip = { x: px + jibLength * c, y: py + sn * 0.012 * U };
  const tipTop = { x: tip.x, y: tip.y - depth * 0.4 };
  const back = { x: px - counterLength * c, y: py - sn * 0.004 * U };
  const apex = { x: px, y: py - apexH };

  const yellow = lit([226, 176, 32], look.ambient);
  const steel = lit([52, 52, 54], look.ambient);
  const concrete = lit([150, 150, 146], look.ambient);

  const zig: string[] = [];
  const n = Math.max(2, Math.round(Math.abs(jibLength * c) / depth));
  for (let i = 0; i <= n; i++) {
    const f = i / n;
    const top = (i & 1) === 1;
    const x = px + (tip.x - px) * f;
    const y = top ? py - depth + (tipTop.y - (py - depth)) * f : py + (tip.y - py) * f;
    zig.push(`${f1(x)},${f1(y)}`);
  }

  const trolleyF = 0.25 + 0.6 * (0.5 + 0.5 * Math.sin((2 * Math.PI * t) / 97));
  const trolley = { x: px + (tip.x - px) * trolleyF, y: py + (tip.y - py) * trolleyF };
  const hookY = trolley.y + scene.height * (0.08 + 0.18 * (0.5 + 0.5 * Math.sin((2 * Math.PI * t) / 131)));
  const loadW = 0.035 * U;
  const loadH = 0.016 * U;
  const weightW = 0.004 * U + 0.02 * U * Math.abs(c);
  const weightH = 0.02 * U;

  const parts = [
    `<g stroke="${yellow}" stroke-width="${f1(sw)}" fill="none" stroke-linejoin="round">`,
    `<line x1="${f1(px)}" y1="${f1(py)}" x2="${f1(tip.x)}" y2="${f1(tip.y)}"/>`,
    `<line x1="${f1(px)}" y1="${f1(py - depth)}" x2="${f1(tipTop.x)}" y2="${f1(tipTop.y)}"/>`,
    `<polyline points="${zig.join(' ')}"/>`,
    `<line x1="${f1(px)}" y1="${f1(py)}" x2="${f1(back.x)}" y2="${f1(back.y)}" stroke-width="${f1(sw * 2)}"/>`,
    `<polygon points="${f1(px - 0.006 * U)},${f1(py - depth)} ${f1(apex.x)},${f1(apex.y)} ${f1(px + 0.006 * U)},${f1(py - depth)}"/>`,
    `</g>`,
    `<g stroke="${steel}" stroke-width="${f1(Math.max(1, sw * 0.6))}">`,
    `<line x1="${f1(apex.x)}" y1="${f1(apex.y)}" x2="${f1(px + (tip.x - px) * 0.6)}" y2="${f1(py - depth + (tipTop.y - py + depth) * 0.6)}"/>`,
    `<line x1="${f1(apex.x)}" y1="${f1(apex.y)}" x2="${f1(back.x)}" y2="${f1(back.y)}"/>`,
    `<line x1="${f1(trolley.x)}" y1="${f1(trolley.y)}" x2="${f1(trolley.x)}" y2="${f1(hookY)}"/>`,
    `</g>`,
    `<rect x="${f1(back.x - weightW / 2)}" y="${f1(back.y)}" width="${f1(weightW)}" height="${f1(weightH)}" fill="${concrete}"/>`,
    `<rect x="${f1(trolley.x - sw * 2)}" y="${f1(trolley.y - sw)}" width="${f1(sw * 4)}" height="${f1(sw * 3)}" fill="${steel}"/>`,
    `<rect x="${f1(trolley.x - loadW / 2)}" y="${f1(hookY)}" width="${f1(loadW)}" height="${f1(loadH)}" fill="${lit([160, 72, 40], look.ambient)}" stroke="${lit([90, 40, 24], look.ambient)}" stroke-width="${f1(sw)}"/>`,
  ];
  // Aviation warning lights blink once a second in the dark.
  if (look.lights > 0.3 && Math.floor(t) % 2 === 0) {
    const r = Math.max(1.5, 0.004 * U);
    parts.push(`<circle cx="${f1(tip.x)}" cy="${f1(tipTop.y)}" r="${f1(r)}" fill="#ff2a10"/>`);
    parts.push(`<circle cx="${f1(apex.x)}" cy="${f1(apex.y)}" r="${f1(r)}" fill="#ff2a10"/>`);
  }

  const margin = sw * 3 + 0.006 * U;
  const xs = [px, tip.x, back.x - weightW, back.x + weightW, trolley.x - loadW, trolley.x + loadW];
  const ys = [apex.y, tipTop.y, tip.y, back.y + weightH, hookY + loadH];
  return clippedSvg(scene, Math.min(...xs) - margin, Math.min(...ys) - margin, Math.max(...xs) + margin, Math.max(...ys) + margin, parts.join(''));
}

interface Vehicle {
  truck: boolean;
  laneY: number;
  length: number;
  direction: 1 | -1;
  periodMs: number;
  paint: Rgb;
}

function trafficOverlays(scene: Scene, look: Look): Array<SvgOverlay | undefined> {
  const U = scene.unit;
  const vehicles: Vehicle[] = [
    { truck: true, laneY: LAYOUT.farLane * scene.height, length: 0.12 * U, direction: -1, periodMs: 41_000, paint: [40, 90, 150] },
    { truck: false, laneY: LAYOUT.nearLane * scene.height, length: 0.078 * U, direction: 1, periodMs: 24_000, paint: [178, 30, 28] },
  ];
  return vehicles.map((v) => vehicleOverlay(scene, look, v));
}

function vehicleOverlay(scene: Scene, look: Look, v: Vehicle): SvgOverlay | undefined {
  const W = scene.width;
  const len = v.length;
  const h = len * (v.truck ? 0.38 : 0.36);
  const phase = (((look.timeMs / v.periodMs) % 1) + 1) % 1;
  const travel = W + 3 * len;
  const along = -1.5 * len + phase * travel;
  const x = v.direction === 1 ? along : W - along;
  const y = v.laneY;
  const a = look.ambient;
  const paint = lit(v.paint, a);
  const glass = lit([38, 48, 60], a);
  const tyre = lit([22, 22, 22], a);
  const hub = lit([150, 150, 150], a);
  const light = look.lights;
  const wheelR = h * (v.truck ? 0.16 : 0.19);

  // Drawn facing right around its rear-bottom corner, then mirrored for the other lane.
  const body: string[] = [];
  if (v.truck) {
    body.push(`<rect x="0" y="${f1(-h)}" width="${f1(len * 0.74)}" height="${f1(h * 0.8)}" fill="${lit([210, 210, 205], a)}"/>`);
    body.push(`<rect x="0" y="${f1(-h * 0.45)}" width="${f1(len * 0.74)}" height="${f1(h * 0.08)}" fill="${paint}"/>`);
    body.push(`<path d="M${f1(len * 0.76)},${f1(-h * 0.2)} V${f1(-h * 0.8)} H${f1(len * 0.93)} L${f1(len)},${f1(-h * 0.5)} V${f1(-h * 0.2)} Z" fill="${paint}"/>`);
    body.push(`<rect x="${f1(len * 0.86)}" y="${f1(-h * 0.74)}" width="${f1(len * 0.09)}" height="${f1(h * 0.22)}" fill="${glass}"/>`);
    body.push(`<rect x="0" y="${f1(-h * 0.22)}" width="${f1(len)}" height="${f1(h * 0.06)}" fill="${tyre}"/>`);
  } else {
    body.push(`<rect x="0" y="${f1(-h * 0.58)}" width="${f1(len)}" height="${f1(h * 0.4)}" rx="${f1(h * 0.12)}" fill="${paint}"/>`);
    body.push(`<path d="M${f1(len * 0.18)},${f1(-h * 0.56)} L${f1(len * 0.32)},${f1(-h)} H${f1(len * 0.66)} L${f1(len * 0.82)},${f1(-h * 0.56)} Z" fill="${paint}"/>`);
    body.push(`<path d="M${f1(len * 0.25)},${f1(-h * 0.6)} L${f1(len * 0.35)},${f1(-h * 0.92)} H${f1(len * 0.48)} V${f1(-h * 0.6)} Z M${f1(len * 0.52)},${f1(-h * 0.6)} V${f1(-h * 0.92)} H${f1(len * 0.64)} L${f1(len * 0.75)},${f1(-h * 0.6)} Z" fill="${glass}"/>`);
  }
  const wheels = v.truck ? [0.12, 0.26, 0.86] : [0.2, 0.8];
  for (const w of wheels) {
    body.push(`<circle cx="${f1(len * w)}" cy="${f1(-wheelR)}" r="${f1(wheelR)}" fill="${tyre}"/>`);
    body.push(`<circle cx="${f1(len * w)}" cy="${f1(-wheelR)}" r="${f1(wheelR * 0.45)}" fill="${hub}"/>`);
  }
  if (light > 0.05) {
    const beam = len * 0.9;
    const id = v.truck ? 'beamT' : 'beamC';
    body.push(`<defs><linearGradient id="${id}" x1="0" x2="1" y1="0" y2="0"><stop offset="0" stop-color="rgb(255,236,190)" stop-opacity="${(0.35 * light).toFixed(2)}"/><stop offset="1" stop-color="rgb(255,236,190)" stop-opacity="0"/></linearGradient></defs>`);
    body.push(`<path d="M${f1(len)},${f1(-h * 0.42)} L${f1(len + beam)},${f1(-h * 0.62)} L${f1(len + beam)},${f1(h * 0.05)} Z" fill="url(#${id})"/>`);
    body.push(`<ellipse cx="${f1(len * 0.985)}" cy="${f1(-h * 0.4)}" rx="${f1(h * 0.08)}" ry="${f1(h * 0.06)}" fill="rgb(255,248,225)" fill-opacity="${light.toFixed(2)}"/>`);
    body.push(`<rect x="0" y="${f1(-h * (v.truck ? 0.36 : 0.5))}" width="${f1(h * 0.06)}" height="${f1(h * 0.1)}" fill="rgb(255,30,20)" fill-opacity="${light.toFixed(2)}"/>`);
  }
  const transform = v.direction === 1 ? `translate(${f1(x)},${f1(y)})` : `translate(${f1(x)},${f1(y)}) scale(-1,1)`;
  const reach = len * 1.95;
  const x0 = v.direction === 1 ? x : x - reach;
  const x1 = v.direction === 1 ? x + reach : x;
  return clippedSvg(scene, x0 - 2, y - h - 2, x1 + 2, y + h * 0.1 + 2, `<g transform="${transform}">${body.join('')}</g>`);
}

function captionOverlay(scene: Scene, name: string, at: Date, zone: string): SvgOverlay | undefined {
  const local = DateTime.fromJSDate(at, { zone });
  const offset = `UTC${local.toFormat('ZZ')}`;
  const abbreviation = zoneAbbreviation(local);
  const stamp = `${local.toFormat('yyyy-LL-dd HH:mm:ss')} ${abbreviation ? `${abbreviation} (${offset})` : offset}`;
  const title = name.length > 64 ? `${name.slice(0, 63)}…` : name;
  const size = Math.max(8, Math.round(scene.height / 38));
  const pad = Math.round(size * 0.45);
  const margin = Math.round(size * 0.6);
  // DejaVu Sans Mono advances 0.602 em per character, so the box can be sized exactly.
  const chars = Math.max(title.length, stamp.length);
  const w = pad * 2 + Math.ceil(chars * 0.602 * size);
  const h = pad * 2 + Math.round(size * 2.35);
  const x = margin;
  const y = margin;
  const body = [
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="${Math.round(size * 0.2)}" fill="#000" fill-opacity="0.5"/>`,
    `<g font-family="DejaVu Sans Mono" font-size="${size}" fill="#fff">`,
    `<text x="${x + pad}" y="${y + pad + Math.round(size * 0.9)}" font-weight="bold">${escapeMarkup(title)}</text>`,
    `<text x="${x + pad}" y="${y + pad + Math.round(size * 2.1)}">${escapeMarkup(stamp)}</text>`,
    `</g>`,
  ].join('');
  return clippedSvg(scene, x, y, x + w, y + h, body);
}

/** CEST, EDT, BST...: ICU only knows each zone's abbreviation in some locales, and
 *  answers "GMT+9" where a zone has none, which adds nothing to the printed offset. */
function zoneAbbreviation(local: DateTime): string | undefined {
  for (const locale of ['en-US', 'en-GB']) {
    const name = local.setLocale(locale).toFormat('ZZZZ');
    if (!/^(GMT|UTC)[+-]/.test(name)) return name;
  }
  return undefined;
}

