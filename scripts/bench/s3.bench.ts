/**
 * The S3 sync against rclone (Debian's, an S3 client people use for exactly this),
 * to the same real S3 server on loopback (OpenStack Swift with s3api), in the same
 * run: 200 files of 4 MB, 1000 files of 50 KB and one 300 MB video. Ours is the
 * whole path: the outbox rows written in one indexing transaction, then the
 * worker's hashing (SHA-256 and Content-MD5), upload (single PUTs; a multipart
 * upload for the video, each part recorded in the database), check and database
 * update per file. rclone's is `rclone copy` of the same folder with its defaults
 * (4 transfers, Content-MD5 on each PUT and part, its own MD5 metadata). Each set
 * runs in both orders and the best of each is kept. Prints MB/s, files/s, the
 * ratio rclone time / our time (the issue asks for at least 1.0 on each) and the
 * peak memory above the start of each tool while the video goes up (it must stay
 * flat: parts are streamed from the file, never held whole). Every object is
 * checked (size from the listing; SHA-256 of ten of them and of the video,
 * downloaded) before a figure is printed. Reports only; never fails on a time.
 */
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { pictureFileName } from '../../daemon/domain/data-folder';
import { silentLogger } from '../../daemon/logger';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { Outbox } from '../../daemon/sync/outbox';
import { SyncService } from '../../daemon/sync/sync.service';
import { TestS3 } from '../lib/loopback-s3';
import { envCount } from './env';
import { table } from './table';

const exec = promisify(execFile);
const DAY = '2026-11-20';
const T0 = Date.parse(`${DAY}T08:00:00Z`);
const MB = 1024 * 1024;

interface FileSet {
  name: string;
  count: number;
  size: number;
  video: boolean;
}

interface LocalFile {
  id: number;
  path: string;
  size: number;
  takenAt: number;
  sha: string;
}

interface Result {
  seconds: number;
  files: number;
  bytes: number;
  /** Peak resident memory above the tool's own at the start, in bytes. */
  peakRss: number;
}

