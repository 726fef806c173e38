/**
 * DSLRs and other PTP cameras through the gphoto2 command-line program.
 *
 * Why the CLI and not libgphoto2 in-process: a camera that hangs in a USB call
 * hangs the calling thread, and a thread inside the daemon cannot be killed. A
 * child process in its own process group can: on timeout it gets SIGTERM, then
 * SIGKILL, the kernel releases the USB interface, and the daemon carries on.
 *
 * The camera is found by model, port or serial. Ports change whenever the camera
 * re-enumerates (a reset, a power cycle, a loose cable), so the port is only a
 * cache: after a reset or a "not found" the camera is looked up again.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CameraError, abortError, sleep, throwIfAborted, type Camera, type CameraView, type CaptureRequest, type CaptureResult } from './camera';
import { CommandNotFoundError, runCommand, type CommandResult } from '../process';
import {
  JPEG_EXTENSIONS,
  RAW_EXTENSIONS,
  autoDetectArgs,
  captureArgs,
  checkedSettings,
  getConfigArgs,
  classifyGphoto2Error,
  parseAutoDetect,
  parseSerial,
  resetArgs,
  summaryArgs,
  type DetectedCamera,
  type Gphoto2Setting,
} from './gphoto2-args';
import { isCompleteJpeg } from '../files/jpeg';
import { jpegSize } from '../pipeline/sharp';
import { messageOf } from '../error-causes';
import { TEMP_PREFIX } from '../domain/data-folder';
import { exposureSettings, gphoto2Exposure, parseGetConfig, pictureExposure, type Gphoto2Exposure } from './gphoto2-exposure';
import { RAMP_SETTINGS } from './gphoto2-session/protocol';

export interface Gphoto2Options {
  sourceId: string;
  model?: string;
  port?: string;
  serial?: string;
  settings: Record<string, string | number | boolean>;
  keepRaw: boolean;
  /** A JPEG smaller than this is a failed shot (a black frame, a stub file). Default 10 KiB. */
  minJpegBytes?: number;
  /** Program to run; tests put a fake `gphoto2` first on PATH instead. */
  program?: string;
  /** How long the camera gets to re-enumerate after a USB reset. Default 3 s. */
  settleMs?: number;
  /** Why the program takes the pictures rather than a session (for the status): "camera.mode: cli". */
  reason?: string;
}

/** A camera as the box sees it: what --auto-detect prints, plus the serial when asked. */
export interface Gphoto2Camera extends DetectedCamera {
  serial?: string;
}

const SUMMARY_TIMEOUT_MS = 15_000;
const DETECT_TIMEOUT_MS = 15_000;

export class GPhoto2Camera implements Camera {
  readonly driver = 'gphoto2';
  readonly #options: Gphoto2Options;
  readonly #settings: Gphoto2Setting[];
  #port: string | undefined;
  /** Where the camera was last seen, kept for the USB reset after the port cache is cleared. */
  #lastPort: string | undefined;
  /** The camera's exposure settings as gphoto2 --get-config listed them, once (the exposure ramp's). */
  #exposure: Gphoto2Exposure | null = null;
  /** The values of those settings as last read or set, by gphoto2 name. */
  #values: Record<string, string> = {};

  constructor(options: Gphoto2Options) {
    this.#options = options;
    // Checked again here although the config schema already refused them: nothing unchecked reaches an argv.
    this.#settings = checkedSettings(options.settings);
  }

