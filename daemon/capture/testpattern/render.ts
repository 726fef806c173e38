/**
 * The per-frame render: one pass over the output, a few table lookups and multiplies per
 * pixel, combining the cached base scene with the light of the instant, drifting clouds,
 * stars, night glow, vignetting and fresh sensor noise. Rendered in bands with an event-loop
 * turn between them.
 */
import type { Look } from './light';
import { SKY } from './painter';
import { TILE_MASK, TILE_SHIFT, type Scene } from './scene';
import { BAND_PIXELS, pause } from './slices';

/** Fills `frame` (width x height x 3 bytes, RGB) with the scene as lit by `look`. */
export async function renderFrame(scene: Scene, look: Look, frame: Buffer, signal: AbortSignal): Promise<void> {
  const out = new Uint8ClampedArray(frame.buffer, frame.byteOffset, frame.length);
  const bandRows = Math.max(1, Math.floor(BAND_PIXELS / scene.width));
  let state = look.noiseSeed;
  for (let y = 0; y < scene.height; y += bandRows) {
    state = renderRows(scene, look, out, y, Math.min(scene.height, y + bandRows), state);
    await pause(signal);
  }
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
  // The simulated sensor's settings scale the light (and clip at 255 when written).
  const exposure = look.exposure;
  // Two summed bytes make a triangular distribution with sigma ~104.
  const lumaAmp = look.noise / 104;
  const chromaAmp = (look.noise * 0.35) / 74;
  // Imported constants compile to property loads on another module's exports object;
  // read once here rather than once per pixel.
  const sky = SKY;
  const tileShift = TILE_SHIFT;
  const tileMask = TILE_MASK;
  let s = seed;

  for (let y = y0; y < y1; y++) {
    const by = y >> shift;
    const baseRow = by * bw;
    const cloudRow = by < cloudRows ? by * bw : 0;
    const tileRow = (y & tileMask) << tileShift;
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
      if (k === sky) {
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
        const f = 1 + texture[tileRow + (x & tileMask)] * texAmp;
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
      const v = vy * vignetteX[x] * exposure;
      out[o] = r * v + n + u;
      out[o + 1] = g * v + n - 0.5 * (u + w);
      out[o + 2] = b * v + n + w;
    }
  }
  return s;
}

