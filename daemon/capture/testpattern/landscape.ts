/**
 * The fixed parts of the picture, back to front: stars, hills, two rows of buildings, the
 * construction site and the crane's mast, ground, trees, the site fence, the road and the
 * grass in front. Each is drawn once per camera with the painter; only the light, the
 * clouds and the moving parts (overlays) change from frame to frame.
 */
import { LAYOUT } from './layout';
import { mixRgb, smoothstep, type Rgb } from './math';
import type { Painter } from './painter';
import { pause } from './slices';

/**
 * Draws the whole landscape into `p`, yielding between parts like a frame does. `ridge`
 * is a one-row fBm for the hills' outline; returns the crane's slewing point (base pixels).
 */
export async function drawLandscape(p: Painter, groundY: number, ridge: Uint8Array, rng: () => number, signal: AbortSignal): Promise<{ x: number; y: number }> {
  let crane = { x: 0, y: 0 };
  const steps: Array<() => void> = [
    () => drawStars(p, groundY, rng),
    () => drawHills(p, groundY, ridge),
    () => drawSkyline(p, groundY, rng, 0.55, 0.38, 0.58),
    () => drawSkyline(p, groundY, rng, 0, 0.3, 0.56),
    () => drawSite(p, groundY, rng),
    () => (crane = drawCraneMast(p, groundY)),
    () => drawGround(p, groundY),
    () => drawTrees(p, groundY, rng),
    () => drawFence(p),
    () => drawRoad(p, rng),
    () => drawForeground(p, rng),
  ];
  for (const step of steps) {
    step();
    await pause(signal);
  }
  return crane;
}

function drawStars(p: Painter, groundY: number, rng: () => number): void {
  const count = Math.round(p.w * groundY * 0.0012);
  for (let i = 0; i < count; i++) {
    const x = Math.floor(rng() * p.w);
    const y = Math.floor(rng() * groundY * 0.9);
    p.albedo[(y * p.w + x) * 3] = 40 + Math.floor(Math.pow(rng(), 3) * 215);
  }
}

function drawHills(p: Painter, groundY: number, ridge: Uint8Array): void {
  const haze: Rgb = [128, 140, 146];
  for (let x = 0; x < p.w; x++) {
    const top = Math.round(groundY - p.h * (0.03 + 0.07 * (ridge[x] / 255)));
    for (let y = Math.max(0, top); y < groundY; y++) {
      const depth = (y - top) / Math.max(1, groundY - top);
      const m = p.macroAt(x, y);
      p.put(x, y, [haze[0] * (0.9 - 0.15 * depth) - 10 * m, haze[1] * (0.92 - 0.1 * depth), haze[2] * (0.95 - 0.12 * depth) + 6 * m], 0.12, 3);
    }
  }
}

const FACADES: readonly Rgb[] = [
  [172, 168, 160],
  [152, 88, 62],
  [192, 172, 134],
  [212, 210, 204],
  [112, 110, 114],
  [168, 122, 92],
  [88, 112, 138],
];

/** A row of buildings standing on the ground line; `haze` pales the far row. */
function drawSkyline(p: Painter, groundY: number, rng: () => number, haze: number, minTop: number, maxTop: number): void {
  const hazeColour: Rgb = [168, 178, 188];
  const siteL = LAYOUT.siteLeft * p.w;
  const siteR = LAYOUT.siteRight * p.w;
  let x = -rng() * p.u(0.04);
  while (x < p.w) {
    const width = Math.max(3, p.u(0.028 + rng() * 0.05));
    const gap = haze > 0 ? 0 : rng() < 0.35 ? p.u(rng() * 0.025) : 0;
    const x0 = Math.round(x + gap);
    const x1 = Math.round(x0 + width);
    x = x1;
    // The front row leaves room for the construction site.
    if (haze === 0 && x1 > siteL && x0 < siteR) continue;
    const top = Math.round(p.h * (minTop + rng() * (maxTop - minTop)));
    const bottom = groundY + 1;
    const base = FACADES[Math.floor(rng() * FACADES.length)];
    const tint = 0.85 + rng() * 0.3;
    const facade = mixRgb([base[0] * tint, base[1] * tint, base[2] * tint], hazeColour, haze);
    const glassy = base === FACADES[6];
    const tex = 0.12 * (1 - haze * 0.6);
    p.rect(x0, top, x1, bottom, facade, tex, haze > 0 ? 4 : 7);
    drawWindows(p, x0, top, x1, bottom, glassy, haze, rng);
    // Parapet, rooftop plant and the odd antenna break up the roofline.
    p.rect(x0, top, x1, top + Math.max(1, p.u(0.003)), mixRgb([70, 70, 72], hazeColour, haze), 0.1);
    if (rng() < 0.6) {
      const bx = x0 + (x1 - x0) * (0.15 + rng() * 0.5);
      const bwid = Math.max(2, (x1 - x0) * (0.15 + rng() * 0.25));
      const bht = Math.max(1, p.u(0.006 + rng() * 0.012));
      p.rect(bx, top - bht, bx + bwid, top, mixRgb([120, 118, 115], hazeColour, haze), 0.15);
    }
    if (rng() < 0.3) {
      const ax = x0 + (x1 - x0) * rng();
      p.line(ax, top, ax, top - p.u(0.02 + rng() * 0.04), 1, mixRgb([60, 60, 64], hazeColour, haze), 0);
    }
  }
}

