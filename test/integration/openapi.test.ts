/**
 * docs/openapi.yaml against the app (issue 19): the document is valid OpenAPI
 * 3.1; it has exactly the routes the web app declares (`app.locals.routes`), no
 * more, no fewer, each with the access rule the route declares; and real answers
 * of every route match the status, media type and schema it documents.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Express } from 'express';
import { DateTime } from 'luxon';
import type { LoadedConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import type { VideoJobs } from '../../daemon/timelapse/video-jobs.service';
import { StatusService } from '../../daemon/status.service';
import { PublicSwitch } from '../../daemon/settings/public-switch';
import type { TargetStatus } from '../../daemon/sync/sync.service';
import type { StorageStatus } from '../../daemon/storage/retention';
import type { SystemSample } from '../../daemon/health/system-probe';
import type { ActiveAlert } from '../../daemon/health/alerts';
import type { ChannelStatus } from '../../daemon/health/notifier';
import type { ProgressStatus } from '../../daemon/progress/progress.service';
import type { CaptureService, RelayState } from '../../daemon/capture/capture.service';
import { silentLogger } from '../../daemon/logger';
import type { DeclaredRoute } from '../../web/routes';
import { listen, type Listener } from '../../web/server';
import { createControlApp } from '../../daemon/control/server';
import { buildShares } from '../../daemon/compose/stacks';
import type { ShareRequest } from '../../daemon/shares/share.service';
import { tempDir } from '../helpers/env';
import { scene, seedPictures } from '../helpers/videos';
import { accessServices, addUsers, startWebWithEveryPart, TEST_ACTOR, writeYamlConfig } from '../helpers/web';
import {
  accessDifferences,
  documentedOperations,
  loadOpenApi,
  openApiPath,
  OpenApiSchemas,
  pathParameterDifferences,
  routeDifferences,
  validateOpenApiFile,
  walkRoutes,
  type OpenApiDocument,
} from '../helpers/openapi';

const DOC_FILE = path.join(__dirname, '..', '..', 'docs', 'openapi.yaml');
const CONTROL_FILE = path.join(__dirname, '..', '..', 'docs', 'openapi-control.yaml');
const PASSWORD = 'openapi-test-password';
const TZ = 'Europe/Paris';

describe('docs/openapi.yaml', () => {
  let tmp: ReturnType<typeof tempDir>;
  let loaded: LoadedConfig;
  let store: Repositories;
  let jobs: VideoJobs;
  let server: Listener;
  let base: string;
  let app: Express;
  let doc: OpenApiDocument;
  let day: string;
  let pictureId: number;
  let videoId: number;
  let start: number;
  let controlApp: Express;
  let control: Listener;
  let stopCapture: (() => Promise<void>) | undefined;
  /** Share link tokens made before the rows run, and the id of one the director may revoke. */
  let tokens: Record<'gallery' | 'galleryDownload' | 'picture' | 'latest' | 'film' | 'revoked' | 'expired', string>;
  let revocable: number;

  const config = (): Config => loaded.config;
  const declared = (): DeclaredRoute[] => app.locals['routes'] as DeclaredRoute[];

  beforeAll(async () => {
    doc = loadOpenApi(DOC_FILE);
    tmp = tempDir();
    loaded = writeYamlConfig(tmp.dir, TZ, [
      'sources:',
      '  - id: north',
      '    camera: { driver: testpattern, width: 640, height: 360 }',
      '    public: { enabled: true, width: 320, sizes: [160] }',
      '    timelapse: { daily: { width: 160, fps: 25, preset: ultrafast, deflicker: false } }',
    ]);
    store = openRepositories(config().storage.dataDir);
    start = DateTime.fromISO('2026-11-20T10:00', { zone: TZ }).toMillis();
    day = '2026-11-20';
    const pictures = await seedPictures(config(), store, 'north', Array.from({ length: 8 }, (_, i) => start + i * 60_000), (i) => scene(320, 180, 1, i * 4));
    pictureId = pictures[3]!.id;
    await addUsers(store, config, PASSWORD, { viewer: ['customer', { north: 'view' }], director: ['director'], maintainer: ['maintainer'] });
    const services = accessServices(config, store);
    services.access.addGroup('site-team', TEST_ACTOR);
    services.access.addMember('site-team', 'viewer', TEST_ACTOR);
    services.access.grantGroup('site-team', 'north', 'view', TEST_ACTOR);
    store.events.add({ at: start, sourceId: 'north', kind: 'camera-down', message: 'camera "north" is down', since: start - 60_000 });
    store.health.addMinute({
      at: start,
      diskFreeBytes: 5e9,
      diskTotalBytes: 3e10,
      cpuTempC: 51.2,
      load1: 0.4,
      memAvailableBytes: 1e9,
      memTotalBytes: 4e9,
      rssBytes: 9e7,
      netRxBytes: 1000,
      netTxBytes: 2000,
      underVoltage: false,
      throttled: null,
      clockUnsynced: false,
    });

    // GET /api/system with every part a running daemon fills in: the types make these
    // samples follow the code, the document must then describe them.
    const parts = systemParts(start);
    const publicSwitch = new PublicSwitch({ repo: store.publicSwitch, audit: store.audit });
    const status = new StatusService({ config, pictures: store.pictures, state: store.state, live: null, publicSwitch, ...parts });
    let capture: CaptureService;
    ({ server, base, app, capture, jobs, videoId } = await startWebWithEveryPart(config, store, { source: 'north', day, status, settings: { file: () => loaded.file, apply: (next) => void (loaded = next) } }));
    stopCapture = () => capture.stop(1_000);

    // Share links of the director's (one made 8 days ago for 7); the maintainer holds the 200 active links a
    // user may have, for the 409 row (the maintainer makes no other link).
    const director = store.users.findByName('director')!;
    const maintainer = store.users.findByName('maintainer')!;
    const shares = buildShares({ config, store, grantsFor: (user) => services.access.grantsFor(user) });
    const past = buildShares({ config, store, grantsFor: (user) => services.access.grantsFor(user), now: () => Date.now() - 8 * 86_400_000 });
    const directorAct = { actor: 'user:director', user: { id: director.id, username: 'director', profile: 'director' as const } };
    const share = (body: Partial<ShareRequest>, service = shares) => service.create({ source: 'north', scope: 'gallery', expiresIn: '7d', ...body }, { ...directorAct, levelOn: () => 'edit' });
    const revoked = share({ scope: 'latest' });
    shares.revoke(revoked.share.id, directorAct);
    tokens = {
      gallery: share({ from: day, to: day, level: 'view' }).token,
      galleryDownload: share({ from: day, to: day, level: 'download' }).token,
      picture: share({ scope: 'picture', picture: pictureId }).token,
      latest: share({ scope: 'latest' }).token,
      film: share({ scope: 'video', video: videoId, level: 'download' }).token,
      revoked: revoked.token,
      expired: share({}, past).token,
    };
    revocable = share({ scope: 'latest', label: 'to revoke' }).share.id;
    for (let i = 0; i < 200; i++) {
      shares.create({ source: 'north', scope: 'latest', expiresIn: '1d' }, { actor: 'user:maintainer', user: { id: maintainer.id, username: 'maintainer', profile: 'maintainer' }, levelOn: () => 'manage' });
    }

    const log = silentLogger();
    const sync = { status: parts.sync.status, sendNow: async () => [{ target: 'central', sent: 0, alreadyThere: 0, failed: 0, pending: 4, error: null }] };
    controlApp = createControlApp({ config, status, capture, videoJobs: jobs, sync, publicSwitch, log, startedAt: Date.now() });
    control = await listen(controlApp, { host: '127.0.0.1', port: 0 });
  }, 120_000);

  afterAll(async () => {
    await jobs?.stop();
    await stopCapture?.();
    await server?.close();
    await control?.close();
    store?.close();
    tmp?.cleanup();
  });

  it('is valid OpenAPI 3.1 (the OpenAPI Initiative schema, every $ref resolves)', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(validateOpenApiFile(DOC_FILE)).toEqual({ version: '3.1', valid: true });
  });

  it('has schemas that compile as strict JSON Schema 2020-12, and unique operation ids', () => {
    expect(new OpenApiSchemas(doc).compileAll()).toBeGreaterThan(100);
    const ids = documentedOperations(doc).map((o) => o.operation.operationId);
    expect(ids.filter((id) => id === undefined)).toEqual([]);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('documents exactly the routes the app declares', () => {
    expect(declared().length).toBeGreaterThanOrEqual(40);
    expect(routeDifferences(declared(), doc)).toEqual([]);
  });

  it("gives each route the rule it declares, and needs no login exactly on the 'anyone' and 'share' routes", () => {
    expect(accessDifferences(declared(), doc)).toEqual([]);
    const byKey = new Map(documentedOperations(doc).map((o) => [o.key, o]));
    const wrong = declared().flatMap((r) => {
      const o = byKey.get(`${r.method} ${openApiPath(r.path)}`);
      const open = o !== undefined && o.security.length === 0;
      // Share link routes need no login either: the token is the key.
      return o && open !== (r.rule.kind === 'anyone' || r.rule.kind === 'share') ? [`${o.key}: security ${JSON.stringify(o.security)} for rule ${r.rule.kind}`] : [];
    });
    expect(wrong).toEqual([]);
  });

  it('declares every path parameter, and documents the errors each rule implies', () => {
    expect(pathParameterDifferences(doc)).toEqual([]);
    const missing = declared().flatMap((r) => {
      const o = documentedOperations(doc).find((d) => d.key === `${r.method} ${openApiPath(r.path)}`);
      if (!o) return [];
      const expected: string[] = [];
      if (r.rule.kind !== 'anyone' && r.rule.kind !== 'share') expected.push('401', '429', '503'); // login, throttled, password checks busy
      if (r.rule.kind === 'share') expected.push('404', '410', '429'); // unknown token or outside the link, revoked or expired, tokens guessed
      if (r.rule.kind === 'profile') expected.push('403');
      if (r.rule.kind === 'source' || r.rule.kind === 'object') expected.push('404');
      if (r.rule.kind === 'source' && r.rule.level !== 'view') expected.push('403');
      // Bad JSON, the Origin check, too large, not JSON.
      if (r.path.startsWith('/api/') && r.method !== 'GET') expected.push('400', '403', '413', '415');
      return expected.filter((s) => !(s in o.operation.responses)).map((s) => `${o.key}: no ${s}`);
    });
    expect(missing).toEqual([]);
  });

  it('fails on a route missing from the document, an invented one, and a wrong rule, naming each', () => {
    const copy = structuredClone(doc);
    delete copy.paths['/api/audit'];
    copy.paths['/api/invented/{thing}'] = { get: { responses: { '200': { description: 'nothing' } } } };
    copy.paths['/api/system']!.get!['x-lapsebox-access'] = { kind: 'user' };
    expect(routeDifferences(declared(), copy)).toEqual(['served but not documented: GET /api/audit', 'documented but not served: GET /api/invented/{thing}']);
    expect(accessDifferences(declared(), copy)).toEqual(['GET /api/system: declared {"kind":"profile","profiles":["maintainer","director"]}, documented x-lapsebox-access {"kind":"user"}']);
    // And the validator refuses a document that breaks the OpenAPI schema.
    const broken = path.join(tmp.dir, 'broken.yaml');
    delete (copy.paths['/healthz']!.get!.responses['200'] as { description?: string }).description;
    fs.writeFileSync(broken, JSON.stringify(copy));
    expect(validateOpenApiFile(broken).valid).toBe(false);
  });

  it('matches real answers of every route: status, media type and JSON schema', async () => {
    const operations = new Map(documentedOperations(doc).map((o) => [o.key, o]));
    const schemas = new OpenApiSchemas(doc);
    const problems: string[] = [];
    const seen = new Set<string>();
    const big = { name: 'x'.repeat(70_000) };
    const rows: Row[] = [
      { op: 'GET /healthz', url: '/healthz', as: null, status: 200 },
      { op: 'GET /public/{source}/latest.jpg', url: '/public/north/latest.jpg', as: null, status: 200 },
      { op: 'GET /public/{source}/latest.jpg', url: '/public/north/latest.jpg', as: null, status: 206, headers: { range: 'bytes=0-99' } },
      { op: 'GET /public/{source}/latest.jpg', url: '/public/nowhere/latest.jpg', as: null, status: 404 },
      { op: 'GET /public/{source}/latest-{width}.jpg', url: '/public/north/latest-160.jpg', as: null, status: 200 },
      { op: 'GET /public/{source}/latest-{width}.jpg', url: '/public/north/latest-161.jpg', as: null, status: 404 },
      { op: 'GET /public/{source}', url: '/public/north', as: null, status: 200 },
      { op: 'GET /', url: '/', status: 200 },
      { op: 'GET /', url: '/', as: null, status: 401 },
      { op: 'GET /ui/{file}', url: '/ui/app.js', status: 200 },
      { op: 'GET /ui/{file}', url: '/ui/style.css', status: 200 },
      { op: 'GET /ui/{file}', url: '/ui/nothing.js', status: 404 },
      { op: 'GET /metrics', url: '/metrics', status: 200 },
      { op: 'GET /metrics', url: '/metrics', as: 'director', status: 403 },
      { op: 'GET /api/me', url: '/api/me', status: 200 },
      { op: 'GET /api/me', url: '/api/me', as: 'viewer', status: 200 },
      { op: 'GET /api/me', url: '/api/me', as: null, status: 401 },
      { op: 'PUT /api/me/language', url: '/api/me/language', method: 'PUT', body: { language: 'de' }, as: 'viewer', status: 400 },
      { op: 'PUT /api/me/language', url: '/api/me/language', method: 'PUT', body: { language: 'fr' }, as: 'viewer', status: 200 },
      { op: 'PUT /api/me/language', url: '/api/me/language', method: 'PUT', body: { language: null }, as: 'viewer', status: 200 },
      { op: 'GET /api/system', url: '/api/system', status: 200 },
      { op: 'GET /api/system', url: '/api/system', as: 'viewer', status: 403 },
      { op: 'GET /api/system/history', url: `/api/system/history?resolution=minute&from=${iso(start - 3_600_000)}&to=${iso(start + 3_600_000)}`, status: 200 },
      { op: 'GET /api/system/history', url: '/api/system/history?resolution=second', status: 400 },
      { op: 'GET /api/events', url: '/api/events?limit=5', status: 200 },
      { op: 'GET /api/sources', url: '/api/sources', status: 200 },
      { op: 'GET /api/sources', url: '/api/sources', as: 'viewer', status: 200 },
      { op: 'GET /api/sources/{id}', url: '/api/sources/north', status: 200 },
      { op: 'GET /api/sources/{id}', url: '/api/sources/nowhere', status: 404 },
      { op: 'GET /api/sources/{id}/settings', url: '/api/sources/north/settings', as: 'director', status: 200 },
      { op: 'GET /api/sources/{id}/settings', url: '/api/sources/north/settings', as: 'viewer', status: 403 },
      { op: 'PATCH /api/sources/{id}', url: '/api/sources/north', method: 'PATCH', body: { name: 'North tower' }, status: 200 },
      { op: 'PATCH /api/sources/{id}', url: '/api/sources/north', method: 'PATCH', body: { schedule: { every: 'often' } }, status: 400 },
      { op: 'PATCH /api/sources/{id}', url: '/api/sources/north', method: 'PATCH', body: { retention: { maxAgeDays: 3 } }, as: 'director', status: 403 },
      { op: 'PATCH /api/sources/{id}', url: '/api/sources/north', method: 'PATCH', body: big, status: 413 },
      { op: 'PATCH /api/sources/{id}', url: '/api/sources/north', method: 'PATCH', raw: 'name=x', status: 415 },
      { op: 'POST /api/sources/{id}/capture', url: '/api/sources/north/capture', method: 'POST', status: 201 },
      { op: 'POST /api/sources/{id}/preview', url: '/api/sources/north/preview', method: 'POST', body: { image: { rotate: 90, legend: { text: 'preview' } } }, status: 200 },
      { op: 'POST /api/sources/{id}/preview', url: '/api/sources/north/preview', method: 'POST', body: { image: { rotate: 45 } }, status: 400 },
      { op: 'POST /api/sources/{id}/preview', url: '/api/sources/north/preview', method: 'POST', body: { retention: { maxAgeDays: 3 } }, as: 'director', status: 403 },
      { op: 'POST /api/sources/{id}/slots', url: '/api/sources/north/slots', method: 'POST', body: { every: ['10s', '5m'], windows: [{ days: ['mon'], from: '07:00', to: '19:00' }] }, status: 200 },
      { op: 'POST /api/sources/{id}/slots', url: '/api/sources/north/slots', method: 'POST', body: { every: ['often'] }, status: 400 },
      { op: 'GET /api/sources/{id}/progress', url: '/api/sources/north/progress', as: 'director', status: 200 },
      { op: 'GET /api/sources/{id}/progress', url: '/api/sources/north/progress', as: 'viewer', status: 403 },
      // North has no progress section here; a sent e-mail's answer is checked against the schema in progress-email.test.ts.
      { op: 'POST /api/sources/{id}/progress/send', url: '/api/sources/north/progress/send', method: 'POST', as: 'director', status: 409 },
      { op: 'POST /api/sources/{id}/capture', url: '/api/sources/north/capture', method: 'POST', status: 201, headers: { accept: 'image/jpeg' } },
      { op: 'GET /api/sources/{id}/days', url: '/api/sources/north/days', status: 200 },
      { op: 'GET /api/sources/{id}/coverage', url: '/api/sources/north/coverage', status: 200 },
      { op: 'GET /api/sources/{id}/coverage', url: `/api/sources/north/coverage?from=${day}&to=${day}`, as: 'viewer', status: 200 },
      { op: 'GET /api/sources/{id}/coverage', url: '/api/sources/north/coverage?month=2026-13', status: 400 },
      { op: 'GET /api/sources/{id}/exposure', url: '/api/sources/north/exposure', status: 200 },
      { op: 'GET /api/sources/{id}/exposure', url: `/api/sources/north/exposure?date=${day}`, status: 200 },
      { op: 'GET /api/sources/{id}/exposure', url: '/api/sources/north/exposure?date=2026-02-30', status: 400 },
      { op: 'GET /api/sources/{id}/exposure', url: '/api/sources/north/exposure', as: 'viewer', status: 403 },
      { op: 'GET /api/sources/{id}/pictures', url: `/api/sources/north/pictures?date=${day}&limit=3`, status: 200 },
      { op: 'GET /api/sources/{id}/pictures', url: `/api/sources/north/pictures?at=${iso(start + 150_000)}`, as: 'viewer', status: 200 },
      { op: 'GET /api/sources/{id}/pictures', url: '/api/sources/north/pictures?limit=0', status: 400 },
      { op: 'GET /api/sources/{id}/days/{date}/zip', url: `/api/sources/north/days/${day}/zip`, status: 200 },
      { op: 'GET /api/sources/{id}/days/{date}/zip', url: `/api/sources/north/days/${day}/zip`, as: 'viewer', status: 403 },
      { op: 'GET /api/pictures/{id}', url: () => `/api/pictures/${pictureId}`, status: 200 },
      { op: 'GET /api/pictures/{id}/{size}', url: () => `/api/pictures/${pictureId}/thumb`, status: 200 },
      { op: 'GET /api/pictures/{id}/{size}', url: () => `/api/pictures/${pictureId}/original?download=1`, status: 200 },
      { op: 'GET /api/pictures/{id}/{size}', url: () => `/api/pictures/${pictureId}/huge`, status: 400 },
      { op: 'GET /api/pictures/{id}/{size}', url: () => `/api/pictures/${pictureId}/original`, as: 'viewer', status: 403 },
      { op: 'GET /api/sources/{id}/videos', url: '/api/sources/north/videos?kind=custom', status: 200 },
      { op: 'GET /api/sources/{id}/videos', url: '/api/sources/north/videos?kind=yearly', status: 400 },
      { op: 'POST /api/sources/{id}/videos', url: '/api/sources/north/videos', method: 'POST', body: { from: day, to: day, width: 160, weekdays: ['fri'] }, as: 'director', status: 202 },
      { op: 'POST /api/sources/{id}/videos', url: '/api/sources/north/videos', method: 'POST', body: { from: day, fps: 0 }, status: 400 },
      { op: 'GET /api/videos/{id}', url: () => `/api/videos/${videoId}`, as: 'viewer', status: 200 },
      { op: 'GET /api/videos/{id}/file', url: () => `/api/videos/${videoId}/file`, as: 'viewer', status: 200 },
      { op: 'GET /api/videos/{id}/file', url: () => `/api/videos/${videoId}/file`, as: 'viewer', status: 206, headers: { range: 'bytes=0-99' } },
      { op: 'GET /api/videos/{id}/file', url: () => `/api/videos/${videoId}/file?download=1`, as: 'viewer', status: 403 },
      { op: 'GET /api/videos/{id}/file', url: () => `/api/videos/${videoId}/file?rendition=phone`, as: 'viewer', status: 200 },
      { op: 'GET /api/videos/{id}/file', url: () => `/api/videos/${videoId}/file?rendition=tablet`, as: 'viewer', status: 400 },
      { op: 'GET /api/videos/{id}/poster', url: () => `/api/videos/${videoId}/poster`, as: 'viewer', status: 200 },
      { op: 'GET /api/jobs', url: '/api/jobs', status: 200 },
      { op: 'GET /api/jobs/{id}', url: () => `/api/jobs/${directorJob()}`, as: 'director', status: 200 },
      { op: 'GET /api/jobs/{id}', url: () => `/api/jobs/${directorJob()}`, as: 'viewer', status: 404 },
      { op: 'DELETE /api/jobs/{id}', url: () => `/api/jobs/${directorJob()}`, method: 'DELETE', as: 'director', status: [200, 409] },
      { op: 'DELETE /api/jobs/{id}', url: () => `/api/jobs/${directorJob()}`, method: 'DELETE', as: 'director', status: 409 },
      { op: 'GET /api/users', url: '/api/users', status: 200 },
      { op: 'POST /api/users', url: '/api/users', method: 'POST', body: { username: 'newcomer', profile: 'customer', email: 'newcomer@example.com' }, status: 201 },
      { op: 'POST /api/users', url: '/api/users', method: 'POST', body: { username: 'bad-address', profile: 'customer', email: 'not an address' }, status: 400 },
      { op: 'POST /api/users', url: '/api/users', method: 'POST', body: { username: 'newcomer', profile: 'customer' }, status: 409 },
      { op: 'POST /api/users', url: '/api/users', method: 'POST', body: { username: 'someone', profile: 'customer' }, headers: { origin: 'https://elsewhere.example' }, status: 403 },
      { op: 'GET /api/users/{name}', url: '/api/users/newcomer', status: 200 },
      { op: 'PATCH /api/users/{name}', url: '/api/users/newcomer', method: 'PATCH', body: { password: 'a-new-long-password' }, status: 200 },
      { op: 'PATCH /api/users/{name}', url: '/api/users/newcomer', method: 'PATCH', body: { email: null }, status: 200 },
      { op: 'PUT /api/users/{name}/grants/{source}', url: '/api/users/newcomer/grants/north', method: 'PUT', body: { level: 'download' }, status: 200 },
      { op: 'DELETE /api/users/{name}/grants/{source}', url: '/api/users/newcomer/grants/north', method: 'DELETE', status: 200 },
      { op: 'DELETE /api/users/{name}', url: '/api/users/newcomer', method: 'DELETE', status: 204 },
      { op: 'GET /api/groups', url: '/api/groups', status: 200 },
      { op: 'POST /api/groups', url: '/api/groups', method: 'POST', body: { name: 'crew' }, status: 201 },
      { op: 'GET /api/groups/{name}', url: '/api/groups/crew', status: 200 },
      { op: 'PUT /api/groups/{name}/members/{user}', url: '/api/groups/crew/members/viewer', method: 'PUT', status: 200 },
      { op: 'DELETE /api/groups/{name}/members/{user}', url: '/api/groups/crew/members/viewer', method: 'DELETE', status: 200 },
      { op: 'PUT /api/groups/{name}/grants/{source}', url: '/api/groups/crew/grants/north', method: 'PUT', body: { level: 'view' }, status: 200 },
      { op: 'DELETE /api/groups/{name}/grants/{source}', url: '/api/groups/crew/grants/north', method: 'DELETE', status: 200 },
      { op: 'DELETE /api/groups/{name}', url: '/api/groups/crew', method: 'DELETE', status: 204 },
      { op: 'GET /api/audit', url: '/api/audit?limit=2', status: 200 },
      // Share links: made, listed and revoked by their makers; what a link opens to anyone holding it.
      { op: 'POST /api/shares', url: '/api/shares', method: 'POST', body: { source: 'north', scope: 'gallery', from: day, to: day, expiresIn: '7d', label: 'Client' }, as: 'director', status: 201 },
      { op: 'POST /api/shares', url: '/api/shares', method: 'POST', body: { source: 'north', scope: 'compare', pictures: [pictureId, pictureId + 1], level: 'download', expiresIn: '1d' }, as: 'director', status: 201 },
      { op: 'POST /api/shares', url: '/api/shares', method: 'POST', body: { source: 'north', scope: 'everything', expiresIn: '91d' }, as: 'director', status: 400 },
      { op: 'POST /api/shares', url: '/api/shares', method: 'POST', body: { source: 'north', scope: 'latest', expiresIn: '1d' }, as: 'viewer', status: 403 },
      { op: 'POST /api/shares', url: '/api/shares', method: 'POST', body: { source: 'nowhere', scope: 'latest', expiresIn: '1d' }, as: 'director', status: 404 },
      { op: 'POST /api/shares', url: '/api/shares', method: 'POST', body: { source: 'north', scope: 'latest', expiresIn: '1d' }, status: 409 },
      { op: 'POST /api/shares', url: '/api/shares', method: 'POST', body: { source: 'north', scope: 'latest', expiresIn: '1d' }, as: null, status: 401 },
      { op: 'GET /api/shares', url: '/api/shares', as: 'director', status: 200 },
      { op: 'GET /api/shares', url: '/api/shares?source=north', status: 200 },
      { op: 'GET /api/shares', url: '/api/shares', as: 'viewer', status: 200 },
      { op: 'GET /api/shares', url: '/api/shares?source=north&source=north', as: 'director', status: 400 },
      { op: 'GET /api/shares', url: '/api/shares?source=nowhere', as: 'director', status: 404 },
      { op: 'DELETE /api/shares/{id}', url: () => `/api/shares/${revocable}`, method: 'DELETE', as: 'viewer', status: 404 },
      { op: 'DELETE /api/shares/{id}', url: () => `/api/shares/${revocable}`, method: 'DELETE', as: 'director', status: 200 },
      { op: 'DELETE /api/shares/{id}', url: () => `/api/shares/${revocable}`, method: 'DELETE', as: 'director', status: 200 },
      { op: 'DELETE /api/shares/{id}', url: '/api/shares/999999', method: 'DELETE', as: 'director', status: 404 },
      { op: 'GET /s/{token}', url: () => `/s/${tokens.gallery}`, as: null, status: 200 },
      { op: 'GET /s/{token}', url: () => `/s/${tokens.revoked}`, as: null, status: 410 },
      { op: 'GET /s/{token}', url: () => `/s/${tokens.expired}`, as: null, status: 410 },
      { op: 'GET /s/{token}', url: `/s/${'A'.repeat(32)}`, as: null, status: 404 },
      { op: 'GET /s/{token}/ui/{file}', url: () => `/s/${tokens.latest}/ui/app.js`, as: null, status: 200 },
      { op: 'GET /s/{token}/ui/{file}', url: () => `/s/${tokens.latest}/ui/style.css`, as: null, status: 200 },
      { op: 'GET /s/{token}/ui/{file}', url: () => `/s/${tokens.latest}/ui/nothing.js`, as: null, status: 404 },
      { op: 'GET /s/{token}/ui/{file}', url: () => `/s/${tokens.revoked}/ui/app.js`, as: null, status: 410 },
      { op: 'GET /s/{token}/api/me', url: () => `/s/${tokens.gallery}/api/me`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/me', url: () => `/s/${tokens.picture}/api/me`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/me', url: () => `/s/${tokens.expired}/api/me`, as: null, status: 410 },
      { op: 'GET /s/{token}/api/me', url: `/s/${'B'.repeat(32)}/api/me`, as: null, status: 404 },
      { op: 'GET /s/{token}/api/sources/{id}', url: () => `/s/${tokens.gallery}/api/sources/north`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/sources/{id}', url: () => `/s/${tokens.latest}/api/sources/north`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/sources/{id}', url: () => `/s/${tokens.picture}/api/sources/north`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/sources/{id}', url: () => `/s/${tokens.gallery}/api/sources/nowhere`, as: null, status: 404 },
      { op: 'GET /s/{token}/api/sources/{id}/days', url: () => `/s/${tokens.gallery}/api/sources/north/days`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/sources/{id}/days', url: () => `/s/${tokens.picture}/api/sources/north/days`, as: null, status: 404 },
      { op: 'GET /s/{token}/api/sources/{id}/days', url: () => `/s/${tokens.revoked}/api/sources/north/days`, as: null, status: 410 },
      { op: 'GET /s/{token}/api/sources/{id}/pictures', url: () => `/s/${tokens.gallery}/api/sources/north/pictures?date=${day}`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/sources/{id}/pictures', url: () => `/s/${tokens.galleryDownload}/api/sources/north/pictures?date=${day}`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/sources/{id}/pictures', url: () => `/s/${tokens.gallery}/api/sources/north/pictures`, as: null, status: 400 },
      { op: 'GET /s/{token}/api/sources/{id}/pictures', url: () => `/s/${tokens.gallery}/api/sources/north/pictures?date=${day}&cursor=next`, as: null, status: 400 },
      { op: 'GET /s/{token}/api/sources/{id}/pictures', url: () => `/s/${tokens.gallery}/api/sources/north/pictures?date=2026-11-19`, as: null, status: 404 },
      { op: 'GET /s/{token}/api/sources/{id}/days/{date}/zip', url: () => `/s/${tokens.galleryDownload}/api/sources/north/days/${day}/zip`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/sources/{id}/days/{date}/zip', url: () => `/s/${tokens.gallery}/api/sources/north/days/${day}/zip`, as: null, status: 403 },
      { op: 'GET /s/{token}/api/sources/{id}/days/{date}/zip', url: () => `/s/${tokens.galleryDownload}/api/sources/north/days/2026-13-01/zip`, as: null, status: 400 },
      { op: 'GET /s/{token}/api/sources/{id}/days/{date}/zip', url: () => `/s/${tokens.galleryDownload}/api/sources/north/days/2026-11-19/zip`, as: null, status: 404 },
      { op: 'GET /s/{token}/api/pictures/{id}', url: () => `/s/${tokens.gallery}/api/pictures/${pictureId}`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/pictures/{id}', url: () => `/s/${tokens.picture}/api/pictures/${pictureId}`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/pictures/{id}', url: () => `/s/${tokens.picture}/api/pictures/${pictureId + 1}`, as: null, status: 404 },
      { op: 'GET /s/{token}/api/pictures/{id}', url: () => `/s/${tokens.latest}/api/pictures/${pictureId}`, as: null, status: 404 },
      { op: 'GET /s/{token}/api/pictures/{id}/{size}', url: () => `/s/${tokens.gallery}/api/pictures/${pictureId}/thumb`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/pictures/{id}/{size}', url: () => `/s/${tokens.picture}/api/pictures/${pictureId}/preview`, as: null, status: 206, headers: { range: 'bytes=0-99' } },
      { op: 'GET /s/{token}/api/pictures/{id}/{size}', url: () => `/s/${tokens.galleryDownload}/api/pictures/${pictureId}/original?download=1`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/pictures/{id}/{size}', url: () => `/s/${tokens.gallery}/api/pictures/${pictureId}/original`, as: null, status: 403 },
      { op: 'GET /s/{token}/api/pictures/{id}/{size}', url: () => `/s/${tokens.gallery}/api/pictures/${pictureId}/huge`, as: null, status: 400 },
      { op: 'GET /s/{token}/api/pictures/{id}/{size}', url: () => `/s/${tokens.picture}/api/pictures/${pictureId + 1}/thumb`, as: null, status: 404 },
      { op: 'GET /s/{token}/api/pictures/{id}/{size}', url: () => `/s/${tokens.revoked}/api/pictures/${pictureId}/thumb`, as: null, status: 410 },
      { op: 'GET /s/{token}/api/pictures/{id}/{size}', url: () => `/s/${tokens.gallery}/api/pictures/${pictureId}/thumb`, as: null, status: 416, headers: { range: 'bytes=999999999-' } },
      { op: 'GET /s/{token}/api/sources/{id}/videos', url: () => `/s/${tokens.gallery}/api/sources/north/videos`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/sources/{id}/videos', url: () => `/s/${tokens.film}/api/sources/north/videos`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/sources/{id}/videos', url: () => `/s/${tokens.picture}/api/sources/north/videos`, as: null, status: 404 },
      { op: 'GET /s/{token}/api/videos/{id}/file', url: () => `/s/${tokens.gallery}/api/videos/${videoId}/file`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/videos/{id}/file', url: () => `/s/${tokens.film}/api/videos/${videoId}/file`, as: null, status: 206, headers: { range: 'bytes=0-99' } },
      { op: 'GET /s/{token}/api/videos/{id}/file', url: () => `/s/${tokens.film}/api/videos/${videoId}/file?download=1`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/videos/{id}/file', url: () => `/s/${tokens.gallery}/api/videos/${videoId}/file?download=1`, as: null, status: 403 },
      { op: 'GET /s/{token}/api/videos/{id}/file', url: () => `/s/${tokens.latest}/api/videos/${videoId}/file`, as: null, status: 404 },
      { op: 'GET /s/{token}/api/videos/{id}/file', url: () => `/s/${tokens.film}/api/videos/${videoId}/file?rendition=phone`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/videos/{id}/file', url: () => `/s/${tokens.film}/api/videos/${videoId}/file?rendition=x`, as: null, status: 400 },
      { op: 'GET /s/{token}/api/videos/{id}/poster', url: () => `/s/${tokens.film}/api/videos/${videoId}/poster`, as: null, status: 200 },
      { op: 'GET /s/{token}/api/videos/{id}/poster', url: () => `/s/${tokens.expired}/api/videos/${videoId}/poster`, as: null, status: 410 },
      { op: 'GET /s/{token}/latest.jpg', url: () => `/s/${tokens.latest}/latest.jpg`, as: null, status: 200 },
      { op: 'GET /s/{token}/latest.jpg', url: () => `/s/${tokens.latest}/latest.jpg`, as: null, status: 206, headers: { range: 'bytes=0-99' } },
      { op: 'GET /s/{token}/latest.jpg', url: () => `/s/${tokens.gallery}/latest.jpg`, as: null, status: 404 },
      { op: 'GET /s/{token}/latest.jpg', url: () => `/s/${tokens.revoked}/latest.jpg`, as: null, status: 410 },
      // The box-wide public switch: off, the public routes answer 404 (JSON for the picture, HTML for the page); on again.
      { op: 'GET /api/public', url: '/api/public', as: 'director', status: 200 },
      { op: 'GET /api/public', url: '/api/public', as: 'viewer', status: 403 },
      { op: 'PUT /api/public', url: '/api/public', method: 'PUT', body: { enabled: 'off' }, status: 400 },
      { op: 'PUT /api/public', url: '/api/public', method: 'PUT', body: { enabled: false }, as: 'director', status: 200 },
      { op: 'GET /api/system', url: '/api/system', status: 200 },
      { op: 'GET /public/{source}/latest.jpg', url: '/public/north/latest.jpg', as: null, status: 404 },
      { op: 'GET /public/{source}', url: '/public/north', as: null, status: 404 },
      { op: 'PUT /api/public', url: '/api/public', method: 'PUT', body: { enabled: true }, status: 200 },
      { op: 'GET /public/{source}', url: '/public/north', as: null, status: 200 },
    ];
    let helperJob: number | null = null;
    const directorJob = () => helperJob!;

    for (const row of rows) {
      if (row.op.includes('/api/jobs/{id}') && helperJob === null) {
        // A queued job of the director's, for the job rows (the first DELETE may find it already done).
        helperJob = jobs.submitCustom('north', { from: day, to: day, width: 160 }, 'director').id;
      }
      const operation = operations.get(row.op);
      if (!operation) {
        problems.push(`${row.op}: not in the document`);
        continue;
      }
      seen.add(row.op);
      const url = typeof row.url === 'function' ? row.url() : row.url;
      const res = await call(row, url);
      const expected = Array.isArray(row.status) ? row.status : [row.status];
      if (!expected.includes(res.status)) problems.push(`${row.op} (${url}): ${res.status}, expected ${expected.join(' or ')}`);
      const type = res.headers.get('content-type');
      const text = Buffer.from(await res.arrayBuffer());
      const body = type?.startsWith('application/json') ? (JSON.parse(text.toString('utf8')) as unknown) : text;
      problems.push(...schemas.problems(operation, res.status, res.status === 204 || res.status === 304 ? null : type, body).map((p) => `${p} (${url})`));
    }
    // Every documented operation was called at least once.
    expect([...operations.keys()].filter((k) => !seen.has(k))).toEqual([]);
    expect(problems).toEqual([]);
  }, 120_000);

  // sendCachedFile (web/http-cache.ts) sets the file's Content-Type before it knows the range
  // starts past the end; the JSON error of a 416 went out labelled video/mp4 or image/jpeg.
  it('labels the JSON error of a Range past the end as JSON', async () => {
    const operations = new Map(documentedOperations(doc).map((o) => [o.key, o]));
    const schemas = new OpenApiSchemas(doc);
    const problems: string[] = [];
    for (const [op, url] of [
      ['GET /api/videos/{id}/file', `/api/videos/${videoId}/file`],
      ['GET /api/pictures/{id}/{size}', `/api/pictures/${pictureId}/thumb`],
    ] as const) {
      const res = await call({ op, url, status: 416, headers: { range: 'bytes=999999999-' } }, url);
      const text = await res.text();
      expect(res.status).toBe(416);
      problems.push(...schemas.problems(operations.get(op)!, res.status, res.headers.get('content-type'), JSON.parse(text) as unknown));
    }
    expect(problems).toEqual([]);
  });

  describe('the control socket (docs/openapi-control.yaml)', () => {
    it('is valid OpenAPI 3.1 and documents exactly the routes the control app serves', () => {
      const controlDoc = loadOpenApi(CONTROL_FILE);
      expect(validateOpenApiFile(CONTROL_FILE)).toEqual({ version: '3.1', valid: true });
      new OpenApiSchemas(controlDoc).compileAll();
      const served = walkRoutes(controlApp);
      expect(served.length).toBeGreaterThanOrEqual(8);
      expect(routeDifferences(served, controlDoc)).toEqual([]);
      expect(pathParameterDifferences(controlDoc)).toEqual([]);
    });

    it('matches real answers, and the shapes shared with the web API match its schemas', async () => {
      const controlDoc = loadOpenApi(CONTROL_FILE);
      const operations = new Map(documentedOperations(controlDoc).map((o) => [o.key, o]));
      const own = new OpenApiSchemas(controlDoc);
      const web = new OpenApiSchemas(doc);
      const problems: string[] = [];
      const ask = async (op: string, url: string, expected: number[], body?: unknown): Promise<Record<string, unknown>> => {
        const method = op.split(' ')[0]!;
        const res = await fetch(`http://${control.address}${url}`, {
          method,
          ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
        });
        const json = (await res.json()) as Record<string, unknown>;
        if (!expected.includes(res.status)) problems.push(`${op} (${url}): ${res.status}, expected ${expected.join(' or ')}: ${JSON.stringify(json).slice(0, 200)}`);
        problems.push(...own.problems(operations.get(op)!, res.status, res.headers.get('content-type'), json));
        return json;
      };
      const status = await ask('GET /status', '/status', [200]);
      const { daemon: _daemon, sources, ...system } = status;
      problems.push(...web.problemsOf('SystemStatus', system, '/status'));
      for (const s of sources as object[]) problems.push(...web.problemsOf('Source', { ...s, level: 'manage', latest: null, summary: { firstDay: null, days: 0, pictures: 0, latestFilm: null } }, '/status sources'));
      for (const t of (await ask('GET /sync', '/sync', [200]))['targets'] as unknown[]) problems.push(...web.problemsOf('SyncTarget', t, '/sync'));
      for (const t of (await ask('POST /sync/run', '/sync/run', [200], {}))['targets'] as unknown[]) problems.push(...web.problemsOf('SyncTarget', t, '/sync/run'));
      await ask('POST /sync/run', '/sync/run', [404], { target: 'elsewhere' });
      await ask('GET /cameras', '/cameras', [200]);
      problems.push(...web.problemsOf('PublicSwitch', await ask('GET /public', '/public', [200]), '/public'));
      const { changed, ...switched } = await ask('PUT /public', '/public', [200], { enabled: false, actor: 'cli:tester' });
      problems.push(...web.problemsOf('PublicSwitch', switched, 'PUT /public'));
      expect([changed, switched['enabled'], switched['changedBy']]).toEqual([true, false, 'cli:tester']);
      await ask('PUT /public', '/public', [200], { enabled: true, actor: 'cli:tester' });
      await ask('PUT /public', '/public', [400], { enabled: true, actor: 'user:somebody' });
      const captured = await ask('POST /sources/{id}/capture', '/sources/north/capture', [201]);
      const { path: _path, ...picture } = captured['picture'] as Record<string, unknown>;
      problems.push(...web.problemsOf('Picture', { ...picture, urls: { thumb: '', small: '', preview: '' } }, 'capture picture'));
      await ask('POST /sources/{id}/capture', '/sources/nowhere/capture', [404]);
      const queued = await ask('POST /sources/{id}/videos', '/sources/north/videos', [202], { from: day, to: day, width: 160 });
      const job = queued['job'] as { id: number };
      problems.push(...web.problemsOf('VideoJob', job, 'queued job'));
      problems.push(...web.problemsOf('VideoJob', (await ask('GET /jobs/{id}', `/jobs/${job.id}`, [200]))['job'], 'job'));
      await ask('GET /jobs/{id}', '/jobs/999999', [404]);
      // Cancelled, or 409 when it already ended.
      const cancelled = await ask('DELETE /jobs/{id}', `/jobs/${job.id}`, [200, 409]);
      if (cancelled['job']) problems.push(...web.problemsOf('VideoJob', cancelled['job'], 'cancelled job'));
      await ask('DELETE /jobs/{id}', `/jobs/${job.id}`, [409]);
      expect(problems).toEqual([]);
    }, 120_000);
  });

  function call(row: Row, url: string) {
    const as = row.as === undefined ? 'maintainer' : row.as;
    const method = row.method ?? 'GET';
    const headers: Record<string, string> = { ...(as ? { authorization: `Basic ${Buffer.from(`${as}:${PASSWORD}`).toString('base64')}` } : {}), ...(row.headers ?? {}) };
    if (method !== 'GET') headers['content-type'] ??= row.raw !== undefined ? 'application/x-www-form-urlencoded' : 'application/json';
    const body = row.raw ?? (row.body !== undefined ? JSON.stringify(row.body) : undefined);
    return fetch(`${base}${url}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  }
});

interface Row {
  /** The documented operation: `GET /api/sources/{id}`. */
  op: string;
  url: string | (() => string);
  method?: string;
  /** The caller; maintainer by default, null for no credentials. */
  as?: 'viewer' | 'director' | 'maintainer' | null;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  status: number | number[];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** What a running daemon adds to GET /api/system, typed by the code's own interfaces. */
function systemParts(at: number) {
  const when = iso(at);
  const sample: SystemSample = {
    at,
    disk: { path: '/var/lib/lapsebox', totalBytes: 3e10, freeBytes: 5e9, freePercent: 16.7 },
    cpuTempC: 52.1,
    load: [0.5, 0.4, 0.3],
    cpus: 4,
    memory: { totalBytes: 4e9, availableBytes: 1e9, processRssBytes: 9e7 },
    uptimeSeconds: 86_400,
    processUptimeSeconds: 3_600,
    network: [{ iface: 'eth0', rxBytes: 1e6, txBytes: 2e6, up: true }],
    power: { raw: 0x50005, underVoltage: true, frequencyCapped: false, throttled: true, softTempLimit: false, underVoltageOccurred: true, frequencyCappedOccurred: false, throttledOccurred: true, softTempLimitOccurred: false },
    clock: { synchronized: true, via: 'timedatectl' },
  };
  const storage: StorageStatus = {
    disk: { path: '/var/lib/lapsebox', totalBytes: 3e10, freeBytes: 5e9, freePercent: 16.7 },
    retention: { maxAgeDays: 365, minFreePercent: 10, reserveMB: 500 },
    low: false,
    paused: { since: when, reason: 'the disk is full' },
    waitingForSync: 3,
    lastPurge: { at: when, why: 'space', pictures: 12, bytes: 4e6, from: when, to: when },
    purged: { pictures: 12, bytes: 4e6 },
  };
  const alert: ActiveAlert = { key: 'camera-down:north', kind: 'camera-down', severity: 'error', sourceId: 'north', targetId: null, message: 'camera "north" is down', since: when };
  const channel: ChannelStatus = { configured: true, destination: 'https://hooks.example/x', activity: 'retrying', pending: 2, oldestAt: when, lastSentAt: null, nextAttemptAt: when, lastError: 'HTTP 500', failures: 3, failed: 0 };
  const target: TargetStatus = {
    id: 'central',
    type: 'sftp',
    host: 'sftp.example',
    port: 22,
    remoteDir: '/srv/boxes/box',
    send: ['pictures', 'videos'],
    sources: null,
    maxRate: null,
    activity: 'retrying',
    backlog: { pending: 4, bytes: 8e6, oldestAt: at, byKind: { picture: 3, video: 1, latest: 0 }, failing: 1, gone: 0, oldestAgeSeconds: 600 },
    sent: { files: 100, bytes: 2e8, last: when },
    lastOk: when,
    lastError: { at: when, message: 'connection refused' },
    failingSince: when,
    nextAttemptAt: when,
    failing: [{ file: 'north/2026/11/20/x.jpg', attempts: 2, error: 'permission denied', nextAttemptAt: when }],
  };
  const relays: RelayState[] = [
    { sourceId: 'north', gpio: 17, state: 'open', fault: null },
    { sourceId: 'south', gpio: 27, state: 'unavailable', fault: { config: { gpio: 27, activeLow: true }, line: 539, reason: 'permission denied', fix: 'add lapsebox to the gpio group', since: at } },
  ];
  const progress: ProgressStatus = {
    sourceId: 'north',
    sourceName: 'North',
    enabled: true,
    rhythm: 'every Monday at 08:00',
    content: 'compare',
    recipients: ['site@example.com'],
    withoutAddress: ['viewer'],
    problem: null,
    nextAt: when,
    lastSent: { at: when, recipients: 1 },
    pending: { queuedAt: when, attempts: 2, nextAttemptAt: when, sending: false, lastError: 'SMTP 127.0.0.1:25 refused the connection' },
    lastProblem: { at: when, state: 'skipped', reason: 'no picture yet' },
    failed: 1,
  };
  return {
    progress: () => [progress],
    health: () => sample,
    storage: () => storage,
    alerts: () => [alert],
    notifications: () => ({ webhook: channel, email: null }),
    sync: { status: () => [target] },
    relays: () => relays,
  };
}
