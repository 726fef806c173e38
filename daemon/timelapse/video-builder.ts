/**
 * Builds one video: selects the frames, checks their files (a frame lost or broken
 * since it was indexed is made again from its picture, or skipped and reported),
 * has ffmpeg encode them into a temporary file beside the final one, reads it back
 * with ffprobe, makes the poster, then renames both into place and indexes the
 * video. A failed or cancelled build leaves no partial file and no index row.
 */
import type { Outbox } from '../sync/outbox';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DateTime } from 'luxon';
import type { Config, SourceConfig } from '../config/schema';
import type { DataLayout } from '../files/layout';
import { commitFile, tempPathFor } from '../files/atomic';
import { jpegInfo } from '../files/jpeg';
import { fileLuminance, writePoster } from '../pipeline/sharp';
import type { Logger } from '../logger';
import type { PictureSizes } from '../storage/picture-sizes';
import type { PicturesRepository } from '../store/pictures.repository';
import type { NewVideo, VideosRepository } from '../store/videos.repository';
import type { Video, VideoRendition } from '../domain/videos';
import { invalid } from '../errors';
import { selectFrames } from './frames';
import { frameFactors, gainCommands } from './evening';
import { concatList, encodeArgs, encoderFor, outputSize, phoneArgs, phoneSize, slowedRate, type EncodeSettings, type PhoneSettings, type Size, type VideoEncoder } from './encode-args';
import { EncodeError, type FfmpegRunner } from './ffmpeg.runner';
import type { VideoSpec } from './video-spec';
import { messageOf } from '../error-causes';
import { Limiter } from '../limiter';

export interface SkippedFrame {
  picture: number;
  takenAt: string;
  reason: string;
}

export type BuildOutcome =
  | {
      status: 'built';
      video: Video;
      /** Pictures the period and filters matched, before thinning. */
      matched: number;
      skipped: SkippedFrame[];
      /** Frames made again from their picture because the file was missing or broken. */
      remade: number;
      encoder: VideoEncoder;
      encodeMs: number;
    }
  | { status: 'skipped'; reason: string; matched: number };

export interface BuildOptions {
  /** The file name, without extension: `2026-11-22`, `custom-12`. */
  label: string;
  jobId?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((percent: number) => void) | undefined;
  onStart?: ((pid: number) => void) | undefined;
  /** false: the frames as they are, without the ramp's steps evened out (for comparing; default on). */
  evenOut?: boolean | undefined;
}

/** Frames checked at once: file opens, not decoding. */
const CHECK_CONCURRENCY = 8;
/** Times a build drops a frame ffmpeg could not read and tries again. */
const MAX_BAD_FRAME_RETRIES = 5;
const POSTER_WIDTH = 1280;

interface Frame {
  picture: number;
  takenAt: number;
  file: string;
  size: Size;
  /** The EV of the settings it was taken with (an exposure ramp's); null: not known. */
  ev: number | null;
  /** Its mean luminance (0-255), as the pipeline measured it on the picture (or, where it could not, on the frame). */
  luminance: number | null;
}

export interface VideoBuilderDeps {
  layout: DataLayout;
  pictures: Pick<PicturesRepository, 'usableBetween' | 'get'>;
  videos: Pick<VideosRepository, 'save' | 'transaction'>;
  /** Queues each indexed video for the sync targets, in the indexing transaction. */
  outbox: Pick<Outbox, 'video'>;
  sizes: Pick<PictureSizes, 'file'>;
  runner: FfmpegRunner;
  config: () => Config;
  log: Logger;
  now?: () => number;
}

/** Indexes a video and queues it for the sync targets, in one transaction; returns its id. */
export function indexVideo(videos: Pick<VideosRepository, 'save' | 'transaction'>, outbox: Pick<Outbox, 'video'>, record: NewVideo): number {
  return videos.transaction(() => {
    const id = videos.save(record);
    outbox.video({ id, sourceId: record.sourceId, path: record.path, size: record.size, createdAt: record.createdAt });
    // The phone rendition goes to the targets like the film, right after it.
    if (record.phone) outbox.video({ id, sourceId: record.sourceId, path: record.phone.path, size: record.phone.size, createdAt: record.createdAt });
    return id;
  });
}

