import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import exifReader from 'exif-reader';
import { parseConfig } from '../../daemon/config/load';
import { PicturePipeline, PipelineError, WatermarkUnavailableError, type PictureContext, type ProcessedPicture } from '../../daemon/pipeline/picture.pipeline';
import { silentLogger } from '../../daemon/logger';
import { tempDir } from '../helpers/env';
import { claimingSize, jpegOf, noise, plain, region } from '../helpers/images';

const TZ = 'Europe/Paris';

describe('PicturePipeline (real sharp)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: PicturePipeline;
  let logo: string;

  const sourceWith = (yaml: string) =>
    parseConfig(`appliance: { id: box, timezone: ${TZ} }\nsources:\n  - id: north\n    name: North tower\n    camera: { driver: testpattern }\n${yaml}`, path.join(tmp.dir, 'lapsebox.yaml')).config.sources[0]!;

  const input = (name: string, data: Buffer | string): string => {
    const file = path.join(tmp.dir, name);
    fs.writeFileSync(file, data);
    return file;
  };

  let outputs = 0;
  /** Processes a picture; the stored picture comes back as bytes, to look at. */
  const run = async (file: string, context: PictureContext) => {
    const processed = await sut.process(file, context, path.join(tmp.dir, `stored-${outputs++}.jpg`));
    return { ...processed, master: fs.readFileSync(processed.master) };
  };

  const sizeOf = (out: Pick<ProcessedPicture, 'derivatives'>, kind: string): Buffer => {
    const found = out.derivatives.find((d) => d.kind === kind);
    if (!found) throw new Error(`no ${kind} among ${out.derivatives.map((d) => d.kind).join(', ')}`);
    return found.data;
  };

  beforeAll(() => {
    sharp.cache(false);
  });

  beforeEach(async () => {
    tmp = tempDir();
    sut = new PicturePipeline({ appliance: () => ({ id: 'box', timezone: TZ }), log: silentLogger() });
    logo = path.join(tmp.dir, 'logo.png');
    await sharp({ create: { width: 300, height: 100, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } }).png().toFile(logo);
  });

  afterEach(() => tmp.cleanup());

  describe('privacy masks', () => {
    const mask = { left: 600, top: 400, width: 800, height: 400 };
    const color = [0, 0, 0];

    // Up to 12 MP the stored picture and the sizes are made side by side; above, one after the other (memory).
    it.each([
      [2400, 1600, 'side by side'],
      [4300, 2800, 'one after the other'],
    ])('fills the masked area uniformly in the stored picture and in every size, before anything is written (%ix%i: %s)', async (W, H) => {
      const file = input('noise.jpg', await jpegOf(noise(W, H), W, H));
      const source = sourceWith(
        `    image:\n      privacyMasks: [ { left: 600, top: 400, width: 800, height: 400 } ]\n      legend: { position: bottom-left }\n      watermark: { file: ${logo} }\n    public: { enabled: true, width: 800 }\n`,
      );
      const out = await run(file, { source, takenAt: Date.UTC(2026, 10, 23, 9, 15) });
      expect(out.rewritten).toBe(true);
      expect(out.derivatives.map((d) => d.kind)).toEqual(['thumb', 'small', 'preview', 'thumb-wm', 'small-wm', 'preview-wm', 'frame', 'public']);

      const stored = await region(out.master, { left: mask.left + 8, top: mask.top + 8, width: mask.width - 16, height: mask.height - 16 });
      expect(stored.stdev).toBeLessThan(2);
      stored.mean.forEach((m, i) => expect(Math.abs(m - color[i]!)).toBeLessThan(4));

      for (const { kind, data } of out.derivatives) {
        const meta = await sharp(data).metadata();
        const s = meta.width / W;
        // The whole scaled mask, less a pixel of JPEG ringing on each side.
        const area = {
          left: Math.ceil(mask.left * s) + 1,
          top: Math.ceil(mask.top * s) + 1,
          width: Math.floor(mask.width * s) - 2,
          height: Math.floor(mask.height * s) - 2,
        };
        const r = await region(data, area);
        expect([kind, r.stdev < 6]).toEqual([kind, true]);
        r.mean.forEach((m, i) => expect([kind, Math.abs(m - color[i]!) < 8]).toEqual([kind, true]));
      }
      // Outside the mask the picture is what the camera saw: noise.
      expect((await region(out.master, { left: 0, top: 0, width: 400, height: 300 })).stdev).toBeGreaterThan(50);
    });
  });

  describe('legend and watermark', () => {
    const corners = (w: number, h: number) => ({
      'top-left': { left: 0, top: 0, width: Math.round(w * 0.3), height: Math.round(h * 0.12) },
      'top-right': { left: Math.round(w * 0.7), top: 0, width: Math.round(w * 0.3), height: Math.round(h * 0.12) },
      'bottom-left': { left: 0, top: Math.round(h * 0.88), width: Math.round(w * 0.3), height: Math.round(h * 0.12) },
      'bottom-right': { left: Math.round(w * 0.7), top: Math.round(h * 0.88), width: Math.round(w * 0.3), height: Math.round(h * 0.12) },
    });

    it('puts the legend in its corner and the watermark in its own, only on the sizes customers and the public see', async () => {
      const file = input('grey.jpg', await plain(2400, 1600, '#808080'));
      const source = sourceWith(`    image:\n      legend: { position: bottom-left }\n      watermark: { file: ${logo}, position: top-right, opacity: 1 }\n    public: { enabled: true }\n`);
      const out = await run(file, { source, takenAt: Date.UTC(2026, 10, 23, 9, 15) });
      for (const kind of ['small', 'preview', 'small-wm', 'preview-wm', 'frame', 'public']) {
        const data = sizeOf(out, kind);
        const { width, height } = await sharp(data).metadata();
        const at = corners(width, height);
        const legend = await region(data, at['bottom-left']);
        expect([kind, legend.min < 60, legend.max > 200]).toEqual([kind, true, true]);
        const mark = await region(data, at['top-right']);
        const watermarked = kind.endsWith('-wm') || kind === 'frame' || kind === 'public';
        expect([kind, mark.mean[0]! > 150 && mark.mean[1]! < 110]).toEqual([kind, watermarked]);
        for (const corner of ['top-left', 'bottom-right'] as const) expect([kind, corner, (await region(data, at[corner])).stdev < 3]).toEqual([kind, corner, true]);
      }
      // Thumbs carry no legend (unreadable at 320 px); the customers' thumb carries the watermark.
      expect((await region(sizeOf(out, 'thumb'), { left: 0, top: 0, width: 320, height: 213 })).stdev).toBeLessThan(3);
      const thumbMark = await region(sizeOf(out, 'thumb-wm'), corners(320, 213)['top-right']);
      expect(thumbMark.mean[0]).toBeGreaterThan(150);
      // The stored picture is left clean.
      expect((await region(out.master, { left: 0, top: 0, width: 2400, height: 1600 })).stdev).toBeLessThan(2);
    });

    it('keeps the legend readable on a white scene and on a black one (WCAG contrast of at least 4.5:1)', async () => {
      /** WCAG relative luminance of a grey sRGB value. */
      const luminance = (v: number) => {
        const c = v / 255;
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      };
      for (const background of ['#ffffff', '#000000']) {
        const file = input(`${background.slice(1)}.jpg`, await plain(1600, 1200, background));
        const out = await run(file, { source: sourceWith('    image: { legend: { position: top-left } }\n'), takenAt: Date.now() });
        // Inside the band: the darkest pixel is the band, the brightest the text.
        const band = await region(sizeOf(out, 'preview'), { left: 16, top: 16, width: 300, height: 30 });
        const contrast = (luminance(band.max) + 0.05) / (luminance(band.min) + 0.05);
        expect([background, contrast >= 4.5]).toEqual([background, true]);
      }
    });

    it('fades the watermark by its opacity', async () => {
      const file = input('grey.jpg', await plain(1600, 1200, '#808080'));
      const half = await run(file, { source: sourceWith(`    image: { watermark: { file: ${logo}, position: center, opacity: 0.5 } }\n`), takenAt: Date.now() });
      const centre = await region(sizeOf(half, 'preview-wm'), { left: 620, top: 460, width: 40, height: 20 });
      // Half of pure red over grey 128: about (191, 64, 64).
      expect(centre.mean[0]).toBeGreaterThan(175);
      expect(centre.mean[0]).toBeLessThan(205);
      expect(centre.mean[1]).toBeGreaterThan(50);
      expect(centre.mean[1]).toBeLessThan(80);
    });

    it('stores the picture without the watermarked sizes when the watermark file is missing, and says why', async () => {
      const file = input('grey.jpg', await plain(1600, 1200, '#808080'));
      const missing = path.join(tmp.dir, 'gone.png');
      const source = sourceWith(`    image: { watermark: { file: ${missing} } }\n    public: { enabled: true }\n`);
      const out = await run(file, { source, takenAt: Date.now() });
      expect(out.derivatives.map((d) => d.kind)).toEqual(['thumb', 'small', 'preview']);
      expect(out.warnings).toEqual([`the watermark file ${missing} does not exist: the watermarked sizes (thumb-wm, small-wm, preview-wm, frame, public) of this picture were not made`]);
      expect(out.metrics.rejection).toBeNull();
      const stored = input('stored.jpg', out.master);
      const context = { source, takenAt: Date.now(), size: { width: 1600, height: 1200 } };
      await expect(sut.render(stored, context, 'preview-wm')).rejects.toThrow(WatermarkUnavailableError);
      fs.copyFileSync(logo, missing);
      expect((await sharp(await sut.render(stored, context, 'preview-wm')).metadata()).width).toBe(1280);
    });
  });

  describe('orientation, rotation and crop', () => {
    /** Left half red, right half blue. */
    const halves = async (width: number, height: number) => {
      const left = await sharp({ create: { width: width / 2, height, channels: 3, background: '#ff0000' } }).png().toBuffer();
      return sharp({ create: { width, height, channels: 3, background: '#0000ff' } }).composite([{ input: left, left: 0, top: 0 }]);
    };
    const isRed = (r: Awaited<ReturnType<typeof region>>) => r.mean[0]! > 200 && r.mean[2]! < 60;
    const isBlue = (r: Awaited<ReturnType<typeof region>>) => r.mean[2]! > 200 && r.mean[0]! < 60;

    it('turns the picture upright from its EXIF orientation before storing it', async () => {
      // Orientation 6: the camera was turned clockwise; shown upright, its left edge is at the top.
      const file = input('turned.jpg', await (await halves(400, 300)).withMetadata({ orientation: 6 }).jpeg().toBuffer());
      const out = await run(file, { source: sourceWith(''), takenAt: Date.now() });
      const meta = await sharp(out.master).metadata();
      expect([meta.width, meta.height, meta.orientation ?? 1]).toEqual([300, 400, 1]);
      expect(out.metrics).toMatchObject({ width: 300, height: 400 });
      expect(isRed(await region(out.master, { left: 20, top: 20, width: 260, height: 150 }))).toBe(true);
      expect(isBlue(await region(out.master, { left: 20, top: 230, width: 260, height: 150 }))).toBe(true);
    });

    it('rotates, then crops in the rotated picture', async () => {
      const file = input('halves.jpg', await (await halves(600, 400)).jpeg().toBuffer());
      const rotated = await run(file, { source: sourceWith('    image: { rotate: 90 }\n'), takenAt: Date.now() });
      expect(isRed(await region(rotated.master, { left: 20, top: 20, width: 360, height: 260 }))).toBe(true);
      const cropped = await run(file, { source: sourceWith('    image: { rotate: 90, crop: { left: 0, top: 300, width: 400, height: 300 } }\n'), takenAt: Date.now() });
      expect(cropped.metrics).toMatchObject({ width: 400, height: 300 });
      expect(isBlue(await region(cropped.master, { left: 0, top: 0, width: 400, height: 300 }))).toBe(true);
      expect((await sharp(sizeOf(cropped, 'thumb')).metadata()).width).toBe(320);
    });
  });

  describe('metrics', () => {
    it('measures the stored picture: size, SHA-256, mean luminance, and the EXIF capture time', async () => {
      const exif = { IFD0: { Make: 'Canon', Model: 'EOS 90D' }, IFD2: { DateTimeOriginal: '2026:11:23 10:15:00' } };
      const file = input('grey.jpg', await plain(1200, 800, '#808080', exif));
      const out = await run(file, { source: sourceWith(''), takenAt: Date.now() });
      expect(out.master.equals(fs.readFileSync(file))).toBe(true); // nothing to change: the camera's bytes
      expect(out.metrics).toMatchObject({ width: 1200, height: 800, size: out.master.length, exifTakenAt: Date.UTC(2026, 10, 23, 9, 15), rejection: null });
      expect(out.metrics.sha256).toBe(createHash('sha256').update(out.master).digest('hex'));
      expect(out.metrics.luminance).toBeGreaterThan(126);
      expect(out.metrics.luminance).toBeLessThan(130);
    });

    it('keeps only who and when in the EXIF of a rewritten picture, nothing that could show what a mask hides', async () => {
      const exif = { IFD0: { Make: 'Canon', Model: 'EOS 90D', Artist: 'Jane Doe', ImageDescription: 'behind the fence' }, IFD2: { DateTimeOriginal: '2026:11:23 10:15:00' } };
      const file = input('grey.jpg', await plain(1200, 800, '#808080', exif));
      const out = await run(file, { source: sourceWith('    image: { privacyMasks: [ { left: 0, top: 0, width: 100, height: 100 } ] }\n'), takenAt: Date.now() });
      const tags = exifReader((await sharp(out.master).metadata()).exif!);
      expect(tags.Image).toMatchObject({ Make: 'Canon', Model: 'EOS 90D', Software: 'lapsebox' });
      expect(tags.Image?.Artist).toBeUndefined();
      expect(tags.Image?.ImageDescription).toBeUndefined();
      expect(tags.Thumbnail).toBeUndefined();
      expect(tags.Photo?.DateTimeOriginal).toEqual(new Date(Date.UTC(2026, 10, 23, 10, 15)));
      expect(out.metrics.exifTakenAt).toBe(Date.UTC(2026, 10, 23, 9, 15));
    });

    it('makes each size again from the stored picture', async () => {
      const file = input('grey.jpg', await plain(2000, 1000, '#808080'));
      const source = sourceWith('    image: { legend: {} }\n');
      const preview = await sut.render(file, { source, takenAt: Date.now(), size: { width: 2000, height: 1000 } }, 'preview');
      expect(await sharp(preview).metadata()).toMatchObject({ width: 1280, height: 640, format: 'jpeg' });
    });

    it('measures a stored picture found without its row', async () => {
      const file = input('dark.jpg', await plain(800, 600, '#080808'));
      const metrics = await sut.measure(file, sourceWith('    image: { reject: { darkerThan: 20 } }\n').image.reject);
      expect(metrics).toMatchObject({ width: 800, height: 600, size: fs.statSync(file).size, rejection: { code: 'too-dark' } });
      expect(metrics.luminance).toBeLessThan(12);
    });
  });

  describe('rejections and bad input', () => {
    it('rejects too dark and too bright pictures but still makes their sizes', async () => {
      const source = sourceWith('    image: { reject: { darkerThan: 20, brighterThan: 240 } }\n');
      const dark = await run(input('black.jpg', await plain(800, 600, '#000000')), { source, takenAt: Date.now() });
      expect(dark.metrics.rejection).toEqual({ code: 'too-dark', detail: expect.stringMatching(/^mean luminance \d+(\.\d)? is below 20/) });
      expect(dark.derivatives).toHaveLength(4);
      const bright = await run(input('white.jpg', await plain(800, 600, '#ffffff')), { source, takenAt: Date.now() });
      expect(bright.metrics.rejection?.code).toBe('too-bright');
    });

    it('keeps a 1x1 picture as captured, rejected as too small, with no sizes', async () => {
      const data = await plain(1, 1, '#808080');
      const out = await run(input('dot.jpg', data), { source: sourceWith(''), takenAt: Date.now() });
      expect(out).toMatchObject({ rewritten: false, derivatives: [], metrics: { width: 1, height: 1, rejection: { code: 'too-small' } } });
      expect(out.master.equals(data)).toBe(true);
    });

    it('keeps a truncated JPEG as captured, rejected as corrupt', async () => {
      const whole = await jpegOf(noise(800, 600), 800, 600);
      const out = await run(input('cut.jpg', whole.subarray(0, Math.floor(whole.length * 0.6))), { source: sourceWith(''), takenAt: Date.now() });
      expect(out.metrics.rejection).toEqual({ code: 'corrupt', detail: expect.stringContaining('premature end of JPEG') });
      expect(out.derivatives).toEqual([]);
    });

    it('refuses a 20000x20000 picture from its header, without decoding it', async () => {
      const started = Date.now();
      const rss = process.memoryUsage().rss;
      const out = await run(input('bomb.jpg', await claimingSize(20000, 20000)), { source: sourceWith(''), takenAt: Date.now() });
      expect(out.metrics).toMatchObject({ width: 20000, height: 20000, rejection: { code: 'too-large', detail: '20000x20000 (400 MP) is above the limit of 120 MP' } });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024);
    });

    it('says what is wrong with a file that is not a JPEG at all', async () => {
      const source = sourceWith('');
      const png = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#000' } }).png().toBuffer();
      const cases: [string, Buffer | string, string, RegExp][] = [
        ['empty.jpg', Buffer.alloc(0), 'empty', /^the picture file is empty \(0 bytes\)$/],
        ['png.jpg', png, 'not-jpeg', /^expected a JPEG picture, got PNG$/],
        ['text.jpg', '<html>503 Service Unavailable</html>', 'not-jpeg', /^not a picture: .*unsupported image format/],
      ];
      for (const [name, data, code, message] of cases) {
        const error = await run(input(name, data), { source, takenAt: Date.now() }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PipelineError);
        expect([name, (error as PipelineError).code]).toEqual([name, code]);
        expect((error as PipelineError).message).toMatch(message);
      }
    });
  });
});
