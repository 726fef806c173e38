/**
 * The pure parts of the videos: frame selection (windows, minimum interval, DST
 * days), the periods scheduled videos cover, custom requests, and the ffmpeg
 * command as data.
 */
import { DateTime } from 'luxon';
import { duePeriod, parsePeriod, selectFrames, thin, MAX_FRAMES, type FrameCandidate } from '../../daemon/timelapse/frames';
import { concatList, encodeArgs, encoderFor, encoderProbeArgs, hardwareBitrate, outputSize, phoneArgs, phoneSize, slowedRate, videoFilters, type EncodeSettings } from '../../daemon/timelapse/encode-args';
import { customSpec, scheduledSpec } from '../../daemon/timelapse/video-spec';
import { parseConfig } from '../../daemon/config/load';
import { AppError } from '../../daemon/errors';

const TZ = 'Europe/Paris';
const at = (local: string) => DateTime.fromISO(local, { zone: TZ }).toMillis();

/** One picture every `stepMin` minutes from `startLocal` for `hours` hours. */
function every(startLocal: string, stepMin: number, hours: number): FrameCandidate[] {
  const start = at(startLocal);
  const out: FrameCandidate[] = [];
  for (let i = 0; i * stepMin * 60_000 < hours * 3_600_000; i++) out.push({ id: i + 1, takenAt: start + i * stepMin * 60_000 });
  return out;
}
const localTimes = (frames: FrameCandidate[]) => frames.map((f) => DateTime.fromMillis(f.takenAt, { zone: TZ }).toFormat('yyyy-LL-dd HH:mm'));

