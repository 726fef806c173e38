import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, waitFor } from './env';

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** The daemon as a real child process, as systemd runs it. */
export class DaemonProcess {
  readonly lines: LogLine[] = [];
  readonly output: string[] = [];
  #child: ChildProcess | null = null;
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;

  constructor(
    readonly configFile: string,
    readonly port: number,
    /** Added to the environment, e.g. a PATH with a fake gphoto2 first. */
    readonly env: NodeJS.ProcessEnv = {},
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.#child!.pid!;
  }

  /** Starts it and waits until /healthz answers 200. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, [CLI, 'run', '--config', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.env } });
    this.#child = child;
    this.#exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    let buffer = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        this.output.push(line);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          /* not a log line */
        }
      }
    });
    child.stderr!.on('data', (d: Buffer) => this.output.push(d.toString()));
    let exited = false;
    void this.#exit.then(() => (exited = true));
    await waitFor(
      'the daemon to answer /healthz',
      async () => {
        if (exited) throw new Error(`the daemon exited during start-up:\n${this.output.join('\n')}`);
        try {
          return (await fetch(`${this.baseUrl}/healthz`)).status === 200;
        } catch {
          return false;
        }
      },
      20_000,
    );
  }

  /** Sends a signal and waits for the exit; returns how it ended and how long it took. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    if (!this.#child || !this.#exit) throw new Error('not started');
    const started = Date.now();
    this.#child.kill(signal);
    const result = await this.#exit;
    return { ...result, ms: Date.now() - started };
  }

  /** Kills it if still running (test cleanup). */
  async kill(): Promise<void> {
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGKILL');
      await this.#exit;
    }
  }

  logs(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }
}

/** The password the first start wrote for `admin`. */
export function initialPassword(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, 'initial-admin-password'), 'utf8').trim();
}

export function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
