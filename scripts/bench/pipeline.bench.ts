/**
 * The picture pipeline (sharp) against ImageMagick doing the same work, on a
 * realistic 24 MP camera JPEG: the stored picture rewritten with two privacy masks,
 * then thumb, preview, their watermarked twins, the video frame and the public
 * picture, with legend and watermark where the plan puts them, plus sha256, mean
 * and EXIF. ImageMagick is what Webcampak used; the issue asks for a median under
 * 1 s per picture, at least 5x faster than ImageMagick, a peak RSS under 300 MB and
 * no memory growth over 200 pictures.
 *
 * Ours runs in a child process started as systemd starts the daemon
 * (MALLOC_ARENA_MAX=2), so its RSS is the pipeline's alone, and writes every output
 * as the daemon does. ImageMagick gets a fair chance: one `convert` per picture,
 * decoding once, sizes made in a cascade and kept in mpr: registers (not one process
 * per size as Webcampak did). Both outputs are checked before any figure is printed.
 * Reports only; it never fails on a time.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DateTime } from 'luxon';
import sharp from 'sharp';
import { parseConfig } from '../../daemon/config/load';
import { mulberry32 } from '../../daemon/capture/testpattern/noise';
import type { SourceConfig } from '../../daemon/config/schema';
import {
  legendFontSize,
  legendText,
  overlayMargin,
  planGeometry,
  planOutputs,
  watermarkSize,
  type OutputPlan,
  type Position,
  type Rect,
  type Size,
} from '../../daemon/pipeline/plan';
import { BENCH_APPLIANCE, FIRST_TAKEN_AT, median, workerReportSchema, type OutputFile, type WorkerReport } from './pipeline.worker';
import { envCount } from './env';

const execFileAsync = promisify(execFile);

const INPUT: Size = { width: 6000, height: 4000 };
const LOGO: Size = { width: 600, height: 200 };
const SEED = 0x1a95eb0c;
/** What systemd/lapsebox.service sets for the daemon. */
const WORKER_ENV = { MALLOC_ARENA_MAX: '2' } as const;
const TARGETS = { medianMs: 1000, timesFaster: 5, peakRssMb: 300, growthFraction: 0.05 } as const;
const OUTPUT_NAMES = ['stored', 'thumb', 'preview', 'thumb-wm', 'preview-wm', 'frame', 'public'] as const;

const CONFIG_YAML = `appliance:
  id: bench
  timezone: Europe/Paris
storage:
  dataDir: ./data
sources:
  - id: north-tower
    name: North tower
    camera: { driver: testpattern, width: ${INPUT.width}, height: ${INPUT.height} }
    image:
      privacyMasks:
        - { left: 100, top: 200, width: 300, height: 200 }
        - { left: 4000, top: 2500, width: 800, height: 600 }
      legend: { text: "{source} {date} {time}", position: bottom-left }
      watermark: { file: logo.png, position: bottom-right, opacity: 0.6 }
    public: { enabled: true, width: 1280 }
`;

interface Bench {
  /** Pictures ours processes (LAPSEBOX_BENCH_PICTURES) and ImageMagick runs (LAPSEBOX_BENCH_IM_RUNS). */
  pictures: number;
  imRuns: number;
  dir: string;
  input: { file: string; bytes: number };
  logo: string;
  configFile: string;
  source: SourceConfig;
}

interface ImageMagick {
  bin: string;
  version: string;
  limits: string;
}

interface ImResult {
  times: number[];
  outputs: OutputFile[];
  mean: number;
  exif: string;
}

