/**
 * Both gphoto2 drivers against libgphoto2's virtual camera (test/helpers/vcamera.ts):
 * the real gphoto2 program and the real binding in its worker, on Debian's libgphoto2.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { Writable } from 'node:stream';
import { CameraError } from '../../daemon/capture/camera';
import { GPhoto2Camera, detectCameras } from '../../daemon/capture/gphoto2.camera';
import { Gphoto2SessionCamera, type SessionOptions } from '../../daemon/capture/gphoto2-session/session.camera';
import { createLogger, silentLogger } from '../../daemon/logger';
import Database from 'better-sqlite3';
import { ROOT, cli, freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { groupExists, isGone } from '../helpers/processes';
import { fixtureFolder, vcameraEnv } from '../helpers/vcamera';

jest.setTimeout(60_000);

let jpeg: Buffer;

beforeAll(async () => {
  // A photo-sized JPEG (well over the drivers' 10 KB floor for a real shot).
  jpeg = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#48a' } })
    .composite([{ input: Buffer.from('<svg width="1200" height="800"><circle cx="600" cy="400" r="300" fill="#fc3"/></svg>'), top: 0, left: 0 }])
    .jpeg({ quality: 95 })
    .toBuffer();
});

/** Runs `work` with `env` in this process's environment (the program's driver passes its own environment on). */
async function withEnv<T>(env: Record<string, string>, work: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await work();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function logLines(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: createLogger({ destination: stream, journal: false }), lines: () => lines.map((l) => JSON.parse(l.replace(/^<\d>/, '')) as Record<string, unknown>) };
}

