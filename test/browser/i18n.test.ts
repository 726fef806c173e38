/**
 * French and English (issue 26), as people read them: Chromium with a French and an
 * American English locale against the daemon run as a child process. The gallery, a
 * day, the viewer, the settings with a validation error and a share link's pages each
 * in the browser's language, with dates written as that language writes them; a user
 * who picks French keeps it in another browser; `<html lang>` says which.
 */
import fs from 'node:fs';
import { DateTime } from 'luxon';
import type { Browser, Page } from 'playwright-core';
import { parseConfig } from '../../daemon/config/load';
import { openRepositories } from '../../daemon/store/repositories';
import { freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { addUser, apiCall, eventually, launchBrowser, openAs, PHONE, screenshots, texts, visit, type UserPage } from '../helpers/browser';
import { scene, seedPictures } from '../helpers/videos';

jest.setTimeout(120_000);

const PASSWORD = 'correct horse battery staple';
const TZ = 'Europe/Paris';
const DAY = '2026-11-21';

describe('UI: French and English', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let ids: number[] = [];
  const users: UserPage[] = [];

  async function as(username: string, locale: string, viewport = PHONE): Promise<Page> {
    const u = await openAs(browser, sut.baseUrl, username, PASSWORD, viewport, locale);
    users.push(u);
    return u.page;
  }
  const lang = (page: Page) => page.evaluate(() => (globalThis as unknown as { document: { documentElement: { lang: string } } }).document.documentElement.lang);

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-i18n-');
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [{ id: 'north', name: 'Rive nord', camera: { driver: 'testpattern', width: 320, height: 180, timeout: '10s' }, schedule: { every: '1d' }, timelapse: { daily: { enabled: false } } }],
    });
    const { config } = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile);
    const store = openRepositories(config.storage.dataDir);
    try {
      const start = DateTime.fromISO(`${DAY}T10:00`, { zone: TZ }).toMillis();
      ids = (await seedPictures(config, store, 'north', Array.from({ length: 12 }, (_, i) => start + i * 600_000), (i) => scene(320, 180, 0.8 + i * 0.01, i * 5))).map((p) => p.id);
    } finally {
      store.close();
    }
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await addUser(configFile, 'cora', 'customer', PASSWORD, { north: 'download' });
    await addUser(configFile, 'dirk', 'director', PASSWORD);
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

  it('shows the gallery, a day and the viewer in French to a French browser, dates as French writes them', async () => {
    const page = await as('cora', 'fr-FR');
    await visit(page, '#/');
    expect(await lang(page)).toBe('fr');
    expect(await page.locator('#nav a').first().innerText()).toBe('Sources');
    await visit(page, '#/s/north?month=2026-11');
    expect(await texts(page.locator('.tabs a'))).toEqual(['Calendrier', 'Comparer', 'Films']);
    // Intl writes « novembre 2026 »; a heading starts with a capital (the style sheet's capitalize).
    expect(await page.locator('.month-nav h2').innerText()).toBe('Novembre 2026');
    await screenshots(page, 'fr-calendar');

    await visit(page, `#/s/north/${DAY}`);
    expect(await page.locator('.day-title').innerText()).toBe('samedi 21 novembre 2026');
    expect(await page.locator('.day-tools .count').innerText()).toBe('12 photos');
    expect(await page.locator('[data-action="play"]').innerText()).toMatch(/Lecture/);
    await screenshots(page, 'fr-day');

    await visit(page, `#/p/${ids[1]}`);
    expect(await page.locator('.taken-at').innerText()).toBe('21 nov. 2026, 10:10:00');
    expect(await page.locator('.viewer-tools .download').innerText()).toBe('Télécharger l’original');
    await screenshots(page, 'fr-viewer');
  });

  it('shows the same pages in English to an American browser, with its dates', async () => {
    const page = await as('cora', 'en-US');
    await visit(page, `#/s/north/${DAY}`);
    expect(await lang(page)).toBe('en');
    expect(await page.locator('.day-title').innerText()).toBe('Saturday, November 21, 2026');
    expect(await page.locator('.day-tools .count').innerText()).toBe('12 pictures');
    await visit(page, `#/p/${ids[1]}`);
    expect(await page.locator('.taken-at').innerText()).toBe('Nov 21, 2026, 10:10:00');
    expect(await page.locator('.viewer-tools .download').innerText()).toBe('Download original');
  });

  it('says what is wrong with a setting in French, next to the field', async () => {
    const page = await as('dirk', 'fr-FR');
    await visit(page, '#/s/north/settings');
    await page.locator('input[data-path="schedule.every"]').fill('souvent');
    await page.locator('form.settings button[type="submit"]').click();
    const note = page.locator('.field-error[data-for="schedule.every"]');
    await note.waitFor();
    // The same rule the English message gives, in French words (and no English left in it).
    const english = await apiCall<{ details: Record<string, string> }>(sut.baseUrl, 'dirk', PASSWORD, 'PATCH', '/api/sources/north', { schedule: { every: 'souvent' } });
    const french = await note.innerText();
    expect(french).not.toBe(english.json.details['schedule.every']);
    expect(french).toMatch(/durée/);
    expect(await page.locator('form.settings .form-error').innerText()).toMatch(/1 erreur/);
    await screenshots(page, 'fr-settings-error');
  });

  it('keeps the language a user picks, in another browser and after logging in again', async () => {
    const page = await as('dirk', 'en-US');
    await visit(page, '#/');
    expect(await lang(page)).toBe('en');
    await Promise.all([page.waitForEvent('load'), page.locator('select[data-action="language"]').selectOption('fr')]);
    await page.locator('main .view').waitFor();
    expect(await lang(page)).toBe('fr');
    expect(await page.locator('select[data-action="language"]').inputValue()).toBe('fr');
    // Another browser, still English: the choice is the user's, not the browser's.
    const other = await as('dirk', 'en-US');
    await visit(other, '#/system');
    expect(await lang(other)).toBe('fr');
    expect((await apiCall<{ language: string | null }>(sut.baseUrl, 'dirk', PASSWORD, 'GET', '/api/me')).json.language).toBe('fr');
    // Back to the browser's language.
    await Promise.all([other.waitForEvent('load'), other.locator('select[data-action="language"]').selectOption('')]);
    await other.locator('main .view').waitFor();
    expect(await lang(other)).toBe('en');
  });

  it('opens a share link in the visitor\'s language, its end too', async () => {
    const made = await apiCall<{ url: string; expiresAt: string; id: number }>(sut.baseUrl, 'dirk', PASSWORD, 'POST', '/api/shares', { source: 'north', scope: 'gallery', expiresIn: '7d', label: 'Réunion de chantier' });
    expect(made.status).toBe(201);
    const path = new URL(made.json.url, sut.baseUrl).pathname;
    const expires = DateTime.fromISO(made.json.expiresAt, { zone: TZ });
    for (const [locale, until] of [
      ['fr-FR', `jusqu’au ${expires.setLocale('fr-FR').toLocaleString({ day: 'numeric', month: 'short', year: 'numeric' })}`],
      ['en-US', `until ${expires.setLocale('en-US').toLocaleString({ day: 'numeric', month: 'short', year: 'numeric' })}`],
    ] as const) {
      const context = await browser.newContext({ baseURL: sut.baseUrl, locale, viewport: PHONE, timezoneId: 'Asia/Tokyo' });
      try {
        const page = await context.newPage();
        await page.goto(path);
        await page.locator('.calendar .month-grid').waitFor();
        expect(await lang(page)).toBe(locale.slice(0, 2));
        await eventually(async () => expect(await page.locator('.share-until').innerText()).toContain(until));
        await screenshots(page, `share-${locale}`);
      } finally {
        await context.close();
      }
    }
    // The link revoked: the page that says so, in each language.
    expect((await apiCall(sut.baseUrl, 'dirk', PASSWORD, 'DELETE', `/api/shares/${made.json.id}`)).status).toBe(200);
    for (const [locale, title] of [
      ['fr-FR', 'Ce lien a été retiré'],
      ['en-US', 'This link was withdrawn'],
    ] as const) {
      const res = await fetch(`${sut.baseUrl}${path}`, { headers: { 'accept-language': `${locale},en;q=0.5` } });
      expect(res.status).toBe(410);
      expect(res.headers.get('content-language')).toBe(locale.slice(0, 2));
      const html = await res.text();
      expect(html).toContain(`<html lang="${locale.slice(0, 2)}">`);
      expect(html).toContain(title);
    }
  });
});