describe('selectFrames', () => {
  it('keeps the pictures of the period, in time order, whatever order they come in', () => {
    const all = every('2026-11-22T00:00', 60, 48).reverse();
    const sut = selectFrames(all, { from: at('2026-11-22T00:00'), to: at('2026-11-23T00:00'), timezone: TZ });
    expect(sut.frames).toHaveLength(24);
    expect(localTimes(sut.frames)[0]).toBe('2026-11-22 00:00');
    expect(localTimes(sut.frames).at(-1)).toBe('2026-11-22 23:00');
  });

  it('keeps only the daily window, on the local clock', () => {
    const all = every('2026-03-02T00:00', 30, 72);
    const sut = selectFrames(all, { from: at('2026-03-02T00:00'), to: at('2026-03-05T00:00'), timezone: TZ, keepFrom: '08:00', keepTo: '18:00' });
    expect(sut.frames).toHaveLength(3 * 20);
    expect(localTimes(sut.frames).slice(0, 2)).toEqual(['2026-03-02 08:00', '2026-03-02 08:30']);
    expect(localTimes(sut.frames)[19]).toBe('2026-03-02 17:30');
  });

  it('wraps a window that ends before it starts past midnight', () => {
    const all = every('2026-06-10T00:00', 60, 24);
    const sut = selectFrames(all, { from: at('2026-06-10T00:00'), to: at('2026-06-11T00:00'), timezone: TZ, keepFrom: '22:00', keepTo: '02:00' });
    expect(localTimes(sut.frames)).toEqual(['2026-06-10 00:00', '2026-06-10 01:00', '2026-06-10 22:00', '2026-06-10 23:00']);
  });

  it('keeps the working days only when asked', () => {
    // 2026-03-01 is a Sunday.
    const all = every('2026-03-01T12:00', 1440, 7 * 24);
    const sut = selectFrames(all, { from: at('2026-03-01T00:00'), to: at('2026-03-08T00:00'), timezone: TZ, weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'] });
    expect(localTimes(sut.frames).map((t) => t.slice(0, 10))).toEqual(['2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06']);
  });

  it('leaves at least minInterval between two frames, counted from the last one kept', () => {
    // Irregular captures: 0, 4, 7, 10, 16, 19, 20 minutes.
    const start = at('2026-05-01T10:00');
    const all = [0, 4, 7, 10, 16, 19, 20].map((m, i) => ({ id: i + 1, takenAt: start + m * 60_000 }));
    const sut = selectFrames(all, { from: start, to: start + 3_600_000, timezone: TZ, minIntervalMs: 10 * 60_000 });
    expect(sut.frames.map((f) => (f.takenAt - start) / 60_000)).toEqual([0, 10, 20]);
  });

  it('counts a 23-hour day right: the spring DST change', () => {
    // 2026-03-29 in Paris: 02:00 becomes 03:00.
    const day = { from: at('2026-03-29T00:00'), to: at('2026-03-30T00:00') };
    expect((day.to - day.from) / 3_600_000).toBe(23);
    const all = every('2026-03-28T00:00', 60, 72);
    const sut = selectFrames(all, { ...day, timezone: TZ });
    expect(sut.frames).toHaveLength(23);
    expect(localTimes(sut.frames)).not.toContain('2026-03-29 02:00');
  });

  it('counts a 25-hour day right and keeps both 02:30s in a window: the autumn DST change', () => {
    // 2026-10-25 in Paris: 03:00 becomes 02:00 again.
    const day = { from: at('2026-10-25T00:00'), to: at('2026-10-26T00:00') };
    expect((day.to - day.from) / 3_600_000).toBe(25);
    const all = every('2026-10-24T00:00', 30, 72);
    expect(selectFrames(all, { ...day, timezone: TZ }).frames).toHaveLength(50);
    const night = selectFrames(all, { ...day, timezone: TZ, keepFrom: '02:00', keepTo: '03:00' });
    expect(localTimes(night.frames)).toEqual(['2026-10-25 02:00', '2026-10-25 02:30', '2026-10-25 02:00', '2026-10-25 02:30']);
  });

  it('thins evenly to maxFrames, keeping the first and the last, and says how many matched', () => {
    const all = every('2026-11-01T00:00', 1, 24 * 7);
    const sut = selectFrames(all, { from: at('2026-11-01T00:00'), to: at('2026-11-08T00:00'), timezone: TZ, maxFrames: 1500 });
    expect(sut.matched).toBe(7 * 1440);
    expect(sut.frames).toHaveLength(1500);
    expect(sut.frames[0]).toBe(all[0]);
    expect(sut.frames.at(-1)).toBe(all.at(-1));
    const gaps = sut.frames.slice(1).map((f, i) => f.takenAt - sut.frames[i]!.takenAt);
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(60_000);
  });

  it('finds nothing in an empty period', () => {
    expect(selectFrames([], { from: 0, to: 1, timezone: TZ }).frames).toEqual([]);
  });
});

describe('thin', () => {
  it('keeps everything under the limit and one item for a limit of 1', () => {
    expect(thin([1, 2, 3], 5)).toEqual([1, 2, 3]);
    expect(thin([1, 2, 3], 1)).toEqual([1]);
    expect(thin([1, 2, 3, 4, 5], 3)).toEqual([1, 3, 5]);
  });
});

describe('duePeriod', () => {
  it('gives yesterday once the daily time has passed, the day before until then', () => {
    expect(duePeriod('daily', at('2026-11-23T00:31'), '00:30', TZ).label).toBe('2026-11-22');
    expect(duePeriod('daily', at('2026-11-23T00:29'), '00:30', TZ).label).toBe('2026-11-21');
    const p = duePeriod('daily', at('2026-11-23T09:00'), '00:30', TZ);
    expect([p.from, p.to]).toEqual([at('2026-11-22T00:00'), at('2026-11-23T00:00')]);
  });

  it('covers the 23-hour and 25-hour days whole', () => {
    const spring = duePeriod('daily', at('2026-03-30T06:00'), '00:30', TZ);
    expect(spring.label).toBe('2026-03-29');
    expect((spring.to - spring.from) / 3_600_000).toBe(23);
    const autumn = duePeriod('daily', at('2026-10-26T06:00'), '00:30', TZ);
    expect((autumn.to - autumn.from) / 3_600_000).toBe(25);
  });

  it('gives the last ISO week on Mondays and the last month on the 1st', () => {
    // 2026-11-23 is a Monday.
    expect(duePeriod('weekly', at('2026-11-23T01:00'), '00:30', TZ)).toMatchObject({ label: '2026-W47', from: at('2026-11-16T00:00'), to: at('2026-11-23T00:00') });
    expect(duePeriod('weekly', at('2026-11-23T00:10'), '00:30', TZ).label).toBe('2026-W46');
    expect(duePeriod('monthly', at('2026-12-01T01:00'), '00:30', TZ)).toMatchObject({ label: '2026-11', from: at('2026-11-01T00:00'), to: at('2026-12-01T00:00') });
    expect(duePeriod('monthly', at('2026-11-30T23:00'), '00:30', TZ).label).toBe('2026-10');
    expect(duePeriod('weekly', at('2027-01-04T02:00'), '00:30', TZ).label).toBe('2026-W53');
  });
});

describe('parsePeriod', () => {
  it('takes local days with the last one included', () => {
    expect(parsePeriod('2026-03-01', '2026-03-31', TZ)).toEqual({ from: at('2026-03-01T00:00'), to: at('2026-04-01T00:00') });
  });

  it('takes date and time, the end excluded', () => {
    expect(parsePeriod('2026-03-01T08:00', '2026-03-01T18:00', TZ)).toEqual({ from: at('2026-03-01T08:00'), to: at('2026-03-01T18:00') });
  });

  it('refuses from after to, nonsense, and ten years, naming the field', () => {
    expect(() => parsePeriod('2026-03-10', '2026-03-01', TZ)).toThrow(/"to" \(2026-03-01\) must come after "from"/);
    expect(() => parsePeriod('yesterday', '2026-03-01', TZ)).toThrow(expect.objectContaining({ field: 'from' }));
    expect(() => parsePeriod('2016-01-01', '2025-12-31', TZ)).toThrow(/at most 366 days; .* is 3653 days/);
    expect(parsePeriod('2028-01-01', '2028-12-31', TZ).to - at('2028-01-01T00:00')).toBe(366 * 86_400_000);
  });
});

describe('video specs', () => {
  const { config } = parseConfig(
    [
      'appliance: { id: box, timezone: Europe/Paris }',
      'sources:',
      '  - id: north',
      '    camera: { driver: testpattern }',
      '    timelapse:',
      '      daily: { width: 1280, fps: 30, crf: 20, keepFrom: "07:00", keepTo: "19:00" }',
      '      weekly: { enabled: true, maxSeconds: 40, fps: 25, width: 1280 }',
      '',
    ].join('\n'),
    '/etc/lapsebox/lapsebox.yaml',
  );
  const source = config.sources[0]!;

  it('scheduled videos take the kind settings, thinned to maxSeconds', () => {
    const period = duePeriod('weekly', at('2026-11-23T01:00'), '00:30', TZ);
    expect(scheduledSpec(source, 'weekly', period)).toMatchObject({ kind: 'weekly', maxFrames: 1000, fps: 25, width: 1280, minFrames: 10 });
    expect(scheduledSpec(source, 'daily', period)).toMatchObject({ keepFrom: '07:00', keepTo: '19:00', maxFrames: MAX_FRAMES, width: 1280, crf: 20, deflicker: true });
  });

  it('custom videos default to the daily settings', () => {
    const { spec } = customSpec({ from: '2026-03-01', to: '2026-03-31', minInterval: '10m', weekdays: ['mon', 'fri'] }, source, TZ);
    expect(spec).toMatchObject({ kind: 'custom', fps: 30, width: 1280, crf: 20, minIntervalMs: 600_000, weekdays: ['mon', 'fri'], minFrames: 2, minSeconds: 0 });
    expect(customSpec({ from: '2026-03-01', to: '2026-03-31', minSeconds: 20 }, source, TZ).spec.minSeconds).toBe(20);
  });

  it('daily films last at least 10 s by default, and every film gets a 720p phone rendition under 1 Mbit/s', () => {
    const period = duePeriod('daily', at('2026-11-23T01:00'), '00:30', TZ);
    expect(scheduledSpec(source, 'daily', period)).toMatchObject({ minSeconds: 10, phone: { height: 720, maxBitrate: 1_000_000 } });
    expect(scheduledSpec(source, 'weekly', period)).toMatchObject({ minSeconds: 0, phone: { height: 720, maxBitrate: 1_000_000 } });
    const { config: off } = parseConfig('appliance: { id: box, timezone: Europe/Paris }\nsources:\n  - id: north\n    camera: { driver: testpattern }\n    timelapse: { phone: { enabled: false } }\n', '/etc/lapsebox/lapsebox.yaml');
    expect(scheduledSpec(off.sources[0]!, 'daily', period).phone).toBeNull();
    const { config: slow } = parseConfig('appliance: { id: box, timezone: Europe/Paris }\nsources:\n  - id: north\n    camera: { driver: testpattern }\n    timelapse: { phone: { height: 480, maxBitrate: 600kbit/s } }\n', '/etc/lapsebox/lapsebox.yaml');
    expect(scheduledSpec(slow.sources[0]!, 'daily', period).phone).toEqual({ height: 480, maxBitrate: 600_000 });
  });

  it.each([
    ['timelapse: { phone: { maxBitrate: fast } }', 'sources[0].timelapse.phone.maxBitrate', /bit rate from 100kbit\/s to 50Mbit\/s/],
    ['timelapse: { phone: { height: 721 } }', 'sources[0].timelapse.phone.height', /even height/],
    ['timelapse: { daily: { minSeconds: 601 } }', 'sources[0].timelapse.daily.minSeconds', /600/],
  ])('refuses %s with an error on %s', (yaml, path, message) => {
    try {
      parseConfig(`appliance: { id: box, timezone: Europe/Paris }\nsources:\n  - id: north\n    camera: { driver: testpattern }\n    ${yaml}\n`, '/etc/lapsebox/lapsebox.yaml');
      throw new Error('accepted');
    } catch (err) {
      expect(String((err as Error).message)).toContain(path);
      expect(String((err as Error).message)).toMatch(message);
    }
  });

  it.each([
    [{ from: '2026-03-01', to: '2026-03-02', fps: 0 }, 'fps', /at least 1 frame per second/],
    [{ from: '2026-03-01', to: '2026-03-02', width: 7 }, 'width', /at least 16 pixels/],
    [{ from: '2026-03-01', to: '2026-03-02', width: 101 }, 'width', /even width/],
    [{ from: '2026-03-01', to: '2026-03-02', width: 1920 }, 'width', /at most 1280: the frames of source "north" are 1280 wide/],
    [{ from: '2026-03-10', to: '2026-03-01' }, 'to', /must come after/],
    [{ from: '2016-01-01', to: '2025-12-31' }, 'to', /at most 366 days/],
    [{ to: '2026-03-01' }, 'from', /required/],
    [{ from: '2026-03-01', to: '2026-03-02', keepFrom: '25:00' }, 'keepFrom', /HH:MM/],
    [{ from: '2026-03-01', to: '2026-03-02', minInterval: 'often' }, 'minInterval', /duration/],
    [{ from: '2026-03-01', to: '2026-03-02', shell: '$(reboot)' }, 'shell', /unknown field "shell"/],
  ])('refuses %j with a message on %s', (body, field, message) => {
    try {
      customSpec(body, source, TZ);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).kind).toBe('invalid');
      expect((err as AppError).details?.[field]).toMatch(message);
    }
  });
});