describe('the session driver (the gphoto2 binding in a worker)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let cameras: Gphoto2SessionCamera[];

  beforeEach(() => {
    tmp = tempDir();
    cameras = [];
  });

  afterEach(async () => {
    await Promise.all(cameras.map((c) => c.close()));
    tmp.cleanup();
  });

  const session = (options: Partial<SessionOptions> & { fixtures: string }) => {
    const { fixtures, ...rest } = options;
    const camera = new Gphoto2SessionCamera({ sourceId: 'dslr', settings: {}, keepRaw: false, log: silentLogger(), mode: 'session', workerEnv: vcameraEnv(fixtures), ...rest });
    cameras.push(camera);
    return camera;
  };
  const shoot = (camera: Gphoto2SessionCamera, name: string, ms = 10_000) =>
    camera.capture({ destination: path.join(tmp.dir, name), takenAt: new Date(), signal: AbortSignal.timeout(ms) });

  it('opens the camera once, reads who it is, and keeps it open from shot to shot', async () => {
    const camera = session({ fixtures: fixtureFolder(path.join(tmp.dir, 'fx'), [jpeg]), model: 'Nikon DSC D750' });
    const pids = new Set<number | null>();
    for (let i = 0; i < 5; i++) {
      const shot = await shoot(camera, `p${i}.jpg`);
      expect(shot).toEqual({ width: 1200, height: 800, size: jpeg.length });
      expect(fs.readFileSync(path.join(tmp.dir, `p${i}.jpg`)).equals(jpeg)).toBe(true);
      pids.add(camera.state.workerPid);
    }
    // One worker for all five: the session stayed open.
    expect(pids.size).toBe(1);
    expect(camera.state).toMatchObject({ driver: 'session', reason: null, camera: { model: 'Nikon DSC D750', port: 'usb:001,001', serial: '0.1', battery: '50%' } });
    expect(camera.state.camera!.exposure).toMatchObject({ shutterspeed: expect.stringMatching(/s$/), 'f-number': expect.stringMatching(/^f\//) });
    // Nothing of the shots is left beside them.
    expect(fs.readdirSync(tmp.dir).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
  });

  it('applies the settings in the session and reads them back', async () => {
    const fixtures = fixtureFolder(path.join(tmp.dir, 'fx'), [jpeg]);
    const camera = session({ fixtures, settings: { shutterspeed: '0.0500s', '/main/capturesettings/f-number': 'f/4' } });
    await shoot(camera, 'a.jpg');
    expect(camera.state.camera!.exposure).toMatchObject({ shutterspeed: '0.0500s', 'f-number': 'f/4' });
    const info = await camera.info(AbortSignal.timeout(10_000));
    expect(info!.exposure.shutterspeed).toBe('0.0500s');

    // A value the camera does not offer is refused by name, with the choices it has.
    const wrong = session({ fixtures, settings: { shutterspeed: '1/3' } });
    const error = await shoot(wrong, 'b.jpg').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CameraError);
    expect((error as CameraError).message).toMatch(/"1\/3" is not one of the camera's choices for shutterspeed: .*0\.0500s/);
    const unknown = session({ fixtures, settings: { iso: 100 } });
    expect(((await shoot(unknown, 'c.jpg').catch((e: unknown) => e)) as Error).message).toContain('the camera has no setting "iso"');
  });

  it("takes the exposure ramp's settings for a frame from the camera's own choices, and the camera reads them back (issue 27)", async () => {
    const fixtures = fixtureFolder(path.join(tmp.dir, 'fx'), [jpeg]);
    const camera = session({ fixtures });
    const control = await camera.exposureControl(AbortSignal.timeout(10_000));
    // The virtual D750 has shutter speeds and f-numbers, no ISO.
    expect(control.names).toEqual({ shutter: 'shutterspeed', aperture: 'f-number' });
    expect(control.choices.iso).toEqual([]);
    expect(control.choices.shutter.map((c) => c.label)).toEqual(['0.0001s', '0.0012s', '0.0025s', '0.0050s', '0.0100s', '0.0200s', '0.0500s', '0.1000s', '1.0000s']);
    expect(control.current).toEqual({ shutter: 0.01, aperture: 2.8 });

    const shot = await camera.capture({ destination: path.join(tmp.dir, 'a.jpg'), takenAt: new Date(), signal: AbortSignal.timeout(10_000), exposure: { shutter: '0.0200s', aperture: 'f/5.6' } });
    // 1/50 s at f/5.6 is EV 10 2/3 (the nominal thirds: 1/50 is 2^-5 2/3, f/5.6 is 2^2.5).
    expect(shot.exposure).toEqual({ shutter: '0.0200s', iso: null, aperture: 'f/5.6', ev: 10.67 });
    // Read from the camera anew: it kept them.
    expect((await camera.info(AbortSignal.timeout(10_000)))!.exposure).toMatchObject({ shutterspeed: '0.0200s', 'f-number': 'f/5.6' });
    // The next frame changes the shutter only; the camera keeps the aperture it had.
    const next = await camera.capture({ destination: path.join(tmp.dir, 'b.jpg'), takenAt: new Date(), signal: AbortSignal.timeout(10_000), exposure: { shutter: '0.0500s', aperture: 'f/5.6' } });
    expect(next.exposure).toMatchObject({ shutter: '0.0500s', aperture: 'f/5.6' });

    // A value that is none of its choices is refused by name.
    const error = (await camera.capture({ destination: path.join(tmp.dir, 'c.jpg'), takenAt: new Date(), signal: AbortSignal.timeout(10_000), exposure: { shutter: '1/3' } }).catch((e: unknown) => e)) as CameraError;
    expect(error.message).toMatch(/"1\/3" is not one of the camera's choices for shutterspeed/);
  });

  it('says which camera it looked for when none matches', async () => {
    const camera = session({ fixtures: fixtureFolder(path.join(tmp.dir, 'fx'), [jpeg]), serial: '1234' });
    const error = (await shoot(camera, 'a.jpg').catch((e: unknown) => e)) as CameraError;
    expect(error.code).toBe('not-found');
    expect(error.message).toBe('camera dslr: no camera matching serial 1234 (libgphoto2 sees: Nikon DSC D750 at usb:001,001)');
  });

  it('kills a worker that misses its deadline, with its process group, and opens a new one for the next shot', async () => {
    // No picture to give: the virtual camera's capture never ends.
    const fixtures = fixtureFolder(path.join(tmp.dir, 'fx'), []);
    const camera = session({ fixtures });
    // The capture service's deadline: camera.timeout, as a CameraError on the signal.
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(new CameraError('timeout', 'camera dslr: no picture within 1.5 s')), 1500);
    const started = Date.now();
    const capture = camera.capture({ destination: path.join(tmp.dir, 'a.jpg'), takenAt: new Date(), signal: deadline.signal }).catch((e: unknown) => e);
    await waitUntil(() => camera.state.camera !== null);
    const hung = camera.state.workerPid!;
    const error = (await capture) as CameraError;
    expect(error).toBeInstanceOf(CameraError);
    expect(error.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2_500);
    await waitUntil(() => isGone(hung));
    expect(camera.state.workerPid).toBeNull();
    expect(fs.existsSync(path.join(tmp.dir, 'a.jpg'))).toBe(false);
    // The camera answers again: a new worker, a new session.
    fixtureFolder(fixtures, [jpeg]);
    expect(await shoot(camera, 'b.jpg')).toMatchObject({ width: 1200 });
    expect(camera.state.workerPid).not.toBe(hung);
  });

  it('a worker killed in the middle of a capture fails that capture cleanly; the next one gets a new worker', async () => {
    const fixtures = fixtureFolder(path.join(tmp.dir, 'fx'), []);
    const camera = session({ fixtures });
    const capture = shoot(camera, 'a.jpg', 20_000).catch((e: unknown) => e);
    await waitUntil(() => camera.state.workerPid !== null && camera.state.camera !== null);
    const pid = camera.state.workerPid!;
    await new Promise((r) => setTimeout(r, 300)); // in the capture now
    process.kill(pid, 'SIGKILL');
    const error = (await capture) as CameraError;
    expect(error.code).toBe('io');
    expect(error.message).toMatch(/the camera's session ended during "capture" \(killed by SIGKILL\)/);
    expect(fs.existsSync(path.join(tmp.dir, 'a.jpg'))).toBe(false);
    fixtureFolder(fixtures, [jpeg]);
    expect(await shoot(camera, 'b.jpg')).toMatchObject({ width: 1200 });
    expect(camera.state.workerPid).not.toBe(pid);
  });

  it('leaves nothing running when the daemon stops in the middle of a capture', async () => {
    const camera = session({ fixtures: fixtureFolder(path.join(tmp.dir, 'fx'), []) });
    const stop = new AbortController();
    const capture = camera.capture({ destination: path.join(tmp.dir, 'a.jpg'), takenAt: new Date(), signal: stop.signal }).catch((e: unknown) => e);
    await waitUntil(() => camera.state.camera !== null);
    const pid = camera.state.workerPid!;
    stop.abort(new CameraError('aborted', 'capture abandoned, the daemon is stopping'));
    expect(((await capture) as CameraError).code).toBe('aborted');
    await camera.close();
    await waitUntil(() => isGone(pid));
  });

  it('falls back to the gphoto2 program when the binding cannot be loaded, and says so once', async () => {
    // The worker copied where no node_modules holds the binding: require('gphoto2') fails as on a box without it.
    const lone = path.join(tmp.dir, 'lone');
    fs.mkdirSync(lone);
    for (const f of ['worker.js', 'protocol.js']) fs.copyFileSync(path.join(ROOT, 'dist', 'daemon', 'capture', 'gphoto2-session', f), path.join(lone, f));
    const fixtures = fixtureFolder(path.join(tmp.dir, 'fx'), [jpeg]);
    const { log, lines } = logLines();
    await withEnv(vcameraEnv(fixtures), async () => {
      const auto = session({ fixtures, log, mode: 'auto', workerScript: path.join(lone, 'worker.js') });
      expect(await shoot(auto, 'a.jpg')).toMatchObject({ width: 1200, height: 800 });
      expect(await shoot(auto, 'b.jpg')).toMatchObject({ width: 1200, height: 800 });
      expect(auto.state).toMatchObject({ driver: 'cli', reason: expect.stringMatching(/^the gphoto2 binding cannot be loaded \(Cannot find module 'gphoto2'.*\); the gphoto2 program takes the pictures$/) });
      expect(lines().filter((l) => String(l.msg).includes('binding cannot be loaded'))).toHaveLength(1);

      const strict = session({ fixtures, mode: 'session', workerScript: path.join(lone, 'worker.js') });
      const error = (await shoot(strict, 'c.jpg').catch((e: unknown) => e)) as CameraError;
      expect(error.code).toBe('unsupported');
      expect(error.advice).toContain('camera.mode: cli');
    });
  });
});

describe('the program driver (gphoto2 for each shot) against the same camera', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  it('detects the camera with its serial, applies settings and downloads the picture', async () => {
    const fixtures = fixtureFolder(path.join(tmp.dir, 'fx'), [jpeg]);
    await withEnv(vcameraEnv(fixtures), async () => {
      expect(await detectCameras({ serials: true })).toEqual([{ model: 'Nikon DSC D750', port: 'usb:001,001', serial: '0.1' }]);
      const camera = new GPhoto2Camera({ sourceId: 'dslr', model: 'Nikon DSC D750', settings: { shutterspeed: '0.0500s' }, keepRaw: false });
      const shot = await camera.capture({ destination: path.join(tmp.dir, 'a.jpg'), takenAt: new Date(), signal: AbortSignal.timeout(20_000) });
      expect(shot).toEqual({ width: 1200, height: 800, size: jpeg.length });
      expect(fs.readFileSync(path.join(tmp.dir, 'a.jpg')).equals(jpeg)).toBe(true);
    });
  });

  it("reads the camera's exposure choices with gphoto2 --get-config and sets the ramp's values in the shot's own run (issue 27)", async () => {
    const fixtures = fixtureFolder(path.join(tmp.dir, 'fx'), [jpeg]);
    await withEnv(vcameraEnv(fixtures), async () => {
      const camera = new GPhoto2Camera({ sourceId: 'dslr', settings: {}, keepRaw: false });
      const control = await camera.exposureControl(AbortSignal.timeout(20_000));
      expect(control.names).toEqual({ shutter: 'shutterspeed', aperture: 'f-number' });
      expect(control.choices.aperture.map((c) => c.label)).toContain('f/8');
      const shot = await camera.capture({ destination: path.join(tmp.dir, 'a.jpg'), takenAt: new Date(), signal: AbortSignal.timeout(20_000), exposure: { shutter: '0.1000s', aperture: 'f/8' } });
      expect(shot.exposure).toEqual({ shutter: '0.1000s', iso: null, aperture: 'f/8', ev: 9.33 });
    });
  });
});

async function waitUntil(test: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the session driver in the running daemon', () => {
  let tmp: ReturnType<typeof tempDir>;
  let daemon: DaemonProcess | undefined;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(async () => {
    await daemon?.kill();
    daemon = undefined;
    tmp.cleanup();
  });

  it('captures into the pipeline through one session; a hung capture is killed at camera.timeout, the next slot is on time with a new worker', async () => {
    // The camera starts with nothing to give: the first captures hang.
    const fixtures = fixtureFolder(path.join(tmp.dir, 'fx'), []);
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [{ id: 'dslr', camera: { driver: 'gphoto2', model: 'Nikon DSC D750', timeout: '2s', settings: { shutterspeed: '0.0500s' } }, schedule: { every: '3s' }, recovery: { retries: 0 } }],
    });
    daemon = new DaemonProcess(configFile, port, vcameraEnv(fixtures));
    await daemon.start();
    const d = daemon;
    await waitFor('a capture killed at its deadline', () => d.lines.some((l) => l.msg.startsWith('capture failed') && l.code === 'timeout'), 20_000);
    const opened = () => d.lines.filter((l) => l.msg.includes('session opened'));
    const hungWorker = opened()[0]!.worker as number;
    expect(d.lines.find((l) => l.msg.includes('session ended during "capture"'))).toMatchObject({ level: 'warn', worker: hungWorker });
    await waitFor('the hung worker to be gone', () => isGone(hungWorker));
    // The camera has pictures again: the next slot opens a new session and the pictures go through the pipeline.
    fixtureFolder(fixtures, [jpeg]);
    const db = () => new Database(path.join(tmp.dir, 'data', 'lapsebox.db'), { readonly: true });
    const pictures = () => {
      const handle = db();
      try {
        return handle.prepare('SELECT taken_at, width, height FROM pictures ORDER BY taken_at').all() as { taken_at: number; width: number; height: number }[];
      } finally {
        handle.close();
      }
    };
    await waitFor('three pictures', () => pictures().length >= 3, 30_000);
    const taken = pictures();
    expect(taken[0]).toMatchObject({ width: 1200, height: 800 });
    // On the 3 s grid: the hung capture did not push the slots back.
    for (const p of taken) expect(p.taken_at % 3000).toBeLessThan(500);
    const workers = new Set(opened().map((l) => l.worker as number));
    expect(workers.has(hungWorker)).toBe(true);
    // Every picture after the hang came through one session: at most one more worker per failed capture.
    const failures = d.lines.filter((l) => l.msg.startsWith('capture failed')).length;
    expect(workers.size).toBeLessThanOrEqual(failures + 1);
    expect(opened().at(-1)).toMatchObject({ model: 'Nikon DSC D750', serial: '0.1' });
    const last = opened().at(-1)!.worker as number;
    expect((await d.stop()).code).toBe(0);
    // Nothing left running after the daemon: not the worker, not its group.
    await waitFor('the worker to be gone after the stop', () => isGone(last));
    expect(groupExists(last)).toBe(false);
  });

  it('a daemon stopped in the middle of a capture leaves no worker behind', async () => {
    const fixtures = fixtureFolder(path.join(tmp.dir, 'fx'), []);
    const port = await freePort();
    const configFile = writeConfig({ dir: tmp.dir, port, sources: [{ id: 'dslr', camera: { driver: 'gphoto2', timeout: '60s' }, schedule: { every: '2s' }, recovery: { retries: 0 } }] });
    daemon = new DaemonProcess(configFile, port, vcameraEnv(fixtures));
    await daemon.start();
    const d = daemon;
    // The session opens, and its capture hangs (nothing to give).
    await waitFor('a session', () => d.lines.some((l) => l.msg.includes('session opened')), 20_000);
    const worker = d.lines.find((l) => l.msg.includes('session opened'))!.worker as number;
    await new Promise((r) => setTimeout(r, 500));
    expect(isGone(worker)).toBe(false);
    const stopped = await d.stop();
    expect(stopped.code).toBe(0);
    await waitFor('the worker to be gone', () => isGone(worker), 5_000);
    expect(groupExists(worker)).toBe(false);
  });

  it('climbs the recovery ladder with a session: retry after a reset, a power cycle (simulated relay), down; and comes back with a new session', async () => {
    const fixtures = fixtureFolder(path.join(tmp.dir, 'fx'), []);
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        {
          id: 'dslr',
          // 2 s: on a loaded machine the worker's start and the session's opening can take over 1 s,
          // and a try cut before the session opened would leave no worker to check.
          camera: { driver: 'gphoto2', timeout: '2s' },
          schedule: { every: '6s' },
          recovery: { retries: 1, powerCycle: { gpio: 17, afterFailures: 2, off: '1s', settle: '0s', maxPerDay: 5, simulate: true } },
        },
      ],
    });
    daemon = new DaemonProcess(configFile, port, vcameraEnv(fixtures));
    await daemon.start();
    const d = daemon;
    const status = async () => {
      const r = await cli(['status', '--json', '--config', configFile], { env: vcameraEnv(fixtures) });
      return (JSON.parse(r.stdout) as { sources: { down: unknown; powerCycles: { today: number } | null; lastError: { message: string } | null; counts: { pictures: number } }[] }).sources[0]!;
    };
    await waitFor('the camera marked down', async () => (await status()).down !== null, 60_000);
    const down = await status();
    expect(down.powerCycles).toMatchObject({ today: 1 });
    expect(d.lines.filter((l) => String(l.msg).startsWith('relay GPIO 17 (simulated')).map((l) => l.msg)).toEqual([
      'relay GPIO 17 (simulated): camera power off',
      'relay GPIO 17 (simulated): camera power on',
    ]);
    // Each failed capture ended its worker; the reset let the camera go before the retry.
    expect(d.lines.some((l) => l.msg.startsWith('retrying the capture after a reset of the camera'))).toBe(true);
    const workers = new Set(d.lines.filter((l) => l.msg.includes('session opened')).map((l) => l.worker as number));
    expect(workers.size).toBeGreaterThanOrEqual(2);
    // Down, the camera is still tried at each slot (to see it come back): a try may be under way
    // now in one of these workers, which its 2 s timeout ends.
    await waitFor('the failed sessions\' workers to be gone', () => [...workers].every(isGone), 10_000);

    // The camera has a picture again: up at the next slot, through a new session.
    fixtureFolder(fixtures, [jpeg]);
    await waitFor('the camera back up', async () => (await status()).down === null, 30_000);
    expect((await status()).counts.pictures).toBeGreaterThanOrEqual(1);
    expect(d.lines.some((l) => String(l.msg).includes('is back after'))).toBe(true);
  }, 150_000);

  it('doctor says when the binding cannot be loaded, and what the sources use instead', async () => {
    // As on a box where npm ci skipped the binding: resolving "gphoto2" fails in every node process started here.
    const blocker = path.join(tmp.dir, 'no-gphoto2.js');
    fs.writeFileSync(
      blocker,
      "const Module = require('module'); const resolve = Module._resolveFilename; Module._resolveFilename = function (request, ...rest) { if (request === 'gphoto2') { const e = new Error(\"Cannot find module 'gphoto2'\"); e.code = 'MODULE_NOT_FOUND'; throw e; } return resolve.call(this, request, ...rest); };\n",
    );
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        { id: 'fast', camera: { driver: 'gphoto2' }, schedule: { every: '1h' } },
        { id: 'strict', camera: { driver: 'gphoto2', mode: 'session' }, schedule: { every: '1h' } },
      ],
    });
    const r = await cli(['doctor', '--json', '--config', configFile], { env: { ...vcameraEnv(fixtureFolder(path.join(tmp.dir, 'fx'), [jpeg])), NODE_OPTIONS: `--require ${blocker}` } });
    const row = (JSON.parse(r.stdout) as { checks: { name: string; verdict: string; detail: string; fix?: string }[] }).checks.find((c) => c.name === 'gphoto2 driver')!;
    expect(row.verdict).toBe('fail');
    expect(row.detail).toBe(
      "fast: the gphoto2 program (the gphoto2 binding cannot be loaded: Cannot find module 'gphoto2'); strict: none (the gphoto2 binding cannot be loaded: Cannot find module 'gphoto2')",
    );
    expect(row.fix).toContain('libgphoto2-dev');
  });

  it('doctor says which driver each gphoto2 source uses', async () => {
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        { id: 'fast', camera: { driver: 'gphoto2' }, schedule: { every: '1h' } },
        { id: 'raw', camera: { driver: 'gphoto2', keepRaw: true }, schedule: { every: '1h' } },
        { id: 'old', camera: { driver: 'gphoto2', mode: 'cli' }, schedule: { every: '1h' } },
      ],
    });
    const r = await cli(['doctor', '--json', '--config', configFile], { env: vcameraEnv(fixtureFolder(path.join(tmp.dir, 'fx'), [jpeg])) });
    const row = (JSON.parse(r.stdout) as { checks: { name: string; verdict: string; detail: string }[] }).checks.find((c) => c.name === 'gphoto2 driver');
    expect(row).toEqual({
      group: 'tools',
      name: 'gphoto2 driver',
      verdict: 'ok',
      detail:
        'fast: a session (libgphoto2 through the gphoto2 binding, in a worker); raw: the gphoto2 program (keepRaw: the session downloads the JPEG only); old: the gphoto2 program (camera.mode: cli)',
    });
  });
});
