/**
 * Hostile input on every route that takes one: traversal in every encoding,
 * NUL bytes, absolute paths, huge bodies, wrong types, markup in names,
 * cross-site and form-encoded requests, and a password sprayer. The answer is
 * always a clean 4xx JSON error, never a file from elsewhere, never a 500.
 */
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { DateTime } from 'luxon';
import type { LoadedConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { SourceSettings } from '../../daemon/settings/source-settings';
import { buildVideoStack } from '../../daemon/compose/stacks';
import { silentLogger } from '../../daemon/logger';
import type { Listener } from '../../web/server';
import { tempDir } from '../helpers/env';
import { pictureServices, scene, seedPictures } from '../helpers/videos';
import { addUsers, startWeb, writeYamlConfig } from '../helpers/web';

const PASSWORD = 'hostile-input-password';
const TZ = 'Europe/Paris';
const EVIL_NAME = '<script>alert("pwned")</script> & "quotes"';

describe('hostile input', () => {
  let tmp: ReturnType<typeof tempDir>;
  let loaded: LoadedConfig;
  let store: Repositories;
  let server: Listener;
  let base: string;
  let port: number;
  let pictureId: number;

  const config = (): Config => loaded.config;
  const basic = (user: string, password = PASSWORD) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  /** A raw request: the URL goes out exactly as written (fetch would normalise `..`). */
  const raw = (method: string, url: string, options: { user?: string; headers?: Record<string, string>; body?: string | Buffer; localAddress?: string; password?: string } = {}) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method,
          path: url,
          ...(options.localAddress ? { localAddress: options.localAddress } : {}),
          headers: {
            ...(options.user ? { authorization: basic(options.user, options.password) } : {}),
            ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}),
            ...options.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      if (options.body !== undefined) req.write(options.body);
      req.end();
    });
  const json = (method: string, url: string, body: unknown, user = 'maintainer', headers: Record<string, string> = {}) =>
    raw(method, url, { user, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

  beforeAll(async () => {
    tmp = tempDir();
    loaded = writeYamlConfig(tmp.dir, TZ, [
      'sources:',
      '  - id: north',
      `    name: ${JSON.stringify(EVIL_NAME)}`,
      '    camera: { driver: testpattern }',
      `    image: { legend: { text: ${JSON.stringify('<img src=x onerror=alert(1)> {date}')} } }`,
      '    public: { enabled: true }',
    ]);
    store = openRepositories(config().storage.dataDir);
    const start = DateTime.fromISO('2026-11-20T10:00', { zone: TZ }).toMillis();
    pictureId = (await seedPictures(config(), store, 'north', [start, start + 60_000], () => scene(320, 180, 1)))[0]!.id;
    await addUsers(store, config, PASSWORD, { maintainer: ['maintainer'], director: ['director'], viewer: ['customer', { north: 'view' }] });
    const { sizes } = pictureServices(config(), store);
    const settings = new SourceSettings({ file: () => loaded.file, apply: async (next) => void (loaded = next), audit: store.audit });
    ({ server, base } = await startWeb(config, store, {
      capture: { capture: async () => ({ status: 'skipped', reason: 'no capture in this test' }), isBusy: () => false },
      sizes,
      settings,
      videos: store.videos,
      videoJobs: buildVideoStack({ config, store, sizes, log: silentLogger() }).jobs,
      throttle: { maxFailures: 5, windowMs: 60_000 },
    }));
    port = Number(new URL(base).port);
  });

  afterAll(async () => {
    await server?.close();
    store?.close();
    tmp?.cleanup();
  });

  const TRAVERSALS = [
    '..%2f..%2f..%2fetc%2fpasswd',
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '%2e%2e/%2e%2e/etc/passwd',
    '..%5c..%5c..%5cetc%5cpasswd',
    '%2fetc%2fpasswd',
    '..%252f..%252fetc%252fpasswd',
    'north%00',
    'north%00.jpg',
    '%c0%ae%c0%ae%2fetc%2fpasswd',
  ];

  it('never serves a file from outside, and never fails with 500, for traversal in any route parameter', async () => {
    const templates = [
      '/public/{}/latest.jpg',
      '/public/{}',
      '/ui/{}',
      '/ui/{}/app.js',
      '/api/sources/{}',
      '/api/sources/{}/days',
      '/api/sources/{}/pictures?date=2026-11-20',
      '/api/sources/north/pictures?date={}',
      '/api/sources/north/days/{}/zip',
      '/api/pictures/{}',
      '/api/pictures/{}/thumb',
      `/api/pictures/${pictureId}/{}`,
      '/api/videos/{}/file',
      '/api/jobs/{}',
      '/api/users/{}',
      '/api/groups/{}',
    ];
    const wrong: string[] = [];
    for (const template of templates) {
      for (const evil of TRAVERSALS) {
        const url = template.replace('{}', evil);
        for (const user of ['maintainer', 'viewer']) {
          const res = await raw('GET', url, { user });
          if (res.status >= 500 || res.status === 200 || /root:x:0:0|"name": "lapsebox"/.test(res.body)) wrong.push(`${url} as ${user}: ${res.status}`);
        }
      }
    }
    // Plain `..` segments are resolved by the URL parser before routing; they must land nowhere either.
    for (const url of ['/ui/../package.json', '/ui/../../../etc/passwd', '/public/../../etc/passwd', '/api/../package.json']) {
      const res = await raw('GET', url, { user: 'maintainer' });
      if (/root:x:0:0|"name": "lapsebox"/.test(res.body) || res.status >= 500) wrong.push(`${url}: ${res.status}`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it("serves the UI's files from memory, whole and with their type, revalidated by ETag, and keeps nothing for a name that is no file", async () => {
    const file = fs.readFileSync(path.join(__dirname, '..', '..', 'web', 'ui', 'app.js'), 'utf8');
    const first = await raw('GET', '/ui/app.js', { user: 'viewer' });
    expect(first.status).toBe(200);
    expect(first.body).toBe(file);
    expect(first.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(first.headers['cache-control']).toBe('no-cache');
    const etag = first.headers['etag']!;
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const again = await raw('GET', '/ui/app.js', { user: 'viewer', headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    expect((await raw('GET', '/ui/style.css', { user: 'viewer' })).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await raw('GET', '/ui/vendor/intl-messageformat.js', { user: 'viewer' })).status).toBe(200);
    // Names that are no file: 404 every time (nothing is kept for them), and still behind the login.
    for (const name of ['nothing-here.js', 'views/nothing.js', 'views.js']) expect((await raw('GET', `/ui/${name}`, { user: 'viewer' })).status).toBe(404);
    expect((await raw('GET', '/ui/app.js')).status).toBe(401);
  });

  it('refuses hostile names in the routes that create things, with the field named', async () => {
    for (const username of ['../../etc/passwd', '/abs', 'nul\u0000byte', '<script>', 'a'.repeat(65), '']) {
      const res = await json('POST', '/api/users', { username, profile: 'customer' });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).details).toHaveProperty('username');
    }
    for (const name of ['..', 'a/b', 'x\u0000']) {
      const res = await json('POST', '/api/groups', { name });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).details).toHaveProperty('name');
    }
    // A grant on a source that does not exist, in any encoding, is a 400 naming the source.
    const grant = await json('PUT', '/api/users/viewer/grants/..%2fsouth', { level: 'view' });
    expect(grant.status).toBe(400);
    expect(JSON.parse(grant.body).details).toHaveProperty('source');
  });

  it('answers wrong types with 400 and the field', async () => {
    const cases: [string, string, unknown, string][] = [
      ['PATCH', '/api/users/viewer', { profile: 5 }, 'profile'],
      ['PATCH', '/api/users/viewer', { password: ['x'] }, 'password'],
      ['PATCH', '/api/users/viewer', { admin: true }, 'admin'],
      ['POST', '/api/users', { username: 'x', profile: 'root' }, 'profile'],
      ['POST', '/api/users', { username: 'shorty', profile: 'customer', password: 'short' }, 'password'],
      ['PUT', '/api/users/viewer/grants/north', { level: ['view'] }, 'level'],
      ['PUT', '/api/users/viewer/grants/north', { level: 'admin' }, 'level'],
      ['POST', '/api/groups', { name: { $gt: '' } }, 'name'],
      ['POST', '/api/sources/north/videos', { from: '2026-11-20', to: '2026-11-20', fps: 'a lot' }, 'fps'],
      ['PATCH', '/api/sources/north', { schedule: { every: 5 } }, 'schedule.every'],
      ['PATCH', '/api/sources/north', { schedule: { every: '10 parsecs' } }, 'schedule.every'],
      ['PATCH', '/api/sources/north', { image: { rotate: '90; rm -rf /' } }, 'image.rotate'],
      ['PATCH', '/api/sources/north', { id: 'renamed' }, 'id'],
    ];
    const wrong: string[] = [];
    for (const [method, url, body, field] of cases) {
      const res = await json(method, url, body);
      const details = res.status === 400 ? (JSON.parse(res.body) as { details?: Record<string, unknown> }).details : undefined;
      if (res.status !== 400 || !details || !(field in details)) wrong.push(`${method} ${url} ${JSON.stringify(body)}: ${res.status} ${res.body}`);
    }
    for (const [url, field] of [
      ['/api/sources/north/pictures?date=2026-13-45', 'date'],
      ['/api/sources/north/pictures?date=2026-11-20&date=2026-11-21', 'date'],
      ['/api/sources/north/pictures?from=yesterday&to=today', 'from'],
      ['/api/sources/north/pictures?date=2026-11-20&limit=1e9', 'limit'],
      ['/api/sources/north/pictures?date=2026-11-20&cursor=%27%20OR%201=1', 'cursor'],
      ['/api/sources/north/pictures?at=now', 'at'],
      ['/api/audit?limit=-1', 'limit'],
      [`/api/pictures/${pictureId}/huge`, 'size'],
    ] as const) {
      const res = await raw('GET', url, { user: 'maintainer' });
      const details = res.status === 400 ? (JSON.parse(res.body) as { details?: Record<string, unknown> }).details : undefined;
      if (res.status !== 400 || !details || !(field in details)) wrong.push(`GET ${url}: ${res.status} ${res.body}`);
    }
    expect(wrong).toEqual([]);
  });

  it('refuses bodies that are too large (413) or not JSON (400, 415)', async () => {
    const huge = JSON.stringify({ username: 'big', profile: 'customer', password: 'x'.repeat(200_000) });
    const big = await raw('POST', '/api/users', { user: 'maintainer', body: huge, headers: { 'content-type': 'application/json' } });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error).toMatch(/too large/);
    const broken = await raw('POST', '/api/groups', { user: 'maintainer', body: '{"name": ', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.body).error).toMatch(/not valid JSON/);
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain']) {
      const res = await raw('POST', '/api/groups', { user: 'maintainer', body: 'name=evil', headers: { 'content-type': type } });
      expect(res.status).toBe(415);
    }
    const array = await json('POST', '/api/groups', ['name']);
    expect(array.status).toBe(400);
    expect((await json('GET', '/api/groups/none', undefined)).status).toBe(404);
  });

  it('refuses JSON nested thousands of levels deep with 400 on every route that takes a body, and counts no bracket inside a string', async () => {
    const deep = (n: number) => `{"name":${'['.repeat(n)}1${']'.repeat(n)}}`;
    const wrong: string[] = [];
    for (const [method, url] of [
      ['PATCH', '/api/sources/north'],
      ['POST', '/api/groups'],
      ['POST', '/api/users'],
      ['PATCH', '/api/users/viewer'],
      ['POST', '/api/sources/north/videos'],
    ] as const) {
      for (const body of [deep(3000), `{"schedule":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`]) {
        const res = await raw(method, url, { user: 'maintainer', body, headers: { 'content-type': 'application/json' } });
        const error = res.headers['content-type']?.startsWith('application/json') ? (JSON.parse(res.body) as { error?: string }).error : res.body;
        if (res.status !== 400 || error !== 'the request body is nested more than 32 levels deep') wrong.push(`${method} ${url}: ${res.status} ${error}`);
      }
    }
    expect(wrong).toEqual([]);
    // Brackets in a string are text: this body is refused for its name, not its depth.
    const text = await raw('POST', '/api/groups', { user: 'maintainer', body: JSON.stringify({ name: '['.repeat(3000) }), headers: { 'content-type': 'application/json' } });
    expect(text.status).toBe(400);
    expect(JSON.parse(text.body)).toHaveProperty('details.name');
    // 32 levels are still read (and refused for what they say).
    const edge = await raw('POST', '/api/groups', { user: 'maintainer', body: deep(31), headers: { 'content-type': 'application/json' } });
    expect([edge.status, JSON.parse(edge.body).details]).toEqual([400, { name: expect.any(String) }]);
    // Another charset cannot hide the depth from the check: bodies are UTF-8 or refused.
    const hidden = `["\\"",${'['.repeat(200)}1${']'.repeat(200)}]`;
    const utf32 = Buffer.alloc(hidden.length * 4);
    for (let i = 0; i < hidden.length; i++) utf32.writeUInt32LE(hidden.charCodeAt(i), i * 4);
    for (const [charset, body] of [['utf-32le', utf32], ['utf-16le', Buffer.from(hidden, 'utf16le')]] as const) {
      const res = await raw('PATCH', '/api/sources/north', { user: 'maintainer', body, headers: { 'content-type': `application/json; charset=${charset}` } });
      expect([charset, res.status, JSON.parse(res.body).error]).toEqual([charset, 415, `JSON bodies must be UTF-8 (got charset "${charset}")`]);
    }
  });

  it('refuses cross-site state changes by their Origin, and accepts the same host', async () => {
    const foreign = await json('POST', '/api/groups', { name: 'from-evil' }, 'maintainer', { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).error).toMatch(/cross-site/);
    expect((await json('POST', '/api/groups', { name: 'from-null' }, 'maintainer', { origin: 'null' })).status).toBe(403);
    const groups = JSON.parse((await raw('GET', '/api/groups', { user: 'maintainer' })).body) as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).not.toContain('from-evil');
    const same = await json('POST', '/api/groups', { name: 'from-here' }, 'maintainer', { origin: `http://127.0.0.1:${port}` });
    expect(same.status).toBe(201);
  });

  it('shows markup in names as text: JSON for the API, escaped in the embed page', async () => {
    const api = await raw('GET', '/api/sources/north', { user: 'viewer' });
    expect(api.headers['content-type']).toMatch(/^application\/json/);
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    expect(JSON.parse(api.body).name).toBe(EVIL_NAME);
    const embed = await raw('GET', '/public/north');
    expect(embed.status).toBe(200);
    expect(embed.body).not.toContain('<script>alert');
    expect(embed.body).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;');
  });

  it('sends the security headers: no framing except the embed page, a CSP everywhere it matters', async () => {
    const page = await raw('GET', '/', { user: 'viewer' });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    const api = await raw('GET', '/api/me', { user: 'viewer' });
    expect(api.headers['x-frame-options']).toBe('DENY');
    expect(api.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(api.headers['cache-control']).toBe('no-store');
    const embed = await raw('GET', '/public/north');
    expect(embed.headers['x-frame-options']).toBeUndefined();
    expect(embed.headers['content-security-policy']).toMatch(/frame-ancestors \*/);
    const login = await raw('GET', '/');
    expect(login.status).toBe(401);
    expect(login.headers['www-authenticate']).toBe('Basic realm="lapsebox", charset="UTF-8"');
  });

  it('throttles failed logins per address without locking the user out from elsewhere', async () => {
    const sprayer = '127.0.0.2';
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await raw('GET', '/api/me', { user: 'viewer', password: `guess-${i}`, localAddress: sprayer })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const blocked = await raw('GET', '/api/me', { user: 'viewer', localAddress: sprayer });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // The real user, from their own address, is not locked out.
    expect((await raw('GET', '/api/me', { user: 'viewer', localAddress: '127.0.0.3' })).status).toBe(200);
  });

  it('counts 30 parallel guesses from one address before hashing them: no more than the limit get 401, and the real user logs in meanwhile', async () => {
    const sprayer = '127.0.0.4';
    const [guesses, real] = await Promise.all([
      Promise.all(Array.from({ length: 30 }, (_, i) => raw('GET', '/api/me', { user: 'viewer', password: `parallel-${i}`, localAddress: sprayer }))),
      raw('GET', '/api/me', { user: 'director', localAddress: '127.0.0.5' }),
    ]);
    const statuses = guesses.map((g) => g.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(25);
    expect(real.status).toBe(200);
  });
});
