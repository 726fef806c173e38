/**
 * Videos with the real ffmpeg and ffprobe, from pictures stored by the real
 * pipeline: what comes out, deflicker measured, broken frames, cancel, a full
 * disk, ffmpeg missing, and the daily schedule.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { DateTime } from 'luxon';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import type { Picture } from '../../daemon/domain/pictures';
import { buildVideoStack } from '../../daemon/compose/stacks';
import type { VideoJobs } from '../../daemon/timelapse/video-jobs.service';
import { TimelapseScheduler } from '../../daemon/timelapse/timelapse.scheduler';
import type { VideoSpec } from '../../daemon/timelapse/video-spec';
import { createLogger, silentLogger } from '../../daemon/logger';
import { AppError } from '../../daemon/errors';
import { tempDir } from '../helpers/env';
import { flicker, frameLuminance, meanStep, pictureServices, probeVideo, scene, seedPictures, slowFfmpeg } from '../helpers/videos';

const TZ = 'Europe/Paris';
const at = (local: string) => DateTime.fromISO(local, { zone: TZ }).toMillis();
const minutes = (startLocal: string, n: number, stepMin = 1) => Array.from({ length: n }, (_, i) => at(startLocal) + i * stepMin * 60_000);

function configFor(dataDir: string, timelapse = 'daily: { width: 320, fps: 25, crf: 23, preset: veryfast, deflicker: false, minFrames: 5 }'): Config {
  return parseConfig(
    [
      `appliance: { id: box, timezone: ${TZ} }`,
      `storage: { dataDir: ${dataDir} }`,
      'sources:',
      '  - id: north',
      '    camera: { driver: testpattern }',
      `    timelapse: { ${timelapse} }`,
      '',
    ].join('\n'),
    path.join(dataDir, '..', 'lapsebox.yaml'),
  ).config;
}

describe('timelapse videos', () => {
  let tmp: ReturnType<typeof tempDir>;
  let config: Config;
  let store: Repositories;
  let jobs: VideoJobs;
  let day: Picture[];
  const gains = flicker(48, 0.2);

  const build = async (body: Record<string, unknown>, by = 'director') => {
    const job = jobs.submitCustom('north', body, by);
    await jobs.idle();
    return jobs.get(job.id)!;
  };

  beforeAll(async () => {
    tmp = tempDir();
    config = configFor(path.join(tmp.dir, 'data'));
    store = openRepositories(config.storage.dataDir);
    // 48 frames of 320x180, one a minute, brightness jumping ±20% at random.
    day = await seedPictures(config, store, 'north', minutes('2026-11-20T10:00', 48), (i) => scene(320, 180, gains[i]!, i * 3));
    const { sizes } = pictureServices(config, store);
    jobs = buildVideoStack({ config: () => config, store, sizes, log: silentLogger() }).jobs;
    await jobs.start();
  }, 60_000);

  afterAll(async () => {
    await jobs.stop();
    store.close();
    tmp.cleanup();
  });

  it('makes an MP4 that ffprobe reads back with the frames, size and duration asked for', async () => {
    const job = await build({ from: '2026-11-20', to: '2026-11-20' });
    expect(job).toMatchObject({ status: 'succeeded', progress: 100, requestedBy: 'director', label: `custom-${job.id}` });
    const video = store.videos.get(job.videoId!)!;
    const file = store.layout.absolute(video.path);
    expect(video.path).toBe(`sources/north/videos/custom/custom-${job.id}.mp4`);
    const probe = probeVideo(file);
    expect(probe).toEqual({ frames: 48, width: 320, height: 180, durationS: 1.92, codec: 'h264', pixFmt: 'yuv420p', faststart: true });
    expect(video).toMatchObject({ frames: 48, width: 320, height: 180, durationMs: 1920, fps: 25, size: fs.statSync(file).size, codec: 'h264' });
    expect(fs.statSync(store.layout.absolute(video.posterPath!)).size).toBeGreaterThan(1000);
    expect(job.result).toMatchObject({ frames: 48, matched: 48, skipped: [], remade: 0, encoder: 'libx264' });
    // Nothing temporary is left beside the video.
    expect(fs.readdirSync(path.dirname(file)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('honours fps, width, the keep-window and the minimum interval', async () => {
    const job = await build({ from: '2026-11-20T10:00', to: '2026-11-20T11:00', keepFrom: '10:10', keepTo: '10:40', minInterval: '2m', fps: 10, width: 160 });
    expect(job.status).toBe('succeeded');
    const probe = probeVideo(store.layout.absolute(store.videos.get(job.videoId!)!.path));
    expect(probe).toMatchObject({ frames: 15, width: 160, height: 90, durationS: 1.5 });
  });

  it('deflickers: the frame-to-frame luminance variation drops by at least 90%', async () => {
    const plain = await build({ from: '2026-11-20', to: '2026-11-20', deflicker: false });
    const even = await build({ from: '2026-11-20', to: '2026-11-20', deflicker: true });
    const before = meanStep(frameLuminance(store.layout.absolute(store.videos.get(plain.videoId!)!.path)));
    const after = meanStep(frameLuminance(store.layout.absolute(store.videos.get(even.videoId!)!.path)));
    // The input does flicker: ±20% on a mean near 100 is steps of about 15.
    expect(before).toBeGreaterThan(8);
    const drop = 1 - after / before;
    expect(drop).toBeGreaterThanOrEqual(0.9);
    // The slow trend stays: the mean brightness is kept within a few levels.
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(Math.abs(mean(frameLuminance(store.layout.absolute(store.videos.get(even.videoId!)!.path))) - mean(frameLuminance(store.layout.absolute(store.videos.get(plain.videoId!)!.path))))).toBeLessThan(6);
  });

  it("deflickers pictures stored without their luminance too: each frame's own is measured", async () => {
    const ids = day.map((p) => p.id);
    const saved = store.db.prepare<[], { id: number; luminance: number | null }>(`SELECT id, luminance FROM pictures WHERE id IN (${ids.join(',')})`).all();
    store.db.prepare(`UPDATE pictures SET luminance = NULL WHERE id IN (${ids.join(',')})`).run();
    try {
      const plain = await build({ from: '2026-11-20', to: '2026-11-20', deflicker: false });
      const even = await build({ from: '2026-11-20', to: '2026-11-20', deflicker: true });
      const before = meanStep(frameLuminance(store.layout.absolute(store.videos.get(plain.videoId!)!.path)));
      const after = meanStep(frameLuminance(store.layout.absolute(store.videos.get(even.videoId!)!.path)));
      expect(1 - after / before).toBeGreaterThanOrEqual(0.9);
    } finally {
      const restore = store.db.prepare('UPDATE pictures SET luminance = ? WHERE id = ?');
      for (const row of saved) restore.run(row.luminance, row.id);
    }
  });

  it('makes a lost or broken frame again from its picture, skips and reports one whose picture is gone too, and still builds', async () => {
    const frame = (p: Picture) => store.layout.derivative(p.path, 'frame');
    fs.rmSync(frame(day[5]!)); // frame lost, picture there: made again
    const truncated = fs.readFileSync(frame(day[10]!));
    fs.writeFileSync(frame(day[10]!), truncated.subarray(0, truncated.length >> 1)); // frame broken: made again
    fs.rmSync(frame(day[20]!));
    fs.rmSync(store.layout.absolute(day[20]!.path)); // both gone: skipped
    fs.writeFileSync(frame(day[30]!), 'not a jpeg at all');
    fs.writeFileSync(store.layout.absolute(day[30]!.path), ''); // both broken: skipped
    const job = await build({ from: '2026-11-20', to: '2026-11-20' });
    expect(job.status).toBe('succeeded');
    const result = job.result as { frames: number; skipped: { picture: number; reason: string }[]; remade: number };
    expect(result.frames).toBe(46);
    expect(result.remade).toBe(2);
    expect(result.skipped.map((s) => s.picture)).toEqual([day[20]!.id, day[30]!.id]);
    expect(result.skipped[0]!.reason).toMatch(/frame file is missing and could not be made again: the file of picture \d+ is missing/);
    expect(result.skipped[1]!.reason).toMatch(/frame file is broken and could not be made again/);
    expect(probeVideo(store.layout.absolute(store.videos.get(job.videoId!)!.path)).frames).toBe(46);
    expect(fs.existsSync(frame(day[5]!))).toBe(true);
  });

  it('refuses no frames and one frame before queuing anything', () => {
    const before = store.jobs.list().length;
    expect(() => jobs.submitCustom('north', { from: '2026-11-01', to: '2026-11-02' }, 'director')).toThrow(/no usable pictures of source "north" from 2026-11-01 to 2026-11-02/);
    expect(() => jobs.submitCustom('north', { from: '2026-11-20T10:00', to: '2026-11-20T10:01' }, 'director')).toThrow(/only 1 usable picture .* a video needs at least 2/);
    expect(() => jobs.submitCustom('north', { from: '2026-11-20', to: '2026-11-20', fps: 0 }, 'director')).toThrow(AppError);
    expect(store.jobs.list().length).toBe(before);
  });

  it('cancels a running encode: ffmpeg is killed, the partial file removed, no video indexed', async () => {
    const { sizes } = pictureServices(config, store);
    const slow = buildVideoStack({ config: () => config, store, sizes, log: silentLogger(), ffmpeg: { ffmpegPath: slowFfmpeg(tmp.dir).program } }).jobs;
    await slow.start();
    try {
      const videosBefore = store.videos.all().length;
      const job = slow.submitCustom('north', { from: '2026-11-20', to: '2026-11-20' }, 'director');
      // Wait until ffmpeg has written part of the file.
      const dir = store.layout.videosDir('north', 'custom');
      for (let i = 0; i < 200 && !(slow.get(job.id)!.progress > 0 && fs.readdirSync(dir).some((n) => n.startsWith('.tmp-') && n.endsWith('.mp4'))); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(slow.get(job.id)!.status).toBe('running');
      const cancelled = await slow.cancel(job.id, 'director');
      expect(cancelled).toMatchObject({ status: 'cancelled', message: expect.stringMatching(/partial file was removed/) });
      expect(fs.readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
      expect(store.videos.all().length).toBe(videosBefore);
      const ps = spawnSync('pgrep', ['-f', dir], { encoding: 'utf8' });
      expect(ps.stdout.trim()).toBe('');
      await expect(slow.cancel(job.id, 'director')).rejects.toThrow(/has already ended \(cancelled\)/);
    } finally {
      await slow.stop();
    }
  });

  it('removes the partial file and indexes nothing when the disk fills up during the encode', async () => {
    const { sizes } = pictureServices(config, store);
    const dir = store.layout.videosDir('north', 'custom');
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status === 0;
    // Where mounting is not allowed, ffmpeg writes to /dev/full, which fails the same way.
    let ffmpegPath: string | undefined;
    if (!mounted) {
      ffmpegPath = path.join(tmp.dir, 'full-ffmpeg');
      const real = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
      fs.writeFileSync(ffmpegPath, `#!/bin/bash\nif [ "$1" = "-version" ]; then exec ${real} "$@"; fi\nexec ${real} "\${@:1:$#-1}" /dev/full\n`, { mode: 0o755 });
    }
    const stack = buildVideoStack({ config: () => config, store, sizes, log: silentLogger(), ...(ffmpegPath ? { ffmpeg: { ffmpegPath } } : {}) }).jobs;
    try {
      const videosBefore = store.videos.all().length;
      const job = stack.submitCustom('north', { from: '2026-11-20', to: '2026-11-20', crf: 0 }, 'director');
      await stack.runOne(job.id);
      expect(stack.get(job.id)).toMatchObject({ status: 'failed', message: expect.stringMatching(/^the disk is full \(no space left on device\) while writing the video; the partial file was removed/) });
      expect(fs.readdirSync(dir)).toEqual([]);
      expect(store.videos.all().length).toBe(videosBefore);
    } finally {
      if (mounted) spawnSync('umount', [dir]);
    }
  });

  it('fails with a clear error when ffmpeg is missing, and says so at start-up', async () => {
    const lines: string[] = [];
    const log = createLogger({ levels: { level: 'info' }, destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const { sizes } = pictureServices(config, store);
    const stack = buildVideoStack({ config: () => config, store, sizes, log, ffmpeg: { ffmpegPath: path.join(tmp.dir, 'no-such-ffmpeg') } }).jobs;
    await stack.start();
    try {
      const job = stack.submitCustom('north', { from: '2026-11-20', to: '2026-11-20' }, 'director');
      await stack.idle();
      expect(stack.get(job.id)).toMatchObject({ status: 'failed', message: expect.stringMatching(/^ffmpeg is not installed \(cannot run ".*no-such-ffmpeg"\): videos cannot be built; install it with "apt install ffmpeg"/) });
      expect(lines.some((l) => l.includes('ffmpeg is not installed') && l.includes('"level":"error"'))).toBe(true);
    } finally {
      await stack.stop();
    }
  });
});

describe('TimelapseScheduler', () => {
  let tmp: ReturnType<typeof tempDir>;
  let config: Config;
  let store: Repositories;

  beforeAll(async () => {
    tmp = tempDir();
    config = configFor(path.join(tmp.dir, 'data'), 'daily: { width: 320, fps: 25, preset: ultrafast, at: "00:30", minFrames: 5 }');
    store = openRepositories(config.storage.dataDir);
    // 30 pictures on the 22nd (10 before midnight UTC+1 counts as the 22nd), 12 on the 23rd.
    await seedPictures(config, store, 'north', [...minutes('2026-11-22T23:30', 30, 1), ...minutes('2026-11-23T00:00', 12, 1)], (i) => scene(320, 180, 1, i));
    await seedPictures(config, store, 'north', minutes('2026-11-21T12:00', 3, 1), (i) => scene(320, 180, 1, i));
  }, 60_000);

  afterAll(() => {
    store.close();
    tmp.cleanup();
  });

  it('builds the previous local day once the daily time has passed, once, and skips a day with too few pictures', async () => {
    let now = at('2026-11-23T00:29');
    const { sizes } = pictureServices(config, store);
    const lines: string[] = [];
    const log = createLogger({ levels: { level: 'info' }, destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const { jobs } = buildVideoStack({ config: () => config, store, sizes, log, now: () => now });
    const sut = new TimelapseScheduler({ config: () => config, jobs, log, now: () => now });
    await jobs.start();
    try {
      // Before 00:30 the due day is the 21st, with 3 pictures: skipped, with the reason.
      const [early] = sut.tick();
      await jobs.idle();
      expect(jobs.get(early!)).toMatchObject({ kind: 'daily', label: '2026-11-21', status: 'skipped', message: expect.stringMatching(/^only 3 usable pictures .* \(at least 5 needed\)/) });
      expect(lines.some((l) => l.includes('video skipped') && l.includes('only 3 usable pictures'))).toBe(true);

      now = at('2026-11-23T00:31');
      const [daily] = sut.tick();
      expect(sut.tick()).toEqual([]); // queued once
      await jobs.idle();
      const job = jobs.get(daily!)!;
      expect(job).toMatchObject({ kind: 'daily', label: '2026-11-22', status: 'succeeded', requestedBy: 'schedule' });
      const video = store.videos.get(job.videoId!)!;
      expect(video.path).toBe('sources/north/videos/daily/2026-11-22.mp4');
      expect([video.periodFrom, video.periodTo]).toEqual([at('2026-11-22T00:00'), at('2026-11-23T00:00')]);
      // 30 pictures at 25 fps would last 1.2 s: the daily minimum (10 s) holds each for about 8 frames.
      expect(video.frames).toBe(30);
      expect(probeVideo(store.layout.absolute(video.path)).frames).toBe(250);

      // Rebuilding replaces the file under its name and keeps the video's id.
      const inode = fs.statSync(store.layout.absolute(video.path)).ino;
      const again = jobs.submitScheduled((job.params as { spec: VideoSpec }).spec, '2026-11-22');
      await jobs.idle();
      expect(jobs.get(again.id)!.videoId).toBe(video.id);
      expect(fs.statSync(store.layout.absolute(video.path)).ino).not.toBe(inode);
      expect(store.videos.list('north', 'daily').map((v) => v.label)).toEqual(['2026-11-22']);
      now = at('2026-11-24T10:00');
      expect(sut.tick()).toHaveLength(1); // the 23rd
      await jobs.idle();

      // A crash between the rename and the index update, and a partial file: found again, and removed, at start-up.
      store.db.prepare('DELETE FROM videos WHERE id = ?').run(video.id);
      const partial = path.join(store.layout.videosDir('north', 'daily'), '.tmp-0123456789ab-2026-11-25.mp4');
      fs.writeFileSync(partial, 'half a video');
      const restarted = buildVideoStack({ config: () => config, store, sizes, log: silentLogger(), now: () => now }).jobs;
      await restarted.start();
      await restarted.stop();
      // Found again from its file alone: its frames are the file's (the pictures it holds are not written in it).
      expect(store.videos.byPath(video.path)).toMatchObject({ kind: 'daily', label: '2026-11-22', periodFrom: at('2026-11-22T00:00'), periodTo: at('2026-11-23T00:00'), frames: 250 });
      expect(fs.existsSync(partial)).toBe(false);
    } finally {
      await jobs.stop();
    }
  });
});
