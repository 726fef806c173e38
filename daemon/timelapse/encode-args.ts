/**
 * The ffmpeg command of a video, as data (STYLE §3): the concat list that names the
 * frame files, the input and output options, and the filter chain. Pure, so a
 * test can check every value; the runner only hands them to fluent-ffmpeg.
 */
import type { X264_PRESETS } from '../config/schema';

export type VideoEncoder = 'libx264' | 'h264_v4l2m2m';

export interface EncodeSettings {
  fps: number;
  /**
   * Frames per second read from the frames: `fps`, or fewer (as a fraction, "36/10") to make a
   * short film last its minimum (timelapse.*.minSeconds), each frame then held for several.
   */
  inputRate?: string;
  /** Output size, even sides. */
  width: number;
  height: number;
  crf: number;
  preset: (typeof X264_PRESETS)[number];
  encoder: VideoEncoder;
  /**
   * The file of each frame's factors (evening.ts gainCommands): the ramp's steps evened out and
   * the deflicker, before anything else.
   */
  gains?: string;
}

export interface Size {
  width: number;
  height: number;
}

/**
 * The video's size: `width` wide, with the aspect of most frames (a source whose
 * crop changed mid-period has frames of two shapes; the others are letterboxed).
 * Never wider than the frames, so nothing is upscaled.
 */
export function outputSize(frames: readonly Size[], width: number): Size & { fit: boolean } {
  const counts = new Map<string, { size: Size; n: number }>();
  for (const f of frames) {
    const key = `${f.width}x${f.height}`;
    const entry = counts.get(key) ?? { size: f, n: 0 };
    entry.n++;
    counts.set(key, entry);
  }
  const common = [...counts.values()].sort((a, b) => b.n - a.n)[0]?.size ?? { width, height: Math.round((width * 9) / 16) };
  const w = even(Math.min(width, common.width));
  const h = Math.max(2, even((w * common.height) / common.width));
  // Scaling is needed when any frame differs from the output size.
  const fit = counts.size > 1 || common.width !== w || common.height !== h;
  return { width: w, height: h, fit };
}

function even(n: number): number {
  return Math.max(2, 2 * Math.round(n / 2));
}

/**
 * A value inside a filter graph, escaped at both of its levels (ffmpeg-filters, "Notes on
 * filtergraph escaping"): the option's own (\ ' :), then the graph's (\ ' [ ] , ;).
 */
