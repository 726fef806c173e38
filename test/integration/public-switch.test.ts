/**
 * The box-wide public switch (issue 22, SPEC §6 `lapsebox public on|off`) against
 * the real daemon as a child process: off, every public route answers 404 at once
 * (through the running daemon, or written to the database of a stopped box for its
 * next start), it holds across a restart, a director switches it back on over the
 * API, each switch is audited, it moves with a backup, and the source states the box
 * publishes over MQTT point at no public picture while it is off.
 */
import path from 'node:path';
import { cli, freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess, basic } from '../helpers/daemon';
import { connectClient, retainedSnapshot, startBroker, stopBroker, type TestBroker } from '../helpers/mqtt';
import type { SourceState } from '../../daemon/mqtt/payloads';

jest.setTimeout(120_000);

const PASSWORD = 'public-switch-password';
const SWITCHED_OFF = 'the public pictures of this box are switched off';
/** Who the audit names for the CLI: the sudo user when there is one. */
const AT_THE_TERMINAL = { SUDO_USER: 'site-manager' };

interface Switch {
  enabled: boolean;
  changedAt: string | null;
  changedBy: string | null;
}

describe('the box-wide public switch', () => {
  let tmp: ReturnType<typeof tempDir>;
  let configFile: string;
  let sut: DaemonProcess;

  const lapsebox = (args: string[], config = configFile) => cli([...args, '--config', config], { env: AT_THE_TERMINAL });
  const get = (url: string, user?: string) => fetch(`${sut.baseUrl}${url}`, { headers: user ? basic(user, PASSWORD) : {} });
  const put = (url: string, user: string, body: unknown) => fetch(`${sut.baseUrl}${url}`, { method: 'PUT', headers: { ...basic(user, PASSWORD), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  /** The status of the public picture, its body read (so the connection is free again). */
  const latest = async (source = 'cam') => {
    const res = await get(`/public/${source}/latest.jpg`);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, cacheControl: res.headers.get('cache-control'), type: res.headers.get('content-type'), body };
  };

  beforeAll(async () => {
    tmp = tempDir('lapsebox-public-switch-');
    const port = await freePort();
    configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        { id: 'cam', name: 'Crane camera', camera: { driver: 'testpattern', width: 320, height: 180, timeout: '10s' }, schedule: { every: '2s' }, timelapse: { daily: { enabled: false } }, public: { enabled: true } },
        { id: 'private', camera: { driver: 'testpattern', width: 160, height: 90 }, schedule: { every: '1h' }, timelapse: { daily: { enabled: false } } },
      ],
    });
    // People first, on the stopped box, as an installer adds them.
    for (const [name, profile] of [['boss', 'maintainer'], ['director', 'director'], ['neighbour', 'customer']] as const) {
      const added = await cli(['users', 'add', name, '--profile', profile, '--password-stdin', '--config', configFile], { input: PASSWORD });
      expect([name, added.code, added.stderr]).toEqual([name, 0, '']);
    }
    expect((await lapsebox(['users', 'grant', 'neighbour', 'cam'])).code).toBe(0);
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await waitFor('a first public picture', async () => (await latest()).status === 200, 20_000);
  });

  afterAll(async () => {
    await sut?.kill();
    tmp?.cleanup();
  });

  it('is on at first: public sources answer as before, and the status says so', async () => {
    expect((await latest()).status).toBe(200);
    const state = await lapsebox(['public', '--json']);
    expect(state.code).toBe(0);
    expect(JSON.parse(state.stdout)).toEqual({ enabled: true, changedAt: null, changedBy: null });
    expect((await lapsebox(['public'])).stdout).toMatch(/^public pictures: on \(/);
    const system = (await (await get('/api/system', 'director')).json()) as { public: Switch };
    expect(system.public).toEqual({ enabled: true, changedAt: null, changedBy: null });
  });

  it('lapsebox public off: every public route answers 404 at once, and still after a restart; a director switches it back on', async () => {
    const off = await lapsebox(['public', 'off']);
    expect([off.code, off.stderr]).toEqual([0, '']);
    expect(off.stdout).toContain('public pictures switched off: every /public/ route answers 404 from now on');

    // At once: the next request, no reload, no restart.
    const gone = await latest();
    expect(gone.status).toBe(404);
    expect(gone.cacheControl).toBe('no-store');
    expect(JSON.parse(gone.body.toString('utf8'))).toEqual({ error: SWITCHED_OFF });
    // The embed page says so, in a page a website's frame shows, kept by nobody.
    const page = await get('/public/cam');
    const html = await page.text();
    expect([page.status, page.headers.get('content-type'), page.headers.get('cache-control')]).toEqual([404, 'text/html; charset=utf-8', 'no-store']);
    expect(html).toContain('The public view of this camera is switched off.');
    expect(html).not.toContain('Crane camera');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors *");
    // Every name answers alike: nothing tells which sources exist or were public.
    for (const source of ['private', 'nowhere']) expect([source, (await latest(source)).body.toString('utf8')]).toEqual([source, JSON.stringify({ error: SWITCHED_OFF })]);

    // The state, from the CLI, the status and the API.
    const state = JSON.parse((await lapsebox(['public', '--json'])).stdout) as Switch;
    expect(state).toMatchObject({ enabled: false, changedBy: 'cli:site-manager' });
    expect(Date.parse(state.changedAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect((await lapsebox(['status'])).stdout).toMatch(/public pictures: OFF since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d by cli:site-manager/);
    expect(((await (await get('/api/system', 'boss')).json()) as { public: Switch }).public).toEqual(state);
    expect(await (await get('/api/public', 'director')).json()).toEqual(state);
    // A second "off" in a hurry changes nothing and records nothing.
    const again = await lapsebox(['public', 'off']);
    expect([again.code, again.stdout.split('\n')[0]]).toEqual([0, 'public pictures were already off']);

    // Kept across a restart.
    await sut.stop();
    await sut.start();
    expect((await latest()).status).toBe(404);

    // Customers neither switch nor read it.
    const refused = await put('/api/public', 'neighbour', { enabled: true });
    expect(refused.status).toBe(403);
    expect((await get('/api/public', 'neighbour')).status).toBe(403);
    expect((await latest()).status).toBe(404);

    // A director switches it back on: at once too.
    const on = await put('/api/public', 'director', { enabled: true });
    expect(on.status).toBe(200);
    expect(await on.json()).toMatchObject({ enabled: true, changedBy: 'user:director' });
    const back = await latest();
    expect([back.status, back.type]).toEqual([200, 'image/jpeg']);
    expect((await get('/public/cam')).status).toBe(200);

    // Both switches in the audit, with who, old and new value; the repeated "off" is not.
    const audit = (await (await get('/api/audit?action=public.switch', 'boss')).json()) as { entries: { actor: string; address: string | null; target: string; oldValue: unknown; newValue: unknown }[] };
    expect(audit.entries.map(({ actor, address, target, oldValue, newValue }) => ({ actor, address, target, oldValue, newValue }))).toEqual([
      { actor: 'user:director', address: expect.stringMatching(/127\.0\.0\.1/), target: 'box', oldValue: { enabled: false }, newValue: { enabled: true } },
      { actor: 'cli:site-manager', address: 'cli', target: 'box', oldValue: { enabled: true }, newValue: { enabled: false } },
    ]);
  });

  it('refuses a body that is not {enabled: boolean}', async () => {
    for (const body of [{}, { enabled: 'off' }, { enabled: false, sources: ['cam'] }, [false]]) {
      const res = await put('/api/public', 'director', body);
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
    }
    expect((await latest()).status).toBe(200);
  });

  it('on a stopped box, lapsebox public off writes the switch the next start obeys', async () => {
    await sut.stop();
    const off = await lapsebox(['public', 'off']);
    expect([off.code, off.stderr]).toEqual([0, '']);
    expect(off.stdout).toContain('the daemon is not running; it starts with them off');
    expect((await lapsebox(['status'])).stdout).toContain('public pictures: OFF since');

    await sut.start();
    const gone = await latest();
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.body.toString('utf8'))).toEqual({ error: SWITCHED_OFF });

    // And back on through the running daemon.
    const on = await lapsebox(['public', 'on']);
    expect([on.code, on.stdout]).toEqual([0, 'public pictures switched on: sources with public.enabled answer again\n']);
    expect((await latest()).status).toBe(200);
  });

  it('moves with a backup: a box restored from one taken while off starts with its public pictures off', async () => {
    expect((await lapsebox(['public', 'off'])).code).toBe(0);
    const archive = path.join(tmp.dir, 'box.tar.gz');
    const backup = await lapsebox(['backup', archive]);
    expect([backup.code, backup.stderr]).toEqual([0, '']);
    expect((await lapsebox(['public', 'on'])).code).toBe(0);

    const newConfig = path.join(tmp.dir, 'new', 'etc', 'lapsebox.yaml');
    const restore = await cli(['restore', archive, '--config', newConfig, '--data-dir', path.join(tmp.dir, 'new', 'data')]);
    expect([restore.code, restore.stderr]).toEqual([0, '']);
    const restored = JSON.parse((await lapsebox(['public', '--json'], newConfig)).stdout) as Switch;
    expect(restored).toMatchObject({ enabled: false, changedBy: 'cli:site-manager' });
    // The box that was saved is on again; the copy does not touch it.
    expect((await latest()).status).toBe(200);
  });

  it('exits 2 on bad usage', async () => {
    expect((await lapsebox(['public', 'maybe'])).code).toBe(2);
    expect((await lapsebox(['public', 'off', 'now'])).code).toBe(2);
    expect((await cli(['public', '--colour'])).code).toBe(2);
  });
});

