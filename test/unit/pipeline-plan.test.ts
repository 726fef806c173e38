import path from 'node:path';
import { parseConfig } from '../../daemon/config/load';
import {
  evenSize,
  frameWidth,
  judge,
  legendText,
  meanLuminance,
  placeOverlay,
  planGeometry,
  planOutput,
  planOutputs,
  planPublicWidth,
  tooLarge,
  watermarkSize,
} from '../../daemon/pipeline/plan';
import { scaleMasks } from '../../daemon/pipeline/picture.pipeline';
import { readExif } from '../../daemon/pipeline/exif';
import sharp from 'sharp';

const source = (yaml = '') =>
  parseConfig(`appliance: { id: box, timezone: Europe/Paris }\nsources:\n  - id: north\n    name: North tower\n    camera: { driver: testpattern }\n${yaml}`, path.join('/tmp', 'lapsebox.yaml')).config
    .sources[0]!;

describe('planGeometry', () => {
  it('keeps the camera file as it is when nothing has to change', () => {
    const sut = planGeometry(source().image, { width: 6000, height: 4000, orientation: 1 });
    expect(sut).toMatchObject({ keepAsCaptured: true, size: { width: 6000, height: 4000 }, crop: null, masks: [], warnings: [] });
  });

  it('swaps the sides for a camera turned a quarter (EXIF orientation 6) and for rotate 90', () => {
    expect(planGeometry(source().image, { width: 6000, height: 4000, orientation: 6 })).toMatchObject({ keepAsCaptured: false, size: { width: 4000, height: 6000 } });
    const rotated = source('    image: { rotate: 90 }\n').image;
    expect(planGeometry(rotated, { width: 6000, height: 4000 }).size).toEqual({ width: 4000, height: 6000 });
    // Both: a half turn, sides as captured.
    expect(planGeometry(rotated, { width: 6000, height: 4000, orientation: 8 }).size).toEqual({ width: 6000, height: 4000 });
  });

  it('cuts the crop to the picture and says so; a crop outside keeps everything', () => {
    const image = source('    image: { crop: { left: 5000, top: 0, width: 2000, height: 1000 } }\n').image;
    const sut = planGeometry(image, { width: 6000, height: 4000 });
    expect(sut.crop).toEqual({ left: 5000, top: 0, width: 1000, height: 1000 });
    expect(sut.warnings).toEqual(['image.crop (2000x1000 at 5000,0) goes beyond the 6000x4000 picture; it was cut to 1000x1000 at 5000,0']);
    const outside = planGeometry(source('    image: { crop: { left: 7000, top: 0, width: 10, height: 10 } }\n').image, { width: 6000, height: 4000 });
    expect(outside).toMatchObject({ crop: null, keepAsCaptured: true });
    expect(outside.warnings[0]).toMatch(/is outside the 6000x4000 picture; the whole picture is kept/);
  });

  it('places masks in the stored picture: moved by the crop, clipped, and dropped with a warning when outside', () => {
    const image = source(
      '    image:\n      crop: { left: 1000, top: 500, width: 2000, height: 1000 }\n      privacyMasks:\n        - { left: 900, top: 600, width: 300, height: 100 }\n        - { left: 0, top: 0, width: 10, height: 10 }\n',
    ).image;
    const sut = planGeometry(image, { width: 6000, height: 4000 });
    expect(sut.masks).toEqual([{ left: 0, top: 100, width: 200, height: 100 }]);
    expect(sut.warnings).toEqual(['image.privacyMasks[1] (10x10 at 0,0) is outside the stored picture and hides nothing']);
    expect(sut.size).toEqual({ width: 2000, height: 1000 });
  });
});

