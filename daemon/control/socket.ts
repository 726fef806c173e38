/**
 * The daemon's end of the control socket: claimed at start-up, answering once the
 * daemon runs, removed at the very end. The CLI's end is client.ts.
 */
import fs from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import { AppError } from '../errors';
import { listen, type Listener } from '../../web/server';
import { controlRequest } from './client';

/**
 * The control socket in the data folder. Claimed first at start-up (one daemon per
 * data folder), answering only once every service runs, and given up last, so that a
 * command never works on the data folder beside a daemon that still holds its cameras.
 */
export class ControlSocket {
  readonly #deps: { socketPath: string; dataDir: string; handler: RequestListener };
  #listener: Listener | null = null;

  constructor(deps: { socketPath: string; dataDir: string; handler: RequestListener }) {
    this.#deps = deps;
  }

  /** Refuses to run twice on one data folder; removes the socket a crashed daemon left. */
  async claim(): Promise<void> {
    const answer = await controlRequest(this.#deps.socketPath, 'GET', '/status', 2_000).catch(() => null);
    if (answer) throw new AppError('conflict', `another lapsebox daemon is already running on ${this.#deps.dataDir}`);
    await fs.rm(this.#deps.socketPath, { force: true });
  }

  async listen(): Promise<void> {
    this.#listener = await listen(this.#deps.handler, { socketPath: this.#deps.socketPath });
    await fs.chmod(this.#deps.socketPath, 0o660);
  }

  /** Stops answering and removes the socket; only the daemon that listened on it removes it. */
  async close(): Promise<void> {
    if (!this.#listener) return;
    await this.#listener.close();
    this.#listener = null;
    await fs.rm(this.#deps.socketPath, { force: true }).catch(() => undefined);
  }
}