describe('encoderFor', () => {
  it('keeps the hardware encoder up to 1920x1088 and sends anything larger to libx264, saying why', () => {
    expect(encoderFor('h264_v4l2m2m', { width: 1920, height: 1080 })).toEqual({ encoder: 'h264_v4l2m2m', reason: null });
    expect(encoderFor('h264_v4l2m2m', { width: 1440, height: 1088 })).toEqual({ encoder: 'h264_v4l2m2m', reason: null });
    expect(encoderFor('h264_v4l2m2m', { width: 1922, height: 1080 })).toEqual({ encoder: 'libx264', reason: '1922x1080 is larger than h264_v4l2m2m takes (1920x1088 at most)' });
    // A portrait crop: narrow enough, but too tall.
    expect(encoderFor('h264_v4l2m2m', { width: 1080, height: 1920 }).encoder).toBe('libx264');
    expect(encoderFor('libx264', { width: 3840, height: 2160 })).toEqual({ encoder: 'libx264', reason: null });
  });
});

describe('encodeArgs', () => {
  const settings: EncodeSettings = { fps: 25, width: 1920, height: 1080, crf: 23, preset: 'medium', encoder: 'libx264' };

  it('feeds the concat list at fps and encodes H.264 for every browser', () => {
    const sut = encodeArgs(settings, false);
    expect(sut.input).toEqual(['-f', 'concat', '-safe', '0', '-r', '25']);
    expect(sut.output).toEqual([
      '-map', '0:v:0', '-an', '-sn',
      '-vf', 'format=yuv420p',
      '-c:v', 'libx264', '-preset', 'medium', '-crf', '23',
      // Two frame threads and a short lookahead: half the memory of x264's defaults (issue 23).
      '-threads', '2', '-x264-params', 'rc-lookahead=5:sync-lookahead=0:sliced-threads=1',
      '-pix_fmt', 'yuv420p', '-r', '25', '-movflags', '+faststart', '-f', 'mp4',
    ]);
  });

  it('fits frames of another size (the deflicker is in the frames\' gains: no filter holds frames)', () => {
    expect(videoFilters(settings, true)).toBe(
      'scale=1920:1080:force_original_aspect_ratio=decrease:flags=bicubic,pad=1920:1080:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p',
    );
  });

  it('gives the hardware encoder a bitrate instead of a crf', () => {
    const sut = encodeArgs({ ...settings, encoder: 'h264_v4l2m2m' }, false);
    expect(sut.output).toContain('h264_v4l2m2m');
    expect(sut.output).not.toContain('-crf');
    expect(sut.output).not.toContain('-x264-params');
    expect(sut.output[sut.output.indexOf('-b:v') + 1]).toBe(String(hardwareBitrate(settings)));
    expect(hardwareBitrate(settings)).toBe(5_184_000);
    expect(encoderProbeArgs('h264_v4l2m2m')).toEqual(expect.arrayContaining(['-c:v', 'h264_v4l2m2m', '-f', 'null']));
  });
});