export async function run(): Promise<void> {
  const counts = { pictures: envCount('LAPSEBOX_BENCH_PICTURES', 200), imRuns: envCount('LAPSEBOX_BENCH_IM_RUNS', 10) };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lapsebox-bench-pipeline-'));
  try {
    const bench = await prepare(dir, counts);
    console.log(`input: ${INPUT.width}x${INPUT.height} JPEG, ${mbText(bench.input.bytes)} (seeded noise at four scales, quality 92, EXIF Canon EOS 90D); watermark ${LOGO.width}x${LOGO.height} PNG`);
    console.log(`ours: ${bench.pictures} pictures in a child process...`);
    const ours = await runOurs(bench);
    checkOurs(ours, bench);
    const im = await findImageMagick();
    let reference: ImResult | null = null;
    if (im) {
      console.log(`ImageMagick: ${bench.imRuns} runs...`);
      reference = await runImageMagick(im, bench);
    }
    printReport(bench, ours, im, reference);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- input

async function prepare(dir: string, counts: Pick<Bench, 'pictures' | 'imRuns'>): Promise<Bench> {
  const input = path.join(dir, 'camera.jpg');
  const logo = path.join(dir, 'logo.png');
  await makeCameraPicture(input);
  await makeLogo(logo);
  const configFile = path.join(dir, 'lapsebox.yaml');
  await fs.writeFile(configFile, CONFIG_YAML);
  const source = parseConfig(CONFIG_YAML, configFile).config.sources[0];
  if (!source) throw new Error('the bench configuration has no source');
  return { ...counts, dir, input: { file: input, bytes: (await fs.stat(input)).size }, logo, configFile, source };
}

/**
 * A picture that compresses like a real 24 MP shot (about 9.5 MB at quality 92):
 * noise at several scales, from broad shapes to sensor grain, summed around mid-grey.
 */
async function makeCameraPicture(file: string): Promise<void> {
  const random = mulberry32(SEED);
  const { width, height } = INPUT;
  const pixels = Buffer.alloc(width * height * 3, 128);
  for (const [w, h, amplitude] of [[24, 16, 120], [150, 100, 60], [1000, 666, 40]] as const) {
    const layer = await sharp(noise(w * h * 3, amplitude, random), { raw: { width: w, height: h, channels: 3 } })
      .resize(width, height, { fit: 'fill', kernel: 'cubic' })
      .raw()
      .toBuffer();
    for (let i = 0; i < pixels.length; i++) pixels[i] = clampByte(pixels[i]! + layer[i]! - 128);
  }
  for (let i = 0; i < pixels.length; i++) pixels[i] = clampByte(pixels[i]! + (random() * 2 - 1) * 14);
  await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 92 })
    .withExif({ IFD0: { Make: 'Canon', Model: 'EOS 90D' }, IFD2: { DateTimeOriginal: '2026:11:23 10:15:00' } })
    .toFile(file);
}

/** Random bytes around 128, `amplitude` either way. */
function noise(length: number, amplitude: number, random: () => number): Buffer {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = clampByte(128 + (random() * 2 - 1) * amplitude);
  return data;
}

/** A logo with transparency: a translucent rounded band, a disc and a word. */
async function makeLogo(file: string): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${LOGO.width}" height="${LOGO.height}">
  <rect x="10" y="10" width="580" height="180" rx="40" fill="#1e64c8" fill-opacity="0.75"/>
  <circle cx="100" cy="100" r="60" fill="#ffffff"/><circle cx="100" cy="100" r="30" fill="#1e64c8"/>
  <text x="185" y="132" font-family="DejaVu Sans" font-weight="bold" font-size="88" fill="#ffffff">lapse</text>
