/**
 * The sharp adapter for the rest of the daemon: the process-wide settings, and
 * the few image operations other stages need (the camera drivers reading a new
 * picture's size, the test pattern encoding the frame it drew, the video builder
 * making a poster and measuring a frame whose picture has no stored luminance). The picture pipeline itself
 * (picture.pipeline.ts, overlays.ts) uses sharp directly; nothing outside
 * daemon/pipeline/ imports sharp.
 */
import sharp from 'sharp';
import { meanLuminance } from './plan';

/**
 * Process-wide sharp settings for a small box. libvips' operation cache helps
 * when the same images are processed again; the daemon processes each picture
 * once, so the cache only holds memory (hundreds of MB at 24 MP).
 */
export function configureSharp(): void {
  sharp.cache(false);
}

/**
 * The size of a JPEG file from its header, read by libvips without decoding the
 * pixels. Throws when libvips cannot read the header (its message says why), when
 * the file is another format, or when the header holds no size. Called by the
 * camera drivers once the file passed `isCompleteJpeg` (files/jpeg.ts).
 */
export async function jpegSize(file: string): Promise<{ width: number; height: number }> {
  const { format, width, height } = await sharp(file).metadata();
  if (format !== 'jpeg') throw new Error(`not a JPEG but ${String(format).toUpperCase()}`);
  if (!width || !height) throw new Error('no image size in the JPEG header');
  return { width, height };
}

/** Writes the poster of a video: the frame `from`, at most `maxWidth` wide (never enlarged), as a JPEG. */
export async function writePoster(from: string, to: string, maxWidth: number): Promise<void> {
  await sharp(from).resize({ width: maxWidth, withoutEnlargement: true }).jpeg({ quality: 80, mozjpeg: true }).toFile(to);
}

/**
 * The mean luminance (0-255) of an image file, as the pipeline measures a picture's
 * (meanLuminance): decoded small (a JPEG at an eighth of its size, straight from its DCT),
 * which changes a mean by less than a level.
 */
export async function fileLuminance(file: string): Promise<number> {
  const stats = await sharp(file).resize({ width: 240, withoutEnlargement: true }).stats();
  return meanLuminance(stats.channels.map((c) => c.mean));
}

/** An encoded image (PNG, SVG) laid over a picture, its top-left corner at `left`, `top`. */
export interface Layer {
  input: Buffer;
  left: number;
  top: number;
}

/**
 * Encodes raw RGB pixels (3 bytes each, row by row) as a JPEG, with `layers` laid
 * over them first, bottom to top: how the test pattern camera turns the frame it
 * drew into its picture. `quality` 1..100, sharp's default (80) when not given.
 */
export function encodeJpeg(pixels: Buffer, size: { width: number; height: number }, layers: readonly Layer[], quality?: number): Promise<Buffer> {
  return sharp(pixels, { raw: { width: size.width, height: size.height, channels: 3 } })
    .composite([...layers])
    .jpeg({ ...(quality !== undefined ? { quality } : {}), mozjpeg: false })
    .toBuffer();
}
