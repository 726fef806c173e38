/**
 * A customer in a real browser against the real daemon: the sources granted and
 * no other, the calendar, a day, the viewer with the keyboard, two moments
 * compared, a video played; no download link anywhere at the view level, and
 * the links there at the download level. Times are the appliance's (Paris)
 * although the browser runs in New York.
 */
import fs from 'node:fs';
import { DateTime } from 'luxon';
import type { Browser } from 'playwright-core';
import { parseConfig } from '../../daemon/config/load';
import { openRepositories } from '../../daemon/store/repositories';
import { cli, freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { scene, seedPictures } from '../helpers/videos';
import { PHONE, addUser, apiCall, eventually, launchBrowser, openAs, screenshots, texts, visit, type PageGlobals, type UserPage } from '../helpers/browser';

jest.setTimeout(90_000);

const PASSWORD = 'correct horse battery staple';
const TZ = 'Europe/Paris';
const DAYS = ['2026-11-20', '2026-11-21'];
/** Anything a customer could download through: none of it at the view level. */
const DOWNLOADS = 'a[download], a[href*="download=1"], a[href$="/zip"], .download';

describe('UI: a customer with view on one source', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let viewer: UserPage;
  let configFile: string;

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-customer-');
    const port = await freePort();
    // Captures only at midnight: the seeded pictures are all there is.
    const camera = { driver: 'testpattern', width: 320, height: 180, timeout: '10s' };
    configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        { id: 'north', name: 'North bank', camera, schedule: { every: '1d' }, timelapse: { daily: { enabled: false, width: 320, preset: 'ultrafast', deflicker: false } } },
        { id: 'south', name: 'South bank (secret)', camera, schedule: { every: '1d' } },
      ],
    });
    const { config } = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile);
    const store = openRepositories(config.storage.dataDir);
    try {
      for (const [d, date] of DAYS.entries()) {
        const start = DateTime.fromISO(`${date}T10:00`, { zone: TZ }).toMillis();
        // 12 pictures, every 10 minutes from 10:00 to 11:50, a scene that moves.
        await seedPictures(config, store, 'north', Array.from({ length: 12 }, (_, i) => start + i * 600_000), (i) => scene(320, 180, 0.8 + d * 0.3, i * 12));
      }
      await seedPictures(config, store, 'south', [DateTime.fromISO(`${DAYS[0]}T10:00`, { zone: TZ }).toMillis()], () => scene(320, 180, 1));
    } finally {
      store.close();
    }
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await addUser(configFile, 'viewer', 'customer', PASSWORD, { north: 'view' });
    await addUser(configFile, 'buyer', 'customer', PASSWORD, { north: 'download' });
    // A video of the first day, built by the running daemon.
    const built = await cli(['timelapse', 'north', '--from', DAYS[0]!, '--to', DAYS[0]!, '--fps', '4', '--width', '320', '--json', '--config', configFile]);
    if (built.code !== 0) throw new Error(`lapsebox timelapse failed: ${built.stderr}${built.stdout}`);
    browser = await launchBrowser();
    viewer = await openAs(browser, sut.baseUrl, 'viewer', PASSWORD);
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  afterEach(() => {
    // No script error, no CSP refusal, no dialog on any page of the walk.
    if (viewer) expect(viewer.problems).toEqual([]);
  });

  it('lists only the granted source, with its latest picture and status', async () => {
    const { page } = viewer;
    await visit(page, '#/');
    const cards = page.locator('.source-card');
    await eventually(async () => expect(await texts(cards.locator('.source-name'))).toEqual(['North bank']));
    expect(await page.locator('main').innerText()).not.toContain('South');
    expect(await cards.first().locator('img').getAttribute('src')).toMatch(/^\/api\/pictures\/\d+\/thumb$/);
    expect(await page.locator(DOWNLOADS).count()).toBe(0);
    // The project in short, not the schedule's workings (next slot, interval).
    expect(await texts(cards.first().locator('.summary dd'))).toEqual(['20 Nov 2026 · 2 days', '24', 'Film · 20 Nov 2026 (3 s)']);
    expect(await cards.first().innerText()).not.toMatch(/Next|every/);
    // Customers have no system, users or audit pages.
    expect(await texts(page.locator('#nav a'))).toEqual(['Sources']);
    await screenshots(page, 'gallery');

    // The other source does not exist for this user, in the UI as in the API.
    await visit(page, '#/s/south');
    expect(await page.locator('main .error').innerText()).toContain('no source "south"');
  });

  it('browses the calendar and opens a day grouped by hour, in the appliance time zone', async () => {
    const { page } = viewer;
    await visit(page, '#/');
    await page.locator('.source-card .thumb-link').click();
    await page.waitForURL(/#\/s\/north$/);
    await page.locator('.calendar .month-grid').waitFor();
    // The calendar opens on this month; "First day" goes to the month of the first picture, November 2026.
    if ((await page.locator('.month-nav h2').innerText()) !== 'November 2026') await page.locator('[data-action="first-day"]').click();
    await page.locator('.month-nav h2', { hasText: 'November 2026' }).waitFor();
    expect(await page.locator('.day.has').count()).toBe(2);
    // A day says its pictures against the slots planned (these pictures are older than the box's record of its schedule: estimated).
    expect(await page.locator('.day.has[data-date="2026-11-21"]').getAttribute('aria-label')).toMatch(/^Saturday,? 21 November 2026: 12 pictures of \d+ planned \(\d+ %\), counted with the first schedule on record\.$/);
    // No capture button nor settings tab for a customer.
    expect(await page.locator('[data-action="capture"]').count()).toBe(0);
    expect(await texts(page.locator('.tabs a'))).toEqual(['Calendar', 'Compare', 'Videos']);
    await screenshots(page, 'calendar');

    await page.locator('.day.has[data-date="2026-11-21"]').click();
    await page.waitForURL(/#\/s\/north\/2026-11-21$/);
    await page.locator('.thumb').first().waitFor();
    expect(await page.locator('.thumb').count()).toBe(12);
    // Paris hours, not New York's.
    expect(await texts(page.locator('.hour h3'))).toEqual(['10:00 6 pictures', '11:00 6 pictures']);
    expect(await page.locator('.thumb .time').first().innerText()).toBe('10:00:00');
    // Each thumbnail is asked for as it nears the screen (below the day's player on a desktop): these twelve once scrolled to.
    await page.locator('.hour').first().scrollIntoViewIfNeeded();
    await eventually(async () => expect(await page.locator('.thumb img[src$="/thumb"]').count()).toBe(12));
    expect(await page.locator(DOWNLOADS).count()).toBe(0);
    await screenshots(page, 'day');
  });

  it('opens a picture in the viewer, moves with the arrow keys and zooms', async () => {
    const { page } = viewer;
    await visit(page, '#/s/north/2026-11-21');
    // The second picture of the day, by its thumbnail's link (the day's player and its thumbnails are tested in day.test.ts).
    const href = (await page.locator('.thumb').nth(1).getAttribute('href'))!;
    expect(href).toMatch(/^#\/p\/\d+$/);
    await page.goto(`/${href}`);
    await page.waitForURL(/#\/p\/\d+$/);
    const takenAt = page.locator('.taken-at');
    const shows = (text: string) => eventually(async () => expect(await takenAt.innerText()).toBe(text));
    await shows('21 Nov 2026, 10:10:00');
    expect(await page.locator('.photo').getAttribute('src')).toMatch(/\/preview$/);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.querySelector('.photo')?.['naturalWidth'] === 320);
    const first = page.url();

    await page.keyboard.press('ArrowRight');
    await shows('21 Nov 2026, 10:20:00');
    expect(page.url()).not.toBe(first);
    await page.keyboard.press('ArrowLeft');
    await shows('21 Nov 2026, 10:10:00');
    // Across days: the first picture of the 21st has the last of the 20th before it.
    await page.keyboard.press('ArrowLeft');
    await shows('21 Nov 2026, 10:00:00');
    await page.keyboard.press('ArrowLeft');
    await shows('20 Nov 2026, 11:50:00');
    await page.keyboard.press('ArrowRight');
    await shows('21 Nov 2026, 10:00:00');

    // Zoom: 100% of the preview (no original at the view level), and back.
    await page.locator('[data-action="zoom"]').click();
    expect(await page.locator('.stage').getAttribute('class')).toContain('zoomed');
    expect(await page.locator('.photo').getAttribute('src')).toMatch(/\/preview$/);
    await page.locator('[data-action="zoom"]').click();
    expect(await page.locator('.stage').getAttribute('class')).not.toContain('zoomed');
    expect(await page.locator(DOWNLOADS).count()).toBe(0);
    await screenshots(page, 'viewer');
  });

  it('swipes to the next and previous picture on a phone', async () => {
    const phone = await browser.newContext({ baseURL: sut.baseUrl, httpCredentials: { username: 'viewer', password: PASSWORD }, viewport: PHONE, hasTouch: true, isMobile: true, timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    try {
      const page = await phone.newPage();
      await visit(page, '#/s/north/2026-11-21');
      await page.locator('.thumb').nth(3).click();
      const takenAt = page.locator('.taken-at');
      await eventually(async () => expect(await takenAt.innerText()).toBe('21 Nov 2026, 10:30:00'));
      /** A horizontal finger move across the picture, as pointer events. */
      const swipe = (fromX: number, toX: number) =>
        page.locator('.stage').evaluate(
          (stage: { dispatchEvent(e: unknown): boolean }, [a, b]) => {
            const make = (globalThis as unknown as { PointerEvent: new (type: string, init: object) => unknown }).PointerEvent;
            const init = { bubbles: true, pointerType: 'touch', pointerId: 7, isPrimary: true, clientY: 300 };
            stage.dispatchEvent(new make('pointerdown', { ...init, clientX: a }));
            stage.dispatchEvent(new make('pointerup', { ...init, clientX: b }));
          },
          [fromX, toX],
        );
      await swipe(320, 60); // right to left: next
      await eventually(async () => expect(await takenAt.innerText()).toBe('21 Nov 2026, 10:40:00'));
      await swipe(60, 330); // left to right: previous
      await eventually(async () => expect(await takenAt.innerText()).toBe('21 Nov 2026, 10:30:00'));
    } finally {
      await phone.close();
    }
  });

  it('compares two moments side by side and with the slider', async () => {
    const { page } = viewer;
    await visit(page, '#/s/north/compare?a=2026-11-20T10:02&b=2026-11-21T11:48');
    const captions = page.locator('.side-by-side figcaption');
    await eventually(async () => expect(await texts(captions)).toEqual(['A 20 Nov 2026, 10:00:00', 'B 21 Nov 2026, 11:50:00']));
    await screenshots(page, 'compare');

    // Another moment through the form.
    await page.locator('input[name="a"]').fill('2026-11-20T11:31');
    await page.locator('form.compare-form button[type="submit"]').click();
    await eventually(async () => expect(await texts(captions)).toEqual(['A 20 Nov 2026, 11:30:00', 'B 21 Nov 2026, 11:50:00']));

    await page.locator('button[data-mode="slider"]').click();
    const slider = page.locator('.overlay');
    await slider.waitFor();
    expect(await slider.locator('img').count()).toBe(2);
    await page.locator('input.slider').fill('30');
    expect(await slider.locator('img.over').evaluate((img: { style: { clipPath: string } }) => img.style.clipPath)).toBe('inset(0px 70% 0px 0px)');
    await screenshots(page, 'compare-slider');
    expect(await page.locator(DOWNLOADS).count()).toBe(0);
  });

  it('plays a video in the HTML5 player, with no download link', async () => {
    const { page } = viewer;
    await visit(page, '#/s/north/videos');
    await page.locator('.video-item').first().waitFor();
    expect(await page.locator('.video-item').count()).toBe(1);
    expect(await page.locator('.video-label strong').innerText()).toBe('Custom · 20 Nov 2026');
    expect(await page.locator(DOWNLOADS).count()).toBe(0);
    await page.locator('.video-open').click();
    const video = page.locator('.player video');
    expect(await video.getAttribute('src')).toMatch(/^\/api\/videos\/\d+\/file$/);
    await page.waitForFunction(() => Number((globalThis as unknown as PageGlobals).document.querySelector('.player video')?.['readyState']) >= 2, undefined, { timeout: 15_000 });
    const played = await video.evaluate(async (el: { muted: boolean; play(): Promise<void>; currentTime: number; videoWidth: number; error: { message: string } | null }) => {
      el.muted = true;
      await el.play();
      await new Promise((resolve) => setTimeout(resolve, 700));
      return { time: el.currentTime, width: el.videoWidth, error: el.error?.message ?? null };
    });
    expect(played.error).toBeNull();
    expect(played.width).toBe(320);
    expect(played.time).toBeGreaterThan(0.2);
    expect(await page.locator(DOWNLOADS).count()).toBe(0);
    await screenshots(page, 'videos');
  });

  it('shows the download links to a customer with the download level, and the server agrees', async () => {
    const buyer = await openAs(browser, sut.baseUrl, 'buyer', PASSWORD);
    try {
      const { page } = buyer;
      await visit(page, '#/s/north/2026-11-21');
      expect(await page.locator('a[href="/api/sources/north/days/2026-11-21/zip"]').count()).toBe(1);
      const zip = await page.request.get('/api/sources/north/days/2026-11-21/zip');
      expect([zip.status(), zip.headers()['content-type']]).toEqual([200, 'application/zip']);
      await page.locator('.thumb').first().click();
      await page.locator('a.download').waitFor();
      expect(await page.locator('a.download').getAttribute('href')).toMatch(/^\/api\/pictures\/\d+\/original\?download=1$/);
      // At the download level, 100% is the original.
      await page.locator('[data-action="zoom"]').click();
      expect(await page.locator('.photo').getAttribute('src')).toMatch(/^\/api\/pictures\/\d+\/original$/);
      await visit(page, '#/s/north/videos');
      expect(await page.locator('.video-item a.download').getAttribute('href')).toMatch(/^\/api\/videos\/\d+\/file\?download=1$/);
      expect(buyer.problems).toEqual([]);
    } finally {
      await buyer.context.close();
    }
    // And the viewer may not fetch them even by hand.
    const id = (await apiCall<{ pictures: { id: number }[] }>(sut.baseUrl, 'viewer', PASSWORD, 'GET', '/api/sources/north/pictures?date=2026-11-21')).json.pictures[0]!.id;
    expect((await apiCall(sut.baseUrl, 'viewer', PASSWORD, 'GET', `/api/pictures/${id}/original`)).status).toBe(403);
  });

  it('serves the UI with the strict Content-Security-Policy', async () => {
    const res = await viewer.page.request.get('/');
    expect(res.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers()['content-security-policy']).not.toContain('unsafe-inline');
  });
});