export async function run(): Promise<void> {
  const rclone = await exec('rclone', ['version']).catch(() => null);
  if (rclone === null) throw new Error('rclone is not installed (apt-get install rclone): it is the reference of this benchmark');
  const sets: FileSet[] = [
    { name: `${envCount('S3_BIG_FILES', 200)} x 4 MB`, count: envCount('S3_BIG_FILES', 200), size: 4 * MB, video: false },
    { name: `${envCount('S3_SMALL_FILES', 1000)} x 50 KB`, count: envCount('S3_SMALL_FILES', 1000), size: 50 * 1024, video: false },
    { name: `1 x ${envCount('S3_VIDEO_MB', 300)} MB video`, count: 1, size: envCount('S3_VIDEO_MB', 300) * MB, video: true },
  ];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-bench-s3-'));
  const s3 = await TestS3.start({ dir: path.join(tmp, 's3') });
  const client = s3.client();
  process.stdout.write(`${rclone.stdout.split('\n')[0]!.trim()} and the AWS SDK for JavaScript v3 against OpenStack Swift s3api on 127.0.0.1; node ${process.versions.node}, ${os.cpus().length} cores\n`);
  const rows: string[][] = [['files', 'tool', 'seconds', 'MB/s', 'files/s', 'peak memory', 'rclone / ours']];
  let round = 0;
  try {
    for (const set of sets) {
      const source = `s${sets.indexOf(set)}`;
      const dataDir = path.join(tmp, 'data');
      const store = openRepositories(dataDir);
      const files = writeFiles(store, source, set);
      const best: { ours: Result | null; rclone: Result | null } = { ours: null, rclone: null };
      try {
        for (const order of [['ours', 'rclone'], ['rclone', 'ours']] as const) {
          for (const tool of order) {
            round++;
            const bucket = `bench-${round}`;
            await s3.createBucket(bucket);
            const prefix = `sites/box/${source}/${set.video ? 'videos/daily' : `pictures/${DAY}`}/`;
            const result = tool === 'ours' ? await ours(configFor(dataDir, s3, source, bucket, `r${round}`), store, files, set.video) : await viaRclone(s3, bucket, prefix, store, files);
            await verify(client, bucket, prefix, store, files);
            await emptyBucket(client, bucket);
            if (!best[tool] || result.seconds < best[tool]!.seconds) best[tool] = result;
          }
        }
      } finally {
        store.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
      const mbps = (r: Result) => r.bytes / 1e6 / r.seconds;
      const fps = (r: Result) => r.files / r.seconds;
      const mem = (r: Result) => `${(r.peakRss / MB).toFixed(0)} MB`;
      const o = best.ours!;
      const r = best.rclone!;
      rows.push([set.name, 'rclone copy', r.seconds.toFixed(2), mbps(r).toFixed(1), fps(r).toFixed(1), mem(r), '']);
      rows.push([set.name, 'lapsebox sync', o.seconds.toFixed(2), mbps(o).toFixed(1), fps(o).toFixed(1), mem(o), (r.seconds / o.seconds).toFixed(2)]);
    }
  } finally {
    client.destroy();
    await s3.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(table(rows));
  process.stdout.write('ratio = rclone time / our time (above 1: we are faster); best of two runs each, orders alternated;\n');
  process.stdout.write('peak memory = highest resident memory above the tool\'s own at its start (ours: this process; rclone: its process)\n');
}

function configFor(dataDir: string, s3: TestS3, source: string, bucket: string, targetId: string): Config {
  return parseConfig(
    stringify({
      appliance: { id: 'box', timezone: 'UTC' },
      storage: { dataDir },
      sources: [{ id: source, camera: { driver: 'testpattern' } }],
      sync: {
        targets: [
          { id: targetId, type: 's3', endpoint: s3.endpoint, region: s3.region, bucket, prefix: 'sites', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true, send: ['pictures', 'videos'] },
        ],
      },
    }),
    path.join(dataDir, 'lapsebox.yaml'),
  ).config;
}

/** Files of random bytes (nothing compresses), indexed as pictures, or as one daily video. */
function writeFiles(store: Repositories, source: string, set: FileSet): LocalFile[] {
  const dir = set.video ? store.layout.videosDir(source, 'daily') : store.layout.dayDir(source, DAY);
  fs.mkdirSync(dir, { recursive: true });
  const out: LocalFile[] = [];
  for (let i = 0; i < set.count; i++) {
    const takenAt = T0 + i * 1000;
    const file = path.join(dir, set.video ? `${DAY}.mp4` : pictureFileName(takenAt));
    // Written a megabyte at a time: a 300 MB video is never held whole.
    const hash = crypto.createHash('sha256');
    const fd = fs.openSync(file, 'w');
    for (let written = 0; written < set.size; ) {
      const chunk = crypto.randomBytes(Math.min(MB, set.size - written));
      fs.writeSync(fd, chunk);
      hash.update(chunk);
      written += chunk.length;
    }
    fs.closeSync(fd);
    const relative = store.layout.relative(file);
    const id = set.video
      ? store.videos.save({ sourceId: source, kind: 'daily', label: DAY, path: relative, posterPath: null, periodFrom: T0, periodTo: T0 + 86_400_000, frames: 1, fps: 25, width: 1, height: 1, durationMs: 40, size: set.size, codec: 'h264', jobId: null, createdAt: T0, phone: null })
      : store.pictures.insert({ sourceId: source, takenAt, localDate: DAY, path: relative, size: set.size, width: 1, height: 1 });
    out.push({ id, path: relative, size: set.size, takenAt, sha: hash.digest('hex') });
  }
  return out;
}

/** Samples a resident-memory reading every 50 ms; returns the peak above the first reading. */
function memoryWatch(read: () => number | null): () => number {
  const start = read() ?? 0;
  let peak = start;
  const timer = setInterval(() => {
    const now = read();
    if (now !== null && now > peak) peak = now;
  }, 50);
  return () => {
    clearInterval(timer);
    const now = read();
    if (now !== null && now > peak) peak = now;
    return Math.max(0, peak - start);
  };
}

/** The whole path: rows queued in one indexing-size transaction, then the worker drains them. */
async function ours(config: Config, store: Repositories, files: LocalFile[], video: boolean): Promise<Result> {
  const targetId = config.sync.targets[0]!.id;
  let sync: SyncService | null = null;
  const outbox = new Outbox({ config: () => config, repo: store.outbox, notify: (ids) => sync?.wake(ids) });
  const stopWatch = memoryWatch(() => process.memoryUsage.rss());
  const started = performance.now();
  // Queued before the worker starts: its start-up would otherwise queue the (already indexed) video
  // itself, and the outbox would take the second queuing for a rebuilt video and send it again.
  store.outbox.transaction(() => {
    for (const f of files) {
      const sourceId = f.path.split('/')[1]!;
      if (video) outbox.video({ id: f.id, sourceId, path: f.path, size: f.size, createdAt: f.takenAt });
      else outbox.picture({ id: f.id, sourceId, path: f.path, size: f.size, takenAt: f.takenAt, rejection: null }, { latest: false });
    }
  });
  sync = new SyncService({ config: () => config, store, outbox, log: silentLogger() });
  sync.start();
  const [pass] = await sync.sendNow(targetId);
  const seconds = (performance.now() - started) / 1000;
  const peakRss = stopWatch();
  await sync.stop();
  if (!pass || pass.error || pass.pending > 0 || pass.sent !== files.length) throw new Error(`our sync did not send each file once: ${JSON.stringify(pass)}`);
  return { seconds, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), peakRss };
}

/** `rclone copy` of the folder, with the server's settings from the environment (never on its command line). */
async function viaRclone(s3: TestS3, bucket: string, prefix: string, store: Repositories, files: LocalFile[]): Promise<Result> {
  const folder = path.dirname(store.layout.absolute(files[0]!.path));
  // AWS_CA_BUNDLE (set on some machines for https) makes rclone's AWS SDK refuse its own HTTP transport; the server is plain http here.
  const { AWS_CA_BUNDLE: _unused, ...inherited } = process.env;
  const env = {
    ...inherited,
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: s3.endpoint,
    RCLONE_CONFIG_BENCH_REGION: s3.region,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: s3.accessKeyId,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: s3.secretAccessKey,
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
  };
  const started = performance.now();
  const child = spawn('rclone', ['copy', '--no-check-dest', folder, `bench:${bucket}/${prefix}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const rssOf = (): number | null => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      return kb === undefined ? null : Number(kb) * 1024;
    } catch {
      return null;
    }
  };
  // rclone's memory at its start is not known before it starts: its first reading is taken as soon as it runs.
  await new Promise((r) => setTimeout(r, 20));
  const stopWatch = memoryWatch(rssOf);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  const peakRss = stopWatch();
  if (code !== 0) throw new Error(`rclone copy failed (${code}): ${stderr}`);
  return { seconds, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), peakRss };
}

async function listAll(client: S3Client, bucket: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Every file under its key with its size, nothing else in the bucket; ten of them (and the video) downloaded and hashed. */
async function verify(client: S3Client, bucket: string, prefix: string, store: Repositories, files: LocalFile[]): Promise<void> {
  const listed = await listAll(client, bucket);
  if (listed.size !== files.length) throw new Error(`${listed.size} objects in ${bucket}, ${files.length} expected`);
  const step = Math.max(1, Math.floor(files.length / 10));
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const key = `${prefix}${path.basename(f.path)}`;
    if (listed.get(key) !== f.size) throw new Error(`${key}: ${listed.get(key) ?? 'missing'} bytes, ${f.size} expected`);
    if (i % step !== 0) continue;
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const hash = crypto.createHash('sha256');
    for await (const chunk of got.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
    if (hash.digest('hex') !== f.sha) throw new Error(`${key} differs from ${store.layout.absolute(f.path)}`);
  }
}

async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    if (!page.Contents?.length) return;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: page.Contents.map((o) => ({ Key: o.Key! })) } }));
  }
}
