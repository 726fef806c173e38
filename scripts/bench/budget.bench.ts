/**
 * `npm run bench -- budget` (issue 23): the whole box's memory at its worst moment, today's
 * settings against the ones before issue 23, in the same run.
 *
 * The load, for each of the two daemons in turn (a child process each, on a copy of the same
 * data folder):
 * - source `b`: a 24 MP camera every 10 s (an HTTP camera on loopback handing out a real
 *   6000x4000 JPEG of 14 MB); source `a`: the test pattern at 1920x1080 every 5 s;
 * - sync of every new picture to a real OpenSSH sshd on loopback;
 * - ten web clients paging through a prepared day of source `a` (LAPSEBOX_BUDGET_FRAMES pictures,
 *   default 1440: a day at one a minute), the thumbnails of each page and one preview;
 * - after LAPSEBOX_BUDGET_QUIET_S (default 60) of that, the 1080p film of the prepared day, asked
 *   as a maintainer would (`POST /api/sources/a/videos`), with the default settings (deflicker on),
 *   LAPSEBOX_BUDGET_FILM_WIDTH wide (default 1920; 1280 for the small-box profile).
 *
 * The two daemons:
 * - "before": the build of LAPSEBOX_BUDGET_BEFORE (default ba90694, the last commit before issue
 *   23; `none` to run only "now"), checked out in a git worktree and compiled here, run as its unit ran it
 *   (MALLOC_ARENA_MAX=2): x264's own threads and lookahead, both picture decodes side by side;
 * - "now": this build, run as systemd/lapsebox.service runs it (DAEMON_ENV and NODE_FLAGS).
 *
 * Printed for each: peak memory per process (VmHWM) and of the whole tree (the sum of the
 * RSS of the daemon and its children, sampled every 200 ms), the memory cgroup the daemon runs
 * in (as systemd runs the unit in one: anon peak, peak with the page cache, OOM kills; with
 * LAPSEBOX_BUDGET_LIMIT_MB as its limit, like the unit's MemoryMax), the encode's frames per second
 * (frames / the builder's own encode time) and the slot lateness of the captures (taken_at
 * minus the slot) without and with the encode; then the ratios now / before. Targets: total
 * at most 450 MB, encode speed at least 0.8x, p99 lateness under 1 s. Reports only; it never
 * fails on a figure.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { stringify } from 'yaml';
import { TestPatternCamera } from '../../daemon/capture/testpattern.camera';
import { localDate, pictureFileName } from '../../daemon/domain/data-folder';
import { PREVIEW_WIDTH, THUMB_WIDTH } from '../../daemon/pipeline/plan';
import { fileLuminance } from '../../daemon/pipeline/sharp';
import { configureSharp } from '../../daemon/pipeline/sharp';
import { openRepositories } from '../../daemon/store/repositories';
import type { NewPicture } from '../../daemon/store/pictures.repository';
import { TestSshd } from '../lib/loopback-sshd';
import { freePort } from '../lib/net';
import { envCount } from './env';
import { DAEMON_ENV, MAIN, MB, NODE_FLAGS, checkUnitSettings, memoryCgroup, metric, percentile, readMetrics, photoLikeJpeg, serveSnapshot, stopChild, tree, untilHealthy, utcDate, warningsOf } from './daemon-child';
import { table } from './table';

const ROOT = path.join(__dirname, '..', '..', '..');
const BEFORE = 'ba90694';
const SOURCES = { a: 5_000, b: 10_000 } as const;
const FRAME = { width: 1920, height: 1080, quality: 90 } as const;
const WEB_CLIENTS = 10;
const WEB_PAUSE_MS = 2_000;
const WARMUP_MS = 10_000;
const SAMPLE_MS = 200;
const TARGETS = { totalMb: 450, encodeRatio: 0.8, p99LatenessMs: 1_000 };

interface Daemon {
  name: string;
  label: string;
  main: string;
  env: Record<string, string>;
  flags: readonly string[];
}

interface Phase {
  from: number;
  to: number;
  peakTotal: number;
  /** RSS of each process (by name) in the sample of the peak. */
  atPeak: Map<string, number>;
  /** The largest anonymous memory (RSS without mapped files) the cgroup was charged, sampled with the tree. */
  cgroupAnon: number;
  /** The daemon's largest sample (once a second) and what it was made of. */
  daemon: DaemonMemory | null;
  lateness: number[];
}

