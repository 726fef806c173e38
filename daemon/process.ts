/**
 * The one way the daemon runs a program (gphoto2 and ffmpeg for the cameras,
 * ffmpeg's probes, vcgencmd, timedatectl, the doctor's tools; only the video
 * encode goes through fluent-ffmpeg): an argv array and no shell,
 * in its own process group, bounded by an AbortSignal. When the signal fires the
 * whole group gets SIGTERM, then SIGKILL after `killGraceMs`; the promise settles
 * only once the child has been reaped, so nothing is left behind (no zombie, no
 * orphaned grandchild still holding the USB device).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';

export interface CommandResult {
  /** Exit code, or null when a signal ended the program. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the program was stopped because the signal fired. */
  aborted: boolean;
  durationMs: number;
}

export interface CommandOptions {
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL once aborted. Default 2 s. */
  killGraceMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Output kept per stream; the rest is dropped (the head is kept). Default 256 KiB. */
  maxOutputBytes?: number;
  /**
   * Written to the program's stdin, which is then closed: how a secret reaches it, as
   * argv is readable by every local account. Without it stdin is empty (at end at once).
   */
  stdin?: string;
}

/** The program could not be started at all (not installed, not executable). */
export class CommandNotFoundError extends Error {
  override readonly name = 'CommandNotFoundError';
  constructor(readonly program: string, options?: { cause?: unknown }) {
    super(`${program} is not installed or not executable`, options);
  }
}

/**
 * Process groups still running. A child in its own group does not die with the
 * daemon, so whatever is left when the daemon exits (a hung gphoto2 in its
 * TERM grace period) is killed on the way out, holding no USB device after us.
 */
const running = new Set<number>();
let exitHookInstalled = false;

/**
 * A node script of this package as a worker: its own process group (a kill reaches what
 * it started), an IPC channel, stdout ignored, stderr piped; on the list of groups killed
 * when the daemon exits, until it has exited itself (then its group is killed too).
 */
export function forkWorker(script: string, options: { execArgv: string[]; env: NodeJS.ProcessEnv }): ChildProcess {
  const child = fork(script, [], {
    execArgv: options.execArgv,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  const pid = child.pid;
  if (pid !== undefined) {
    track(pid);
    child.once('exit', () => {
      running.delete(pid);
      killGroup(pid, 'SIGKILL');
    });
  }
  return child;
}

/** Signals a whole process group; one already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function track(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const group of running) {
        try {
          process.kill(-group, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    });
  }
  running.add(pid);
}

export function runCommand(program: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  const { signal, killGraceMs = 2000, maxOutputBytes = 256 * 1024 } = options;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      resolve({ code: null, signal: null, stdout: '', stderr: '', aborted: true, durationMs: 0 });
      return;
    }
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a kill reaches helpers it started, too.
      detached: true,
      shell: false,
    });
    if (child.pid !== undefined) track(child.pid);
    const out = new Capped(maxOutputBytes);
    const err = new Capped(maxOutputBytes);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    // A program that exits before reading all of it (EPIPE) says why on stderr and in its exit code.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');

    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // The group is already gone.
      }
    };
    const onAbort = () => {
      aborted = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), killGraceMs);
      killTimer.unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const finish = () => {
      if (child.pid !== undefined) running.delete(child.pid);
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      finish();
      if (error.code === 'ENOENT' || error.code === 'EACCES') reject(new CommandNotFoundError(program, { cause: error }));
      else reject(error);
    });
    child.once('close', (code, sig) => {
      finish();
      // The leader is reaped; make sure no member of its group outlives it.
      if (aborted || sig) killGroup('SIGKILL');
      resolve({ code, signal: sig, stdout: out.text(), stderr: err.text(), aborted, durationMs: Date.now() - started });
    });
  });
}

/** Collects a stream up to a byte cap. */
class Capped {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  constructor(readonly max: number) {}
  push(chunk: Buffer): void {
    if (this.#bytes >= this.max) return;
    const part = chunk.subarray(0, this.max - this.#bytes);
    this.#chunks.push(part);
    this.#bytes += part.length;
  }
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

/** The last non-empty lines of a program's output, for error messages. */
export function tail(text: string, lines = 3): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ');
}
