import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import type { AddressInfo, Socket } from 'node:net';
import { basic, digest } from 'http-auth';
import sharp from 'sharp';
import { CameraError, type CaptureResult } from '../../daemon/capture/camera';
import { HttpCamera, type HttpCameraOptions } from '../../daemon/capture/http.camera';
import { cameraFailure } from '../helpers/camera';
import { digestAuthorization, digestResponse, parseChallenges, pickDigestChallenge, type DigestChallenge } from '../../daemon/capture/http-digest';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

/** A local server playing the IP camera; each test sets `handler`. */
async function startServer(onRequest: Handler): Promise<{ server: http.Server; base: string }> {
  const server = http.createServer(onRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stopServer(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function sendBody(res: http.ServerResponse, body: Buffer, type = 'image/jpeg'): void {
  res.writeHead(200, { 'content-type': type, 'content-length': body.length });
  res.end(body);
}

describe('HttpCamera', () => {
  let jpeg: Buffer;
  let camera: { server: http.Server; base: string };
  let handler: Handler;
  let dir: string;
  let destination: string;

  beforeAll(async () => {
    const pixels = randomBytes(320 * 240 * 3);
    jpeg = await sharp(pixels, { raw: { width: 320, height: 240, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
    camera = await startServer((req, res) => handler(req, res));
  });

  afterAll(async () => {
    await stopServer(camera.server);
  });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-http-'));
    destination = path.join(dir, '.tmp-abc-20240621-120000.jpg');
    handler = (_req, res) => sendBody(res, jpeg);
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function httpCamera(options: Partial<HttpCameraOptions> = {}): HttpCamera {
    return new HttpCamera({ sourceId: 'north', url: `${camera.base}/snapshot.jpg`, auth: 'basic', ...options });
  }

  function shoot(sut: HttpCamera, signal = new AbortController().signal): Promise<CaptureResult> {
    return sut.capture({ destination, takenAt: new Date('2024-06-21T12:00:00Z'), signal });
  }

  /** Captures, expects a CameraError with `code`, and that no file is left behind. */
  async function failure(sut: HttpCamera, code: CameraError['code']): Promise<CameraError> {
    const error = await cameraFailure(shoot(sut));
    expect({ code: error.code, message: error.message }).toEqual({ code, message: expect.stringMatching(/^camera north: /) as unknown });
    expect(fs.existsSync(destination)).toBe(false);
    return error;
  }

  function basicServer(password = 'secret'): Handler {
    return basic({ realm: 'IP Camera' }, (user, pass, callback) => callback(user === 'admin' && pass === password)).check((_req, res) => sendBody(res, jpeg));
  }

  function digestServer(options: { algorithm?: 'MD5' | 'MD5-sess'; qop?: 'auth' | 'none' } = {}): Handler {
    const realm = 'IP Camera, front door';
    return digest({ realm, ...options }, (user, callback) => callback(user === 'admin' ? md5(`admin:${realm}:secret`) : undefined)).check((_req, res) =>
      sendBody(res, jpeg),
    );
  }

  it('fetches an open URL and reports the dimensions and bytes of the JPEG it wrote', async () => {
    const sut = httpCamera();

    const result = await shoot(sut);

    expect(result).toEqual({ width: 320, height: 240, size: jpeg.length });
    expect(fs.readFileSync(destination).equals(jpeg)).toBe(true);
    expect(sut.driver).toBe('http');
  });

  it('sends basic credentials', async () => {
    handler = basicServer();

    const result = await shoot(httpCamera({ username: 'admin', password: 'secret' }));

    expect(result.size).toBe(jpeg.length);
  });

  it('names basic authentication and the user, not the password, when the camera refuses', async () => {
    handler = basicServer();

    const error = await failure(httpCamera({ username: 'admin', password: 'wrong-pw' }), 'failed');

    expect(error.message).toMatch(/HTTP 401 .*basic authentication as user "admin"/);
    expect(error.advice).toMatch(/camera\.username and camera\.password/);
    expect(error.describe()).not.toContain('wrong-pw');
  });

  it.each([
    ['MD5 with qop=auth', {}],
    ['MD5-sess', { algorithm: 'MD5-sess' as const }],
    ['the RFC 2069 form without qop', { qop: 'none' as const }],
  ])('answers a digest challenge, checked by http-auth: %s', async (_name, options) => {
    handler = digestServer(options);

    const result = await shoot(httpCamera({ auth: 'digest', username: 'admin', password: 'secret' }));

    expect(result).toEqual({ width: 320, height: 240, size: jpeg.length });
  });

  it('names digest authentication when the camera refuses the password', async () => {
    handler = digestServer();

    const error = await failure(httpCamera({ auth: 'digest', username: 'admin', password: 'wrong-pw' }), 'failed');

    expect(error.message).toMatch(/HTTP 401 .*digest authentication as user "admin"/);
    expect(error.describe()).not.toContain('wrong-pw');
  });

  it('finds the digest challenge among several WWW-Authenticate headers', async () => {
    const check = digestServer();
    handler = (req, res) => {
      const setHeader = res.setHeader.bind(res);
      res.setHeader = (name, value) => setHeader(name, name.toLowerCase() === 'www-authenticate' ? ['Basic realm="IP Camera"', String(value)] : value);
      check(req, res);
    };

    const result = await shoot(httpCamera({ auth: 'digest', username: 'admin', password: 'secret' }));

    expect(result.size).toBe(jpeg.length);
  });

  it('says to switch to digest when basic is configured and the camera only offers digest', async () => {
    handler = digestServer();

    const error = await failure(httpCamera({ auth: 'basic', username: 'admin', password: 'secret' }), 'failed');

    expect(error.message).toMatch(/basic authentication .*it offers Digest/);
    expect(error.advice).toMatch(/set camera\.auth to digest/);
  });

  it('says to switch to basic when digest is configured and the camera only offers basic', async () => {
    handler = basicServer();

    const error = await failure(httpCamera({ auth: 'digest', username: 'admin', password: 'secret' }), 'failed');

    expect(error.message).toMatch(/no digest challenge .*it offers Basic/);
    expect(error.advice).toMatch(/set camera\.auth to basic/);
  });

  it('asks for credentials when the camera wants some and none are configured', async () => {
    handler = basicServer();

    const error = await failure(httpCamera(), 'failed');

    expect(error.message).toMatch(/HTTP 401.*user name and password/);
    expect(error.advice).toMatch(/camera\.username/);
  });

  it('uses credentials from the URL and keeps them, and secret query values, out of messages', async () => {
    const port = new URL(camera.base).port;
    const url = `http://admin:s3cret@127.0.0.1:${port}/cgi-bin/snap.cgi?usr=admin&pwd=s3cret&ch=1`;
    handler = basicServer('s3cret');
    expect((await shoot(httpCamera({ url }))).size).toBe(jpeg.length);

    handler = (_req, res) => res.writeHead(500).end();
    const error = await failure(httpCamera({ url }), 'failed');

    expect(error.message).toContain(`http://127.0.0.1:${port}/cgi-bin/snap.cgi?usr=admin&pwd=***&ch=1 answered HTTP 500`);
    expect(error.describe()).not.toContain('s3cret');
  });

  it('fails naming the status of any other non-2xx answer', async () => {
    handler = (_req, res) => res.writeHead(500, 'Sensor Error').end('oops');

    const error = await failure(httpCamera(), 'failed');

    expect(error.message).toBe(`camera north: ${camera.base}/snapshot.jpg answered HTTP 500 Sensor Error`);
  });

  it.each([
    ['text/html; charset=utf-8', 'text/html', /web page/],
    ['multipart/x-mixed-replace; boundary=frame', 'multipart/x-mixed-replace', /MJPEG/],
  ])('refuses a %s answer as bad output, naming the type', async (header, type, advice) => {
    handler = (_req, res) => sendBody(res, jpeg, header);

    const error = await failure(httpCamera(), 'bad-output');

    expect(error.message).toContain(`answered with ${type} instead of a JPEG`);
    expect(error.advice).toMatch(advice);
  });

  it('accepts application/octet-stream when the body is a JPEG, and refuses it when it is not', async () => {
    handler = (_req, res) => sendBody(res, jpeg, 'application/octet-stream');
    expect((await shoot(httpCamera())).size).toBe(jpeg.length);

    handler = (_req, res) => sendBody(res, Buffer.alloc(4096, '<html>'), 'application/octet-stream');
    const error = await failure(httpCamera(), 'bad-output');
    expect(error.message).toMatch(/answered with application\/octet-stream, and the body is not a JPEG/);
  });

  it.each([
    ['reset', (socket: Socket) => socket.destroy()],
    ['closed cleanly', (socket: Socket) => socket.end()],
  ])('reports a body cut short (connection %s) as an I/O error and leaves no file', async (_name, cut) => {
    let wrote = false;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length });
      res.write(jpeg.subarray(0, 20_000), () => (wrote = true));
      setTimeout(() => res.socket && cut(res.socket), 100);
    };

    const error = await failure(httpCamera(), 'io');

    expect(wrote).toBe(true);
    expect(error.message).toMatch(new RegExp(`broke after 20000 of ${jpeg.length} bytes`));
  });

  it('refuses a JPEG without its end marker', async () => {
    handler = (_req, res) => sendBody(res, jpeg.subarray(0, jpeg.length - 2));

    const error = await failure(httpCamera(), 'bad-output');

    expect(error.message).toMatch(/truncated/);
  });

  it('refuses an answer smaller than minBytes, announced or not', async () => {
    handler = (_req, res) => sendBody(res, jpeg.subarray(0, 500));
    const announced = await failure(httpCamera(), 'bad-output');
    expect(announced.message).toMatch(/announces only 500 bytes/);

    handler = (_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg.subarray(0, 500));
    const sent = await failure(httpCamera(), 'bad-output');
    expect(sent.message).toMatch(/sent only 500 bytes/);
  });

  it('stops a download as soon as it passes maxBytes', async () => {
    const maxBytes = 1024 * 1024;
    const chunk = Buffer.concat([jpeg.subarray(0, 2), Buffer.alloc(64 * 1024 - 2)]);
    let sent = 0;
    const closed = new Promise<void>((resolve) => {
      handler = (_req, res) => {
        res.on('close', resolve);
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        // Without a Content-Length, only the byte count can stop it: 64 MiB on offer.
        const pump = (): void => {
          while (!res.destroyed && sent < 64 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      };
    });

    const error = await failure(httpCamera({ maxBytes }), 'bad-output');
    await closed;

    // It stops at the first read past the limit; how the bytes were split into reads depends on the machine's load.
    const stoppedAt = Number(/sent more than 1048576 bytes \(stopped at (\d+)\)/.exec(error.message)?.[1]);
    expect(stoppedAt).toBeGreaterThan(maxBytes);
    expect(stoppedAt).toBeLessThanOrEqual(maxBytes + 256 * 1024);
    // The socket buffers on both sides hold a few MiB at most; the rest was never sent.
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses an announced Content-Length over maxBytes before reading the body', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 100 * 1024 * 1024 });
      res.write(jpeg.subarray(0, 1000));
    };

    const error = await failure(httpCamera(), 'bad-output');

    expect(error.message).toMatch(/announces 104857600 bytes, more than the limit of 52428800/);
  });

  it('rejects promptly with the abort reason when the camera never answers', async () => {
    handler = () => undefined;
    const controller = new AbortController();
    const reason = new CameraError('timeout', 'camera north: no picture within 300ms', 'raise camera.timeout');
    const started = Date.now();
    setTimeout(() => controller.abort(reason), 300);

    await expect(shoot(httpCamera(), controller.signal)).rejects.toBe(reason);

    expect(Date.now() - started).toBeLessThan(2000);
    expect(fs.existsSync(destination)).toBe(false);
  });

  it('removes the partial file when aborted in the middle of the body', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length });
      res.write(jpeg.subarray(0, 20_000));
    };
    const controller = new AbortController();
    const reason = new CameraError('aborted', 'camera north: capture abandoned, the daemon is stopping');
    const capture = shoot(httpCamera(), controller.signal);
    while (!fs.existsSync(destination) || fs.statSync(destination).size === 0) await new Promise((resolve) => setTimeout(resolve, 10));

    controller.abort(reason);

    await expect(capture).rejects.toBe(reason);
    expect(fs.existsSync(destination)).toBe(false);
  });

  it('reports a refused connection as not-found', async () => {
    const closed = await startServer(() => undefined);
    await stopServer(closed.server);

    const error = await failure(httpCamera({ url: `${closed.base}/snapshot.jpg` }), 'not-found');

    expect(error.message).toMatch(/127\.0\.0\.1:\d+ refused the connection/);
  });

  it('reports an unknown host name as not-found', async () => {
    const error = await failure(httpCamera({ url: 'http://camera.invalid/snapshot.jpg' }), 'not-found');

    expect(error.message).toMatch(/cannot resolve the host name camera\.invalid/);
  });

  it("explains fetch's refusal of ports on its unsafe list", async () => {
    const error = await failure(httpCamera({ url: 'http://127.0.0.1:6000/snapshot.jpg' }), 'failed');

    expect(error.message).toMatch(/the port of 127\.0\.0\.1:6000 is on fetch's list of unsafe ports/);
  });

  it.each([
    ['rtsp://admin:pw-123@cam.local/stream', /camera\.url must start with http:\/\/ or https:\/\/, not rtsp:\/\//],
    ['http://admin:pw-123@[not-a-host/snapshot.jpg', /camera\.url is not a valid URL: http:\/\/\[not-a-host\/snapshot\.jpg$/],
  ])('refuses the URL %s without showing its password', async (url, message) => {
    const error = await failure(httpCamera({ url }), 'failed');

    expect(error.message).toMatch(message);
    expect(error.describe()).not.toContain('pw-123');
    expect(error.cause).toBeUndefined();
  });

  it('reports a connection closed before any answer as an I/O error', async () => {
    handler = (req) => req.socket.destroy();

    await failure(httpCamera(), 'io');
  });

  it('follows a redirect on the same server with the credentials', async () => {
    const check = basicServer();
    handler = (req, res) => (req.url === '/old' ? res.writeHead(302, { location: '/snapshot.jpg' }).end() : check(req, res));

    const result = await shoot(httpCamera({ url: `${camera.base}/old`, username: 'admin', password: 'secret' }));

    expect(result.size).toBe(jpeg.length);
  });

  it('never sends the credentials to another server a redirect points to', async () => {
    const seen: (string | undefined)[] = [];
    const other = await startServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="other"' }).end();
    });
    handler = (_req, res) => res.writeHead(302, { location: `${other.base}/snapshot.jpg` }).end();
    try {
      const error = await failure(httpCamera({ username: 'admin', password: 'secret' }), 'failed');

      expect(seen).toEqual([undefined]);
      expect(error.message).toMatch(/redirects to another server/);
    } finally {
      await stopServer(other.server);
    }
  });

  it('gives up on a redirect loop', async () => {
    handler = (_req, res) => res.writeHead(302, { location: '/snapshot.jpg' }).end();

    const error = await failure(httpCamera(), 'failed');

    expect(error.message).toMatch(/redirects more than 3 times/);
  });

  it('refuses an https camera whose certificate is not trusted, with advice', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    const server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) }, (_req, res) => sendBody(res, jpeg));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/snapshot.jpg`;

      const error = await failure(httpCamera({ url }), 'failed');

      expect(error.message).toMatch(/certificate of 127\.0\.0\.1:\d+ is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
      expect(error.advice).toMatch(/NODE_EXTRA_CA_CERTS/);
    } finally {
      await stopServer(server);
    }
  });
});

describe('http-digest', () => {
  const RFC2617: DigestChallenge = { realm: 'testrealm@host.com', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', qop: 'auth', algorithm: 'MD5', opaque: '5ccc069c403ebaf9f0171e9517f40e41' };
  const RFC2617_INPUT = { challenge: RFC2617, username: 'Mufasa', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', cnonce: '0a4f113b', nc: 1 };

  describe('parseChallenges', () => {
    it('reads quoted values with commas and escaped quotes, and unquoted tokens', () => {
      const sut = parseChallenges('Digest realm="cam, \\"front\\" door", qop="auth,auth-int", nonce="a,b", algorithm=MD5');

      expect(sut).toEqual([{ scheme: 'digest', params: { realm: 'cam, "front" door', qop: 'auth,auth-int', nonce: 'a,b', algorithm: 'MD5' } }]);
    });

    it('separates several challenges in one header, and headers joined by commas', () => {
      const sut = parseChallenges('Newauth realm="apps", type=1, title="Login to \\"apps\\"", DIGEST Realm="x, y", nonce="n", Basic realm="simple",Negotiate abc==, Bearer');

      expect(sut).toEqual([
        { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
        { scheme: 'digest', params: { realm: 'x, y', nonce: 'n' } },
        { scheme: 'basic', params: { realm: 'simple' } },
        { scheme: 'negotiate', params: {}, token68: 'abc==' },
        { scheme: 'bearer', params: {} },
      ]);
    });
  });

  describe('pickDigestChallenge', () => {
    it('takes the first digest challenge it can answer, keeping the algorithm as spelled', () => {
      const sut = pickDigestChallenge(
        parseChallenges('Basic realm="r", Digest realm="r", nonce="1", algorithm=SHA-512-256, Digest realm="r", nonce="2", qop="auth-int", Digest realm="r", nonce="3", qop="auth-int, auth", algorithm=sha-256-sess, opaque="o"'),
      );

      expect(sut).toEqual({ realm: 'r', nonce: '3', qop: 'auth', algorithm: 'SHA-256-sess', algorithmToken: 'sha-256-sess', opaque: 'o' });
    });

    it('reads a missing or empty qop as the form without qop, and a missing algorithm as MD5', () => {
      expect(pickDigestChallenge(parseChallenges('Digest realm="r", nonce="n", qop=""'))).toEqual({ realm: 'r', nonce: 'n', algorithm: 'MD5' });
      expect(pickDigestChallenge(parseChallenges('Basic realm="r"'))).toBeUndefined();
    });
  });

  describe('digestResponse', () => {
    it('matches the example of RFC 2617 section 3.5', () => {
      expect(digestResponse(RFC2617_INPUT)).toBe('6629fae49393a05397450978507c4ef1');
    });

    it.each([
      ['MD5' as const, '8ca523f5e9506fed4657c9700eebdbec'],
      ['SHA-256' as const, '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
    ])('matches the %s example of RFC 7616 section 3.9.1', (algorithm, expected) => {
      const challenge: DigestChallenge = { realm: 'http-auth@example.org', nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', qop: 'auth', algorithm };

      const sut = digestResponse({ challenge, username: 'Mufasa', password: 'Circle of Life', method: 'GET', uri: '/dir/index.html', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ', nc: 1 });

      expect(sut).toBe(expected);
    });

    it('computes the session and no-qop forms from their definitions', () => {
      const h1 = md5('Mufasa:testrealm@host.com:Circle Of Life');
      const h2 = md5('GET:/dir/index.html');
      const sessH1 = md5(`${h1}:${RFC2617.nonce}:0a4f113b`);

      expect(digestResponse({ ...RFC2617_INPUT, challenge: { ...RFC2617, algorithm: 'MD5-sess' } })).toBe(md5(`${sessH1}:${RFC2617.nonce}:00000001:0a4f113b:auth:${h2}`));
      expect(digestResponse({ ...RFC2617_INPUT, challenge: { realm: RFC2617.realm, nonce: RFC2617.nonce, algorithm: 'MD5' } })).toBe(md5(`${h1}:${RFC2617.nonce}:${h2}`));
    });
  });

  describe('digestAuthorization', () => {
    it('writes every field of the RFC 2617 example, with qop and nc as tokens', () => {
      const sut = digestAuthorization(RFC2617_INPUT);

      expect(sut).toBe(
        'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", ' +
          'response="6629fae49393a05397450978507c4ef1", qop=auth, nc=00000001, cnonce="0a4f113b", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
      );
    });

    it('echoes the algorithm, escapes quotes, and leaves out qop, nc and cnonce in the form without qop', () => {
      const challenge: DigestChallenge = { realm: 'a "b"', nonce: 'n', algorithm: 'MD5', algorithmToken: 'md5' };

      const sut = parseChallenges(digestAuthorization({ ...RFC2617_INPUT, challenge, username: 'x\\y' }));

      expect(sut).toEqual([
        { scheme: 'digest', params: { username: 'x\\y', realm: 'a "b"', nonce: 'n', uri: '/dir/index.html', algorithm: 'md5', response: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown } },
      ]);
    });
  });
});
