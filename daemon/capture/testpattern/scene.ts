/**
 * The base scene: everything in the picture that does not move, drawn once per camera and
 * kept, so a frame costs a few table lookups per pixel instead of a redraw. Above ~4 MP it
 * is held at half resolution (see `baseShift`) and a full-resolution grain tile restores
 * the fine texture.
 */
import { drawLandscape } from './landscape';
import { baseShift, LAYOUT } from './layout';
import { fbmField, mulberry32, octavesDownTo } from './noise';
import { Painter } from './painter';

export const TILE_SHIFT = 8;
const TILE = 1 << TILE_SHIFT;
export const TILE_MASK = TILE - 1;

export interface Scene {
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

/** Costs about one frame's work per megapixel, once per camera; it yields like a frame does. */
export async function buildScene(width: number, height: number, seed: number, signal: AbortSignal): Promise<Scene> {
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

  const crane = await drawLandscape(p, groundY, ridge, rng, signal);

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
    texture: grainTile(seed),
    vignetteX: vignette(width),
    vignetteY: vignette(height),
    crane: { x: (crane.x + 0.5) * scale, y: crane.y * scale },
  };
}

/** A TILE x TILE tile of triangular noise, repeated over the frame. */
function grainTile(seed: number): Int8Array {
  const texture = new Int8Array(TILE * TILE);
  let s = seed | 1;
  for (let i = 0; i < texture.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    texture[i] = ((s & 255) + ((s >>> 8) & 255) - 255) >> 1;
  }
  return texture;
}

/** Per-row or per-column gain: a lens darkens gently towards the edges. */
function vignette(n: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const d = (i + 0.5) / n - 0.5;
    v[i] = 1 - 0.5 * d * d;
  }
  return v;
}
