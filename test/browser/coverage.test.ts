/**
 * The coverage calendar of the running daemon (issue 25), driven through the faults
 * it reports: an IP camera (a local HTTP server the test switches off and on) takes
 * pictures, then fails, then comes back; the daemon is stopped and started again.
 * At each step GET /api/sources/<id>/coverage says what is true now: slots planned
 * against pictures, a `camera` gap with the error (for a maintainer; a customer reads
 * the reason only) and an `off` gap from the stop to the start. Then people read it in
 * the calendar: a customer on a phone, a maintainer on a desktop.
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { DaemonProcess, basic, initialPassword } from '../helpers/daemon';
import { freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { startIpCamera, type IpCamera } from '../helpers/ip-camera';
import { launchBrowser, openAs, PHONE, screenshots, texts, visit } from '../helpers/browser';

jest.setTimeout(120_000);

interface Gap {
  reason: string;
  from: string | null;
  to: string | null;
  slots: number;
  message?: string;
}
interface Day {
  date: string;
  state: string;
  expected: number;
  pictures: number;
  ratio: number | null;
  gaps: Gap[];
}
interface Coverage {
  today: string;
  firstDay: string | null;
  days: Day[];
}

describe('the coverage calendar of the running daemon', () => {
  const tmp = tempDir();
  let sut: DaemonProcess | null = null;
  let camera: IpCamera;
  let browser: Browser;

  beforeAll(async () => {
    camera = await startIpCamera();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    await camera.close();
    tmp.cleanup();
  });

  it('counts slots against pictures, and says when the camera failed and when the box was off', async () => {
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [{ id: 'gate', name: 'Site gate', camera: { driver: 'http', url: camera.url, timeout: '2s' }, schedule: { every: '1s' }, recovery: { retries: 0 } }],
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    const admin = basic('admin', initialPassword(path.join(tmp.dir, 'data')));
    const json = { ...admin, 'content-type': 'application/json' };
    const post = (url: string, body: unknown, method = 'POST') => fetch(`${sut!.baseUrl}${url}`, { method, headers: json, body: JSON.stringify(body) });
    expect((await post('/api/users', { username: 'client', profile: 'customer', password: 'client-password-1' })).status).toBe(201);
    expect((await post('/api/users/client/grants/gate', { level: 'view' }, 'PUT')).status).toBe(200);
    const customer = basic('client', 'client-password-1');
    const coverage = async (who = admin): Promise<Coverage> => {
      const res = await fetch(`${sut!.baseUrl}/api/sources/gate/coverage`, { headers: who });
      const body = await res.text();
      expect([res.status, res.status === 200 ? '' : `${body}\n${sut!.output.slice(-5).join('\n')}`]).toEqual([200, '']);
      return JSON.parse(body) as Coverage;
    };
    const today = async (who = admin): Promise<Day> => {
      const c = await coverage(who);
      return c.days.find((d) => d.date === c.today)!;
    };

    // Pictures come: today's slots so far, nearly all with a picture.
    await waitFor('five pictures', async () => (await today()).pictures >= 5);
    let day = await today();
    expect(day.expected).toBeGreaterThanOrEqual(day.pictures - 1);
    expect(day.gaps.filter((g) => g.reason === 'camera' || g.reason === 'off')).toEqual([]);
    const c = await coverage();
    expect(c.firstDay).toBe(c.today);
    // The days after today are the future; those before the first picture, before.
    expect(c.days.filter((d) => d.date > c.today).every((d) => d.state === 'future')).toBe(true);
    expect(c.days.filter((d) => d.date < c.today).every((d) => d.state === 'before')).toBe(true);

    // The camera fails: a run of camera gaps, with the error for the maintainer.
    const failedFrom = Date.now();
    camera.set(false);
    await waitFor('three failed slots', async () => ((await today()).gaps.find((g) => g.reason === 'camera')?.slots ?? 0) >= 3);
    camera.set(true);
    const failedTo = Date.now();
    await waitFor('pictures again', async () => (await today()).pictures > day.pictures + 2);
    day = await today();
    const failed = day.gaps.filter((g) => g.reason === 'camera');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.message).toMatch(/503/);
    expect(Date.parse(failed[0]!.from!)).toBeGreaterThanOrEqual(failedFrom - 1000);
    expect(Date.parse(failed[0]!.to!)).toBeLessThanOrEqual(failedTo + 3000);
    expect(day.state).toBe('partial');
    expect(day.ratio).toBeLessThan(1);
    // A customer reads the reason, not the camera's error.
    const seen = await today(customer);
    expect(seen.gaps.find((g) => g.reason === 'camera')).toEqual({ ...failed[0], message: undefined });
    expect(JSON.stringify(seen)).not.toMatch(/503/);

    // The daemon stops for a few seconds: an off gap from the stop to the start, its slots counted.
    await sut.stop();
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, 5000));
    const restartedAt = Date.now();
    await sut.start();
    await waitFor('an off gap', async () => (await today()).gaps.find((g) => g.reason === 'off'));
    day = await today();
    const off = day.gaps.filter((g) => g.reason === 'off');
    expect(off).toHaveLength(1);
    expect(Date.parse(off[0]!.from!)).toBeLessThanOrEqual(stoppedAt);
    expect(Date.parse(off[0]!.from!)).toBeGreaterThan(stoppedAt - 3000);
    expect(Date.parse(off[0]!.to!)).toBeGreaterThanOrEqual(restartedAt);
    expect(off[0]!.slots).toBeGreaterThanOrEqual(4);
    // Every slot planned is a picture or an explained gap (give or take the slot in flight).
    const explained = day.gaps.reduce((n, g) => n + g.slots, 0);
    expect(Math.abs(day.expected - day.pictures - explained)).toBeLessThanOrEqual(3);

    // A customer on a phone: today's cell is partial, with its share; the month lists the gaps and their reasons.
    const phone = await openAs(browser, sut.baseUrl, 'client', 'client-password-1', PHONE);
    await visit(phone.page, '#/s/gate');
    const cell = phone.page.locator(`.month-grid .day[data-date="${c.today}"]`);
    await cell.waitFor();
    expect(await cell.getAttribute('data-state')).toBe('partial');
    expect(await cell.locator('.mark').innerText()).toMatch(/^\d{1,2} %$/);
    expect(await cell.getAttribute('aria-label')).toMatch(/: \d+ pictures of \d+ planned \(\d+ %\)\.$/);
    const lines = await texts(phone.page.locator(`.gap-days li[data-date="${c.today}"] .gap`));
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^\d\d:\d\d(–\d\d:\d\d)? · camera failed · \d+ pictures? missed$/), expect.stringMatching(/^\d\d:\d\d(–\d\d:\d\d)? · box off · \d+ pictures missed$/)]));
    expect(await phone.page.locator('.gap-message').count()).toBe(0);
    await screenshots(phone.page, 'coverage-customer');
    // A maintainer on a desktop reads the camera's error too.
    const desk = await openAs(browser, sut.baseUrl, 'admin', initialPassword(path.join(tmp.dir, 'data')));
    await visit(desk.page, '#/s/gate');
    await desk.page.locator(`.gap-days li[data-date="${c.today}"] .gap-camera .gap-message`).waitFor();
    expect(await desk.page.locator(`.gap-days li[data-date="${c.today}"] .gap-camera .gap-message`).innerText()).toMatch(/503/);
    await screenshots(desk.page, 'coverage-maintainer');
    expect([...phone.problems, ...desk.problems]).toEqual([]);
    await Promise.all([phone.context.close(), desk.context.close()]);

    // Bad periods are named.
    const bad = await fetch(`${sut.baseUrl}/api/sources/gate/coverage?from=2026-01-01&to=2026-06-01`, { headers: admin });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ details: { to: expect.stringMatching(/62 days/) } });
    expect((await fetch(`${sut.baseUrl}/api/sources/gate/coverage?month=2026-13`, { headers: admin })).status).toBe(400);
    expect((await fetch(`${sut.baseUrl}/api/sources/nope/coverage`, { headers: admin })).status).toBe(404);
  });
});
