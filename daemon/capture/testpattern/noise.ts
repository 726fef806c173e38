/**
 * Deterministic randomness for the test pattern: the same source id always draws the same
 * scene, so pictures, tests and benchmarks are reproducible. Value-noise fBm gives surfaces
 * and clouds their texture; the hashes and the PRNG seed everything else.
 */
import { BAND_PIXELS, pause } from './slices';

export interface FbmOptions {
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

/** One octave: a grid of random values and, per column, where it samples that grid. */
interface Layer {
  grid: Float32Array;
  gw: number;
  sy: number;
  i0: Int32Array;
  i1: Int32Array;
  tx: Float32Array;
  amp: number;
}

export function octavesDownTo(cell: number, smallest: number): number {
  let n = 1;
  while (cell / 2 ** n >= smallest && n < 12) n++;
  return n;
}

/** Value-noise fBm quantised to bytes, computed a row at a time to keep memory small. */
export async function fbmField(w: number, h: number, o: FbmOptions, signal: AbortSignal): Promise<Uint8Array> {
  const { layers, total } = fbmLayers(w, h, o);
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

/** The octaves of a field, each half the cell size of the one before; `total` sums their amplitudes. */
function fbmLayers(w: number, h: number, o: FbmOptions): { layers: Layer[]; total: number } {
  const gain = o.gain ?? 0.5;
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
  return { layers, total };
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

/** FNV-1a of a string, as a signed 32-bit seed. */
export function hashString(s: string): number {
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
