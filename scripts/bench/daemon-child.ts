/**
 * What the benchmarks that run the real daemon as a child share (soak, budget): the daemon
 * started as systemd/lapsebox.service starts it, a 24 MP camera on loopback, the process
 * tree's memory from /proc, and the daemon's metrics and log.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';

export const MAIN = path.join(__dirname, '..', '..', 'daemon', 'main.js');
const UNIT = path.join(__dirname, '..', '..', '..', 'systemd', 'lapsebox.service');
export const MB = 1024 * 1024;

/** As systemd/lapsebox.service runs the daemon (checked against the unit at start): on jemalloc, with glibc's settings for its programs. */
export const DAEMON_ENV = {
  LD_PRELOAD: 'libjemalloc.so.2',
  MALLOC_CONF: 'background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0,narenas:2',
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  LAPSEBOX_LOG_LEVEL: 'warn',
} as const;
export const NODE_FLAGS = ['--optimize-for-size', '--max-semi-space-size=2'] as const;
export interface Proc {
  pid: number;
  comm: string;
  rss: number;
  hwm: number;
}

/** The daemon here runs as the unit runs it: the same malloc settings and node flags, or the bench stops. */
export function checkUnitSettings(): void {
  const unit = fs.readFileSync(UNIT, 'utf8');
  const missing = [
    ...Object.entries(DAEMON_ENV)
      .filter(([k]) => k.startsWith('MALLOC_') || k === 'LD_PRELOAD')
      .map(([k, v]) => `Environment=${k}=${v}`)
      .filter((line) => !unit.split('\n').includes(line)),
    ...NODE_FLAGS.filter((flag) => !unit.split('\n').some((line) => line.startsWith('ExecStart=') && line.includes(` ${flag} `))).map((flag) => `ExecStart=... node ${flag}`),
  ];
  if (missing.length > 0) throw new Error(`the benchmark runs the daemon as systemd/lapsebox.service does, but the unit has no ${missing.join(', ')}: update DAEMON_ENV and NODE_FLAGS`);
}

/**
 * A JPEG with the weight of a camera's photo (q 92, 14 MB at 24 MP): smooth areas from a
 * scaled-up small picture, with grain, so it neither compresses to nothing nor is pure noise.
 */
export async function photoLikeJpeg(file: string, width: number, height: number): Promise<string> {
  const small = { width: Math.round(width / 8), height: Math.round(height / 8) };
  const pixels = await sharp(randomBytes(small.width * small.height * 3), { raw: { ...small, channels: 3 } })
    .resize(width, height)
    .raw()
    .toBuffer();
  const grain = randomBytes(pixels.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (pixels[i]! * 3 + grain[i]!) >> 2;
  await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92 }).toFile(file);
  return file;
}

/** An IP camera on loopback: every GET of /snapshot.jpg answers `file`, streamed. */
export function serveSnapshot(file: string): Promise<http.Server> {
  const size = fs.statSync(file).size;
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/snapshot.jpg') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': size });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** The process and every descendant (through /proc/<pid>/task/<tid>/children), with VmRSS and VmHWM in bytes; the root first. */
export function tree(root: number): Proc[] {
  const out: Proc[] = [];
  const visit = (pid: number) => {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
      out.push({ pid, comm: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?', rss: kb('VmRSS'), hwm: kb('VmHWM') });
      for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
        const children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
        for (const child of children ? children.split(/\s+/) : []) visit(Number(child));
      }
    } catch {
      // gone meanwhile
    }
  };
  visit(root);
  return out;
}

/**
 * Where a process's resident memory is, in bytes: anonymous (malloc's arenas, V8's heap,
 * large buffers), file-backed (code and libraries), and of the anonymous part the main
 * arena's brk heap (`[heap]` in smaps): what malloc keeps for the main thread.
 */
export interface MemoryParts {
  anon: number;
  file: number;
  brk: number;
}

export function memoryParts(pid: number): MemoryParts {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  let brk = 0;
  const smaps = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const at = smaps.search(/ \[heap\]\n/);
  if (at >= 0) brk = Number(/^Rss:\s+(\d+) kB/m.exec(smaps.slice(at))?.[1] ?? 0) * 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem'), brk };
}

export function statusKb(pid: number, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

export async function untilHealthy(child: ChildProcess, base: string, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the daemon exited (${child.exitCode ?? child.signalCode}):\n${tail(log)}`);
    const ok = await fetch(`${base}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`the daemon did not answer /healthz within 60 s:\n${tail(log)}`);
}

