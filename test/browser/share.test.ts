/**
 * Share links in real browsers against the real daemon (issue 22). A visitor on a
 * phone, with no account, opens a gallery link: the calendar, a day, a picture, the
 * films, and no download anywhere at the `view` level (a `download` link shows
 * them, and the server serves them). A director makes a link with the Share button,
 * sees it once with its QR code; a fresh browser opens it; the director revokes it
 * on the Shares page and the visitor's reload says so (410). A picture link shows
 * that picture and no way to another; the live picture, compare and film links show
 * theirs. Every request of a visitor's page stays under its link, and nothing on a
 * 375 px wide phone is wider than the screen.
 */
import fs from 'node:fs';
import { DateTime } from 'luxon';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseConfig } from '../../daemon/config/load';
import { openRepositories } from '../../daemon/store/repositories';
import { cli, freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { scene, seedPictures } from '../helpers/videos';
import { addUser, apiCall, eventually, launchBrowser, openAs, screenshots, texts, visit, type PageGlobals, type UserPage } from '../helpers/browser';

jest.setTimeout(120_000);

const PASSWORD = 'correct horse battery staple';
const TZ = 'Europe/Paris';
const DAYS = ['2026-11-20', '2026-11-21'];
/** Anything a visitor could download through: none of it at the view level. */
const DOWNLOADS = 'a[download], a[href*="download=1"], a[href$="/zip"], .download';
/** The phone of the issue: 375 × 667, touch. */
const PHONE_375 = { width: 375, height: 667 };

interface Created {
  id: number;
  url: string;
  link: string;
  expiresAt: string;
  qr: string;
}

/** A visitor: a phone without credentials, watching what its page does. */
interface Visitor {
  context: BrowserContext;
  page: Page;
  /** Script errors, CSP refusals, dialogs, answers >= 400 (other than the expected ones). */
  problems: string[];
  /** Paths the page asked for outside its link (there should be none). */
  outside: string[];
}

describe('UI: share links', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let director: UserPage;
  const visitors: Visitor[] = [];
  let pictureIds: number[] = [];
  let videoId = 0;

  /** A link made through the API, as the director. */
  async function share(body: Record<string, unknown>): Promise<Created> {
    const made = await apiCall<Created>(sut.baseUrl, 'dora', PASSWORD, 'POST', '/api/shares', { source: 'north', expiresIn: '7d', ...body });
    if (made.status !== 201) throw new Error(`POST /api/shares ${JSON.stringify(body)}: ${made.status} ${JSON.stringify(made.json)}`);
    return made.json;
  }

  async function visitor(expected: RegExp[] = []): Promise<Visitor> {
    const context = await browser.newContext({ baseURL: sut.baseUrl, viewport: PHONE_375, isMobile: true, hasTouch: true, timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const v: Visitor = { context, page, problems: [], outside: [] };
    page.on('pageerror', (err) => v.problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content.Security.Policy|Refused to/i.test(msg.text())) v.problems.push(`CSP: ${msg.text()}`);
    });
    page.on('dialog', (dialog) => {
      v.problems.push(`${dialog.type()} dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.protocol === 'data:' || url.protocol === 'blob:') return;
      if (!/^\/s\/[A-Za-z0-9_-]{32}(\/|$)/.test(url.pathname)) v.outside.push(url.pathname);
    });
    page.on('response', (res) => {
      const path = new URL(res.url()).pathname;
      if (res.status() >= 400 && !expected.some((e) => e.test(path))) v.problems.push(`${res.status()} ${path}`);
    });
    visitors.push(v);
    return v;
  }

  /** Opens a link and waits until its view has loaded. */
  async function open(v: Visitor, url: string, hash = ''): Promise<void> {
    await v.page.goto(`${url}${hash}`);
    await v.page.locator('main .view').waitFor();
    await v.page.waitForFunction(() => !(globalThis as unknown as PageGlobals).document.querySelector('main .loading'));
  }

  /** Nothing wider than the phone: the page never scrolls sideways. */
  async function fitsThePhone(page: Page): Promise<void> {
    const widths = await page.evaluate(() => {
      const g = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number }; body: { scrollWidth: number } } };
      return { page: Math.max(g.document.documentElement.scrollWidth, g.document.body.scrollWidth), screen: g.innerWidth };
    });
    expect(widths.page).toBeLessThanOrEqual(widths.screen);
  }

  const loaded = (page: Page, selector: string) =>
    page.waitForFunction((s) => {
      const img = (globalThis as unknown as PageGlobals).document.querySelector(s) as unknown as { complete: boolean; naturalWidth: number } | null;
      return img !== null && img.complete && img.naturalWidth > 0;
    }, selector);

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-share-');
    const port = await freePort();
    const camera = { driver: 'testpattern', width: 320, height: 180, timeout: '10s' };
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        { id: 'north', name: 'North bank', camera, schedule: { every: '1d' }, timelapse: { daily: { enabled: false, width: 320, preset: 'ultrafast', deflicker: false } } },
        { id: 'south', name: 'South bank', camera, schedule: { every: '1d' } },
      ],
    });
    const { config } = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile);
    const store = openRepositories(config.storage.dataDir);
    try {
      for (const [d, date] of DAYS.entries()) {
        const start = DateTime.fromISO(`${date}T10:00`, { zone: TZ }).toMillis();
        const made = await seedPictures(config, store, 'north', Array.from({ length: 6 }, (_, i) => start + i * 600_000), (i) => scene(320, 180, 0.8 + d * 0.3, i * 12));
        pictureIds.push(...made.map((p) => p.id));
      }
      await seedPictures(config, store, 'south', [DateTime.fromISO(`${DAYS[0]}T10:00`, { zone: TZ }).toMillis()], () => scene(320, 180, 1));
    } finally {
      store.close();
    }
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await addUser(configFile, 'dora', 'director', PASSWORD);
    const built = await cli(['timelapse', 'north', '--from', DAYS[0]!, '--to', DAYS[0]!, '--fps', '4', '--width', '320', '--json', '--config', configFile]);
    if (built.code !== 0) throw new Error(`lapsebox timelapse failed: ${built.stderr}${built.stdout}`);
    const videos = await apiCall<{ videos: { id: number }[] }>(sut.baseUrl, 'dora', PASSWORD, 'GET', '/api/sources/north/videos');
    videoId = videos.json.videos[0]!.id;
    browser = await launchBrowser();
    director = await openAs(browser, sut.baseUrl, 'dora', PASSWORD);
  });

  afterAll(async () => {
    for (const v of visitors) await v.context.close();
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  afterEach(async () => {
    // No script error, CSP refusal, dialog or refused request, and nothing asked outside the link.
    expect(visitors.flatMap((v) => v.problems)).toEqual([]);
    expect(visitors.flatMap((v) => v.outside)).toEqual([]);
    if (director) expect(director.problems).toEqual([]);
    while (visitors.length) await visitors.pop()!.context.close();
  });

  it('a visitor on a phone opens a gallery link at view: the calendar, a day, a picture, the films, and no download anywhere', async () => {
    const link = await share({ scope: 'gallery', level: 'view', label: 'For the site meeting' });
    const v = await visitor();
    const { page } = v;
    await open(v, link.url);

    // The link's header: the box, the label, until when; no navigation, no user.
    expect(await page.locator('#brand').innerText()).toBe('Test box');
    expect(await page.locator('.share-info .share-label').innerText()).toBe('For the site meeting');
    expect(await page.locator('.share-info .share-until').innerText()).toMatch(/^Shared · until \d{1,2} \w{3} \d{4}, \d{2}:\d{2}$/);
    expect(await page.locator('#nav').isHidden()).toBe(true);
    expect(await page.locator('#nav a').count()).toBe(0);
    expect(await page.title()).toBe('For the site meeting · shared');

    // The calendar of the shared source, its tabs without compare or settings, its latest picture.
    await page.locator('.calendar .month-grid').waitFor();
    expect(await page.locator('h1.source-name').innerText()).toBe('North bank');
    expect(await texts(page.locator('.tabs a'))).toEqual(['Pictures', 'Videos']);
    expect(await page.locator('.month-nav h2').innerText()).toBe('November 2026');
    expect(await page.locator('.day.has').count()).toBe(2);
    await loaded(page, '.latest img');
    // A 375-pixel phone: the small size.
    expect(await page.locator('.latest img').getAttribute('src')).toMatch(/^\/s\/[A-Za-z0-9_-]{32}\/api\/pictures\/\d+\/small$/);
    expect(await page.locator(`${DOWNLOADS}, [data-action="share"], [data-action="capture"], .public-switch`).count()).toBe(0);
    await fitsThePhone(page);
    await screenshots(page, 'share-visitor-calendar');

    // A day: its pictures by hour, in the box's time zone.
    await page.locator('.day.has[data-date="2026-11-21"]').click();
    await page.waitForURL(/#\/s\/north\/2026-11-21$/);
    await page.locator('.thumb').first().waitFor();
    expect(await page.locator('.thumb').count()).toBe(6);
    expect(await page.locator('.thumb .time').first().innerText()).toBe('10:00:00');
    await loaded(page, '.thumb img');
    expect(await page.locator(DOWNLOADS).count()).toBe(0);
    await fitsThePhone(page);
    await screenshots(page, 'share-visitor-day');

    // A picture: the small size, next within the link, zoom on the preview only.
    await page.locator('.thumb').nth(1).click();
    await page.waitForURL(/#\/p\/\d+$/);
    const takenAt = page.locator('.taken-at');
    await eventually(async () => expect(await takenAt.innerText()).toBe('21 Nov 2026, 10:10:00'));
    await loaded(page, '.photo');
    expect(await page.locator('.photo').getAttribute('src')).toMatch(/^\/s\/[A-Za-z0-9_-]{32}\/api\/pictures\/\d+\/small$/);
    await page.locator('[data-action="next"]').click();
    await eventually(async () => expect(await takenAt.innerText()).toBe('21 Nov 2026, 10:20:00'));
    await page.locator('[data-action="zoom"]').click();
    expect(await page.locator('.photo').getAttribute('src')).toMatch(/\/preview$/);
    await page.locator('[data-action="zoom"]').click();
    expect(await page.locator(`${DOWNLOADS}, [data-action="share"]`).count()).toBe(0);
    expect(await page.locator('.crumbs').innerText()).not.toContain('Sources');
    await fitsThePhone(page);
    await screenshots(page, 'share-visitor-viewer');

    // The films: listed and played, not downloaded.
    await page.goto(`${link.url}#/s/north/videos`);
    await page.locator('.video-item').first().waitFor();
    expect(await page.locator(DOWNLOADS).count()).toBe(0);
    await page.locator('.video-open').click();
    expect(await page.locator('.player video').getAttribute('src')).toMatch(/^\/s\/[A-Za-z0-9_-]{32}\/api\/videos\/\d+\/file$/);
    expect(await page.locator(`${DOWNLOADS}, [data-action="share"], form.custom-video`).count()).toBe(0);
    await fitsThePhone(page);

    // And the server agrees: no original, no zip, no film file to download, nothing of another source.
    const token = link.url.slice(3);
    const refused = async (path: string) => (await page.request.get(`/s/${token}${path}`)).status();
    expect(await refused(`/api/pictures/${pictureIds[7]}/original`)).toBe(403);
    expect(await refused('/api/sources/north/days/2026-11-21/zip')).toBe(403);
    expect(await refused(`/api/videos/${videoId}/file?download=1`)).toBe(403);
    expect(await refused('/api/sources/south')).toBe(404);
  });

  it('a download link shows the downloads, and the server serves them', async () => {
    const link = await share({ scope: 'gallery', level: 'download', from: '2026-11-21', to: '2026-11-21' });
    const v = await visitor();
    const { page } = v;
    await open(v, link.url);
    // The period: only the 21st, said under the name.
    expect(await page.locator('.period').innerText()).toBe('Pictures of 21 Nov 2026');
    expect(await page.locator('.day.has').count()).toBe(1);
    await page.locator('.day.has[data-date="2026-11-21"]').click();
    const zip = page.locator('a.download[href$="/zip"]');
    await zip.waitFor();
    expect(await zip.getAttribute('href')).toBe(`${link.url}/api/sources/north/days/2026-11-21/zip`);
    await fitsThePhone(page);
    await page.locator('.thumb').first().click();
    const original = page.locator('.viewer-tools a.download');
    await original.waitFor();
    const href = (await original.getAttribute('href'))!;
    expect(href).toMatch(/^\/s\/[A-Za-z0-9_-]{32}\/api\/pictures\/\d+\/original\?download=1$/);
    const answer = await page.request.get(href);
    expect([answer.status(), answer.headers()['content-type']]).toEqual([200, 'image/jpeg']);
    expect(answer.headers()['content-disposition']).toMatch(/^attachment/);
    // No way out of the period: the 20th is not there.
    expect(await page.locator('[data-action="prev"]').count()).toBe(0);
    await fitsThePhone(page);
    await screenshots(page, 'share-visitor-download');
  });

  it('a director shares from the calendar with the Share button, sees the link once with its QR code; a fresh browser opens it; revoked on the Shares page, it answers 410', async () => {
    const { page } = director;
    await visit(page, '#/s/north');
    await page.locator('[data-action="share"]').click();
    const dialog = page.locator('dialog.share-dialog');
    await dialog.waitFor();
    expect(await dialog.locator('input[name="scope"]:checked').getAttribute('value')).toBe('gallery');
    expect(await texts(dialog.locator('select[name="expiresIn"] option'))).toEqual(['1 day', '7 days', '30 days', '90 days']);
    expect(await texts(dialog.locator('select[name="level"] option'))).toEqual(['View only', 'View and download']);

    // A bad period: the server's message next to the field.
    await dialog.locator('input[name="from"]').fill('2026-11-21');
    await dialog.locator('input[name="to"]').fill('2026-11-20');
    await dialog.locator('button[type="submit"]').click();
    const note = dialog.locator('.field-error[data-for="to"]');
    await note.waitFor();
    expect(await note.innerText()).toBe('expected the same day as from or a later one');

    await dialog.locator('input[name="from"]').fill('');
    await dialog.locator('input[name="to"]').fill('');
    await dialog.locator('select[name="expiresIn"]').selectOption('30d');
    await dialog.locator('input[name="label"]').fill('Board <b>meeting</b>');
    await screenshots(page, 'share-dialog-form');
    await dialog.locator('button[type="submit"]').click();
    const result = dialog.locator('.share-result');
    await result.waitFor();
    const link = await result.locator('input.share-link').inputValue();
    expect(link).toMatch(new RegExp(`^${sut.baseUrl.replace(/\./g, '\\.')}/s/[A-Za-z0-9_-]{32}$`));
    expect(await result.innerText()).toContain('This link is shown only once.');
    expect(await result.locator('.until').innerText()).toMatch(/^Works until \d{1,2} \w{3} \d{4}, \d{2}:\d{2} \(Europe\/Paris\)/);
    expect(await result.locator('img.qr').getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);
    const qr = await result.locator('img.qr').evaluate(async (img: { decode(): Promise<void>; naturalWidth: number; width: number; height: number }) => {
      await img.decode();
      return { natural: img.naturalWidth, width: img.width, height: img.height };
    });
    expect(qr.natural).toBeGreaterThan(0);
    expect(qr.width).toBeGreaterThan(0);
    await screenshots(page, 'share-dialog');
    await result.locator('button', { hasText: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });

    // A fresh browser, no account: the link opens the gallery, its label as text.
    const v = await visitor([/^\/s\/[A-Za-z0-9_-]{32}$/]);
    await open(v, link);
    expect(await v.page.locator('.share-info .share-label').innerText()).toBe('Board <b>meeting</b>');
    await loaded(v.page, '.latest img');
    expect(await v.page.locator('.day.has').count()).toBe(2);

    // The Shares page lists it, used once; Revoke (confirmed) ends it at once.
    await visit(page, '#/shares');
    expect(await texts(page.locator('#nav a'))).toContain('Shares');
    const card = page.locator('.share-item', { hasText: 'Board <b>meeting</b>' });
    expect(await card.getAttribute('data-state')).toBe('active');
    expect(await card.locator('.source-name').innerText()).toBe('North bank');
    expect(await card.locator('.level').innerText()).toBe('View only');
    expect(await card.locator('.uses').innerText()).toMatch(/^1 time, last /);
    await screenshots(page, 'shares');
    await card.locator('[data-action="revoke"]').click();
    const revoked = page.locator('.share-item[data-state="revoked"]', { hasText: 'Board <b>meeting</b>' });
    await revoked.waitFor();
    expect(await revoked.locator('[data-action="revoke"]').count()).toBe(0);
    expect(await revoked.locator('.ends').innerText()).toMatch(/by user:dora$/);

    // The visitor's reload: the 410 page that says so.
    const again = await v.page.reload();
    expect(again?.status()).toBe(410);
    expect(await v.page.locator('h1').innerText()).toBe('This link was withdrawn');
    await screenshots(v.page, 'share-revoked');
  });

  it('the Share buttons of a picture, a comparison and a film make links to them', async () => {
    const { page } = director;
    /** Presses Share, keeps the defaults but the level, and returns the link shown. */
    const shareHere = async (level: 'view' | 'download', what: string) => {
      await page.locator('[data-action="share"]').click();
      const dialog = page.locator('dialog.share-dialog');
      await dialog.waitFor();
      expect(await dialog.locator('.what').innerText()).toContain(what);
      await dialog.locator('select[name="level"]').selectOption(level);
      await dialog.locator('button[type="submit"]').click();
      const link = await dialog.locator('input.share-link').inputValue();
      await dialog.locator('button', { hasText: 'Done' }).click();
      await dialog.waitFor({ state: 'detached' });
      return link;
    };

    // A picture, with download: the visitor gets the original, and nothing else.
    await visit(page, `#/p/${pictureIds[3]}`);
    await screenshots(page, 'viewer-with-share');
    const pictureLink = await shareHere('download', 'One picture: North bank, 20 Nov 2026, 10:30:00');
    const v = await visitor();
    await open(v, pictureLink);
    await eventually(async () => expect(await v.page.locator('.taken-at').innerText()).toBe('20 Nov 2026, 10:30:00'));
    expect(await v.page.locator('.viewer-tools a.download').getAttribute('href')).toBe(`${new URL(pictureLink).pathname}/api/pictures/${pictureIds[3]}/original?download=1`);
    expect(await v.page.locator('[data-action="next"], [data-action="prev"]').count()).toBe(0);

    // A comparison: the two pictures on show.
    await visit(page, '#/s/north/compare?a=2026-11-20T10:02&b=2026-11-21T10:48');
    await eventually(async () => expect(await texts(page.locator('.side-by-side figcaption'))).toEqual(['A 20 Nov 2026, 10:00:00', 'B 21 Nov 2026, 10:50:00']));
    await screenshots(page, 'compare-with-share');
    const compareLink = await shareHere('view', 'Two pictures compared: 20 Nov 2026, 10:00:00 and 21 Nov 2026, 10:50:00');
    await open(v, compareLink);
    await eventually(async () => expect(await texts(v.page.locator('.side-by-side figcaption'))).toEqual(['A 20 Nov 2026, 10:00:00', 'B 21 Nov 2026, 10:50:00']));

    // A film, from its player.
    await visit(page, '#/s/north/videos');
    await page.locator('.video-open').first().click();
    const filmLink = await shareHere('view', 'One film: Custom · 20 Nov 2026');
    await open(v, filmLink);
    expect(await v.page.locator('.player video').getAttribute('src')).toBe(`${new URL(filmLink).pathname}/api/videos/${videoId}/file`);
    expect(await v.page.locator(DOWNLOADS).count()).toBe(0);

    // All three on the Shares page, with what each opens.
    await visit(page, '#/shares');
    const opens = await texts(page.locator('.share-item[data-state="active"] .opens'));
    expect(opens).toEqual(expect.arrayContaining([`Picture ${pictureIds[3]}`, `Pictures ${pictureIds[0]} and ${pictureIds[11]}`, `Film ${videoId}`]));
  });

  it('a picture link shows that picture and no way to the next one', async () => {
    const pictureId = pictureIds[8]!;
    const link = await share({ scope: 'picture', picture: pictureId, level: 'view' });
    const v = await visitor();
    const { page } = v;
    await open(v, link.url);
    const takenAt = page.locator('.taken-at');
    await eventually(async () => expect(await takenAt.innerText()).toBe('21 Nov 2026, 10:20:00'));
    await loaded(page, '.photo');
    expect(await page.locator('.photo').getAttribute('src')).toBe(`${link.url}/api/pictures/${pictureId}/small`);
    expect(await page.locator('[data-action="next"], [data-action="prev"], a[rel="next"], a[rel="prev"], .viewer-tools .disabled, .tabs, .crumbs a').count()).toBe(0);
    expect(await page.locator(`${DOWNLOADS}, [data-action="share"]`).count()).toBe(0);
    // Neither the keyboard nor a swipe leads anywhere.
    const url = page.url();
    await page.keyboard.press('ArrowRight');
    await page.locator('.stage').evaluate((stage: { dispatchEvent(e: unknown): boolean }) => {
      const make = (globalThis as unknown as { PointerEvent: new (type: string, init: object) => unknown }).PointerEvent;
      const init = { bubbles: true, pointerType: 'touch', pointerId: 7, isPrimary: true, clientY: 300 };
      stage.dispatchEvent(new make('pointerdown', { ...init, clientX: 320 }));
      stage.dispatchEvent(new make('pointerup', { ...init, clientX: 40 }));
    });
    await page.waitForTimeout(300);
    expect(page.url()).toBe(url);
    expect(await takenAt.innerText()).toBe('21 Nov 2026, 10:20:00');
    await fitsThePhone(page);
    await screenshots(page, 'share-visitor-picture');
    // The next picture is not part of the link.
    expect((await page.request.get(`${link.url}/api/pictures/${pictureIds[9]}/preview`)).status()).toBe(404);
  });

  it('the live picture, compare and film links show theirs, and an unknown link answers 404', async () => {
    // The live picture, with its time.
    const latest = await share({ scope: 'latest', level: 'view', label: 'Live' });
    const v = await visitor([/^\/s\/[A-Za-z0-9_-]{32}$/]);
    await open(v, latest.url);
    await loaded(v.page, '.live-img');
    expect(await v.page.locator('.live-img').getAttribute('src')).toBe(`${latest.url}/latest.jpg?v=${pictureIds[11]}`);
    expect(await v.page.locator('.live-time').innerText()).toMatch(/^Taken 21 Nov 2026, 10:50:00/);
    expect(await v.page.locator(DOWNLOADS).count()).toBe(0);
    await fitsThePhone(v.page);
    await screenshots(v.page, 'share-visitor-latest');

    // Two pictures compared, by id, side by side and with the slider.
    const compare = await share({ scope: 'compare', pictures: [pictureIds[0], pictureIds[11]] });
    await open(v, compare.url);
    await eventually(async () => expect(await texts(v.page.locator('.side-by-side figcaption'))).toEqual(['A 20 Nov 2026, 10:00:00', 'B 21 Nov 2026, 10:50:00']));
    expect(await v.page.locator('.side-by-side figcaption a, input[type="datetime-local"]').count()).toBe(0);
    await v.page.locator('button[data-mode="slider"]').click();
    expect(await v.page.locator('.overlay img').count()).toBe(2);
    await fitsThePhone(v.page);
    await screenshots(v.page, 'share-visitor-compare');

    // A film: its player alone.
    const film = await share({ scope: 'video', video: videoId, level: 'download' });
    await open(v, film.url);
    const video = v.page.locator('.player video');
    await video.waitFor();
    expect(await video.getAttribute('src')).toBe(`${film.url}/api/videos/${videoId}/file`);
    expect(await v.page.locator('.video-item').count()).toBe(0);
    expect(await v.page.locator('.player a.download').getAttribute('href')).toBe(`${film.url}/api/videos/${videoId}/file?download=1`);
    await fitsThePhone(v.page);

    // A token that opens nothing.
    const unknown = await v.page.goto(`/s/${'A'.repeat(32)}`);
    expect(unknown?.status()).toBe(404);
  });
});
