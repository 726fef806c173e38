/**
 * The brush the landscape is drawn with: pixels, rectangles and lines into the base scene's
 * arrays (daylight reflectance and night glow), in base-scene pixels, with sizes given in
 * `unit`s so a drawing looks the same at every frame size.
 */
import type { Rgb } from './math';

/** `kind` of a pixel where nothing was drawn: the sky shows through. */
export const SKY = 255;

/** Draws into the base arrays with a fixed grain, so surfaces hold detail like a photo. */
export class Painter {
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

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : (v + 0.5) | 0;
}