</svg>`;
  await sharp(Buffer.from(svg)).ensureAlpha().png().toFile(file);
}


// ---------------------------------------------------------------- ours

async function runOurs(bench: Bench): Promise<WorkerReport> {
  const worker = path.join(__dirname, 'pipeline.worker.js');
  const outDir = path.join(bench.dir, 'ours');
  await fs.mkdir(outDir);
  const { stdout } = await execFileAsync(process.execPath, [worker, bench.configFile, bench.input.file, outDir, String(bench.pictures)], {
    env: { ...process.env, ...WORKER_ENV },
    maxBuffer: 16 * 1024 * 1024,
  });
  return workerReportSchema.parse(JSON.parse(stdout));
}

/** The sizes the plan asks for, with the stored picture first. */
function expectedOutputs(source: SourceConfig): { name: string; size: Size }[] {
  const stored = planGeometry(source.image, INPUT).size;
  return [{ name: 'stored', size: stored }, ...planOutputs(source, stored).map((p) => ({ name: p.kind, size: p.size }))];
}

function checkOurs(report: WorkerReport, bench: Bench): void {
  const { first } = report;
  const problems = [
    ...checkOutputs(first.outputs, expectedOutputs(bench.source)),
    ...(first.outputs.length - 1 === 6 ? [] : [`${first.outputs.length - 1} sizes instead of 6`]),
    ...(first.rewritten ? [] : ['the stored picture was not rewritten (masks)']),
    ...(first.exifTakenAt === null ? ['the EXIF date was not read'] : []),
    ...(first.rejection ? [`the picture was rejected (${first.rejection})`] : []),
    ...first.warnings,
  ];
  if (report.times.length !== bench.pictures) problems.push(`${report.times.length} pictures timed instead of ${bench.pictures}`);
  if (problems.length > 0) throw new Error(`our pipeline did not do the expected work:\n  - ${problems.join('\n  - ')}`);
}

function checkOutputs(outputs: readonly OutputFile[], expected: readonly { name: string; size: Size }[]): string[] {
  return expected.flatMap(({ name, size }) => {
    const made = outputs.find((o) => o.name === name);
    if (!made) return [`no ${name}`];
    if (made.width !== size.width || made.height !== size.height) return [`${name} is ${made.width}x${made.height}, expected ${size.width}x${size.height}`];
    return made.bytes > 0 ? [] : [`${name} is empty`];
  });
}

// ---------------------------------------------------------------- ImageMagick

/** /usr/bin/convert first: /usr/local/bin/convert may be a stand-in that only passes calls on to it. */
async function findImageMagick(): Promise<ImageMagick | null> {
  const dirs = (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean);
  const candidates = ['/usr/bin/convert', ...['magick', 'convert'].flatMap((name) => dirs.map((d) => path.join(d, name)))];
  for (const bin of new Set(candidates)) {
    if (!executable(bin)) continue;
    const version = await execFileAsync(bin, ['-version'], { timeout: 10_000 }).then(
      ({ stdout }) => /^Version: ImageMagick (\S+ \S+)/.exec(stdout)?.[1],
      () => undefined,
    );
    if (!version) continue;
    const { stdout } = await execFileAsync(bin, ['-list', 'resource'], { timeout: 10_000 });
    const limit = (name: string): string => new RegExp(`^\\s*${name}: (.+)$`, 'm').exec(stdout)?.[1]?.trim() ?? '?';
    return { bin, version, limits: `memory ${limit('Memory')}, map ${limit('Map')}, ${limit('Thread')} threads` };
  }
  return null;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function runImageMagick(im: ImageMagick, bench: Bench): Promise<ImResult> {
  const times: number[] = [];
  let first: Omit<ImResult, 'times'> | null = null;
  for (let k = 0; k < bench.imRuns; k++) {
    const dir = path.join(bench.dir, `imagemagick-${k}`);
    await fs.mkdir(dir);
    const command = imCommand(bench, dir, FIRST_TAKEN_AT + k * 60_000);
    const started = process.hrtime.bigint();
    const { stdout } = await execFileAsync(im.bin, command.args, { maxBuffer: 1024 * 1024 });
    sha256(await fs.readFile(command.stored));
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (k === 0) first = await checkImageMagick(command.outputs, stdout, bench.source);
    await fs.rm(dir, { recursive: true });
  }
  return { times, ...first! };
}

const GRAVITY: Record<Position, string> = {
  'top-left': 'NorthWest',
  top: 'North',
  'top-right': 'NorthEast',
  center: 'Center',
  'bottom-left': 'SouthWest',
  bottom: 'South',
  'bottom-right': 'SouthEast',
};

/**
 * One convert for one picture: masks filled on the decoded picture, the stored
 * picture written, then scaled down in place from size to size into mpr:
 * registers, each output laid over and written from its register; outputs that are
 * the same picture (preview-wm and public) are encoded from one image.
 */
function imCommand(bench: Bench, dir: string, takenAt: number): { args: string[]; stored: string; outputs: { name: string; file: string; size: Size }[] } {
  const { source } = bench;
  const { image } = source;
  const geometry = planGeometry(image, INPUT);
  const plans = planOutputs(source, geometry.size);
  const file = (name: string): string => path.join(dir, `${name}.jpg`);
  const register = (s: Size): string => `mpr:s${s.width}x${s.height}`;

  const args = [bench.input.file, '-auto-orient', '-fill', 'black', ...geometry.masks.flatMap((m) => ['-draw', rectangle(m)])];
  args.push('-quality', String(image.quality), '-write', file('stored'));
  const sizes = [...new Map(plans.map((p) => [register(p.size), p.size])).values()].sort((a, b) => b.width - a.width);
  for (const s of sizes) args.push('-resize', `${s.width}x${s.height}!`, '-write', register(s));
  args.push('+delete');
  if (image.watermark) {
    args.push('(', bench.logo, '-channel', 'A', '-evaluate', 'multiply', String(image.watermark.opacity), '+channel', '-write', 'mpr:logo', '+delete', ')');
  }
  const text = image.legend ? legendText(image.legend.text, { source, applianceId: BENCH_APPLIANCE.id, at: takenAt, timezone: BENCH_APPLIANCE.timezone }) : '';
  for (const group of sameOutputs(plans)) {
    const { size } = group[0]!;
    args.push('(', register(size));
    if (group[0]!.legend && image.legend) args.push(...imLegend(text, image.legend.position, size));
    if (group[0]!.watermark && image.watermark) args.push(...imWatermark(image.watermark, size));
    args.push('-quality', String(group[0]!.quality), ...group.flatMap((p) => ['-write', file(p.kind)]), '+delete', ')');
  }
  // The mean and the EXIF date, from the smallest size; the last image goes to null:.
  args.push(register(sizes[sizes.length - 1]!), '-format', '%[fx:mean] %[EXIF:DateTimeOriginal]\n', '-write', 'info:-', 'null:');
  const outputs = [{ name: 'stored', file: file('stored'), size: geometry.size }, ...plans.map((p) => ({ name: p.kind, file: file(p.kind), size: p.size }))];
  return { args, stored: file('stored'), outputs };
}

/** Plans that make the very same picture, grouped to be encoded from one image. */
function sameOutputs(plans: readonly OutputPlan[]): OutputPlan[][] {
  const groups = new Map<string, OutputPlan[]>();
  for (const p of plans) {
    const key = `${p.size.width}x${p.size.height} ${p.legend} ${p.watermark} ${p.quality}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()];
}

