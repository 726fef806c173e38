/**
 * The box-wide public switch in real browsers against the real daemon (issue 22): a
 * director presses "Switch public pictures off" on the Sources page and confirms; the
 * embed page a visitor has open drops the picture on its next refresh and says the
 * public view is switched off; a page opened meanwhile says so too; switched back on,
 * both show the picture again by themselves. The embed page asks every 5 minutes here
 * (a source captured every hour): the visitors' clocks are driven past each refresh
 * (Playwright's fake timers) instead of waiting for it.
 */
import type { Browser, Page } from 'playwright-core';
import { freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { addUser, captureNow, eventually, launchBrowser, openAs, screenshots, visit, type UserPage } from '../helpers/browser';

jest.setTimeout(90_000);

const PASSWORD = 'correct horse battery staple';
/** The embed page's refresh for a source captured every hour: its ceiling, 5 minutes. */
const EMBED_REFRESH_MS = 300_000;
/** How often the "switched off" page asks whether the picture is back. */
const OFF_PAGE_REFRESH_MS = 30_000;
const OFF_TEXT = 'The public view of this camera is switched off.';

/** What the embed page shows now: the picture (and which), or the message. */
async function embedShows(page: Page): Promise<{ picture: boolean; src: string | null; message: boolean }> {
  return page.evaluate(() => {
    const d = (globalThis as unknown as { document: { getElementById(id: string): { hidden: boolean; getAttribute(n: string): string | null; naturalWidth?: number } | null } }).document;
    const img = d.getElementById('latest');
    const off = d.getElementById('off');
    return { picture: img !== null && !img.hidden && img.getAttribute('src') !== null, src: img?.getAttribute('src') ?? null, message: off !== null && !off.hidden };
  });
}

describe('UI: the box-wide public switch', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let director: UserPage;
  let visitors: UserPage[] = [];

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-public-switch-');
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        {
          id: 'cam',
          name: 'Crane camera',
          camera: { driver: 'testpattern', width: 320, height: 180, timeout: '10s' },
          schedule: { every: '1h' },
          timelapse: { daily: { enabled: false } },
          public: { enabled: true, width: 320 },
        },
      ],
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await addUser(configFile, 'dora', 'director', PASSWORD);
    await addUser(configFile, 'carl', 'customer', PASSWORD, { cam: 'view' });
    await captureNow(sut.baseUrl, 'dora', PASSWORD, 'cam');
    browser = await launchBrowser();
    director = await openAs(browser, sut.baseUrl, 'dora', PASSWORD);
  });

  afterAll(async () => {
    for (const v of visitors) await v.context.close();
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  afterEach(() => {
    // No script error, no CSP refusal, no unexpected dialog: in the UI and in the embed pages.
    expect([director, ...visitors].flatMap((u) => u.problems)).toEqual([]);
  });

  /** A visitor of a website (no login), with the page's clock under the test's hand. */
  async function visitor(): Promise<Page> {
    const v = await openAs(browser, sut.baseUrl, 'nobody', 'wrong');
    visitors.push(v);
    await v.page.clock.install();
    return v.page;
  }

  it('customers do not see the switch', async () => {
    const carl = await openAs(browser, sut.baseUrl, 'carl', PASSWORD);
    try {
      await visit(carl.page, '#/');
      await carl.page.locator('.source-card[data-source="cam"]').waitFor();
      expect(await carl.page.locator('.public-switch').count()).toBe(0);
      expect(carl.problems).toEqual([]);
    } finally {
      await carl.context.close();
    }
  });

  it('a director switches the public pictures off: the open embed page drops the picture on its next refresh; and back on', async () => {
    const embed = await visitor();
    await embed.goto('/public/cam');
    await embed.waitForFunction(() => ((globalThis as unknown as { document: { getElementById(id: string): { naturalWidth: number } | null } }).document.getElementById('latest')?.naturalWidth ?? 0) === 320);
    expect(await embedShows(embed)).toEqual({ picture: true, src: '/public/cam/latest.jpg', message: false });

    const { page } = director;
    const asked: string[] = [];
    page.on('dialog', (dialog) => void asked.push(dialog.message()));
    await visit(page, '#/');
    const card = page.locator('.public-switch[data-public="on"]');
    expect(await card.innerText()).toContain('Public pictures: on');
    await card.locator('button[data-action="public-off"]').click();
    const banner = page.locator('.public-switch[data-public="off"]');
    await banner.waitFor();
    expect(asked).toEqual([expect.stringMatching(/^Switch off the public pictures of every source\?/)]);
    expect(await banner.getAttribute('role')).toBe('alert');
    expect(await banner.innerText()).toMatch(/Public pictures are switched off\.[\s\S]*by user:dora\./);
    await screenshots(page, 'sources-public-off');

    // The embed page still shows the picture it had until its next refresh; then the message takes its place.
    expect((await embedShows(embed)).picture).toBe(true);
    await embed.clock.fastForward(EMBED_REFRESH_MS);
    await eventually(async () => expect(await embedShows(embed)).toEqual({ picture: false, src: null, message: true }));
    expect(await embed.locator('#off').innerText()).toBe(OFF_TEXT);
    await screenshots(embed, 'embed-switched-off');

    // A page opened while it is off says so straight away.
    const late = await visitor();
    const answer = await late.goto('/public/cam');
    expect(answer?.status()).toBe(404);
    expect(await late.locator('#off').innerText()).toBe(OFF_TEXT);
    expect(await late.locator('img').count()).toBe(0);

    // Back on: the director's page, then both visitors' pages, by themselves.
    await banner.locator('button[data-action="public-on"]').click();
    await page.locator('.public-switch[data-public="on"]').waitFor();
    expect(asked).toHaveLength(2);
    expect(asked[1]).toMatch(/^Switch the public pictures back on\?/);

    await embed.clock.fastForward(EMBED_REFRESH_MS);
    await eventually(async () => {
      const now = await embedShows(embed);
      expect(now.picture && now.src?.startsWith('blob:') && !now.message).toBe(true);
    });
    await late.clock.fastForward(OFF_PAGE_REFRESH_MS);
    await late.locator('img#latest').waitFor();
    await late.waitForFunction(() => ((globalThis as unknown as { document: { getElementById(id: string): { naturalWidth: number } | null } }).document.getElementById('latest')?.naturalWidth ?? 0) === 320);
  });
});
