import fs from 'node:fs/promises';

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
    if (head[0] !== 0xff || head[1] !== 0xd8) return false;
    const tailLength = Math.min(size, 4096);
    const tail = Buffer.alloc(tailLength);
    await handle.read(tail, 0, tailLength, size - tailLength);
    for (let i = tailLength - 2; i >= 0; i--) {
      if (tail[i] === 0xff && tail[i + 1] === 0xd9) return tail.subarray(i + 2).every((b) => b === 0x00 || b === 0xff);
    }
    return false;
  } finally {
    await handle.close();
  }
}