function rectangle(m: Rect): string {
  return `rectangle ${m.left},${m.top} ${m.left + m.width - 1},${m.top + m.height - 1}`;
}

/** White text on a translucent black band, as `legendLayers` draws it, at the same type size and margin. */
function imLegend(text: string, position: Position, size: Size): string[] {
  const margin = overlayMargin(size.width);
  return ['-gravity', GRAVITY[position], '-fill', 'white', '-undercolor', '#0000008C', '-font', 'DejaVu-Sans-Bold', '-pointsize', String(legendFontSize(size.width)),
    '-annotate', `+${margin}+${margin}`, text.replace(/%/g, '%%')];
}

/** The faded logo scaled as `Watermarks.layers` scales it, laid at the same corner. */
function imWatermark(watermark: { position: Position; scale: number }, size: Size): string[] {
  const mark = watermarkSize(size, LOGO, watermark.scale);
  const margin = overlayMargin(size.width);
  return ['(', 'mpr:logo', '-resize', `${mark.width}x${mark.height}!`, ')', '-gravity', GRAVITY[watermark.position], '-geometry', `+${margin}+${margin}`, '-composite'];
}

async function checkImageMagick(expected: readonly { name: string; file: string; size: Size }[], stdout: string, source: SourceConfig): Promise<Omit<ImResult, 'times'>> {
  const outputs = await Promise.all(
    expected.map(async ({ name, file }) => {
      const data = await fs.readFile(file).catch(() => Buffer.alloc(0));
      const { width = 0, height = 0 } = data.length > 0 ? await sharp(data).metadata() : {};
      return { name, width, height, bytes: data.length };
    }),
  );
  const [meanText = '', ...exif] = stdout.trim().split(' ');
  const mean = Number(meanText);
  const problems = checkOutputs(outputs, expectedOutputs(source));
  if (meanText === '' || !Number.isFinite(mean)) problems.push(`no mean in its output ("${stdout.trim()}")`);
  if (problems.length > 0) throw new Error(`ImageMagick did not do the expected work:\n  - ${problems.join('\n  - ')}`);
  return { outputs, mean, exif: exif.join(' ') };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------- report

function printReport(bench: Bench, ours: WorkerReport, im: ImageMagick | null, reference: ImResult | null): void {
  printOutputs(ours, reference);
  console.log(`\nours: ${bench.pictures} pictures, one at a time, in a child process with MALLOC_ARENA_MAX=${WORKER_ENV.MALLOC_ARENA_MAX} (as systemd/lapsebox.service sets it);`);
  console.log('  each timed from reading the camera file to every output written (fs.writeFile, no fsync)');
  if (im && reference) {
    const policy = ['/etc/ImageMagick-6/policy.xml', '/etc/ImageMagick-7/policy.xml'].find((f) => existsSync(f));
    console.log(`ImageMagick ${im.version} (${im.bin}): one process per picture (mpr: registers, resize cascade), ${bench.imRuns} runs, sha256 included;`);
    console.log(`  limits as installed${policy ? ` (${policy})` : ''}: ${im.limits}`);
  } else {
    console.log('ImageMagick: not found, so no reference. Install it with: sudo apt-get install -y imagemagick');
  }
  console.log('');
  printTable(['', 'ours', 'ImageMagick', 'target', ''], comparison(ours, reference));
}

function printOutputs(ours: WorkerReport, reference: ImResult | null): void {
  const cell = (outputs: readonly OutputFile[] | undefined, name: string): string => {
    const o = outputs?.find((x) => x.name === name);
    return o ? `${o.width}x${o.height} ${sizeText(o.bytes)}` : '-';
  };
  console.log('');
  printTable(['output', 'ours', 'ImageMagick'], OUTPUT_NAMES.map((name) => [name, cell(ours.first.outputs, name), cell(reference?.outputs, name)]));
  const exif = ours.first.exifTakenAt === null ? '-' : DateTime.fromMillis(ours.first.exifTakenAt, { zone: BENCH_APPLIANCE.timezone }).toFormat('yyyy:LL:dd HH:mm:ss');
  console.log(`mean (0-255)  ours ${ours.first.luminance?.toFixed(1) ?? '-'} (Rec. 709 luminance), ImageMagick ${reference ? (reference.mean * 255).toFixed(1) : '-'} (mean of channels)`);
  console.log(`EXIF date     ours ${exif}, ImageMagick ${reference?.exif || '-'}`);
}

function comparison(ours: WorkerReport, reference: ImResult | null): string[][] {
  const ourMedian = median(ours.times);
  const imMedian = reference ? median(reference.times) : null;
  const ratio = imMedian === null ? null : imMedian / ourMedian;
  const growth = ours.rssEnd.bytes - ours.rssSettled.bytes;
  const growthLimit = ours.rssSettled.bytes * TARGETS.growthFraction;
  const im = (f: (r: ImResult) => string): string => (reference ? f(reference) : '-');
  return [
    ['median ms/picture', ms(ourMedian), im((r) => ms(median(r.times))), `< ${TARGETS.medianMs} ms`, verdict(ourMedian < TARGETS.medianMs)],
    ['p90 ms/picture', ms(percentile(ours.times, 0.9)), im((r) => ms(percentile(r.times, 0.9))), '', ''],
    ['pictures/minute', perMinute(ours.times), im((r) => perMinute(r.times)), '', ''],
    ['ImageMagick / ours', ratio === null ? '-' : `${ratio.toFixed(1)}x faster`, '', `>= ${TARGETS.timesFaster}x faster`, ratio === null ? 'not measured' : verdict(ratio >= TARGETS.timesFaster)],
    ['peak RSS MB', mb(ours.peakRssBytes), '', `< ${TARGETS.peakRssMb} MB`, verdict(ours.peakRssBytes < TARGETS.peakRssMb * 1024 * 1024)],
    [`RSS MB, median of pictures ${ours.rssSettled.from}-${ours.rssSettled.to}`, mb(ours.rssSettled.bytes), '', '', ''],
    [`RSS MB, median of pictures ${ours.rssEnd.from}-${ours.rssEnd.to}`, mb(ours.rssEnd.bytes), '', '', ''],
    [
      `RSS growth MB, first to last window`,
      `${growth >= 0 ? '+' : '-'}${mb(Math.abs(growth))}`,
      '',
      `none (within ${TARGETS.growthFraction * 100}%)`,
      verdict(growth <= growthLimit),
    ],
  ];
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 || i >= 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(format(row));
}

function verdict(met: boolean): string {
  return met ? 'met' : 'not met';
}


/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** Throughput over the whole run: pictures are processed one after another. */
function perMinute(times: readonly number[]): string {
  return ((60_000 * times.length) / times.reduce((a, b) => a + b, 0)).toFixed(1);
}

function ms(value: number): string {
  return value.toFixed(0);
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

function mbText(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function sizeText(bytes: number): string {
  return bytes >= 1024 * 1024 ? mbText(bytes) : `${(bytes / 1024).toFixed(0)} KB`;
}

if (require.main === module) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}
