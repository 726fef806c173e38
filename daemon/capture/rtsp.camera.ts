/**
 * IP cameras, through ffmpeg: connect to the RTSP stream, keep its first decoded frame
 * as a JPEG, disconnect. Credentials may be in the URL; they never reach a message, nor
 * ffmpeg's command line (see rtspCommand).
 */
import { throwIfAborted, type Camera, type CaptureRequest, type CaptureResult } from './camera';
import { rtspCommand } from './ffmpeg-args';
import { captureFrame } from './ffmpeg-frame';

export interface RtspCameraOptions {
  sourceId: string;
  /** rtsp://user:password@host:554/path; special characters in the password percent-encoded. */
  url: string;
  transport: 'tcp' | 'udp';
  /**
   * How long ffmpeg waits on a silent camera before giving up with its own, more precise,
   * error. Keep it below camera.timeout, which aborts the whole capture.
   */
  timeoutMs: number;
  ffmpegPath?: string;
}

export class RtspCamera implements Camera {
  readonly driver = 'rtsp';
  readonly #options: Readonly<RtspCameraOptions> & { readonly ffmpegPath: string };

  constructor(options: RtspCameraOptions) {
    this.#options = { ...options, ffmpegPath: options.ffmpegPath ?? 'ffmpeg' };
  }

  async capture({ destination, signal }: CaptureRequest): Promise<CaptureResult> {
    throwIfAborted(signal);
    const { sourceId, url, transport, timeoutMs, ffmpegPath } = this.#options;
    // The URL (and its password) goes to ffmpeg on stdin, never in argv.
    const { args, stdin } = rtspCommand({ url, transport, timeoutMs, output: destination });
    return captureFrame({ ffmpegPath, args, ...(stdin !== undefined ? { stdin } : {}), destination, signal, context: { sourceId, driver: 'rtsp', input: url } });
  }
}
