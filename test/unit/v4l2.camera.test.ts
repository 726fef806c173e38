import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { CameraError, type CaptureResult } from '../../daemon/capture/camera';
import { listVideoDevices, V4l2Camera, type V4l2CameraOptions } from '../../daemon/capture/v4l2.camera';
import { isGone } from '../helpers/processes';
import { cameraFailure as failure } from '../helpers/camera';

describe('V4l2Camera', () => {
  let dir: string;
  let destination: string;
  /** Created by every fake ffmpeg when it starts: proof that a process ran. */
  let marker: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-v4l2-'));
    destination = path.join(dir, 'picture.jpg.tmp');
    marker = path.join(dir, 'ffmpeg-ran');
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** An executable standing in for ffmpeg: records its argv in the marker, then runs `body` (Node). */
  function fakeFfmpeg(body = ''): string {
    const file = path.join(dir, 'ffmpeg');
    fs.writeFileSync(
      file,
      [
        `#!${process.execPath}`,
        "const fs = require('node:fs');",
        'const args = process.argv.slice(2);',
        'const output = args[args.length - 1];',
        `fs.writeFileSync(${JSON.stringify(marker)}, JSON.stringify({ pid: process.pid, args }));`,
        body,
      ].join('\n'),
      { mode: 0o755 },
    );
    return file;
  }

  function camera(options: Partial<V4l2CameraOptions> = {}): V4l2Camera {
    return new V4l2Camera({ sourceId: 'desk', device: '/dev/video97', ...options, ffmpegPath: options.ffmpegPath ?? fakeFfmpeg() });
  }

  function shoot(sut: V4l2Camera, signal = new AbortController().signal): Promise<CaptureResult> {
    return sut.capture({ destination, takenAt: new Date(), signal });
  }

  it('says clearly that the webcam is missing, without starting ffmpeg', async () => {
    const sut = camera({ device: '/dev/video97' });

    const error = await failure(shoot(sut));

    expect(error.code).toBe('not-found');
    expect(error.message).toBe('camera desk: no video device at /dev/video97');
    expect(error.advice).toBe('is the webcam plugged in? `lapsebox cameras` lists video devices');
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.existsSync(destination)).toBe(false);
  });

  it('refuses a regular file as device, without starting ffmpeg', async () => {
    const shm = fs.mkdtempSync('/dev/shm/lapsebox-v4l2-');
    try {
      const file = path.join(shm, 'video0');
      fs.writeFileSync(file, 'not a webcam');
      const sut = camera({ device: file });

      const error = await failure(shoot(sut));

      expect(error.code).toBe('not-found');
      expect(error.message).toBe(`camera desk: ${file} is not a video device (not a character device)`);
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      fs.rmSync(shm, { recursive: true, force: true });
    }
  });

  it('refuses a device path outside /dev before touching it', async () => {
    const sut = camera({ device: '/dev/../etc/passwd' });

    const error = await failure(shoot(sut));

    expect(error.code).toBe('failed');
    expect(error.message).toContain('v4l2 device "/dev/../etc/passwd" is not a device path');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('explains what the real ffmpeg says about a character device that is no webcam', async () => {
    const sut = camera({ device: '/dev/null', ffmpegPath: 'ffmpeg' });

    const error = await failure(shoot(sut));

    expect(error.code).toBe('not-found');
    expect(error.message).toBe('camera desk: /dev/null is not a video capture device');
    expect(fs.existsSync(destination)).toBe(false);
  });

  it('reports a missing ffmpeg as unsupported', async () => {
    const sut = camera({ device: '/dev/null', ffmpegPath: path.join(dir, 'no-such-ffmpeg') });

    const error = await failure(shoot(sut));

    expect(error.code).toBe('unsupported');
    expect(error.message).toContain('ffmpeg is not installed');
    expect(error.advice).toBe('apt install ffmpeg');
  });

  it('runs ffmpeg with the built argv and reports the JPEG it wrote', async () => {
    const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#3a6' } }).jpeg().toBuffer();
    const source = path.join(dir, 'frame.jpg');
    fs.writeFileSync(source, jpeg);
    const sut = camera({ device: '/dev/null', width: 320, height: 240, inputFormat: 'mjpeg', skipFrames: 5, ffmpegPath: fakeFfmpeg(`fs.copyFileSync(${JSON.stringify(source)}, output);`) });

    const result = await shoot(sut);

    expect(result).toEqual({ width: 320, height: 240, size: jpeg.length });
    expect(fs.readFileSync(destination)).toEqual(jpeg);
    const { args } = JSON.parse(fs.readFileSync(marker, 'utf8')) as { args: string[] };
    expect(args).toEqual([
      '-hide_banner', '-nostdin', '-loglevel', 'error',
      '-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', '320x240', '-i', '/dev/null',
      '-vf', 'select=gte(n\\,5)',
      '-frames:v', '1', '-fps_mode', 'passthrough', '-f', 'image2', '-update', '1', '-c:v', 'mjpeg', '-q:v', '2', '-y', destination,
    ]);
  });

  it.each([
    ['nothing', ''],
    ['an empty file', "fs.writeFileSync(output, '');"],
    ['a cut-off JPEG', 'fs.writeFileSync(output, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));'],
  ])('rejects %s written with exit code 0 as bad output, and removes it', async (_case, body) => {
    const sut = camera({ device: '/dev/null', ffmpegPath: fakeFfmpeg(body) });

    const error = await failure(shoot(sut));

    expect(error.code).toBe('bad-output');
    expect(error.message).toBe('camera desk: ffmpeg wrote no complete JPEG from /dev/null');
    expect(fs.existsSync(marker)).toBe(true);
    expect(fs.existsSync(destination)).toBe(false);
  });

  it('stops a hung ffmpeg when aborted, rejects with the reason and leaves no file', async () => {
    const sut = camera({ device: '/dev/null', ffmpegPath: fakeFfmpeg("fs.writeFileSync(output, Buffer.from([0xff, 0xd8])); setInterval(() => {}, 1000);") });
    const controller = new AbortController();
    const reason = new CameraError('timeout', 'camera desk: no picture within 1s');

    const capture = shoot(sut, controller.signal);
    const { pid } = await waitForMarker();
    controller.abort(reason);

    await expect(capture).rejects.toBe(reason);
    expect(isGone(pid)).toBe(true);
    expect(fs.existsSync(destination)).toBe(false);
  });

  async function waitForMarker(): Promise<{ pid: number }> {
    for (let i = 0; i < 100; i++) {
      if (fs.existsSync(destination) && fs.existsSync(marker)) return JSON.parse(fs.readFileSync(marker, 'utf8')) as { pid: number };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the fake ffmpeg did not start');
  }
});

describe('listVideoDevices', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-video-devices-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists video nodes in number order with the names the kernel gives', async () => {
    const dev = path.join(dir, 'dev');
    const sys = path.join(dir, 'sys');
    fs.mkdirSync(dev);
    for (const node of ['video10', 'video0', 'video2', 'video1', 'videoX', 'vbi0', 'null']) fs.writeFileSync(path.join(dev, node), '');
    for (const [node, name] of [['video0', 'HD Pro Webcam C920\n'], ['video1', 'HD Pro Webcam C920\n'], ['video10', 'bcm2835-isp\n']]) {
      fs.mkdirSync(path.join(sys, node), { recursive: true });
      fs.writeFileSync(path.join(sys, node, 'name'), name);
    }

    expect(await listVideoDevices(dev, sys)).toEqual([
      { device: path.join(dev, 'video0'), name: 'HD Pro Webcam C920' },
      { device: path.join(dev, 'video1'), name: 'HD Pro Webcam C920' },
      { device: path.join(dev, 'video2') },
      { device: path.join(dev, 'video10'), name: 'bcm2835-isp' },
    ]);
  });

  it('finds nothing where there is no video device', async () => {
    expect(await listVideoDevices(dir, path.join(dir, 'no-sys'))).toEqual([]);
    expect(await listVideoDevices(path.join(dir, 'no-dev'))).toEqual([]);
  });
});