interface DaemonMemory {
  at: number;
  rss: number;
  anon: number;
  /** Mapped files: node, libvips and the other libraries' code. */
  file: number;
  /** V8's heap, allocated (not used). */
  heap: number;
  /** Buffers and other memory V8 knows outside its heap. */
  external: number;
}

interface Outcome {
  daemon: Daemon;
  quiet: Phase;
  film: Phase & { frames: number; encodeMs: number; status: string; encoder: string };
  perProcess: Map<string, number>;
  /** The daemon's memory cgroup, as systemd gives the unit one: its peak including the page cache, and OOM kills. */
  cgroup: { version: 1 | 2; peak: number | null; oomKills: number; limitMb: number | null } | null;
  web: { pages: number; thumbs: number; errors: number };
  warnings: string[];
}

export async function run(): Promise<void> {
  const frames = envCount('LAPSEBOX_BUDGET_FRAMES', 1440);
  const quietMs = envCount('LAPSEBOX_BUDGET_QUIET_S', 60) * 1000;
  const filmWidth = envCount('LAPSEBOX_BUDGET_FILM_WIDTH', 1920);
  const limitMb = process.env['LAPSEBOX_BUDGET_LIMIT_MB'] ? envCount('LAPSEBOX_BUDGET_LIMIT_MB', 0) : null;
  const before = process.env['LAPSEBOX_BUDGET_BEFORE'] || BEFORE;
  checkUnitSettings();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-bench-budget-'));
  if (process.getuid?.() === 0) fs.chmodSync(tmp, 0o755); // the sshd session runs as nobody
  let sshd: TestSshd | null = null;
  let camera: http.Server | null = null;
  let worktree: string | null = null;
  try {
    if (before !== 'none') {
      process.stdout.write(`building the daemon of ${before} (before issue 23) in a git worktree...\n`);
      worktree = buildBefore(before, path.join(tmp, 'build-before'));
    }
    const day = utcDate(Date.now() - 86_400_000);
    process.stdout.write(`preparing ${frames} pictures of source a on ${day} (1920x1080 test pattern, with their thumbnail, preview and frame)...\n`);
    const prepared = path.join(tmp, 'prepared');
    await prepareDay(prepared, day, frames);
    const snapshot = await photoLikeJpeg(path.join(tmp, 'snapshot.jpg'), 6000, 4000);
    camera = await serveSnapshot(snapshot);
    const cameraUrl = `http://127.0.0.1:${(camera.address() as { port: number }).port}/snapshot.jpg`;
    sshd = await TestSshd.start({ dir: path.join(tmp, 'sshd') });
    process.stdout.write(
      `load: source b 6000x4000 every 10 s (an HTTP camera, a ${(fs.statSync(snapshot).size / MB).toFixed(0)} MB JPEG), source a 1920x1080 every 5 s (test pattern), ` +
        `SFTP of every picture to a loopback sshd, ${WEB_CLIENTS} web clients paging ${day}; ${quietMs / 1000} s like that, then the film of ${day} ${filmWidth} px wide ` +
        `(${frames} frames, default settings: libx264 preset medium, crf 23, deflicker); node ${process.versions.node}, ${os.cpus().length} cores, ffmpeg ${ffmpegVersion()}, ` +
        `load average before: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`,
    );
    const daemons: Daemon[] = [
      ...(worktree ? [{ name: 'before', label: `before (${before})`, main: path.join(worktree, 'dist', 'daemon', 'main.js'), env: { MALLOC_ARENA_MAX: '2', LAPSEBOX_LOG_LEVEL: 'warn' }, flags: [] }] : []),
      { name: 'now', label: 'now', main: MAIN, env: { ...DAEMON_ENV }, flags: NODE_FLAGS },
    ];
    const outcomes: Outcome[] = [];
    for (const d of daemons) {
      process.stdout.write(`\n${d.label}: running...\n`);
      outcomes.push(await runOne(d, { tmp, prepared, day, cameraUrl, sshd, quietMs, filmWidth, limitMb }));
    }
    report(outcomes);
  } finally {
    camera?.close();
    await sshd?.stop();
    if (worktree) removeWorktree(worktree);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- the two daemons

/** The daemon of `rev`, compiled in a git worktree of this checkout with this checkout's node_modules. */
function buildBefore(rev: string, dir: string): string {
  const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  try {
    git('rev-parse', '--verify', `${rev}^{commit}`);
  } catch {
    throw new Error(`the budget bench compares with the daemon of ${rev}, but ${ROOT} is not a git checkout that has it (set LAPSEBOX_BUDGET_BEFORE to a commit it has)`);
  }
  git('worktree', 'add', '--detach', dir, rev);
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'tsconfig.json')], { stdio: 'inherit' });
  return dir;
}

