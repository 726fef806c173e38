/**
 * The public embed page in a real browser against the real daemon: a camera
 * capturing every 2 s, and the page shows each newer picture by itself, under
 * its own Content-Security-Policy (a refused fetch would leave the picture
 * frozen), opened directly and framed by a website of another origin.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Frame, Page } from 'playwright-core';
import { freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { launchBrowser, openAs, screenshots, waitFor, type UserPage } from '../helpers/browser';

jest.setTimeout(90_000);

/** What the embed page's picture shows now, read in the page (or frame) itself. */
interface Shown {
  src: string;
  etag: string | null;
  width: number;
}
async function shown(where: Page | Frame): Promise<Shown> {
  return where.locator('img#latest').evaluate((img: { src: string; naturalWidth: number; getAttribute(name: string): string | null }) => ({ src: img.src, etag: img.getAttribute('data-etag'), width: img.naturalWidth }));
}

describe('embed page /public/<source>', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let visitor: UserPage | null = null;
  /** ETags of the pictures the daemon answered with 200, in order. */
  let served: string[];

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-embed-');
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        {
          id: 'cam',
          name: 'Crane camera',
          camera: { driver: 'testpattern', width: 320, height: 180, timeout: '10s' },
          // Every 2 s: the page asks every 5 s (its floor), and finds a newer picture each time.
          schedule: { every: '2s' },
          image: { legend: { text: '{source} {time}', position: 'bottom-left' } },
          timelapse: { daily: { enabled: false } },
          public: { enabled: true, width: 320 },
        },
      ],
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await waitFor('a first public picture', async () => (await fetch(`${sut.baseUrl}/public/cam/latest.jpg`)).status === 200, 20_000);
    browser = await launchBrowser();
  });

  beforeEach(async () => {
    served = [];
    // Nobody logs in to see it: these credentials are never asked for.
    visitor = await openAs(browser, sut.baseUrl, 'nobody', 'wrong');
    visitor.page.on('response', (res) => {
      const etag = res.headers()['etag'];
      if (res.url().endsWith('/public/cam/latest.jpg') && res.status() === 200 && etag) served.push(etag);
    });
  });

  afterEach(async () => {
    // No CSP refusal, no script error, in the page or in the frame.
    const problems = visitor?.problems ?? [];
    await visitor?.context.close();
    visitor = null;
    expect(problems).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  /** Waits until `where` shows a picture other than `notEtag`, fetched by the page's script. */
  const newerPicture = (where: Page | Frame, notEtag: string | null) =>
    waitFor(
      'the embed page to show a newer picture',
      async () => {
        const now = await shown(where);
        return now.src.startsWith('blob:') && now.etag !== null && now.etag !== notEtag && now.width === 320 ? now : false;
      },
      30_000,
    );

  it('shows the newest picture, and a newer one after each new capture', async () => {
    const { page } = visitor!;
    await page.goto('/public/cam');
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { naturalWidth: number } | null } }).document.querySelector('img#latest')?.naturalWidth === 320);
    const first = await shown(page);
    expect(first.src).toBe(`${sut.baseUrl}/public/cam/latest.jpg`);
    const firstEtag = served[0] ?? null;
    expect(firstEtag).not.toBeNull();

    const second = await newerPicture(page, firstEtag);
    const third = await newerPicture(page, second.etag);
    // Each shown picture is one the daemon sent, each a new one, each in a fresh blob: URL.
    expect(served).toEqual(expect.arrayContaining([firstEtag, second.etag, third.etag]));
    expect(new Set([firstEtag, second.etag, third.etag]).size).toBe(3);
    expect(third.src).not.toBe(second.src);
    await screenshots(page, 'embed-refreshed');
  });

  it('refreshes too when framed by a website of another origin', async () => {
    const { page } = visitor!;
    const site = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(builderSite(sut.baseUrl));
    });
    await new Promise<void>((resolve) => site.listen(0, 'localhost', resolve));
    try {
      // localhost:<other port> against 127.0.0.1:<daemon port>: another origin.
      const origin = `http://localhost:${(site.address() as AddressInfo).port}`;
      await page.goto(`${origin}/`);
      const frame = await waitFor('the embed frame', () => page.frames().find((f) => f.url().startsWith(`${sut.baseUrl}/public/cam`)) ?? false, 10_000);
      await frame.locator('img#latest').waitFor();
      const framed = await newerPicture(frame, null);
      expect(served).toContain(framed.etag);
    } finally {
      await new Promise((resolve) => site.close(resolve));
    }
  });

  it("the settings page's snippet fits a phone's page: no wider than the screen, the picture's shape kept", async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const site = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(builderSite(sut.baseUrl));
    });
    await new Promise<void>((resolve) => site.listen(0, 'localhost', resolve));
    try {
      await page.goto(`http://localhost:${(site.address() as AddressInfo).port}/`);
      const frame = await waitFor('the embed frame', () => page.frames().find((f) => f.url().startsWith(`${sut.baseUrl}/public/cam`)) ?? false, 10_000);
      await frame.locator('img#latest').waitFor();
      const sizes = await page.evaluate(() => {
        const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number }; querySelector(s: string): { getBoundingClientRect(): { width: number; height: number } } } }).document;
        const box = d.querySelector('iframe').getBoundingClientRect();
        return { scroll: d.documentElement.scrollWidth, client: d.documentElement.clientWidth, width: box.width, height: box.height };
      });
      expect(sizes.scroll).toBeLessThanOrEqual(sizes.client);
      expect(sizes.width).toBeGreaterThan(300);
      expect(sizes.width).toBeLessThanOrEqual(375);
      expect(sizes.height).toBeCloseTo((sizes.width * 9) / 16, 0);
    } finally {
      await context.close();
      await new Promise((resolve) => site.close(resolve));
    }
  });
});

/** A customer's website with the snippet the settings page gives (director.test.ts checks that snippet). */
function builderSite(baseUrl: string): string {
  return `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Builder's site</title></head><body><h1>Our crane</h1><iframe src="${baseUrl}/public/cam" title="Live picture" loading="lazy" style="display:block;width:100%;max-width:1280px;aspect-ratio:16/9;border:0"></iframe></body></html>`;
}
