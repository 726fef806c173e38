/**
 * A configuration change applied by reload (SIGHUP, `systemctl reload`) against
 * the reference, a restart (`systemctl restart`: SIGTERM, exit, start again), in
 * the same run, on the daemon as systemd runs it: a child process that tells its
 * state over a notify socket (READY=1), with two test-pattern sources capturing
 * every second and a data folder of N pictures already indexed.
 *
 * Prints for each: the time from the signal to READY=1 (median and worst of the
 * rounds), and the one-second slots of the unchanged source that got no picture
 * around it; the ratio is
 * restart time / reload time. Reports only; it never fails on a time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { stringify } from 'yaml';
import sharp from 'sharp';
import { createSocket } from 'unix-dgram';
import { freePort } from '../lib/net';
import { envCount } from './env';
import { parsePictureFileName, pictureFileName } from '../../daemon/domain/data-folder';
import { table } from './table';

const MAIN = path.join(__dirname, '..', '..', 'daemon', 'main.js');

interface Daemon {
  child: ChildProcess;
  exited: Promise<number | null>;
}

export async function run(): Promise<void> {
  const pictures = envCount('BENCH_RELOAD_PICTURES', 3000);
  const reloads = envCount('BENCH_RELOAD_ROUNDS', 10);
  const restarts = envCount('BENCH_RESTART_ROUNDS', 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-bench-reload-'));
  try {
    const ready: number[] = [];
    const socket = createSocket('unix_dgram', (buf) => {
      if (/^READY=1$/m.test(buf.toString())) ready.push(Date.now());
    });
    socket.bind(path.join(dir, 'notify.sock'));
    const port = await freePort();
    const configFile = path.join(dir, 'lapsebox.yaml');
    const write = (every: string) =>
      fs.writeFileSync(
        configFile,
        stringify({
          appliance: { id: 'bench', timezone: 'Europe/Paris' },
          storage: { dataDir: 'data' },
          web: { host: '127.0.0.1', port },
          // The change is north's schedule; south keeps one slot a second, where a lost slot would show.
          sources: [
            { id: 'north', camera: { driver: 'testpattern', width: 640, height: 480 }, schedule: { every } },
            { id: 'south', camera: { driver: 'testpattern', width: 640, height: 480 }, schedule: { every: '1s' } },
          ],
          alerts: { webhook: { url: 'http://127.0.0.1:9/' }, dailyReport: { enabled: false } },
        }),
      );
    write('1s');
    await seed(path.join(dir, 'data', 'sources', 'north', 'pictures'), pictures);
    const start = (): Daemon => {
      const child = spawn(process.execPath, [MAIN, 'run', '--config', configFile], {
        stdio: 'ignore',
        env: { ...process.env, NOTIFY_SOCKET: path.join(dir, 'notify.sock'), LAPSEBOX_LOG_LEVEL: 'warn', MALLOC_ARENA_MAX: '2' },
      });
      return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
    };
    const readyAfter = async (since: number) => {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const at = ready.find((t) => t >= since);
        if (at !== undefined) return at;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('no READY=1 within 120 s');
    };

    process.stdout.write(`data folder: ${pictures} pictures; 2 sources capturing every second\n`);
    let daemon = start();
    await readyAfter(0);
    await new Promise((r) => setTimeout(r, 2_000));

    const reloadMs: number[] = [];
    const reloadWindow: Array<[number, number]> = [];
    for (let i = 0; i < reloads; i++) {
      write(i % 2 === 0 ? '2s' : '1s');
      const at = Date.now();
      daemon.child.kill('SIGHUP');
      const done = await readyAfter(at);
      reloadMs.push(done - at);
      reloadWindow.push([at, done]);
      await new Promise((r) => setTimeout(r, 2_500));
    }
    write('1s');
    daemon.child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 2_000));

    const restartMs: number[] = [];
    const restartWindow: Array<[number, number]> = [];
    for (let i = 0; i < restarts; i++) {
      const at = Date.now();
      daemon.child.kill('SIGTERM');
      await daemon.exited;
      daemon = start();
      const done = await readyAfter(at);
      restartMs.push(done - at);
      restartWindow.push([at, done]);
      await new Promise((r) => setTimeout(r, 2_500));
    }
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    socket.close();

    const taken = pictureTimes(path.join(dir, 'data', 'sources', 'south', 'pictures'));
    const missed = (windows: Array<[number, number]>) => windows.map(([from, to]) => missedSlots(taken, from, to + 1_000));
    const rows: string[][] = [
      ['run', 'to READY=1 median', 'worst', 'slots without a picture (each round)', 'ratio'],
      ['restart (reference)', ms(median(restartMs)), ms(Math.max(...restartMs)), missed(restartWindow).join(', '), '1.00'],
      ['reload (SIGHUP)', ms(median(reloadMs)), ms(Math.max(...reloadMs)), missed(reloadWindow).join(', '), (median(restartMs) / median(reloadMs)).toFixed(1)],
    ];
    process.stdout.write(table(rows));
    process.stdout.write('ratio: how many times faster than a restart a change applies\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** N small JPEGs in one day folder, named as the daemon names them; the first start indexes them. */
async function seed(dir: string, count: number): Promise<void> {
  const day = path.join(dir, '2026-11-01');
  fs.mkdirSync(day, { recursive: true });
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#357' } }).jpeg().toBuffer();
  const base = Date.parse('2026-11-01T06:00:00Z');
  for (let i = 0; i < count; i++) {
    fs.writeFileSync(path.join(day, pictureFileName(base + i * 5_000)), jpeg);
  }
}

/** When each picture of a source was taken, from its file name (ms, UTC). */
function pictureTimes(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => parsePictureFileName(path.basename(f))).filter((t): t is number => t !== null);
}

/** Whole-second slots in [from, to) with no picture taken in them. */
function missedSlots(taken: number[], from: number, to: number): number {
  const seconds = new Set(taken.map((t) => Math.floor(t / 1000)));
  let missed = 0;
  for (let s = Math.ceil(from / 1000); s < Math.floor(to / 1000); s++) if (!seconds.has(s)) missed++;
  return missed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function ms(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value} ms`;
}
