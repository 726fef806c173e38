/**
 * `npm run bench -- soak` (issue 23): the real daemon (a child process, with the memory settings
 * of systemd/lapsebox.service: MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, --max-semi-space-size)
 * for LAPSEBOX_SOAK_MINUTES (default 10; 120 for the issue note) under a site's load, sampled every
 * LAPSEBOX_SOAK_SAMPLE_S (default 60):
 *
 * - source `a`: test pattern 1920x1080 every 1 s; source `b`: a 24 MP camera every 10 s, an HTTP
 *   camera on loopback handing out a real 6000x4000 JPEG of 14 MB (as a DSLR's file reaches the
 *   pipeline: the test pattern would add its own 72 MB drawing buffer, which no camera has);
 * - an SFTP target on a real OpenSSH sshd on loopback (scripts/lib/loopback-sshd.ts, at nice 10: a box's server
 *   is elsewhere), stopped at 40 %
 *   of the run (its sessions killed) and started again at 60 %;
 * - a film of source `a`'s day so far, forced at 50 % by `POST /api/sources/a/videos` as the maintainer;
 * - 4 web clients paging through source `a`'s day (`/api/sources/a/pictures?date=&limit=100`, following
 *   `next`, then the thumbs of the page), a pause of 3 s between pages.
 *
 * Each sample: the daemon's VmRSS and the sum over its process tree (children from
 * /proc/<pid>/task/* /children, recursively), its V8 heap used and event-loop lag p99 (prom-client's
 * `nodejs_heap_size_used_bytes`, `nodejs_eventloop_lag_p99_seconds`, reset at each scrape, so the lag is
 * over the sample), open descriptors (/proc/<pid>/fd), child processes, the outbox backlog, and the
 * slot lateness of the pictures taken in the sample (taken_at minus its slot, the wall-clock multiple of
 * the period; from the database, read-only). Memory peaks are sampled every second as well (VmHWM of
 * every process in the tree, so a short ffmpeg is caught at its peak).
 *
 * At the end the outbox gets time to drain (everything taken before the end of the run), the daemon is
 * stopped (SIGTERM), then the server is checked: every picture and video of the data folder is under
 * `<remoteDir>/<appliance.id>/<source>/...` once (inotify counts the renames onto each final name: one
 * upload each), none missing, none extra, no `.tmp-` left. Missed slots: slots of the measured window
 * (after 10 s of warm-up) without a picture, and the scheduler's own `source_state.skipped`.
 *
 * LAPSEBOX_SOAK_HEAP_SNAPSHOTS=DIR keeps a heap snapshot of the daemon from before the measured
 * window and one from after it in DIR (open both in Chrome's DevTools, Memory, "Comparison").
 * Taking one stops the daemon for seconds (slots around it are skipped, outside the window) and
 * leaves its RSS higher: a run with snapshots finds a leak; the figures come from a run without.
 * LAPSEBOX_SOAK_MAPS=DIR keeps the daemon's /proc/<pid>/smaps and its metrics at the first sample
 * and at each quarter, to compare mapping by mapping where native memory grows.
 *
 * Reports only: every target is printed with "met" or "not met"; it never fails on a figure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { TestSshd } from '../lib/loopback-sshd';
import { freePort } from '../lib/net';
import { envCount } from './env';
import { allocatorOf } from '../../daemon/allocator';
import { DAEMON_ENV, MAIN, MB, type MemoryParts, NODE_FLAGS, checkUnitSettings, memoryParts, metric, percentile, photoLikeJpeg, readMetrics, serveSnapshot, statusKb, stopChild, tree, untilHealthy, utcDate, warningsOf } from './daemon-child';
import { table } from './table';

const BOX = 'bench-soak';
const TARGET = 'hq';
const SOURCES = [
  { id: 'a', periodMs: 1_000, camera: { driver: 'testpattern', width: 1920, height: 1080 } },
  { id: 'b', periodMs: 10_000, camera: { driver: 'http', url: 'http://127.0.0.1:0/snapshot.jpg', timeout: '60s' } },
] as const;
/** After /healthz, before the measured window: start-up and the first captures. */
const WARMUP_MS = 10_000;
const WEB_CLIENTS = 4;
const WEB_PAUSE_MS = 3_000;
/** After the run: how long the outbox may take to send what was taken before the end. */
const DRAIN_MS = 15 * 60_000;
/** Rejections that stay on the box (docs/sync.md): not expected on the server. */
const NOT_SENT = ['corrupt', 'too-small', 'too-large'];
const TARGETS = { rssGrowthPct: 10, fdDrift: 5, missed: 0, lost: 0, peakTreeMb: 450 };
/** The loopback SFTP server's niceness: a box's server is elsewhere, and its work (encryption, writing 1,900 files after the outage) must not count as the box's. */
const SERVER_NICENESS = 10;