/** SIGTERM, then SIGKILL after 30 s; resolves once the child has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

export async function readMetrics(base: string, auth: Record<string, string>): Promise<string> {
  try {
    const res = await fetch(`${base}/metrics`, { headers: auth });
    return res.status === 200 ? await res.text() : '';
  } catch {
    return '';
  }
}

/** A sample's value from Prometheus text: the line `name{...labels containing label...} value`, or NaN. */
export function metric(text: string, name: string, label = ''): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (label && !rest.includes(label)) continue;
    return Number(rest.slice(rest.lastIndexOf(' ') + 1));
  }
  return NaN;
}

/** The daemon's log lines at warn and above (JSON lines), counted by message. */
export function warningsOf(log: string): string[] {
  const counts = new Map<string, number>();
  for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const l = JSON.parse(line) as { level?: string | number; msg?: string };
      counts.set(`${String(l.level)} ${l.msg ?? ''}`, (counts.get(`${String(l.level)} ${l.msg ?? ''}`) ?? 0) + 1);
    } catch {
      counts.set(line.slice(0, 120), (counts.get(line.slice(0, 120)) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([m, n]) => `${n} x ${m}`);
}

export function tail(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').slice(-3000) : '';
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
}

export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * A memory cgroup of its own for a daemon under test, as systemd gives the unit one: its
 * children join it, and the kernel counts (and, with a limit, bounds) them together with
 * the page cache they fill. A child of this process's own memory cgroup (v2, or v1's
 * `memory` hierarchy), or null where this machine does not let us make one.
 */
export interface MemoryCgroup {
  version: 1 | 2;
  dir: string;
  /**
   * Starts `command` inside the group, so that every page it ever touches is charged to it
   * (a process moved in after its start leaves its first pages behind): a shell writes its
   * own pid into the group, then execs the command. No value reaches the shell's code; the
   * group's file and the command are its arguments.
   */
  spawn(command: string, args: readonly string[], options: SpawnOptions): ChildProcess;
  /** Memory charged now: anon (RSS), file (page cache, mapped files included), and the kernel's total. */
  now(): { total: number; anon: number; file: number };
  /** The highest total the kernel saw (v1 max_usage, v2 memory.peak where the kernel has it). */
  peak(): number | null;
  /** Processes the kernel's OOM killer killed in the group. */
  oomKills(): number;
  remove(): void;
}

export function memoryCgroup(name: string, limitBytes: number | null): MemoryCgroup | null {
  const lines = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = lines.map((l) => /^\d+:([^:]*):(.*)$/.exec(l)).find((m) => m && m[1]!.split(',').includes('memory'));
  const v2 = lines.map((l) => /^0::(.*)$/.exec(l)).find(Boolean);
  const candidates: { version: 1 | 2; dir: string }[] = [];
  if (v1) candidates.push({ version: 1, dir: path.join('/sys/fs/cgroup/memory', v1[2]!, name) });
  if (v2 && fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) candidates.push({ version: 2, dir: path.join('/sys/fs/cgroup', v2[1]!, name) });
  for (const { version, dir } of candidates) {
    try {
      fs.mkdirSync(dir);
    } catch {
      continue;
    }
    const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
    const stat = () => new Map(read('memory.stat').split('\n').map((l) => l.split(' ') as [string, string]).map(([k, v]) => [k, Number(v)]));
    try {
      if (limitBytes !== null) fs.writeFileSync(path.join(dir, version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitBytes));
    } catch (err) {
      fs.rmdirSync(dir);
      throw new Error(`cannot set the memory limit of ${dir}: ${String(err)}`);
    }
    return {
      version,
      dir,
      spawn: (command, args, options) => spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', path.join(dir, 'cgroup.procs'), command, ...args], options),
      now: () => {
        const s = stat();
        return version === 1
          ? { total: Number(read('memory.usage_in_bytes')), anon: s.get('rss') ?? 0, file: s.get('cache') ?? 0 }
          : { total: Number(read('memory.current')), anon: s.get('anon') ?? 0, file: s.get('file') ?? 0 };
      },
      peak: () => {
        const file = version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak';
        return fs.existsSync(path.join(dir, file)) ? Number(read(file)) : null;
      },
      oomKills: () => {
        const text = read(version === 1 ? 'memory.oom_control' : 'memory.events');
        return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
      },
      remove: () => {
        for (let i = 0; i < 50; i++) {
          try {
            fs.rmdirSync(dir);
            return;
          } catch {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // processes still leaving
          }
        }
      },
    };
  }
  return null;
}