export function filterValue(text: string): string {
  const option = text.replace(/[\\':]/g, (c) => `\\${c}`);
  return option.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

/**
 * The filter chain: the frames' factors when given (the ramp evened out, the deflicker: no
 * frame is held, see deflicker.ts), fit to the output size when needed, then the encoder's
 * pixel format.
 */
export function videoFilters(s: EncodeSettings, fit: boolean): string {
  const chain: string[] = [];
  if (s.gains) chain.push(`sendcmd=f=${filterValue(s.gains)}`, 'lutyuv@gain=y=val:u=val:v=val');
  if (fit) {
    chain.push(`scale=${s.width}:${s.height}:force_original_aspect_ratio=decrease:flags=bicubic`);
    chain.push(`pad=${s.width}:${s.height}:(ow-iw)/2:(oh-ih)/2:color=black`, 'setsar=1');
  }
  chain.push('format=yuv420p');
  return chain.join(',');
}

/**
 * The largest frame each hardware encoder takes. The Raspberry Pi 4's h264_v4l2m2m (the
 * only one lapsebox uses) refuses anything wider than 1920 or taller than 1088 (H.264
 * level 4.2 in the VideoCore's firmware); the Pi 5 has no H.264 encoder at all.
 */
export const HARDWARE_LIMITS: Readonly<Record<Exclude<VideoEncoder, 'libx264'>, Size>> = { h264_v4l2m2m: { width: 1920, height: 1088 } };

/**
 * The encoder a film of `size` is made with: the box's `preferred` one (what its test
 * encode found), unless the hardware cannot take the size, which goes to libx264 at once;
 * `reason` says why when it is not the preferred one.
 */
export function encoderFor(preferred: VideoEncoder, size: Size): { encoder: VideoEncoder; reason: string | null } {
  if (preferred === 'libx264') return { encoder: preferred, reason: null };
  const limit = HARDWARE_LIMITS[preferred];
  if (size.width <= limit.width && size.height <= limit.height) return { encoder: preferred, reason: null };
  return { encoder: 'libx264', reason: `${size.width}x${size.height} is larger than ${preferred} takes (${limit.width}x${limit.height} at most)` };
}

/**
 * libx264's memory on a small box (issue 23): two threads that share each frame (sliced
 * threads) and a 5-frame lookahead (sync-lookahead off) instead of x264's defaults (1.5 frame
 * threads per core, 40 frames of lookahead for preset medium). Measured on a 2-core machine,
 * preset medium, crf 23: 300 noisy 1920x1080 frames peak at 248 MB with two frame threads and
 * a 10-frame lookahead instead of 503 MB, 64.8 s instead of 66.9 s, the same file size
 * (npm run bench -- timelapse prints both in one run); 5 frames take 35 MB more off (400
 * test-pattern frames with ffmpeg's deflicker filter: 263 MB against 298 MB, a 7.5 % smaller file, SSIM
 * 0.934 against 0.939); sliced threads instead of frame threads take 24 MB more off (120
 * 1080p frames of ffmpeg's testsrc2 with its deflicker filter: 242 MB against 266 MB, the file 0.1 %
 * larger, SSIM 0.9955 both), which the box's 450 MB budget needed beside a 24 MP capture
 * (npm run bench -- budget). On a 4-core Pi the encode leaves two cores to the captures,
 * which come first.
 */
export const X264_LOW_MEMORY: readonly string[] = ['-threads', '2', '-x264-params', 'rc-lookahead=5:sync-lookahead=0:sliced-threads=1'];

/** Bits per second for encoders that take no quality setting: about 0.1 bit per pixel. */
export function hardwareBitrate(s: Pick<EncodeSettings, 'width' | 'height' | 'fps'>): number {
  return Math.round((s.width * s.height * s.fps * 0.1) / 1000) * 1000;
}

export interface EncodeArgs {
  /** Before `-i <concat list>`. */
  input: string[];
  /** Before the output file. */
  output: string[];
}

/**
 * Frames come from a concat list of JPEG files, timestamped at `fps` on input
 * (`-r` before `-i`), so each file is one frame whatever its own timing.
 * `+faststart` puts the index first so a browser plays while downloading.
 */
export function encodeArgs(s: EncodeSettings, fit: boolean): EncodeArgs {
  const codec =
    s.encoder === 'libx264'
      ? ['-c:v', 'libx264', '-preset', s.preset, '-crf', String(s.crf), ...X264_LOW_MEMORY]
      : ['-c:v', 'h264_v4l2m2m', '-b:v', String(hardwareBitrate(s))];
  return {
    input: ['-f', 'concat', '-safe', '0', '-r', s.inputRate ?? String(s.fps)],
    output: ['-map', '0:v:0', '-an', '-sn', '-vf', videoFilters(s, fit), ...codec, '-pix_fmt', 'yuv420p', '-r', String(s.fps), '-movflags', '+faststart', '-f', 'mp4'],
  };
}

/**
 * The rate frames are read at so that `frames` last at least `minSeconds`: null when
 * they do at `fps`, else "frames/minSeconds" (ffmpeg takes a fraction), the output
 * staying at `fps` with each frame repeated.
 */
export function slowedRate(frames: number, fps: number, minSeconds: number): string | null {
  if (minSeconds <= 0 || frames >= fps * minSeconds) return null;
  return `${frames}/${minSeconds}`;
}

/** A film's phone rendition: its size, bit rate ceiling, and the x264 speed of the film it is made from. */
export interface PhoneSettings extends Size {
  fps: number;
  /** Bits per second at most. */
  maxBitrate: number;
  preset: (typeof X264_PRESETS)[number];
  encoder: VideoEncoder;
}

/**
 * The phone rendition's size: the film's shape at most `height` high (never larger than
 * the film), even sides; null when the film itself is that small and under the bit rate
 * ceiling, so that it is its own phone rendition.
 */
export function phoneSize(film: Size & { bitrate: number }, height: number, maxBitrate: number): Size | null {
  if (film.height <= height && film.bitrate > 0 && film.bitrate <= maxBitrate) return null;
  const h = even(Math.min(height, film.height));
  return { width: even((h * film.width) / film.height), height: h };
}

/**
 * The phone rendition, made from the finished film: scaled down, a constant quality
 * capped by a bit rate ceiling (VBV: -maxrate with a one-second buffer) so that it plays
 * while it downloads, H.264 main profile (every phone), a keyframe every two seconds
 * (seeking), the index first (+faststart).
 */
export function phoneArgs(s: PhoneSettings): EncodeArgs {
  // VBV at 90 % of the ceiling with a one-second buffer: over a 10-second film the whole file stays under the ceiling.
  const ceiling = Math.round(s.maxBitrate / 1000);
  const maxrate = Math.round(ceiling * 0.9);
  const codec =
    s.encoder === 'libx264'
      ? ['-c:v', 'libx264', '-preset', s.preset, '-crf', '26', '-maxrate', `${maxrate}k`, '-bufsize', `${ceiling}k`, '-profile:v', 'main', '-g', String(2 * s.fps), ...X264_LOW_MEMORY]
      : ['-c:v', 'h264_v4l2m2m', '-b:v', String(Math.min(Math.round(s.maxBitrate * 0.8), hardwareBitrate(s)))];
  return {
    input: [],
    output: ['-map', '0:v:0', '-an', '-sn', '-vf', `scale=${s.width}:${s.height}:flags=bicubic,format=yuv420p`, ...codec, '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4'],
  };
}

/**
 * The concat demuxer's list: one `file` line per frame, absolute paths quoted
 * (ffconcat escapes a quote as '\'' like a shell, but no shell ever reads it).
 */
export function concatList(files: readonly string[]): string {
  const lines = ['ffconcat version 1.0'];
  for (const f of files) {
    if (/[\n\r]/.test(f)) throw new Error(`a frame path contains a line break: ${JSON.stringify(f)}`);
    lines.push(`file '${f.replace(/'/g, `'\\''`)}'`);
  }
  return `${lines.join('\n')}\n`;
}

/** A short encode of a test pattern: does this encoder work on this box (the device, the driver)? */
export function encoderProbeArgs(encoder: VideoEncoder): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
    '-frames:v', '10',
    ...(encoder === 'libx264' ? ['-c:v', 'libx264'] : ['-c:v', encoder, '-b:v', '1000000']),
    '-pix_fmt', 'yuv420p', '-f', 'null', '-',
  ];
}