function drawWindows(p: Painter, x0: number, top: number, x1: number, bottom: number, glassy: boolean, haze: number, rng: () => number): void {
  const floor = Math.max(3, Math.round(p.u(0.0135)));
  const winH = Math.max(1, Math.round(floor * 0.55));
  const winW = Math.max(1, Math.round(p.u(0.0075)));
  const pitch = Math.max(winW + 1, Math.round(winW * 1.8));
  const hazeColour: Rgb = [168, 178, 188];
  const litShare = 0.12 + rng() * 0.3;
  const margin = Math.max(1, Math.round(pitch * 0.5));
  for (let y = top + Math.round(floor * 0.9); y + winH < bottom - floor * 0.6; y += floor) {
    if (glassy) {
      // Curtain wall: glass from edge to edge, mullions and slab edges in a lighter metal.
      p.rect(x0 + 1, y + winH, x1 - 1, y + floor, mixRgb([150, 160, 170], hazeColour, haze), 0.1, 3);
    }
    for (let x = x0 + margin; x + winW <= x1 - margin + 1; x += pitch) {
      const shade = 0.6 + rng() * 0.7;
      const glass = mixRgb([44 * shade, 58 * shade, 74 * shade], hazeColour, haze * 0.7);
      const glow = rng() < litShare ? Math.round((120 + rng() * 134) * (1 - haze * 0.4)) : 0;
      p.rect(x, y, x + winW, y + winH, glass, 0.25, 4, glow);
    }
  }
}

function drawSite(p: Painter, groundY: number, rng: () => number): void {
  const x0 = Math.round(LAYOUT.siteLeft * p.w + p.u(0.01));
  const x1 = Math.round(LAYOUT.siteRight * p.w - p.u(0.012));
  const top = Math.round(LAYOUT.siteTop * p.h);
  const floor = Math.max(4, Math.round(p.u(0.02)));
  const slab = Math.max(1, Math.round(floor * 0.22));
  const bay = Math.max(3, Math.round(p.u(0.022)));
  const col = Math.max(1, Math.round(bay * 0.18));
  const concrete: Rgb = [168, 165, 158];
  const inside: Rgb = [34, 34, 37];
  let level = 0;
  for (let y = groundY; y > top; y -= floor, level++) {
    const yTop = Math.max(top, y - floor);
    const open = y - floor * 2 < top;
    if (!open) p.rect(x0, yTop, x1, y, inside, 0.4, 5);
    p.rect(x0, yTop, x1, yTop + slab, concrete, 0.3, 6);
    for (let x = x0; x < x1; x += bay) p.rect(x, yTop, x + col, y, concrete, 0.3, 6);
    // Formwork and pallets on the lower floors.
    if (!open && level > 0 && rng() < 0.7) {
      const fx = x0 + (x1 - x0) * rng();
      p.rect(fx, y - floor * 0.45, fx + p.u(0.012), y, [150, 112, 70], 0.35, 6);
    }
  }
  // Rebar sticking out of the top columns.
  for (let x = x0; x < x1; x += bay) p.line(x + col / 2, top, x + col / 2, top - floor * 0.5, 1, [95, 70, 55], 0);
  // Scaffolding with green safety netting on the right face.
  p.rect(x1, top + floor, x1 + p.u(0.01), groundY, [62, 112, 72], 0.45, 7);
}

