import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cli, freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { installFakeGphoto2 } from '../helpers/fake-gphoto2';
import { isAlive, isGone } from '../helpers/processes';

const CANON = { model: 'Canon EOS 550D', port: 'usb:001,005', serial: '0270117385' };

interface SourceStatusJson {
  id: string;
  consecutiveFailures: number;
  down: { since: string } | null;
  powerCycles: { today: number; maxPerDay: number } | null;
  lastError: { message: string } | null;
  lastCapture: { at: string } | null;
  counts: { pictures: number };
}

/** The daemon with a gphoto2 source, and a fake gphoto2 first on its PATH. */
async function startBox(tmp: string, camera: Record<string, unknown>, extra: Record<string, unknown>, captures: string[]) {
  const fake = await installFakeGphoto2(tmp, { cameras: [CANON], captures });
  const port = await freePort();
  const configFile = writeConfig({
    dir: tmp,
    port,
    sources: [{ id: 'north', camera: { driver: 'gphoto2', mode: 'cli', model: CANON.model, timeout: '1s', ...camera }, ...extra }],
  });
  const daemon = new DaemonProcess(configFile, port, fake.env);
  await daemon.start();
  const dataDir = path.join(tmp, 'data');
  const status = async (): Promise<SourceStatusJson> => {
    const r = await cli(['status', '--json', '--config', configFile], { env: fake.env });
    return (JSON.parse(r.stdout) as { sources: SourceStatusJson[] }).sources[0]!;
  };
  const events = () => {
    const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true });
    try {
      return db.prepare(`SELECT kind, message FROM events ORDER BY id`).all() as { kind: string; message: string }[];
    } finally {
      db.close();
    }
  };
  return { fake, daemon, configFile, dataDir, status, events };
}

describe('gphoto2 camera in the running daemon (fake gphoto2 on PATH)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let box: Awaited<ReturnType<typeof startBox>> | undefined;

  beforeEach(() => {
    tmp = tempDir();
  });

  afterEach(async () => {
    await box?.daemon.kill();
    box = undefined;
    tmp.cleanup();
  });

  it('kills a capture that never returns, leaves no process behind, and the next slot fires on time', async () => {
    box = await startBox(tmp.dir, {}, { schedule: { every: '3s' }, recovery: { retries: 0 } }, ['ok', 'hang', 'ok']);
    const { fake, daemon } = box;
    await waitFor('three captures', () => fake.captures().length >= 3, 20_000);
    const [first, hung, third] = fake.captures();
    expect(hung!.outcome).toBe('hang');
    expect(first!.outcome).toBe('ok');
    // Slots are 3 s apart on the clock: the hung capture did not push the next slot back.
    expect(third!.at - hung!.at).toBeGreaterThan(2_500);
    expect(third!.at - hung!.at).toBeLessThan(3_700);
    expect(isGone(hung!.pid)).toBe(true);
    expect(isAlive(hung!.childPid!)).toBe(false);
    const failure = daemon.lines.find((l) => l.msg.startsWith('capture failed'));
    expect(failure).toMatchObject({ level: 'error', source: 'north', code: 'timeout' });
    await waitFor('the third picture', async () => (await box!.status()).counts.pictures >= 2);
    // Nothing half-written is left in the picture folders once the daemon has stopped (a later slot may be writing now).
    expect((await daemon.stop()).code).toBe(0);
    const files = fs.readdirSync(path.join(box.dataDir, 'sources', 'north', 'pictures'), { recursive: true }) as string[];
    expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('climbs the ladder: retry after a USB reset, power cycle (simulated relay), down; and comes back', async () => {
    // camera.timeout 2 s: long enough for the fake program (a script) to start and fail on a loaded
    // machine, so the error that stands is its I/O error, not the timeout (a CI run had the 1 s cut it).
    box = await startBox(
      tmp.dir,
      { timeout: '2s' },
      { schedule: { every: '5s' }, recovery: { retries: 1, powerCycle: { gpio: 17, afterFailures: 2, off: '1s', settle: '0s', maxPerDay: 5, simulate: true } } },
      ['io'],
    );
    const { fake, daemon } = box;
    await waitFor('the camera marked down', async () => (await box!.status()).down !== null, 40_000);
    const status = await box.status();
    expect(status.powerCycles).toEqual(expect.objectContaining({ today: 1, maxPerDay: 5 }));
    expect(status.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(status.lastError!.message).toMatch(/^camera north: USB I\/O error at usb:001,\d{3}: PTP I\/O Error/);
    expect(box.events().map((e) => e.kind)).toEqual(['camera-power-cycle', 'camera-down']);

    // What gphoto2 was asked, in order: each failed slot ends with a reset and a retry at the new port.
    // (On a loaded machine the first slot may have no time left for a retry: its failure then stands alone;
    // its capture may even be cut by the camera.timeout before the fake program has logged its call,
    // as a CI run showed: "auto-detect,reset,auto-detect,io,io,reset,...".)
    const sequence = fake.calls().map((c) => c.outcome);
    expect(sequence.join(',')).toMatch(/^auto-detect,(io,)*reset,auto-detect,io(,|$)/);
    const relay = daemon.lines.filter((l) => String(l.msg).startsWith('relay GPIO 17 (simulated')).map((l) => l.msg);
    expect(relay).toEqual([
      'relay GPIO 17 (simulated): camera power off',
      'relay GPIO 17 (simulated): camera power on',
    ]);
    const cameras = await cli(['status', '--config', box.configFile], { env: fake.env });
    expect(cameras.stdout).toMatch(/north\s+gphoto2\s+DOWN since/);
    expect(cameras.stdout).toContain('1/5 today');

    // Down: one cheap try per slot, no more resets or power cycles.
    const before = fake.calls().length;
    const capturesBefore = fake.captures().length;
    await waitFor('another slot', () => fake.captures().length > capturesBefore, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.calls().slice(before).map((c) => c.outcome)).toEqual(['io']);

    fake.setScenario({ cameras: [CANON], captures: ['ok'] });
    await waitFor('the camera back up', async () => (await box!.status()).down === null, 10_000);
    expect((await box.status()).counts.pictures).toBe(1);
    expect(box.events().map((e) => e.kind)).toEqual(['camera-power-cycle', 'camera-down', 'camera-up']);
  }, 90_000);

  it('lapsebox cameras lists model, port, serial and the source using it, through the daemon and without it', async () => {
    box = await startBox(tmp.dir, { serial: CANON.serial }, { schedule: { every: '1h' } }, ['ok']);
    const through = await cli(['cameras', '--config', box.configFile], { env: box.fake.env });
    expect(through.code).toBe(0);
    expect(through.stdout).toMatch(/Canon EOS 550D\s+usb:001,005\s+0270117385\s+north/);
    const json = await cli(['cameras', '--json', '--config', box.configFile], { env: box.fake.env });
    expect((JSON.parse(json.stdout) as { gphoto2: { cameras: unknown[] } }).gphoto2.cameras).toEqual([CANON]);

    await box.daemon.stop();
    box.fake.setScenario({ cameras: [] });
    const alone = await cli(['cameras', '--config', box.configFile], { env: box.fake.env });
    expect(alone.code).toBe(0);
    expect(alone.stdout).toContain('gphoto2 cameras: none');
    expect(alone.stdout).toContain('hint: no gphoto2 camera: is it switched on');
  });
});
