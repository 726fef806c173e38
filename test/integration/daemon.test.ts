import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { DateTime } from 'luxon';
import { cli, freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess, basic, initialPassword } from '../helpers/daemon';

describe('daemon (child process)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let dataDir: string;
  let configFile: string;
  let admin: Record<string, string>;

  const pictureCount = () => {
    const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare(`SELECT count(*) AS n FROM pictures WHERE source_id = 'cam'`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    tmp = tempDir();
    const port = await freePort();
    configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        { id: 'cam', name: 'Test camera', camera: { driver: 'testpattern', width: 320, height: 240, timeout: '10s' }, schedule: { every: '1s' }, public: { enabled: true } },
        { id: 'private', camera: { driver: 'testpattern', width: 160, height: 120 }, schedule: { every: '1h' } },
        { id: 'resized', camera: { driver: 'testpattern', width: 640, height: 480 }, schedule: { every: '2s' }, public: { enabled: true, width: 200 } },
      ],
    });
    dataDir = path.join(tmp.dir, 'data');
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    admin = basic('admin', initialPassword(dataDir));
  });

  afterAll(async () => {
    await sut.kill();
    tmp.cleanup();
  });

  it('creates admin with a random password in a 0600 file, and says so without logging it', () => {
    const file = path.join(dataDir, 'initial-admin-password');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const password = initialPassword(dataDir);
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(sut.output.join('\n')).not.toContain(password);
    expect(sut.lines.some((l) => l.level === 'warn' && String(l.msg).includes('created user "admin"'))).toBe(true);
  });

  it('captures on schedule: pictures appear on disk, in the database and as live/latest.jpg', async () => {
    await waitFor('3 pictures indexed', () => pictureCount() >= 3);
    const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true });
    const rows = db.prepare(`SELECT * FROM pictures WHERE source_id = 'cam' ORDER BY taken_at`).all() as { path: string; taken_at: number; local_date: string; width: number; height: number; size: number }[];
    db.close();
    for (const row of rows) {
      const file = path.join(dataDir, row.path);
      expect(row.path).toMatch(/^sources\/cam\/pictures\/\d{4}-\d{2}-\d{2}\/\d{8}T\d{9}Z\.jpg$/);
      expect(fs.statSync(file).size).toBe(row.size);
      expect([row.width, row.height]).toEqual([320, 240]);
    }
    // One capture per slot, each started within half a slot of it: no two pictures share a 1 s slot.
    const slots = rows.map((r) => Math.floor(r.taken_at / 1000));
    expect(new Set(slots).size).toBe(slots.length);
    expect(rows.every((r) => r.taken_at % 1000 < 500)).toBe(true);
    const latest = await sharp(path.join(dataDir, 'sources', 'cam', 'live', 'latest.jpg')).metadata();
    expect([latest.format, latest.width, latest.height]).toEqual(['jpeg', 320, 240]);
  });

  it('serves the latest public picture with validators and answers 304', async () => {
    const res = await fetch(`${sut.baseUrl}/public/cam/latest.jpg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const etag = res.headers.get('etag')!;
    const lastModified = res.headers.get('last-modified')!;
    expect(etag).toMatch(/^"p\d+-[0-9a-z]+-[0-9a-z]+"$/);
    expect(new Date(lastModified).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    const body = Buffer.from(await res.arrayBuffer());
    expect((await sharp(body).metadata()).width).toBe(320);

    const again = await fetch(`${sut.baseUrl}/public/cam/latest.jpg`, { headers: { 'if-none-match': etag } });
    // A newer picture may have arrived in between; then the answer is the new one, never a stale 304.
    if (again.status === 304) expect(await again.text()).toBe('');
    else expect(again.headers.get('etag')).not.toBe(etag);
    const byDate = await fetch(`${sut.baseUrl}/public/cam/latest.jpg`, { headers: { 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() } });
    expect(byDate.status).toBe(304);
  });

  it('answers 304 to the ETag of the current picture', async () => {
    const cam = 'resized'; // every 2 s: enough time for two requests on the same picture
    await waitFor('a resized picture', async () => (await fetch(`${sut.baseUrl}/public/${cam}/latest.jpg`)).status === 200);
    // The exact tag, and the tag inside a list, both answer 304 while the picture is unchanged.
    const statuses: string[] = [];
    for (let i = 0; i < 5 && !statuses.includes('304,304'); i++) {
      const first = await fetch(`${sut.baseUrl}/public/${cam}/latest.jpg`);
      await first.arrayBuffer();
      const etag = first.headers.get('etag')!;
      const exact = await fetch(`${sut.baseUrl}/public/${cam}/latest.jpg`, { headers: { 'if-none-match': etag } });
      const inList = await fetch(`${sut.baseUrl}/public/${cam}/latest.jpg`, { headers: { 'if-none-match': `"nope", W/${etag}` } });
      statuses.push(`${exact.status},${inList.status}`);
    }
    expect(statuses).toContain('304,304');
  });

  it('scales the public picture to public.width', async () => {
    const res = await fetch(`${sut.baseUrl}/public/resized/latest.jpg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toMatch(/^"p\d+-[0-9a-z]+-[0-9a-z]+"$/);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([200, 150]);
  });

  it('answers 404 for sources that are not public, unknown or malformed', async () => {
    for (const p of ['/public/private/latest.jpg', '/public/nope/latest.jpg', '/public/..%2F..%2Fetc%2Fpasswd/latest.jpg', '/public/CAM/latest.jpg']) {
      const res = await fetch(`${sut.baseUrl}${p}`);
      expect([p, res.status]).toEqual([p, 404]);
      expect(await res.json()).toHaveProperty('error');
    }
  });

  it('serves an embeddable page for public sources', async () => {
    const res = await fetch(`${sut.baseUrl}/public/cam`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain('frame-ancestors *');
    expect(await res.text()).toContain('src="/public/cam/latest.jpg"');
    expect((await fetch(`${sut.baseUrl}/public/private`)).status).toBe(404);
  });

  it('requires credentials for /api and never tells whether a user exists', async () => {
    const none = await fetch(`${sut.baseUrl}/api/me`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="lapsebox"/);
    const wrongPassword = await fetch(`${sut.baseUrl}/api/me`, { headers: basic('admin', 'not-the-password') });
    const unknownUser = await fetch(`${sut.baseUrl}/api/me`, { headers: basic('nobody', 'not-the-password') });
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    expect(await wrongPassword.json()).toEqual(await unknownUser.json());
  });

  it('tells a maintainer who they are and what they see', async () => {
    const res = await fetch(`${sut.baseUrl}/api/me`, { headers: admin });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      username: 'admin',
      profile: 'maintainer',
      appliance: { name: 'Test box', timezone: 'Europe/Paris', locale: 'en' },
      language: null,
      languages: [
        { code: 'en', name: 'English' },
        { code: 'fr', name: 'Français' },
      ],
      sources: [
        { id: 'cam', level: 'manage' },
        { id: 'private', level: 'manage' },
        { id: 'resized', level: 'manage' },
      ],
    });
  });

  it('lists sources with their status and next slot', async () => {
    const res = await fetch(`${sut.baseUrl}/api/sources`, { headers: admin });
    const { sources } = (await res.json()) as { sources: { id: string; nextSlot: string; lastCapture: { at: string }; counts: { pictures: number }; consecutiveFailures: number }[] };
    expect(sources.map((s) => s.id)).toEqual(['cam', 'private', 'resized']);
    const cam = sources[0]!;
    expect(new Date(cam.nextSlot).getTime()).toBeGreaterThan(Date.now() - 2_000);
    expect(new Date(cam.nextSlot).getMilliseconds()).toBe(0);
    expect(cam.counts.pictures).toBeGreaterThanOrEqual(3);
    expect(cam.consecutiveFailures).toBe(0);
    // The hourly source's next slot is the next full hour.
    const hourly = sources[1]!;
    expect(new Date(hourly.nextSlot).getUTCMinutes()).toBe(0);
    const one = await fetch(`${sut.baseUrl}/api/sources/cam`, { headers: admin });
    expect(((await one.json()) as { id: string }).id).toBe('cam');
    expect((await fetch(`${sut.baseUrl}/api/sources/nope`, { headers: admin })).status).toBe(404);
  });

  it('lets profiles see and do only what the permission table allows', async () => {
    const director = await cli(['users', 'add', 'dora', '--profile', 'director', '--password-stdin', '--config', configFile], { input: 'director-password-1\n' });
    const customer = await cli(['users', 'add', 'carl', '--profile', 'customer', '--password-stdin', '--config', configFile], { input: 'customer-password-1' });
    expect([director.code, customer.code]).toEqual([0, 0]);
    const asDirector = basic('dora', 'director-password-1');
    const asCustomer = basic('carl', 'customer-password-1');

    const me = (await (await fetch(`${sut.baseUrl}/api/me`, { headers: asCustomer })).json()) as { profile: string; sources: unknown[] };
    expect(me).toEqual({ username: 'carl', profile: 'customer', appliance: { name: 'Test box', timezone: 'Europe/Paris', locale: 'en' }, language: null, languages: [{ code: 'en', name: 'English' }, { code: 'fr', name: 'Français' }], sources: [] });
    // A customer without a grant sees no source, as if none existed.
    expect((await fetch(`${sut.baseUrl}/api/sources/cam`, { headers: asCustomer })).status).toBe(404);
    expect((await fetch(`${sut.baseUrl}/api/sources/cam/capture`, { method: 'POST', headers: { ...asCustomer, 'content-type': 'application/json' } })).status).toBe(404);

    const captured = await fetch(`${sut.baseUrl}/api/sources/private/capture`, { method: 'POST', headers: { ...asDirector, 'content-type': 'application/json' } });
    expect(captured.status).toBe(201);
    const body = (await captured.json()) as { picture: { source: string; width: number } };
    expect(body.picture).toMatchObject({ source: 'private', width: 160 });
  });

  it('refuses state changes that are not JSON or come from another site', async () => {
    const url = `${sut.baseUrl}/api/sources/private/capture`;
    expect((await fetch(url, { method: 'POST', headers: admin })).status).toBe(415);
    expect((await fetch(url, { method: 'POST', headers: { ...admin, 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
    const crossSite = await fetch(url, { method: 'POST', headers: { ...admin, 'content-type': 'application/json', origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    const badJson = await fetch(url, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: '{nope' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({ error: 'the request body is not valid JSON' });
    const sameSite = await fetch(url, { method: 'POST', headers: { ...admin, 'content-type': 'application/json', origin: sut.baseUrl } });
    expect(sameSite.status).toBe(201);
  });

  it('captures through the running daemon from the CLI and reports it running', async () => {
    const captured = await cli(['capture', 'private', '--json', '--config', configFile]);
    expect(captured.code).toBe(0);
    const picture = (JSON.parse(captured.stdout) as { picture: { path: string } }).picture;
    expect(fs.existsSync(path.join(dataDir, picture.path))).toBe(true);
    await waitFor('the daemon to log the manual capture', () => sut.lines.some((l) => l.msg === 'picture captured' && l['reason'] === 'manual' && l['picture'] === picture.path));
    const status = await cli(['status', '--json', '--config', configFile]);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as { daemon: { running: boolean; pid: number }; sources: { id: string }[] };
    expect(report.daemon).toMatchObject({ running: true, pid: sut.pid });
    expect(report.sources.map((s) => s.id)).toEqual(['cam', 'private', 'resized']);
  });

  it('builds a custom video through the running daemon from the CLI, and serves it', async () => {
    const today = DateTime.now().setZone('Europe/Paris');
    const out = path.join(tmp.dir, 'cam.mp4');
    const result = await cli(['timelapse', 'cam', '--from', today.minus({ days: 1 }).toISODate()!, '--to', today.toISODate()!, '--out', out, '--json', '--config', configFile]);
    expect([result.code, result.stderr]).toEqual([0, '']);
    const { job } = JSON.parse(result.stdout) as { job: { id: number; requestedBy: string; video: string } };
    expect(job.requestedBy).toBe('cli');
    // The daemon built it (one encode at a time), and says so in its log.
    expect(sut.lines.some((l) => l.msg === 'video built' && l['job'] === job.id && l['module'] === 'timelapse')).toBe(true);
    const listed = (await (await fetch(`${sut.baseUrl}/api/sources/cam/videos`, { headers: admin })).json()) as { videos: { file: string; size: number }[] };
    expect(listed.videos).toHaveLength(1);
    const file = await fetch(`${sut.baseUrl}${listed.videos[0]!.file}`, { headers: admin });
    expect([file.status, file.headers.get('content-type')]).toEqual([200, 'video/mp4']);
    expect(Buffer.from(await file.arrayBuffer())).toEqual(fs.readFileSync(out));
  });

  it('refuses a second daemon on the same data folder', async () => {
    const second = await cli(['run', '--config', configFile]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('another lapsebox daemon is already running');
    // The refused daemon leaves the running one reachable.
    expect(fs.existsSync(path.join(dataDir, 'lapsebox.sock'))).toBe(true);
    expect((await cli(['status', '--json', '--config', configFile])).stdout).toContain('"running": true');
  });

  it('throttles repeated failed logins from one address with 429', async () => {
    let status = 0;
    for (let i = 0; i < 12 && status !== 429; i++) status = (await fetch(`${sut.baseUrl}/api/me`, { headers: basic('admin', `wrong-${i}`) })).status;
    expect(status).toBe(429);
    // Throttled means throttled: even the right password waits, from this address.
    const res = await fetch(`${sut.baseUrl}/api/me`, { headers: admin });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('stops on SIGTERM within 10 s, closing the database cleanly', async () => {
    const { code, ms } = await sut.stop('SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
    // A clean close checkpoints the WAL and removes it; a crash would leave it behind.
    expect(fs.existsSync(path.join(dataDir, 'lapsebox.db-wal'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'lapsebox.sock'))).toBe(false);
    expect(sut.logs('lapsebox stopped')).toHaveLength(1);
  });
});
