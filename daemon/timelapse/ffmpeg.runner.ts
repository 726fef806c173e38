/**
 * The only place videos meet ffmpeg (STYLE §2): runs an encode through fluent-ffmpeg
 * at low priority, reports progress, stops on an AbortSignal, reads a file back with
 * ffprobe, and says which H.264 encoder works on this box. Failures come out as
 * EncodeError with a code the job runner can act on and a message a person can.
 */
import ffmpeg from 'fluent-ffmpeg';
import { runCommand, CommandNotFoundError, tail } from '../process';
import { encoderProbeArgs, type VideoEncoder } from './encode-args';
import { messageOf } from '../error-causes';

export type EncodeErrorCode = 'ffmpeg-missing' | 'cancelled' | 'no-space' | 'bad-frame' | 'timeout' | 'failed';

export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  constructor(
    readonly code: EncodeErrorCode,
    message: string,
    /** For 'bad-frame': the frame file ffmpeg could not read. */
    readonly file?: string,
  ) {
    super(message);
  }
}

export interface EncodeJob {
  /** What ffmpeg reads: the concat list of a film's frames, or the film a rendition is made from. */
  inputFile: string;
  output: string;
  input: readonly string[];
  options: readonly string[];
  /** Frames the output will have, for the percentage. */
  totalFrames: number;
  signal?: AbortSignal;
  onProgress?: (percent: number, frames: number) => void;
  /** Called with the ffmpeg process id once it runs (the benchmark reads its memory). */
  onStart?: (pid: number) => void;
  timeoutMs?: number;
}

export interface Probe {
  durationMs: number;
  frames: number;
  width: number;
  height: number;
  codec: string;
  size: number;
  /** Bits per second over the whole file. */
  bitrate: number;
}

export interface FfmpegRunnerOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Added to the daemon's niceness: captures and the web keep the CPU first. Default 10. */
  niceness?: number;
}

export class FfmpegRunner {
  readonly #ffmpegPath: string;
  readonly #ffprobePath: string;
  readonly #niceness: number;
  #version: Promise<string> | null = null;
  #encoder: Promise<VideoEncoder> | null = null;

  constructor(options: FfmpegRunnerOptions = {}) {
    this.#ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
    this.#ffprobePath = options.ffprobePath ?? 'ffprobe';
    this.#niceness = options.niceness ?? 10;
  }

  /**
   * ffmpeg's version line, checked once and remembered when it works; an EncodeError
   * 'ffmpeg-missing' that says what to install when ffmpeg or ffprobe cannot run.
   */
  version(): Promise<string> {
    this.#version ??= (async () => {
      const line = await versionOf(this.#ffmpegPath, 'ffmpeg');
      await versionOf(this.#ffprobePath, 'ffprobe');
      return line;
    })();
    // A failure is not remembered: ffmpeg may be installed while the daemon runs.
    this.#version.catch(() => {
      this.#version = null;
    });
    return this.#version;
  }

  /** h264_v4l2m2m (the Raspberry Pi's encoder) when ffmpeg has it and a test encode works, else libx264. */
  encoder(options: TestEncodeOptions = {}): Promise<VideoEncoder> {
    this.#encoder ??= (async () => ((await testEncode(this.#ffmpegPath, 'h264_v4l2m2m', options)) === null ? 'h264_v4l2m2m' : 'libx264'))();
    return this.#encoder;
  }

  encode(job: EncodeJob): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (job.signal?.aborted) return reject(new EncodeError('cancelled', 'the video was cancelled'));
      const command = ffmpeg(job.inputFile, { niceness: this.#niceness, stdoutLines: 0 })
        .setFfmpegPath(this.#ffmpegPath)
        .inputOptions(['-nostdin', '-hide_banner', ...job.input])
        .outputOptions([...job.options])
        .output(job.output);
      let cancelled = false;
      let timedOut = false;
      let settled = false;
      const onAbort = () => {
        cancelled = true;
        command.kill('SIGKILL');
      };
      job.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = job.timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            command.kill('SIGKILL');
          }, job.timeoutMs)
        : null;
      timer?.unref();
      const done = (err?: EncodeError) => {
        if (settled) return;
        settled = true;
        job.signal?.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      command.on('start', () => {
        const pid = (command as unknown as { ffmpegProc?: { pid?: number } }).ffmpegProc?.pid;
        if (pid !== undefined) job.onStart?.(pid);
      });
      command.on('progress', (p: { frames?: number }) => {
        const frames = Number.isFinite(p.frames) ? p.frames! : 0;
        job.onProgress?.(Math.min(99.9, (100 * frames) / Math.max(1, job.totalFrames)), frames);
      });
      command.on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
        if (cancelled) return done(new EncodeError('cancelled', 'the video was cancelled'));
        if (timedOut) return done(new EncodeError('timeout', `ffmpeg took longer than ${Math.round(job.timeoutMs! / 1000)} s and was stopped`));
        done(classify(err, stderr ?? '', this.#ffmpegPath));
      });
      command.on('end', () => done());
      command.run();
    });
  }

  /** What ffprobe reads back from a finished video. */
  probe(file: string): Promise<Probe> {
    return new Promise((resolve, reject) => {
      ffmpeg(file).setFfprobePath(this.#ffprobePath).ffprobe((err: Error | null, data: ffmpeg.FfprobeData) => {
        if (err) return reject(new EncodeError('failed', `ffprobe could not read ${file}: ${tail(String(err.message ?? err), 2)}`));
        const video = data.streams.find((s) => s.codec_type === 'video');
        if (!video) return reject(new EncodeError('failed', `ffprobe found no video stream in ${file}`));
        const durationS = Number(video.duration ?? data.format.duration);
        resolve({
          durationMs: Math.round((Number.isFinite(durationS) ? durationS : 0) * 1000),
          frames: Number(video.nb_frames ?? 0),
          width: video.width ?? 0,
          height: video.height ?? 0,
          codec: video.codec_name ?? 'unknown',
          size: Number(data.format.size ?? 0),
          bitrate: Math.round(Number(data.format.bit_rate ?? 0)) || 0,
        });
      });
    });
  }
}

