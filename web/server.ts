/**
 * Starts and stops an HTTP(S) listener for an express app, closing idle
 * keep-alive connections on stop so the daemon can exit promptly.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface Listener {
  /** The bound address: `host:port`, or the socket path. */
  readonly address: string;
  close(): Promise<void>;
}

export type ListenTarget = { host: string; port: number; tls?: { cert: string; key: string } } | { socketPath: string };

export async function listen(handler: RequestListener, target: ListenTarget): Promise<Listener> {
  const server =
    'socketPath' in target || !target.tls
      ? http.createServer(handler)
      : https.createServer({ cert: fs.readFileSync(target.tls.cert), key: fs.readFileSync(target.tls.key) }, handler);
  server.headersTimeout = 20_000;
  server.requestTimeout = 120_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('socketPath' in target) server.listen(target.socketPath, () => resolve());
    else server.listen(target.port, target.host, () => resolve());
  });
  const bound = server.address();
  const address = typeof bound === 'string' ? bound : `${(bound as AddressInfo).address}:${(bound as AddressInfo).port}`;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running after 3 s are cut: the daemon must exit within 10 s.
        setTimeout(() => server.closeAllConnections(), 3_000).unref();
      }),
  };
}
