/**
 * DSLRs in a persistent session: libgphoto2 keeps the camera open in a worker process
 * (worker.ts, through the `gphoto2` binding), and each shot is a message to it.
 *
 * Why a worker and not the binding in the daemon: a camera that hangs in a USB call
 * hangs the thread that made it, and a thread cannot be killed; a process can. Every
 * call has a deadline (the capture: camera.timeout, through the service's signal; the
 * others CALL_TIMEOUT_MS); a worker that misses one is killed with its process group,
 * the kernel releases the USB interface, and the next call starts a new worker.
 *
 * The session is opened lazily: the camera is found by model, port or serial (as by the
 * gphoto2 program), the configured settings are applied and read back, and what the
 * camera says about itself (serial, battery, exposure) is kept for `lapsebox cameras`.
 * When the binding cannot be loaded on this box, every call goes to the gphoto2 program
 * instead (GPhoto2Camera), said once in the log; the USB reset of the recovery ladder
 * is always the program's (`gphoto2 --reset`), once the worker has let go of the camera.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CameraError, abortError, throwIfAborted, type Camera, type CameraView, type CaptureRequest, type CaptureResult } from '../camera';
import { GPhoto2Camera, checkedShot, describeCamera, matchingCameras, wantedCamera, type Gphoto2Options } from '../gphoto2.camera';
import { checkedSettings, type Gphoto2Setting } from '../gphoto2-args';
import { GP_ERRORS, type CameraInfo, type Hello, type ListedCamera, type Reply, type Request, type RequestBody } from './protocol';
import { forkWorker, killGroup } from '../../process';
import { projectRoot } from '../../package-info';
import { TEMP_PREFIX } from '../../domain/data-folder';
import type { Logger } from '../../logger';
import { Limiter } from '../../limiter';
import type { ExposureLabels } from '../../domain/exposure';
import { exposureSettings, gphoto2Exposure, pictureExposure, type Gphoto2Exposure } from '../gphoto2-exposure';

/** The deadline of every call but the capture (which has camera.timeout): listing, opening, settings. */
export const CALL_TIMEOUT_MS = 15_000;

/** How often the status's reading of the camera (battery, exposure) is renewed, after a shot. */
const READ_EVERY_MS = 60_000;

/** Node's flags for the worker: a small heap, as it holds little more than the binding. */
const WORKER_FLAGS = ['--max-old-space-size=32', '--max-semi-space-size=1', '--optimize-for-size'];

export type Gphoto2Mode = 'auto' | 'session' | 'cli';

export interface SessionOptions extends Gphoto2Options {
  log: Logger;
  /** 'session' fails when the binding cannot load; 'auto' falls back to the program. */
  mode: Exclude<Gphoto2Mode, 'cli'>;
  /** The worker's script (default: worker.js beside this file, compiled). */
  workerScript?: string;
  /** Extra environment for the worker (tests: IOLIBS, VCAMERADIR). */
  workerEnv?: NodeJS.ProcessEnv;
  callTimeoutMs?: number;
}

/** Which way a gphoto2 source takes its pictures now, and why: for `lapsebox doctor` and the status. */
export interface SessionState {
  driver: 'session' | 'cli' | 'unknown';
  /** Why the program is used, when it is. */
  reason: string | null;
  /** The camera as the session last read it. */
  camera: CameraInfo | null;
  /** The worker's process id while one runs. */
  workerPid: number | null;
}

