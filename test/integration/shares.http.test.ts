/**
 * Share links over HTTP against the real services and a real database: who may make
 * them and at what level, what a visitor without an account reaches with each scope
 * (and nothing outside it), watermarks and downloads, revoked, expired, withdrawn and
 * unknown links, tokens kept only as hashes, the audit trail, and guessing throttled.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { DateTime } from 'luxon';
import type { LoadedConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { buildShares } from '../../daemon/compose/stacks';
import { AccessService } from '../../daemon/auth/access.service';
import type { Picture } from '../../daemon/domain/pictures';
import type { Listener } from '../../web/server';
import { tempDir } from '../helpers/env';
import { pictureServices, scene, seedPictures } from '../helpers/videos';
import { addUsers, startWeb, writeYamlConfig } from '../helpers/web';

const PASSWORD = 'share-test-password';
const TZ = 'Europe/Paris';

interface Made {
  id: number;
  url: string;
  link: string;
  expiresAt: string;
  qr: string;
  share: { state: string; scope: string; level: string };
}

describe('share links', () => {
  let tmp: ReturnType<typeof tempDir>;
  let loaded: LoadedConfig;
  let store: Repositories;
  let server: Listener;
  let base: string;
  let pictures: Picture[];
  let videoId: number;
  let clock = Date.now();

  const config = (): Config => loaded.config;
  const call = async <T = Record<string, unknown>>(user: string | null, method: string, url: string, body?: unknown) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: {
        ...(user ? { authorization: `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}` } : {}),
        ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const type = res.headers.get('content-type') ?? '';
    const json = type.startsWith('application/json') ? await res.json() : null;
    const text = json === null && type.startsWith('text/') ? await res.text() : null;
    if (json === null && text === null) await res.arrayBuffer();
    return { status: res.status, headers: res.headers, json: json as T, text };
  };
  const bytes = async (url: string, user: string | null = null) => {
    const res = await fetch(`${base}${url}`, { headers: user ? { authorization: `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}` } : {} });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };
  const share = async (user: string, body: Record<string, unknown>) => {
    const res = await call<Made>(user, 'POST', '/api/shares', { expiresIn: '7d', ...body });
    expect(res.status).toBe(201);
    return res.json;
  };

  beforeAll(async () => {
    tmp = tempDir();
    await sharp({ create: { width: 120, height: 40, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.9 } } }).png().toFile(path.join(tmp.dir, 'logo.png'));
    loaded = writeYamlConfig(tmp.dir, TZ, [
      'sources:',
      '  - id: north',
      '    name: North <tower>',
      '    camera: { driver: testpattern }',
      '    image: { watermark: { file: logo.png, position: center, opacity: 1 } }',
      '  - id: south',
      '    camera: { driver: testpattern }',
    ]);
    store = openRepositories(config().storage.dataDir);
    // Three local days, three pictures each.
    const times: number[] = [];
    for (const day of ['2026-11-18', '2026-11-19', '2026-11-20']) {
      const start = DateTime.fromISO(`${day}T10:00`, { zone: TZ }).toMillis();
      for (let i = 0; i < 3; i++) times.push(start + i * 3_600_000);
    }
    pictures = await seedPictures(config(), store, 'north', times, (i) => scene(320, 180, 1, i * 3));
    await seedPictures(config(), store, 'south', [times[0]!], () => scene(320, 180, 1));
    // A film of the 19th (its file need not be a real film to be served).
    const film = path.join(store.layout.dataDir, 'videos-north-19.mp4');
    fs.writeFileSync(film, Buffer.from('not really an mp4, but served byte for byte'));
    videoId = store.videos.save({
      sourceId: 'north', kind: 'daily', label: '2026-11-19', path: path.relative(store.layout.dataDir, film), posterPath: null,
      periodFrom: DateTime.fromISO('2026-11-19T00:00', { zone: TZ }).toMillis(), periodTo: DateTime.fromISO('2026-11-20T00:00', { zone: TZ }).toMillis(),
      frames: 3, fps: 25, width: 320, height: 180, durationMs: 120, size: fs.statSync(film).size, codec: 'h264', jobId: null, createdAt: Date.now(), phone: null,
    });
    await addUsers(store, config, PASSWORD, {
      maintainer: ['maintainer'],
      director: ['director'],
      viewer: ['customer', { north: 'view' }],
      buyer: ['customer', { north: 'download' }],
      other: ['customer', { north: 'download' }],
    });
    const access = new AccessService({ access: store.access, users: store.users, audit: store.audit, sourceIds: () => config().sources.map((s) => s.id) });
    const shares = buildShares({ config, store, grantsFor: (user) => access.grantsFor(user), now: () => clock });
    const { sizes } = pictureServices(config(), store);
    ({ server, base } = await startWeb(config, store, { capture: { capture: async () => ({ status: 'skipped', reason: 'none' }), isBusy: () => false }, sizes, videos: store.videos, shares }));
  });

  afterAll(async () => {
    await server?.close();
    store?.close();
    tmp?.cleanup();
  });

  it('makes a link with a token of at least 128 random bits, a QR code, and keeps only its hash', async () => {
    const made = await share('director', { source: 'north', scope: 'gallery', level: 'view', label: 'Client weekly' });
    const token = made.url.replace('/s/', '');
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/); // 24 bytes: 192 bits
    expect(made.link).toBe(`${base}${made.url}`);
    expect(Date.parse(made.expiresAt) - clock).toBe(7 * 86_400_000);
    expect(made.qr).toMatch(/^<svg[^>]*>/);
    expect(made.share).toMatchObject({ state: 'active', scope: 'gallery', level: 'view' });
    // The database has the hash, never the token: a copy of it opens nothing.
    const row = store.db.prepare('SELECT token_hash FROM shares WHERE id = ?').get(made.id) as { token_hash: string };
    expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    for (const file of fs.readdirSync(store.layout.dataDir).filter((f) => f.startsWith('lapsebox.db'))) {
      expect(fs.readFileSync(path.join(store.layout.dataDir, file)).includes(token)).toBe(false);
    }
    // Two links never share a token.
    const again = await share('director', { source: 'north', scope: 'gallery' });
    expect(again.url).not.toBe(made.url);
  });

  it('refuses bad requests with the field named', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ source: 'north', scope: 'everything', expiresIn: '7d' }, 'scope'],
      [{ source: 'north', scope: 'gallery', expiresIn: '91d' }, 'expiresIn'],
      [{ source: 'north', scope: 'gallery', expiresIn: '1m' }, 'expiresIn'],
      [{ source: 'north', scope: 'gallery', level: 'edit', expiresIn: '7d' }, 'level'],
      [{ source: 'north', scope: 'picture', expiresIn: '7d' }, 'picture'],
      [{ source: 'north', scope: 'compare', pictures: [1, 1], expiresIn: '7d' }, 'pictures'],
      [{ source: 'north', scope: 'latest', picture: 1, expiresIn: '7d' }, 'picture'],
      [{ source: 'north', scope: 'gallery', from: '2026-11-20', to: '2026-11-19', expiresIn: '7d' }, 'to'],
      [{ source: 'north', scope: 'gallery', from: '2026-02-30', expiresIn: '7d' }, 'from'],
      [{ source: 'north', scope: 'gallery', expiresIn: '7d', owner: 'me' }, 'owner'],
      [{ source: 'north', scope: 'gallery', expiresIn: '7d', label: 'two\nlines' }, 'label'],
    ];
    for (const [body, field] of cases) {
      const res = await call<{ error: string; details: Record<string, string> }>('director', 'POST', '/api/shares', body);
      expect([res.status, Object.keys(res.json.details ?? {})]).toEqual([400, expect.arrayContaining([field])]);
    }
    // A picture of another source, or a film that does not exist: 404 as for anything unseen.
    const southPicture = store.pictures.latest('south')!.id;
    expect((await call('director', 'POST', '/api/shares', { source: 'north', scope: 'picture', picture: southPicture, expiresIn: '1d' })).status).toBe(404);
    expect((await call('director', 'POST', '/api/shares', { source: 'north', scope: 'video', video: 999_999, expiresIn: '1d' })).status).toBe(404);
  });

  it('lets a customer share only what they may download, at most at their level', async () => {
    expect((await call('viewer', 'POST', '/api/shares', { source: 'north', scope: 'latest', expiresIn: '1d' })).status).toBe(403);
    expect((await call('buyer', 'POST', '/api/shares', { source: 'south', scope: 'latest', expiresIn: '1d' })).status).toBe(404);
    expect((await call(null, 'POST', '/api/shares', { source: 'north', scope: 'latest', expiresIn: '1d' })).status).toBe(401);
    const mine = await share('buyer', { source: 'north', scope: 'latest', level: 'download' });
    // Each sees their own; a maintainer sees all; others cannot revoke it.
    const listed = async (user: string) => (await call<{ shares: { id: number }[] }>(user, 'GET', '/api/shares')).json.shares.map((s) => s.id);
    expect(await listed('buyer')).toEqual([mine.id]);
    expect(await listed('other')).toEqual([]);
    expect(await listed('director')).not.toContain(mine.id);
    expect(await listed('maintainer')).toContain(mine.id);
    expect((await call('other', 'DELETE', `/api/shares/${mine.id}`)).status).toBe(404);
    expect((await call('director', 'DELETE', `/api/shares/${mine.id}`)).status).toBe(404);
    expect((await call(null, 'GET', `/s/${mine.url.slice(3)}/latest.jpg`)).status).toBe(200);
    const revoked = await call<{ share: { state: string; revokedBy: string } }>('buyer', 'DELETE', `/api/shares/${mine.id}`);
    expect(revoked.json.share).toMatchObject({ state: 'revoked', revokedBy: 'user:buyer' });
  });

  it('opens a gallery to a visitor: the same UI, the days and pictures of the period, watermarked, no download at view', async () => {
    const made = await share('director', { source: 'north', scope: 'gallery', level: 'view', from: '2026-11-19', to: '2026-11-19' });
    const page = await call(null, 'GET', made.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('x-robots-tag')).toBe('noindex, nofollow');
    expect(page.text).toContain(`"${made.url}/ui/app.js"`);
    expect(page.text).not.toContain('"/ui/');
    expect((await call(null, 'GET', `${made.url}/ui/app.js`)).status).toBe(200);
    expect((await call(null, 'GET', `${made.url}/ui/../../etc/passwd`)).status).toBe(404);

    const me = await call<{ profile: string; sources: { id: string; level: string; name: string }[]; share: Record<string, unknown> }>(null, 'GET', `${made.url}/api/me`);
    expect(me.json).toMatchObject({ profile: 'visitor', sources: [{ id: 'north', level: 'view', name: 'North <tower>' }], share: { scope: 'gallery', from: '2026-11-19', to: '2026-11-19' } });
    expect(JSON.stringify(me.json)).not.toContain('director');
    const days = await call<{ days: { date: string }[] }>(null, 'GET', `${made.url}/api/sources/north/days`);
    expect(days.json.days.map((d) => d.date)).toEqual(['2026-11-19']);
    const source = await call<{ latest: { id: number } }>(null, 'GET', `${made.url}/api/sources/north`);
    expect(source.json.latest.id).toBe(pictures[5]!.id);
    const day = await call<{ pictures: { id: number; urls: Record<string, string> }[] }>(null, 'GET', `${made.url}/api/sources/north/pictures?date=2026-11-19`);
    expect(day.json.pictures.map((p) => p.id)).toEqual(pictures.slice(3, 6).map((p) => p.id));
    expect(day.json.pictures[0]!.urls).toEqual({ thumb: `${made.url}/api/pictures/${pictures[3]!.id}/thumb`, small: `${made.url}/api/pictures/${pictures[3]!.id}/small`, preview: `${made.url}/api/pictures/${pictures[3]!.id}/preview` });
    // Outside the period: nothing.
    expect((await call(null, 'GET', `${made.url}/api/sources/north/pictures?date=2026-11-20`)).status).toBe(404);
    expect((await call(null, 'GET', `${made.url}/api/pictures/${pictures[6]!.id}`)).status).toBe(404);
    expect((await call(null, 'GET', `${made.url}/api/pictures/${pictures[2]!.id}/thumb`)).status).toBe(404);
    // Neighbours stop at the period's ends.
    const first = await call<{ prev: number | null; next: number | null }>(null, 'GET', `${made.url}/api/pictures/${pictures[3]!.id}`);
    expect(first.json).toMatchObject({ prev: null, next: pictures[4]!.id });
    const last = await call<{ prev: number | null; next: number | null }>(null, 'GET', `${made.url}/api/pictures/${pictures[5]!.id}`);
    expect(last.json).toMatchObject({ prev: pictures[4]!.id, next: null });
    // Other sources and the rest of the API: nothing.
    expect((await call(null, 'GET', `${made.url}/api/sources/south/days`)).status).toBe(404);
    expect((await call(null, 'GET', `${made.url}/api/sources`)).status).toBe(404);
    expect((await call(null, 'GET', `${made.url}/api/system`)).status).toBe(404);
    expect((await call(null, 'GET', `${made.url}/api/users`)).status).toBe(404);
    // Watermarked exactly as a customer sees it, not as the director does.
    const preview = `/api/pictures/${pictures[4]!.id}/preview`;
    const visitor = await bytes(`${made.url}${preview}`);
    expect(visitor.equals(await bytes(preview, 'viewer'))).toBe(true);
    expect(visitor.equals(await bytes(preview, 'director'))).toBe(false);
    // At view level: no original, no zip, no film download; the film plays.
    expect((await call(null, 'GET', `${made.url}/api/pictures/${pictures[4]!.id}/original`)).status).toBe(403);
    expect((await call(null, 'GET', `${made.url}/api/sources/north/days/2026-11-19/zip`)).status).toBe(403);
    const films = await call<{ videos: { id: number; file: string }[] }>(null, 'GET', `${made.url}/api/sources/north/videos`);
    expect(films.json.videos.map((v) => v.id)).toEqual([videoId]);
    expect(films.json.videos[0]!.file).toBe(`${made.url}/api/videos/${videoId}/file`);
    expect((await call(null, 'GET', `${made.url}/api/videos/${videoId}/file`)).status).toBe(200);
    expect((await call(null, 'GET', `${made.url}/api/videos/${videoId}/file?download=1`)).status).toBe(403);
    // Uses: the page, once.
    const listed = (await call<{ shares: { id: number; uses: number; lastUsedAt: string }[] }>('director', 'GET', '/api/shares?source=north')).json.shares.find((s) => s.id === made.id)!;
    expect(listed.uses).toBe(1);
    expect(listed.lastUsedAt).not.toBeNull();
  });

  it('lets a download link download watermarked originals and the day', async () => {
    const made = await share('buyer', { source: 'north', scope: 'gallery', level: 'download', to: '2026-11-18' });
    const original = await bytes(`${made.url}/api/pictures/${pictures[0]!.id}/original`);
    expect(original.equals(await bytes(`/api/pictures/${pictures[0]!.id}/original`, 'buyer'))).toBe(true);
    expect(original.equals(await bytes(`/api/pictures/${pictures[0]!.id}/original`, 'director'))).toBe(false);
    const zip = await fetch(`${base}${made.url}/api/sources/north/days/2026-11-18/zip`);
    expect([zip.status, zip.headers.get('content-type')]).toEqual([200, 'application/zip']);
    await zip.arrayBuffer();
    expect((await call(null, 'GET', `${made.url}/api/sources/north/days/2026-11-19/zip`)).status).toBe(404);
    // A film of the 19th is outside a period that ends on the 18th.
    expect((await call<{ videos: unknown[] }>(null, 'GET', `${made.url}/api/sources/north/videos`)).json.videos).toEqual([]);
    expect((await call(null, 'GET', `${made.url}/api/videos/${videoId}/file`)).status).toBe(404);
    // The customer loses the download level: the link still shows, but no longer downloads.
    await call('maintainer', 'PUT', '/api/users/buyer/grants/north', { level: 'view' });
    expect((await call<{ share: { level: string } }>(null, 'GET', `${made.url}/api/me`)).json.share.level).toBe('view');
    expect((await call(null, 'GET', `${made.url}/api/pictures/${pictures[0]!.id}/original`)).status).toBe(403);
    // And no grant at all: the link is withdrawn.
    await call('maintainer', 'DELETE', '/api/users/buyer/grants/north');
    const gone = await call(null, 'GET', made.url);
    expect(gone.status).toBe(410);
    expect(gone.text).toContain('no longer available');
    await call('maintainer', 'PUT', '/api/users/buyer/grants/north', { level: 'download' });
    expect((await call(null, 'GET', made.url)).status).toBe(200);
  });

  it('opens one picture, and not the next', async () => {
    const made = await share('director', { source: 'north', scope: 'picture', picture: pictures[4]!.id });
    const one = await call<{ picture: { id: number }; prev: number | null; next: number | null }>(null, 'GET', `${made.url}/api/pictures/${pictures[4]!.id}`);
    expect(one.json).toMatchObject({ picture: { id: pictures[4]!.id }, prev: null, next: null });
    expect((await call(null, 'GET', `${made.url}/api/pictures/${pictures[4]!.id}/preview`)).status).toBe(200);
    expect((await call(null, 'GET', `${made.url}/api/pictures/${pictures[5]!.id}`)).status).toBe(404);
    expect((await call(null, 'GET', `${made.url}/api/pictures/${pictures[5]!.id}/thumb`)).status).toBe(404);
    expect((await call(null, 'GET', `${made.url}/api/sources/north/days`)).status).toBe(404);
    expect((await call(null, 'GET', `${made.url}/api/sources/north/videos`)).status).toBe(404);
    expect((await call(null, 'GET', `${made.url}/latest.jpg`)).status).toBe(404);
  });

  it('opens the live picture of a latest link and no day listing', async () => {
    const made = await share('director', { source: 'north', scope: 'latest' });
    const latest = await fetch(`${base}${made.url}/latest.jpg`);
    expect([latest.status, latest.headers.get('content-type'), latest.headers.get('cache-control')]).toEqual([200, 'image/jpeg', 'private, no-cache']);
    const etag = latest.headers.get('etag')!;
    await latest.arrayBuffer();
    expect((await fetch(`${base}${made.url}/latest.jpg`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await call(null, 'GET', `${made.url}/api/sources/north/days`)).status).toBe(404);
    expect((await call(null, 'GET', `${made.url}/api/sources/north/pictures?date=2026-11-20`)).status).toBe(404);
    expect((await call(null, 'GET', `${made.url}/api/pictures/${pictures[8]!.id}`)).status).toBe(404);
  });

  it('opens the two pictures of a comparison and one film', async () => {
    const compare = await share('director', { source: 'north', scope: 'compare', pictures: [pictures[0]!.id, pictures[8]!.id] });
    expect((await call(null, 'GET', `${compare.url}/api/pictures/${pictures[0]!.id}/preview`)).status).toBe(200);
    expect((await call(null, 'GET', `${compare.url}/api/pictures/${pictures[8]!.id}/preview`)).status).toBe(200);
    expect((await call(null, 'GET', `${compare.url}/api/pictures/${pictures[4]!.id}/preview`)).status).toBe(404);
    expect((await call<{ share: { pictures: number[] } }>(null, 'GET', `${compare.url}/api/me`)).json.share.pictures).toEqual([pictures[0]!.id, pictures[8]!.id]);
    const film = await share('director', { source: 'north', scope: 'video', video: videoId });
    expect((await call(null, 'GET', `${film.url}/api/videos/${videoId}/file`)).status).toBe(200);
    expect((await call(null, 'GET', `${film.url}/api/pictures/${pictures[0]!.id}`)).status).toBe(404);
  });

  it('answers 410 for revoked and expired links, 404 for unknown ones, and audits each step', async () => {
    const revoked = await share('director', { source: 'north', scope: 'latest', label: 'journalist' });
    expect((await call('director', 'DELETE', `/api/shares/${revoked.id}`)).status).toBe(200);
    const gone = await call(null, 'GET', revoked.url);
    expect(gone.status).toBe(410);
    expect(gone.text).toContain('withdrawn');
    expect((await call<{ error: string }>(null, 'GET', `${revoked.url}/latest.jpg`)).json.error).toBe('this share link was revoked');

    const expiring = await share('director', { source: 'north', scope: 'latest', expiresIn: '1h' });
    expect((await call(null, 'GET', expiring.url)).status).toBe(200);
    clock += 3_600_000;
    const expired = await call(null, 'GET', expiring.url);
    expect([expired.status, expired.text?.includes('expired')]).toEqual([410, true]);
    expect((await call(null, 'GET', `${expiring.url}/api/me`)).status).toBe(410);

    expect((await call(null, 'GET', '/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
    expect((await call(null, 'GET', '/s/not-a-token')).status).toBe(404);

    // Listing notes the expiry in the audit trail, once.
    expect((await call('director', 'GET', '/api/shares')).status).toBe(200);
    expect((await call('director', 'GET', '/api/shares')).status).toBe(200);
    const audit = store.audit.query({ limit: 1000 }).filter((e) => e.action.startsWith('share.'));
    const about = (id: number) => audit.filter((e) => e.target?.startsWith(`share:${id} `)).map((e) => `${e.action} ${e.actor}`).sort();
    expect(about(revoked.id)).toEqual(['share.create user:director', 'share.revoke user:director']);
    expect(about(expiring.id)).toEqual(['share.create user:director', 'share.expire daemon']);
  });

  it('throttles an address that keeps trying tokens, valid ones included, without locking others out', async () => {
    const valid = await share('director', { source: 'north', scope: 'latest', expiresIn: '1d' });
    let status = 0;
    for (let i = 0; i < 25 && status !== 429; i++) {
      status = (await call(null, 'GET', `/s/${String(i).padStart(32, 'x')}/api/me`)).status;
    }
    expect(status).toBe(429);
    const refused = await call(null, 'GET', valid.url);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // After the window, the address may try again.
    clock += 11 * 60_000;
    expect((await call(null, 'GET', valid.url)).status).toBe(200);
  });
});
