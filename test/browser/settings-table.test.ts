/**
 * The settings form takes the fields it shows from the server's table of key
 * paths (`editable` of GET .../settings, the one the PATCH checks): a key path
 * the table leaves out has no field, whatever the profile; and a camera password
 * inside a URL never reaches the page.
 */
import type { Browser } from 'playwright-core';
import { freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { addUser, launchBrowser, openAs, visit, type UserPage } from '../helpers/browser';

jest.setTimeout(90_000);

const PASSWORD = 'correct horse battery staple';

describe('UI: the settings form follows the server table', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let director: UserPage;

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-table-');
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        {
          id: 'cam',
          camera: { driver: 'http', url: 'http://admin:hunter2@127.0.0.1:9/snap.jpg', timeout: '2s' },
          schedule: { every: '1h' },
          public: { enabled: false },
          retention: { maxAgeDays: 30 },
        },
      ],
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await addUser(configFile, 'dora', 'director', PASSWORD);
    browser = await launchBrowser();
    director = await openAs(browser, sut.baseUrl, 'dora', PASSWORD);
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  it('shows a field only for a key path the server lists as editable', async () => {
    const { page } = director;
    const seen: string[] = [];
    page.on('response', (res) => {
      if (res.url().endsWith('/settings')) void res.text().then((t) => seen.push(t));
    });
    await visit(page, '#/s/cam/settings');
    const paths = async () => page.locator('form.settings [data-path]').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')!));
    const all = await paths();
    expect(all).toEqual(expect.arrayContaining(['schedule.every', 'image.rotate', 'public.delay', 'timelapse.daily.fps']));
    expect(all.filter((p) => /^(camera|recovery|retention)/.test(p))).toEqual([]);
    expect(seen.join('')).not.toContain('hunter2');
    expect(await page.content()).not.toContain('hunter2');

    // The same page with a table that leaves out the rotation and the public delay.
    await page.route('**/api/sources/cam/settings', async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { editable: string[] };
      await route.fulfill({ response: res, json: { ...body, editable: body.editable.filter((k) => k !== 'image.rotate' && k !== 'public.delay') } });
    });
    await visit(page, '#/s/cam/settings');
    const fewer = await paths();
    expect(fewer).not.toContain('image.rotate');
    expect(fewer).not.toContain('public.delay');
    expect(fewer).toEqual(expect.arrayContaining(['schedule.every', 'image.legend.text', 'public.width']));
    await page.unroute('**/api/sources/cam/settings');
  });
});
