/**
 * Names are data, never markup: sources named with HTML show as text on every
 * page that names them, and no injected script runs (the UI builds no HTML from
 * data, and the CSP would refuse inline script anyway).
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess, initialPassword } from '../helpers/daemon';
import { apiCall, captureNow, eventually, launchBrowser, openAs, screenshots, visit, type UserPage } from '../helpers/browser';

jest.setTimeout(90_000);

const IMG_NAME = '<img src=x onerror="window.__xss=\'img\'">Evil & co';
const SCRIPT_NAME = '<script>window.__xss="script"</script><b>bold</b>';
const LEGEND = '<i>{source}</i> {time}';

describe('UI: names with HTML in them', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let admin: UserPage;
  let password: string;

  /** Nothing injected ran, and no element came from the names. */
  const clean = async (page: Page) => {
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await page.locator('img[src="x"], main script, main b, main i').count()).toBe(0);
  };

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-escaping-');
    const port = await freePort();
    const camera = { driver: 'testpattern', width: 320, height: 180, timeout: '10s' };
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        { id: 'evil', name: IMG_NAME, camera, schedule: { every: '1h' }, image: { legend: { text: LEGEND } } },
        { id: 'worse', name: SCRIPT_NAME, camera, schedule: { every: '1h' } },
      ],
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    password = initialPassword(path.join(tmp.dir, 'data'));
    await captureNow(sut.baseUrl, 'admin', password, 'evil');
    browser = await launchBrowser();
    admin = await openAs(browser, sut.baseUrl, 'admin', password);
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  afterEach(() => {
    if (admin) expect(admin.problems).toEqual([]);
  });

  it('shows source names as text in the gallery and on the source pages', async () => {
    const { page } = admin;
    await visit(page, '#/');
    await eventually(async () => expect(await page.locator('.source-card .source-name').allInnerTexts()).toEqual([IMG_NAME, SCRIPT_NAME]));
    await clean(page);
    await screenshots(page, 'escaping-gallery');

    for (const hash of ['#/s/evil', '#/s/evil/compare', '#/s/evil/videos', '#/s/worse']) {
      await visit(page, hash);
      await page.locator('h1.source-name').waitFor();
      expect(await page.locator('h1.source-name').innerText()).toBe(hash.includes('worse') ? SCRIPT_NAME : IMG_NAME);
      await clean(page);
    }
    const latest = (await apiCall<{ latest: { id: number } }>(sut.baseUrl, 'admin', password, 'GET', '/api/sources/evil')).json.latest.id;
    await visit(page, `#/p/${latest}`);
    expect(await page.locator('.crumbs .source-name').innerText()).toBe(IMG_NAME);
    await clean(page);
  });

  it('puts names and legends in form fields as values, and back unchanged', async () => {
    const { page } = admin;
    await visit(page, '#/s/evil/settings');
    expect(await page.locator('input[data-path="name"]').inputValue()).toBe(IMG_NAME);
    expect(await page.locator('input[data-path="image.legend.text"]').inputValue()).toBe(LEGEND);
    await clean(page);

    // A rename to another HTML name: saved as typed, shown as text, audited as text.
    const renamed = '<svg onload="window.__xss=1">North</svg>';
    await page.locator('input[data-path="name"]').fill(renamed);
    await page.locator('form.settings button[type="submit"]').click();
    await eventually(async () => expect(await page.locator('.form-actions .flash').innerText()).toMatch(/^Saved/));
    expect((await apiCall<{ name: string }>(sut.baseUrl, 'admin', password, 'GET', '/api/sources/evil')).json.name).toBe(renamed);
    await visit(page, '#/');
    expect(await page.locator('.source-card .source-name').first().innerText()).toBe(renamed);
    await clean(page);
    expect(await page.locator('svg').count()).toBe(0);

    await visit(page, '#/audit');
    await page.locator('table.audit tbody tr').first().waitFor();
    expect(await page.locator('table.audit tbody').innerText()).toContain(renamed);
    await clean(page);
    expect(await page.locator('main svg').count()).toBe(0);

    // The grant form lists sources by name, as option text.
    await visit(page, '#/users');
    await clean(page);
  });
});