describe('short films and phone renditions', () => {
  it('slows a film shorter than its minimum: frames read at frames/minSeconds, none when it is long enough', () => {
    // A 20-minute schedule from 07:00 to 19:00: 36 pictures, 1.44 s at 25 fps.
    expect(slowedRate(36, 25, 10)).toBe('36/10');
    expect(slowedRate(250, 25, 10)).toBeNull();
    expect(slowedRate(400, 25, 10)).toBeNull();
    expect(slowedRate(36, 25, 0)).toBeNull();
    const sut = encodeArgs({ fps: 25, inputRate: '36/10', width: 1280, height: 720, crf: 23, preset: 'medium', encoder: 'libx264' }, false);
    expect(sut.input).toEqual(['-f', 'concat', '-safe', '0', '-r', '36/10']);
    // The output stays at fps: each picture is repeated.
    expect(sut.output.slice(sut.output.indexOf('-r'), sut.output.indexOf('-r') + 2)).toEqual(['-r', '25']);
  });

  it('sizes the phone rendition to 720 high in the film\'s shape, or none when the film is small enough and under the ceiling', () => {
    expect(phoneSize({ width: 1920, height: 1080, bitrate: 8e6 }, 720, 1e6)).toEqual({ width: 1280, height: 720 });
    expect(phoneSize({ width: 6000, height: 4000, bitrate: 8e6 }, 720, 1e6)).toEqual({ width: 1080, height: 720 });
    expect(phoneSize({ width: 1000, height: 752, bitrate: 8e6 }, 720, 1e6)).toEqual({ width: 958, height: 720 });
    // Small but too heavy: the same size, under the ceiling.
    expect(phoneSize({ width: 640, height: 360, bitrate: 3e6 }, 720, 1e6)).toEqual({ width: 640, height: 360 });
    expect(phoneSize({ width: 640, height: 360, bitrate: 600e3 }, 720, 1e6)).toBeNull();
  });

  it('encodes the rendition with a bit rate ceiling, main profile, a keyframe every 2 s and its index first', () => {
    const sut = phoneArgs({ width: 1280, height: 720, fps: 25, maxBitrate: 1_000_000, preset: 'medium', encoder: 'libx264' });
    expect(sut.input).toEqual([]);
    expect(sut.output).toEqual([
      '-map', '0:v:0', '-an', '-sn', '-vf', 'scale=1280:720:flags=bicubic,format=yuv420p',
      '-c:v', 'libx264', '-preset', 'medium', '-crf', '26', '-maxrate', '900k', '-bufsize', '1000k', '-profile:v', 'main', '-g', '50',
      '-threads', '2', '-x264-params', 'rc-lookahead=5:sync-lookahead=0:sliced-threads=1',
      '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4',
    ]);
    const hw = phoneArgs({ width: 1280, height: 720, fps: 25, maxBitrate: 1_000_000, preset: 'medium', encoder: 'h264_v4l2m2m' });
    expect(hw.output[hw.output.indexOf('-b:v') + 1]).toBe('800000');
  });
});

describe('outputSize', () => {
  it('takes the shape of most frames, never wider than they are, with even sides', () => {
    expect(outputSize([{ width: 1920, height: 1080 }], 1920)).toEqual({ width: 1920, height: 1080, fit: false });
    expect(outputSize([{ width: 1920, height: 1080 }], 1280)).toEqual({ width: 1280, height: 720, fit: true });
    expect(outputSize([{ width: 1280, height: 720 }], 1920)).toEqual({ width: 1280, height: 720, fit: false });
    expect(outputSize([{ width: 1920, height: 1080 }, { width: 1920, height: 1080 }, { width: 1920, height: 1440 }], 1920)).toEqual({ width: 1920, height: 1080, fit: true });
    expect(outputSize([{ width: 1000, height: 751 }], 1000)).toEqual({ width: 1000, height: 752, fit: true });
  });
});

describe('concatList', () => {
  it('quotes every path, quotes inside paths too, and refuses line breaks', () => {
    expect(concatList(['/data/a.jpg', "/data/it's.jpg"])).toBe("ffconcat version 1.0\nfile '/data/a.jpg'\nfile '/data/it'\\''s.jpg'\n");
    expect(() => concatList(['/data/a\nfile /etc/passwd'])).toThrow(/line break/);
  });
});
