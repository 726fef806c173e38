import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { CameraError, type CaptureResult } from '../../daemon/capture/camera';
import { RtspCamera, type RtspCameraOptions } from '../../daemon/capture/rtsp.camera';
import { isCompleteJpeg } from '../../daemon/files/jpeg';
import { freePort, waitFor } from '../helpers/env';
import { RtpSource, RtspServer } from '../helpers/rtsp-server';
import { groupExists, isGone } from '../helpers/processes';
import { cameraFailure as failure } from '../helpers/camera';

const CREDENTIALS = { username: 'viewer', password: 'Tr0ub4dor&3' };

/** Process ids whose command line (as `ps` shows it to any local account) contains `text`. */
function processesWith(text: string): number[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(text))
    .map((line) => Number.parseInt(line, 10));
}

describe('RtspCamera', () => {
  let source: RtpSource;
  let open: RtspServer;
  let guarded: RtspServer;
  let hung: RtspServer;
  let dir: string;
  let destination: string;
  /** Every capture a test starts; afterEach stops and awaits them, so no ffmpeg outlives a test. */
  let running: { controller: AbortController; capture: Promise<unknown> }[];

  beforeAll(async () => {
    source = await RtpSource.start({ width: 640, height: 360 });
    open = await RtspServer.start(source);
    guarded = await RtspServer.start(source, { credentials: CREDENTIALS });
    hung = await RtspServer.start(undefined, { hang: true });
  });

  afterAll(async () => {
    await Promise.all([open?.stop(), guarded?.stop(), hung?.stop()]);
    await source?.stop();
  });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-rtsp-'));
    destination = path.join(dir, 'picture.jpg.tmp');
    running = [];
  });

  afterEach(async () => {
    for (const { controller } of running) controller.abort();
    await Promise.allSettled(running.map(({ capture }) => capture));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function shoot(options: Partial<RtspCameraOptions> & { url: string }, controller = new AbortController()): Promise<CaptureResult> {
    const sut = new RtspCamera({ sourceId: 'gate', transport: 'tcp', timeoutMs: 5000, ...options });
    const capture = sut.capture({ destination, takenAt: new Date(), signal: controller.signal });
    running.push({ controller, capture: capture.catch(() => undefined) });
    return capture;
  }

  async function expectPicture(result: CaptureResult): Promise<void> {
    expect(await isCompleteJpeg(destination)).toBe(true);
    const meta = await sharp(destination).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 640, 360]);
    expect(result).toEqual({ width: 640, height: 360, size: fs.statSync(destination).size });
  }

  function setups(server: RtspServer): string[] {
    return server.requests.filter((r) => r.method === 'SETUP').map((r) => r.headers['transport'] ?? '');
  }

  it('captures a frame over tcp, interleaved in the RTSP connection', async () => {
    const streamPath = `/live-${randomUUID()}`;
    const server = await RtspServer.start(source, { path: streamPath });
    try {
      const result = await shoot({ url: server.url() });

      await expectPicture(result);
      expect(setups(server)).toEqual([expect.stringMatching(/^RTP\/AVP\/TCP;unicast;interleaved=0-1/)]);
    } finally {
      await server.stop();
    }
  });

  it('captures a frame over udp', async () => {
    const server = await RtspServer.start(source);
    try {
      const result = await shoot({ url: server.url(), transport: 'udp' });

      await expectPicture(result);
      expect(setups(server)).toEqual([expect.stringMatching(/^RTP\/AVP(\/UDP)?;unicast;client_port=\d+-\d+/)]);
    } finally {
      await server.stop();
    }
  });

  it('captures from a camera that asks for a password when the URL has the right one', async () => {
    const result = await shoot({ url: guarded.url(CREDENTIALS) });

    await expectPicture(result);
  });

  it('captures with a password holding a quote, which the playlist on stdin must escape', async () => {
    const quoted = { username: 'viewer', password: "it's'option" };
    const server = await RtspServer.start(source, { credentials: quoted });
    try {
      const result = await shoot({ url: server.url(quoted) });

      await expectPicture(result);
    } finally {
      await server.stop();
    }
  });

  it('keeps the password off every command line while ffmpeg runs', async () => {
    const password = `S3cret-${randomUUID()}`;
    const streamPath = `/hang-${randomUUID()}`;

    void shoot({ url: hung.url({ username: 'viewer', password, path: streamPath }), timeoutMs: 60_000 });
    // ffmpeg is connected and waiting: it has read the URL and holds it now.
    await waitFor('ffmpeg to ask the hung server', () => hung.requests.some((r) => r.uri.startsWith(hung.url({ path: streamPath }))), 5000);
    const [pid] = processesWith(destination);
    expect(pid).toBeGreaterThan(0);

    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(password);
    expect(fs.readFileSync(`/proc/${pid}/environ`, 'utf8')).not.toContain(password);
    expect(processesWith(password)).toEqual([]);
  });

  it('says which stream path does not exist', async () => {
    const error = await failure(shoot({ url: open.url({ path: '/no-such-stream' }) }));

    expect(error.code).toBe('not-found');
    expect(error.message).toBe(`camera gate: no stream at rtsp://127.0.0.1:${open.port}/no-such-stream (404 Not Found)`);
    expect(error.advice).toBe("check the stream path in the URL against the camera's manual");
    expect(fs.existsSync(destination)).toBe(false);
  });

  it('says the credentials are wrong without showing them', async () => {
    const before = guarded.requests.length;

    const error = await failure(shoot({ url: guarded.url({ username: 'viewer', password: 'wrong-Secret' }) }));

    expect(error.code).toBe('failed');
    expect(error.message).toBe(`camera gate: rtsp://127.0.0.1:${guarded.port}/live refused the user name or password (401 Unauthorized)`);
    expect(error.advice).toBe('check the username and password in the URL (percent-encode special characters)');
    expect(error.describe()).not.toMatch(/wrong-Secret|viewer/);
    // ffmpeg did offer the (wrong) credentials: the 401 came from the password, not from its absence.
    expect(guarded.requests.slice(before).some((r) => r.headers['authorization']?.startsWith('Basic '))).toBe(true);
  });

  it('stops at once when aborted while the camera hangs: no process, no file, the abort reason', async () => {
    const url = hung.url({ path: `/hang-${randomUUID()}` });
    const controller = new AbortController();
    const reason = new CameraError('timeout', 'camera gate: no picture within 1s', 'the camera may be hung');

    const capture = shoot({ url, timeoutMs: 60_000 }, controller);
    const settled = capture.catch((err: unknown) => err);
    // Abort once ffmpeg is connected and waiting for an answer, as camera.timeout would.
    await waitFor('ffmpeg to ask the hung server', () => hung.requests.some((r) => r.uri.startsWith(url)), 5000);
    // Found by its output: the URL is not on its command line.
    const [pid] = processesWith(destination);
    expect(pid).toBeGreaterThan(0);

    const abortedAt = Date.now();
    controller.abort(reason);
    expect(await settled).toBe(reason);

    expect(Date.now() - abortedAt).toBeLessThan(2500);
    expect(isGone(pid)).toBe(true);
    // The whole process group is gone too.
    expect(groupExists(pid)).toBe(false);
    expect(processesWith(destination)).toEqual([]);
    expect(fs.existsSync(destination)).toBe(false);
  });

  it('gives up by itself after timeoutMs when the camera never answers', async () => {
    const started = Date.now();

    const error = await failure(shoot({ url: hung.url({ path: `/hang-${randomUUID()}` }), timeoutMs: 1000 }));

    expect(error.code).toBe('timeout');
    expect(error.message).toBe(`camera gate: no RTSP answer from 127.0.0.1:${hung.port} (none in time, or not an RTSP server)`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('says nothing answers when the port is closed', async () => {
    const port = await freePort();

    const error = await failure(shoot({ url: `rtsp://${CREDENTIALS.username}:${CREDENTIALS.password}@127.0.0.1:${port}/live` }));

    expect(error.code).toBe('not-found');
    expect(error.message).toBe(`camera gate: nothing answers at 127.0.0.1:${port} (connection refused)`);
    expect(error.advice).toBe("check the address and port in the URL, and that the camera's RTSP service is enabled");
    expect(error.describe()).not.toContain(CREDENTIALS.password);
  });
});
