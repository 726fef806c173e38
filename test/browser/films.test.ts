/**
 * Films as people watch them (issue 25): a tap on a film plays it at once; on a phone
 * the player takes the phone rendition, on a desktop the film, and either may switch;
 * the speed buttons change the playback rate; the player stops below the sticky bar.
 * The film is built by the running daemon with the real ffmpeg.
 */
import fs from 'node:fs';
import { DateTime } from 'luxon';
import type { Browser } from 'playwright-core';
import { parseConfig } from '../../daemon/config/load';
import { openRepositories } from '../../daemon/store/repositories';
import { cli, freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { addUser, launchBrowser, openAs, PHONE, screenshots, visit, type PageGlobals, type UserPage } from '../helpers/browser';
import { scene, seedPictures } from '../helpers/videos';

jest.setTimeout(120_000);

const PASSWORD = 'correct horse battery staple';
const TZ = 'Europe/Paris';
const DAY = '2026-11-20';

interface Playing {
  paused: boolean;
  time: number;
  rate: number;
  width: number;
  src: string;
  top: number;
}

describe('UI: films on a phone and a desktop', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  const pages: UserPage[] = [];

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-films-');
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        {
          id: 'north',
          name: 'North bank',
          camera: { driver: 'testpattern', width: 640, height: 360, timeout: '10s' },
          schedule: { every: '1d' },
          // A small rendition, so that this small film gets one: 320x180 under 300 kbit/s.
          timelapse: { daily: { enabled: false, width: 640, preset: 'ultrafast', deflicker: false }, phone: { height: 180, maxBitrate: '300kbit/s' } },
        },
      ],
    });
    const { config } = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile);
    const store = openRepositories(config.storage.dataDir);
    try {
      const start = DateTime.fromISO(`${DAY}T08:00`, { zone: TZ }).toMillis();
      await seedPictures(config, store, 'north', Array.from({ length: 40 }, (_, i) => start + i * 600_000), (i) => scene(640, 360, 0.8 + (i % 5) * 0.05, i * 9));
    } finally {
      store.close();
    }
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await addUser(configFile, 'cora', 'customer', PASSWORD, { north: 'view' });
    const built = await cli(['timelapse', 'north', '--from', DAY, '--to', DAY, '--fps', '4', '--width', '640', '--json', '--config', configFile]);
    if (built.code !== 0) throw new Error(`lapsebox timelapse failed: ${built.stderr}${built.stdout}`);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  afterEach(() => {
    for (const p of pages) expect(p.problems).toEqual([]);
  });

  /** The player's state as the page sees it. */
  const playing = (user: UserPage): Promise<Playing> =>
    user.page.locator('.player video').evaluate((el: { paused: boolean; currentTime: number; playbackRate: number; videoWidth: number; currentSrc: string; getBoundingClientRect(): { top: number } }) => ({
      paused: el.paused,
      time: el.currentTime,
      rate: el.playbackRate,
      width: el.videoWidth,
      src: el.currentSrc,
      top: el.getBoundingClientRect().top,
    }));

  it('plays the phone rendition on the first tap on a phone, at the speed chosen, below the sticky bar', async () => {
    const phone = await openAs(browser, sut.baseUrl, 'cora', PASSWORD, PHONE);
    pages.push(phone);
    const { page } = phone;
    await visit(page, '#/s/north/videos');
    await page.locator('.video-open').first().tap();
    // Playing, without a second tap.
    await page.waitForFunction(() => {
      const v = (globalThis as unknown as PageGlobals).document.querySelector('.player video') as unknown as { paused: boolean; currentTime: number } | null;
      return v !== null && !v.paused && v.currentTime > 0.3;
    }, undefined, { timeout: 15_000 });
    let state = await playing(phone);
    expect(state.src).toMatch(/\/api\/videos\/\d+\/file\?rendition=phone$/);
    expect(state.width).toBe(320);
    // The top bar is 52 px high and sticky: the player's top is below it once scrolled to.
    await page.waitForTimeout(600);
    expect((await playing(phone)).top).toBeGreaterThanOrEqual(52);
    // 2x: the rate changes, and time runs about twice as fast.
    await page.locator('.speeds [data-speed="2"]').tap();
    const before = (await playing(phone)).time;
    await page.waitForTimeout(1000);
    state = await playing(phone);
    expect(state.rate).toBe(2);
    expect(await page.locator('.speeds [data-speed="2"]').getAttribute('aria-pressed')).toBe('true');
    // The film is 10 s long (40 pictures at 4 fps): it has not ended yet.
    expect(state.time - before).toBeGreaterThan(1.4);
    await screenshots(page, 'film-phone');
    // The viewer may take the full film instead.
    await page.locator('.quality [data-quality="full"]').tap();
    await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).document.querySelector('.player video') as unknown as { dataset: { rendition?: string } } | null)?.dataset.rendition === 'full');
    await page.waitForFunction(() => Number((globalThis as unknown as PageGlobals).document.querySelector('.player video')?.['readyState']) >= 2, undefined, { timeout: 15_000 });
    expect((await playing(phone)).width).toBe(640);
  });

  it('plays the film itself on a desktop', async () => {
    const desk = await openAs(browser, sut.baseUrl, 'cora', PASSWORD);
    pages.push(desk);
    await visit(desk.page, '#/s/north/videos');
    await desk.page.locator('.video-open').first().click();
    await desk.page.waitForFunction(() => {
      const v = (globalThis as unknown as PageGlobals).document.querySelector('.player video') as unknown as { paused: boolean; currentTime: number } | null;
      return v !== null && !v.paused && v.currentTime > 0.3;
    }, undefined, { timeout: 15_000 });
    const state = await playing(desk);
    expect(state.src).toMatch(/\/api\/videos\/\d+\/file$/);
    expect(state.width).toBe(640);
    expect(await desk.page.locator('.video-title').innerText()).toMatch(/40 pictures at 4 fps · 640×360/);
    await screenshots(desk.page, 'film-desktop');
  });
});
