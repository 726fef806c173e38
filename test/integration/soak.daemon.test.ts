/**
 * A short soak of the daemon as a child process (issue 23): two sources every second,
 * a film built, customers paging through the day and downloading a zip, share links
 * opened, and reloads; three rounds. What the daemon holds between the rounds must
 * come back: open file descriptors and child processes return to where they were.
 * Its memory is printed, not judged: over minutes it moves with V8's heap sizing and
 * glibc's arenas; its trend over hours is what `npm run bench -- soak` measures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess, basic, initialPassword } from '../helpers/daemon';

/** How long each round of load lasts. */
const ROUND_MS = 25_000;

interface Held {
  fds: number;
  children: number[];
  rssKb: number;
}

/** What the process holds now: its open files, its child processes, its resident memory. */
function held(pid: number): Held {
  const children = fs
    .readdirSync(`/proc/${pid}/task`)
    .flatMap((task) => fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { fds: fs.readdirSync(`/proc/${pid}/fd`).length, children, rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)![1]) };
}

describe('the daemon over a short soak', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let admin: Record<string, string>;

  beforeAll(async () => {
    tmp = tempDir();
    const port = await freePort();
    const file = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        { id: 'a', camera: { driver: 'testpattern', width: 640, height: 360 }, schedule: { every: '1s' }, timelapse: { daily: { width: 320, preset: 'ultrafast', deflicker: false } } },
        { id: 'b', camera: { driver: 'testpattern', width: 1280, height: 720 }, schedule: { every: '2s' } },
      ],
    });
    sut = new DaemonProcess(file, port);
    await sut.start();
    admin = { ...basic('admin', initialPassword(path.join(tmp.dir, 'data'))), 'content-type': 'application/json' };
    const customer = { username: 'client', profile: 'customer', password: 'a client who pages a lot' };
    expect((await fetch(`${sut.baseUrl}/api/users`, { method: 'POST', headers: admin, body: JSON.stringify(customer) })).status).toBe(201);
    expect((await fetch(`${sut.baseUrl}/api/users/client/grants/a`, { method: 'PUT', headers: admin, body: JSON.stringify({ level: 'download' }) })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await sut?.kill();
    tmp?.cleanup();
  });

  /** One round: customers page, a film is built, a link is shared and opened, the configuration is reloaded. */
  async function round(): Promise<void> {
    const client = basic('client', 'a client who pages a lot');
    // The newest day with enough pictures for a film (just after midnight, that is yesterday).
    const { days } = (await (await fetch(`${sut.baseUrl}/api/sources/a/days`, { headers: client })).json()) as { days: { date: string; count: number }[] };
    const date = days.filter((d) => d.count >= 10).at(-1)!.date;
    const stop = Date.now() + ROUND_MS;
    const pager = async () => {
      while (Date.now() < stop) {
        const page = (await (await fetch(`${sut.baseUrl}/api/sources/a/pictures?date=${date}&limit=50`, { headers: client })).json()) as { pictures: { urls: { thumb: string } }[] };
        for (const p of page.pictures.slice(-10)) expect((await fetch(`${sut.baseUrl}${p.urls.thumb}`, { headers: client }).then(async (r) => (await r.arrayBuffer(), r))).status).toBe(200);
      }
    };
    const film = async () => {
      const res = await fetch(`${sut.baseUrl}/api/sources/a/videos`, { method: 'POST', headers: admin, body: JSON.stringify({ from: date, to: date, width: 320 }) });
      expect(res.status).toBe(202);
      const { job } = (await res.json()) as { job: { id: number } };
      await waitFor('the film', async () => ['succeeded', 'failed'].includes(((await (await fetch(`${sut.baseUrl}/api/jobs/${job.id}`, { headers: admin })).json()) as { job: { status: string } }).job.status), 60_000);
    };
    const zip = async () => {
      const res = await fetch(`${sut.baseUrl}/api/sources/a/days/${date}/zip`, { headers: client });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    };
    const share = async () => {
      const res = await fetch(`${sut.baseUrl}/api/shares`, { method: 'POST', headers: admin, body: JSON.stringify({ source: 'a', scope: 'latest', expiresIn: '1h' }) });
      const { url } = (await res.json()) as { url: string };
      for (let i = 0; i < 20; i++) expect((await fetch(`${sut.baseUrl}${url}/latest.jpg`).then(async (r) => (await r.arrayBuffer(), r))).status).toBe(200);
    };
    const reload = async () => {
      const before = sut.logs('configuration reloaded').length;
      process.kill(sut.pid, 'SIGHUP');
      await waitFor('the reload', () => sut.logs('configuration reloaded').length > before, 20_000);
    };
    await Promise.all([pager(), pager(), film(), zip(), share(), reload()]);
  }

  /**
   * Waits until nothing the rounds started is still running (films, downloads, the pipeline's
   * children) and the web's idle keep-alive connections have closed (web.server keepAliveTimeout,
   * 5 s): the same open files over 8 s, and no child.
   */
  async function settled(): Promise<Held> {
    const samples: Held[] = [];
    await waitFor('the daemon to settle', async () => {
      await new Promise((r) => setTimeout(r, 2_000));
      samples.push(held(sut.pid));
      const last = samples.slice(-5);
      return last.length === 5 && last.every((h) => h.fds === last[0]!.fds && h.children.length === 0);
    }, 60_000);
    return samples[samples.length - 1]!;
  }

  it('gives back its files and child processes after each round', async () => {
    // Warm: the first pictures, sizes, the web's first requests, a first film.
    // Enough pictures for a film (a custom film needs at least a few frames).
    await waitFor('ten pictures of source a', async () => {
      const { days } = (await (await fetch(`${sut.baseUrl}/api/sources/a/days`, { headers: admin })).json()) as { days: { count: number }[] };
      return (days[days.length - 1]?.count ?? 0) >= 10;
    }, 30_000);
    await round();
    const start = await settled();
    await round();
    const middle = await settled();
    await round();
    const end = await settled();
    // Files and children: the same after each round (a socket or two of a keep-alive may come and go).
    expect(Math.abs(middle.fds - start.fds)).toBeLessThanOrEqual(2);
    expect(Math.abs(end.fds - start.fds)).toBeLessThanOrEqual(2);
    expect([start.children, middle.children, end.children]).toEqual([[], [], []]);
    console.log(`soak: fds ${start.fds} -> ${middle.fds} -> ${end.fds}; RSS ${Math.round(start.rssKb / 1024)} -> ${Math.round(middle.rssKb / 1024)} -> ${Math.round(end.rssKb / 1024)} MB`);
    // Every slot kept meanwhile: no capture failed.
    expect(sut.lines.filter((l) => l.level === 'error' || l.msg === 'capture failed')).toEqual([]);
  }, 240_000);
});
