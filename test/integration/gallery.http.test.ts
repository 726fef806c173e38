/**
 * What the UI is built on, over HTTP against the real services: the calendar,
 * a day's pictures with paging, neighbours across days, the picture nearest to
 * a moment, a day as a zip, users, groups and grants with their audit trail,
 * and settings edited over HTTP landing in the file and taking effect.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { DateTime } from 'luxon';
import type { LoadedConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { SourceSettings } from '../../daemon/settings/source-settings';
import type { Listener } from '../../web/server';
import { tempDir } from '../helpers/env';
import { pictureServices, scene, seedPictures } from '../helpers/videos';
import { addUsers, startWeb, writeYamlConfig } from '../helpers/web';

const PASSWORD = 'gallery-test-password';
const TZ = 'Europe/Paris';

interface PictureJson {
  id: number;
  takenAt: string;
  date: string;
  urls: { thumb: string; preview: string; original?: string };
}

describe('gallery and administration API', () => {
  let tmp: ReturnType<typeof tempDir>;
  let loaded: LoadedConfig;
  let store: Repositories;
  let server: Listener;
  let base: string;
  let file: string;
  const applied: string[] = [];
  const times: number[] = [];

  const config = (): Config => loaded.config;
  const call = async <T = Record<string, unknown>>(user: string, method: string, url: string, body?: unknown, password = PASSWORD) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
        ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, headers: res.headers, json: (type.startsWith('application/json') ? await res.json() : null) as T, res };
  };

  beforeAll(async () => {
    tmp = tempDir();
    loaded = writeYamlConfig(
      tmp.dir,
      TZ,
      [
        'sources:',
        '  - id: north',
        '    name: North tower   # the crane side',
        '    camera: { driver: testpattern }',
        '    schedule:',
        '      every: 5m           # tuned by the director',
        '  - id: south',
        '    camera: { driver: testpattern }',
      ],
      ['# The bridge box'],
    );
    file = loaded.file;
    store = openRepositories(config().storage.dataDir);
    // Two days: 5 pictures the evening of the 19th, 7 the morning of the 20th (local time).
    const evening = DateTime.fromISO('2026-11-19T22:00', { zone: TZ }).toMillis();
    const morning = DateTime.fromISO('2026-11-20T08:00', { zone: TZ }).toMillis();
    for (let i = 0; i < 5; i++) times.push(evening + i * 10 * 60_000);
    for (let i = 0; i < 7; i++) times.push(morning + i * 10 * 60_000);
    await seedPictures(config(), store, 'north', times, (i) => scene(320, 180, 1, i * 3));
    await addUsers(store, config, PASSWORD, {
      maintainer: ['maintainer'],
      director: ['director'],
      viewer: ['customer', { north: 'view' }],
      buyer: ['customer', { north: 'download' }],
      newcomer: ['customer'],
    });
    const { sizes } = pictureServices(config(), store);
    const settings = new SourceSettings({
      file: () => loaded.file,
      apply: async (next) => {
        loaded = next;
        applied.push(next.config.sources[0]!.schedule.every.toString());
      },
      audit: store.audit,
    });
    ({ server, base } = await startWeb(config, store, { capture: { capture: async () => ({ status: 'skipped', reason: 'none' }), isBusy: () => false }, sizes, settings }));
  });

  afterAll(async () => {
    await server?.close();
    store?.close();
    tmp?.cleanup();
  });

  it('gives the calendar: days with their counts', async () => {
    const { status, json } = await call<{ days: unknown }>('viewer', 'GET', '/api/sources/north/days');
    expect(status).toBe(200);
    expect(json.days).toEqual([
      { date: '2026-11-19', count: 5 },
      { date: '2026-11-20', count: 7 },
    ]);
    expect((await call<{ days: unknown }>('maintainer', 'GET', '/api/sources/south/days')).json.days).toEqual([]);
  });

  it('lists a day in time order, in pages, with the sizes the level may fetch', async () => {
    const first = await call<{ pictures: PictureJson[]; next: string | null }>('viewer', 'GET', '/api/sources/north/pictures?date=2026-11-20&limit=4');
    expect(first.json.pictures.map((p) => Date.parse(p.takenAt))).toEqual(times.slice(5, 9));
    expect(first.json.pictures.every((p) => p.date === '2026-11-20' && p.urls.original === undefined)).toBe(true);
    expect(first.json.next).not.toBeNull();
    const second = await call<{ pictures: PictureJson[]; next: string | null }>('viewer', 'GET', `/api/sources/north/pictures?date=2026-11-20&limit=4&cursor=${first.json.next}`);
    expect(second.json.pictures.map((p) => Date.parse(p.takenAt))).toEqual(times.slice(9));
    expect(second.json.next).toBeNull();
    const buyer = await call<{ pictures: PictureJson[] }>('buyer', 'GET', '/api/sources/north/pictures?date=2026-11-20');
    // Lists are compressed for slow links; pictures are not (JPEG does not shrink).
    expect(buyer.headers.get('content-encoding')).toBe('gzip');
    expect((await call('buyer', 'GET', buyer.json.pictures[0]!.urls.thumb)).headers.get('content-encoding')).toBeNull();
    expect(buyer.json.pictures[0]!.urls.original).toBe(`/api/pictures/${buyer.json.pictures[0]!.id}/original`);
    // A time range across midnight.
    const range = await call<{ pictures: PictureJson[] }>('viewer', 'GET', `/api/sources/north/pictures?from=${new Date(times[3]!).toISOString()}&to=${new Date(times[7]!).toISOString()}`);
    expect(range.json.pictures.map((p) => Date.parse(p.takenAt))).toEqual(times.slice(3, 7));
  });

  it('finds neighbours across days and the picture nearest to a moment', async () => {
    const day = await call<{ pictures: PictureJson[] }>('viewer', 'GET', '/api/sources/north/pictures?date=2026-11-20');
    const firstOfDay = day.json.pictures[0]!;
    const one = await call<{ picture: PictureJson; prev: number | null; next: number | null }>('viewer', 'GET', `/api/pictures/${firstOfDay.id}`);
    expect(one.json.next).toBe(day.json.pictures[1]!.id);
    const prev = await call<{ picture: PictureJson; prev: number | null; next: number | null }>('viewer', 'GET', `/api/pictures/${one.json.prev}`);
    expect(prev.json.picture.date).toBe('2026-11-19');
    expect(prev.json.next).toBe(firstOfDay.id);
    const last = day.json.pictures[day.json.pictures.length - 1]!;
    expect((await call<{ next: number | null }>('viewer', 'GET', `/api/pictures/${last.id}`)).json.next).toBeNull();

    const at = new Date(times[6]! + 4 * 60_000).toISOString(); // closer to the 7th picture than the 8th
    const nearest = await call<{ pictures: PictureJson[] }>('viewer', 'GET', `/api/sources/north/pictures?at=${at}`);
    expect(Date.parse(nearest.json.pictures[0]!.takenAt)).toBe(times[6]);
    const later = await call<{ pictures: PictureJson[] }>('viewer', 'GET', `/api/sources/north/pictures?at=${new Date(times[6]! + 6 * 60_000).toISOString()}`);
    expect(Date.parse(later.json.pictures[0]!.takenAt)).toBe(times[7]);
  });

  it('streams a day as a zip of its originals to the download level', async () => {
    const res = await fetch(`${base}/api/sources/north/days/2026-11-19/zip`, { headers: { authorization: `Basic ${Buffer.from(`buyer:${PASSWORD}`).toString('base64')}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="north-2026-11-19.zip"');
    const zip = path.join(tmp.dir, 'day.zip');
    fs.writeFileSync(zip, Buffer.from(await res.arrayBuffer()));
    // Python's zipfile checks every CRC; the entries are the day's originals, byte for byte.
    const listing = execFileSync('python3', ['-c', 'import sys, zipfile, json; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(json.dumps([[i.filename, i.file_size] for i in z.infolist()]))', zip], { encoding: 'utf8' });
    const entries = JSON.parse(listing) as [string, number][];
    const originals = store.pictures.page('north', { date: '2026-11-19' }, 100);
    expect(entries).toEqual(originals.map((p) => [expect.stringMatching(/^north-20261119-2\d{5}\.jpg$/), p.size]));
    expect((await call('viewer', 'GET', '/api/sources/north/days/2026-11-19/zip')).status).toBe(403);
    expect((await call('buyer', 'GET', '/api/sources/north/days/2026-11-18/zip')).status).toBe(404);
  });

  it('manages users, groups and grants, and the customer sees the result at once', async () => {
    expect((await call<{ sources: unknown }>('newcomer', 'GET', '/api/me')).json.sources).toEqual([]);
    const created = await call<{ user: { username: string; profile: string }; password: string }>('maintainer', 'POST', '/api/users', { username: 'site-manager', profile: 'customer' });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/users/site-manager');
    expect(created.json.password).toMatch(/^[A-Za-z0-9]{20}$/);
    expect((await call('site-manager', 'GET', '/api/me', undefined, created.json.password)).status).toBe(200);

    expect((await call('maintainer', 'POST', '/api/groups', { name: 'client' })).status).toBe(201);
    expect((await call('maintainer', 'POST', '/api/groups', { name: 'CLIENT' })).status).toBe(409);
    expect((await call('maintainer', 'PUT', '/api/groups/client/members/newcomer')).status).toBe(200);
    const granted = await call<{ group: unknown }>('maintainer', 'PUT', '/api/groups/client/grants/north', { level: 'download' });
    expect(granted.json.group).toMatchObject({ name: 'client', members: ['newcomer'], grants: [{ source: 'north', level: 'download' }] });
    expect((await call<{ sources: unknown }>('newcomer', 'GET', '/api/me')).json.sources).toEqual([{ id: 'north', level: 'download' }]);

    // Her own view grant does not lower what the group gives: the highest level wins.
    const own = await call<{ user: { grants: unknown; effective: unknown; groups: unknown } }>('maintainer', 'PUT', '/api/users/newcomer/grants/north', { level: 'view' });
    expect(own.json.user).toMatchObject({ groups: ['client'], grants: [{ source: 'north', level: 'view' }], effective: [{ source: 'north', level: 'download' }] });
    expect((await call('maintainer', 'DELETE', '/api/groups/client/members/newcomer')).status).toBe(200);
    expect((await call<{ sources: unknown }>('newcomer', 'GET', '/api/me')).json.sources).toEqual([{ id: 'north', level: 'view' }]);
    expect((await call('maintainer', 'DELETE', '/api/users/newcomer/grants/north')).status).toBe(200);
    expect((await call('newcomer', 'GET', '/api/sources/north')).status).toBe(404);

    // A profile change takes effect on the next request; the last maintainer and oneself are protected.
    expect((await call('maintainer', 'PATCH', '/api/users/newcomer', { profile: 'director' })).status).toBe(200);
    expect((await call('newcomer', 'GET', '/api/sources/north/settings')).status).toBe(200);
    expect((await call('maintainer', 'PATCH', '/api/users/maintainer', { profile: 'customer' })).status).toBe(409);
    expect((await call('maintainer', 'DELETE', '/api/users/maintainer')).status).toBe(409);
    expect((await call('maintainer', 'DELETE', '/api/users/site-manager')).status).toBe(204);
    expect((await call('maintainer', 'GET', '/api/users/site-manager')).status).toBe(404);
    expect((await call('maintainer', 'DELETE', '/api/groups/client')).status).toBe(204);
    const listed = await call<{ users: Record<string, unknown>[] }>('maintainer', 'GET', '/api/users');
    expect(JSON.stringify(listed.json)).not.toMatch(/scrypt|password/i);
  });

  it('keeps an audit trail with who, when, from where, old and new value, newest first, in pages', async () => {
    await call('maintainer', 'PATCH', '/api/users/viewer', { password: 'a brand new password' });
    const page = await call<{ entries: Record<string, unknown>[]; next: number | null }>('maintainer', 'GET', '/api/audit?limit=3');
    expect(page.json.entries).toHaveLength(3);
    expect(page.json.entries[0]).toMatchObject({ actor: 'user:maintainer', address: '127.0.0.1', action: 'user.passwd', target: 'viewer', oldValue: null, newValue: null });
    expect(Date.parse(page.json.entries[0]!['at'] as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.stringify(page.json)).not.toContain('brand new');
    const older = await call<{ entries: { id: number }[] }>('maintainer', 'GET', `/api/audit?limit=3&before=${page.json.next}`);
    expect(older.json.entries[0]!.id).toBeLessThan(page.json.next!);
    const grants = await call<{ entries: Record<string, unknown>[] }>('maintainer', 'GET', '/api/audit?action=user.grant&target=newcomer');
    expect(grants.json.entries).toEqual([
      expect.objectContaining({ actor: 'user:maintainer', oldValue: null, newValue: { source: 'north', level: 'view' } }),
    ]);
    const profile = await call<{ entries: Record<string, unknown>[] }>('maintainer', 'GET', '/api/audit?action=user.profile');
    expect(profile.json.entries[0]).toMatchObject({ target: 'newcomer', oldValue: { profile: 'customer' }, newValue: { profile: 'director' } });
  });

  it('edits settings over HTTP: validated like the file, written back with its comments, live at once, audited', async () => {
    const got = await call<{ settings: { schedule: { every: string } }; editable: string[] }>('director', 'GET', '/api/sources/north/settings');
    expect(got.json.settings.schedule.every).toBe('5m');
    expect(got.json.editable).not.toContain('camera');
    const bad = await call<{ error: string; details: Record<string, string> }>('director', 'PATCH', '/api/sources/north', { schedule: { every: '10x' } });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.json.details)).toEqual(['schedule.every']);
    expect((await call('director', 'PATCH', '/api/sources/north', { camera: { driver: 'v4l2' } })).status).toBe(403);
    const ok = await call<{ settings: { schedule: { every: string } } }>('director', 'PATCH', '/api/sources/north', { schedule: { every: '2m' } });
    expect(ok.status).toBe(200);
    expect(ok.json.settings.schedule.every).toBe('2m');
    expect(applied).toEqual(['120000']);
    expect(config().sources[0]!.schedule.every).toBe(120_000);
    expect((await call<{ every: string }>('buyer', 'GET', '/api/sources/north')).json.every).toBe('2m');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('# The bridge box');
    expect(text).toContain('name: North tower   # the crane side');
    expect(text).toMatch(/every: 2m +# tuned by the director/);
    const audit = await call<{ entries: Record<string, unknown>[] }>('maintainer', 'GET', '/api/audit?action=source.settings');
    expect(audit.json.entries[0]).toMatchObject({ actor: 'user:director', target: 'north', oldValue: { schedule: { every: '5m' } }, newValue: { schedule: { every: '2m' } } });
  });

  it('refuses directors what the table keeps for maintainers, over HTTP, naming the key path', async () => {
    const retention = await call<{ error: string }>('director', 'PATCH', '/api/sources/north', { retention: { maxAgeDays: 1 } });
    expect(retention.status).toBe(403);
    expect(retention.json.error).toBe('only maintainers may change "retention.maxAgeDays" of a source');
    const recovery = await call<{ error: string }>('director', 'PATCH', '/api/sources/north', { recovery: { powerCycle: { gpio: 17 } } });
    expect(recovery.status).toBe(403);
    expect(recovery.json.error).toContain('"recovery.powerCycle.gpio"');
    expect(fs.readFileSync(file, 'utf8')).not.toContain('maxAgeDays');
    const got = await call<{ editable: string[] }>('director', 'GET', '/api/sources/north/settings');
    expect(got.json.editable).not.toContain('retention.maxAgeDays');
    expect((await call<{ editable: string[] }>('maintainer', 'GET', '/api/sources/north/settings')).json.editable).toContain('retention.maxAgeDays');
  });

  it('never shows the secrets of camera URLs (GET, PATCH reply, audit), and keeps them when the masked values come back', async () => {
    const url = 'rtsp://viewer:rtsp-pass@192.0.2.30:554/stream1?token=t0ken-value';
    const shown = 'rtsp://viewer:***@192.0.2.30:554/stream1?token=***';
    const set = await call<{ settings: { camera: unknown } }>('maintainer', 'PATCH', '/api/sources/north', { camera: { driver: 'rtsp', url } });
    expect(set.status).toBe(200);
    expect(set.json.settings.camera).toEqual({ driver: 'rtsp', url: shown });
    for (const who of ['director', 'maintainer'] as const) {
      const got = await call<{ settings: Record<string, unknown> }>(who, 'GET', '/api/sources/north/settings');
      expect(got.json.settings['camera']).toEqual({ driver: 'rtsp', url: shown });
    }
    // The form sends back what it was shown, camera included: nothing of the camera changes.
    const got = await call<{ settings: Record<string, unknown> }>('director', 'GET', '/api/sources/north/settings');
    const back = await call<{ settings: Record<string, unknown> }>('director', 'PATCH', '/api/sources/north', { ...got.json.settings, name: 'North gate' });
    expect(back.status).toBe(200);
    expect(fs.readFileSync(file, 'utf8')).toContain(url);
    expect(config().sources[0]!.camera).toMatchObject({ driver: 'rtsp', url });
    const audit = await call<{ entries: Record<string, unknown>[] }>('maintainer', 'GET', '/api/audit?action=source.settings');
    expect(audit.json.entries.find((e) => JSON.stringify(e).includes('rtsp'))).toMatchObject({ newValue: { camera: { url: shown } } });
    const everything = JSON.stringify([set.json, got.json, back.json, audit.json]);
    expect(everything).not.toMatch(/rtsp-pass|t0ken-value/);
  });

  it('refuses a watermark outside the folder of the config file with 400, links included', async () => {
    const outside = tempDir('lapsebox-private-');
    try {
      const secret = path.join(outside.dir, 'private.png');
      fs.writeFileSync(secret, 'a private png', { mode: 0o600 });
      fs.symlinkSync(secret, path.join(tmp.dir, 'logo.png'));
      for (const watermarkFile of [secret, 'logo.png']) {
        const res = await call<{ details: Record<string, string> }>('director', 'PATCH', '/api/sources/north', { image: { watermark: { file: watermarkFile } } });
        expect(res.status).toBe(400);
        expect(res.json.details['image.watermark.file']).toMatch(/^expected a file in the folder of the configuration file/);
      }
      expect(fs.readFileSync(file, 'utf8')).not.toContain('watermark');
    } finally {
      outside.cleanup();
    }
  });
});