function drawCraneMast(p: Painter, groundY: number): { x: number; y: number } {
  const cx = Math.round(LAYOUT.craneX * p.w);
  const topY = Math.round(LAYOUT.craneTop * p.h);
  const half = Math.max(1, Math.round(p.u(0.0055)));
  const chord = Math.max(1, Math.round(p.u(0.0012)));
  const yellow: Rgb = [222, 172, 30];
  p.line(cx - half, topY, cx - half, groundY, chord, yellow, 0.15);
  p.line(cx + half, topY, cx + half, groundY, chord, yellow, 0.15);
  const step = Math.max(2, half * 2);
  for (let y = groundY; y > topY + step; y -= step) {
    p.line(cx - half, y, cx + half, y - step, Math.max(1, chord - 1), yellow, 0.15);
    p.line(cx - half, y - step, cx + half, y - step, 1, yellow, 0.15);
  }
  // Slewing ring and cab.
  p.rect(cx - half * 1.6, topY - half * 0.6, cx + half * 1.6, topY + half * 0.8, [70, 70, 72], 0.2);
  p.rect(cx + half * 1.6, topY, cx + half * 4.4, topY + half * 2.4, [205, 205, 198], 0.15);
  p.rect(cx + half * 2.4, topY + half * 0.5, cx + half * 4.1, topY + half * 1.6, [40, 52, 64], 0.2);
  return { x: cx, y: topY - Math.round(half * 0.6) };
}

function drawGround(p: Painter, groundY: number): void {
  const roadTop = Math.round(LAYOUT.roadTop * p.h);
  const grass: Rgb = [92, 112, 54];
  const dirt: Rgb = [132, 112, 84];
  const gravel: Rgb = [156, 148, 132];
  const siteL = LAYOUT.siteLeft * p.w;
  const siteR = LAYOUT.siteRight * p.w + p.u(0.05);
  for (let y = groundY; y < roadTop; y++) {
    for (let x = 0; x < p.w; x++) {
      const m = p.macroAt(x, y);
      const onSite = x > siteL && x < siteR;
      const base = onSite ? mixRgb(gravel, dirt, smoothstep(0.35, 0.7, m)) : mixRgb(grass, dirt, smoothstep(0.45, 0.75, m));
      p.put(x, y, base, onSite ? 0.35 : 0.3, 7);
    }
  }
}

function drawTrees(p: Painter, groundY: number, rng: () => number): void {
  const count = Math.max(1, Math.round(p.w / p.u(0.018)));
  for (let i = 0; i < count; i++) {
    const cx = rng() * p.w;
    // A gap in the trees where the site entrance is.
    if (cx > LAYOUT.siteLeft * p.w && cx < LAYOUT.siteRight * p.w) continue;
    if (rng() < 0.3) continue;
    const r = Math.max(2, p.u(0.012 + rng() * 0.022));
    const cy = groundY + p.u(0.004) - r * 0.55;
    const dark = 0.75 + rng() * 0.4;
    for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r * 0.9); y++) {
      for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
        if (x < 0 || y < 0 || x >= p.w || y >= p.h) continue;
        const d = p.detail[y * p.w + x] / 255;
        const dx = (x - cx) / r;
        const dy = (y - cy) / r;
        if (dx * dx + dy * dy > 0.55 + 0.6 * d) continue;
        // Leaves facing the sky catch more light than the shaded underside.
        const light = dark * (1.1 - 0.35 * (dy + 1) * 0.5) * (0.55 + 0.9 * d);
        p.put(x, y, [48 * light, 76 * light, 36 * light], 0.2, 8);
      }
    }
    p.rect(cx - Math.max(1, r * 0.08), cy + r * 0.5, cx + Math.max(1, r * 0.08), groundY + p.u(0.006), [60, 46, 34], 0.3);
  }
}

