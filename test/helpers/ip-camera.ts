/** An IP camera on loopback: a snapshot URL that answers a JPEG while `up`, and 503 while it is off. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jpegOf, noise } from './images';

export interface IpCamera {
  url: string;
  set(up: boolean): void;
  close(): Promise<void>;
}

export async function startIpCamera(width = 320, height = 240): Promise<IpCamera> {
  const jpeg = await jpegOf(noise(width, height), width, height);
  let up = true;
  const server = http.createServer((_req, res) => {
    if (!up) {
      res.writeHead(503).end('camera is off');
      return;
    }
    res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/snapshot.jpg`,
    set: (on: boolean) => (up = on),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
