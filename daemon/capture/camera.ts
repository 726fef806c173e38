import type { ExposureLabels, PictureExposure } from '../domain/exposure';
import type { ExposureControl } from './exposure/exposure-ramp';

/**
 * The contract every camera driver implements (testpattern, gphoto2, v4l2, http, rtsp).
 *
 * The capture service calls `capture()` at most once at a time per camera, with a
 * destination path in the final folder (a temporary name) and an AbortSignal that
 * fires when `camera.timeout` passes or the daemon stops. A driver must:
 * - write one complete JPEG to `destination` (or nothing at all),
 * - stop its work and reject promptly with a `CameraError('timeout' | 'aborted')`
 *   when the signal fires (child processes are killed, not left behind),
 * - report failures as `CameraError` with a code and advice a person can act on.
 * The service, not the driver, fsyncs, renames into place and indexes the file.
 */
export interface Camera {
  /** Driver name as in the configuration (`testpattern`, `gphoto2`, ...). */
  readonly driver: string;
  capture(request: CaptureRequest): Promise<CaptureResult>;
  /**
   * The driver's own recovery step, used by the recovery ladder before a retry:
   * for gphoto2, a USB reset and a fresh detection (the port changes after it).
   */
  reset?(signal: AbortSignal): Promise<void>;
  /** Releases resources (open devices, child processes). Called once, on stop. */
  close?(): Promise<void>;
  /** What the driver knows of the camera now (gphoto2: the session's reading), for the status and the UI. */
  view?(): CameraView;
  /** Reads the camera again for view() (gphoto2's session: opened if needed), between captures. */
  refresh?(signal: AbortSignal): Promise<void>;
  /**
   * For the exposure ramp (issue 27): the camera's own choices of shutter, ISO and aperture,
   * and the values it has now where it can tell (gphoto2's session reads them as it opens;
   * the program asks gphoto2 --get-config once). Only drivers whose exposure lapsebox sets.
   */
  exposureControl?(signal: AbortSignal): Promise<ExposureControl>;
}

/** A gphoto2 camera as the status shows it: how the pictures are taken, and what the camera said of itself. */
export interface CameraView {
  /** 'session': kept open by libgphoto2 in a worker; 'program': the gphoto2 program for each shot. */
  access: 'session' | 'program';
  /** Why the program is used, when it is. */
  reason: string | null;
  model: string | null;
  port: string | null;
  serial: string | null;
  /** As the camera says it ("50%", "Full"). */
  battery: string | null;
  /** The exposure settings the camera has, by gphoto2 name (shutterspeed, f-number, iso, ...). */
  exposure: Record<string, string>;
  /** When the camera said it (ISO 8601); null before the session first opened. */
  readAt: string | null;
}

export interface CaptureRequest {
  /** Absolute path of the file to write; its folder exists. */
  destination: string;
  /** The instant the picture is meant to show (the slot time, or now for "capture now"). */
  takenAt: Date;
  signal: AbortSignal;
  /** The settings to take this frame with, in the camera's own words (the exposure ramp's); only the knobs given are set. */
  exposure?: ExposureLabels;
}

export interface CaptureResult {
  width: number;
  height: number;
  /** Bytes written to `destination`. */
  size: number;
  /**
   * Other files of the same shot that the driver wrote beside `destination` under
   * temporary names (the RAW file when gphoto2's keepRaw is on). They are kept
   * next to the picture with the picture's name and their own extension.
   */
  companions?: { path: string; extension: string }[];
  /** The settings the frame was taken with, where the driver knows them (a ramp's, the test pattern's sensor). */
  exposure?: PictureExposure;
}

export type CameraErrorCode =
  | 'timeout'      // the camera did not answer within camera.timeout
  | 'aborted'      // the daemon is stopping
  | 'not-found'    // no such camera / device / host
  | 'claimed'      // another program holds the device
  | 'busy'         // the camera is busy (PTP Device Busy ...)
  | 'io'           // I/O error talking to the camera
  | 'bad-output'   // the camera answered, but not with a usable JPEG
  | 'unsupported'  // the driver is not available in this build
  | 'failed';      // anything else

/** A camera failure, with a code the recovery logic can act on and advice for people. */
export class CameraError extends Error {
  override readonly name = 'CameraError';
  constructor(
    readonly code: CameraErrorCode,
    message: string,
    readonly advice?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** One line for logs and status: message plus advice. */
  describe(): string {
    return this.advice ? `${this.message} (${this.advice})` : this.message;
  }
}

/** Rejects with CameraError('timeout'|'aborted') as soon as the signal fires. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}

export function abortError(signal: AbortSignal): CameraError {
  const reason: unknown = signal.reason;
  if (reason instanceof CameraError) return reason;
  return new CameraError('aborted', 'capture aborted: the daemon is stopping');
}

/** Waits `ms`, or rejects with the signal's CameraError as soon as it fires. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
