/**
 * The messages between the daemon and its gphoto2 session worker (worker.ts), over the
 * IPC channel of a forked child. One request at a time per worker; each carries an id
 * that its reply repeats, so a late reply to a request the daemon gave up on is ignored.
 */

/** A camera as libgphoto2 lists it. */
export interface ListedCamera {
  model: string;
  port: string;
}

/** What the session reads from the camera: who it is and how it will expose. */
export interface CameraInfo {
  model: string;
  port: string;
  serial: string | null;
  /** As the camera says it ("50%", "Full"), when it has a battery level. */
  battery: string | null;
  /** The exposure settings the camera has now, by gphoto2 name (shutterspeed, f-number, iso, ...). */
  exposure: Record<string, string>;
  /** The camera's own choices for the settings the exposure ramp turns (RAMP_SETTINGS), by gphoto2 name. */
  choices: Record<string, string[]>;
}

/** What the daemon asks; `Request` adds the id. */
export type RequestBody =
  | { op: 'list' }
  | { op: 'open'; port: string }
  | { op: 'configure'; settings: { name: string; value: string }[] }
  | { op: 'capture'; folder: string }
  | { op: 'info' };

export type Request = RequestBody & { id: number };

/** A libgphoto2 failure: its result code (GP_ERROR_*) when it gave one. */
export interface WorkerFailure {
  code: number | null;
  message: string;
}

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WorkerFailure };

/** The worker's first message: whether libgphoto2 could be loaded through the binding. */
export type Hello = { hello: true; binding: { ok: true } | { ok: false; error: string } };

/** The settings the session reads back for `lapsebox cameras` and the UI, in this order, when the camera has them. */
export const EXPOSURE_SETTINGS = ['shutterspeed', 'f-number', 'aperture', 'iso', 'exposurecompensation', 'whitebalance', 'imageformat', 'imagequality', 'imagesize', 'capturetarget'] as const;

/** The settings the exposure ramp turns, by gphoto2 name: the shutter, the ISO, the aperture (Nikon's f-number, Canon's aperture). */
export const RAMP_SETTINGS = { shutter: ['shutterspeed'], iso: ['iso'], aperture: ['f-number', 'aperture'] } as const;

/**
 * libgphoto2's result codes that the daemon acts on, with their names
 * (gphoto2-result.h, gphoto2-port-result.h).
 */
export const GP_ERRORS: Readonly<Record<number, string>> = {
  [-1]: 'unspecified error',
  [-2]: 'bad parameters',
  [-4]: 'library error',
  [-6]: 'unsupported operation',
  [-7]: 'I/O problem',
  [-10]: 'timeout reading from or writing to the port',
  [-34]: 'error reading from the port',
  [-35]: 'error writing to the port',
  [-52]: 'could not find the requested device on the USB port',
  [-53]: 'could not claim the USB device',
  [-60]: 'could not lock the device',
  [-102]: 'corrupted data',
  [-105]: 'unknown model',
  [-108]: 'file not found',
  [-110]: 'the camera is busy',
  [-112]: 'cancelled',
  [-113]: 'the camera reported an error',
  [-115]: 'no space left on the camera\'s card',
};
