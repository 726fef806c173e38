/**
 * Runs one ffmpeg command that writes one JPEG, and turns each way it can end into a
 * checked picture or a CameraError. The v4l2 and rtsp drivers differ only in argv.
 */
import { promises as fsp } from 'node:fs';
import { isCompleteJpeg } from '../files/jpeg';
import { jpegSize } from '../pipeline/sharp';
import { abortError, CameraError, throwIfAborted, type CaptureResult } from './camera';
import { CommandNotFoundError, runCommand, type CommandResult } from '../process';
import { classifyFfmpegError, stripCredentials, type FfmpegErrorContext } from './ffmpeg-args';
import { messageOf } from '../error-causes';

export interface FrameJob {
  ffmpegPath: string;
  args: readonly string[];
  /** ffmpeg's stdin: what must stay off its command line (a stream URL with a password). */
  stdin?: string;
  /** The JPEG ffmpeg writes (the last element of `args`); removed on any failure. */
  destination: string;
  signal: AbortSignal;
  context: FfmpegErrorContext;
}

export async function captureFrame(job: FrameJob): Promise<CaptureResult> {
  throwIfAborted(job.signal);
  try {
    const result = await run(job);
    if (result.aborted || job.signal.aborted) throw abortError(job.signal);
    if (result.code !== 0) throw classifyFfmpegError(result.stderr, { ...job.context, ending: endingOf(result) });
    return await checkPicture(job.destination, job.context);
  } catch (err) {
    // ffmpeg may have written part of a frame before it failed or was stopped.
    await fsp.unlink(job.destination).catch(() => undefined);
    throw err;
  }
}

async function run({ ffmpegPath, args, stdin, signal, context }: FrameJob): Promise<CommandResult> {
  try {
    return await runCommand(ffmpegPath, args, { signal, ...(stdin !== undefined ? { stdin } : {}) });
  } catch (err) {
    if (err instanceof CommandNotFoundError) {
      throw new CameraError('unsupported', `camera ${context.sourceId}: ffmpeg is not installed (cannot run ${ffmpegPath})`, 'apt install ffmpeg', { cause: err });
    }
    throw new CameraError('failed', `camera ${context.sourceId}: cannot start ffmpeg: ${messageOf(err)}`, undefined, { cause: err });
  }
}

function endingOf(result: CommandResult): string {
  return result.signal ? `ended by ${result.signal}` : `exit code ${String(result.code)}`;
}

/** ffmpeg can succeed without a usable picture: the stream ended, or the frame was cut short. */
async function checkPicture(file: string, context: FfmpegErrorContext): Promise<CaptureResult> {
  const badOutput = (cause?: unknown) =>
    new CameraError(
      'bad-output',
      `camera ${context.sourceId}: ffmpeg wrote no complete JPEG from ${stripCredentials(context.input)}`,
      context.driver === 'v4l2' ? "check the webcam's USB cable" : 'the stream may have ended early; check the camera and its network',
      { cause },
    );
  if (!(await isCompleteJpeg(file).catch(() => false))) throw badOutput();
  try {
    const [{ width, height }, { size }] = await Promise.all([jpegSize(file), fsp.stat(file)]);
    return { width, height, size };
  } catch (err) {
    throw badOutput(err);
  }
}
