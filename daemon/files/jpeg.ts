/**
 * The one place that tells a JPEG by its bytes: the start-of-image marker, the
 * completeness of a file, its size from the frame header. Decoding is the
 * pipeline's (sharp); daemon/pipeline/sharp.ts `jpegSize` is what libvips reads
 * from the header.
 */
import fs from 'node:fs/promises';

/**
 * Whether `head` (the first bytes of a file or a download) starts with the JPEG
 * start-of-image marker FF D8. Anything else (an error page, a PNG) is not a JPEG.
 */
export function startsWithSoi(head: ArrayLike<number>): boolean {
  return head.length >= 2 && head[0] === 0xff && head[1] === 0xd8;
}

/**
 * Cheap completeness check of a JPEG file: the start-of-image marker at the start
 * and the end-of-image marker near the end (some cameras pad after it). A camera
 * that died mid-transfer leaves a file that fails this.
 */
export async function isCompleteJpeg(file: string): Promise<boolean> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size < 4) return false;
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    if (!startsWithSoi(head)) return false;
    const tailLength = Math.min(size, 4096);
    const tail = Buffer.alloc(tailLength);
    await handle.read(tail, 0, tailLength, size - tailLength);
    return endsWithEoi(tail);
  } finally {
    await handle.close();
  }
}

export interface JpegInfo {
  /** Starts with SOI and ends with EOI (see isCompleteJpeg). */
  complete: boolean;
  /** From the frame header; 0 when it was not found in the first 64 KiB. */
  width: number;
  height: number;
}

/** SOF markers that carry the frame size (all but DHT, JPG and DAC in C0-CF). */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/**
 * Completeness and size of a JPEG file from its first 64 KiB and its end, without
 * decoding it: cheap enough to check every frame of a video before ffmpeg reads them.
 */
export async function jpegInfo(file: string): Promise<JpegInfo> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, 65_536));
    await handle.read(head, 0, head.length, 0);
    let width = 0;
    let height = 0;
    if (startsWithSoi(head)) {
      let i = 2;
      while (i + 9 < head.length && head[i] === 0xff) {
        const marker = head[i + 1]!;
        if (marker === 0xff) {
          i++;
          continue;
        }
        const length = head.readUInt16BE(i + 2);
        if (SOF.has(marker)) {
          height = head.readUInt16BE(i + 5);
          width = head.readUInt16BE(i + 7);
          break;
        }
        if (marker === 0xda) break;
        i += 2 + length;
      }
    }
    const tailLength = Math.min(size, 4096);
    const tail = Buffer.alloc(tailLength);
    await handle.read(tail, 0, tailLength, size - tailLength);
    return { complete: size >= 4 && startsWithSoi(head) && endsWithEoi(tail), width, height };
  } finally {
    await handle.close();
  }
}

function endsWithEoi(tail: Buffer): boolean {
  for (let i = tail.length - 2; i >= 0; i--) {
    if (tail[i] === 0xff && tail[i + 1] === 0xd9) return tail.subarray(i + 2).every((b) => b === 0x00 || b === 0xff);
  }
  return false;
}