function removeWorktree(dir: string): void {
  try {
    execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', dir], { stdio: 'ignore' });
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    execFileSync('git', ['-C', ROOT, 'worktree', 'prune'], { stdio: 'ignore' });
  }
}

/** A day of source `a` as the daemon would have stored it: the picture, its thumbnail, preview and frame, indexed. */
async function prepareDay(dataDir: string, day: string, count: number): Promise<void> {
  configureSharp();
  fs.mkdirSync(dataDir, { recursive: true });
  const store = openRepositories(dataDir);
  try {
    const { layout } = store;
    const start = Date.parse(`${day}T00:00:00Z`);
    const camera = new TestPatternCamera({ sourceId: 'a', sourceName: 'a', timezone: 'UTC', location: { latitude: 48.85, longitude: 2.35 }, ...FRAME });
    const signal = new AbortController().signal;
    const rows: NewPicture[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const takenAt = start + Math.round((i * 86_400_000) / count);
        const relative = layout.relative(path.join(layout.dayDir('a', localDate(takenAt, 'UTC')), pictureFileName(takenAt)));
        const file = path.join(dataDir, relative);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const { size } = await camera.capture({ destination: file, takenAt: new Date(takenAt), signal });
        for (const [kind, width] of [['thumb', THUMB_WIDTH], ['preview', PREVIEW_WIDTH], ['frame', FRAME.width]] as const) {
          const to = layout.derivative(relative, kind);
          fs.mkdirSync(path.dirname(to), { recursive: true });
          await sharp(file).resize({ width }).jpeg({ quality: 85 }).toFile(to);
        }
        // Its mean luminance, as the pipeline stores it with every picture (the films' deflicker reads it).
        const luminance = await fileLuminance(file);
        rows.push({ sourceId: 'a', takenAt, localDate: day, path: relative, size, width: FRAME.width, height: FRAME.height, luminance, derivatives: ['thumb', 'preview', 'frame'] });
      }
    } finally {
      await camera.close();
    }
    store.pictures.transaction(() => {
      for (const row of rows) store.pictures.insert(row);
    });
  } finally {
    store.close();
  }
}

