/**
 * Stores for the video tests: pictures go through the real pipeline and picture
 * store (so each has its `frame` size on disk), and outputs are read back with
 * the real ffprobe and ffmpeg.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import type { Config } from '../../daemon/config/schema';
import type { Repositories } from '../../daemon/store/repositories';
import type { Picture } from '../../daemon/domain/pictures';
import { buildPictureServices } from '../../daemon/compose/stacks';
import { tempPathFor } from '../../daemon/files/atomic';
import { localDate, pictureFileName } from '../../daemon/domain/data-folder';
import { silentLogger } from '../../daemon/logger';
import { mulberry32 } from '../../daemon/capture/testpattern/noise';

export function pictureServices(config: Config, store: Repositories) {
  return buildPictureServices({ config, store, log: silentLogger() });
}

/**
 * A scene with structure (a gradient and waves) whose brightness is scaled by
 * `gain`: `gain` 1 ± 0.2 at random is the flicker of an auto-exposing camera.
 */
export function scene(width: number, height: number, gain: number, drift = 0): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = 60 + (90 * x) / width + 30 * Math.sin((x + y + drift) / 9);
      const v = Math.max(0, Math.min(255, Math.round(base * gain)));
      const i = (y * width + x) * 3;
      raw[i] = v;
      raw[i + 1] = Math.round(v * 0.9);
      raw[i + 2] = Math.round(v * 0.8);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** Gains of `n` frames jumping at random within ±`amplitude`. */
export function flicker(n: number, amplitude: number, seed = 7): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => 1 + (random() * 2 - 1) * amplitude);
}

/** Stores pictures taken at `times` (ms) through the pipeline; `jpeg(i)` makes the i-th. */
export async function seedPictures(config: Config, store: Repositories, sourceId: string, times: readonly number[], jpeg: (i: number) => Promise<Buffer>): Promise<Picture[]> {
  const { pipeline, pictureStore } = pictureServices(config, store);
  const source = config.sources.find((s) => s.id === sourceId)!;
  const out: Picture[] = [];
  for (let i = 0; i < times.length; i++) {
    const takenAt = times[i]!;
    const dir = store.layout.dayDir(sourceId, localDate(takenAt, config.appliance.timezone));
    fs.mkdirSync(dir, { recursive: true });
    const temp = tempPathFor(path.join(dir, pictureFileName(takenAt)));
    fs.writeFileSync(temp, await jpeg(i));
    const processed = await pipeline.process(temp, { source, takenAt }, tempPathFor(path.join(dir, pictureFileName(takenAt))));
    out.push(await pictureStore.commit(sourceId, { tempPath: temp, processed, takenAt }));
  }
  return out;
}

export interface ProbedVideo {
  frames: number;
  width: number;
  height: number;
  durationS: number;
  codec: string;
  pixFmt: string;
  /** Where the moov atom sits: before mdat with +faststart. */
  faststart: boolean;
}

/** ffprobe's own reading of a video file, frames counted by decoding. */
export function probeVideo(file: string): ProbedVideo {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height,codec_name,pix_fmt:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  const json = JSON.parse(out) as { streams: { nb_read_frames: string; width: number; height: number; codec_name: string; pix_fmt: string }[]; format: { duration: string } };
  const s = json.streams[0]!;
  const head = fs.readFileSync(file).subarray(0, 64 * 1024).toString('latin1');
  return { frames: Number(s.nb_read_frames), width: s.width, height: s.height, durationS: Number(json.format.duration), codec: s.codec_name, pixFmt: s.pix_fmt, faststart: head.indexOf('moov') >= 0 && head.indexOf('moov') < head.indexOf('mdat') };
}

/** Mean luminance (0-255) of every frame of a video, decoded by ffmpeg to small grey frames. */
export function frameLuminance(file: string): number[] {
  const w = 64;
  const probe = probeVideo(file);
  const h = Math.round((w * probe.height) / probe.width / 2) * 2;
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', `scale=${w}:${h},format=gray`, '-f', 'rawvideo', '-'], { maxBuffer: 256 * 1024 * 1024 });
  const size = w * h;
  const out: number[] = [];
  for (let f = 0; f + size <= raw.length; f += size) {
    let sum = 0;
    for (let i = f; i < f + size; i++) sum += raw[i]!;
    out.push(sum / size);
  }
  return out;
}

/** Mean absolute change of luminance from one frame to the next. */
export function meanStep(values: readonly number[]): number {
  let sum = 0;
  for (let i = 1; i < values.length; i++) sum += Math.abs(values[i]! - values[i - 1]!);
  return sum / Math.max(1, values.length - 1);
}

/**
 * The real ffmpeg behind a script that paces its first input (`-readrate`, 1 = real
 * time): encodes that last long enough to watch their progress or cancel them.
 * `program` is the script, also installed as `ffmpeg` in `binDir` for a daemon
 * started with `env` (its PATH with `binDir` first).
 */
export function slowFfmpeg(dir: string, readRate = 1): { program: string; binDir: string; env: { PATH: string } } {
  const binDir = path.join(dir, 'slow-ffmpeg-bin');
  fs.mkdirSync(binDir, { recursive: true });
  const program = path.join(binDir, 'ffmpeg');
  const real = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
  fs.writeFileSync(program, `#!/bin/sh\nif [ "$1" = "-version" ]; then exec ${real} "$@"; fi\nexec ${real} -readrate ${readRate} "$@"\n`, { mode: 0o755 });
  return { program, binDir, env: { PATH: `${binDir}:${process.env['PATH'] ?? ''}` } };
}
