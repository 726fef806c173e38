/**
 * The sync against OpenSSH's own client, to a real sshd on loopback, in the same
 * run: 200 files of 4 MB and 1000 files of 50 KB. Ours is the whole path: the
 * outbox rows written in one indexing transaction, then the worker's temporary
 * name, size check, rename and database update for each file. OpenSSH's is
 * `sftp -b` with one `put` per file to its final name (no temporary name, no
 * check): the plain copy a script would do. Each set runs in both orders and the
 * best of each is kept. Prints MB/s, files/s and the ratio ours/OpenSSH (the
 * issue asks for at least 1.0 on both). Every uploaded file is compared by size
 * and SHA-256 before a figure is printed. Reports only; it never fails on a time.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { pictureFileName } from '../../daemon/domain/data-folder';
import { silentLogger } from '../../daemon/logger';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { Outbox } from '../../daemon/sync/outbox';
import { SyncService } from '../../daemon/sync/sync.service';
import { TestSshd } from '../lib/loopback-sshd';
import { envCount } from './env';
import { table } from './table';

const exec = promisify(execFile);
const DAY = '2026-11-20';
const T0 = Date.parse(`${DAY}T08:00:00Z`);

interface FileSet {
  name: string;
  count: number;
  size: number;
}

interface Result {
  seconds: number;
  files: number;
  bytes: number;
}

export async function run(): Promise<void> {
  const sets: FileSet[] = [
    { name: `${envCount('SYNC_BIG_FILES', 200)} x 4 MB`, count: envCount('SYNC_BIG_FILES', 200), size: 4 * 1024 * 1024 },
    { name: `${envCount('SYNC_SMALL_FILES', 1000)} x 50 KB`, count: envCount('SYNC_SMALL_FILES', 1000), size: 50 * 1024 },
  ];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-bench-sync-'));
  const sshd = await TestSshd.start({ dir: path.join(tmp, 'server') });
  fs.chmodSync(sshd.clientKey, 0o600);
  // ssh -V prints its version on standard error.
  const { stderr: version } = await exec('ssh', ['-V']).catch((e: { stderr: string }) => ({ stderr: e.stderr }));
  process.stdout.write(`${version.trim()} server and client on 127.0.0.1; node ${process.versions.node}, ${os.cpus().length} cores\n`);
  const rows: string[][] = [['files', 'tool', 'seconds', 'MB/s', 'files/s', 'ours / OpenSSH']];
  let round = 0;
  try {
    for (const set of sets) {
      const source = `s${sets.indexOf(set)}`;
      const dataDir = path.join(tmp, 'data');
      let config = configFor(dataDir, sshd, source, `r${round}`);
      const store = openRepositories(dataDir);
      const pictures = writePictures(store, source, set);
      const best: { ours: Result | null; openssh: Result | null } = { ours: null, openssh: null };
      try {
        for (const order of [['ours', 'openssh'], ['openssh', 'ours']] as const) {
          for (const tool of order) {
            round++;
            fs.rmSync(path.join(sshd.root), { recursive: true, force: true });
            fs.mkdirSync(sshd.root, { recursive: true });
            if (process.getuid?.() === 0) fs.chownSync(sshd.root, Number((await exec('id', ['-u', 'nobody'])).stdout), Number((await exec('id', ['-g', 'nobody'])).stdout));
            let result: Result;
            if (tool === 'ours') {
              config = configFor(dataDir, sshd, source, `r${round}`);
              result = await ours(config, store, pictures);
              verify(sshd, path.join(`box`, source, 'pictures', DAY), store, pictures);
            } else {
              result = await openssh(sshd, tmp, store, pictures, path.join(sshd.root, 'box', source, 'pictures', DAY));
              verify(sshd, path.join('box', source, 'pictures', DAY), store, pictures);
            }
            if (!best[tool] || result.seconds < best[tool]!.seconds) best[tool] = result;
          }
        }
      } finally {
        store.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
      const mbps = (r: Result) => r.bytes / 1e6 / r.seconds;
      const fps = (r: Result) => r.files / r.seconds;
      const o = best.ours!;
      const s = best.openssh!;
      rows.push([set.name, 'OpenSSH sftp -b', s.seconds.toFixed(2), mbps(s).toFixed(1), fps(s).toFixed(0), '']);
      rows.push([set.name, 'lapsebox sync', o.seconds.toFixed(2), mbps(o).toFixed(1), fps(o).toFixed(0), (s.seconds / o.seconds).toFixed(2)]);
    }
  } finally {
    await sshd.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(table(rows));
  process.stdout.write('ratio = OpenSSH time / our time (above 1: we are faster); best of two runs each, orders alternated\n');
}

function configFor(dataDir: string, sshd: TestSshd, source: string, targetId: string): Config {
  return parseConfig(
    stringify({
      appliance: { id: 'box', timezone: 'UTC' },
      storage: { dataDir },
      sources: [{ id: source, camera: { driver: 'testpattern' } }],
      sync: { targets: [sshd.target(targetId, { send: ['pictures'] })] },
    }),
    path.join(dataDir, 'lapsebox.yaml'),
  ).config;
}

/** Files of random bytes (nothing compresses) in a picture folder, indexed as pictures. */
function writePictures(store: Repositories, source: string, set: FileSet): { id: number; path: string; size: number; takenAt: number; sha: string }[] {
  const dir = store.layout.dayDir(source, DAY);
  fs.mkdirSync(dir, { recursive: true });
  const out = [];
  for (let i = 0; i < set.count; i++) {
    const takenAt = T0 + i * 1000;
    const file = path.join(dir, pictureFileName(takenAt));
    const bytes = crypto.randomBytes(set.size);
    fs.writeFileSync(file, bytes);
    const relative = store.layout.relative(file);
    const id = store.pictures.insert({ sourceId: source, takenAt, localDate: DAY, path: relative, size: set.size, width: 1, height: 1 });
    out.push({ id, path: relative, size: set.size, takenAt, sha: crypto.createHash('sha256').update(bytes).digest('hex') });
  }
  return out;
}