async function runOne(d: Daemon, ctx: { tmp: string; prepared: string; day: string; cameraUrl: string; sshd: TestSshd; quietMs: number; filmWidth: number; limitMb: number | null }): Promise<Outcome> {
  const home = path.join(ctx.tmp, d.name);
  const dataDir = path.join(home, 'data');
  fs.mkdirSync(home);
  fs.cpSync(ctx.prepared, dataDir, { recursive: true });
  const port = await freePort();
  const configFile = path.join(home, 'lapsebox.yaml');
  fs.writeFileSync(
    configFile,
    stringify({
      appliance: { id: `budget-${d.name}`, timezone: 'UTC' },
      storage: { dataDir: 'data' },
      web: { host: '127.0.0.1', port },
      sources: [
        // No daily film of its own: at start the daemon would build the prepared day's at once, outside the film phase.
        { id: 'a', camera: { driver: 'testpattern', width: FRAME.width, height: FRAME.height }, schedule: { every: `${SOURCES.a / 1000}s` }, timelapse: { daily: { enabled: false } } },
        { id: 'b', camera: { driver: 'http', url: ctx.cameraUrl, timeout: '60s' }, schedule: { every: `${SOURCES.b / 1000}s` }, timelapse: { daily: { enabled: false } } },
      ],
      sync: { targets: [ctx.sshd.target('hq')] },
    }),
  );
  const log = path.join(home, 'daemon.log');
  const fd = fs.openSync(log, 'w');
  const cgroup = memoryCgroup(`lapsebox-budget-${d.name}-${process.pid}`, ctx.limitMb === null ? null : ctx.limitMb * MB);
  if (!cgroup && ctx.limitMb !== null) throw new Error('LAPSEBOX_BUDGET_LIMIT_MB needs a memory cgroup, and this machine does not let this process make one');
  const args = [...d.flags, d.main, 'run', '--config', configFile];
  const options: SpawnOptions = { cwd: home, env: { ...process.env, ...d.env }, stdio: ['ignore', fd, fd] };
  let child: ChildProcess | null = cgroup ? cgroup.spawn(process.execPath, args, options) : spawn(process.execPath, args, options);
  fs.closeSync(fd);
  try {
    const pid = child.pid!;
    const base = `http://127.0.0.1:${port}`;
    await untilHealthy(child, base, log);
    const password = fs.readFileSync(path.join(dataDir, 'initial-admin-password'), 'utf8').trim();
    const auth = { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` };

    // Memory, every 200 ms: the sum of the tree's RSS, and each process's high-water mark.
    const totals: { at: number; bytes: number; byComm: Map<string, number>; cgroupAnon: number }[] = [];
    const perProcess = new Map<string, number>();
    // The daemon's own memory, once a second: what its RSS is made of.
    const daemonSamples: DaemonMemory[] = [];
    let sampling = true;
    const sampler = (async () => {
      for (let k = 0; sampling; k++) {
        if (k % 5 === 0) {
          const at = Date.now();
          const [status, metrics] = [fs.readFileSync(`/proc/${pid}/status`, 'utf8'), await readMetrics(base, auth)];
          const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
          daemonSamples.push({ at, rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), heap: metric(metrics, 'nodejs_heap_size_total_bytes'), external: metric(metrics, 'nodejs_external_memory_bytes') });
        }
        const procs = tree(pid);
        const byComm = new Map<string, number>();
        for (const p of procs) byComm.set(p.comm, (byComm.get(p.comm) ?? 0) + p.rss);
        totals.push({ at: Date.now(), bytes: procs.reduce((n, p) => n + p.rss, 0), byComm, cgroupAnon: cgroup?.now().anon ?? NaN });
        for (const p of procs) perProcess.set(p.comm, Math.max(perProcess.get(p.comm) ?? 0, p.hwm));
        await sleep(SAMPLE_MS);
      }
    })();

    // Ten browsers paging the prepared day until told to stop.
    const web = { pages: 0, thumbs: 0, errors: 0 };
    let browsing = true;
    const clients = Array.from({ length: WEB_CLIENTS }, async (_, i) => {
      await sleep(i * 300);
      let cursor: string | null = null;
      while (browsing) {
        try {
          const res = await fetch(`${base}/api/sources/a/pictures?date=${ctx.day}&limit=60${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: auth });
          const body = (await res.json()) as { pictures?: { id: number }[]; next?: string | null };
          if (res.status !== 200 || !body.pictures) throw new Error(`page ${res.status}`);
          web.pages++;
          cursor = body.next ?? null;
          for (const [k, p] of body.pictures.entries()) {
            if (!browsing) break;
            const r = await fetch(`${base}/api/pictures/${p.id}/${k === 0 ? 'preview' : 'thumb'}`, { headers: auth });
            await r.arrayBuffer();
            if (r.status === 200) web.thumbs++;
            else web.errors++;
          }
        } catch {
          web.errors++;
          cursor = null;
        }
        await sleep(WEB_PAUSE_MS);
      }
    });

    await sleep(WARMUP_MS);
    const quietFrom = Date.now();
    await sleep(ctx.quietMs);
    const quietTo = Date.now();

    const filmFrom = Date.now();
    const res = await fetch(`${base}/api/sources/a/videos`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ from: ctx.day, to: ctx.day, width: ctx.filmWidth }) });
    const asked = (await res.json()) as { job?: { id: number }; error?: string };
    if (res.status !== 202 || !asked.job) throw new Error(`the film was refused: ${res.status} ${JSON.stringify(asked)}`);
    let job: { status: string; message?: string | null; result?: { frames?: number; encodeMs?: number; encoder?: string } | null } = { status: 'queued' };
    while (job.status === 'queued' || job.status === 'running') {
      await sleep(1_000);
      const r = await fetch(`${base}/api/jobs/${asked.job.id}`, { headers: auth });
      job = ((await r.json()) as { job: typeof job }).job;
    }
    const filmTo = Date.now();
    browsing = false;
    await Promise.all(clients);
    sampling = false;
    await sampler;
    const cgroupPeak = cgroup?.peak() ?? null;
    const oomKills = cgroup?.oomKills() ?? 0;
    await stopChild(child);
    child = null;

    const phase = (from: number, to: number): Phase => {
      const inside = totals.filter((t) => t.at >= from && t.at <= to);
      const top = inside.reduce((a, b) => (b.bytes > a.bytes ? b : a), { at: 0, bytes: 0, byComm: new Map<string, number>(), cgroupAnon: NaN });
      const cgroupAnon = Math.max(...inside.map((t) => t.cgroupAnon));
      const daemonTop = daemonSamples.filter((m) => m.at >= from && m.at <= to).reduce<DaemonMemory | null>((a, b) => (!a || b.rss > a.rss ? b : a), null);
      return { from, to, peakTotal: top.bytes, atPeak: top.byComm, cgroupAnon, daemon: daemonTop, lateness: latenessBetween(dataDir, from, to) };
    };
    return {
      daemon: d,
      quiet: phase(quietFrom, quietTo),
      film: { ...phase(filmFrom, filmTo), frames: job.result?.frames ?? 0, encodeMs: job.result?.encodeMs ?? 0, status: job.status + (job.message ? `: ${job.message}` : ''), encoder: job.result?.encoder ?? '?' },
      perProcess,
      cgroup: cgroup ? { version: cgroup.version, peak: cgroupPeak, oomKills, limitMb: ctx.limitMb } : null,
      web,
      warnings: warningsOf(log),
    };
  } finally {
    if (child) await stopChild(child);
    cgroup?.remove();
  }
}

