import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { CameraError, type CaptureResult } from '../../daemon/capture/camera';
import { TestPatternCamera, type TestPatternOptions } from '../../daemon/capture/testpattern.camera';

const PARIS: TestPatternOptions = {
  sourceId: 'cam-1',
  sourceName: 'Site A <north> & co',
  width: 640,
  height: 360,
  timezone: 'Europe/Paris',
  location: { latitude: 48.8566, longitude: 2.3522 },
};

const NOON = new Date('2024-06-21T12:00:00+02:00');
const MIDNIGHT = new Date('2024-06-21T00:00:00+02:00');

describe('TestPatternCamera', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-testpattern-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function shoot(sut: TestPatternCamera, name: string, takenAt: Date, signal = new AbortController().signal): Promise<CaptureResult> {
    return sut.capture({ destination: path.join(dir, name), takenAt, signal });
  }

  async function luminance(file: string): Promise<number> {
    const { channels } = await sharp(file).stats();
    return 0.2126 * channels[0].mean + 0.7152 * channels[1].mean + 0.0722 * channels[2].mean;
  }

  it('writes a complete baseline JPEG of the configured size and reports the bytes written', async () => {
    const sut = new TestPatternCamera({ ...PARIS, width: 801, height: 451 });

    const result = await shoot(sut, 'a.jpg', NOON);

    const file = path.join(dir, 'a.jpg');
    const bytes = fs.readFileSync(file);
    const meta = await sharp(file).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.isProgressive).toBe(false);
    expect([meta.width, meta.height]).toEqual([801, 451]);
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(bytes.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    expect(result).toEqual({ width: 801, height: 451, size: fs.statSync(file).size });
  });

  it('produces a file size like a real camera at 1920x1080', async () => {
    const sut = new TestPatternCamera({ ...PARIS, width: 1920, height: 1080 });

    const noon = await shoot(sut, 'noon.jpg', NOON);
    const night = await shoot(sut, 'night.jpg', MIDNIGHT);

    expect(noon.size).toBeGreaterThan(300_000);
    expect(noon.size).toBeLessThan(2_500_000);
    expect(night.size).toBeGreaterThan(300_000);
  });

  it('is clearly brighter at noon than at midnight', async () => {
    const sut = new TestPatternCamera(PARIS);

    await shoot(sut, 'noon.jpg', NOON);
    await shoot(sut, 'midnight.jpg', MIDNIGHT);

    const noon = await luminance(path.join(dir, 'noon.jpg'));
    const midnight = await luminance(path.join(dir, 'midnight.jpg'));
    expect(noon).toBeGreaterThan(80);
    expect(midnight).toBeLessThan(40);
    expect(noon).toBeGreaterThan(midnight * 3);
  });

  it('follows the local clock when no location is given', async () => {
    const sut = new TestPatternCamera({ ...PARIS, location: undefined, timezone: 'Asia/Tokyo' });

    await shoot(sut, 'noon.jpg', new Date('2024-03-01T12:00:00+09:00'));
    await shoot(sut, 'night.jpg', new Date('2024-03-01T01:00:00+09:00'));

    expect(await luminance(path.join(dir, 'noon.jpg'))).toBeGreaterThan(3 * (await luminance(path.join(dir, 'night.jpg'))));
  });

  it('shows movement between frames taken 10 s apart, at the same size', async () => {
    const sut = new TestPatternCamera(PARIS);
    const later = new Date(NOON.getTime() + 10_000);

    const first = await shoot(sut, 'first.jpg', NOON);
    const second = await shoot(sut, 'second.jpg', later);

    expect([second.width, second.height]).toEqual([first.width, first.height]);
    const a = await sharp(path.join(dir, 'first.jpg')).raw().toBuffer();
    const b = await sharp(path.join(dir, 'second.jpg')).raw().toBuffer();
    expect(a.length).toBe(b.length);
    // Sensor noise alone never moves a pixel this far; the crane, traffic and clouds do.
    let moved = 0;
    for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 60) moved++;
    expect(moved).toBeGreaterThan(500);
  });

  it('renders the largest supported size, 6000x4000', async () => {
    const sut = new TestPatternCamera({ ...PARIS, width: 6000, height: 4000 });

    const result = await shoot(sut, 'big.jpg', NOON);

    const meta = await sharp(path.join(dir, 'big.jpg')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 6000, 4000]);
    expect(result.size).toBe(fs.statSync(path.join(dir, 'big.jpg')).size);
    expect(result.size).toBeGreaterThan(3_000_000);
  });

  it('rejects an already aborted capture with CameraError "aborted" and writes nothing', async () => {
    const sut = new TestPatternCamera(PARIS);
    const controller = new AbortController();
    controller.abort();

    const capture = shoot(sut, 'never.jpg', NOON, controller.signal);

    await expect(capture).rejects.toBeInstanceOf(CameraError);
    await expect(capture).rejects.toMatchObject({ code: 'aborted' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('stops a capture aborted while rendering, writes nothing, and still works afterwards', async () => {
    const sut = new TestPatternCamera({ ...PARIS, width: 3000, height: 2000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);

    await expect(shoot(sut, 'stopped.jpg', NOON, controller.signal)).rejects.toMatchObject({ code: 'aborted' });
    expect(fs.readdirSync(dir)).toEqual([]);

    const result = await shoot(sut, 'next.jpg', NOON);
    expect(result.size).toBe(fs.statSync(path.join(dir, 'next.jpg')).size);
  });

  it('rejects sizes beyond 6000x4000 and other bad options, naming the field', () => {
    expect(() => new TestPatternCamera({ ...PARIS, width: 7000, height: 100 })).toThrow(/width/);
    expect(() => new TestPatternCamera({ ...PARIS, width: 100, height: 15 })).toThrow(/height/);
    expect(() => new TestPatternCamera({ ...PARIS, timezone: 'Mars/Olympus' })).toThrow(/timezone/);
    expect(() => new TestPatternCamera({ ...PARIS, quality: 0 })).toThrow(/quality/);
  });

  describe('with a simulated sensor (issue 27)', () => {
    const sensor = (start = {}) => new TestPatternCamera({ ...PARIS, width: 320, height: 180, sensor: { start } });
    const take = (sut: TestPatternCamera, name: string, at: Date, exposure?: Record<string, string>) => sut.capture({ destination: path.join(dir, name), takenAt: at, signal: new AbortController().signal, ...(exposure ? { exposure } : {}) });

    it('is as bright as its settings make it: one stop more light, brighter; clipped at both ends', async () => {
      const sut = sensor();
      const l = async (name: string, exposure: Record<string, string>, at = NOON) => {
        const shot = await take(sut, name, at, exposure);
        return { shot, lum: await luminance(path.join(dir, name)) };
      };
      const sunny = await l('a.jpg', { shutter: '1/250', iso: '100', aperture: 'f/11' });
      const oneMore = await l('b.jpg', { shutter: '1/125' });
      const twoMore = await l('c.jpg', { shutter: '1/60' });
      expect(sunny.shot.exposure).toEqual({ shutter: '1/250', iso: '100', aperture: 'f/11', ev: 15 });
      // The camera keeps the settings it was not given: ISO 100 and f/11 still.
      expect(oneMore.shot.exposure).toEqual({ shutter: '1/125', iso: '100', aperture: 'f/11', ev: 14 });
      expect(oneMore.lum).toBeGreaterThan(sunny.lum * 1.15);
      expect(twoMore.lum).toBeGreaterThan(oneMore.lum * 1.15);
      // A whole stop is about 2^(1/2.2) on the encoded values, until it clips.
      expect(oneMore.lum / sunny.lum).toBeLessThan(1.45);
      expect((await l('white.jpg', { shutter: '30', iso: '25600', aperture: 'f/2.8' })).lum).toBeGreaterThan(235);
      // Black but for the sensor's noise and the burnt-in caption.
      expect((await l('black.jpg', { shutter: '1/8000', iso: '100', aperture: 'f/22' }, MIDNIGHT)).lum).toBeLessThan(8);
    });

    it('keeps its start settings without a ramp, and the light of the sun decides: the same settings are darker at night', async () => {
      const sut = sensor({ shutter: 1 / 60, iso: 100, aperture: 8 });
      const day = await take(sut, 'day.jpg', NOON);
      const night = await take(sut, 'night.jpg', MIDNIGHT);
      expect(day.exposure).toEqual(night.exposure);
      expect(day.exposure).toMatchObject({ shutter: '1/60', iso: '100', aperture: 'f/8' });
      expect(await luminance(path.join(dir, 'night.jpg'))).toBeLessThan((await luminance(path.join(dir, 'day.jpg'))) / 5);
    });

    it('refuses a value that is none of its choices, as a camera does', async () => {
      const error = await take(sensor(), 'x.jpg', NOON, { shutter: '1/3' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CameraError);
      expect((error as CameraError).message).toBe('testpattern: "1/3" is not one of the simulated camera\'s choices for shutter');
      expect(fs.existsSync(path.join(dir, 'x.jpg'))).toBe(false);
    });

    it('tells its choices and its settings now to the ramp', async () => {
      const control = await sensor({ shutter: 1 / 100 }).exposureControl();
      expect(control.current).toEqual({ shutter: 0.01, iso: 100, aperture: 8 });
      expect(control.choices.shutter[0]!.label).toBe('1/8000');
      expect(control.choices.shutter.at(-1)!.label).toBe('30');
      expect(control.choices.iso.map((c) => c.label)).toContain('3200');
      // Without a sensor there is nothing to ramp.
      await expect(new TestPatternCamera(PARIS).exposureControl()).rejects.toThrow('no simulated sensor');
    });
  });
});
