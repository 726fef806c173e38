/**
 * The web side of a box that has been running for two years, in three parts.
 *
 * 1. Latency of the gallery's API over 1,000,000 indexed pictures of one source
 *    (one a minute for ~694 days, local dates in the appliance time zone, a few
 *    rejected), served by the real web app on loopback, built as the daemon builds
 *    it over a real store: the calendar, a day's listing, a thumbnail and a
 *    picture's metadata with its neighbours, for a customer who sees the source
 *    through a group's grant and for a maintainer; and the source's status
 *    (GET /api/sources, /api/sources/<id>), which every page of the UI loads.
 *    The rows are generated and
 *    inserted directly (one prepared INSERT, big transactions; the picture_days
 *    triggers run as they would); only the files fetched exist. Next to each
 *    figure: the floor of the stack (/healthz, /api/me) and the repository call
 *    alone, measured in the same run. The target is a p95 under 20 ms.
 * 2. GET /public/<source>/latest.jpg under load (autocannon, in a child process)
 *    against the same JPEG file served by express.static in a bare express app:
 *    same connections and duration, orders alternated, best of two. Also with
 *    If-None-Match (304s), and the 304s while one client reloads a source's status.
 * 3. The real daemon's RSS with three test-pattern sources, idle (before its first
 *    slot), then after one capture by each source, next to a bare express process
 *    started and read at the same moments.
 * 4. Capture-slot delay of the real daemon (a 1920x1080 test-pattern source every
 *    second): how long after its slot each picture is stored, alone and while three
 *    customers download 24 MP watermarked originals and day zips in parallel.
 *
 * Reports only; it never fails on a time.
 */
import { Catalogs } from '../../daemon/i18n/catalogs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import express from 'express';
import sharp from 'sharp';
import { DateTime } from 'luxon';
import { parseConfig } from '../../daemon/config/load';
import type { Config, SourceConfig } from '../../daemon/config/schema';
import { TestPatternCamera } from '../../daemon/capture/testpattern.camera';
import { mulberry32 } from '../../daemon/capture/testpattern/noise';
import { buildPictureServices, buildShares } from '../../daemon/compose/stacks';
import { UsersService } from '../../daemon/auth/users.service';
import { AccessService } from '../../daemon/auth/access.service';
import { Authenticator } from '../../daemon/auth/authenticator';
import { StatusService } from '../../daemon/status.service';
import { PublicImages } from '../../daemon/storage/public-image';
import { PublicSwitch } from '../../daemon/settings/public-switch';
import { configureSharp } from '../../daemon/pipeline/sharp';
import type { PicturePipeline } from '../../daemon/pipeline/picture.pipeline';
import { pictureFileName } from '../../daemon/domain/data-folder';
import { silentLogger } from '../../daemon/logger';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { createWebApp, type WebDeps } from '../../web/app';
import { pictureJson } from '../../web/json';
import { listen, type Listener } from '../../web/server';
import { freePort } from '../lib/net';
import { runLoad, type LoadResult } from '../lib/autocannon-run';
import { envCount } from './env';

const SOURCE = 'north';
const TIMEZONE = 'Europe/Paris';
const PASSWORD = 'bench password, long enough';
const ACTOR = { actor: 'bench', address: 'bench' };
const SEED = 0x3eb0c4d1;
const MINUTE = 60_000;
/** Rows per transaction when indexing. */
const BATCH = 50_000;
/** Requests before each measured series: the first one per user pays scrypt, and the code paths warm up. */
const WARMUP = 20;
const TARGET_P95_MS = 20;
/** Requests of the lines that take a good part of a second each. */
const SLOW_REQUESTS = 40;
/** How long the daemon runs idle after /healthz answers before its memory is read. */
const IDLE_MS = 20_000;
/** What systemd/lapsebox.service and `npm start` set for the daemon. */
const DAEMON_ENV = { MALLOC_ARENA_MAX: '2' } as const;
/** The root of the repository, from dist/scripts/bench. */
const REPO = path.resolve(__dirname, '..', '..', '..');

interface Settings {
  pictures: number;
  requests: number;
  connections: number;
  seconds: number;
}

/** The box of parts 1 and 2: a store with the rows, the web app on loopback, and what the requests need. */
interface Box {
  config: Config;
  source: SourceConfig;
  store: Repositories;
  publicImages: PublicImages;
  status: StatusService;
  server: Listener;
  base: string;
  insert: { ms: number; rows: number; rejected: number };
  dbBytes: number;
  days: string[];
  /** Usable pictures whose thumb file exists: the measured ids first, then the warm-up ids. */
  thumbIds: number[];
}