describe('planOutputs', () => {
  it('makes thumb, small, preview and frame; the watermark adds customer sizes and goes on frames and the public picture', () => {
    const plain = planOutputs(source(), { width: 6000, height: 4000 });
    expect(plain.map((o) => [o.kind, o.size.width, o.size.height, o.legend, o.watermark])).toEqual([
      ['thumb', 320, 213, false, false],
      ['small', 640, 427, false, false],
      ['preview', 1280, 853, false, false],
      ['frame', 1920, 1280, false, false],
    ]);
    const full = planOutputs(
      source('    image: { legend: {}, watermark: { file: logo.png } }\n    public: { enabled: true, width: 800 }\n'),
      { width: 6000, height: 4000 },
    );
    expect(full.map((o) => [o.kind, o.size.width, o.legend, o.watermark])).toEqual([
      ['thumb', 320, false, false],
      ['small', 640, true, false],
      ['preview', 1280, true, false],
      ['thumb-wm', 320, false, true],
      ['small-wm', 640, true, true],
      ['preview-wm', 1280, true, true],
      ['frame', 1920, true, true],
      ['public', 800, true, true],
    ]);
  });

  it('never enlarges, and gives video frames even sides', () => {
    const small = planOutputs(source(), { width: 1001, height: 601 });
    expect(small.find((o) => o.kind === 'preview')!.size).toEqual({ width: 1001, height: 601 });
    expect(small.find((o) => o.kind === 'frame')!.size).toEqual({ width: 1000, height: 600 });
    expect(evenSize({ width: 1921, height: 1081 })).toEqual({ width: 1920, height: 1080 });
  });

  it('sizes frames for the widest enabled timelapse', () => {
    expect(frameWidth(source('    timelapse: { daily: { width: 1280 }, monthly: { enabled: true, width: 3840 } }\n'))).toBe(3840);
    expect(frameWidth(source('    timelapse: { daily: { enabled: false, width: 1280 } }\n'))).toBe(1280);
  });

  it('plans one size alone, the plain one when no watermark is configured', () => {
    expect(planOutput(source(), { width: 6000, height: 4000 }, 'public')).toMatchObject({ kind: 'public', size: { width: 1280 } });
    expect(planOutput(source(), { width: 6000, height: 4000 }, 'preview-wm')).toMatchObject({ kind: 'preview-wm', watermark: false, size: { width: 1280 } });
  });

  it('plans the public picture at another width of public.sizes like the public size, never wider than stored', () => {
    const north = source('    image: { legend: {}, watermark: { file: logo.png } }\n    public: { enabled: true, width: 1280, sizes: [640, 8000] }\n');
    const stored = { width: 6000, height: 4000 };
    expect(planPublicWidth(north, stored, 640)).toEqual({ ...planOutput(north, stored, 'public'), size: { width: 640, height: 427 } });
    expect(planPublicWidth(north, stored, 640)).toMatchObject({ legend: true, watermark: true, quality: 82 });
    expect(planPublicWidth(north, stored, 8000).size).toEqual(stored);
  });
});

describe('overlays', () => {
  const canvas = { width: 1000, height: 500 };
  const item = { width: 200, height: 50 };

  it.each([
    ['top-left', 10, 10],
    ['top-right', 790, 10],
    ['bottom-left', 10, 440],
    ['bottom-right', 790, 440],
    ['top', 400, 10],
    ['bottom', 400, 440],
    ['center', 400, 225],
  ] as const)('places %s', (position, left, top) => {
    expect(placeOverlay(position, canvas, item, 10)).toEqual({ left, top });
  });

  it('keeps an overlay larger than the picture inside it', () => {
    expect(placeOverlay('bottom-right', { width: 100, height: 40 }, item, 10)).toEqual({ left: 0, top: 0 });
  });

  it('scales the watermark to the output width, and never taller than a third of it', () => {
    expect(watermarkSize({ width: 1920, height: 1080 }, { width: 600, height: 200 }, 0.2)).toEqual({ width: 384, height: 128 });
    expect(watermarkSize({ width: 320, height: 213 }, { width: 600, height: 200 }, 0.2)).toEqual({ width: 64, height: 21 });
    expect(watermarkSize({ width: 1000, height: 300 }, { width: 100, height: 400 }, 0.2)).toEqual({ width: 25, height: 100 });
  });
});

describe('legendText', () => {
  it('fills the placeholders in the appliance time zone, across a DST change', () => {
    const values = { source: source(), applianceId: 'box', timezone: 'Europe/Paris' };
    // 2026-03-29 01:30 UTC is 03:30 in Paris, an hour after clocks went forward.
    expect(legendText('{source} ({id}@{appliance}) {date} {time}', { ...values, at: Date.UTC(2026, 2, 29, 1, 30, 0) })).toBe('North tower (north@box) 2026-03-29 03:30:00');
    expect(legendText('{date} {time}', { ...values, at: Date.UTC(2026, 2, 28, 23, 30, 0) })).toBe('2026-03-29 00:30:00');
  });

  it('is refused by the config check when it names an unknown placeholder', () => {
    expect(() => source('    image: { legend: { text: "{source} {temperature}" } }\n')).toThrow(
      'sources[0].image.legend.text: unknown placeholder {temperature} (allowed: {source}, {id}, {appliance}, {date}, {time})',
    );
  });
});

