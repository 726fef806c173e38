/**
 * A day as people go through it (issue 25): the day's player scrubbed with the keys and
 * with a finger, played at a chosen speed; the viewer opened from it and left back to the
 * same picture; the viewer's neighbours fetched only once the picture shown has arrived;
 * full screen and a two-finger pinch; compare presets and the comparison downloaded as
 * one picture. The daemon runs as a child process on pictures the test stored.
 */
import fs from 'node:fs';
import sharp from 'sharp';
import { DateTime } from 'luxon';
import type { Browser, Page } from 'playwright-core';
import { parseConfig } from '../../daemon/config/load';
import { openRepositories } from '../../daemon/store/repositories';
import { freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { addUser, eventually, launchBrowser, openAs, PHONE, screenshots, visit, type UserPage } from '../helpers/browser';
import { scene, seedPictures } from '../helpers/videos';

jest.setTimeout(120_000);

const PASSWORD = 'correct horse battery staple';
const TZ = 'Europe/Paris';
const DAYS = ['2026-11-20', '2026-11-21'];
/** 48 pictures a day, every 15 minutes from 08:00. */
const PER_DAY = 48;

/** The day player's state as the page shows it. */
async function player(page: Page): Promise<{ picture: string; value: number; label: string; hash: string }> {
  return page.evaluate(() => {
    const g = globalThis as unknown as { document: { querySelector(s: string): { dataset: Record<string, string>; value: string; textContent: string } | null }; location: { hash: string } };
    return {
      picture: g.document.querySelector('.day-stage img')!.dataset['picture']!,
      value: Number(g.document.querySelector('.scrubber')!.value),
      label: g.document.querySelector('.scrub-time')!.textContent,
      hash: g.location.hash,
    };
  });
}

describe('UI: a day, scrubbed, played and viewed', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let ids: number[] = [];
  const users: UserPage[] = [];

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-day-');
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [{ id: 'north', name: 'North bank', camera: { driver: 'testpattern', width: 320, height: 180, timeout: '10s' }, schedule: { every: '1d' }, timelapse: { daily: { enabled: false } } }],
    });
    const { config } = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile);
    const store = openRepositories(config.storage.dataDir);
    try {
      for (const [d, date] of DAYS.entries()) {
        const start = DateTime.fromISO(`${date}T08:00`, { zone: TZ }).toMillis();
        const seeded = await seedPictures(config, store, 'north', Array.from({ length: PER_DAY }, (_, i) => start + i * 900_000), (i) => scene(320, 180, 0.7 + d * 0.2 + i * 0.005, i * 7));
        if (d === 1) ids = seeded.map((p) => p.id);
      }
    } finally {
      store.close();
    }
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await addUser(configFile, 'cora', 'customer', PASSWORD, { north: 'view' });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  afterEach(() => {
    for (const u of users) expect(u.problems).toEqual([]);
  });

  it('scrubs the day with the keys and plays it at the speed chosen', async () => {
    const desk = await openAs(browser, sut.baseUrl, 'cora', PASSWORD);
    users.push(desk);
    const { page } = desk;
    await visit(page, `#/s/north/${DAYS[1]}`);
    await page.locator('.day-stage img').waitFor();
    expect(await player(page)).toMatchObject({ picture: String(ids[0]), value: 0, label: '08:00:00 · 1 / 48' });
    // Keys on the page move one picture; on the scrubber, End goes to the last, Page Down further.
    await page.keyboard.press('ArrowRight');
    expect(await player(page)).toMatchObject({ picture: String(ids[1]), label: '08:15:00 · 2 / 48' });
    await page.locator('.scrubber').focus();
    await page.keyboard.press('End');
    expect(await player(page)).toMatchObject({ picture: String(ids[47]), value: 47, label: '19:45:00 · 48 / 48', hash: `#/s/north/${DAYS[1]}?p=${ids[47]}` });
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    expect((await player(page)).value).toBe(1);
    // The preview of the place follows once the hand stops (a desktop: the 1280-pixel size).
    await page.waitForFunction((id) => (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(a: string): string | null } | null } }).document.querySelector('.day-stage img')?.getAttribute('src') === `/api/pictures/${id}/preview`, ids[1]);
    await screenshots(page, 'day-player');

    // Play at 20 pictures a second: it moves on by itself, and stops where Pause is pressed.
    await page.locator('select.speed').selectOption('20');
    await page.locator('[data-action="play"]').click();
    expect(await page.locator('[data-action="play"]').getAttribute('aria-pressed')).toBe('true');
    await page.waitForFunction(() => Number((globalThis as unknown as { document: { querySelector(s: string): { value: string } } }).document.querySelector('.scrubber').value) >= 12, undefined, { timeout: 10_000 });
    await page.locator('[data-action="play"]').click();
    const paused = (await player(page)).value;
    await page.waitForTimeout(500);
    expect((await player(page)).value).toBe(paused);
    expect(paused).toBeLessThan(47);
  });

  it('scrubs with a finger on a phone, opens the picture and comes back to it', async () => {
    const phone = await openAs(browser, sut.baseUrl, 'cora', PASSWORD, PHONE);
    users.push(phone);
    const { page } = phone;
    await visit(page, `#/s/north/${DAYS[1]}`);
    const scrubber = page.locator('.scrubber');
    await scrubber.waitFor();
    const box = (await scrubber.boundingBox())!;
    // A finger down at the left, dragged to three quarters of the way.
    const cdp = await page.context().newCDPSession(page);
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', x: number) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y: box.y + box.height / 2 }] });
    await touch('touchStart', box.x + 4);
    for (let i = 1; i <= 10; i++) await touch('touchMove', box.x + 4 + (i / 10) * (box.width * 0.75 - 4));
    await touch('touchEnd', 0);
    const at = (await player(page)).value;
    expect(at).toBeGreaterThanOrEqual(33);
    expect(at).toBeLessThanOrEqual(37);
    // The picture opens in the viewer; Escape goes back to the day at that picture.
    const id = (await player(page)).picture;
    await page.locator('.day-stage .stage-link').tap();
    await page.waitForURL(new RegExp(`#/p/${id}$`));
    await page.locator('.viewer .photo').waitFor();
    await page.keyboard.press('Escape');
    await page.waitForURL(new RegExp(`#/s/north/${DAYS[1]}\\?p=${id}$`));
    await page.locator('.day-stage img').waitFor();
    expect((await player(page)).picture).toBe(id);
    await screenshots(page, 'day-player-phone');
  });

  it('starts the picture before its facts, fetches the neighbours only once it has arrived, goes full screen and pinches', async () => {
    const phone = await openAs(browser, sut.baseUrl, 'cora', PASSWORD, PHONE);
    users.push(phone);
    const { page } = phone;
    const events: string[] = [];
    const middle = ids[20]!;
    // A 390-pixel phone screen at one device pixel each: the small size is enough.
    const what = (url: string) => /\/api\/pictures\/(\d+)\/small$/.exec(url)?.[1] ?? (new RegExp(`/api/pictures/${middle}$`).test(url) ? 'facts' : null);
    page.on('request', (r) => {
      const m = what(r.url());
      if (m) events.push(`request ${m}`);
    });
    page.on('requestfinished', (r) => {
      const m = what(r.url());
      if (m) events.push(`finished ${m}`);
    });
    await visit(page, `#/p/${middle}`);
    await page.waitForFunction((n) => n.every((id) => (globalThis as unknown as { performance: { getEntriesByType(t: string): { name: string }[] } }).performance.getEntriesByType('resource').some((e) => e.name.endsWith(`/api/pictures/${id}/small`))), [ids[19], ids[21]]);
    // The picture was asked for at start-up, before its facts came back, and asked for once.
    expect(events.indexOf(`request ${middle}`)).toBeGreaterThanOrEqual(0);
    expect(events.indexOf(`request ${middle}`)).toBeLessThan(events.indexOf('finished facts'));
    expect(events.filter((e) => e === `request ${middle}`)).toHaveLength(1);
    expect(await page.locator('.viewer .photo').getAttribute('src')).toBe(`/api/pictures/${middle}/small`);
    const shown = events.indexOf(`finished ${middle}`);
    expect(shown).toBeGreaterThanOrEqual(0);
    expect(events.indexOf(`request ${ids[21]}`)).toBeGreaterThan(shown);
    expect(events.indexOf(`request ${ids[19]}`)).toBeGreaterThan(shown);

    // Full screen, and back.
    await page.locator('[data-action="fullscreen"]').tap();
    await page.waitForFunction(() => (globalThis as unknown as { document: { fullscreenElement: { className: string } | null } }).document.fullscreenElement?.className.includes('stage') === true);
    await page.locator('[data-action="fullscreen"][aria-pressed="true"]').waitFor({ state: 'attached' });
    await page.evaluate(() => (globalThis as unknown as { document: { exitFullscreen(): Promise<void> } }).document.exitFullscreen());
    await page.waitForFunction(() => (globalThis as unknown as { document: { fullscreenElement: unknown } }).document.fullscreenElement === null);

    // Two fingers spread apart: the picture grows under them; a double tap fits it again.
    const stage = (await page.locator('.viewer .stage').boundingBox())!;
    const cx = stage.x + stage.width / 2;
    const cy = stage.y + stage.height / 2;
    const cdp = await page.context().newCDPSession(page);
    const fingers = (d: number) => [{ x: cx - d, y: cy, id: 1 }, { x: cx + d, y: cy, id: 2 }];
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: fingers(20) });
    for (let d = 30; d <= 80; d += 10) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: fingers(d) });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    const scale = Number(await page.locator('.viewer .stage').getAttribute('data-scale'));
    expect(scale).toBeGreaterThan(3.5);
    expect(scale).toBeLessThan(4.5);
    // Still the same picture: a pinch is not a swipe.
    expect(page.url()).toMatch(new RegExp(`#/p/${middle}$`));
    for (let i = 0; i < 2; i++) {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: cx, y: cy }] });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    }
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { dataset: Record<string, string> } } }).document.querySelector('.viewer .stage').dataset['scale'] === '1.00');
  });

  it('picks the small size on a slow link, the preview on a fast one, and fetches the hours\' thumbnails as they near the screen', async () => {
    // A phone as people hold one: 390 CSS pixels at three device pixels each, 1170 across.
    const context = await browser.newContext({ baseURL: sut.baseUrl, httpCredentials: { username: 'cora', password: PASSWORD }, viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true, locale: 'en-GB' });
    try {
      const page = await context.newPage();
      const thumbs = new Set<string>();
      page.on('request', (r) => {
        const m = /\/api\/pictures\/(\d+)\/thumb$/.exec(r.url());
        if (m) thumbs.add(m[1]!);
      });
      const stageSize = async () => {
        await page.waitForFunction(() => /\/(small|preview)$/.test((globalThis as unknown as { document: { querySelector(s: string): { getAttribute(a: string): string | null } | null } }).document.querySelector('.day-stage img')?.getAttribute('src') ?? ''));
        return /\/(\w+)$/.exec((await page.locator('.day-stage img').getAttribute('src'))!)![1];
      };
      // A fast link: the 1280-pixel preview, which this screen can show.
      await page.goto(`/#/s/north/${DAYS[1]}`);
      expect(await stageSize()).toBe('preview');

      // On a 1.6 Mbit/s link (as the page measures its own transfers), the small size, in the day and in the viewer.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 150, downloadThroughput: 1_600_000 / 8, uploadThroughput: 750_000 / 8 });
      thumbs.clear();
      await page.goto(`/#/s/north/${DAYS[0]}`);
      await page.reload();
      expect(await stageSize()).toBe('small');

      // The hours' thumbnails: those near the screen only; the evening's once scrolled to.
      await page.locator('.hour .thumb img[src]').first().waitFor({ state: 'attached' });
      await page.waitForTimeout(500);
      const evening = page.locator('.hour').last();
      expect(await evening.locator('.thumb img').count()).toBeGreaterThan(0);
      expect(await evening.locator('.thumb img[src]').count()).toBe(0);
      // The strip's eight and the first hours': not the day's 48.
      expect(thumbs.size).toBeLessThan(PER_DAY / 2);
      await evening.scrollIntoViewIfNeeded();
      await eventually(async () => expect(await evening.locator('.thumb img:not([src])').count()).toBe(0));
      await eventually(async () => expect(await evening.locator('.thumb img').evaluateAll((list) => list.every((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth > 0))).toBe(true));

      await page.goto(`/#/p/${ids[5]}`);
      await page.locator('.viewer .photo').waitFor();
      expect(await page.locator('.viewer .photo').getAttribute('src')).toBe(`/api/pictures/${ids[5]}/small`);
      // Zoom asks for the preview: the detail someone zooms for.
      await page.locator('[data-action="zoom"]').tap();
      expect(await page.locator('.viewer .photo').getAttribute('src')).toBe(`/api/pictures/${ids[5]}/preview`);
      await screenshots(page, 'day-slow-link');
    } finally {
      await context.close();
    }
  });

  it('compares with a preset and downloads the comparison as one picture', async () => {
    const desk = await openAs(browser, sut.baseUrl, 'cora', PASSWORD);
    users.push(desk);
    const { page } = desk;
    await visit(page, `#/s/north/compare?b=${DAYS[1]}T12:00`);
    await page.locator('.compare-out figure').first().waitFor();
    await page.locator('[data-preset="yesterday"]').click();
    expect(await page.locator('input[name="a"]').inputValue()).toBe(`${DAYS[0]}T12:00`);
    await page.waitForFunction((day) => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document.querySelector('.compare-out figcaption')?.textContent?.includes(day) === true, '20 Nov 2026');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-action="download-compare"]').click()]);
    const file = await download.path();
    const meta = await sharp(file!).metadata();
    expect([meta.format, meta.width]).toEqual(['jpeg', 640]);
    expect(meta.height).toBeGreaterThan(180);
    expect(download.suggestedFilename()).toMatch(/^compare-\d+-\d+\.jpg$/);
    await screenshots(page, 'compare-presets');
  });
});
