/**
 * Retention against a plain delete of the same files, in the same run: N
 * pictures (each with its thumb and preview sizes, 3 files) already sent to a
 * target, all past their age. Ours is the whole path: candidates read in pages,
 * the outbox checked per picture, files removed, rows deleted in one
 * transaction per batch (the per-day counts kept by triggers), empty folders
 * removed. The reference is `fs.promises.rm` of the same files in a loop, with
 * no database at all. Prints pictures/s of both and the ratio, ours unthrottled
 * and with the daemon's pause between batches, and the event loop's worst delay
 * while ours runs (what a web request or a capture would wait at most).
 * Reports only; it never fails on a time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { localDate, pictureFileName } from '../../daemon/domain/data-folder';
import { StorageGuard } from '../../daemon/storage/retention';
import { silentLogger } from '../../daemon/logger';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { remotePathOf } from '../../daemon/sync/remote-paths';
import { envCount } from './env';

const DAY_MS = 86_400_000;
const NOW = Date.parse('2026-11-20T12:00:00Z');
const SIZES = ['thumb', 'preview'] as const;

function configFor(dataDir: string): Config {
  const text = stringify({
    appliance: { id: 'bench', timezone: 'Europe/Paris' },
    storage: { dataDir, retention: { maxAgeDays: 1 } },
    sources: [{ id: 'north', camera: { driver: 'testpattern' } }],
    sync: { targets: [{ id: 'hq', type: 'sftp', host: '127.0.0.1', username: 'u', password: 'p', hostKey: `SHA256:${'A'.repeat(43)}`, remoteDir: '/srv' }] },
    alerts: { webhook: { url: 'http://127.0.0.1:9/' } },
  });
  return parseConfig(text, path.join(dataDir, '..', 'lapsebox.yaml')).config;
}

/** N pictures a minute apart ending two days ago, with their sizes, sent to hq. Returns every file written. */
function seed(config: Config, store: Repositories, n: number): string[] {
  const files: string[] = [];
  const body = Buffer.alloc(4096, 7);
  const rows: { takenAt: number; day: string; rel: string }[] = [];
  for (let i = 0; i < n; i++) {
    const takenAt = NOW - 2 * DAY_MS - (n - i) * 60_000;
    const day = localDate(takenAt, config.appliance.timezone);
    const rel = path.join('sources', 'north', 'pictures', day, pictureFileName(takenAt));
    const abs = store.layout.absolute(rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, body);
    files.push(abs);
    for (const kind of SIZES) {
      const d = store.layout.derivative(rel, kind);
      fs.mkdirSync(path.dirname(d), { recursive: true });
      fs.writeFileSync(d, body);
      files.push(d);
    }
    rows.push({ takenAt, day, rel });
  }
  store.pictures.transaction(() => {
    for (const r of rows) {
      const id = store.pictures.insert({ sourceId: 'north', takenAt: r.takenAt, localDate: r.day, path: r.rel, size: body.length, width: 640, height: 480, derivatives: [...SIZES] });
      store.outbox.add({ targetId: 'hq', kind: 'picture', sourceId: 'north', itemId: id, localPath: r.rel, remotePath: remotePathOf('picture', 'north', r.rel), size: body.length, priority: 1, orderAt: r.takenAt, replaces: false, overwrite: false }, NOW);
    }
  });
  store.db.prepare(`UPDATE outbox SET state = 'sent', sent_at = ?`).run(NOW);
  // One picture from today, the newest, which retention always keeps.
  store.pictures.insert({ sourceId: 'north', takenAt: NOW, localDate: localDate(NOW, config.appliance.timezone), path: 'sources/north/pictures/today.jpg', size: 1, width: 1, height: 1 });
  return files;
}

async function ours(n: number, pauseMs: number): Promise<{ seconds: number; worstLoopMs: number; p99LoopMs: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-bench-retention-'));
  const config = configFor(path.join(dir, 'data'));
  fs.mkdirSync(config.storage.dataDir, { recursive: true });
  const store = openRepositories(config.storage.dataDir);
  try {
    seed(config, store, n);
    const sut = new StorageGuard({ config: () => config, store, log: silentLogger(), now: () => NOW, batchPauseMs: pauseMs });
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const started = process.hrtime.bigint();
    const deleted = await sut.purgeByAge();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    loop.disable();
    if (deleted !== n) throw new Error(`retention deleted ${deleted} pictures, expected ${n}`);
    const left = fs.readdirSync(store.layout.sourcesDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
    if (left !== 0) throw new Error(`${left} files left behind`);
    return { seconds, worstLoopMs: loop.max / 1e6, p99LoopMs: loop.percentile(99) / 1e6 };
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function plainRm(n: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-bench-rm-'));
  const config = configFor(path.join(dir, 'data'));
  fs.mkdirSync(config.storage.dataDir, { recursive: true });
  const store = openRepositories(config.storage.dataDir);
  try {
    const files = seed(config, store, n);
    const started = process.hrtime.bigint();
    for (const f of files) await fs.promises.rm(f, { force: true });
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const n = envCount('LAPSEBOX_BENCH_PURGE', 20_000);
  process.stdout.write(`${n} pictures, each with 2 sizes (${n * 3} files of 4 KB), all sent and past their age; best of 2\n`);
  const best = async <T extends { seconds: number }>(f: () => Promise<T>) => {
    const a = await f();
    const b = await f();
    return a.seconds <= b.seconds ? a : b;
  };
  const reference = await best(async () => ({ seconds: await plainRm(n) }));
  const fast = await best(() => ours(n, 0));
  const throttled = await best(() => ours(n, 50));
  const rate = (s: number) => Math.round(n / s);
  const row = (name: string, s: number, extra = '') => process.stdout.write(`  ${name.padEnd(40)} ${s.toFixed(2).padStart(7)} s  ${String(rate(s)).padStart(7)} pictures/s  ratio ${(reference.seconds / s).toFixed(2)}${extra}\n`);
  row('plain fs.rm of the same files (reference)', reference.seconds);
  row('retention, no pause between batches', fast.seconds, `  event loop worst ${fast.worstLoopMs.toFixed(1)} ms, p99 ${fast.p99LoopMs.toFixed(1)} ms`);
  row('retention as the daemon runs it (50 ms)', throttled.seconds, `  event loop worst ${throttled.worstLoopMs.toFixed(1)} ms, p99 ${throttled.p99LoopMs.toFixed(1)} ms`);
  process.stdout.write('  (ratio: reference time / ours; 1.00 = as fast as deleting the files alone)\n');
}