/** The whole path: rows queued in one indexing-size transaction, then the worker drains them. */
async function ours(config: Config, store: Repositories, pictures: ReturnType<typeof writePictures>): Promise<Result> {
  const targetId = config.sync.targets[0]!.id;
  let sync: SyncService | null = null;
  const outbox = new Outbox({ config: () => config, repo: store.outbox, notify: (ids) => sync?.wake(ids) });
  const started = performance.now();
  sync = new SyncService({ config: () => config, store, outbox, log: silentLogger() });
  sync.start();
  store.outbox.transaction(() => {
    for (const p of pictures) outbox.picture({ id: p.id, sourceId: p.path.split('/')[1]!, path: p.path, size: p.size, takenAt: p.takenAt, rejection: null }, { latest: false });
  });
  const [pass] = await sync.sendNow(targetId);
  const seconds = (performance.now() - started) / 1000;
  await sync.stop();
  if (!pass || pass.error || pass.pending > 0) throw new Error(`our sync did not finish: ${JSON.stringify(pass)}`);
  return { seconds, files: pictures.length, bytes: pictures.reduce((n, p) => n + p.size, 0) };
}

/** OpenSSH's client in batch mode: one put per file to its final name. */
async function openssh(sshd: TestSshd, tmp: string, store: Repositories, pictures: ReturnType<typeof writePictures>, remoteDir: string): Promise<Result> {
  const batch = path.join(tmp, 'batch');
  const dirs: string[] = [];
  for (let d = remoteDir; d !== sshd.root; d = path.dirname(d)) dirs.unshift(d);
  fs.writeFileSync(batch, [...dirs.map((d) => `-mkdir ${d}`), ...pictures.map((p) => `put ${store.layout.absolute(p.path)} ${remoteDir}/${path.basename(p.path)}`)].join('\n') + '\n');
  const started = performance.now();
  await exec('sftp', ['-q', '-b', batch, '-i', sshd.clientKey, '-P', String(sshd.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `${sshd.username}@127.0.0.1`], { maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - started) / 1000;
  return { seconds, files: pictures.length, bytes: pictures.reduce((n, p) => n + p.size, 0) };
}

/** Every file on the server under its final name, with its size and SHA-256; nothing else there. */
function verify(sshd: TestSshd, relativeDir: string, store: Repositories, pictures: ReturnType<typeof writePictures>): void {
  const files = sshd.files();
  if (files.size !== pictures.length) throw new Error(`${files.size} files on the server, ${pictures.length} expected`);
  for (const p of pictures) {
    const remote = path.join(sshd.root, relativeDir, path.basename(p.path));
    const sha = crypto.createHash('sha256').update(fs.readFileSync(remote)).digest('hex');
    if (sha !== p.sha) throw new Error(`${remote} differs from ${store.layout.absolute(p.path)}`);
  }
}
