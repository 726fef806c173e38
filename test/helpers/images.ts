/**
 * Real pictures for the pipeline tests, made with sharp: detail where it matters
 * (noise that a mask must hide), plain colours where a test reads pixels back.
 */
import sharp from 'sharp';
import { mulberry32 } from '../../daemon/capture/testpattern/noise';

/** Random RGB pixels: the worst case for a mask, every pixel different. */
export function noise(width: number, height: number, seed = 1): Buffer {
  const random = mulberry32(seed);
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256);
  return data;
}

export function jpegOf(raw: Buffer, width: number, height: number, quality = 90): Promise<Buffer> {
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
}

/** A plain picture of one colour. */
export function plain(width: number, height: number, background: string, exif?: sharp.Exif): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background } });
  return (exif ? image.withExif(exif) : image).jpeg({ quality: 95 }).toBuffer();
}

/** Pixels of a region of a JPEG, with per-channel mean and spread. */
export async function region(jpeg: Buffer | string, area: { left: number; top: number; width: number; height: number }) {
  // stats() reads the input, not the pipeline's output: cut the region out first.
  const { data, info } = await sharp(jpeg).extract(area).raw().toBuffer({ resolveWithObject: true });
  const stats = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).stats();
  return {
    mean: stats.channels.slice(0, 3).map((c) => c.mean),
    stdev: Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev)),
    min: Math.min(...stats.channels.slice(0, 3).map((c) => c.min)),
    max: Math.max(...stats.channels.slice(0, 3).map((c) => c.max)),
  };
}

/**
 * A valid JPEG header that claims `width`x`height`: what a decompression bomb looks
 * like (a few hundred bytes that would decode to gigabytes).
 */
export async function claimingSize(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from(await plain(16, 16, '#808080'));
  for (let i = 2; i < jpeg.length - 9; i++) {
    // SOF0..SOF2 marker, then length(2), precision(1), height(2), width(2).
    if (jpeg[i] === 0xff && jpeg[i + 1]! >= 0xc0 && jpeg[i + 1]! <= 0xc2) {
      jpeg.writeUInt16BE(height, i + 5);
      jpeg.writeUInt16BE(width, i + 7);
      return jpeg;
    }
  }
  throw new Error('no SOF marker');
}
