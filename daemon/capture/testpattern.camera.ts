import { promises as fsp } from 'node:fs';
import sharp from 'sharp';
import type * as SunCalc from 'suncalc' with { 'resolution-mode': 'import' };
import { DateTime, IANAZone } from 'luxon';
import {
  abortError,
  CameraError,
  throwIfAborted,
  type Camera,
  type CaptureRequest,
  type CaptureResult,
} from './camera';

/**
 * A synthetic camera that behaves like a real one: an outdoor scene lit by the time of day,
 * drifting clouds, a slewing tower crane and passing traffic, a burnt-in name and timestamp,
 * and sensor noise. It exists so the demo and the tests exercise the real pipeline with
 * realistic JPEG sizes and decode costs, without hardware.
 */
export interface TestPatternOptions {
  sourceId: string;
  sourceName: string;
  /** 16..6000 */
  width: number;
  /** 16..4000 */
  height: number;
  /** IANA zone for the printed timestamp and, without `location`, the time of day. */
  timezone: string;
  /** When given, the light follows the real sun elevation at this place. */
  location?: { latitude: number; longitude: number };
  /** JPEG quality 1..100, default 90. */
  quality?: number;
}

// suncalc 2 ships as an ES module with a CommonJS build; TypeScript's node16 resolution
// only sees the ESM typings, so the CommonJS build is loaded explicitly.
const { getPosition } = require('suncalc') as typeof SunCalc;

export const TESTPATTERN_LIMITS = { minWidth: 16, maxWidth: 6000, minHeight: 16, maxHeight: 4000 } as const;

type Rgb = readonly [number, number, number];

const SKY = 255;
const TILE_SHIFT = 8;
const TILE = 1 << TILE_SHIFT;
const TILE_MASK = TILE - 1;
/** Above this many pixels the base scene is kept at half resolution: a 6000x4000 full-res
 *  base would cost ~100 MB on a box with 1-2 GB, and the per-frame grain hides the loss. */
const FULL_RES_BASE_MAX_PIXELS = 4_200_000;
/** Pixels rendered between event-loop yields, so a 24 MP frame never blocks the daemon
 *  (HTTP, scheduler) for more than a few milliseconds and an abort is seen quickly. */
const BAND_PIXELS = 1 << 20;

/** Where the scene's fixed parts are, as fractions of the frame, so every size looks alike. */
const LAYOUT = {
  groundLine: 0.655,
  craneX: 0.705,
  craneTop: 0.17,
  siteLeft: 0.62,
  siteRight: 0.79,
  siteTop: 0.47,
  fenceTop: 0.745,
  fenceBottom: 0.79,
  roadTop: 0.8,
  laneLine: 0.842,
  roadBottom: 0.885,
  walkBottom: 0.91,
  farLane: 0.836,
  nearLane: 0.879,
} as const;

export class TestPatternCamera implements Camera {
  readonly driver = 'testpattern';

  readonly #options: Readonly<TestPatternOptions> & { readonly quality: number };
  readonly #seed: number;
  #scene: Scene | undefined;
  #frame: Buffer | undefined;
  /** Serialises captures: they share the frame buffer. */
  #tail: Promise<unknown> = Promise.resolve();
  /** An encode that outlived an aborted capture still reads the frame buffer. */
  #encoding: Promise<unknown> = Promise.resolve();

  constructor(options: TestPatternOptions) {
    this.#options = { ...validateOptions(options), quality: options.quality ?? 90 };
    this.#seed = hashString(options.sourceId);
  }

  capture(request: CaptureRequest): Promise<CaptureResult> {
    const run = this.#tail.then(() => this.#captureOnce(request));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.#tail;
    await this.#encoding;
    this.#scene = undefined;
    this.#frame = undefined;
  }

