/**
 * The picture pipeline (sharp): every capture is decoded once, turned, cut and
 * masked before anything is stored, then scaled down in a chain (24 MP to the
 * frame width once, then smaller sizes from that) into every size the box
 * serves, with legend and watermark where they belong, and measured. At most one
 * picture is processed at a time, so memory stays flat on a small box; inside a
 * picture, encoding the stored picture and making the sizes run side by side on
 * two cores, up to 12 MP (one after the other above: issue 23's memory budget).
 *
 * Decisions come from `plan.ts`; this file only carries them out.
 */
import fs from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import sharp, { type Sharp } from 'sharp';
import type { SourceConfig } from '../config/schema';
import type { Logger } from '../logger';
import { readExif, type ExifFacts } from './exif';
import { Watermarks, WatermarkUnavailableError, legendOverlay, type Overlay } from './overlays';
import { Limiter } from '../limiter';
import { startsWithSoi } from '../files/jpeg';
import { MAX_PIXELS, THUMB_WIDTH, judge, legendText, meanLuminance, planGeometry, planOutput, planOutputs, planPublicWidth, tooLarge, type Geometry, type OutputPlan, type Rect, type Size } from './plan';
import type { DerivativeKind, Rejection } from '../domain/pictures';
import { messageOf } from '../error-causes';

export { WatermarkUnavailableError } from './overlays';

/**
 * Above this many pixels the stored picture is rewritten before the sizes are made,
 * not beside them (issue 23). Measured at 24 MP with a privacy mask, MALLOC_ARENA_MAX=2:
 * peak RSS 217 MB side by side, 186 MB one after the other, for 400 ms against 550 ms
 * a picture on two cores; at 12 MP and below the two together stay small.
 */
const SIDE_BY_SIDE_MAX_PIXELS = 12_000_000;

/** Larger files are not even read: no camera writes a 200 MB JPEG. */
const MAX_INPUT_BYTES = 200 * 1024 * 1024;

export type PipelineErrorCode = 'empty' | 'not-jpeg' | 'unreadable';

/** The input is not a picture at all; there is nothing worth keeping. */
export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    readonly code: PipelineErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface PictureMetrics {
  width: number;
  height: number;
  /** Bytes of the stored picture. */
  size: number;
  sha256: string;
  /** When the camera says it took the picture (EXIF), if it says. */
  exifTakenAt: number | null;
  /** Mean luminance 0-255 of the stored picture (masks included, legend and watermark not). */
  luminance: number | null;
  rejection: Rejection | null;
}

export interface ProcessedPicture {
  /**
   * The file to store: the camera's own file when nothing had to change
   * (`rewritten` false), else the rewritten picture at the `output` path given.
   */
  master: string;
  rewritten: boolean;
  derivatives: { kind: DerivativeKind; data: Buffer }[];
  metrics: PictureMetrics;
  /** Problems a person should fix that did not stop the picture (crop outside, watermark missing). */
  warnings: string[];
}

export interface PictureContext {
  source: SourceConfig;
  /** When the picture was taken (the appliance clock), for the legend. */
  takenAt: number;
}

export class PicturePipeline {
  readonly #appliance: () => { id: string; timezone: string };
  readonly #log: Logger;
  readonly #limit: Limiter;
  readonly #watermarks = new Watermarks();

  /** `appliance` is read at each picture, so a reload that changes the time zone applies at once. */
  constructor(deps: { appliance: () => { id: string; timezone: string }; log: Logger; concurrency?: number }) {
    this.#appliance = deps.appliance;
    this.#log = deps.log;
    this.#limit = new Limiter(deps.concurrency ?? 1);
  }

  /**
   * Processes a picture the camera wrote to `file`; a rewritten picture goes to
   * `output` (removed again on failure). Pictures are read and written as files,
   * never held whole in memory. Throws PipelineError when the file is not a JPEG
   * at all; a JPEG that cannot be used (corrupt, too large, too small) comes back
   * as captured, with a rejection and no sizes.
   */
  process(file: string, context: PictureContext, output: string): Promise<ProcessedPicture> {
    return this.#limit.run(() => this.#process(file, context, output));
  }

  /**
   * Makes one size again from a stored picture (already turned, cut and masked), for
   * pictures stored before a size existed or whose file was lost. Throws
   * WatermarkUnavailableError when the size needs a watermark that cannot be read.
   */
  render(storedFile: string, context: PictureContext & { size: Size }, kind: DerivativeKind): Promise<Buffer> {
    return this.#renderOne(storedFile, context, planOutput(context.source, context.size, kind));
  }