describe('judge', () => {
  const reject = source('    image: { reject: { darkerThan: 20, brighterThan: 240 } }\n').image.reject;

  it('rejects too small, too dark and too bright pictures, with the figures', () => {
    expect(judge({ width: 1, height: 1, luminance: 100 }, reject)).toEqual({ code: 'too-small', detail: '1x1 is smaller than 64x64 (image.reject.minWidth, minHeight)' });
    expect(judge({ width: 640, height: 480, luminance: 3.14 }, reject)).toEqual({ code: 'too-dark', detail: 'mean luminance 3.1 is below 20 (image.reject.darkerThan)' });
    expect(judge({ width: 640, height: 480, luminance: 250 }, reject)?.code).toBe('too-bright');
    expect(judge({ width: 640, height: 480, luminance: 128 }, reject)).toBeNull();
  });

  it('leaves dark and bright pictures alone unless asked', () => {
    expect(judge({ width: 640, height: 480, luminance: 0 }, source().image.reject)).toBeNull();
  });

  it('refuses decompression bombs before decoding', () => {
    expect(tooLarge({ width: 20000, height: 20000 })).toEqual({ code: 'too-large', detail: '20000x20000 (400 MP) is above the limit of 120 MP' });
    expect(tooLarge({ width: 6000, height: 4000 })).toBeNull();
  });

  it('weighs the channels like Rec. 709', () => {
    expect(meanLuminance([255, 0, 0])).toBeCloseTo(54.2, 1);
    expect(meanLuminance([100, 100, 100])).toBeCloseTo(100, 5);
    expect(meanLuminance([42])).toBe(42);
  });
});

describe('scaleMasks', () => {
  it('scales masks and grows them by the reach of the resampling, inside the picture', () => {
    expect(scaleMasks([{ left: 600, top: 300, width: 300, height: 300 }], { width: 6000, height: 4000 }, { width: 1200, height: 800 })).toEqual([
      { left: 114, top: 54, width: 72, height: 72 },
    ]);
    expect(scaleMasks([{ left: 0, top: 0, width: 6000, height: 10 }], { width: 6000, height: 4000 }, { width: 320, height: 213 })).toEqual([
      { left: 0, top: 0, width: 320, height: 7 },
    ]);
  });
});

describe('readExif', () => {
  const withExif = (exif: sharp.Exif) => sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).withExif(exif).jpeg().toBuffer();
  const exifOf = async (jpeg: Buffer) => (await sharp(jpeg).metadata()).exif;

  it('reads the capture time in the appliance time zone, or at the offset the camera wrote', async () => {
    const local = await exifOf(await withExif({ IFD0: { Make: 'Canon', Model: 'EOS 90D' }, IFD2: { DateTimeOriginal: '2026:07:01 12:00:00' } }));
    expect(readExif(local, 'Europe/Paris')).toEqual({ takenAt: Date.UTC(2026, 6, 1, 10, 0, 0), make: 'Canon', model: 'EOS 90D', dateTimeOriginal: '2026:07:01 12:00:00' });
    const offset = await exifOf(await withExif({ IFD2: { DateTimeOriginal: '2026:07:01 12:00:00', OffsetTimeOriginal: '+05:30', SubSecTimeOriginal: '25' } }));
    expect(readExif(offset, 'Europe/Paris').takenAt).toBe(Date.UTC(2026, 6, 1, 6, 30, 0, 250));
  });

  it('has no time when the camera gives none or garbage', async () => {
    expect(readExif(undefined, 'UTC')).toEqual({ takenAt: null });
    expect(readExif(Buffer.from('Exif\0\0garbage that is not TIFF'), 'UTC')).toEqual({ takenAt: null });
    expect(readExif(await exifOf(await withExif({ IFD2: { DateTimeOriginal: '0000:00:00 00:00:00' } })), 'UTC').takenAt).toBeNull();
  });
});