export interface TestEncodeOptions {
  /** The environment ffmpeg runs with (its PATH); the process's by default. */
  env?: NodeJS.ProcessEnv;
  /** Stops the test encode early. */
  signal?: AbortSignal;
  /** Default 20 s. */
  timeoutMs?: number;
}

/** A tiny test encode with `encoder`: null when it works, else why not (ffmpeg's last words). Also used by `lapsebox doctor`. */
export async function testEncode(program: string, encoder: VideoEncoder, options: TestEncodeOptions = {}): Promise<string | null> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 20_000);
  try {
    const result = await runCommand(program, encoderProbeArgs(encoder), { signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout, ...(options.env ? { env: options.env } : {}) });
    if (result.code === 0 && !result.aborted) return null;
    return tail(result.stderr) || (result.aborted ? 'timed out' : `exit code ${result.code}`);
  } catch (err) {
    return err instanceof CommandNotFoundError ? `${program} is not installed` : messageOf(err);
  }
}

/** The first line of `<program> -version`; an EncodeError 'ffmpeg-missing' that says what to install otherwise. Also used by `lapsebox doctor`. */
export async function versionOf(program: string, name: string): Promise<string> {
  try {
    const result = await runCommand(program, ['-version'], { signal: AbortSignal.timeout(10_000) });
    const line = result.stdout.split('\n')[0]?.trim() ?? '';
    if (result.code !== 0 || !line.startsWith(name)) throw new Error(tail(result.stderr || result.stdout) || `exit code ${result.code}`);
    return line;
  } catch (err) {
    if (err instanceof CommandNotFoundError) {
      throw new EncodeError('ffmpeg-missing', `${name} is not installed (cannot run "${program}"): videos cannot be built; install it with "apt install ffmpeg"`);
    }
    throw new EncodeError('ffmpeg-missing', `${name} does not work ("${program} -version" failed: ${messageOf(err)}); reinstall it with "apt install --reinstall ffmpeg"`);
  }
}

/** ffmpeg's last words, turned into what happened. */
function classify(err: Error, stderr: string, ffmpegPath: string): EncodeError {
  if (/No space left on device|ENOSPC/i.test(stderr) || /ENOSPC/.test(err.message)) {
    return new EncodeError('no-space', 'the disk is full (no space left on device) while writing the video; the partial file was removed');
  }
  // The concat demuxer names a frame it cannot open; a frame it can open but not decode, ffmpeg conceals.
  const unreadable = /Impossible to open '([^']+)'/.exec(stderr);
  if (unreadable) return new EncodeError('bad-frame', `ffmpeg could not read the frame ${unreadable[1]}`, unreadable[1]);
  if (/ENOENT/.test(err.message) || /nice: .*No such file or directory/.test(stderr)) {
    return new EncodeError('ffmpeg-missing', `ffmpeg is not installed (cannot run "${ffmpegPath}"); install it with "apt install ffmpeg"`);
  }
  return new EncodeError('failed', `ffmpeg failed: ${tail(stderr, 3) || err.message}`);
}
