/**
 * "Through the running daemon, else here", written once: a command asks the daemon
 * of the data folder on its control socket (one camera operation at a time, one
 * encode at a time, its live state); with no daemon listening it does the same work
 * in this process, with the services the daemon builds, wired the same way
 * (compose/services.ts).
 */
import type { Config } from '../config/schema';
import { DataLayout } from '../files/layout';
import { openRepositories } from '../store/repositories';
import { controlRequest, type ControlResponse } from '../control/client';
import { Services } from '../compose/services';
import { silentLogger } from '../logger';

/** One request to the running daemon; null when no daemon listens on the socket. */
export type AskDaemon = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, timeoutMs?: number, body?: unknown) => Promise<ControlResponse | null>;

export interface DaemonOrHere<T> {
  /** Asks the daemon; null when no daemon answered (or its answer means "do it here"). */
  daemon(ask: AskDaemon): Promise<T | null>;
  /**
   * No daemon: the same work here. `services()` opens the data folder's database on
   * its first call and builds the services on first use; both are closed after.
   */
  here(services: () => Services): Promise<T> | T;
  /** What the services here are built from, when not the whole configuration (`lapsebox capture` opens only its source's camera). */
  hereConfig?: Config;
}

export async function daemonOrHere<T>(config: Config, work: DaemonOrHere<T>): Promise<T> {
  const socket = new DataLayout(config.storage.dataDir).controlSocket;
  const answer = await work.daemon((method, path, timeoutMs, body) => controlRequest(socket, method, path, timeoutMs, body));
  if (answer !== null) return answer;
  const built = work.hereConfig ?? config;
  let services: Services | null = null;
  try {
    return await work.here(() => (services ??= new Services({ config: () => built, store: openRepositories(config.storage.dataDir), log: silentLogger() })));
  } finally {
    (services as Services | null)?.store.close();
  }
}
