/**
 * Films for phones (issue 25), with the real ffmpeg on real pictures: a daily film of a
 * sparse schedule lasts its minimum (each picture held longer), and every film gets a
 * phone rendition that ffprobe reads back at 720p, under its bit rate ceiling (over the
 * file and over every two seconds), H.264 main profile, its index first; it sits beside
 * the film and is found again, or forgotten when its file is gone, at start-up.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { DateTime } from 'luxon';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { buildVideoStack } from '../../daemon/compose/stacks';
import { duePeriod } from '../../daemon/timelapse/frames';
import { scheduledSpec } from '../../daemon/timelapse/video-spec';
import { silentLogger } from '../../daemon/logger';
import { tempDir } from '../helpers/env';
import { pictureServices, probeVideo, seedPictures } from '../helpers/videos';

jest.setTimeout(180_000);

const TZ = 'Europe/Paris';
const at = (local: string) => DateTime.fromISO(local, { zone: TZ }).toMillis();

/** ffprobe's profile and overall bit rate, and the bits of every packet with its time. */
function streamFacts(file: string): { profile: string; bitrate: number; packets: { t: number; bits: number }[] } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=profile:format=bit_rate:packet=pts_time,size', '-of', 'json', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const json = JSON.parse(out) as { streams: { profile: string }[]; format: { bit_rate: string }; packets: { pts_time: string; size: string }[] };
  return { profile: json.streams[0]!.profile, bitrate: Number(json.format.bit_rate), packets: json.packets.map((p) => ({ t: Number(p.pts_time), bits: Number(p.size) * 8 })) };
}

/** The most bits in any window of `seconds`. */
function peakWindow(packets: { t: number; bits: number }[], seconds: number): number {
  const sorted = [...packets].sort((a, b) => a.t - b.t);
  let best = 0;
  let sum = 0;
  let lo = 0;
  for (const p of sorted) {
    sum += p.bits;
    while (p.t - sorted[lo]!.t >= seconds) sum -= sorted[lo++]!.bits;
    best = Math.max(best, sum);
  }
  return best;
}

describe('films for phones', () => {
  let tmp: ReturnType<typeof tempDir>;
  let config: Config;
  let store: Repositories;

  beforeAll(async () => {
    tmp = tempDir();
    const dataDir = path.join(tmp.dir, 'data');
    config = parseConfig(
      [`appliance: { id: box, timezone: ${TZ} }`, `storage: { dataDir: ${dataDir} }`, 'sources:', '  - id: north', '    camera: { driver: testpattern }', '    timelapse: { daily: { width: 1920, preset: ultrafast, deflicker: false, minFrames: 5 } }', ''].join('\n'),
      path.join(tmp.dir, 'lapsebox.yaml'),
    ).config;
    store = openRepositories(dataDir);
    // A day of a 20-minute schedule, 07:00 to 19:00: 36 pictures of 1920x1080 noise (the hardest to compress).
    const times = Array.from({ length: 36 }, (_, i) => at('2026-11-20T07:00') + i * 20 * 60_000);
    await seedPictures(config, store, 'north', times, (i) => sharp({ create: { width: 1920, height: 1080, channels: 3, background: { r: 40 + i * 4, g: 90, b: 140 }, noise: { type: 'gaussian', mean: 110, sigma: 40 } } }).jpeg({ quality: 85 }).toBuffer());
  }, 120_000);

  afterAll(() => {
    store.close();
    tmp.cleanup();
  });

  it('makes the daily film last 10 s with each picture held, and a 720p rendition under 1 Mbit/s with its index first', async () => {
    const { sizes } = pictureServices(config, store);
    const { builder } = buildVideoStack({ config: () => config, store, sizes, log: silentLogger() });
    const source = config.sources[0]!;
    const outcome = await builder.build(scheduledSpec(source, 'daily', duePeriod('daily', at('2026-11-21T01:00'), '00:30', TZ)), { label: '2026-11-20' });
    if (outcome.status !== 'built') throw new Error(`not built: ${outcome.reason}`);
    const video = outcome.video;

    // The film: 36 pictures, 10 seconds at 25 fps (each picture about 7 times).
    const film = probeVideo(store.layout.absolute(video.path));
    expect(video.frames).toBe(36);
    expect(film).toMatchObject({ width: 1920, height: 1080, codec: 'h264', faststart: true });
    expect(film.durationS).toBeGreaterThan(9.8);
    expect(film.durationS).toBeLessThan(10.2);

    // The rendition: beside it, 1280x720, main profile, its index first, the same length.
    expect(video.phone).toMatchObject({ path: 'sources/north/videos/daily/2026-11-20.phone.mp4', width: 1280, height: 720 });
    const file = store.layout.absolute(video.phone!.path);
    expect(fs.statSync(file).size).toBe(video.phone!.size);
    const phone = probeVideo(file);
    expect(phone).toMatchObject({ width: 1280, height: 720, codec: 'h264', pixFmt: 'yuv420p', faststart: true });
    expect(Math.abs(phone.durationS - film.durationS)).toBeLessThan(0.1);
    const facts = streamFacts(file);
    // Main at most, which every phone plays (the film's preset here, ultrafast, leaves x264 at Constrained Baseline).
    expect(['Main', 'Constrained Baseline']).toContain(facts.profile);
    // Under the ceiling over the file, and over any two seconds within 90 % of it and its one-second buffer.
    expect(facts.bitrate).toBeLessThanOrEqual(1_000_000);
    expect(peakWindow(facts.packets, 2)).toBeLessThanOrEqual(2 * 900_000 + 1_000_000);
    // The film itself is far above it: noise does not compress.
    expect(streamFacts(store.layout.absolute(video.path)).bitrate).toBeGreaterThan(5_000_000);
    expect(video.phone!.bitrate).toBe(facts.bitrate);
  });

  it('finds the rendition again with its film at start-up, and forgets it when its file is gone', async () => {
    const { sizes } = pictureServices(config, store);
    const video = store.videos.list('north', 'daily', 1)[0]!;
    expect(video.phone).not.toBeNull();
    // The index lost the film (a crash between the rename and the index): found again, rendition and all.
    store.videos.remove(video.id);
    let jobs = buildVideoStack({ config: () => config, store, sizes, log: silentLogger() }).jobs;
    await jobs.start();
    await jobs.stop();
    const found = store.videos.list('north', 'daily', 10);
    expect(found.map((v) => [v.path, v.phone?.path, v.phone?.width])).toEqual([[video.path, video.phone!.path, 1280]]);
    // The rendition's file is gone: the film is kept and played as it is.
    fs.rmSync(store.layout.absolute(video.phone!.path));
    jobs = buildVideoStack({ config: () => config, store, sizes, log: silentLogger() }).jobs;
    await jobs.start();
    await jobs.stop();
    expect(store.videos.list('north', 'daily', 10).map((v) => [v.path, v.phone])).toEqual([[video.path, null]]);
  });
});
