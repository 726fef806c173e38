/**
 * Our side of the picture pipeline benchmark (`pipeline.bench.ts`), in a process of
 * its own so that its memory is the pipeline's alone, started as the daemon is
 * (MALLOC_ARENA_MAX=2):
 *
 *   node dist/scripts/bench/pipeline.worker.js CONFIG INPUT OUTDIR PICTURES
 *
 * Processes the same camera picture PICTURES times, each with its own time (so its
 * own legend), and writes every output the way the daemon stores a picture: the
 * stored picture first, then the sizes side by side (fs.writeFile, no fsync). Each
 * picture is timed end to end, processing and writing. Prints a WorkerReport as
 * JSON on stdout and nothing else.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { parseConfig } from '../../daemon/config/load';
import { silentLogger } from '../../daemon/logger';
import { PicturePipeline, type ProcessedPicture } from '../../daemon/pipeline/picture.pipeline';
import { configureSharp } from '../../daemon/pipeline/sharp';

/**
 * RSS is sampled after every picture; growth compares the median of a window of
 * this many pictures once start-up allocations have settled (pictures 11-30) with
 * the median of the last window, so one garbage collection more or less at a
 * single sample does not read as growth.
 */
export const RSS_WINDOW = 20;
/** The first picture's time; each next one is a minute later (a new legend each time). */
export const FIRST_TAKEN_AT = Date.parse('2026-11-23T10:15:00+01:00');
export const BENCH_APPLIANCE = { id: 'bench', timezone: 'Europe/Paris' } as const;

const outputSchema = z.object({ name: z.string(), width: z.number(), height: z.number(), bytes: z.number() });

/** What the worker prints; the bench parses it with this schema. */
export const workerReportSchema = z.object({
  /** Milliseconds per picture, processing and writing, in order. */
  times: z.array(z.number()),
  /** Median RSS over a window of pictures (1-based, inclusive). */
  rssSettled: z.object({ from: z.number(), to: z.number(), bytes: z.number() }),
  rssEnd: z.object({ from: z.number(), to: z.number(), bytes: z.number() }),
  peakRssBytes: z.number(),
  /** The first picture, to check the work was the expected one. */
  first: z.object({
    rewritten: z.boolean(),
    outputs: z.array(outputSchema),
    exifTakenAt: z.number().nullable(),
    luminance: z.number().nullable(),
    rejection: z.string().nullable(),
    warnings: z.array(z.string()),
  }),
});
export type WorkerReport = z.infer<typeof workerReportSchema>;
export type OutputFile = z.infer<typeof outputSchema>;

async function main(argv: readonly string[]): Promise<void> {
  const [configFile, input, outDir, count] = argv;
  const pictures = Number(count);
  if (!configFile || !input || !outDir || !Number.isInteger(pictures) || pictures < 1) {
    throw new Error('usage: pipeline.worker.js CONFIG INPUT OUTDIR PICTURES');
  }
  configureSharp();
  const source = parseConfig(await fs.readFile(configFile, 'utf8'), configFile).config.sources[0];
  if (!source) throw new Error(`${configFile} has no source`);
  const pipeline = new PicturePipeline({ appliance: () => BENCH_APPLIANCE, log: silentLogger() });

  const times: number[] = [];
  const rss: number[] = [];
  let first: WorkerReport['first'] | null = null;
  for (let i = 0; i < pictures; i++) {
    const started = process.hrtime.bigint();
    const processed = await pipeline.process(input, { source, takenAt: FIRST_TAKEN_AT + i * 60_000 }, path.join(outDir, `.rewritten-${i}.jpg`));
    const files = await store(outDir, `p${String(i).padStart(4, '0')}`, processed);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    // Not timed: checking the first picture, and removing the files so the disk stays flat.
    if (i === 0) first = await describe(processed, files);
    await Promise.all(files.map((f) => fs.rm(f.file)));
    rss.push(process.memoryUsage().rss);
  }
  const window = (from: number, to: number) => ({ from: from + 1, to, bytes: median(rss.slice(from, to)) });
  const report: WorkerReport = {
    times,
    rssSettled: window(Math.min(10, pictures - 1), Math.min(10 + RSS_WINDOW, pictures)),
    rssEnd: window(Math.max(0, pictures - RSS_WINDOW), pictures),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    first: first!,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** As `PictureStore.commit` does: the stored picture (written by the pipeline) moved to its name, then every size side by side. */
async function store(dir: string, base: string, processed: ProcessedPicture): Promise<{ name: string; file: string }[]> {
  const stored = { name: 'stored', file: path.join(dir, `${base}.jpg`) };
  await fs.rename(processed.master, stored.file);
  const sizes = processed.derivatives.map(({ kind, data }) => ({ name: kind, file: path.join(dir, `${base}.${kind}.jpg`), data }));
  await Promise.all(sizes.map((s) => fs.writeFile(s.file, s.data, { mode: 0o640 })));
  return [stored, ...sizes.map(({ name, file }) => ({ name, file }))];
}

async function describe(processed: ProcessedPicture, files: readonly { name: string; file: string }[]): Promise<WorkerReport['first']> {
  const outputs = await Promise.all(
    files.map(async ({ name, file }) => {
      const { width, height } = await sharp(file).metadata();
      return { name, width, height, bytes: (await fs.stat(file)).size };
    }),
  );
  const { metrics } = processed;
  return {
    rewritten: processed.rewritten,
    outputs,
    exifTakenAt: metrics.exifTakenAt,
    luminance: metrics.luminance,
    rejection: metrics.rejection?.code ?? null,
    warnings: processed.warnings,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return 0;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
