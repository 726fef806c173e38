/**
 * USB webcams (and any V4L2 capture node), through ffmpeg: open the device, let the
 * exposure settle for a few frames, keep one as a JPEG, close the device again so
 * other programs may use it between pictures.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { CameraError, throwIfAborted, type Camera, type CaptureRequest, type CaptureResult } from './camera';
import { v4l2Args } from './ffmpeg-args';
import { captureFrame } from './ffmpeg-frame';

export interface V4l2CameraOptions {
  sourceId: string;
  /** e.g. /dev/video0; a /dev/v4l/by-id/... link survives re-plugging into another port. */
  device: string;
  width?: number;
  height?: number;
  /** mjpeg lets most webcams deliver large sizes at full frame rate over USB 2. */
  inputFormat?: string;
  /** Frames dropped while exposure settles. Default 10. */
  skipFrames?: number;
  ffmpegPath?: string;
}

const NOT_PLUGGED = 'is the webcam plugged in? `lapsebox cameras` lists video devices';

export class V4l2Camera implements Camera {
  readonly driver = 'v4l2';
  readonly #options: Readonly<V4l2CameraOptions> & { readonly skipFrames: number; readonly ffmpegPath: string };

  constructor(options: V4l2CameraOptions) {
    this.#options = { ...options, skipFrames: options.skipFrames ?? 10, ffmpegPath: options.ffmpegPath ?? 'ffmpeg' };
  }

  async capture({ destination, signal }: CaptureRequest): Promise<CaptureResult> {
    throwIfAborted(signal);
    const { sourceId, device, width, height, inputFormat, skipFrames, ffmpegPath } = this.#options;
    // Built first: the device path is validated before anything touches it.
    const args = v4l2Args({ device, width, height, inputFormat, skipFrames, output: destination });
    await this.#checkDevice();
    return captureFrame({ ffmpegPath, args, destination, signal, context: { sourceId, driver: 'v4l2', input: device } });
  }

  /** A missing webcam is the common failure; say so without starting ffmpeg. */
  async #checkDevice(): Promise<void> {
    const { sourceId, device } = this.#options;
    const stats = await fsp.stat(device).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
        throw new CameraError('not-found', `camera ${sourceId}: no video device at ${device}`, NOT_PLUGGED, { cause: err });
      }
      throw new CameraError('failed', `camera ${sourceId}: cannot check ${device}: ${err.message}`, undefined, { cause: err });
    });
    if (!stats.isCharacterDevice()) {
      throw new CameraError('not-found', `camera ${sourceId}: ${device} is not a video device (not a character device)`, NOT_PLUGGED);
    }
  }
}

export interface VideoDevice {
  device: string;
  /** The driver's name for it, e.g. "HD Pro Webcam C920", when the kernel tells. */
  name?: string;
}

/**
 * The video nodes on this machine, in number order, for `lapsebox cameras`. A webcam
 * often has two nodes with the same name; the first is the picture, the second metadata.
 */
export async function listVideoDevices(devDir = '/dev', sysDir = '/sys/class/video4linux'): Promise<VideoDevice[]> {
  const entries = await fsp.readdir(devDir).catch(() => [] as string[]);
  const nodes = entries.filter((name) => /^video\d+$/.test(name)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  return Promise.all(
    nodes.map(async (node): Promise<VideoDevice> => {
      const name = await fsp.readFile(path.join(sysDir, node, 'name'), 'utf8').then((text) => text.trim(), () => '');
      return { device: path.join(devDir, node), ...(name ? { name } : {}) };
    }),
  );
}