  /** The program's driver knows the port it last found; the model and the rest are for the session to read. */
  view(): CameraView {
    return { access: 'program', reason: this.#options.reason ?? null, model: null, port: this.#port ?? null, serial: null, battery: null, exposure: {}, readAt: null };
  }

  /** The port the camera was last found at, if any. */
  get port(): string | undefined {
    return this.#port;
  }

  /**
   * The shutter, ISO and aperture choices, read once with gphoto2 --get-config (a setting
   * the camera does not have is left out): for the exposure ramp.
   */
  async exposureControl(signal: AbortSignal): Promise<Gphoto2Exposure> {
    if (this.#exposure) return this.#exposure;
    const port = this.#port ?? (this.#port = this.#lastPort = await this.#find(signal));
    const choices: Record<string, string[]> = {};
    const current: Record<string, string> = {};
    for (const name of Object.values(RAMP_SETTINGS).flat()) {
      const result = await withPortLock(port, () => this.#run(getConfigArgs(port, name), signal));
      if (result.code !== 0) {
        if (/not found in configuration tree/i.test(result.stderr)) continue;
        throw classifyGphoto2Error(result.stderr, { sourceId: this.#options.sourceId, port });
      }
      const read = parseGetConfig(result.stdout);
      choices[name] = read.choices;
      if (read.current !== null) current[name] = read.current;
    }
    this.#values = current;
    return (this.#exposure = gphoto2Exposure(choices, current));
  }

  async capture(request: CaptureRequest): Promise<CaptureResult> {
    const port = this.#port ?? (this.#port = this.#lastPort = await this.#find(request.signal));
    const folder = path.join(path.dirname(request.destination), `${TEMP_PREFIX}gphoto2-${randomBytes(6).toString('hex')}`);
    // The ramp's values for this frame, after camera.settings (which then holds none of them).
    const exposure = request.exposure && this.#exposure ? this.#exposure : null;
    const ramped = exposure ? exposureSettings(request.exposure!, exposure) : [];
    await fs.mkdir(folder, { mode: 0o750 });
    try {
      const result = await withPortLock(port, () => this.#run(captureArgs({ port, settings: [...this.#settings, ...ramped], folder }), request.signal));
      if (result.code !== 0) {
        const error = classifyGphoto2Error(result.stderr, { sourceId: this.#options.sourceId, port });
        // Wherever the camera went, the next attempt looks for it again.
        if (error.code === 'not-found') this.#port = undefined;
        throw error;
      }
      const shot = await this.#collect(folder, request.destination);
      if (!exposure) return shot;
      for (const { name, value } of ramped) this.#values[name] = value;
      const taken = pictureExposure(this.#values, exposure);
      return taken ? { ...shot, exposure: taken } : shot;
    } finally {
      await fs.rm(folder, { recursive: true, force: true });
    }
  }

  /**
   * USB reset of `port` alone, then the settle time (the session driver's reset: its worker
   * has let go of the camera and detects it again itself).
   */
  async resetPort(port: string, signal: AbortSignal): Promise<void> {
    if (!port.startsWith('usb:')) return;
    await withPortLock(port, () => this.#run(resetArgs(port), signal));
    await sleep(this.#options.settleMs ?? 3000, signal);
  }

  /** USB reset of the port, then a fresh detection: the camera comes back at a new address. */
  async reset(signal: AbortSignal): Promise<void> {
    const port = this.#port ?? this.#lastPort;
    this.#port = undefined;
    if (port?.startsWith('usb:')) {
      // A port that is gone fails the reset; the detection below is what matters.
      await withPortLock(port, () => this.#run(resetArgs(port), signal));
      await sleep(this.#options.settleMs ?? 3000, signal);
    }
    this.#port = this.#lastPort = await this.#find(signal);
  }

  /** Finds the configured camera among those gphoto2 can see; the error says what it saw. */
  async #find(signal: AbortSignal): Promise<string> {
    const { model, port, serial, sourceId } = this.#options;
    const seen = await detectCameras({ program: this.#program, signal, serials: serial !== undefined });
    const candidates = matchingCameras(seen, { model, port, serial });
    const wanted = wantedCamera({ model, port, serial });
    const listing = seen.length === 0 ? 'none' : seen.map(describeCamera).join('; ');
    if (candidates.length === 0) {
      throw new CameraError(
        'not-found',
        `camera ${sourceId}: no camera ${wanted ? `matching ${wanted}` : 'found'} (gphoto2 sees: ${listing})`,
        seen.length === 0 ? 'is it switched on, awake and plugged in? "lapsebox cameras" lists what the box can see' : 'check camera.model, camera.port and camera.serial against "lapsebox cameras"',
      );
    }
    if (candidates.length > 1) {
      throw new CameraError('failed', `camera ${sourceId}: ${candidates.length} cameras match (${candidates.map(describeCamera).join('; ')})`, 'set camera.serial (or model or port) to pick one');
    }
    return candidates[0]!.port;
  }

  async #collect(folder: string, destination: string): Promise<CaptureResult> {
    const files = await fs.readdir(folder);
    const byKind = (kinds: readonly string[]) => files.filter((f) => kinds.includes(path.extname(f).slice(1).toLowerCase()));
    const jpeg = byKind(JPEG_EXTENSIONS)[0];
    const raws = byKind(RAW_EXTENSIONS);
    const sourceId = this.#options.sourceId;
    if (!jpeg) {
      throw raws.length > 0
        ? new CameraError('bad-output', `camera ${sourceId}: the camera saved RAW only (${raws.join(', ')})`, 'set its image format to JPEG or RAW + JPEG, e.g. camera.settings.imageformat')
        : new CameraError('bad-output', `camera ${sourceId}: gphoto2 reported success but downloaded no picture`, 'check the capture target (camera.settings.capturetarget) and the memory card');
    }
    const jpegPath = path.join(folder, jpeg);
    const { width, height, size } = await checkedShot(jpegPath, sourceId, this.#options.minJpegBytes);
    await fs.rename(jpegPath, destination);
    const companions: { path: string; extension: string }[] = [];
    if (this.#options.keepRaw) {
      for (const raw of raws) {
        // Beside the destination, under a temporary name that reconciliation cleans up after a crash.
        const target = `${destination}.${randomBytes(3).toString('hex')}${path.extname(raw).toLowerCase()}`;
        await fs.rename(path.join(folder, raw), target);
        companions.push({ path: target, extension: path.extname(raw).slice(1).toLowerCase() });
      }
    }
    return { width, height, size, ...(companions.length > 0 ? { companions } : {}) };
  }

  get #program(): string {
    return this.#options.program ?? 'gphoto2';
  }

  #run(args: string[], signal: AbortSignal): Promise<CommandResult> {
    return runGphoto2(this.#program, args, signal);
  }
}

/**
 * A shot the camera downloaded, checked before it goes anywhere: large enough to be a
 * picture, a complete JPEG, a header that gives its size. Both gphoto2 drivers use it.
 */
export async function checkedShot(file: string, sourceId: string, minBytes = 10 * 1024): Promise<{ width: number; height: number; size: number }> {
  const { size } = await fs.stat(file);
  if (size < minBytes) {
    throw new CameraError('bad-output', `camera ${sourceId}: the picture is only ${size} bytes (less than ${minBytes})`, 'the shot failed or the transfer was cut short; check the cable and the camera');
  }
  if (!(await isCompleteJpeg(file))) {
    throw new CameraError('bad-output', `camera ${sourceId}: the picture is a truncated JPEG (${size} bytes)`, 'the transfer was cut short; check the USB cable and hub');
  }
  const { width, height } = await jpegSize(file).catch((err: unknown) => {
    throw new CameraError('bad-output', `camera ${sourceId}: the picture's JPEG header cannot be read (${messageOf(err).trim().split('\n')[0]})`, 'the camera sent a damaged picture; check the USB cable and the camera\'s image format (JPEG)', { cause: err });
  });
  return { width, height, size };
}

/**
 * Lists the cameras gphoto2 can see; with `serials`, asks each for its serial
 * number (that opens the camera, so it waits for the port's lock).
 */
export async function detectCameras(options: { program?: string; signal?: AbortSignal; serials?: boolean; skipSerials?: readonly string[] }): Promise<Gphoto2Camera[]> {
  const program = options.program ?? 'gphoto2';
  const signal = options.signal ?? AbortSignal.timeout(DETECT_TIMEOUT_MS);
  const detected = await runGphoto2(program, autoDetectArgs(), signal);
  if (detected.code !== 0) throw classifyGphoto2Error(detected.stderr, { sourceId: 'detection' });
  const cameras: Gphoto2Camera[] = parseAutoDetect(detected.stdout);
  if (options.serials) {
    for (const camera of cameras) {
      // A port a session holds open: a second program would find the camera claimed.
      if (options.skipSerials?.includes(camera.port)) continue;
      const summarySignal = AbortSignal.any([signal, AbortSignal.timeout(SUMMARY_TIMEOUT_MS)]);
      const summary = await withPortLock(camera.port, () => runGphoto2(program, summaryArgs(camera.port), summarySignal)).catch(() => null);
      const serial = summary?.code === 0 ? parseSerial(summary.stdout) : undefined;
      if (serial) camera.serial = serial;
    }
  }
  return cameras;
}

async function runGphoto2(program: string, args: string[], signal: AbortSignal): Promise<CommandResult> {
  throwIfAborted(signal);
  let result: CommandResult;
  try {
    // LANG=C: gphoto2's messages are matched in English.
    result = await runCommand(program, args, { signal, env: { ...process.env, LANG: 'C', LC_ALL: 'C' } });
  } catch (err) {
    if (err instanceof CommandNotFoundError) {
      throw new CameraError('unsupported', 'gphoto2 is not installed', 'install it with "apt install gphoto2"', { cause: err });
    }
    throw err;
  }
  if (result.aborted) throw abortError(signal);
  return result;
}

/** "Canon EOS 550D at usb:001,004 serial 0270117385"; also used by `lapsebox doctor`. */
export function describeCamera(camera: Gphoto2Camera): string {
  return `${camera.model} at ${camera.port}${camera.serial ? ` serial ${camera.serial}` : ''}`;
}

/** What a source asks for: 'model "Canon EOS 550D", serial 0270117385', or '' for any camera; also used by `lapsebox doctor`. */
export function wantedCamera(wanted: { model?: string | undefined; port?: string | undefined; serial?: string | undefined }): string {
  const { model, port, serial } = wanted;
  return [model && `model "${model}"`, port && `port ${port}`, serial && `serial ${serial}`].filter(Boolean).join(', ');
}

/** The cameras among `seen` that a source's model, port and serial (each optional) pick out; also used by `lapsebox doctor`. */
export function matchingCameras(seen: readonly Gphoto2Camera[], wanted: { model?: string | undefined; port?: string | undefined; serial?: string | undefined }): Gphoto2Camera[] {
  const { model, port, serial } = wanted;
  return seen.filter((c) => (!model || sameModel(c.model, model)) && (!port || c.port === port) && (!serial || c.serial === serial));
}

function sameModel(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/**
 * One gphoto2 process per USB port at a time, across all sources of this daemon:
 * a serial probe of camera B must not collide with camera B's own capture.
 */
const portLocks = new Map<string, Promise<unknown>>();

async function withPortLock<T>(port: string, work: () => Promise<T>): Promise<T> {
  const previous = portLocks.get(port) ?? Promise.resolve();
  const current = previous.catch(() => undefined).then(work);
  portLocks.set(port, current);
  try {
    return await current;
  } finally {
    if (portLocks.get(port) === current) portLocks.delete(port);
  }
}
