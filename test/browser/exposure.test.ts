/**
 * The exposure ramp as the director sees it (issue 27), against the running daemon: a test
 * pattern whose simulated sensor the ramp drives. After each capture the source page, the
 * day's page, the API and `lapsebox status` say the same settings, target and light as the
 * last picture stored; a customer sees none of it.
 */
import type { Browser } from 'playwright-core';
import { cli, freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { addUser, apiCall, launchBrowser, openAs, texts, visit, type UserPage } from '../helpers/browser';

jest.setTimeout(120_000);

const PASSWORD = 'correct horse battery staple';

interface Ramp {
  target: number;
  settings: { shutter?: string; iso?: string; aperture?: string } | null;
  ev: number | null;
  luminance: number | null;
  reason: string | null;
}
interface Picture {
  id: number;
  luminance: number;
  exposure: { shutter: string; iso: string; aperture: string; ev: number } | null;
}

describe('UI: the exposure ramp on the source page', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let director: UserPage;
  let customer: UserPage;
  let configFile: string;

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-exposure-');
    const port = await freePort();
    configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        {
          id: 'cam',
          name: 'Crane camera',
          camera: { driver: 'testpattern', width: 320, height: 180, timeout: '10s', exposure: { mode: 'ramp', target: 120 } },
          // Captures are asked for by the test: each state is read after a known picture.
          schedule: { every: '1h' },
          timelapse: { daily: { enabled: false, width: 320 } },
        },
      ],
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await addUser(configFile, 'dora', 'director', PASSWORD);
    await addUser(configFile, 'cora', 'customer', PASSWORD, { cam: 'view' });
    browser = await launchBrowser();
    director = await openAs(browser, sut.baseUrl, 'dora', PASSWORD);
    customer = await openAs(browser, sut.baseUrl, 'cora', PASSWORD);
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  afterEach(() => {
    if (director) expect(director.problems).toEqual([]);
  });

  const capture = async (): Promise<Picture> => {
    const res = await apiCall<{ picture: Picture }>(sut.baseUrl, 'dora', PASSWORD, 'POST', '/api/sources/cam/capture');
    expect(res.status).toBe(201);
    return res.json.picture;
  };
  const ramp = async (): Promise<Ramp> => (await apiCall<{ exposure: Ramp }>(sut.baseUrl, 'dora', PASSWORD, 'GET', '/api/sources/cam')).json.exposure;
  const oneDecimal = (n: number) => new Intl.NumberFormat('en-GB', { maximumFractionDigits: 1 }).format(n);
  const shown = (r: Ramp) => `${r.settings!.shutter} s · ISO ${r.settings!.iso} · ${r.settings!.aperture} (EV ${oneDecimal(r.ev!)})`;

  it('shows the settings and light of the last picture, its target and a chart of the day; again after more pictures', async () => {
    const first: Picture[] = [];
    for (let i = 0; i < 4; i++) first.push(await capture());
    const last = first.at(-1)!;
    const now = await ramp();
    // The status says what the last picture was taken with.
    expect(now).toMatchObject({ target: 120, settings: { shutter: last.exposure!.shutter, iso: last.exposure!.iso, aperture: last.exposure!.aperture }, ev: last.exposure!.ev, luminance: last.luminance });

    const { page } = director;
    await visit(page, '#/s/cam');
    const card = page.locator('section.card.exposure');
    await card.waitFor();
    expect(await card.locator('.exposure-settings').innerText()).toBe(shown(now));
    expect(await card.locator('.exposure-target').innerText()).toBe(`120 (last frame: ${oneDecimal(now.luminance!)})`);
    expect((await card.locator('.exposure-reason').innerText()).length).toBeGreaterThan(5);
    // One point of luminance and of EV per picture of the day, and the target's line.
    await card.locator('.exposure-chart svg').waitFor();
    const points = async (key: string) => (await card.locator(`.series.${key} path`).getAttribute('d'))!.split(/[ML]/).filter(Boolean).length;
    expect(await points('luminance')).toBe(4);
    expect(await points('ev')).toBe(4);
    expect(await points('target')).toBe(2);

    // Two more pictures: the page read again says what is true now.
    await capture();
    const latest = await capture();
    const after = await ramp();
    expect(after.settings).toEqual({ shutter: latest.exposure!.shutter, iso: latest.exposure!.iso, aperture: latest.exposure!.aperture });
    await visit(page, '#/s/cam');
    await card.locator('.exposure-chart svg').waitFor();
    expect(await card.locator('.exposure-settings').innerText()).toBe(shown(after));
    expect(await points('luminance')).toBe(6);

    // The day's page has the chart too.
    const day = (await apiCall<{ days: { date: string }[] }>(sut.baseUrl, 'dora', PASSWORD, 'GET', '/api/sources/cam/days')).json.days.at(-1)!.date;
    await visit(page, `#/s/cam/${day}`);
    const dayCard = page.locator('section.card.exposure');
    await dayCard.locator('.exposure-chart svg').waitFor();
    expect(await dayCard.locator('.series.luminance path').getAttribute('d')).toMatch(/^M/);

    // And the command line.
    const status = await cli(['status', '--config', configFile]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('exposure ramps:');
    expect(status.stdout).toContain(`cam: ${after.settings!.shutter} s ISO ${after.settings!.iso} ${after.settings!.aperture} (EV ${after.ev}), luminance ${after.luminance} for a target of 120`);
  });

  it('is not shown to a customer, whose API call is refused', async () => {
    const { page } = customer;
    await visit(page, '#/s/cam');
    expect(await texts(page.locator('h2'))).not.toContain('Exposure');
    expect(await page.locator('section.card.exposure').count()).toBe(0);
    expect((await apiCall(sut.baseUrl, 'cora', PASSWORD, 'GET', '/api/sources/cam/exposure')).status).toBe(403);
    const source = await apiCall<{ exposure: unknown }>(sut.baseUrl, 'cora', PASSWORD, 'GET', '/api/sources/cam');
    expect(source.json.exposure).toBeNull();
  });
});
