/**
 * How much the test-pattern camera costs per frame, next to the floor any renderer pays:
 * sharp encoding a same-size buffer of random noise at the same quality, measured in the
 * same process and run. Reports only; it never fails on a time.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { TestPatternCamera } from '../../daemon/capture/testpattern.camera';

const QUALITY = 90;
const SIZES = [
  { width: 1920, height: 1080, frames: 5 },
  { width: 6000, height: 4000, frames: 3 },
] as const;

interface Row {
  size: string;
  firstMs: number;
  patternMs: number;
  encodeMs: number;
  outputKb: number;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lapsebox-bench-testpattern-'));
  const rows: Row[] = [];
  try {
    for (const { width, height, frames } of SIZES) {
      rows.push(await measure(dir, width, height, frames));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows);
  const { rss, heapUsed } = process.memoryUsage();
  console.log(`\nprocess after the runs: rss ${mb(rss)} MB, heap used ${mb(heapUsed)} MB`);
}

async function measure(dir: string, width: number, height: number, frames: number): Promise<Row> {
  const camera = new TestPatternCamera({
    sourceId: 'bench',
    sourceName: 'Bench camera',
    width,
    height,
    timezone: 'Europe/Paris',
    location: { latitude: 48.8566, longitude: 2.3522 },
    quality: QUALITY,
  });
  const signal = new AbortController().signal;
  const destination = path.join(dir, `${width}x${height}.jpg`);
  // A morning slot, so the frame has sky, clouds and sunlit texture like a typical day shot.
  const start = Date.parse('2024-06-21T10:00:00+02:00');

  // The first frame also draws the cached base scene; it is reported on its own.
  const firstMs = await timed(() => camera.capture({ destination, takenAt: new Date(start), signal }));
  let patternMs = 0;
  let bytes = 0;
  for (let i = 1; i <= frames; i++) {
    let size = 0;
    patternMs += await timed(async () => {
      ({ size } = await camera.capture({ destination, takenAt: new Date(start + i * 10_000), signal }));
    });
    bytes += size;
  }
  await camera.close();

  const noise = Buffer.allocUnsafe(width * height * 3);
  randomFillSync(noise);
  const encode = (): Promise<Buffer> =>
    sharp(noise, { raw: { width, height, channels: 3 } }).jpeg({ quality: QUALITY, mozjpeg: false }).toBuffer();
  await encode();
  let encodeMs = 0;
  for (let i = 0; i < frames; i++) encodeMs += await timed(encode);

  return {
    size: `${width}x${height}`,
    firstMs,
    patternMs: patternMs / frames,
    encodeMs: encodeMs / frames,
    outputKb: bytes / frames / 1024,
  };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function printTable(rows: Row[]): void {
  const header = ['size', 'testpattern ms', 'sharp-encode-only ms', 'ratio', 'output KB', 'first frame ms'];
  const lines = rows.map((r) => [
    r.size,
    r.patternMs.toFixed(0),
    r.encodeMs.toFixed(0),
    (r.patternMs / r.encodeMs).toFixed(2),
    r.outputKb.toFixed(0),
    r.firstMs.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`testpattern camera, JPEG quality ${QUALITY}, mean of the frames after the first`);
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(format(line));
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

if (require.main === module) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