  /**
   * The public picture at one of `public.sizes` (`width`, or the stored picture's
   * width when it is narrower), made from a stored picture like `render` makes the
   * `public` size: same legend, watermark and quality. Throws like `render`.
   */
  renderPublicWidth(storedFile: string, context: PictureContext & { size: Size }, width: number): Promise<Buffer> {
    return this.#renderOne(storedFile, context, planPublicWidth(context.source, context.size, width));
  }

  #renderOne(storedFile: string, context: PictureContext & { size: Size }, plan: OutputPlan): Promise<Buffer> {
    return this.#limit.run(async () => {
      const { outputs } = await this.#outputs(sharp(storedFile, decodeOptions()), [plan], context, null);
      return outputs[0]!.data;
    });
  }

  /**
   * The stored picture at full size with the watermark, for customers who download
   * originals. Not in the one-at-a-time queue of captures: a customer fetching
   * 24 MP originals or a day zip would make every capture wait behind them and miss
   * its slot. The web bounds these itself (web/download-slots.ts).
   */
  async renderWatermarkedOriginal(storedFile: string, context: PictureContext & { size: Size }): Promise<Buffer> {
    const watermark = context.source.image.watermark!;
    const { rect, layers } = await this.#watermarks.overlay(watermark, context.size);
    return sharp(storedFile, decodeOptions())
      .composite(layers.map((l) => ({ ...l, left: rect.left + (l.left ?? 0), top: rect.top + (l.top ?? 0) })))
      .jpeg({ quality: context.source.image.quality, optimiseCoding: false })
      .toBuffer();
  }

  /**
   * Metrics of a picture already stored (found on disk at start-up without its
   * row): it is measured as it is, nothing is rewritten.
   */
  measure(file: string, reject: SourceConfig['image']['reject'] | undefined): Promise<PictureMetrics> {
    return this.#limit.run(async () => {
      const input = await inspect(file);
      const metrics: PictureMetrics = { width: 0, height: 0, size: input.size, sha256: await sha256(file), exifTakenAt: null, luminance: null, rejection: null };
      try {
        const meta = await sharp(file, { limitInputPixels: false }).metadata();
        Object.assign(metrics, { width: meta.width, height: meta.height, exifTakenAt: readExif(meta.exif, this.#appliance().timezone).takenAt });
        metrics.rejection = tooLarge(meta);
        if (metrics.rejection) return metrics;
        // stats() reads its input, not the pipeline's output: measure a thumbnail, not 24 MP.
        const small = await sharp(file, decodeOptions()).resize(THUMB_WIDTH, THUMB_WIDTH, { fit: 'inside', withoutEnlargement: true }).raw().toBuffer({ resolveWithObject: true });
        metrics.luminance = await luminanceOf({ data: small.data, size: small.info, channels: small.info.channels });
        metrics.rejection = reject ? judge({ width: meta.width, height: meta.height, luminance: metrics.luminance }, reject) : null;
      } catch (err) {
        metrics.rejection = { code: 'corrupt', detail: `the picture cannot be decoded: ${cleanMessage(err)}` };
      }
      return metrics;
    });
  }

  async #process(file: string, context: PictureContext, output: string): Promise<ProcessedPicture> {
    const { source } = context;
    const input = await inspect(file);
    const asCaptured = async (rejection: Rejection, size: Size = { width: 0, height: 0 }, exifTakenAt: number | null = null): Promise<ProcessedPicture> => ({
      master: file,
      rewritten: false,
      derivatives: [],
      metrics: { ...size, size: input.size, sha256: await sha256(file), exifTakenAt, luminance: null, rejection },
      warnings: [],
    });
    let meta: sharp.Metadata;
    try {
      meta = await sharp(file, { limitInputPixels: false }).metadata();
    } catch (err) {
      // A JPEG whose header is damaged is still the camera's picture: kept, rejected.
      if (input.jpegSignature) return asCaptured({ code: 'corrupt', detail: `the picture cannot be decoded: ${cleanMessage(err)}` });
      throw new PipelineError('not-jpeg', `not a picture: ${cleanMessage(err)}`);
    }
    if (meta.format !== 'jpeg') throw new PipelineError('not-jpeg', `expected a JPEG picture, got ${meta.format.toUpperCase()}`);
    const exif = readExif(meta.exif, this.#appliance().timezone);
    const captured = (rejection: Rejection) => asCaptured(rejection, { width: meta.width, height: meta.height }, exif.takenAt);

    const large = tooLarge(meta);
    if (large) return captured(large);
    const { minWidth, minHeight } = source.image.reject;
    if (meta.width < minWidth || meta.height < minHeight) {
      return captured({ code: 'too-small', detail: `${meta.width}x${meta.height} is smaller than ${minWidth}x${minHeight} (image.reject.minWidth, minHeight)` });
    }
    const geometry = planGeometry(source.image, { width: meta.width, height: meta.height, orientation: meta.orientation });
    const plans = planOutputs(source, geometry.size);
    const warnings = [...geometry.warnings];

    try {
      // Two decodes: the full-size one rewrites the stored picture as a stream (never
      // the whole picture in memory), the other shrinks on load to the largest size
      // needed and makes every size from there. Side by side, one per core, up to
      // SIDE_BY_SIDE_MAX_PIXELS; one after the other above, where both at once would
      // cost the memory a small box does not have.
      const master = geometry.keepAsCaptured ? Promise.resolve(file) : this.#encodeStored(file, output, geometry, source.image.quality, exif, meta.space === 'cmyk');
      if (geometry.size.width * geometry.size.height > SIDE_BY_SIDE_MAX_PIXELS) await master;
      const sizes = this.#outputs(oriented(file, geometry), plans, context, { masks: geometry.masks, from: geometry.size }, warnings);
      const [stored, made] = await Promise.all([master, sizes]);
      const { luminance } = made;
      const rejection = judge({ ...geometry.size, luminance }, source.image.reject);
      const size = geometry.keepAsCaptured ? input.size : (await fs.stat(stored)).size;
      return {
        master: stored,
        rewritten: !geometry.keepAsCaptured,
        derivatives: made.outputs,
        metrics: { ...geometry.size, size, sha256: await sha256(stored), exifTakenAt: exif.takenAt, luminance, rejection },
        warnings,
      };
    } catch (err) {
      await fs.rm(output, { force: true });
      if (err instanceof WatermarkUnavailableError) throw err;
      return captured({ code: 'corrupt', detail: `the picture cannot be decoded: ${cleanMessage(err)}` });
    }
  }

  /**
   * Every size in `plans` from `base`: scaled down in a chain, each
   * size from the smallest one already made that is large enough, overlays laid
   * on at each size's own scale. Sizes that need a watermark that cannot be read
   * are left out and said in `warnings` (or thrown when `warnings` is not given).
   */
  async #outputs(
    base: Sharp,
    plans: OutputPlan[],
    context: PictureContext,
    masks: { masks: readonly Rect[]; from: Size } | null,
    warnings?: string[],
  ): Promise<{ outputs: { kind: DerivativeKind; data: Buffer }[]; luminance: number }> {
    const { source } = context;
    // Clean pixels at each distinct size, largest first.
    const sizes = distinctSizes(plans.map((p) => p.size));
    const clean = new Map<string, Pixels>();
    let from: Pixels | null = null;
    for (const target of sizes) {
      const pipeline: Sharp = from ? sharp(from.data, { raw: { width: from.size.width, height: from.size.height, channels: from.channels } }) : base.clone();
      const { data, info } = await pipeline.resize(target.width, target.height, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
      // Masks go on the first (largest) size; every smaller size is made from it.
      if (!from && masks) fillMasks(data, target.width, info.channels, scaleMasks(masks.masks, masks.from, target));
      from = { data, size: target, channels: info.channels };
      clean.set(key(target), from);
    }
    const smallest = from!;
    const luminance = await luminanceOf(smallest);

    const text = source.image.legend ? legendText(source.image.legend.text, { source, applianceId: this.#appliance().id, at: context.takenAt, timezone: this.#appliance().timezone }) : '';
    const legendCache = new Map<string, Promise<Overlay>>();
    const outputs: { kind: DerivativeKind; data: Buffer }[] = [];
    let watermarkProblem: string | null = null;
    // Sizes that come out the same (the public picture at the preview's width) are encoded once.
    const rendered = new Map<string, Buffer>();
    for (const plan of plans) {
      const same = `${key(plan.size)}:${plan.legend}:${plan.watermark}:${plan.quality}`;
      const done = rendered.get(same);
      if (done) {
        outputs.push({ kind: plan.kind, data: done });
        continue;
      }
      const pixels = clean.get(key(plan.size))!;
      const overlays: Overlay[] = [];
      if (plan.legend && source.image.legend) {
        const k = key(plan.size);
        if (!legendCache.has(k)) legendCache.set(k, legendOverlay(text, source.image.legend.position, plan.size));
        overlays.push(await legendCache.get(k)!);
      }
      if (plan.watermark && source.image.watermark) {
        try {
          overlays.push(await this.#watermarks.overlay(source.image.watermark, plan.size));
        } catch (err) {
          if (!(err instanceof WatermarkUnavailableError) || !warnings) throw err;
          watermarkProblem = err.message;
          continue;
        }
      }
      const data = await sharp(await laidOver(pixels, overlays), { raw: { width: pixels.size.width, height: pixels.size.height, channels: pixels.channels } })
        // Video frames stay on the box: Huffman optimisation would cost a third of their encoding for nothing.
        .jpeg({ quality: plan.quality, optimiseCoding: plan.kind !== 'frame' })
        .toBuffer();
      rendered.set(same, data);
      outputs.push({ kind: plan.kind, data });
    }
    if (watermarkProblem && warnings) {
      const skipped = plans.filter((p) => p.watermark).map((p) => p.kind);
      warnings.push(`${watermarkProblem}: the watermarked sizes (${skipped.join(', ')}) of this picture were not made`);
    }
    return { outputs, luminance };
  }

  /**
   * The picture to store, rewritten as a stream: upright, rotated, cut, masks
   * blacked out, little EXIF. The masks are a bitwise AND with a black-and-white
   * image of them, made once per geometry: a fraction of what compositing
   * rectangles over 24 MP costs.
   */
  async #encodeStored(input: string, output: string, geometry: Geometry, quality: number, exif: ExifFacts, cmyk: boolean): Promise<string> {
    let out = oriented(input, geometry);
    if (cmyk) out = out.toColourspace('srgb');
    if (geometry.masks.length > 0) {
      const { width, height } = geometry.size;
      out = out.boolean(this.#maskImage(geometry), 'and', { raw: { width, height, channels: 1 } });
    }
    // Huffman optimisation would cost three times the encoding time for 4% of size.
    await out.jpeg({ quality, optimiseCoding: false }).withExif(carriedExif(exif)).toFile(output);
    return output;
  }

  /**
   * One byte per pixel, 0 under a mask and 255 elsewhere, kept while the geometry
   * stays the same (24 MB at 24 MP): libvips reads it in place, so processing a
   * picture allocates nothing for it.
   */
  #maskImage(geometry: Geometry): Buffer {
    const k = `${key(geometry.size)}:${JSON.stringify(geometry.masks)}`;
    let image = this.#masks.get(k);
    if (!image) {
      image = Buffer.alloc(geometry.size.width * geometry.size.height, 255);
      fillMasks(image, geometry.size.width, 1, geometry.masks);
      this.#masks.set(k, image);
      // One per source is the usual case; a few more cover sources and reloads.
      if (this.#masks.size > 4) this.#masks.delete(this.#masks.keys().next().value!);
    }
    return image;
  }

  readonly #masks = new Map<string, Buffer>();

  /** For the log: pipeline warnings are per picture; say each once an hour per source. */
  warnOnce(sourceId: string, warnings: readonly string[], now: number = Date.now()): void {
    for (const warning of warnings) {
      const k = `${sourceId}\n${warning}`;
      const last = this.#said.get(k);
      if (last !== undefined && now - last < 3_600_000) continue;
      this.#said.set(k, now);
      this.#log.warn({ source: sourceId }, warning);
    }
  }

  readonly #said = new Map<string, number>();
}

function decodeOptions(): sharp.SharpOptions {
  // 'error' stops on a truncated picture but not on the harmless warnings some IP cameras trigger.
  return { failOn: 'error', limitInputPixels: MAX_PIXELS };
}

/** The camera's picture turned upright, rotated and cut: the start of every size. */
function oriented(input: string, geometry: Geometry): Sharp {
  let image = sharp(input, decodeOptions()).autoOrient();
  if (geometry.rotate !== 0) image = image.rotate(geometry.rotate);
  if (geometry.crop) image = image.extract(geometry.crop);
  return image;
}

/**
 * Masks scaled to a smaller size, grown by the reach of the scaling (JPEG blocks
 * on load, then the resampling kernel), so that no pixel of a size ever carries
 * anything of what a mask hides.
 */
export function scaleMasks(masks: readonly Rect[], from: Size, to: Size): Rect[] {
  const sx = to.width / from.width;
  const sy = to.height / from.height;
  const grow = 6;
  return masks.map((m) => {
    const left = Math.max(0, Math.floor(m.left * sx) - grow);
    const top = Math.max(0, Math.floor(m.top * sy) - grow);
    const right = Math.min(to.width, Math.ceil((m.left + m.width) * sx) + grow);
    const bottom = Math.min(to.height, Math.ceil((m.top + m.height) * sy) + grow);
    return { left, top, width: right - left, height: bottom - top };
  });
}

type Pixels = { data: Buffer; size: Size; channels: 1 | 2 | 3 | 4 };

/**
 * A copy of `pixels` with the overlays laid on. Each overlay is composited on its
 * own small area and pasted back: compositing over the whole picture would cost
 * a pass over every pixel for a legend that covers 2% of them.
 */
async function laidOver(pixels: Pixels, overlays: readonly Overlay[]): Promise<Buffer> {
  if (overlays.length === 0) return pixels.data;
  const out = Buffer.from(pixels.data);
  const { channels } = pixels;
  const rowBytes = pixels.size.width * channels;
  for (const { rect, layers } of overlays) {
    const area = Buffer.alloc(rect.width * rect.height * channels);
    for (let y = 0; y < rect.height; y++) {
      const from = (rect.top + y) * rowBytes + rect.left * channels;
      out.copy(area, y * rect.width * channels, from, from + rect.width * channels);
    }
    const done = await sharp(area, { raw: { width: rect.width, height: rect.height, channels } }).composite(layers).raw().toBuffer({ resolveWithObject: true });
    // Compositing adds an alpha band; the picture has none to keep.
    const step = done.info.channels;
    for (let y = 0; y < rect.height; y++) {
      const to = (rect.top + y) * rowBytes + rect.left * channels;
      if (step === channels) {
        done.data.copy(out, to, y * rect.width * step, (y + 1) * rect.width * step);
        continue;
      }
      for (let x = 0; x < rect.width; x++) {
        const s = (y * rect.width + x) * step;
        for (let c = 0; c < channels; c++) out[to + x * channels + c] = done.data[s + c]!;
      }
    }
  }
  return out;
}

/** Mean luminance of small pixels (a thumbnail: stats() reads every pixel it is given). */
async function luminanceOf(pixels: Pixels): Promise<number> {
  const stats = await sharp(pixels.data, { raw: { width: pixels.size.width, height: pixels.size.height, channels: pixels.channels } }).stats();
  return meanLuminance(stats.channels.map((c) => c.mean));
}

/** Blacks out each mask, straight in the pixels: exact, and nothing to composite. */
export function fillMasks(data: Buffer, width: number, channels: number, masks: readonly Rect[]): void {
  // Black, opaque where there is an alpha band.
  const pixel = Buffer.from(channels === 1 ? [0] : channels === 2 ? [0, 255] : channels === 3 ? [0, 0, 0] : [0, 0, 0, 255]);
  for (const m of masks) {
    for (let y = m.top; y < m.top + m.height; y++) {
      const start = (y * width + m.left) * channels;
      data.fill(pixel, start, start + m.width * channels);
    }
  }
}

/** The EXIF kept in a rewritten picture: who took it and when, nothing that could show what masks hide (no thumbnail). */
function carriedExif(exif: ExifFacts): sharp.Exif {
  const ifd0: Record<string, string> = { Software: 'lapsebox' };
  if (exif.make) ifd0['Make'] = exif.make;
  if (exif.model) ifd0['Model'] = exif.model;
  const out: sharp.Exif = { IFD0: ifd0 };
  if (exif.dateTimeOriginal) out.IFD2 = { DateTimeOriginal: exif.dateTimeOriginal };
  return out;
}

/** Size and first bytes of a camera file; PipelineError when it is empty or absurdly large. */
async function inspect(file: string): Promise<{ size: number; jpegSignature: boolean }> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) throw new PipelineError('empty', 'the picture file is empty (0 bytes)');
    if (size > MAX_INPUT_BYTES) throw new PipelineError('unreadable', `the picture file is ${Math.round(size / 1048576)} MB, above the limit of ${MAX_INPUT_BYTES / 1048576} MB`);
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    return { size, jpegSignature: startsWithSoi(head) };
  } finally {
    await handle.close();
  }
}

/** SHA-256 of a file, read in chunks: a 10 MB picture is never one buffer. */
async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function distinctSizes(sizes: Size[]): Size[] {
  const seen = new Map<string, Size>();
  for (const s of sizes) seen.set(key(s), s);
  return [...seen.values()].sort((a, b) => b.width * b.height - a.width * a.height);
}

function key(s: Size): string {
  return `${s.width}x${s.height}`;
}

/** libvips messages carry a trailing newline and sometimes a second line of detail. */
function cleanMessage(err: unknown): string {
  const message = messageOf(err);
  const parts = message
    .split(/\n|: (?=VipsJpeg)/)
    .map((l) => l.trim().replace(/^VipsJpeg: /, ''))
    .filter(Boolean);
  return [...new Set(parts)].join('; ');
}