export class Gphoto2SessionCamera implements Camera {
  readonly driver = 'gphoto2';
  readonly #options: SessionOptions;
  readonly #settings: Gphoto2Setting[];
  readonly #cli: GPhoto2Camera;
  #worker: Worker | null = null;
  #opened: CameraInfo | null = null;
  /** The last reading, kept for the status after the session ended; and when it was taken. */
  #lastRead: CameraInfo | null = null;
  #readAt: number | null = null;
  /** Set once the binding failed to load: from then on, the program. */
  #unavailable: string | null = null;
  #closed = false;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#settings = checkedSettings(options.settings);
    this.#cli = new GPhoto2Camera(options);
  }

  view(): CameraView {
    const state = this.state;
    if (state.driver === 'cli') return { ...this.#cli.view(), reason: state.reason };
    const c = this.#opened ?? this.#lastRead;
    return {
      access: 'session',
      reason: null,
      model: c?.model ?? null,
      port: c?.port ?? null,
      serial: c?.serial ?? null,
      battery: c?.battery ?? null,
      exposure: c?.exposure ?? {},
      readAt: this.#readAt === null ? null : new Date(this.#readAt).toISOString(),
    };
  }

  get state(): SessionState {
    if (this.#unavailable !== null) return { driver: 'cli', reason: this.#unavailable, camera: null, workerPid: null };
    return { driver: this.#worker || this.#opened ? 'session' : 'unknown', reason: null, camera: this.#opened, workerPid: this.#worker?.pid ?? null };
  }

  /** One operation at a time (a capture, a reading for `lapsebox cameras`, a reset): the session is one conversation. */
  readonly #turns = new Limiter(1);

  capture(request: CaptureRequest): Promise<CaptureResult> {
    return this.#turns.run(() => this.#capture(request));
  }

  /** The shutter, ISO and aperture choices as the session read them when it opened (opening it if needed). */
  exposureControl(signal: AbortSignal): Promise<Gphoto2Exposure> {
    return this.#turns.run(async () => {
      const worker = await this.#session(signal);
      if (!worker) return this.#cli.exposureControl(signal);
      const opened = this.#opened!;
      return gphoto2Exposure(opened.choices, opened.exposure);
    });
  }

  /**
   * Sets the ramp's values for this frame, those that changed only, inside the capture's
   * turn; a value the camera does not keep (a mode dial on P or A) is said by name.
   */
  async #expose(worker: Worker, labels: ExposureLabels, signal: AbortSignal): Promise<Gphoto2Exposure> {
    const opened = this.#opened!;
    const exposure = gphoto2Exposure(opened.choices, opened.exposure);
    const changed = exposureSettings(labels, exposure, opened.exposure);
    if (changed.length === 0) return exposure;
    const readBack = (await this.#call(worker, { op: 'configure', settings: changed }, signal, this.#timeout)) as { name: string; value: string }[];
    readBack.forEach(({ name, value }) => (opened.exposure[name] = value));
    const refused = changed.filter((s, i) => !sameValue(s.value, readBack[i]?.value ?? ''));
    if (refused.length > 0) {
      throw new CameraError(
        'failed',
        `camera ${this.#options.sourceId}: the camera did not keep ${refused.map((s) => `${s.name}=${s.value} (it reads ${JSON.stringify(opened.exposure[s.name] ?? '')})`).join(', ')}`,
        'the exposure ramp needs the camera in manual exposure (M): check its mode dial',
      );
    }
    return exposure;
  }

  async #capture(request: CaptureRequest): Promise<CaptureResult> {
    const { signal, destination } = request;
    const worker = await this.#session(signal);
    if (!worker) return this.#cli.capture(request);
    const exposure = request.exposure ? await this.#expose(worker, request.exposure, signal) : null;
    const folder = path.join(path.dirname(destination), `${TEMP_PREFIX}gphoto2-${randomBytes(6).toString('hex')}`);
    await fsp.mkdir(folder, { mode: 0o750 });
    try {
      const { file } = (await this.#call(worker, { op: 'capture', folder }, signal, null)) as { file: string };
      const checked = await checkedShot(file, this.#options.sourceId, this.#options.minJpegBytes);
      await fsp.rename(file, destination);
      const taken = exposure && this.#opened ? pictureExposure(this.#opened.exposure, exposure) : null;
      const shot: CaptureResult = taken ? { ...checked, exposure: taken } : checked;
      // The battery and the exposure as the status shows them, read again once a minute: after
      // this shot, in the next turn (before the next capture), not on this capture's deadline.
      if (this.#readAt === null || Date.now() - this.#readAt >= READ_EVERY_MS) {
        void this.#turns.run(() => (this.#worker === worker ? this.#read(worker, AbortSignal.timeout(this.#timeout)) : Promise.resolve(null))).catch(() => undefined);
      }
      return shot;
    } finally {
      await fsp.rm(folder, { recursive: true, force: true });
    }
  }

  /**
   * The recovery ladder's reset: the worker goes (and with it the claim on the USB
   * device), the program resets the port, and the next capture opens a new session.
   */
  reset(signal: AbortSignal): Promise<void> {
    return this.#turns.run(() => this.#reset(signal));
  }

  async #reset(signal: AbortSignal): Promise<void> {
    await this.#stopWorker();
    if (this.#unavailable !== null) return this.#cli.reset(signal);
    const port = this.#lastPort ?? this.#options.port;
    if (port !== undefined) await this.#cli.resetPort(port, signal);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#stopWorker();
  }

  /** A new reading for `lapsebox cameras`; while a capture is under way the last one stands (said, not waited for). */
  async refresh(signal: AbortSignal): Promise<void> {
    if (this.#turns.active > 0) throw new CameraError('busy', `camera ${this.#options.sourceId}: a capture is under way; this is the reading of ${this.#readAt === null ? 'no time yet' : new Date(this.#readAt).toISOString()}`);
    await this.info(signal);
  }

  /** The camera as the session reads it now (opening it if needed); null when the program is used. */
  info(signal: AbortSignal): Promise<CameraInfo | null> {
    return this.#turns.run(async () => {
      const worker = await this.#session(signal);
      if (!worker) return null;
      return this.#read(worker, signal);
    });
  }

  #lastPort: string | undefined;

  async #read(worker: Worker, signal: AbortSignal): Promise<CameraInfo> {
    const info = (await this.#call(worker, { op: 'info' }, signal, this.#timeout)) as CameraInfo;
    this.#opened = this.#lastRead = info;
    this.#readAt = Date.now();
    return info;
  }

  get #timeout(): number {
    return this.#options.callTimeoutMs ?? CALL_TIMEOUT_MS;
  }

  /** The open session's worker, starting and opening one if needed; null when the binding cannot load here. */
  async #session(signal: AbortSignal): Promise<Worker | null> {
    throwIfAborted(signal);
    if (this.#closed) throw new CameraError('aborted', `camera ${this.#options.sourceId}: closed`);
    if (this.#unavailable !== null) return null;
    let worker = this.#worker;
    if (!worker) {
      worker = this.#worker = new Worker(this.#script(), this.#options.workerEnv);
      worker.exited.then(() => {
        if (this.#worker === worker) {
          this.#worker = null;
          this.#opened = null;
        }
      }, () => undefined);
    }
    const hello = await this.#await(worker, worker.hello, signal, this.#timeout, 'start');
    if (!hello.binding.ok) {
      await this.#stopWorker();
      const why = `the gphoto2 binding cannot be loaded (${hello.binding.error})`;
      if (this.#options.mode === 'session') {
        throw new CameraError('unsupported', `camera ${this.#options.sourceId}: ${why}`, 'install libgphoto2-dev and build tools, then npm rebuild gphoto2; or set camera.mode: cli');
      }
      this.#unavailable = `${why}; the gphoto2 program takes the pictures`;
      this.#options.log.warn({ source: this.#options.sourceId }, `camera ${this.#options.sourceId}: ${this.#unavailable}`);
      return null;
    }
    if (!this.#opened) await this.#open(worker, signal);
    return worker;
  }

  async #open(worker: Worker, signal: AbortSignal): Promise<void> {
    const { model, port, serial, sourceId } = this.#options;
    const seen = (await this.#call(worker, { op: 'list' }, signal, this.#timeout)) as ListedCamera[];
    const candidates = matchingCameras(seen, { model, port });
    const describeSeen = () => (seen.length === 0 ? 'none' : seen.map(describeCamera).join('; '));
    // Without a serial, one camera must match; with one, each candidate is opened until it answers with it.
    if (serial === undefined && candidates.length > 1) {
      throw new CameraError('failed', `camera ${sourceId}: ${candidates.length} cameras match (${candidates.map(describeCamera).join('; ')})`, 'set camera.serial (or model or port) to pick one');
    }
    let opened: CameraInfo | null = null;
    for (const candidate of candidates) {
      const info = (await this.#call(worker, { op: 'open', port: candidate.port }, signal, this.#timeout)) as CameraInfo;
      if (serial === undefined || info.serial === serial) {
        opened = info;
        break;
      }
    }
    if (!opened) {
      const wanted = wantedCamera({ model, port, serial });
      throw new CameraError(
        'not-found',
        `camera ${sourceId}: no camera ${wanted ? `matching ${wanted}` : 'found'} (libgphoto2 sees: ${describeSeen()})`,
        seen.length === 0 ? 'is it switched on, awake and plugged in? "lapsebox cameras" lists what the box can see' : 'check camera.model, camera.port and camera.serial against "lapsebox cameras"',
      );
    }
    this.#lastPort = opened.port;
    if (this.#settings.length > 0) {
      const readBack = (await this.#call(worker, { op: 'configure', settings: this.#settings }, signal, this.#timeout)) as { name: string; value: string }[];
      const refused = this.#settings.filter((s, i) => !sameValue(s.value, readBack[i]?.value ?? ''));
      if (refused.length > 0) {
        throw new CameraError(
          'failed',
          `camera ${sourceId}: the camera did not keep ${refused.map((s) => `${s.name}=${s.value} (it reads ${JSON.stringify(readBack[this.#settings.indexOf(s)]?.value ?? '')})`).join(', ')}`,
          'a dial or mode on the camera may override it; check camera.settings against "lapsebox cameras"',
        );
      }
      opened = (await this.#call(worker, { op: 'info' }, signal, this.#timeout)) as CameraInfo;
    }
    this.#opened = this.#lastRead = opened;
    this.#readAt = Date.now();
    this.#options.log.info({ source: sourceId, worker: worker.pid, model: opened.model, port: opened.port, serial: opened.serial }, `camera ${sourceId}: session opened (${describeCamera({ model: opened.model, port: opened.port, ...(opened.serial ? { serial: opened.serial } : {}) })})`);
  }

  /** One request with its deadline: the signal, and `timeoutMs` when given. A miss kills the worker. */
  async #call(worker: Worker, request: RequestBody, signal: AbortSignal, timeoutMs: number | null): Promise<unknown> {
    const reply = await this.#await(worker, worker.request(request), signal, timeoutMs, request.op);
    if (reply.ok) return reply.value;
    const { code, message } = reply.error;
    throw gphoto2Failure(this.#options.sourceId, code, message);
  }

  async #await<T>(worker: Worker, work: Promise<T>, signal: AbortSignal, timeoutMs: number | null, op: string): Promise<T> {
    const sourceId = this.#options.sourceId;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<never>((_, reject) => {
      const fail = (error: CameraError) => {
        // Whatever it was doing, it is not doing it any more: killed, and replaced at the next call.
        this.#options.log.warn({ source: sourceId, worker: worker.pid, op }, `camera ${sourceId}: session ended during "${op}" (${error.message}); a new one opens at the next capture`);
        worker.kill();
        reject(error);
      };
      onAbort = () => fail(abortError(signal));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== null) {
        timer = setTimeout(() => fail(new CameraError('timeout', `camera ${sourceId}: no answer to "${op}" within ${Math.round(timeoutMs / 1000)} s; its session was ended`, 'the camera may be hung; check its cable and power')), timeoutMs);
      }
    });
    const died = worker.exited.then((how) => {
      throw new CameraError('io', `camera ${sourceId}: the camera's session ended during "${op}" (${how})`, 'it is opened again at the next capture; if it keeps ending, check the camera and its cable');
    });
    try {
      return await Promise.race([work, deadline, died]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async #stopWorker(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    this.#opened = null;
    if (worker) await worker.stop();
  }

  #script(): string {
    return this.#options.workerScript ?? workerScript();
  }
}

/**
 * Whether the gphoto2 binding loads on this box: a worker is started and asked nothing
 * (no camera is opened, so this is safe while the daemon holds the cameras).
 */
export async function probeBinding(options: { workerScript?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ ok: true } | { ok: false; error: string }> {
  const worker = new Worker(options.workerScript ?? workerScript(), options.env);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${(options.timeoutMs ?? 10_000) / 1000} s`)), options.timeoutMs ?? 10_000)));
    const ended = worker.exited.then((how) => Promise.reject(new Error(`the worker ended (${how})`)));
    return (await Promise.race([worker.hello, timeout, ended])).binding;
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
    await worker.stop();
  }
}

/** The worker's script: worker.js beside this file once compiled (under jest this file runs from source). */
function workerScript(): string {
  const beside = path.join(__dirname, 'worker.js');
  return fs.existsSync(beside) ? beside : path.join(projectRoot(), 'dist', 'daemon', 'capture', 'gphoto2-session', 'worker.js');
}

/** "1/125" and "0.0080s" are not compared here: values are compared as the camera spells them, numbers as numbers. */
function sameValue(wanted: string, got: string): boolean {
  if (wanted === got) return true;
  const a = Number(wanted);
  const b = Number(got);
  return Number.isFinite(a) && Number.isFinite(b) && a === b;
}

/** A libgphoto2 result code as the recovery ladder's CameraError. */
export function gphoto2Failure(sourceId: string, code: number | null, message: string): CameraError {
  const name = code !== null ? GP_ERRORS[code] : undefined;
  const text = `camera ${sourceId}: ${message}${code !== null ? ` (libgphoto2 ${code}${name ? `: ${name}` : ''})` : ''}`;
  switch (code) {
    case -52:
    case -105:
      return new CameraError('not-found', text, 'is it switched on, awake and plugged in? "lapsebox cameras" lists what the box can see');
    case -53:
    case -60:
      return new CameraError('claimed', text, 'another program holds the camera (gvfs on a desktop, another gphoto2); "lapsebox doctor" says which');
    case -110:
      return new CameraError('busy', text, 'the camera is busy (autofocus, writing to its card, a menu open); it usually passes');
    case -7:
    case -10:
    case -34:
    case -35:
      return new CameraError('io', text, 'check the USB cable and hub, and the camera\'s power');
    case -115:
      return new CameraError('failed', text, 'the camera\'s card is full: set capturetarget to the camera\'s memory or empty the card');
    default:
      return new CameraError('failed', text, 'see the camera; "lapsebox cameras" shows what the box can see');
  }
}

/** The forked worker: requests by id, its hello, and how it ended. */
class Worker {
  readonly #child: ReturnType<typeof forkWorker>;
  readonly hello: Promise<Hello>;
  readonly exited: Promise<string>;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  #next = 1;
  #gone = false;

  constructor(script: string, env: NodeJS.ProcessEnv | undefined) {
    this.#child = forkWorker(script, { execArgv: WORKER_FLAGS, env: { ...process.env, ...env, LANG: 'C', LC_ALL: 'C' } });
    // libgphoto2's complaints are not kept; what failed comes back in the replies.
    this.#child.stderr?.resume();
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#gone = true;
        resolve(signal ? `killed by ${signal}` : `exit code ${code}`);
      });
      this.#child.once('error', (err) => {
        this.#gone = true;
        resolve(err.message);
      });
    });
    this.hello = new Promise((resolve) => {
      const onMessage = (message: Hello | Reply) => {
        if ('hello' in message) {
          resolve(message);
          return;
        }
        this.#pending.get(message.id)?.(message);
        this.#pending.delete(message.id);
      };
      this.#child.on('message', onMessage);
    });
  }

  get pid(): number | null {
    return this.#gone ? null : (this.#child.pid ?? null);
  }

  request(request: RequestBody): Promise<Reply> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.send({ ...request, id } as Request);
    });
  }

  kill(): void {
    const pid = this.#child.pid;
    if (pid !== undefined && !this.#gone) killGroup(pid, 'SIGKILL');
  }

  /** Closes the channel (the worker exits by itself and releases the camera), then kills what is left after 2 s. */
  async stop(): Promise<void> {
    if (this.#gone) return;
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.kill(), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}
