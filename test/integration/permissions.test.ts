/**
 * The permission table of SPEC §4 as a test: every route of the web app, for
 * every kind of caller, against the real services and a real database. The
 * routes are found by walking the express app itself, so a route added later
 * without a declared rule, or without a row here, fails this test.
 */
import type { Express } from 'express';
import { DateTime } from 'luxon';
import type { LoadedConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import type { VideoJobs } from '../../daemon/timelapse/video-jobs.service';
import type { DeclaredRoute } from '../../web/routes';
import type { Listener } from '../../web/server';
import { tempDir } from '../helpers/env';
import { scene, seedPictures } from '../helpers/videos';
import { accessServices, addUsers, startWebWithEveryPart, TEST_ACTOR, writeYamlConfig } from '../helpers/web';
import { buildShares } from '../../daemon/compose/stacks';
import type { ShareService } from '../../daemon/shares/share.service';

const PASSWORD = 'permission-table-password';
const TZ = 'Europe/Paris';
const CALLERS = ['anonymous', 'stranger', 'viewer', 'buyer', 'grouped', 'director', 'maintainer'] as const;
type Caller = (typeof CALLERS)[number];

interface Row {
  /** The route as declared: `GET /api/sources/:id`. */
  route: string;
  /** The request to make; a function when it needs something made first. */
  url: string | (() => Promise<string> | string);
  body?: unknown;
  /** Status per caller, in the order of CALLERS. */
  expect: readonly number[];
}

// Shorthands for the common columns: anonymous, stranger (no grant), viewer (view),
// buyer (download), grouped (download through a group), director, maintainer.
const ANYONE = [200, 200, 200, 200, 200, 200, 200];
const USERS = [401, 200, 200, 200, 200, 200, 200];
const VIEWERS = [401, 404, 200, 200, 200, 200, 200];
const DOWNLOADERS = [401, 404, 403, 200, 200, 200, 200];
const EDITORS = (ok: number) => [401, 404, 403, 403, 403, ok, ok];
const STAFF = [401, 403, 403, 403, 403, 200, 200];
const MAINTAINERS = (ok: number) => [401, 403, 403, 403, 403, 403, ok];
/** Share link routes ignore who calls: the token alone decides. */
const ALL = (status: number) => [status, status, status, status, status, status, status];
/** A source nobody was granted: customers cannot tell it exists. */
const HIDDEN = [401, 404, 404, 404, 404, 200, 200];

describe('the permission table (SPEC §4) on every route', () => {
  let tmp: ReturnType<typeof tempDir>;
  let loaded: LoadedConfig;
  let store: Repositories;
  let jobs: VideoJobs;
  let server: Listener;
  let base: string;
  let app: Express;
  let northPicture: number;
  let southPicture: number;
  let videoId: number;
  let day: string;
  let counter = 0;
  let makeShare: (body: Record<string, unknown>, service?: ShareService) => ReturnType<ShareService['create']>;
  let tokens: Record<'gallery' | 'galleryDownload' | 'picture' | 'latest' | 'expired' | 'revoked', string>;
  let otherPicture: number;

  const config = (): Config => loaded.config;
  const authHeader = (caller: Caller): Record<string, string> => (caller === 'anonymous' ? {} : { authorization: `Basic ${Buffer.from(`${caller}:${PASSWORD}`).toString('base64')}` });
  const call = (caller: Caller, method: string, url: string, body?: unknown) =>
    fetch(`${base}${url}`, {
      method,
      headers: { ...authHeader(caller), ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  /** Something new for each request of a row that changes state. */
  const fresh = (prefix: string) => `${prefix}${++counter}`;
  let services: ReturnType<typeof accessServices>;
  let helperJob: number | null = null;
  const directorJob = async () => {
    // One of these at a time: a director may have only 2 custom videos queued or being built.
    if (helperJob !== null && ['queued', 'running'].includes(jobs.get(helperJob)!.status)) await jobs.cancel(helperJob, 'test');
    const res = await call('director', 'POST', '/api/sources/north/videos', { from: day, to: day, width: 160 });
    const { job } = (await res.json()) as { job: { id: number } };
    helperJob = job.id;
    return `/api/jobs/${job.id}`;
  };

  beforeAll(async () => {
    tmp = tempDir();
    loaded = writeYamlConfig(tmp.dir, TZ, [
      'sources:',
      '  - id: north',
      '    camera: { driver: testpattern, width: 640, height: 360 }',
      '    public: { enabled: true, width: 320, sizes: [160] }',
      '    timelapse: { daily: { width: 160, fps: 25, preset: ultrafast, deflicker: false } }',
      '  - id: south',
      '    camera: { driver: testpattern, width: 640, height: 360 }',
    ]);
    store = openRepositories(config().storage.dataDir);
    const start = DateTime.fromISO('2026-11-20T10:00', { zone: TZ }).toMillis();
    day = '2026-11-20';
    const north = await seedPictures(config(), store, 'north', Array.from({ length: 12 }, (_, i) => start + i * 60_000), (i) => scene(320, 180, 1, i * 4));
    const south = await seedPictures(config(), store, 'south', [start], () => scene(320, 180, 1));
    northPicture = north[3]!.id;
    southPicture = south[0]!.id;

    await addUsers(store, config, PASSWORD, {
      stranger: ['customer'],
      viewer: ['customer', { north: 'view' }],
      buyer: ['customer', { north: 'download' }],
      grouped: ['customer'],
      director: ['director'],
      maintainer: ['maintainer'],
    });
    services = accessServices(config, store);
    services.access.addGroup('site-team', TEST_ACTOR);
    services.access.addMember('site-team', 'grouped', TEST_ACTOR);
    services.access.grantGroup('site-team', 'north', 'download', TEST_ACTOR);

    ({ server, base, app, jobs, videoId } = await startWebWithEveryPart(config, store, { source: 'north', day, settings: { file: () => loaded.file, apply: (next) => void (loaded = next) } }));

    // Share links of every kind a visitor may hold, made by the director (one made 8 days ago for 7).
    const director = store.users.findByName('director')!;
    const shares = buildShares({ config, store, grantsFor: (user) => services.access.grantsFor(user) });
    const past = buildShares({ config, store, grantsFor: (user) => services.access.grantsFor(user), now: () => Date.now() - 8 * 86_400_000 });
    makeShare = (body, service = shares) =>
      service.create({ source: 'north', expiresIn: '7d', ...body }, { actor: 'user:director', user: { id: director.id, username: 'director', profile: 'director' }, levelOn: () => 'edit' });
    tokens = {
      gallery: makeShare({ scope: 'gallery', level: 'view' }).token,
      galleryDownload: makeShare({ scope: 'gallery', level: 'download' }).token,
      picture: makeShare({ scope: 'picture', picture: northPicture }).token,
      latest: makeShare({ scope: 'latest' }).token,
      expired: makeShare({ scope: 'gallery' }, past).token,
      revoked: (() => {
        const made = makeShare({ scope: 'gallery' });
        shares.revoke(made.share.id, { actor: 'user:director', user: { id: director.id, username: 'director', profile: 'director' } });
        return made.token;
      })(),
    };
    otherPicture = north[4]!.id;
  }, 120_000);

  afterAll(async () => {
    await jobs?.stop();
    await server?.close();
    store?.close();
    tmp?.cleanup();
  });

  const rows = (): Row[] => [
    { route: 'GET /healthz', url: '/healthz', expect: ANYONE },
    { route: 'GET /public/:source/latest.jpg', url: '/public/north/latest.jpg', expect: ANYONE },
    { route: 'GET /public/:source/latest-:width.jpg', url: '/public/north/latest-160.jpg', expect: ANYONE },
    { route: 'GET /public/:source', url: '/public/north', expect: ANYONE },
    { route: 'GET /', url: '/', expect: USERS },
    { route: 'GET /ui/*file', url: '/ui/index.html', expect: [401, 404, 404, 404, 404, 404, 404] },
    { route: 'GET /metrics', url: '/metrics', expect: MAINTAINERS(200) },
    { route: 'GET /api/me', url: '/api/me', expect: USERS },
    { route: 'PUT /api/me/language', url: '/api/me/language', body: { language: 'fr' }, expect: USERS },
    { route: 'GET /api/system', url: '/api/system', expect: STAFF },
    { route: 'GET /api/system/history', url: '/api/system/history', expect: STAFF },
    { route: 'GET /api/public', url: '/api/public', expect: STAFF },
    // Switched on, as it already is: the public rows above and below stay as they are.
    { route: 'PUT /api/public', url: '/api/public', body: { enabled: true }, expect: STAFF },
    { route: 'GET /api/events', url: '/api/events', expect: STAFF },
    { route: 'GET /api/sources', url: '/api/sources', expect: USERS },
    { route: 'GET /api/sources/:id', url: '/api/sources/north', expect: VIEWERS },
    { route: 'GET /api/sources/:id', url: '/api/sources/south', expect: HIDDEN },
    { route: 'GET /api/sources/:id', url: '/api/sources/nowhere', expect: [401, 404, 404, 404, 404, 404, 404] },
    { route: 'GET /api/sources/:id/settings', url: '/api/sources/north/settings', expect: EDITORS(200) },
    { route: 'PATCH /api/sources/:id', url: '/api/sources/north', body: { name: 'North tower' }, expect: EDITORS(200) },
    { route: 'POST /api/sources/:id/capture', url: '/api/sources/north/capture', expect: EDITORS(201) },
    { route: 'POST /api/sources/:id/preview', url: '/api/sources/north/preview', body: { image: { rotate: 180 } }, expect: EDITORS(200) },
    { route: 'POST /api/sources/:id/slots', url: '/api/sources/north/slots', body: { every: ['5m'] }, expect: EDITORS(200) },
    { route: 'GET /api/sources/:id/progress', url: '/api/sources/north/progress', expect: EDITORS(200) },
    { route: 'GET /api/sources/:id/progress', url: '/api/sources/south/progress', expect: [401, 404, 404, 404, 404, 200, 200] },
    // North has no progress e-mails set up: 409 for those who may ask, the usual refusals for the others.
    { route: 'POST /api/sources/:id/progress/send', url: '/api/sources/north/progress/send', expect: EDITORS(409) },
    { route: 'GET /api/sources/:id/days', url: '/api/sources/north/days', expect: VIEWERS },
    { route: 'GET /api/sources/:id/days', url: '/api/sources/south/days', expect: HIDDEN },
    { route: 'GET /api/sources/:id/coverage', url: '/api/sources/north/coverage', expect: VIEWERS },
    { route: 'GET /api/sources/:id/coverage', url: '/api/sources/south/coverage', expect: HIDDEN },
    { route: 'GET /api/sources/:id/exposure', url: '/api/sources/north/exposure', expect: EDITORS(200) },
    { route: 'GET /api/sources/:id/pictures', url: () => `/api/sources/north/pictures?date=${day}`, expect: VIEWERS },
    { route: 'GET /api/sources/:id/days/:date/zip', url: () => `/api/sources/north/days/${day}/zip`, expect: DOWNLOADERS },
    { route: 'GET /api/pictures/:id', url: () => `/api/pictures/${northPicture}`, expect: VIEWERS },
    // Guessing the id of another source's picture finds nothing.
    { route: 'GET /api/pictures/:id', url: () => `/api/pictures/${southPicture}`, expect: HIDDEN },
    { route: 'GET /api/pictures/:id/:size', url: () => `/api/pictures/${northPicture}/thumb`, expect: VIEWERS },
    { route: 'GET /api/pictures/:id/:size', url: () => `/api/pictures/${northPicture}/original`, expect: DOWNLOADERS },
    { route: 'GET /api/pictures/:id/:size', url: () => `/api/pictures/${southPicture}/preview`, expect: HIDDEN },
    { route: 'GET /api/sources/:id/videos', url: '/api/sources/north/videos', expect: VIEWERS },
    { route: 'POST /api/sources/:id/videos', url: '/api/sources/north/videos', body: { from: '2026-11-20', to: '2026-11-20', width: 160 }, expect: [401, 404, 403, 403, 403, 202, 202] },
    { route: 'GET /api/videos/:id', url: () => `/api/videos/${videoId}`, expect: VIEWERS },
    { route: 'GET /api/videos/:id/file', url: () => `/api/videos/${videoId}/file`, expect: VIEWERS },
    { route: 'GET /api/videos/:id/file', url: () => `/api/videos/${videoId}/file?download=1`, expect: DOWNLOADERS },
    { route: 'GET /api/videos/:id/poster', url: () => `/api/videos/${videoId}/poster`, expect: VIEWERS },
    { route: 'GET /api/jobs', url: '/api/jobs', expect: USERS },
    // A job is seen and cancelled by who started it (here the director) and by maintainers.
    { route: 'GET /api/jobs/:id', url: directorJob, expect: [401, 404, 404, 404, 404, 200, 200] },
    { route: 'DELETE /api/jobs/:id', url: directorJob, expect: [401, 404, 404, 404, 404, 200, 200] },
    { route: 'GET /api/users', url: '/api/users', expect: MAINTAINERS(200) },
    { route: 'POST /api/users', url: '/api/users', body: () => ({ username: fresh('new-user-'), profile: 'customer' }), expect: MAINTAINERS(201) },
    { route: 'GET /api/users/:name', url: '/api/users/viewer', expect: MAINTAINERS(200) },
    { route: 'PATCH /api/users/:name', url: '/api/users/stranger', body: { profile: 'customer' }, expect: MAINTAINERS(200) },
    { route: 'DELETE /api/users/:name', url: async () => `/api/users/${await someUser()}`, expect: MAINTAINERS(204) },
    { route: 'PUT /api/users/:name/grants/:source', url: '/api/users/stranger/grants/south', body: { level: 'view' }, expect: MAINTAINERS(200) },
    { route: 'DELETE /api/users/:name/grants/:source', url: () => { services.access.grantUser('stranger', 'south', 'view', TEST_ACTOR); return '/api/users/stranger/grants/south'; }, expect: MAINTAINERS(200) },
    { route: 'GET /api/groups', url: '/api/groups', expect: MAINTAINERS(200) },
    { route: 'POST /api/groups', url: '/api/groups', body: () => ({ name: fresh('group-') }), expect: MAINTAINERS(201) },
    { route: 'GET /api/groups/:name', url: '/api/groups/site-team', expect: MAINTAINERS(200) },
    { route: 'DELETE /api/groups/:name', url: () => `/api/groups/${services.access.addGroup(fresh('doomed-'), TEST_ACTOR).name}`, expect: MAINTAINERS(204) },
    { route: 'PUT /api/groups/:name/members/:user', url: '/api/groups/site-team/members/stranger', expect: MAINTAINERS(200) },
    { route: 'DELETE /api/groups/:name/members/:user', url: () => { services.access.addMember('site-team', 'stranger', TEST_ACTOR); return '/api/groups/site-team/members/stranger'; }, expect: MAINTAINERS(200) },
    { route: 'PUT /api/groups/:name/grants/:source', url: '/api/groups/site-team/grants/north', body: { level: 'download' }, expect: MAINTAINERS(200) },
    { route: 'DELETE /api/groups/:name/grants/:source', url: () => { services.access.grantGroup('site-team', 'south', 'view', TEST_ACTOR); return '/api/groups/site-team/grants/south'; }, expect: MAINTAINERS(200) },
    { route: 'GET /api/audit', url: '/api/audit', expect: MAINTAINERS(200) },
    // Share links: directors and maintainers, and customers who may download the source.
    { route: 'POST /api/shares', url: '/api/shares', body: { source: 'north', scope: 'latest', expiresIn: '1d' }, expect: [401, 404, 403, 201, 201, 201, 201] },
    { route: 'POST /api/shares', url: '/api/shares', body: { source: 'south', scope: 'latest', expiresIn: '1d' }, expect: HIDDEN.map((s) => (s === 200 ? 201 : s)) },
    { route: 'GET /api/shares', url: '/api/shares', expect: USERS },
    // Revoked by who made it (here the director) and by maintainers.
    { route: 'DELETE /api/shares/:id', url: () => `/api/shares/${makeShare({ scope: 'latest' }).share.id}`, expect: [401, 404, 404, 404, 404, 200, 200] },
    // What a visitor reaches: the same for every caller, by the token and its scope alone.
    { route: 'GET /s/:token', url: () => `/s/${tokens.gallery}`, expect: ALL(200) },
    { route: 'GET /s/:token', url: () => `/s/${tokens.revoked}`, expect: ALL(410) },
    { route: 'GET /s/:token', url: () => `/s/${tokens.expired}`, expect: ALL(410) },
    { route: 'GET /s/:token', url: '/s/ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ', expect: ALL(404) },
    { route: 'GET /s/:token/ui/*file', url: () => `/s/${tokens.gallery}/ui/app.js`, expect: ALL(200) },
    { route: 'GET /s/:token/ui/*file', url: () => `/s/${tokens.revoked}/ui/app.js`, expect: ALL(410) },
    { route: 'GET /s/:token/api/me', url: () => `/s/${tokens.latest}/api/me`, expect: ALL(200) },
    { route: 'GET /s/:token/api/me', url: () => `/s/${tokens.expired}/api/me`, expect: ALL(410) },
    { route: 'GET /s/:token/api/sources/:id', url: () => `/s/${tokens.gallery}/api/sources/north`, expect: ALL(200) },
    { route: 'GET /s/:token/api/sources/:id', url: () => `/s/${tokens.gallery}/api/sources/south`, expect: ALL(404) },
    { route: 'GET /s/:token/api/sources/:id/days', url: () => `/s/${tokens.gallery}/api/sources/north/days`, expect: ALL(200) },
    // A latest link lists no days; a picture link opens no other picture.
    { route: 'GET /s/:token/api/sources/:id/days', url: () => `/s/${tokens.latest}/api/sources/north/days`, expect: ALL(404) },
    { route: 'GET /s/:token/api/sources/:id/pictures', url: () => `/s/${tokens.gallery}/api/sources/north/pictures?date=${day}`, expect: ALL(200) },
    { route: 'GET /s/:token/api/sources/:id/days/:date/zip', url: () => `/s/${tokens.gallery}/api/sources/north/days/${day}/zip`, expect: ALL(403) },
    { route: 'GET /s/:token/api/sources/:id/days/:date/zip', url: () => `/s/${tokens.galleryDownload}/api/sources/north/days/${day}/zip`, expect: ALL(200) },
    { route: 'GET /s/:token/api/pictures/:id', url: () => `/s/${tokens.picture}/api/pictures/${northPicture}`, expect: ALL(200) },
    { route: 'GET /s/:token/api/pictures/:id', url: () => `/s/${tokens.picture}/api/pictures/${otherPicture}`, expect: ALL(404) },
    { route: 'GET /s/:token/api/pictures/:id', url: () => `/s/${tokens.gallery}/api/pictures/${southPicture}`, expect: ALL(404) },
    { route: 'GET /s/:token/api/pictures/:id/:size', url: () => `/s/${tokens.gallery}/api/pictures/${northPicture}/thumb`, expect: ALL(200) },
    { route: 'GET /s/:token/api/pictures/:id/:size', url: () => `/s/${tokens.gallery}/api/pictures/${northPicture}/original`, expect: ALL(403) },
    { route: 'GET /s/:token/api/pictures/:id/:size', url: () => `/s/${tokens.galleryDownload}/api/pictures/${northPicture}/original`, expect: ALL(200) },
    { route: 'GET /s/:token/api/pictures/:id/:size', url: () => `/s/${tokens.picture}/api/pictures/${otherPicture}/preview`, expect: ALL(404) },
    { route: 'GET /s/:token/api/sources/:id/videos', url: () => `/s/${tokens.gallery}/api/sources/north/videos`, expect: ALL(200) },
    { route: 'GET /s/:token/api/sources/:id/videos', url: () => `/s/${tokens.picture}/api/sources/north/videos`, expect: ALL(404) },
    { route: 'GET /s/:token/api/videos/:id/file', url: () => `/s/${tokens.gallery}/api/videos/${videoId}/file`, expect: ALL(200) },
    { route: 'GET /s/:token/api/videos/:id/file', url: () => `/s/${tokens.gallery}/api/videos/${videoId}/file?download=1`, expect: ALL(403) },
    { route: 'GET /s/:token/api/videos/:id/poster', url: () => `/s/${tokens.gallery}/api/videos/${videoId}/poster`, expect: ALL(200) },
    { route: 'GET /s/:token/api/videos/:id/poster', url: () => `/s/${tokens.latest}/api/videos/${videoId}/poster`, expect: ALL(404) },
    { route: 'GET /s/:token/latest.jpg', url: () => `/s/${tokens.latest}/latest.jpg`, expect: ALL(200) },
    { route: 'GET /s/:token/latest.jpg', url: () => `/s/${tokens.gallery}/latest.jpg`, expect: ALL(404) },
  ];

  async function someUser(): Promise<string> {
    const name = fresh('leaving-');
    await services.users.add(name, 'customer', PASSWORD, TEST_ACTOR);
    return name;
  }

  it('declares a rule for every route the app serves, and this table has a row for each', () => {
    const served = walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
    const declared = (app.locals['routes'] as DeclaredRoute[]).map((r) => `${r.method} ${r.path}`);
    expect(served).toEqual(expect.arrayContaining(['GET /healthz', 'GET /public/:source', 'PATCH /api/sources/:id', 'DELETE /api/groups/:name/grants/:source', 'GET /ui/*file']));
    expect(served.length).toBeGreaterThanOrEqual(40);
    // A route registered straight on a router, without a rule, is served but not declared.
    expect(served.filter((r) => !declared.includes(r))).toEqual([]);
    expect(declared.filter((r) => !served.includes(r))).toEqual([]);
    const tested = new Set(rows().map((r) => r.route));
    expect(declared.filter((r) => !tested.has(r))).toEqual([]);
    expect([...tested].filter((r) => !declared.includes(r))).toEqual([]);
  });

  it('answers every route with the status the table gives, for every caller', async () => {
    const wrong: string[] = [];
    for (const row of rows()) {
      const method = row.route.split(' ')[0]!;
      for (const [i, caller] of CALLERS.entries()) {
        const url = typeof row.url === 'function' ? await row.url() : row.url;
        const body = typeof row.body === 'function' ? (row.body as () => unknown)() : row.body;
        const res = await call(caller, method, url, body);
        await res.arrayBuffer();
        if (res.status !== row.expect[i]) wrong.push(`${method} ${url} as ${caller}: ${res.status}, expected ${row.expect[i]}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);
});

describe('the route walk', () => {
  it('finds a route registered without a rule', () => {
    const express = jest.requireActual<typeof import('express')>('express');
    const app = express();
    const api = express.Router();
    api.get('/sneaky/:id', (_req, res) => void res.end());
    app.use('/api', api);
    expect(walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '')).toEqual(['GET /api/sneaky/:id']);
  });
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string;
  slash?: boolean;
}

/** `METHOD /full/path` of every route in an express 5 router stack. */
function walk(stack: Layer[], prefix: string): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      return Object.keys(layer.route.methods)
        .filter((m) => layer.route!.methods[m] && m !== '_all')
        .map((m) => `${m.toUpperCase()} ${prefix}${layer.route!.path}`);
    }
    if (layer.handle?.stack) return walk(layer.handle.stack, layer.slash || layer.rawPath === undefined ? prefix : `${prefix}${layer.rawPath}`);
    return [];
  });
}
