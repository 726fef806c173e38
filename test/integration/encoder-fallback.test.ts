/**
 * The hardware encoder's fallback, with a fake h264_v4l2m2m in front of the real ffmpeg:
 * its test encode works (as on a Pi 4), and it either takes jobs (encoded by libx264
 * underneath) or refuses them with the Pi's own error. A refused job is made again with
 * libx264 and the reason logged; a film wider than the hardware takes goes to libx264 at
 * once, without asking the hardware.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { DateTime } from 'luxon';
import type { Config } from '../../daemon/config/schema';
import { createLogger } from '../../daemon/logger';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { buildVideoStack } from '../../daemon/compose/stacks';
import { tempDir } from '../helpers/env';
import { pictureServices, probeVideo, scene, seedPictures } from '../helpers/videos';
import { writeYamlConfig } from '../helpers/web';

const TZ = 'Europe/Paris';

describe('encoder fallback', () => {
  let tmp: ReturnType<typeof tempDir>;
  let config: Config;
  let store: Repositories;
  let fake: string;
  let calls: string;
  let accept: string;

  beforeAll(async () => {
    tmp = tempDir();
    config = writeYamlConfig(tmp.dir, TZ, [
      'sources:',
      '  - id: north',
      '    camera: { driver: testpattern }',
      '    timelapse: { daily: { width: 2560, preset: ultrafast, deflicker: false } }',
      '  - id: wide',
      '    camera: { driver: testpattern }',
      '    timelapse: { daily: { width: 2560, preset: ultrafast, deflicker: false } }',
    ]).config;
    store = openRepositories(config.storage.dataDir);
    const start = DateTime.fromISO('2026-11-20T10:00', { zone: TZ }).toMillis();
    const times = Array.from({ length: 6 }, (_, i) => start + i * 60_000);
    await seedPictures(config, store, 'north', times, (i) => scene(640, 360, 1, i * 4));
    await seedPictures(config, store, 'wide', times, (i) => scene(2400, 1350, 1, i * 4));

    const real = execFileSync('bash', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
    calls = path.join(tmp.dir, 'calls.log');
    accept = path.join(tmp.dir, 'hardware-accepts');
    fake = path.join(tmp.dir, 'ffmpeg');
    // What a Pi 4's ffmpeg does with h264_v4l2m2m, played by the real ffmpeg: the test
    // encode passes; a job is taken (libx264 underneath) or refused with the Pi's message.
    fs.writeFileSync(
      fake,
      [
        '#!/bin/bash',
        `if [[ " $* " == *" h264_v4l2m2m "* ]]; then`,
        `  if [[ " $* " == *"testsrc2"* ]]; then exec ${real} "\${@/h264_v4l2m2m/libx264}"; fi`,
        `  if [ -e ${accept} ]; then echo "job h264_v4l2m2m taken" >> ${calls}; exec ${real} "\${@/h264_v4l2m2m/libx264}"; fi`,
        `  echo "job h264_v4l2m2m refused" >> ${calls}`,
        `  echo "[h264_v4l2m2m @ 0x5580e0a2c0] ioctl(VIDIOC_STREAMON) failure : 12, Cannot allocate memory" >&2`,
        `  echo "Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - maybe incorrect parameters such as bit_rate, rate, width or height" >&2`,
        '  exit 1',
        'fi',
        `if [[ " $* " == *" libx264 "* ]]; then echo "job libx264" >> ${calls}; fi`,
        `exec ${real} "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
  }, 60_000);

  afterAll(() => {
    store?.close();
    tmp?.cleanup();
  });

  /** Builds one custom film with a fresh stack (the encoder is chosen once per runner); returns the film, the calls and the log lines. */
  async function build(source: string, width: number, hardwareAccepts: boolean) {
    fs.rmSync(calls, { force: true });
    if (hardwareAccepts) fs.writeFileSync(accept, '');
    else fs.rmSync(accept, { force: true });
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ destination: new Writable({ write: (chunk, _enc, done) => void (lines.push(JSON.parse(String(chunk))), done()) }) });
    const { sizes } = pictureServices(config, store);
    const jobs = buildVideoStack({ config: () => config, store, sizes, log, ffmpeg: { ffmpegPath: fake } }).jobs;
    await jobs.start();
    try {
      const job = jobs.submitCustom(source, { from: '2026-11-20', to: '2026-11-20', width }, 'director');
      await jobs.idle();
      const done = jobs.get(job.id)!;
      expect(done.status).toBe('succeeded');
      const video = store.videos.get(done.videoId!)!;
      return { done, video, probe: probeVideo(store.layout.absolute(video.path)), calls: fs.readFileSync(calls, 'utf8').trim().split('\n'), lines };
    } finally {
      await jobs.stop();
    }
  }

  it('uses the hardware encoder when it takes the job', async () => {
    const { done, calls: made, probe } = await build('north', 640, true);
    expect(made).toEqual(['job h264_v4l2m2m taken']);
    expect(done.result).toMatchObject({ encoder: 'h264_v4l2m2m' });
    expect(probe).toMatchObject({ codec: 'h264', width: 640, frames: 6 });
  }, 60_000);

  it('makes the film again with libx264 when the hardware encoder refuses it, and says why', async () => {
    const { done, calls: made, probe, lines } = await build('north', 640, false);
    expect(made).toEqual(['job h264_v4l2m2m refused', 'job libx264']);
    expect(done.result).toMatchObject({ encoder: 'libx264' });
    expect(probe).toMatchObject({ codec: 'h264', width: 640, frames: 6 });
    const warning = lines.find((l) => String(l['msg']).includes('made again with libx264'))!;
    expect(warning).toMatchObject({ level: 'warn', encoder: 'h264_v4l2m2m' });
    expect(String(warning['err'])).toMatch(/Cannot allocate memory|opening encoder/);
    // No temporary file is left behind by the refused attempt.
    expect(fs.readdirSync(store.layout.videosDir('north', 'custom')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  }, 60_000);

  it('sends a film wider than the hardware takes to libx264 at once', async () => {
    const { done, calls: made, probe, lines, video } = await build('wide', 2400, true);
    // The film with libx264; its phone rendition (1280x720) fits the hardware and is made with it.
    expect(made).toEqual(['job libx264', 'job h264_v4l2m2m taken']);
    expect(video.phone).toMatchObject({ width: 1280, height: 720 });
    expect(done.result).toMatchObject({ encoder: 'libx264' });
    expect(probe).toMatchObject({ codec: 'h264', width: 2400, height: 1350 });
    expect(lines.some((l) => String(l['msg']).includes('2400x1350 is larger than h264_v4l2m2m takes (1920x1088 at most)'))).toBe(true);
  }, 60_000);
});