function drawFence(p: Painter): void {
  const x0 = Math.round((LAYOUT.siteLeft - 0.07) * p.w);
  const x1 = Math.round((LAYOUT.siteRight + 0.1) * p.w);
  const y0 = Math.round(LAYOUT.fenceTop * p.h);
  const y1 = Math.round(LAYOUT.fenceBottom * p.h);
  const mesh = Math.max(2, Math.round(p.u(0.0035)));
  const post = Math.max(3, Math.round(p.u(0.045)));
  const postWidth = Math.max(1, Math.round(p.u(0.0015)));
  const wire: Rgb = [182, 184, 180];
  const steel: Rgb = [96, 98, 100];
  const xa = Math.max(0, x0);
  const xb = Math.min(p.w, x1);
  for (let y = y0; y < y1; y++) {
    for (let x = xa; x < xb; x++) {
      const edge = y === y0 || y === y1 - 1;
      if (edge || (x - x0) % mesh === 0 || (y - y0) % mesh === 0) p.put(x, y, wire, 0.1, 6);
      if ((x - x0) % post < postWidth) p.put(x, y, steel, 0.1, 4);
    }
  }
  // Concrete feet under the posts.
  for (let x = x0; x < x1; x += post) p.rect(x - p.u(0.004), y1, x + p.u(0.006), y1 + Math.max(1, p.u(0.005)), [150, 150, 146], 0.3);
}

function drawRoad(p: Painter, rng: () => number): void {
  const top = Math.round(LAYOUT.roadTop * p.h);
  const bottom = Math.round(LAYOUT.roadBottom * p.h);
  const walk = Math.round(LAYOUT.walkBottom * p.h);
  const kerb = Math.max(1, Math.round(p.u(0.003)));
  const asphalt: Rgb = [80, 80, 83];
  for (let y = top; y < bottom; y++) {
    for (let x = 0; x < p.w; x++) {
      const m = p.macroAt(x, y);
      const wear = 0.9 + 0.2 * m;
      p.put(x, y, [asphalt[0] * wear, asphalt[1] * wear, asphalt[2] * wear], 0.28, 9);
    }
  }
  p.rect(0, top, p.w, top + kerb, [168, 166, 158], 0.2, 5);
  p.rect(0, bottom - kerb, p.w, bottom, [168, 166, 158], 0.2, 5);
  const lane = Math.round(LAYOUT.laneLine * p.h);
  const dash = Math.max(2, p.u(0.045));
  const gapLen = Math.max(2, p.u(0.035));
  const lineH = Math.max(1, Math.round(p.u(0.0025)));
  for (let x = -rng() * dash; x < p.w; x += dash + gapLen) p.rect(x, lane, x + dash, lane + lineH, [222, 220, 208], 0.15, 6);
  // Paving slabs of the pavement, with joints.
  const slab = Math.max(3, Math.round(p.u(0.02)));
  const course = Math.max(2, Math.round(slab * 0.4));
  const joint: Rgb = [92, 90, 86];
  const stone: Rgb = [158, 152, 144];
  for (let y = bottom; y < walk; y++) {
    for (let x = 0; x < p.w; x++) {
      p.put(x, y, x % slab === 0 || (y - bottom) % course === 0 ? joint : stone, 0.22, 6);
    }
  }
}

function drawForeground(p: Painter, rng: () => number): void {
  const top = Math.round(LAYOUT.walkBottom * p.h);
  const grass: Rgb = [74, 104, 44];
  for (let y = top; y < p.h; y++) {
    const near = (y - top) / Math.max(1, p.h - top);
    for (let x = 0; x < p.w; x++) {
      const m = p.macroAt(x, y);
      const k = 0.75 + 0.5 * m - 0.15 * near;
      p.put(x, y, [grass[0] * k, grass[1] * k, grass[2] * k], 0.5, 10);
    }
  }
  // Blades of grass: short strokes whose length grows towards the camera.
  const blades = Math.round(p.w * (p.h - top) * 0.015);
  for (let i = 0; i < blades; i++) {
    const x = rng() * p.w;
    const y = top + rng() * (p.h - top);
    const near = (y - top) / Math.max(1, p.h - top);
    const len = Math.max(1, p.u(0.002 + 0.01 * near) * (0.5 + rng()));
    const k = 0.6 + rng() * 0.9;
    p.line(x, y, x + (rng() - 0.5) * len * 0.6, y - len, 1, [grass[0] * k * 1.1, grass[1] * k * 1.15, grass[2] * k], 0.1);
  }
}