export class VideoBuilder {
  readonly #deps: VideoBuilderDeps;

  constructor(deps: VideoBuilderDeps) {
    this.#deps = deps;
  }

  /** How many frames a spec would use, without touching a file: for checking a request before it is queued. */
  count(spec: VideoSpec): { frames: number; matched: number } {
    const selection = this.#select(spec);
    return { frames: selection.frames.length, matched: selection.matched };
  }

  async build(spec: VideoSpec, options: BuildOptions): Promise<BuildOutcome> {
    const { layout, runner, log } = this.#deps;
    const source = this.#source(spec.sourceId);
    await runner.version(); // ffmpeg missing: say so before any work
    const selection = this.#select(spec);
    const zone = this.#deps.config().appliance.timezone;
    const local = (t: number) => DateTime.fromMillis(t, { zone }).toISO({ suppressMilliseconds: true, suppressSeconds: true });
    const period = `${local(spec.from)} to ${local(spec.to)}`;
    if (selection.frames.length < spec.minFrames) {
      return { status: 'skipped', matched: selection.matched, reason: tooFew(selection.frames.length, spec.minFrames, period) };
    }
    const skipped: SkippedFrame[] = [];
    const { frames, remade } = await this.#checkFrames(source, selection.frames, skipped, options.signal);
    if (frames.length < spec.minFrames) {
      return { status: 'skipped', matched: selection.matched, reason: `${tooFew(frames.length, spec.minFrames, period)}; ${skipped.length} frame files were missing or broken` };
    }

    const { file, poster, phone: phoneFile } = layout.video(spec.sourceId, spec.kind, options.label);
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o750 });
    const tempVideo = tempPathFor(file);
    const tempList = tempPathFor(`${file}.txt`);
    const tempGains = tempPathFor(`${file}.gains`);
    const tempPoster = tempPathFor(poster);
    const tempPhone = tempPathFor(phoneFile);
    const size = outputSize(frames.map((f) => f.size), spec.width);
    const preferred = await runner.encoder();
    const choice = encoderFor(preferred, size);
    let encoder = choice.encoder;
    if (choice.reason) log.info({ source: spec.sourceId, video: options.label, encoder }, `the film is made with ${encoder}: ${choice.reason}`);
    // The film's share of the progress: the phone rendition (a smaller encode of the film) takes the rest.
    const share = spec.phone ? 80 : 100;
    const started = Date.now();
    try {
      let used = frames;
      for (let badFrames = 0; ; ) {
        // A film too short for its minimum holds each frame longer: frames read slower, output at fps.
        const inputRate = slowedRate(used.length, spec.fps, spec.minSeconds);
        // Each frame's factors: an exposure ramp's steps evened out (from the settings it was taken
        // with), and the deflicker (from the luminance of the frames around it), given to ffmpeg
        // with the frames so that it holds none of them.
        const factors = frameFactors(used, { evenOut: options.evenOut !== false, deflicker: spec.deflicker });
        const gains = gainCommands(factors, inputRate ?? String(spec.fps));
        if (gains) await fs.writeFile(tempGains, gains, { mode: 0o640 });
        const settings = (with_: VideoEncoder): EncodeSettings => ({ fps: spec.fps, ...(inputRate ? { inputRate } : {}), width: size.width, height: size.height, crf: spec.crf, preset: spec.preset, encoder: with_, ...(gains ? { gains: tempGains } : {}) });
        const args = encodeArgs(settings(encoder), size.fit);
        await fs.writeFile(tempList, concatList(used.map((f) => f.file)), { mode: 0o640 });
        try {
          await runner.encode({
            inputFile: tempList,
            output: tempVideo,
            input: args.input,
            options: args.output,
            totalFrames: inputRate ? Math.round(spec.fps * spec.minSeconds) : used.length,
            signal: options.signal,
            onProgress: (percent) => options.onProgress?.((percent * share) / 100),
            onStart: options.onStart,
            timeoutMs: 600_000 + used.length * 1000,
          });
          break;
        } catch (err) {
          // A hardware encoder that refuses this job (a size or a level its firmware will not take, the
          // device busy or gone) does not cost the film: the same frames again, once, with libx264.
          if (err instanceof EncodeError && err.code === 'failed' && encoder !== 'libx264') {
            log.warn({ source: spec.sourceId, video: options.label, encoder, err: err.message }, `${encoder} failed on this film; made again with libx264`);
            encoder = 'libx264';
            await fs.rm(tempVideo, { force: true });
            continue;
          }
          if (!(err instanceof EncodeError) || err.code !== 'bad-frame' || badFrames++ >= MAX_BAD_FRAME_RETRIES) throw err;
          const bad = used.find((f) => f.file === err.file);
          if (!bad) throw err;
          skipped.push({ picture: bad.picture, takenAt: new Date(bad.takenAt).toISOString(), reason: 'ffmpeg could not read the frame' });
          used = used.filter((f) => f !== bad);
          if (used.length < spec.minFrames) return { status: 'skipped', matched: selection.matched, reason: tooFew(used.length, spec.minFrames, period) };
          await fs.rm(tempVideo, { force: true });
        }
      }
      const probe = await runner.probe(tempVideo);
      const rendition = spec.phone ? phoneSize(probe, spec.phone.height, spec.phone.maxBitrate) : null;
      let phone: VideoRendition | null = null;
      if (spec.phone && rendition) {
        await this.#phone(tempVideo, tempPhone, { ...rendition, fps: spec.fps, maxBitrate: spec.phone.maxBitrate, preset: spec.preset, encoder: encoderFor(preferred, rendition).encoder }, probe.frames, options, share);
        const p = await runner.probe(tempPhone);
        phone = { path: layout.relative(phoneFile), size: p.size, width: p.width, height: p.height, bitrate: p.bitrate };
      }
      const encodeMs = Date.now() - started;
      const middle = used[Math.floor(used.length / 2)]!;
      await writePoster(middle.file, tempPoster, Math.min(POSTER_WIDTH, size.width));
      await commitFile(tempVideo, file, { replace: true });
      if (phone) await commitFile(tempPhone, phoneFile, { replace: true });
      await commitFile(tempPoster, poster, { replace: true });
      const record: NewVideo = {
        sourceId: spec.sourceId,
        kind: spec.kind,
        label: options.label,
        path: layout.relative(file),
        posterPath: layout.relative(poster),
        periodFrom: spec.from,
        periodTo: spec.to,
        // The pictures in the film (a slowed film repeats each one).
        frames: used.length,
        fps: spec.fps,
        width: probe.width,
        height: probe.height,
        durationMs: probe.durationMs,
        size: probe.size,
        codec: probe.codec,
        jobId: options.jobId ?? null,
        createdAt: (this.#deps.now ?? Date.now)(),
        phone,
      };
      const video: Video = { id: indexVideo(this.#deps.videos, this.#deps.outbox, record), ...record };
      // A film rebuilt small enough to be its own phone rendition: the old rendition goes.
      if (!phone) await fs.rm(phoneFile, { force: true });
      if (skipped.length > 0) log.warn({ source: spec.sourceId, video: options.label, skipped: skipped.slice(0, 20) }, `${skipped.length} frames were skipped: their files are missing or broken`);
      return { status: 'built', video, matched: selection.matched, skipped, remade, encoder, encodeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new EncodeError('no-space', 'the disk is full (no space left on device) while writing the video; the partial file was removed');
      }
      throw err;
    } finally {
      await Promise.all([tempVideo, tempList, tempGains, tempPoster, tempPhone].map((f) => fs.rm(f, { force: true }).catch(() => undefined)));
    }
  }

  /** Encodes the phone rendition of the film in `film`; a hardware encoder that refuses it gives way to libx264, once. */
  async #phone(film: string, output: string, settings: PhoneSettings, frames: number, options: BuildOptions, share: number): Promise<void> {
    const { runner, log } = this.#deps;
    for (let s = settings; ; s = { ...s, encoder: 'libx264' }) {
      const args = phoneArgs(s);
      try {
        await runner.encode({
          inputFile: film,
          output,
          input: args.input,
          options: args.output,
          totalFrames: frames,
          signal: options.signal,
          onProgress: (percent) => options.onProgress?.(share + (percent * (100 - share)) / 100),
          onStart: options.onStart,
          timeoutMs: 600_000 + frames * 200,
        });
        return;
      } catch (err) {
        if (!(err instanceof EncodeError) || err.code !== 'failed' || s.encoder === 'libx264') throw err;
        log.warn({ video: options.label, encoder: s.encoder, err: err.message }, `${s.encoder} failed on the phone rendition; made again with libx264`);
        await fs.rm(output, { force: true });
      }
    }
  }

  #source(id: string): SourceConfig {
    const source = this.#deps.config().sources.find((s) => s.id === id);
    if (!source) throw invalid(`no source "${id}" in the configuration`);
    return source;
  }

  #select(spec: VideoSpec) {
    const candidates = this.#deps.pictures.usableBetween(spec.sourceId, spec.from, spec.to);
    return selectFrames(candidates, { ...spec, timezone: this.#deps.config().appliance.timezone });
  }

  /**
   * The frame file of each picture, complete and with its size. A missing or broken
   * one is made again from the stored picture; when that fails too, it is skipped.
   */
  async #checkFrames(source: SourceConfig, selected: readonly { id: number; takenAt: number }[], skipped: SkippedFrame[], signal?: AbortSignal): Promise<{ frames: Frame[]; remade: number }> {
    const { layout, pictures, sizes } = this.#deps;
    const out: (Frame | null)[] = new Array(selected.length).fill(null);
    let remade = 0;
    let next = 0;
    const measuring = new Limiter(1);
    const worker = async () => {
      while (next < selected.length) {
        if (signal?.aborted) throw new EncodeError('cancelled', 'the video was cancelled');
        const i = next++;
        const { id, takenAt } = selected[i]!;
        const skip = (reason: string) => skipped.push({ picture: id, takenAt: new Date(takenAt).toISOString(), reason });
        const picture = pictures.get(id);
        if (!picture) {
          skip('the picture was removed from the index');
          continue;
        }
        const file = layout.derivative(picture.path, 'frame');
        let info = await jpegInfo(file).catch(() => null);
        if (!info?.complete || info.width === 0) {
          try {
            await fs.rm(file, { force: true });
            await sizes.file(picture, source, 'frame');
            info = await jpegInfo(file);
            remade++;
          } catch (err) {
            skip(`the frame file is ${info ? 'broken' : 'missing'} and could not be made again: ${messageOf(err)}`);
            continue;
          }
        }
        // A picture stored without its luminance (its pipeline could not measure it): the frame's own, for the
        // deflicker, one frame at a time so that a film of such pictures does not crowd out the captures.
        const luminance = picture.luminance ?? (await measuring.run(() => fileLuminance(file)).catch(() => null));
        out[i] = { picture: id, takenAt, file, size: { width: info.width, height: info.height }, ev: picture.exposure?.ev ?? null, luminance };
      }
    };
    await Promise.all(Array.from({ length: CHECK_CONCURRENCY }, worker));
    skipped.sort((a, b) => a.takenAt.localeCompare(b.takenAt));
    return { frames: out.filter((f): f is Frame => f !== null), remade };
  }
}

function tooFew(n: number, min: number, period: string): string {
  return n === 0 ? `no usable pictures from ${period} with these filters` : `only ${n} usable ${n === 1 ? 'picture' : 'pictures'} from ${period} with these filters (at least ${min} needed)`;
}