describe('the box-wide public switch on MQTT', () => {
  let tmp: ReturnType<typeof tempDir>;
  let broker: TestBroker;
  let sut: DaemonProcess;

  afterAll(async () => {
    await sut?.kill();
    await stopBroker(broker);
    tmp?.cleanup();
  });

  it("publishes the source state's publicUrl as null while off, and the address again once on", async () => {
    tmp = tempDir('lapsebox-public-switch-mqtt-');
    broker = await startBroker({ anonymous: true });
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [{ id: 'cam', camera: { driver: 'testpattern', width: 320, height: 180 }, schedule: { every: '1d' }, public: { enabled: true } }],
      extra: { web: { host: '127.0.0.1', port, publicUrl: 'https://box.example.com' }, mqtt: { url: broker.url, interval: '5s' } },
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    const client = await connectClient(broker.url);
    try {
      const publicUrl = async () => {
        const payload = (await retainedSnapshot(client, ['lapsebox/test-box/cam/state'], 200)).get('lapsebox/test-box/cam/state')?.payload;
        return payload ? (JSON.parse(payload) as SourceState).publicUrl : undefined;
      };
      const published = (what: string, wanted: (url: string | null | undefined) => boolean) => waitFor(what, async () => wanted(await publicUrl()), 15_000);
      await published('the public address', (url) => url?.startsWith('https://box.example.com/public/cam/latest.jpg') === true);
      expect((await cli(['public', 'off', '--config', configFile])).code).toBe(0);
      await published('no public address while off', (url) => url === null);
      expect((await cli(['public', 'on', '--config', configFile])).code).toBe(0);
      await published('the public address again', (url) => url?.startsWith('https://box.example.com/public/cam/latest.jpg') === true);
    } finally {
      await client.endAsync();
    }
  });
});
