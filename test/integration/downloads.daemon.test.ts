/**
 * Heavy downloads against the running daemon: while customers pull 24 MP
 * originals (watermarked on request) and day zips in parallel, a source that
 * captures every second keeps every slot. The downloads have their own bounded
 * slots (web/download-slots.ts), never the capture pipeline's queue.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess, basic, initialPassword } from '../helpers/daemon';

const PASSWORD = 'customers download a lot of originals';
const CUSTOMERS = ['alice', 'bob', 'carol'];
/** How long the customers keep downloading. */
const LOAD_MS = 12_000;

describe('the running daemon under heavy downloads', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let dataDir: string;
  let admin: Record<string, string>;

  beforeAll(async () => {
    tmp = tempDir();
    const port = await freePort();
    await sharp({ create: { width: 600, height: 200, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.8 } } }).png().toFile(path.join(tmp.dir, 'logo.png'));
    const file = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        { id: 'cam', camera: { driver: 'testpattern', width: 320, height: 240 }, schedule: { every: '1s' } },
        {
          id: 'big',
          camera: { driver: 'testpattern', width: 6000, height: 4000, timeout: '60s' },
          schedule: { every: '24h', windows: [{ from: '00:00', to: '00:01' }] },
          image: { watermark: { file: 'logo.png', position: 'bottom-right', opacity: 0.6 } },
        },
      ],
    });
    dataDir = path.join(tmp.dir, 'data');
    sut = new DaemonProcess(file, port);
    await sut.start();
    admin = { ...basic('admin', initialPassword(dataDir)), 'content-type': 'application/json' };
    for (const name of CUSTOMERS) {
      expect((await fetch(`${sut.baseUrl}/api/users`, { method: 'POST', headers: admin, body: JSON.stringify({ username: name, profile: 'customer', password: PASSWORD }) })).status).toBe(201);
      expect((await fetch(`${sut.baseUrl}/api/users/${name}/grants/big`, { method: 'PUT', headers: admin, body: JSON.stringify({ level: 'download' }) })).status).toBe(200);
    }
  }, 60_000);

  afterAll(async () => {
    await sut?.kill();
    tmp?.cleanup();
  });

  const takenAt = (source: string, from: number, to: number): number[] => {
    const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare(`SELECT taken_at FROM pictures WHERE source_id = ? AND taken_at >= ? AND taken_at < ? ORDER BY taken_at`).all(source, from, to) as { taken_at: number }[]).map((r) => r.taken_at);
    } finally {
      db.close();
    }
  };

  it('keeps the capture slots of a 1 s source while three customers download 24 MP originals and day zips in parallel', async () => {
    const pictures: { id: number; date: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${sut.baseUrl}/api/sources/big/capture`, { method: 'POST', headers: admin, body: '{}' });
      expect(res.status).toBe(201);
      pictures.push(((await res.json()) as { picture: { id: number; date: string } }).picture);
    }
    const day = pictures[0]!.date;

    // The 24 MP captures above held the pipeline for seconds: what counts is the window from here.
    await new Promise((r) => setTimeout(r, 2_000));
    const linesBefore = sut.lines.length;
    const started = Date.now();
    const until = started + LOAD_MS;
    const counts = { originals: 0, zips: 0, busy: 0, other: [] as string[] };
    /** One of a customer's download loops: a 429 waits a moment and tries again, as a browser's user would. */
    const downloads = async (user: string, url: (i: number) => string, kind: 'originals' | 'zips') => {
      for (let i = 0; Date.now() < until; i++) {
        const res = await fetch(`${sut.baseUrl}${url(i)}`, { headers: basic(user, PASSWORD) });
        const body = await res.arrayBuffer();
        if (res.status === 200) counts[kind]++;
        else if (res.status === 429 && res.headers.get('retry-after')) {
          counts.busy++;
          await new Promise((r) => setTimeout(r, 200));
        } else counts.other.push(`${url(i)}: ${res.status} ${Buffer.from(body).toString().slice(0, 200)}`);
      }
    };
    await Promise.all(
      CUSTOMERS.flatMap((user) => [
        downloads(user, (i) => `/api/pictures/${pictures[i % pictures.length]!.id}/original?download=1`, 'originals'),
        downloads(user, () => `/api/sources/big/days/${day}/zip`, 'zips'),
      ]),
    );
    const ended = Date.now();
    const skipped = sut.lines.slice(linesBefore).filter((l) => l['source'] === 'cam' && /^slots? (skipped|missed)/.test(l.msg));
    await waitFor('the last capture of the window stored', () => takenAt('cam', ended, ended + 10_000).length > 0, 10_000);

    expect(counts.other).toEqual([]);
    // The load was real: 24 MP pictures made and sent all along, and the limits were reached.
    expect(counts.originals).toBeGreaterThanOrEqual(3);
    expect(counts.zips).toBeGreaterThanOrEqual(1);
    expect(counts.busy).toBeGreaterThan(0);
    // Every 1 s slot of the window has its picture. One slot may be lost to the CPU alone when another
    // test file runs beside this one on a 2-core machine (seen once in CI); with the renders in the
    // capture queue, 3 were missed and 3 skipped on an idle machine, so this still tells the two apart.
    const first = Math.ceil(started / 1000);
    const last = Math.floor(ended / 1000);
    const slots = new Set(takenAt('cam', first * 1000, last * 1000).map((t) => Math.floor(t / 1000)));
    const missing = Array.from({ length: last - first }, (_, i) => first + i).filter((s) => !slots.has(s));
    const lost = { missing: missing.map((s) => new Date(s * 1000).toISOString()), skipped: skipped.map((l) => l.msg), slots: last - first, counts };
    expect(lost.missing.length <= 1 && lost.skipped.length <= 1 ? 'at most one slot lost' : lost).toBe('at most one slot lost');
  }, 120_000);
});