  async #captureOnce({ destination, takenAt, signal }: CaptureRequest): Promise<CaptureResult> {
    throwIfAborted(signal);
    const time = takenAt.getTime();
    if (!Number.isFinite(time)) throw new CameraError('failed', 'testpattern: takenAt is not a valid date');
    await this.#encoding;
    throwIfAborted(signal);

    const { width, height, quality } = this.#options;
    const scene = (this.#scene ??= await buildScene(width, height, this.#seed, signal));
    const frame = (this.#frame ??= Buffer.allocUnsafe(width * height * 3));
    const look = lookAt(takenAt, this.#options, this.#seed);

    await renderFrame(scene, look, frame, signal);
    const overlays = [
      craneOverlay(scene, look),
      ...trafficOverlays(scene, look),
      captionOverlay(scene, this.#options.sourceName, takenAt, this.#options.timezone),
    ].filter((o): o is sharp.OverlayOptions => o !== undefined);

    throwIfAborted(signal);
    const encoding = sharp(frame, { raw: { width, height, channels: 3 } })
      .composite(overlays)
      .jpeg({ quality, mozjpeg: false })
      .toBuffer();
    this.#encoding = encoding.catch(() => undefined);
    let jpeg: Buffer;
    try {
      jpeg = await untilAborted(encoding, signal);
    } catch (err) {
      if (err instanceof CameraError) throw err;
      throw new CameraError('failed', `testpattern: JPEG encoding failed: ${messageOf(err)}`, undefined, { cause: err });
    }

    throwIfAborted(signal);
    await writeOrNothing(destination, jpeg, signal);
    return { width, height, size: jpeg.length };
  }
}

function validateOptions(o: TestPatternOptions): TestPatternOptions {
  const { minWidth, maxWidth, minHeight, maxHeight } = TESTPATTERN_LIMITS;
  if (typeof o.sourceId !== 'string' || o.sourceId === '') throw new Error('testpattern: sourceId must be a non-empty string');
  if (typeof o.sourceName !== 'string') throw new Error('testpattern: sourceName must be a string');
  if (!Number.isInteger(o.width) || o.width < minWidth || o.width > maxWidth) {
    throw new Error(`testpattern: width must be an integer from ${minWidth} to ${maxWidth}, got ${String(o.width)}`);
  }
  if (!Number.isInteger(o.height) || o.height < minHeight || o.height > maxHeight) {
    throw new Error(`testpattern: height must be an integer from ${minHeight} to ${maxHeight}, got ${String(o.height)}`);
  }
  if (typeof o.timezone !== 'string' || !IANAZone.isValidZone(o.timezone)) {
    throw new Error(`testpattern: timezone must be an IANA zone name, got ${String(o.timezone)}`);
  }
  if (o.location !== undefined) {
    const { latitude, longitude } = o.location;
    if (!Number.isFinite(latitude) || Math.abs(latitude) > 90) throw new Error(`testpattern: location.latitude must be -90..90, got ${String(latitude)}`);
    if (!Number.isFinite(longitude) || Math.abs(longitude) > 180) throw new Error(`testpattern: location.longitude must be -180..180, got ${String(longitude)}`);
  }
  if (o.quality !== undefined && (!Number.isInteger(o.quality) || o.quality < 1 || o.quality > 100)) {
    throw new Error(`testpattern: quality must be an integer from 1 to 100, got ${String(o.quality)}`);
  }
  return o;
}

async function writeOrNothing(destination: string, jpeg: Buffer, signal: AbortSignal): Promise<void> {
  try {
    await fsp.writeFile(destination, jpeg, { signal });
  } catch (err) {
    await removeQuietly(destination);
    if (signal.aborted) throw abortError(signal);
    throw new CameraError('io', `testpattern: cannot write ${destination}: ${messageOf(err)}`, 'check free space and permissions of the picture folder', { cause: err });
  }
  if (signal.aborted) {
    await removeQuietly(destination);
    throw abortError(signal);
  }
}

async function removeQuietly(file: string): Promise<void> {
  await fsp.unlink(file).catch(() => undefined);
}

/** Rejects as soon as the signal fires, without waiting for work that cannot be cancelled. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => { signal.removeEventListener('abort', onAbort); resolve(value); },
      (err: unknown) => { signal.removeEventListener('abort', onAbort); reject(err); },
    );
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------
// Light: everything that depends on the instant, computed once per frame.

interface Look {
  timeMs: number;
  /** Sky colour per output row (r, g, b interleaved). */
  skyRows: Float32Array;
  /** How much cloud shows per output row: haze flattens clouds towards the horizon. */
  cloudFade: Float32Array;
  cloud: Rgb;
  cloudAlpha: Float32Array;
  cloudShade: Float32Array;
  cloudOffset: number;
  ambient: Rgb;
  /** 0..1: lit windows, headlights, aviation lights. */
  lights: number;
  stars: number;
  /** Sensor noise sigma, in 8-bit levels: the gain goes up in the dark. */
  noise: number;
  noiseSeed: number;
}

interface Key {
  e: number;
  zenith: Rgb;
  horizon: Rgb;
  cloud: Rgb;
  ambient: Rgb;
  lights: number;
  stars: number;
  noise: number;
}

/** Keyframes by sun elevation in degrees: night, blue hour, golden hour, day. */
const KEYS: readonly Key[] = [
  { e: -90, zenith: [2, 3, 8], horizon: [14, 12, 20], cloud: [24, 19, 22], ambient: [0.05, 0.05, 0.07], lights: 1, stars: 1, noise: 7 },
  { e: -18, zenith: [2, 3, 8], horizon: [14, 12, 20], cloud: [24, 19, 22], ambient: [0.05, 0.05, 0.07], lights: 1, stars: 1, noise: 7 },
  { e: -12, zenith: [6, 9, 24], horizon: [34, 30, 48], cloud: [38, 31, 40], ambient: [0.08, 0.08, 0.11], lights: 1, stars: 0.6, noise: 6.5 },
  { e: -6, zenith: [22, 34, 78], horizon: [120, 80, 90], cloud: [92, 62, 76], ambient: [0.16, 0.15, 0.2], lights: 0.9, stars: 0.1, noise: 5 },
  { e: -2, zenith: [45, 70, 130], horizon: [235, 130, 80], cloud: [205, 112, 92], ambient: [0.32, 0.27, 0.28], lights: 0.6, stars: 0, noise: 4 },
  { e: 2, zenith: [60, 100, 170], horizon: [250, 170, 110], cloud: [255, 175, 125], ambient: [0.55, 0.45, 0.38], lights: 0.25, stars: 0, noise: 3.2 },
  { e: 8, zenith: [70, 120, 195], horizon: [240, 200, 160], cloud: [250, 218, 188], ambient: [0.78, 0.7, 0.6], lights: 0.05, stars: 0, noise: 2.8 },
  { e: 20, zenith: [60, 125, 215], horizon: [195, 212, 232], cloud: [246, 243, 239], ambient: [0.95, 0.92, 0.88], lights: 0, stars: 0, noise: 2.5 },
  { e: 45, zenith: [48, 118, 225], horizon: [172, 202, 240], cloud: [252, 252, 252], ambient: [1.08, 1.06, 1.03], lights: 0, stars: 0, noise: 2.2 },
  { e: 90, zenith: [48, 118, 225], horizon: [172, 202, 240], cloud: [252, 252, 252], ambient: [1.08, 1.06, 1.03], lights: 0, stars: 0, noise: 2.2 },
];

function keyAt(elevation: number): Key {
  let i = 1;
  while (i < KEYS.length - 1 && KEYS[i].e < elevation) i++;
  const a = KEYS[i - 1];
  const b = KEYS[i];
  const t = clamp01((elevation - a.e) / (b.e - a.e));
  const mix = (p: number, q: number): number => p + (q - p) * t;
  const mixRgb = (p: Rgb, q: Rgb): Rgb => [mix(p[0], q[0]), mix(p[1], q[1]), mix(p[2], q[2])];
  return {
    e: elevation,
    zenith: mixRgb(a.zenith, b.zenith),
    horizon: mixRgb(a.horizon, b.horizon),
    cloud: mixRgb(a.cloud, b.cloud),
    ambient: mixRgb(a.ambient, b.ambient),
    lights: mix(a.lights, b.lights),
    stars: mix(a.stars, b.stars),
    noise: mix(a.noise, b.noise),
  };
}

function sunElevation(at: Date, options: TestPatternOptions): number {
  if (options.location) {
    // suncalc 2 answers in degrees.
    return getPosition(at, options.location.latitude, options.location.longitude).altitude;
  }
  // Without a place: sunrise at 6, sunset at 18, a higher noon sun in June.
  const local = DateTime.fromJSDate(at, { zone: options.timezone });
  const hour = local.hour + local.minute / 60 + local.second / 3600;
  const noon = 40 + 20 * Math.cos((2 * Math.PI * (local.ordinal - 172)) / 365.25);
  return noon * Math.sin((2 * Math.PI * (hour - 6)) / 24);
}

function lookAt(at: Date, options: TestPatternOptions, seed: number): Look {
  const { width: W, height: H } = options;
  const timeMs = at.getTime();
  const key = keyAt(sunElevation(at, options));
  const horizonY = Math.max(1, LAYOUT.groundLine * H);

  const skyRows = new Float32Array(H * 3);
  const cloudFade = new Float32Array(H);
  for (let y = 0; y < H; y++) {
    const t = Math.min(1, y / horizonY);
    const g = Math.pow(t, 1.6);
    for (let c = 0; c < 3; c++) skyRows[y * 3 + c] = key.zenith[c] + (key.horizon[c] - key.zenith[c]) * g;
    cloudFade[y] = 1 - 0.55 * t * t;
  }

  // The weather changes slowly: cover drifts between clear and overcast over days and hours.
  const hours = timeMs / 3_600_000;
  const cover = clamp01(0.42 + 0.25 * Math.sin((2 * Math.PI * hours) / 65 + seed % 7) + 0.12 * Math.sin((2 * Math.PI * hours) / 9.1));
  const threshold = 0.78 - 0.5 * cover;
  const cloudAlpha = new Float32Array(256);
  const cloudShade = new Float32Array(256);
  for (let d = 0; d < 256; d++) {
    const v = d / 255;
    cloudAlpha[d] = smoothstep(threshold, threshold + 0.22, v);
    cloudShade[d] = 1 - 0.2 * smoothstep(threshold + 0.12, threshold + 0.45, v);
  }

  const baseWidth = W >> baseShift(W, H);
  // Clouds cross the frame in about a quarter of an hour.
  const cloudOffset = Math.floor(((timeMs / 1000) * baseWidth) / 900) % baseWidth;

  return {
    timeMs,
    skyRows,
    cloudFade,
    cloud: key.cloud,
    cloudAlpha,
    cloudShade,
    cloudOffset: cloudOffset < 0 ? cloudOffset + baseWidth : cloudOffset,
    ambient: key.ambient,
    lights: key.lights,
    stars: key.stars,
    noise: key.noise,
    noiseSeed: (hashString(String(timeMs)) ^ seed) | 1,
  };
}

// ---------------------------------------------------------------------------------------
// Per-frame render: one pass over the output, a few table lookups and multiplies per pixel.

async function renderFrame(scene: Scene, look: Look, frame: Buffer, signal: AbortSignal): Promise<void> {
  const out = new Uint8ClampedArray(frame.buffer, frame.byteOffset, frame.length);
  const bandRows = Math.max(1, Math.floor(BAND_PIXELS / scene.width));
  let state = look.noiseSeed;
  for (let y = 0; y < scene.height; y += bandRows) {
    state = renderRows(scene, look, out, y, Math.min(scene.height, y + bandRows), state);
    await pause(signal);
  }
}

/** Lets the event loop run (HTTP, timers) between slices of long synchronous work. */
async function pause(signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  throwIfAborted(signal);
}

function renderRows(scene: Scene, look: Look, out: Uint8ClampedArray, y0: number, y1: number, seed: number): number {
  const { width: W, shift, baseWidth: bw, albedo, kind, cloud, cloudRows, texture, vignetteX, vignetteY } = scene;
  const { skyRows, cloudFade, cloudAlpha, cloudShade, cloudOffset } = look;
  const [cR, cG, cB] = look.cloud;
  const [aR, aG, aB] = look.ambient;
  const starGain = look.stars / 255;
  const glowR = look.lights * 1.0;
  const glowG = look.lights * 0.82;
  const glowB = look.lights * 0.55;
  const texAmp = 0.07 / 127;
  // Two summed bytes make a triangular distribution with sigma ~104.
  const lumaAmp = look.noise / 104;
  const chromaAmp = (look.noise * 0.35) / 74;
  let s = seed;

  for (let y = y0; y < y1; y++) {
    const by = y >> shift;
    const baseRow = by * bw;
    const cloudRow = by < cloudRows ? by * bw : 0;
    const tileRow = (y & TILE_MASK) << TILE_SHIFT;
    const sR = skyRows[y * 3];
    const sG = skyRows[y * 3 + 1];
    const sB = skyRows[y * 3 + 2];
    const fade = cloudFade[y];
    const vy = vignetteY[y];
    let o = y * W * 3;
    for (let x = 0; x < W; x++, o += 3) {
      const bx = x >> shift;
      const bi = baseRow + bx;
      const k = kind[bi];
      let r: number;
      let g: number;
      let b: number;
      if (k === SKY) {
        let cx = bx + cloudOffset;
        if (cx >= bw) cx -= bw;
        const d = cloud[cloudRow + cx];
        const a = cloudAlpha[d] * fade;
        const sh = cloudShade[d];
        r = sR + (cR * sh - sR) * a;
        g = sG + (cG * sh - sG) * a;
        b = sB + (cB * sh - sB) * a;
        const star = albedo[bi * 3];
        if (star !== 0) {
          const v = star * starGain * (1 - a);
          r += v;
          g += v;
          b += v;
        }
      } else {
        const f = 1 + texture[tileRow + (x & TILE_MASK)] * texAmp;
        const ai = bi * 3;
        r = albedo[ai] * aR * f + k * glowR;
        g = albedo[ai + 1] * aG * f + k * glowG;
        b = albedo[ai + 2] * aB * f + k * glowB;
      }
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const n = ((s & 255) + ((s >>> 8) & 255) - 255) * lumaAmp;
      const u = (((s >>> 16) & 255) - 127.5) * chromaAmp;
      const w = ((s >>> 24) - 127.5) * chromaAmp;
      const v = vy * vignetteX[x];
      out[o] = r * v + n + u;
      out[o + 1] = g * v + n - 0.5 * (u + w);
      out[o + 2] = b * v + n + w;
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// Overlays: small SVGs, each clipped to its own box so rsvg never renders a full 24 MP canvas.

function clippedSvg(scene: Scene, x0: number, y0: number, x1: number, y1: number, body: string): sharp.OverlayOptions | undefined {
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

function craneOverlay(scene: Scene, look: Look): sharp.OverlayOptions | undefined {
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

function trafficOverlays(scene: Scene, look: Look): Array<sharp.OverlayOptions | undefined> {
  const U = scene.unit;
  const vehicles: Vehicle[] = [
    { truck: true, laneY: LAYOUT.farLane * scene.height, length: 0.12 * U, direction: -1, periodMs: 41_000, paint: [40, 90, 150] },
    { truck: false, laneY: LAYOUT.nearLane * scene.height, length: 0.078 * U, direction: 1, periodMs: 24_000, paint: [178, 30, 28] },
  ];
  return vehicles.map((v) => vehicleOverlay(scene, look, v));
}

function vehicleOverlay(scene: Scene, look: Look, v: Vehicle): sharp.OverlayOptions | undefined {
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

function captionOverlay(scene: Scene, name: string, at: Date, zone: string): sharp.OverlayOptions | undefined {
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
    `<text x="${x + pad}" y="${y + pad + Math.round(size * 0.9)}" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${x + pad}" y="${y + pad + Math.round(size * 2.1)}">${escapeXml(stamp)}</text>`,
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

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

// ---------------------------------------------------------------------------------------
// The base scene: drawn once per camera, at full or half resolution.

interface Scene {
  width: number;
  height: number;
  shift: number;
  baseWidth: number;
  /** Size unit in output pixels, so objects keep their proportions at odd aspect ratios. */
  unit: number;
  /** Daylight reflectance of solid things; for sky pixels, channel 0 is a star's brightness. */
  albedo: Uint8Array;
  /** SKY, or for solid things how brightly they glow at night (lit windows). */
  kind: Uint8Array;
  /** Cloud density over the rows that can show sky, tileable left to right so it can drift. */
  cloud: Uint8Array;
  cloudRows: number;
  /** Full-resolution grain that the half-resolution base cannot hold. */
  texture: Int8Array;
  vignetteX: Float32Array;
  vignetteY: Float32Array;
  crane: { x: number; y: number };
}

function baseShift(width: number, height: number): number {
  return width * height > FULL_RES_BASE_MAX_PIXELS ? 1 : 0;
}

/** Costs about one frame's work per megapixel, once per camera; it yields like a frame does. */
async function buildScene(width: number, height: number, seed: number, signal: AbortSignal): Promise<Scene> {
  const shift = baseShift(width, height);
  const bw = Math.max(1, width >> shift);
  const bh = Math.max(1, height >> shift);
  const rng = mulberry32(seed);
  const unit = Math.max(4, Math.min(bw, bh * 1.6));
  const fine = Math.max(2, unit / 200);
  const detail = await fbmField(bw, bh, { cellX: fine, cellY: fine, octaves: octavesDownTo(fine, 1), seed: seed ^ 0xd1, gain: 0.6, contrast: 2.2 }, signal);
  const broad = Math.max(4, bw / 7);
  const macro = await fbmField(bw, bh, { cellX: broad, cellY: broad * 0.5, octaves: octavesDownTo(broad * 0.5, 8), seed: seed ^ 0xa3, contrast: 2.4 }, signal);
  const p = new Painter(bw, bh, unit, seed, detail, macro);

  const groundY = Math.round(LAYOUT.groundLine * bh);
  const cloudRows = Math.max(1, groundY);
  const cloud = await fbmField(bw, cloudRows, { cellX: bw / 2.5, cellY: bw / 9, octaves: octavesDownTo(bw / 9, 1.5), seed: seed ^ 0x51, wrapX: true, gain: 0.56, contrast: 2.2 }, signal);
  const ridge = await fbmField(bw, 1, { cellX: Math.max(2, bw / 4), cellY: 1, octaves: octavesDownTo(bw / 4, 2), seed: seed ^ 0x77, contrast: 2 }, signal);

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

  const texture = new Int8Array(TILE * TILE);
  let s = seed | 1;
  for (let i = 0; i < texture.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    texture[i] = ((s & 255) + ((s >>> 8) & 255) - 255) >> 1;
  }

  const vignette = (n: number): Float32Array => {
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const d = (i + 0.5) / n - 0.5;
      v[i] = 1 - 0.5 * d * d;
    }
    return v;
  };

  const scale = 1 << shift;
  return {
    width,
    height,
    shift,
    baseWidth: bw,
    unit: p.unit * scale,
    albedo: p.albedo,
    kind: p.kind,
    cloud,
    cloudRows,
    texture,
    vignetteX: vignette(width),
    vignetteY: vignette(height),
    crane: { x: (crane.x + 0.5) * scale, y: crane.y * scale },
  };
}

/** Draws into the base arrays with a fixed grain, so surfaces hold detail like a photo. */
class Painter {
  readonly albedo: Uint8Array;
  readonly kind: Uint8Array;
  /** Fine fBm (a few pixels to a few dozen) and broad fBm (patches across the frame). */
  readonly detail: Uint8Array;
  readonly macro: Uint8Array;
  #grain: number;

  constructor(
    readonly w: number,
    readonly h: number,
    readonly unit: number,
    seed: number,
    detail: Uint8Array,
    macro: Uint8Array,
  ) {
    this.albedo = new Uint8Array(w * h * 3);
    this.kind = new Uint8Array(w * h).fill(SKY);
    this.detail = detail;
    this.macro = macro;
    this.#grain = seed | 1;
  }

  u(n: number): number {
    return n * this.unit;
  }

  #noise(): number {
    let s = this.#grain;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.#grain = s;
    return ((s & 255) + ((s >>> 8) & 255) - 255) / 104;
  }

  /** One pixel: `tex` scales the fine fBm (0 flat, 0.5 rough), `grain` the static pixel noise. */
  put(x: number, y: number, rgb: Rgb, tex: number, grain = 4, glow = 0): void {
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return;
    const i = y * this.w + x;
    const f = 1 + ((this.detail[i] - 128) / 128) * tex;
    const j = this.#noise() * grain;
    const a = i * 3;
    this.albedo[a] = clampByte(rgb[0] * f + j);
    this.albedo[a + 1] = clampByte(rgb[1] * f + j);
    this.albedo[a + 2] = clampByte(rgb[2] * f + j);
    this.kind[i] = glow;
  }

  rect(x0: number, y0: number, x1: number, y1: number, rgb: Rgb, tex: number, grain = 4, glow = 0): void {
    const xa = Math.max(0, Math.round(x0));
    const xb = Math.min(this.w, Math.round(x1));
    const ya = Math.max(0, Math.round(y0));
    const yb = Math.min(this.h, Math.round(y1));
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) this.put(x, y, rgb, tex, grain, glow);
  }

  line(x0: number, y0: number, x1: number, y1: number, width: number, rgb: Rgb, tex: number): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const half = Math.max(0, Math.floor((width - 1) / 2));
    const extra = Math.max(1, Math.round(width)) - 1 - half;
    for (let i = 0; i <= steps; i++) {
      const x = Math.round(x0 + ((x1 - x0) * i) / steps);
      const y = Math.round(y0 + ((y1 - y0) * i) / steps);
      for (let dy = -half; dy <= extra; dy++) for (let dx = -half; dx <= extra; dx++) this.put(x + dx, y + dy, rgb, tex, 3);
    }
  }

  macroAt(x: number, y: number): number {
    const yy = y < 0 ? 0 : y >= this.h ? this.h - 1 : y;
    const xx = x < 0 ? 0 : x >= this.w ? this.w - 1 : x;
    return this.macro[yy * this.w + xx] / 255;
  }
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

// ---------------------------------------------------------------------------------------
// Noise helpers.

interface FbmOptions {
  cellX: number;
  cellY: number;
  octaves: number;
  seed: number;
  /** Make the field repeat seamlessly left to right (for drifting clouds). */
  wrapX?: boolean;
  gain?: number;
  /** Stretch around mid-grey; value noise bunches up near the middle. */
  contrast?: number;
}

function octavesDownTo(cell: number, smallest: number): number {
  let n = 1;
  while (cell / 2 ** n >= smallest && n < 12) n++;
  return n;
}

/** Value-noise fBm quantised to bytes, computed a row at a time to keep memory small. */
async function fbmField(w: number, h: number, o: FbmOptions, signal: AbortSignal): Promise<Uint8Array> {
  const gain = o.gain ?? 0.5;
  interface Layer { grid: Float32Array; gw: number; sy: number; i0: Int32Array; i1: Int32Array; tx: Float32Array; amp: number }
  const layers: Layer[] = [];
  let cellX = Math.max(1, o.cellX);
  let cellY = Math.max(1, o.cellY);
  let amp = 1;
  let total = 0;
  for (let k = 0; k < o.octaves; k++) {
    const wrapCells = Math.max(1, Math.round(w / cellX));
    const sx = o.wrapX ? wrapCells / w : 1 / cellX;
    const gw = o.wrapX ? wrapCells : Math.floor((w - 1) * sx) + 2;
    const sy = 1 / cellY;
    const gh = Math.floor((h - 1) * sy) + 2;
    const grid = new Float32Array(gw * gh);
    const layerSeed = (o.seed + Math.imul(k + 1, 0x9e3779b1)) | 0;
    for (let gy = 0; gy < gh; gy++) for (let gx = 0; gx < gw; gx++) grid[gy * gw + gx] = hash01(gx, gy, layerSeed) - 0.5;
    const i0 = new Int32Array(w);
    const i1 = new Int32Array(w);
    const tx = new Float32Array(w);
    for (let x = 0; x < w; x++) {
      const f = x * sx;
      const ix = Math.floor(f);
      const t = f - ix;
      i0[x] = o.wrapX ? ix % gw : ix;
      i1[x] = o.wrapX ? (ix + 1) % gw : ix + 1;
      tx[x] = t * t * (3 - 2 * t);
    }
    layers.push({ grid, gw, sy, i0, i1, tx, amp });
    total += amp;
    amp *= gain;
    cellX /= 2;
    cellY /= 2;
  }
  const out = new Uint8Array(w * h);
  const clamped = new Uint8ClampedArray(out.buffer);
  const row = new Float32Array(w);
  const scale = ((o.contrast ?? 2) * 255) / total;
  let work = 0;
  for (let y = 0; y < h; y++) {
    work += w * layers.length;
    if (work >= BAND_PIXELS * 2) {
      work = 0;
      await pause(signal);
    }
    row.fill(0);
    for (const L of layers) {
      const fy = y * L.sy;
      const iy = Math.floor(fy);
      let ty = fy - iy;
      ty = ty * ty * (3 - 2 * ty);
      const a = iy * L.gw;
      const b = a + L.gw;
      const { grid, i0, i1, tx, amp: la } = L;
      for (let x = 0; x < w; x++) {
        const p0 = grid[a + i0[x]];
        const p1 = grid[a + i1[x]];
        const q0 = grid[b + i0[x]];
        const q1 = grid[b + i1[x]];
        const t = tx[x];
        const top = p0 + (p1 - p0) * t;
        const bot = q0 + (q1 - q0) * t;
        row[x] += (top + (bot - top) * ty) * la;
      }
    }
    const base = y * w;
    for (let x = 0; x < w; x++) clamped[base + x] = 128 + row[x] * scale;
  }
  return out;
}

// Under Jest the module runs in a vm context where every `Math.x` lookup goes through the
// global object's interceptor; in the per-pixel helpers that made scene building 6x slower.
const imul = Math.imul;

function hash01(x: number, y: number, seed: number): number {
  let h = imul(x, 0x27d4eb2d) ^ imul(y, 0x165667b1) ^ seed;
  h = imul(h ^ (h >>> 15), 0x85ebca6b);
  h = imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** A small deterministic PRNG (mulberry32): the same seed, the same scene (also used by tests and benchmarks). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mixRgb(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : (v + 0.5) | 0;
}

function smoothstep(a: number, b: number, v: number): number {
  const t = clamp01((v - a) / (b - a));
  return t * t * (3 - 2 * t);
}
