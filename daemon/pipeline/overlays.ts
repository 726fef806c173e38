/**
 * The images laid over pictures: the legend (white text on a translucent dark
 * band, readable on snow and at night alike) and the watermark (an image file,
 * scaled and faded once per size and kept while the file does not change).
 */
import fs from 'node:fs/promises';
import sharp, { type OverlayOptions } from 'sharp';
import { escapeMarkup } from '../markup';
import { legendFontSize, overlayMargin, placeOverlay, watermarkSize, type Position, type Rect, type Size } from './plan';
import { messageOf } from '../error-causes';

/** Layers to lay over the area `rect` of a picture; their offsets are relative to `rect`. */
export interface Overlay {
  rect: Rect;
  layers: OverlayOptions[];
}

/** The watermark file could not be used; pictures that need it are not made. */
export class WatermarkUnavailableError extends Error {
  override readonly name = 'WatermarkUnavailableError';
}

/** Watermarks larger than this are refused: a logo needs far less, and a bomb would need far more memory. */
const MAX_WATERMARK_PIXELS = 25_000_000;

/** The legend at `position` on a picture of `canvas` size. */
export async function legendOverlay(text: string, position: Position, canvas: Size): Promise<Overlay> {
  const fontSize = legendFontSize(canvas.width);
  const padding = Math.round(fontSize * 0.4);
  const margin = overlayMargin(canvas.width);
  const maxTextWidth = Math.max(1, canvas.width - 2 * (margin + padding));
  const rendered = await sharp({
    // Pango reads the legend as markup: a name with "&" or "<" must stay text.
    text: { text: `<span foreground="#ffffff">${escapeMarkup(text)}</span>`, font: `DejaVu Sans Bold ${fontSize}`, dpi: 72, rgba: true, width: maxTextWidth, wrap: 'char' },
  })
    .png({ compressionLevel: 0 })
    .toBuffer({ resolveWithObject: true });
  const band: Size = {
    width: Math.min(canvas.width, rendered.info.width + 2 * padding),
    height: Math.min(canvas.height, rendered.info.height + 2 * padding),
  };
  const at = placeOverlay(position, canvas, band, margin);
  // On a picture too small for it, the text is cut to the band rather than refused.
  const textSize = { width: Math.max(1, Math.min(rendered.info.width, band.width - padding)), height: Math.max(1, Math.min(rendered.info.height, band.height - padding)) };
  const fits = textSize.width === rendered.info.width && textSize.height === rendered.info.height;
  const textLayer = fits ? rendered.data : await sharp(rendered.data).extract({ left: 0, top: 0, ...textSize }).png().toBuffer();
  return {
    rect: { ...at, ...band },
    layers: [
      { input: { create: { width: band.width, height: band.height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.6 } } }, left: 0, top: 0 },
      { input: textLayer, left: Math.min(padding, band.width - 1), top: Math.min(padding, band.height - 1) },
    ],
  };
}

interface LoadedWatermark {
  key: string;
  rgba: Buffer;
  size: Size;
  scaled: Map<string, Promise<{ data: Buffer; size: Size }>>;
}

/**
 * Watermark images by file: read and decoded once, checked with a stat before each
 * use so a replaced logo is picked up without a restart, scaled and faded once per
 * output size.
 */
export class Watermarks {
  readonly #loaded = new Map<string, Promise<LoadedWatermark>>();

  /** The watermark on a picture of `canvas` size; throws WatermarkUnavailableError. */
  async overlay(options: { file: string; position: Position; opacity: number; scale: number }, canvas: Size): Promise<Overlay> {
    const mark = await this.#load(options.file);
    const size = watermarkSize(canvas, mark.size, options.scale);
    const scaleKey = `${size.width}x${size.height}@${options.opacity}`;
    let scaled = mark.scaled.get(scaleKey);
    if (!scaled) {
      scaled = fade(mark, size, options.opacity);
      mark.scaled.set(scaleKey, scaled);
      if (mark.scaled.size > 16) mark.scaled.delete(mark.scaled.keys().next().value!);
    }
    const { data } = await scaled;
    const at = placeOverlay(options.position, canvas, size, overlayMargin(canvas.width));
    return { rect: { ...at, ...size }, layers: [{ input: data, raw: { width: size.width, height: size.height, channels: 4 }, left: 0, top: 0 }] };
  }

  async #load(file: string): Promise<LoadedWatermark> {
    let key: string;
    try {
      const st = await fs.stat(file);
      if (!st.isFile()) throw new WatermarkUnavailableError(`the watermark ${file} is not a file`);
      key = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch (err) {
      if (err instanceof WatermarkUnavailableError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new WatermarkUnavailableError(`the watermark file ${file} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? messageOf(err)})`}`);
    }
    const cached = this.#loaded.get(file);
    if (cached) {
      const loaded = await cached.catch(() => null);
      if (loaded && loaded.key === key) return loaded;
    }
    const loading = decode(file, key);
    this.#loaded.set(file, loading);
    loading.catch(() => this.#loaded.get(file) === loading && this.#loaded.delete(file));
    return loading;
  }
}

async function decode(file: string, key: string): Promise<LoadedWatermark> {
  try {
    const { data, info } = await sharp(file, { limitInputPixels: MAX_WATERMARK_PIXELS, failOn: 'error' })
      .autoOrient()
      .ensureAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { key, rgba: data, size: { width: info.width, height: info.height }, scaled: new Map() };
  } catch (err) {
    throw new WatermarkUnavailableError(`the watermark file ${file} is not a usable image: ${messageOf(err)}`);
  }
}

async function fade(mark: LoadedWatermark, size: Size, opacity: number): Promise<{ data: Buffer; size: Size }> {
  const data = await sharp(mark.rgba, { raw: { width: mark.size.width, height: mark.size.height, channels: 4 } })
    .resize(size.width, size.height, { fit: 'fill' })
    .raw()
    .toBuffer();
  if (opacity < 1) for (let i = 3; i < data.length; i += 4) data[i] = Math.round(data[i]! * opacity);
  return { data, size };
}
