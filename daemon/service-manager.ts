/**
 * What the daemon tells systemd (sd_notify(3), the unit's Type=notify): READY=1 once
 * it serves, RELOADING=1 then READY=1 around a reload, STOPPING=1 when it stops,
 * STATUS= lines for `systemctl status`, and WATCHDOG=1 pings from a timer on the
 * event loop, so that a loop blocked for WatchdogSec gets the daemon restarted.
 *
 * Messages are datagrams to the Unix socket named by $NOTIFY_SOCKET (Node's dgram
 * has no Unix datagrams, hence unix-dgram). Outside systemd every call does nothing.
 */
import { createSocket, type UnixDgramSocket } from 'unix-dgram';
import type { Logger } from './logger';

export interface ServiceManager {
  /** The watchdog ping period in ms, or null when the unit has no watchdog. */
  readonly watchdogMs: number | null;
  ready(status?: string): void;
  reloading(): void;
  stopping(status?: string): void;
  /** Starts the watchdog pings (when the unit asks for them). */
  startWatchdog(): void;
  close(): void;
}

export function connectServiceManager(deps: { log: Logger; env?: NodeJS.ProcessEnv }): ServiceManager {
  const env = deps.env ?? process.env;
  const socketPath = env['NOTIFY_SOCKET'];
  const watchdogUsec = Number(env['WATCHDOG_USEC']);
  const watchdogPid = env['WATCHDOG_PID'];
  // Ours alone: ffmpeg, gphoto2 and the rest must not inherit them (sd_notify's unset_environment).
  for (const name of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete env[name];
  if (!socketPath) return inactive;
  if (socketPath.startsWith('@')) {
    deps.log.warn({ socket: socketPath }, 'NOTIFY_SOCKET is an abstract socket, which this build cannot reach: systemd will not hear READY=1; use Type=simple for this unit');
    return inactive;
  }
  const watchdogMs = Number.isFinite(watchdogUsec) && watchdogUsec > 0 && (!watchdogPid || Number(watchdogPid) === process.pid) ? Math.max(1, Math.floor(watchdogUsec / 2000)) : null;
  return new NotifySocket(socketPath, watchdogMs, deps.log);
}

class NotifySocket implements ServiceManager {
  readonly #socket: UnixDgramSocket;
  readonly #path: string;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | null = null;
  #failing = false;

  constructor(
    path: string,
    readonly watchdogMs: number | null,
    log: Logger,
  ) {
    this.#path = path;
    this.#log = log;
    this.#socket = createSocket('unix_dgram');
    this.#socket.on('error', (err) => this.#failed(err));
  }

  ready(status?: string): void {
    this.#send(['READY=1', ...(status ? [`STATUS=${status}`] : [])]);
  }

  reloading(): void {
    // MONOTONIC_USEC lets systemd tell this reload from an older one (systemd 253+; older ones ignore it).
    this.#send(['RELOADING=1', `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`, 'STATUS=reloading the configuration']);
  }

  stopping(status = 'stopping'): void {
    this.#send(['STOPPING=1', `STATUS=${status}`]);
  }

  startWatchdog(): void {
    if (this.watchdogMs === null || this.#timer) return;
    this.#send(['WATCHDOG=1']);
    this.#timer = setInterval(() => this.#send(['WATCHDOG=1']), this.watchdogMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    try {
      this.#socket.close();
    } catch {
      /* already closed */
    }
  }

  #send(fields: string[]): void {
    // One field per line; a newline inside a value would start a field of its own.
    const text = fields.map((f) => f.replace(/\n/g, ' ')).join('\n');
    const data = Buffer.from(text);
    try {
      this.#socket.send(data, 0, data.length, this.#path, (err) => (err ? this.#failed(err) : this.#recovered()));
    } catch (err) {
      this.#failed(err as Error);
    }
  }

  /** Said once per outage, not at every watchdog ping. */
  #failed(err: Error): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#log.warn({ err: err.message, socket: this.#path }, 'cannot notify systemd; the watchdog may restart the daemon');
  }

  #recovered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#log.info({ socket: this.#path }, 'notifying systemd again');
  }
}

const inactive: ServiceManager = {
  watchdogMs: null,
  ready: () => undefined,
  reloading: () => undefined,
  stopping: () => undefined,
  startWatchdog: () => undefined,
  close: () => undefined,
};