interface Sample {
  atMs: number;
  rss: number;
  treeRss: number;
  heap: number;
  /** Where the daemon's RSS is (anonymous, file-backed, malloc's main heap), and V8's committed heap and external memory. */
  parts: MemoryParts;
  heapTotal: number;
  external: number;
  fds: number;
  children: number;
  lagP99Ms: number;
  lateness: number[];
  /** created_at - slot: when the picture was stored. */
  stored: number[];
  pictures: number;
  pending: number;
  sshdUp: boolean;
}

export async function run(): Promise<void> {
  const minutes = envCount('LAPSEBOX_SOAK_MINUTES', 10);
  // A folder to keep two heap snapshots of the daemon in (before and after the measured window), to tell a leak from garbage.
  const snapshots = process.env['LAPSEBOX_SOAK_HEAP_SNAPSHOTS'] ? path.resolve(process.env['LAPSEBOX_SOAK_HEAP_SNAPSHOTS']) : null;
  // A folder to keep the daemon's memory map (/proc/<pid>/smaps) and metrics in at each quarter, to tell which mappings grow.
  const maps = process.env['LAPSEBOX_SOAK_MAPS'] ? path.resolve(process.env['LAPSEBOX_SOAK_MAPS']) : null;
  const sampleS = envCount('LAPSEBOX_SOAK_SAMPLE_S', 60);
  const durationMs = minutes * 60_000;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-bench-soak-'));
  if (process.getuid?.() === 0) fs.chmodSync(tmp, 0o755); // the sshd session runs as nobody
  const home = path.join(tmp, 'box');
  const dataDir = path.join(home, 'data');
  fs.mkdirSync(home);
  let sshd: TestSshd | null = null;
  let daemon: ChildProcess | null = null;
  let watcher: { renamesOnto: (file: string) => number; close: () => void } | null = null;
  let camera: http.Server | null = null;
  const cleanup = async () => {
    watcher?.close();
    if (daemon) await stopChild(daemon);
    await sshd?.stop();
    camera?.close();
  };
  const interrupted = (signal: NodeJS.Signals) => {
    void cleanup().finally(() => {
      fs.rmSync(tmp, { recursive: true, force: true });
      process.kill(process.pid, signal);
    });
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    checkUnitSettings();
    // The box's server is elsewhere: here its encryption and disk writes run at nice 10, below the daemon's work.
    sshd = await TestSshd.start({ dir: path.join(tmp, 'sshd'), niceness: SERVER_NICENESS });
    const snapshot = await photoLikeJpeg(path.join(tmp, 'snapshot.jpg'), 6000, 4000);
    camera = await serveSnapshot(snapshot);
    const cameraUrl = `http://127.0.0.1:${(camera.address() as { port: number }).port}/snapshot.jpg`;
    const port = await freePort();
    const configFile = path.join(home, 'lapsebox.yaml');
    fs.writeFileSync(
      configFile,
      stringify({
        appliance: { id: BOX, timezone: 'UTC' },
        storage: { dataDir: 'data' },
        web: { host: '127.0.0.1', port, publicUrl: `http://127.0.0.1:${port}` },
        sources: SOURCES.map((s) => ({ id: s.id, camera: s.camera.driver === 'http' ? { ...s.camera, url: cameraUrl } : s.camera, schedule: { every: `${s.periodMs / 1000}s` } })),
        sync: { targets: [sshd.target(TARGET)] },
      }),
    );
    // Watch the remote folders the run can write (UTC days from now to the end of the drain): renames onto each final name.
    const remoteBox = path.join(sshd.root, BOX);
    const days = new Set<string>();
    for (let t = Date.now(); t <= Date.now() + durationMs + DRAIN_MS + 120_000; t += 3_600_000) days.add(utcDate(t));
    days.add(utcDate(Date.now() + durationMs + DRAIN_MS + 120_000));
    const watched = [...SOURCES.flatMap((s) => [...days].map((d) => path.join(BOX, s.id, 'pictures', d))), path.join(BOX, 'a', 'videos', 'custom')];
    watcher = sshd.watch(watched);

    process.stdout.write(
      `source a 1920x1080 every 1 s (test pattern), source b 6000x4000 every 10 s (an HTTP camera, a ${(fs.statSync(snapshot).size / MB).toFixed(0)} MB JPEG), SFTP to a loopback sshd (down from 40 % to 60 %), a film at 50 %, ` +
        `${WEB_CLIENTS} web clients paging; ${minutes} min measured after ${WARMUP_MS / 1000} s of warm-up, a sample every ${sampleS} s; ` +
        `node ${process.versions.node}, ${os.cpus().length} cores, load average before: ${loadText()}\n`,
    );
    const log = path.join(home, 'daemon.log');
    const fd = fs.openSync(log, 'w');
    daemon = spawn(process.execPath, [...NODE_FLAGS, ...(snapshots ? ['--heapsnapshot-signal=SIGUSR2'] : []), MAIN, 'run', '--config', configFile], { cwd: home, env: { ...process.env, ...DAEMON_ENV }, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    const pid = daemon.pid!;
    const base = `http://127.0.0.1:${port}`;
    await untilHealthy(daemon, base, log);
    const password = fs.readFileSync(path.join(dataDir, 'initial-admin-password'), 'utf8').trim();
    const auth = { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` };
    // The daemon registers prom-client's default metrics (and starts its event-loop monitor) at the first scrape.
    await readMetrics(base, auth);

    // Peaks, every second, for the whole life of the daemon here.
    const peaks = { tree: 0, treeAt: 0, perComm: new Map<string, number>() };
    let peaking = true;
    const peakLoop = (async () => {
      while (peaking) {
        const procs = tree(pid);
        const sum = procs.reduce((n, p) => n + p.rss, 0);
        if (sum > peaks.tree) [peaks.tree, peaks.treeAt] = [sum, Date.now()];
        for (const p of procs) peaks.perComm.set(p.comm, Math.max(peaks.perComm.get(p.comm) ?? 0, p.hwm));
        await sleep(1_000);
      }
    })();

    const heapSnapshot = async (name: string) => {
      if (!snapshots) return;
      const before = new Set(fs.readdirSync(home));
      process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < 600; i++) {
        await sleep(500);
        const made = fs.readdirSync(home).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
        if (!made) continue;
        // Done once its size stops changing between two looks a second apart.
        const size = () => fs.statSync(path.join(home, made)).size;
        const first = size();
        await sleep(1_000);
        if (first > 0 && size() === first) {
          fs.mkdirSync(snapshots, { recursive: true });
          fs.copyFileSync(path.join(home, made), path.join(snapshots, `${name}.heapsnapshot`));
          process.stdout.write(`heap snapshot: ${path.join(snapshots, `${name}.heapsnapshot`)}\n`);
          return;
        }
      }
    };
    await heapSnapshot('start');
    const from = Math.ceil((Date.now() + WARMUP_MS) / 10_000) * 10_000;
    const to = from + durationMs;
    await sleep(from - Date.now());
    const skippedFrom = skippedSlots(dataDir);
    process.stdout.write(`the daemon's allocator: ${allocatorOf(fs.readFileSync(`/proc/${pid}/maps`, 'utf8'))} (LD_PRELOAD=${DAEMON_ENV.LD_PRELOAD})\n`);
    process.stdout.write(`measuring from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}...\n`);

    // Web clients.
    const web = { pages: 0, thumbs: 0, errors: 0, pageMs: [] as number[], thumbMs: [] as number[] };
    const clients = Array.from({ length: WEB_CLIENTS }, async (_, i) => {
      await sleep(i * 700);
      let cursor: string | null = null;
      while (Date.now() < to) {
        try {
          const url = `${base}/api/sources/a/pictures?date=${utcDate(Date.now())}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const t0 = performance.now();
          const res = await fetch(url, { headers: auth });
          const body = (await res.json()) as { pictures?: { id: number }[]; next?: string | null };
          web.pageMs.push(performance.now() - t0);
          if (res.status !== 200 || !body.pictures) throw new Error(`page ${res.status}`);
          web.pages++;
          cursor = body.next ?? null;
          for (const p of body.pictures) {
            if (Date.now() >= to) break;
            const t1 = performance.now();
            const thumb = await fetch(`${base}/api/pictures/${p.id}/thumb`, { headers: auth });
            await thumb.arrayBuffer();
            web.thumbMs.push(performance.now() - t1);
            if (thumb.status === 200) web.thumbs++;
            else web.errors++;
          }
        } catch {
          web.errors++;
          cursor = null;
        }
        await sleep(WEB_PAUSE_MS);
      }
    });

    // The outage and the film, at their moments.
    const outage = { stoppedAt: 0, startedAt: 0 };
    const film = { status: 'not asked', jobId: 0, requestedAt: 0, finishedAt: 0, frames: 0, message: '' };
    const events = (async () => {
      await sleep(from + durationMs * 0.4 - Date.now());
      await sshd!.stop();
      outage.stoppedAt = Date.now();
      await sleep(from + durationMs * 0.5 - Date.now());
      const day = utcDate(Date.now());
      film.requestedAt = Date.now();
      const res = await fetch(`${base}/api/sources/a/videos`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ from: day, to: day }) });
      const body = (await res.json()) as { job?: { id: number; status: string }; error?: string };
      if (res.status !== 202 || !body.job) film.status = `refused: ${res.status} ${JSON.stringify(body)}`;
      else [film.jobId, film.status] = [body.job.id, body.job.status];
      await sleep(from + durationMs * 0.6 - Date.now());
      await sshd!.startAgain();
      outage.startedAt = Date.now();
    })();
    const pollFilm = async () => {
      if (!film.jobId || ['succeeded', 'failed', 'skipped', 'cancelled'].includes(film.status)) return;
      const res = await fetch(`${base}/api/jobs/${film.jobId}`, { headers: auth }).catch(() => null);
      if (!res || res.status !== 200) return;
      const { job } = (await res.json()) as { job: { status: string; message?: string | null; finishedAt?: string | null } };
      film.status = job.status;
      if (job.status === 'succeeded' || job.status === 'failed') {
        film.finishedAt = Date.now();
        film.message = job.message ?? '';
      }
    };

    // The film's job, every 2 s until it ends (the drain below waits for it too).
    const filmLoop = (async () => {
      while (Date.now() < to + DRAIN_MS && !['succeeded', 'failed', 'skipped', 'cancelled'].includes(film.status) && !film.status.startsWith('refused') && !(film.jobId === 0 && Date.now() > to)) {
        await pollFilm();
        await sleep(2_000);
      }
    })();

    // Samples.
    const samples: Sample[] = [];
    let windowFrom = from;
    for (let k = 1; k * sampleS * 1000 <= durationMs; k++) {
      await sleep(from + k * sampleS * 1000 - Date.now());
      const at = Date.now();
      const metrics = await readMetrics(base, auth);
      const procs = tree(pid);
      const taken = picturesBetween(dataDir, windowFrom, at);
      samples.push({
        atMs: at - from,
        rss: procs[0]?.rss ?? NaN,
        treeRss: procs.reduce((n, p) => n + p.rss, 0),
        heap: metric(metrics, 'nodejs_heap_size_used_bytes'),
        parts: memoryPartsOr(pid),
        heapTotal: metric(metrics, 'nodejs_heap_size_total_bytes'),
        external: metric(metrics, 'nodejs_external_memory_bytes'),
        fds: fs.readdirSync(`/proc/${pid}/fd`).length,
        children: procs.length - 1,
        lagP99Ms: metric(metrics, 'nodejs_eventloop_lag_p99_seconds') * 1000,
        lateness: taken.map((t) => t.takenAt - slotOf(t)),
        stored: taken.map((t) => t.createdAt - slotOf(t)),
        pictures: taken.length,
        pending: metric(metrics, 'lapsebox_outbox_pending_files', `target="${TARGET}"`),
        sshdUp: sshd.running,
      });
      windowFrom = at;
      const steps = Math.floor(durationMs / (sampleS * 1000));
      if (maps && (k === 1 || k % Math.max(1, Math.floor(steps / 4)) === 0)) {
        fs.mkdirSync(maps, { recursive: true });
        // (copyFileSync copies nothing from /proc: its files say they are empty.)
        fs.writeFileSync(path.join(maps, `smaps-${formatMinute(at - from)}.txt`), fs.readFileSync(`/proc/${pid}/smaps`, 'utf8'));
        fs.writeFileSync(path.join(maps, `metrics-${formatMinute(at - from)}.txt`), metrics);
      }
      process.stdout.write(`  ${formatMinute(at - from)} min: ${sampleRow(samples.at(-1)!).slice(1).join(' / ')}\n`);
    }
    await sleep(to - Date.now());
    await heapSnapshot('end');
    await Promise.all([...clients, events]);
    const skippedTo = skippedSlots(dataDir);

    // Missed slots in [from, to).
    const slotRows = SOURCES.map((s) => {
      const rows = picturesBetween(dataDir, from - s.periodMs * 2, to + 60_000, s.id).filter((r) => slotOf(r) >= from && slotOf(r) < to);
      const slots = Math.ceil((to - from) / s.periodMs);
      const distinct = new Set(rows.map(slotOf)).size;
      return { id: s.id, slots, pictures: rows.length, missed: slots - distinct, doubled: rows.length - distinct };
    });

    // The film, then the drain of everything taken before `to`.
    process.stdout.write('run over; waiting for the film and for the outbox to send what was taken before the end...\n');
    const drainFrom = Date.now();
    let pendingBefore = Infinity;
    while (Date.now() - drainFrom < DRAIN_MS) {
      await pollFilm();
      pendingBefore = pendingUpTo(dataDir, to);
      const filmBusy = film.jobId !== 0 && (film.status === 'queued' || film.status === 'running');
      if (!filmBusy && pendingBefore === 0) break;
      await sleep(2_000);
    }
    const drainMs = Date.now() - drainFrom;
    await filmLoop;
    const hwm = statusKb(pid, 'VmHWM') * 1024;
    peaking = false;
    await peakLoop;
    const stopStarted = Date.now();
    await stopChild(daemon);
    const stopMs = Date.now() - stopStarted;
    daemon = null;
    await sleep(500);
    watcher.close();

    // The server.
    const check = checkServer(dataDir, remoteBox, watcher.renamesOnto);

    // ---- report
    process.stdout.write(`\nsamples (lateness = taken_at - slot, stored = created_at - slot, pictures of both sources taken in the sample; lag p99 over the sample; MB = MiB)\n`);
    process.stdout.write(
      table([
        ['min', 'RSS daemon MB', 'RSS tree MB', 'heap MB', 'anon/file/brk MB', 'V8 total/external MB', 'fds', 'children', 'lag p99 ms', 'lateness p50/p99/max ms', 'stored p50/p99/max ms', 'pictures', 'outbox pending', 'sshd'],
        ...samples.map(sampleRow),
      ]),
    );
    const quarter = Math.max(1, Math.floor(samples.length / 4));
    const firstQ = samples.slice(0, quarter);
    const lastQ = samples.slice(-quarter);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const floor = (xs: Sample[], key: 'rss' | 'heap') => Math.min(...xs.map((x) => x[key]).filter(Number.isFinite));
    const rssFirst = mean(firstQ.map((s) => s.rss));
    const rssLast = mean(lastQ.map((s) => s.rss));
    const treeFirst = mean(firstQ.map((s) => s.treeRss));
    const treeLast = mean(lastQ.map((s) => s.treeRss));
    const growth = ((rssLast - rssFirst) / rssFirst) * 100;
    const fdFirst = mean(firstQ.map((s) => s.fds));
    const fdLast = mean(lastQ.map((s) => s.fds));
    const allLateness = samples.flatMap((s) => s.lateness);
    const allStored = samples.flatMap((s) => s.stored);
    const missed = slotRows.reduce((n, r) => n + r.missed, 0);
    const lost = check.lost.length;
    const duplicated = check.duplicated.length + check.extra.length;
    const met = (ok: boolean) => (ok ? 'met' : 'not met');

    process.stdout.write(`\nslots in the measured window (${minutes} min)\n`);
    process.stdout.write(
      table([
        ['source', 'slots', 'pictures', 'slots without a picture', 'two pictures in a slot'],
        ...slotRows.map((r) => [r.id, String(r.slots), String(r.pictures), String(r.missed), String(r.doubled)]),
      ]),
    );
    process.stdout.write(`slots the scheduler counted as skipped in the window (source_state.skipped): ${skippedTo - skippedFrom}\n`);
    process.stdout.write(
      `lateness over the run, ${allLateness.length} pictures: p50 ${percentile(allLateness, 0.5)} ms, p99 ${percentile(allLateness, 0.99)} ms, max ${Math.max(...allLateness)} ms; ` +
        `stored (created_at - slot): p50 ${percentile(allStored, 0.5)} ms, p99 ${percentile(allStored, 0.99)} ms, max ${Math.max(...allStored)} ms\n`,
    );
    process.stdout.write(
      `outage: sshd stopped at ${formatMinute(outage.stoppedAt - from)} min, started again at ${formatMinute(outage.startedAt - from)} min; ` +
        `after the run the outbox took ${(drainMs / 1000).toFixed(0)} s to send what was taken before the end (${pendingBefore} still pending)\n`,
    );
    process.stdout.write(
      `film (custom, source a, the day so far) asked at ${formatMinute(film.requestedAt - from)} min: ${film.status}` +
        `${film.finishedAt ? `, done ${((film.finishedAt - film.requestedAt) / 1000).toFixed(0)} s later (±2 s)` : ''}${film.message ? ` (${film.message})` : ''}; ` +
        `videos on the box: ${check.videos}\n`,
    );
    process.stdout.write(
      `web: ${web.pages} pages (p50 ${percentile(web.pageMs, 0.5).toFixed(0)} ms, p99 ${percentile(web.pageMs, 0.99).toFixed(0)} ms), ` +
        `${web.thumbs} thumbs (p50 ${percentile(web.thumbMs, 0.5).toFixed(0)} ms, p99 ${percentile(web.thumbMs, 0.99).toFixed(0)} ms), ${web.errors} errors\n`,
    );
    process.stdout.write(
      `server: ${check.expected} files expected (pictures and videos), ${check.present} there once; missing ${check.missing.length} ` +
        `(lost ${check.lost.length}, still pending at stop ${check.pendingAtStop}), extra ${check.extra.length}, uploaded more than once ${check.duplicated.length}, ` +
        `.tmp- left ${check.tmp}, latest.jpg ${check.latest.join(', ') || 'none'}\n`,
    );
    for (const [what, list] of [['lost', check.lost], ['extra', check.extra], ['duplicated', check.duplicated]] as const) {
      if (list.length) process.stdout.write(`  ${what}: ${list.slice(0, 10).join(', ')}${list.length > 10 ? ', ...' : ''}\n`);
    }
    process.stdout.write(
      `daemon: VmHWM ${(hwm / MB).toFixed(0)} MB; stopped by SIGTERM in ${stopMs} ms; peak per process (VmHWM, sampled every second): ` +
        `${[...peaks.perComm].sort((a, b) => b[1] - a[1]).map(([c, v]) => `${c} ${(v / MB).toFixed(0)} MB`).join(', ')}\n`,
    );
    const warnings = warningsOf(path.join(home, 'daemon.log'));
    process.stdout.write(`daemon warnings and errors: ${warnings.length === 0 ? 'none' : warnings.join('; ')}\n`);

    process.stdout.write('\ntrend and targets\n');
    process.stdout.write(
      table([
        ['figure', 'value', 'target', ''],
        [`RSS daemon, mean of first vs last quarter (${quarter} samples each)`, `${(rssFirst / MB).toFixed(0)} -> ${(rssLast / MB).toFixed(0)} MB (${signed(growth)} %)`, `< ${TARGETS.rssGrowthPct} %`, met(growth < TARGETS.rssGrowthPct)],
        ['RSS tree, same quarters', `${(treeFirst / MB).toFixed(0)} -> ${(treeLast / MB).toFixed(0)} MB (${signed(((treeLast - treeFirst) / treeFirst) * 100)} %)`, '', ''],
        // The floors tell a leak from the garbage collector's sawtooth: garbage comes and goes, a leak lifts the lowest sample too.
        ['RSS daemon, lowest sample of the first vs last quarter', `${(floor(firstQ, 'rss') / MB).toFixed(0)} -> ${(floor(lastQ, 'rss') / MB).toFixed(0)} MB`, '', ''],
        ...memoryRows(firstQ, lastQ),
        ['V8 heap used, lowest sample of the first vs last quarter', `${(floor(firstQ, 'heap') / MB).toFixed(0)} -> ${(floor(lastQ, 'heap') / MB).toFixed(0)} MB`, '', ''],
        ['open fds, mean of first vs last quarter', `${fdFirst.toFixed(1)} -> ${fdLast.toFixed(1)} (max ${Math.max(...samples.map((s) => s.fds))})`, `flat (drift <= ${TARGETS.fdDrift})`, met(fdLast - fdFirst <= TARGETS.fdDrift)],
        ['missed slots (slots without a picture, both sources)', String(missed), String(TARGETS.missed), met(missed === TARGETS.missed)],
        ['lost files (missing on the server, not pending)', String(lost), String(TARGETS.lost), met(lost === TARGETS.lost)],
        ['duplicated or extra files on the server', String(duplicated), '0', met(duplicated === 0)],
        ['peak RSS of the process tree (sampled every second)', `${(peaks.tree / MB).toFixed(0)} MB at ${formatMinute(peaks.treeAt - from)} min`, `<= ${TARGETS.peakTreeMb} MB`, met(peaks.tree / MB <= TARGETS.peakTreeMb)],
      ]),
    );
  } finally {
    process.removeListener('SIGINT', interrupted);
    process.removeListener('SIGTERM', interrupted);
    await cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- the server

function checkServer(dataDir: string, remoteBox: string, renamesOnto: (file: string) => number) {
  const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true, fileMustExist: true });
  const notSent = new Set(
    db
      .prepare<[], { path: string }>(`SELECT path FROM pictures WHERE rejection IN (${NOT_SENT.map((r) => `'${r}'`).join(',')})`)
      .all()
      .map((r) => r.path),
  );
  const outboxState = new Map(
    db
      .prepare<[string], { local_path: string; state: string }>("SELECT local_path, state FROM outbox WHERE target_id = ? AND kind != 'latest'")
      .all(TARGET)
      .map((r) => [r.local_path, r.state]),
  );
  db.close();
  // Local files -> their remote names: sources/<s>/pictures/<d>/<f>.jpg and sources/<s>/videos/<k>/<l>.mp4.
  const expected = new Map<string, string>();
  let videos = 0;
  const sourcesDir = path.join(dataDir, 'sources');
  for (const source of fs.existsSync(sourcesDir) ? fs.readdirSync(sourcesDir) : []) {
    for (const [kind, ext] of [['pictures', '.jpg'], ['videos', '.mp4']] as const) {
      const dir = path.join(sourcesDir, source, kind);
      if (!fs.existsSync(dir)) continue;
      for (const sub of fs.readdirSync(dir)) {
        for (const file of fs.readdirSync(path.join(dir, sub))) {
          if (!file.endsWith(ext) || file.startsWith('.tmp-')) continue;
          const local = path.join('sources', source, kind, sub, file);
          if (notSent.has(local)) continue;
          expected.set(path.join(source, kind, sub, file), local);
          if (kind === 'videos') videos++;
        }
      }
    }
  }
  const remote = new Set<string>();
  let tmp = 0;
  const latest: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.startsWith('.tmp-')) tmp++;
      else if (entry.name === 'latest.jpg' && path.dirname(path.relative(remoteBox, full)).split(path.sep).length === 1) latest.push(path.relative(remoteBox, full));
      else remote.add(path.relative(remoteBox, full));
    }
  };
  if (fs.existsSync(remoteBox)) walk(remoteBox);
  const missing = [...expected.keys()].filter((r) => !remote.has(r));
  const lost = missing.filter((r) => outboxState.get(expected.get(r)!) !== 'pending');
  const extra = [...remote].filter((r) => !expected.has(r));
  const duplicated = [...remote].filter((r) => renamesOnto(path.join(remoteBox, r)) > 1);
  return { expected: expected.size, present: expected.size - missing.length, missing, lost, pendingAtStop: missing.length - lost.length, extra, duplicated, tmp, latest, videos };
}

/** Outbox rows of pictures and videos still pending that were queued for something made before `to`. */
function pendingUpTo(dataDir: string, to: number): number {
  const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[string, number], { n: number }>("SELECT count(*) AS n FROM outbox WHERE target_id = ? AND kind != 'latest' AND state = 'pending' AND order_at < ?").get(TARGET, to)!.n;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- the database

interface Taken {
  source: string;
  takenAt: number;
  createdAt: number;
}

function picturesBetween(dataDir: string, from: number, to: number, source?: string): Taken[] {
  const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare<[number, number], { source_id: string; taken_at: number; created_at: number }>('SELECT source_id, taken_at, created_at FROM pictures WHERE taken_at >= ? AND taken_at < ?')
      .all(from, to);
    return rows.filter((r) => !source || r.source_id === source).map((r) => ({ source: r.source_id, takenAt: r.taken_at, createdAt: r.created_at }));
  } finally {
    db.close();
  }
}

function slotOf(t: Taken): number {
  const period = SOURCES.find((s) => s.id === t.source)!.periodMs;
  return Math.floor(t.takenAt / period) * period;
}

function skippedSlots(dataDir: string): number {
  const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], { n: number | null }>('SELECT sum(skipped) AS n FROM source_state').get()?.n ?? 0;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- metrics and report helpers

function sampleRow(s: Sample): string[] {
  const mb = (b: number) => (Number.isFinite(b) ? (b / MB).toFixed(0) : '-');
  const spread = (xs: number[]) => (xs.length ? `${percentile(xs, 0.5)}/${percentile(xs, 0.99)}/${Math.max(...xs)}` : '-');
  return [
    formatMinute(s.atMs),
    mb(s.rss),
    mb(s.treeRss),
    mb(s.heap),
    `${mb(s.parts.anon)}/${mb(s.parts.file)}/${mb(s.parts.brk)}`,
    `${mb(s.heapTotal)}/${mb(s.external)}`,
    String(s.fds),
    String(s.children),
    Number.isFinite(s.lagP99Ms) ? s.lagP99Ms.toFixed(1) : '-',
    spread(s.lateness),
    spread(s.stored),
    String(s.pictures),
    Number.isFinite(s.pending) ? String(s.pending) : '-',
    s.sshdUp ? 'up' : 'down',
  ];
}

function memoryPartsOr(pid: number): MemoryParts {
  try {
    return memoryParts(pid);
  } catch {
    return { anon: NaN, file: NaN, brk: NaN };
  }
}

/** Where the RSS growth is: each part's mean over the first and the last quarter. */
function memoryRows(firstQ: Sample[], lastQ: Sample[]): string[][] {
  const parts: [string, (s: Sample) => number][] = [
    ['anonymous', (s) => s.parts.anon],
    ['file-backed', (s) => s.parts.file],
    ["of which malloc's main heap (brk)", (s) => s.parts.brk],
    ['V8 heap committed', (s) => s.heapTotal],
    ['V8 external (Buffers)', (s) => s.external],
  ];
  const mean = (xs: number[]) => xs.filter(Number.isFinite).reduce((a, b) => a + b, 0) / Math.max(1, xs.filter(Number.isFinite).length);
  return parts.map(([name, of]) => {
    const [a, b] = [mean(firstQ.map(of)), mean(lastQ.map(of))];
    return [`  RSS part: ${name}, mean of first vs last quarter`, `${(a / MB).toFixed(1)} -> ${(b / MB).toFixed(1)} MB (${signed((b - a) / MB)} MB)`, '', ''];
  });
}

function formatMinute(ms: number): string {
  return (ms / 60_000).toFixed(ms % 60_000 === 0 ? 0 : 1);
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
}

function loadText(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

if (require.main === module) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