export async function run(): Promise<void> {
  const settings: Settings = {
    pictures: envCount('LAPSEBOX_BENCH_WEB_PICTURES', 1_000_000),
    requests: envCount('LAPSEBOX_BENCH_WEB_REQUESTS', 300),
    connections: envCount('LAPSEBOX_BENCH_WEB_CONNECTIONS', 10),
    seconds: envCount('LAPSEBOX_BENCH_WEB_SECONDS', 10),
  };
  configureSharp();
  printMachine();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-bench-web-'));
  try {
    const box = await prepareBox(dir, settings);
    try {
      await latencies(box, settings);
      await publicLoad(box, settings);
    } finally {
      await box.server.close();
      box.store.close();
    }
    await daemonMemory(dir);
    await captureUnderDownloads(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function printMachine(): void {
  const db = new Database(':memory:');
  const { version } = db.prepare('SELECT sqlite_version() AS version').get() as { version: string };
  db.close();
  const cpu = os.cpus()[0]?.model ?? '?';
  console.log(`machine: ${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GB RAM, ${os.platform()} ${os.arch()} ${os.release()}`);
  console.log(`node ${process.versions.node}, SQLite ${version} (better-sqlite3); load average ${loadText()}`);
}

// ---------------------------------------------------------------- the box

async function prepareBox(dir: string, settings: Settings): Promise<Box> {
  const configFile = path.join(dir, 'lapsebox.yaml');
  const { config } = parseConfig(
    [
      `appliance: { id: bench, timezone: ${TIMEZONE} }`,
      `storage: { dataDir: ${path.join(dir, 'data')} }`,
      'sources:',
      `  - id: ${SOURCE}`,
      '    camera: { driver: testpattern }',
      '    schedule: { every: 1m }',
      '    public: { enabled: true }',
      '',
    ].join('\n'),
    configFile,
  );
  const source = config.sources[0]!;
  const store = openRepositories(config.storage.dataDir);
  console.log(`indexing ${settings.pictures.toLocaleString('en')} pictures...`);
  const insert = insertPictures(store, settings.pictures);
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const dbBytes = fs.statSync(store.layout.database).size;

  const { users, access } = await addPeople(store, config);
  const days = store.pictures.days(SOURCE).map((d) => d.date);
  const thumbIds = usableIds(store, settings.pictures, settings.requests + WARMUP);
  // The real pipeline and sizes, as `lapsebox` builds them on a stopped box.
  const { pipeline, sizes } = buildPictureServices({ config, store, log: silentLogger() });
  await makeFiles(dir, store, source, pipeline, thumbIds);

  // As test/helpers/web.ts startWeb and daemon/app.ts build it; no camera behind the capture route.
  const publicImages = new PublicImages({ pictures: store.pictures, sizes });
  const publicSwitch = new PublicSwitch({ repo: store.publicSwitch, audit: store.audit });
  const status = new StatusService({ config: () => config, pictures: store.pictures, state: store.state, live: null, publicSwitch });
  const deps: WebDeps = {
    config: () => config,
    layout: store.layout,
    authenticator: new Authenticator(store.users),
    status,
    capture: { capture: () => Promise.reject(new Error('no camera in this bench')), isBusy: () => false },
    pictures: store.pictures,
    sizes,
    videos: store.videos,
    publicImages,
    publicSwitch,
    users,
    accessAdmin: access,
    shares: buildShares({ config: () => config, store, grantsFor: (user) => access.grantsFor(user) }),
    audit: store.audit,
    events: store.events,
    health: async () => ({ ok: true }),
    catalogs: new Catalogs(),
    log: silentLogger(),
  };
  const server = await listen(createWebApp(deps), { host: '127.0.0.1', port: 0 });
  return { config, source, store, publicImages, status, server, base: `http://${server.address}`, insert, dbBytes, days, thumbIds };
}

/**
 * One picture a minute, oldest first, ending this minute (the public picture is the
 * newest): local dates in the appliance zone (days of 1380 and 1500 pictures at
 * the DST changes), about 0.3 % rejected as too dark and a few as corrupt.
 */
function insertPictures(store: Repositories, count: number): Box['insert'] {
  const insert = store.db.prepare<[string, number, string, string, number, number, number, string, number, number, string | null, string | null, string, number]>(
    `INSERT INTO pictures (source_id, taken_at, local_date, path, size, width, height, sha256, exif_taken_at, luminance, rejection, rejection_detail, derivatives, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const random = mulberry32(SEED);
  const first = Math.floor(Date.now() / MINUTE) * MINUTE - (count - 1) * MINUTE;
  if (utcName(first) !== pictureFileName(first)) throw new Error(`utcName gives ${utcName(first)}, the layout ${pictureFileName(first)}`);
  let day = '';
  let nextDay = -Infinity;
  let rejected = 0;
  const batch = store.db.transaction((from: number, to: number) => {
    const hashes = randomBytes(32 * (to - from));
    for (let i = from; i < to; i++) {
      const takenAt = first + i * MINUTE;
      if (takenAt >= nextDay) {
        const local = DateTime.fromMillis(takenAt, { zone: TIMEZONE });
        day = local.toISODate()!;
        nextDay = local.startOf('day').plus({ days: 1 }).toMillis();
      }
      const r = random();
      const rejection = i === count - 1 ? null : r < 0.003 ? 'too-dark' : r < 0.0031 ? 'corrupt' : null;
      if (rejection) rejected++;
      insert.run(
        SOURCE,
        takenAt,
        day,
        `sources/${SOURCE}/pictures/${day}/${utcName(takenAt)}`,
        350_000 + Math.floor(random() * 300_000),
        1920,
        1080,
        hashes.toString('hex', (i - from) * 32, (i - from + 1) * 32),
        takenAt,
        rejection === 'too-dark' ? 4 + random() * 6 : 40 + random() * 150,
        rejection,
        rejection === 'too-dark' ? 'mean luminance 6.1 below 10' : rejection === 'corrupt' ? 'premature end of JPEG data' : null,
        rejection === 'corrupt' ? '' : 'thumb,preview,frame',
        takenAt + 2_000,
      );
    }
  });
  const started = performance.now();
  for (let from = 0; from < count; from += BATCH) batch(from, Math.min(count, from + BATCH));
  return { ms: performance.now() - started, rows: count, rejected };
}

/** The file name pictureFileName gives (20261123T101500000Z.jpg), without luxon: a million of them. */
function utcName(at: number): string {
  return `${new Date(at).toISOString().replace(/[-:.]/g, '')}.jpg`;
}

/** A maintainer, and a customer who sees the source through a group's `view` grant. */
async function addPeople(store: Repositories, config: Config): Promise<{ users: UsersService; access: AccessService }> {
  const users = new UsersService(store.users, store.audit);
  const access = new AccessService({ access: store.access, users: store.users, audit: store.audit, sourceIds: () => config.sources.map((s) => s.id) });
  await users.add('maintainer', 'maintainer', PASSWORD, ACTOR);
  await users.add('customer', 'customer', PASSWORD, ACTOR);
  access.addGroup('site-team', ACTOR);
  access.addMember('site-team', 'customer', ACTOR);
  access.grantGroup('site-team', SOURCE, 'view', ACTOR);
  return { users, access };
}

/** `n` distinct random usable picture ids. */
function usableIds(store: Repositories, count: number, n: number): number[] {
  const random = mulberry32(SEED + 1);
  const ids = new Set<number>();
  while (ids.size < n) {
    const id = 1 + Math.floor(random() * count);
    const p = store.pictures.get(id);
    if (p && !p.rejection) ids.add(id);
  }
  return [...ids];
}

/**
 * The only files on disk: a pool of four 1920x1080 test-pattern frames, their
 * thumbs rendered by the real pipeline, one copied to each fetched picture's thumb
 * path (the row says the thumb exists, as after a capture); and the newest
 * picture's stored file, from which the real PictureSizes makes the public size
 * on the first request.
 */
async function makeFiles(dir: string, store: Repositories, source: SourceConfig, pipeline: PicturePipeline, thumbIds: number[]): Promise<void> {
  const camera = new TestPatternCamera({ sourceId: SOURCE, sourceName: 'North tower', width: 1920, height: 1080, timezone: TIMEZONE });
  const signal = new AbortController().signal;
  const pool: { original: string; thumb: string }[] = [];
  const noon = DateTime.now().setZone(TIMEZONE).set({ hour: 12, minute: 0, second: 0, millisecond: 0 }).toMillis();
  for (let k = 0; k < 4; k++) {
    const original = path.join(dir, `pool-${k}.jpg`);
    const takenAt = noon - k * 47 * MINUTE;
    await camera.capture({ destination: original, takenAt: new Date(takenAt), signal });
    const thumb = path.join(dir, `pool-${k}-thumb.jpg`);
    fs.writeFileSync(thumb, await pipeline.render(original, { source, takenAt, size: { width: 1920, height: 1080 } }, 'thumb'));
    pool.push({ original, thumb });
  }
  await camera.close();
  thumbIds.forEach((id, i) => {
    const p = store.pictures.get(id)!;
    const file = store.layout.derivative(p.path, 'thumb');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.copyFileSync(pool[i % pool.length]!.thumb, file);
  });
  const newest = store.pictures.latest(SOURCE)!;
  const file = store.layout.absolute(newest.path);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.copyFileSync(pool[0]!.original, file);
}

// ---------------------------------------------------------------- part 1: latencies

interface Series {
  what: string;
  user: 'customer' | 'maintainer';
  /** The request of the i-th sample. */
  url: (i: number) => string;
  /** The repository work of the same request, called directly; none for the floors. */
  db?: (i: number) => void;
  /** A floor of the stack, not held to the target. */
  floor?: boolean;
  /** Fewer requests for a slow line, so the run stays short. */
  requests?: number;
}

interface Measured {
  series: Series;
  times: number[];
  dbTimes: number[];
  bytes: number;
}

async function latencies(box: Box, settings: Settings): Promise<void> {
  const { store } = box;
  const random = mulberry32(SEED + 2);
  const n = settings.requests;
  const days = Array.from({ length: n + WARMUP }, () => box.days[Math.floor(random() * box.days.length)]!);
  const ids = box.thumbIds;
  const src = `/api/sources/${SOURCE}`;
  const page = (date: string, limit: number) => store.pictures.page(SOURCE, { date }, limit + 1).slice(0, limit).map((p) => pictureJson(p, 'view'));
  const series: Series[] = [];
  for (const user of ['customer', 'maintainer'] as const) {
    series.push(
      { what: 'floor: GET /healthz (no auth, no database)', user, url: () => '/healthz', floor: true },
      { what: 'floor: GET /api/me (Basic auth + grants query)', user, url: () => '/api/me', floor: true },
      // Every page of the UI loads the source: its status, with the picture counts.
      { what: 'GET /api/sources', user, url: () => '/api/sources', db: () => box.status.source(box.source), requests: SLOW_REQUESTS },
      { what: `GET ${src}`, user, url: () => src, db: () => box.status.source(box.source), requests: SLOW_REQUESTS },
      { what: `GET ${src}/days`, user, url: () => `${src}/days`, db: () => store.pictures.days(SOURCE) },
      { what: `GET ${src}/pictures?date= (first page, 500)`, user, url: (i) => `${src}/pictures?date=${days[i]}`, db: (i) => page(days[i]!, 500) },
      { what: `GET ${src}/pictures?date=&limit=2000 (whole day)`, user, url: (i) => `${src}/pictures?date=${days[i]}&limit=2000`, db: (i) => page(days[i]!, 2000) },
      { what: 'GET /api/pictures/<id> (with prev/next)', user, url: (i) => `/api/pictures/${ids[i]}`, db: (i) => neighbours(store, ids[i]!) },
      { what: 'GET /api/pictures/<id>/thumb', user, url: (i) => `/api/pictures/${ids[i]}/thumb`, db: (i) => store.pictures.get(ids[i]!) },
    );
  }
  const load = loadText();
  const results: Measured[] = [];
  for (const s of series) results.push(await measureSeries(box, s, Math.min(n, s.requests ?? n)));
  printLatencies(box, load, results);
}

function neighbours(store: Repositories, id: number): void {
  const p = store.pictures.get(id)!;
  store.pictures.neighbour(SOURCE, p, 'before');
  store.pictures.neighbour(SOURCE, p, 'after');
}

/**
 * WARMUP requests on their own inputs, then `n` sequential requests, each timed
 * from sending to the last byte of the body; then the repository calls alone.
 */
async function measureSeries(box: Box, series: Series, n: number): Promise<Measured> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const authorization = `Basic ${Buffer.from(`${series.user}:${PASSWORD}`).toString('base64')}`;
  // Warm-up inputs come after the measured ones in every input list.
  for (let w = 0; w < WARMUP; w++) await request(agent, box.base, series.url(n + w), { authorization }, 200);
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const body = await request(agent, box.base, series.url(i), { authorization }, 200);
    times.push(performance.now() - started);
    bytes += body.length;
  }
  agent.destroy();
  const dbTimes: number[] = [];
  if (series.db) {
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      series.db(i);
      dbTimes.push(performance.now() - started);
    }
  }
  return { series, times, dbTimes, bytes: bytes / n };
}

/** A GET over a keep-alive agent; the body, or an error when the status is not the expected one. */
function request(agent: http.Agent, base: string, urlPath: string, headers: Record<string, string>, expect: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${urlPath}`, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        if (res.statusCode !== expect) reject(new Error(`GET ${urlPath}: ${res.statusCode} (expected ${expect}): ${body.toString('utf8', 0, 300)}`));
        else resolve(body);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function printLatencies(box: Box, load: string, results: Measured[]): void {
  const { insert } = box;
  console.log('');
  console.log(
    `1. API latency: ${insert.rows.toLocaleString('en')} pictures of one source (one a minute, ${box.days.length} local days in ${TIMEZONE}, ` +
      `${insert.rejected.toLocaleString('en')} rejected)`,
  );
  console.log(
    `   indexed in ${(insert.ms / 1000).toFixed(1)} s (${Math.round(insert.rows / (insert.ms / 1000)).toLocaleString('en')} rows/s, one prepared INSERT, ` +
      `${BATCH.toLocaleString('en')} rows a transaction, picture_days triggers on); database ${mb(box.dbBytes)} MB after a WAL checkpoint`,
  );
  console.log(
    `   n sequential requests per line over one keep-alive connection after ${WARMUP} warm-up requests; random days and ` +
      `random usable pictures; thumbs from a pool of 4 real JPEGs (the real pipeline's thumb of test-pattern frames) copied to each fetched picture`,
  );
  console.log(`   ms throughout; target: p95 under ${TARGET_P95_MS} ms; 'repo p50': the same repository calls alone, in-process (listings with pictureJson, sources with the status)`);
  console.log('   server, client and database in this one process; the floors are the cost of the stack with no work behind it');
  console.log(`   load average before: ${load}`);
  console.log('');
  const rows = results.map(({ series, times, dbTimes, bytes }) => {
    const p95 = percentile(times, 0.95);
    return [
      series.what,
      series.user,
      String(times.length),
      fixed(percentile(times, 0.5)),
      fixed(p95),
      fixed(Math.max(...times)),
      dbTimes.length > 0 ? fixed(percentile(dbTimes, 0.5)) : '-',
      bytes >= 10_240 ? `${(bytes / 1024).toFixed(0)} KB` : `${bytes.toFixed(0)} B`,
      series.floor ? '-' : p95 < TARGET_P95_MS ? 'yes' : 'no',
    ];
  });
  printTable(['request', 'user', 'n', 'p50', 'p95', 'max', 'repo p50', 'body', 'target'], rows, 2);
}

// ---------------------------------------------------------------- part 2: the public picture under load

async function publicLoad(box: Box, settings: Settings): Promise<void> {
  const load = loadText();
  const ours = `${box.base}/public/${SOURCE}/latest.jpg`;
  // The first request makes the public size through the real PictureSizes; then it is a file like any other.
  const made = performance.now();
  await request(new http.Agent(), box.base, `/public/${SOURCE}/latest.jpg`, {}, 200);
  const makeMs = performance.now() - made;
  const image = await box.publicImages.get(box.source);
  if (!image) throw new Error('no public picture');

  const bare = express();
  bare.use(express.static(path.dirname(image.file)));
  const reference = await listen(bare, { host: '127.0.0.1', port: 0 });
  const staticUrl = `http://${reference.address}/${path.basename(image.file)}`;
  const staticEtag = await etagOf(staticUrl);

  interface Case {
    name: string;
    url: string;
    headers?: Record<string, string>;
    expect: '2xx' | '3xx';
    /** The static case this one is compared with. */
    reference?: Case;
    /** One client reloading the source's status (as the UI does) all through the run. */
    sourcePoller?: boolean;
  }
  const static200: Case = { name: 'express.static, same file', url: staticUrl, expect: '2xx' };
  const static304: Case = { name: 'express.static, If-None-Match (304)', url: staticUrl, headers: { 'if-none-match': staticEtag }, expect: '3xx' };
  const ours200: Case = { name: 'lapsebox /public/<source>/latest.jpg', url: ours, expect: '2xx', reference: static200 };
  const ours304: Case = { name: 'lapsebox, If-None-Match (304)', url: ours, headers: { 'if-none-match': image.etag }, expect: '3xx', reference: static304 };
  const oursBusy: Case = { ...ours304, name: `lapsebox 304, one client reloading GET /api/sources/${SOURCE}`, sourcePoller: true };
  // Each group runs back to back, its order swapped in the second round.
  const groups: Case[][] = [[ours200, static200], [ours304, static304], [oursBusy]];
  const best = new Map<Case, LoadResult>();
  console.log('');
  console.log(`2. public picture under load: ${groups.flat().length} cases x 2 rounds x ${settings.seconds} s...`);
  try {
    for (const round of [0, 1]) {
      for (const group of groups) {
        for (const c of round === 0 ? group : [...group].reverse()) {
          const poller = c.sourcePoller ? pollSource(box) : null;
          const r = await runLoad({ url: c.url, connections: settings.connections, durationSeconds: settings.seconds, ...(c.headers ? { headers: c.headers } : {}) }).finally(
            () => poller?.stop(),
          );
          await poller?.done;
          const total = r.responses['2xx'] + r.responses['3xx'] + r.responses['4xx'] + r.responses['5xx'];
          if (r.errors > 0 || r.responses[c.expect] !== total || total === 0) throw new Error(`${c.name}: unexpected answers ${JSON.stringify(r)}`);
          const had = best.get(c);
          if (!had || r.requestsPerSecond > had.requestsPerSecond) best.set(c, r);
        }
      }
    }
  } finally {
    await reference.close();
  }
  console.log(
    `   autocannon ${settings.connections} connections x ${settings.seconds} s in a child process, on 127.0.0.1; best of 2 runs, orders alternated; ` +
      `load average before: ${load}`,
  );
  console.log(
    `   the file: ${(image.size / 1024).toFixed(0)} KB, ${box.source.public.width} px wide, made from the stored picture by the real PictureSizes ` +
      `on the first request (${makeMs.toFixed(0)} ms); express.static serves that very file`,
  );
  console.log('');
  const rows = groups.flat().map((c) => {
    const r = best.get(c)!;
    const ref = c.reference ? best.get(c.reference)! : null;
    return [
      c.name,
      r.requestsPerSecond.toFixed(0),
      String(r.p50Ms),
      String(r.p99Ms),
      (r.bytesPerSecond / 2 ** 20).toFixed(1),
      ref ? (r.requestsPerSecond / ref.requestsPerSecond).toFixed(2) : '',
    ];
  });
  printTable(['server', 'req/s', 'p50 ms', 'p99 ms', 'MB/s', 'ours / static'], rows);
}

/** A maintainer's browser reloading the source page's status in a loop, one request at a time. */
function pollSource(box: Box): { stop: () => void; done: Promise<void> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const authorization = `Basic ${Buffer.from(`maintainer:${PASSWORD}`).toString('base64')}`;
  let running = true;
  const done = (async () => {
    while (running) await request(agent, box.base, `/api/sources/${SOURCE}`, { authorization }, 200);
    agent.destroy();
  })();
  return { stop: () => (running = false), done };
}

/** The ETag a server gives a file, for the 304 runs. */
function etagOf(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        const etag = res.headers.etag;
        if (res.statusCode === 200 && etag) resolve(etag);
        else reject(new Error(`GET ${url}: ${res.statusCode}, ETag ${String(etag)}`));
      })
      .on('error', reject);
  });
}

// ---------------------------------------------------------------- part 3: the daemon's memory

async function daemonMemory(dir: string): Promise<void> {
  const home = path.join(dir, 'daemon');
  fs.mkdirSync(home);
  const port = await freePort();
  const configFile = path.join(home, 'lapsebox.yaml');
  const sources = ['north', 'south', 'east'];
  fs.writeFileSync(
    configFile,
    [
      'appliance: { id: rss-bench, timezone: Europe/Paris }',
      'storage: { dataDir: ./data }',
      `web: { host: 127.0.0.1, port: ${port} }`,
      'sources:',
      ...sources.flatMap((id) => [`  - id: ${id}`, '    camera: { driver: testpattern }', '    schedule: { every: 1m }']),
      '',
    ].join('\n'),
  );
  console.log('');
  console.log(`3. daemon memory: ${sources.length} test-pattern sources (1920x1080, every 1m), started as npm start does, read ${IDLE_MS / 1000} s after /healthz...`);
  // At start-up the scheduler still runs a slot that began less than 30 s ago (every/2, at most 30 s):
  // started 31 s past the minute, the daemon has ~29 s before its first slot, so the first reading is idle.
  await sleep((91_000 - (Date.now() % MINUTE)) % MINUTE);
  const load = loadText();
  const log = fs.openSync(path.join(home, 'daemon.log'), 'w');
  const env = { ...process.env, ...DAEMON_ENV };
  const started = Date.now();
  const daemon = spawn(process.execPath, [path.join(REPO, 'dist', 'daemon', 'main.js'), 'run', '--config', configFile], { cwd: home, env, stdio: ['ignore', log, log] });
  // The reference starts at the same moment and is read at the same moment.
  const bare = spawn(process.execPath, ['-e', "require('express')().listen(0)"], { cwd: REPO, env, stdio: 'ignore' });
  const rows: string[][] = [];
  try {
    await untilHealthy(daemon, port, path.join(home, 'daemon.log'));
    const upMs = Date.now() - started;
    await sleep(IDLE_MS);
    const idle = [memoryOf(daemon), memoryOf(bare)] as const;
    const idlePictures = countPictures(path.join(home, 'data'));
    rows.push(memoryRow(`idle, ${IDLE_MS / 1000} s after /healthz (${idlePictures} pictures taken so far)`, idle[0], idle[1]));
    // The same once every source has captured (slots are on the minute): what a capture round leaves behind.
    const deadline = Date.now() + 2 * MINUTE;
    while (countPictures(path.join(home, 'data')) < sources.length && Date.now() < deadline) await sleep(1_000);
    await sleep(5_000);
    const after = [memoryOf(daemon), memoryOf(bare)] as const;
    rows.push(memoryRow(`5 s after a capture by each source (${countPictures(path.join(home, 'data'))} pictures taken)`, after[0], after[1]));
    console.log(`   up (/healthz 200) ${(upMs / 1000).toFixed(1)} s after spawn; MALLOC_ARENA_MAX=${DAEMON_ENV.MALLOC_ARENA_MAX} for both processes; MB = MiB; load average before: ${load}`);
    console.log(`   reference: node -e "require('express')().listen(0)", spawned at the same moment, read at the same moments`);
    console.log('');
    printTable(['when', 'daemon VmRSS', 'daemon VmHWM', `bare express VmRSS`, 'bare VmHWM', 'daemon / bare (RSS)'], rows);
  } finally {
    await stop(daemon);
    await stop(bare);
    fs.closeSync(log);
  }
}

// ---------------------------------------------------------------- part 4: capture slots under heavy downloads

const SLOT_PHASE_MS = 15_000;

export async function captureUnderDownloads(dir: string): Promise<void> {
  const home = path.join(dir, 'slots');
  fs.mkdirSync(home, { recursive: true });
  const port = await freePort();
  const configFile = path.join(home, 'lapsebox.yaml');
  await sharpLogo(path.join(home, 'logo.png'));
  fs.writeFileSync(
    configFile,
    [
      'appliance: { id: slots-bench, timezone: Europe/Paris }',
      'storage: { dataDir: ./data }',
      `web: { host: 127.0.0.1, port: ${port} }`,
      'sources:',
      '  - id: cam',
      '    camera: { driver: testpattern, width: 1920, height: 1080 }',
      '    schedule: { every: 1s }',
      '  - id: big',
      '    camera: { driver: testpattern, width: 6000, height: 4000, timeout: 60s }',
      "    schedule: { every: 24h, windows: [ { from: '00:00', to: '00:01' } ] }",
      '    image: { watermark: { file: logo.png, position: bottom-right, opacity: 0.6 } }',
      '',
    ].join('\n'),
  );
  console.log('');
  console.log(`4. capture-slot delay: a 1920x1080 source every 1 s, ${SLOT_PHASE_MS / 1000} s alone, then ${SLOT_PHASE_MS / 1000} s while 3 customers download 24 MP watermarked originals and day zips (2 loops each)...`);
  const log = fs.openSync(path.join(home, 'daemon.log'), 'w');
  const daemon = spawn(process.execPath, [path.join(REPO, 'dist', 'daemon', 'main.js'), 'run', '--config', configFile], { cwd: home, env: { ...process.env, ...DAEMON_ENV }, stdio: ['ignore', log, log] });
  try {
    await untilHealthy(daemon, port, path.join(home, 'daemon.log'));
    const base = `http://127.0.0.1:${port}`;
    const adminPassword = fs.readFileSync(path.join(home, 'data', 'initial-admin-password'), 'utf8').trim();
    const auth = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    const admin = { ...auth('admin', adminPassword), 'content-type': 'application/json' };
    const customers = ['alice', 'bob', 'carol'];
    for (const name of customers) {
      await fetch(`${base}/api/users`, { method: 'POST', headers: admin, body: JSON.stringify({ username: name, profile: 'customer', password: PASSWORD }) });
      await fetch(`${base}/api/users/${name}/grants/big`, { method: 'PUT', headers: admin, body: JSON.stringify({ level: 'download' }) });
    }
    const pictures: { id: number; date: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/api/sources/big/capture`, { method: 'POST', headers: admin, body: '{}' });
      pictures.push(((await res.json()) as { picture: { id: number; date: string } }).picture);
    }
    await sleep(3_000);
    const quietFrom = Date.now();
    await sleep(SLOT_PHASE_MS);
    const quietTo = Date.now();
    const counts = { downloads: 0, busy: 0, mb: 0 };
    const until = Date.now() + SLOT_PHASE_MS;
    const loop = async (user: string, url: (i: number) => string) => {
      for (let i = 0; Date.now() < until; i++) {
        const res = await fetch(`${base}${url(i)}`, { headers: auth(user, PASSWORD) });
        const bytes = (await res.arrayBuffer()).byteLength;
        if (res.status === 200) {
          counts.downloads++;
          counts.mb += bytes / 2 ** 20;
        } else {
          counts.busy++;
          await sleep(200);
        }
      }
    };
    const loadFrom = Date.now();
    await Promise.all(
      customers.flatMap((user) => [
        loop(user, (i) => `/api/pictures/${pictures[i % pictures.length]!.id}/original?download=1`),
        loop(user, () => `/api/sources/big/days/${pictures[0]!.date}/zip`),
      ]),
    );
    const loadTo = Date.now();
    await sleep(3_000);
    const quiet = slotDelays(path.join(home, 'data'), quietFrom, quietTo);
    const loaded = slotDelays(path.join(home, 'data'), loadFrom, loadTo);
    console.log(`   ${counts.downloads} downloads (${counts.mb.toFixed(0)} MB) and ${counts.busy} answers 429 under load; delay = stored (created_at) minus slot start`);
    console.log('');
    const row = (what: string, d: { delays: number[]; missed: number; slots: number }) => [what, String(d.slots), String(d.missed), String(percentile(d.delays, 0.5)), String(percentile(d.delays, 0.95)), String(Math.max(...d.delays))];
    printTable(['phase', 'slots', 'missed', 'p50 ms', 'p95 ms', 'max ms'], [row('alone', quiet), row('with downloads', loaded)]);
    console.log(`   with / without downloads: p50 ${(percentile(loaded.delays, 0.5) / percentile(quiet.delays, 0.5)).toFixed(2)}x, p95 ${(percentile(loaded.delays, 0.95) / percentile(quiet.delays, 0.95)).toFixed(2)}x`);
  } finally {
    await stop(daemon);
    fs.closeSync(log);
  }
}

function sharpLogo(file: string): Promise<unknown> {
  return sharp({ create: { width: 600, height: 200, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.8 } } }).png().toFile(file);
}

/** Each whole 1 s slot in [from, to): how long after its start the picture was stored, and the slots with none. */
function slotDelays(dataDir: string, from: number, to: number): { delays: number[]; missed: number; slots: number } {
  const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true });
  try {
    const first = Math.ceil(from / 1000);
    const last = Math.floor(to / 1000);
    const rows = db.prepare(`SELECT taken_at, created_at FROM pictures WHERE source_id = 'cam' AND taken_at >= ? AND taken_at < ?`).all(first * 1000, last * 1000) as { taken_at: number; created_at: number }[];
    const delays = rows.map((r) => r.created_at - Math.floor(r.taken_at / 1000) * 1000);
    const seen = new Set(rows.map((r) => Math.floor(r.taken_at / 1000)));
    let missed = 0;
    for (let s = first; s < last; s++) if (!seen.has(s)) missed++;
    return { delays, missed, slots: last - first };
  } finally {
    db.close();
  }
}

async function untilHealthy(daemon: ChildProcess, port: number, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (daemon.exitCode !== null) throw new Error(`the daemon exited with code ${daemon.exitCode}:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
    const status = await new Promise<number>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
    if (status === 200) return;
    await sleep(200);
  }
  throw new Error(`the daemon did not answer /healthz within 60 s:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
}

/** VmRSS and VmHWM of a child, in bytes, from /proc. */
function memoryOf(child: ChildProcess): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

function memoryRow(when: string, daemon: { rss: number; hwm: number }, bare: { rss: number; hwm: number }): string[] {
  return [when, mb(daemon.rss), mb(daemon.hwm), mb(bare.rss), mb(bare.hwm), (daemon.rss / bare.rss).toFixed(1)];
}

function countPictures(dataDir: string): number {
  const sourcesDir = path.join(dataDir, 'sources');
  if (!fs.existsSync(sourcesDir)) return 0;
  let n = 0;
  for (const source of fs.readdirSync(sourcesDir)) {
    const pictures = path.join(sourcesDir, source, 'pictures');
    if (!fs.existsSync(pictures)) continue;
    for (const day of fs.readdirSync(pictures)) n += fs.readdirSync(path.join(pictures, day)).filter((f) => f.endsWith('.jpg')).length;
  }
  return n;
}

/** SIGTERM, then SIGKILL after 10 s; resolves once the child has exited. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------- report helpers

/** A table with its first `left` columns aligned left, the figures right. */
function printTable(header: string[], rows: string[][], left = 1): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: string[]): string =>
    cells
      .map((c, i) => (i < left ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(format(row));
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

function loadText(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

function fixed(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}

if (require.main === module) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