/** taken_at minus the slot of every picture taken in [from, to), both sources. */
function latenessBetween(dataDir: string, from: number, to: number): number[] {
  const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare<[number, number], { source_id: 'a' | 'b'; taken_at: number }>('SELECT source_id, taken_at FROM pictures WHERE taken_at >= ? AND taken_at < ?')
      .all(from, to)
      .map((r) => r.taken_at % SOURCES[r.source_id]);
  } finally {
    db.close();
  }
}

function ffmpegVersion(): string {
  try {
    return /ffmpeg version (\S+)/.exec(execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    return 'not found';
  }
}

// ---------------------------------------------------------------- report

function report(outcomes: Outcome[]): void {
  // Without a "before" run (LAPSEBOX_BUDGET_BEFORE=none), "now" stands in for it and the ratios are 1.
  const [before, now] = (outcomes.length === 2 ? outcomes : [outcomes[0], outcomes[0]]) as [Outcome, Outcome];
  const mb = (b: number) => `${(b / MB).toFixed(0)} MB`;
  const fps = (o: Outcome) => (o.film.encodeMs > 0 ? (o.film.frames * 1000) / o.film.encodeMs : NaN);
  const spread = (xs: number[]) => (xs.length ? `${percentile(xs, 0.5)} / ${percentile(xs, 0.99)} / ${Math.max(...xs)} ms (${xs.length})` : '-');
  const inner = (m: DaemonMemory | null) =>
    m ? `${(m.rss / MB).toFixed(0)} = files ${(m.file / MB).toFixed(0)} + anon ${(m.anon / MB).toFixed(0)} (V8 heap ${(m.heap / MB).toFixed(0)}, buffers ${(m.external / MB).toFixed(0)})` : '-';
  const cg = (o: Outcome, f: (o: Outcome) => string) => (o.cgroup ? f(o) : 'no cgroup here');
  const cgPeak = (o: Outcome) => `${o.cgroup!.peak === null ? '?' : mb(o.cgroup!.peak)}${o.cgroup!.limitMb ? ` (limit ${o.cgroup!.limitMb} MB)` : ''}, ${o.cgroup!.oomKills}`;
  const parts = (m: Map<string, number>) => [...m].sort((x, y) => y[1] - x[1]).map(([c, b]) => `${c} ${(b / MB).toFixed(0)}`).join(' + ');
  const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : '-');
  const comms = [...new Set([...before.perProcess.keys(), ...now.perProcess.keys()])].sort((x, y) => (now.perProcess.get(y) ?? 0) - (now.perProcess.get(x) ?? 0));
  process.stdout.write('\nmemory (MB = MiB), encode and lateness; ratio = now / before\n');
  process.stdout.write(
    table([
      ['figure', before.daemon.label, now.daemon.label, 'ratio'],
      ...comms.map((c) => [`peak of ${c} (VmHWM)`, mb(before.perProcess.get(c) ?? 0), mb(now.perProcess.get(c) ?? 0), ratio(now.perProcess.get(c) ?? 0, before.perProcess.get(c) ?? 0)]),
      ['peak total without the film (sum of RSS)', mb(before.quiet.peakTotal), mb(now.quiet.peakTotal), ratio(now.quiet.peakTotal, before.quiet.peakTotal)],
      ['  made of', parts(before.quiet.atPeak), parts(now.quiet.atPeak), ''],
      ['peak total during the film (sum of RSS)', mb(before.film.peakTotal), mb(now.film.peakTotal), ratio(now.film.peakTotal, before.film.peakTotal)],
      ['  made of', parts(before.film.atPeak), parts(now.film.atPeak), ''],
      ['cgroup: anon peak without / during the film', cg(before, (o) => `${mb(o.quiet.cgroupAnon)} / ${mb(o.film.cgroupAnon)}`), cg(now, (o) => `${mb(o.quiet.cgroupAnon)} / ${mb(o.film.cgroupAnon)}`), ratio(now.film.cgroupAnon, before.film.cgroupAnon)],
      ['cgroup: peak with the page cache, OOM kills', cg(before, cgPeak), cg(now, cgPeak), ''],
      ['daemon at its largest without the film', inner(before.quiet.daemon), inner(now.quiet.daemon), ''],
      ['daemon at its largest during the film', inner(before.film.daemon), inner(now.film.daemon), ''],
      ['film', `${before.film.frames} frames, ${before.film.encoder}, ${before.film.status}`, `${now.film.frames} frames, ${now.film.encoder}, ${now.film.status}`, ''],
      ['encode (frames per second)', fps(before).toFixed(1), fps(now).toFixed(1), ratio(fps(now), fps(before))],
      ['lateness without the film p50 / p99 / max (pictures)', spread(before.quiet.lateness), spread(now.quiet.lateness), ''],
      ['lateness during the film p50 / p99 / max (pictures)', spread(before.film.lateness), spread(now.film.lateness), ''],
      ['web: pages, pictures, errors', `${before.web.pages}, ${before.web.thumbs}, ${before.web.errors}`, `${now.web.pages}, ${now.web.thumbs}, ${now.web.errors}`, ''],
    ]),
  );
  const peak = Math.max(now.quiet.peakTotal, now.film.peakTotal);
  const p99 = percentile([...now.quiet.lateness, ...now.film.lateness], 0.99);
  const met = (ok: boolean) => (ok ? 'met' : 'not met');
  process.stdout.write('\ntargets (now)\n');
  process.stdout.write(
    table([
      ['figure', 'value', 'target', ''],
      ['peak total of the box (daemon and children)', mb(peak), `<= ${TARGETS.totalMb} MB`, met(peak / MB <= TARGETS.totalMb)],
      ['encode speed against before', ratio(fps(now), fps(before)), `>= ${TARGETS.encodeRatio}x`, met(fps(now) / fps(before) >= TARGETS.encodeRatio)],
      ['p99 slot lateness, with and without the film', `${p99} ms`, `< ${TARGETS.p99LatenessMs} ms`, met(p99 < TARGETS.p99LatenessMs)],
    ]),
  );
  for (const o of outcomes) process.stdout.write(`${o.daemon.label} warnings and errors: ${o.warnings.length === 0 ? 'none' : o.warnings.join('; ')}\n`);
}

if (require.main === module) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
