/**
 * Settings on the picture (issue 25), as a director uses them: a privacy mask drawn with
 * the mouse on the latest picture, seen black in a test shot before saving, saved, and
 * black in the next capture; interval presets that say how many pictures a day each
 * gives with the source's windows. The daemon runs as a child process with a test
 * pattern camera.
 */
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { addUser, apiCall, captureNow, launchBrowser, openAs, screenshots, texts, visit, type UserPage } from '../helpers/browser';

jest.setTimeout(120_000);

const PASSWORD = 'correct horse battery staple';

/** Mean of each channel of a region of a JPEG (fractions of its size). */
async function regionMean(jpeg: Buffer, region: { left: number; top: number; width: number; height: number }): Promise<number> {
  const meta = await sharp(jpeg).metadata();
  const area = { left: Math.round(region.left * meta.width!), top: Math.round(region.top * meta.height!), width: Math.round(region.width * meta.width!), height: Math.round(region.height * meta.height!) };
  // stats() reads the whole input: the region is cut out first.
  const stats = await sharp(await sharp(jpeg).extract(area).png().toBuffer()).stats();
  return stats.channels.slice(0, 3).reduce((n, c) => n + c.mean, 0) / 3;
}

describe('UI: settings drawn on the picture', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let director: UserPage;

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-settings-picture-');
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        {
          id: 'north',
          name: 'North bank',
          camera: { driver: 'testpattern', width: 640, height: 360, timeout: '10s' },
          // Office hours on weekdays: 36 pictures a day at 20 minutes, none at the weekend.
          schedule: { every: '1h', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '19:00' }] },
          timelapse: { daily: { enabled: false } },
        },
      ],
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await addUser(configFile, 'dora', 'director', PASSWORD);
    await captureNow(sut.baseUrl, 'dora', PASSWORD, 'north');
    browser = await launchBrowser();
    director = await openAs(browser, sut.baseUrl, 'dora', PASSWORD);
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  afterEach(() => {
    expect(director.problems).toEqual([]);
  });

  it('offers intervals with the pictures a day each gives with the windows', async () => {
    const { page } = director;
    await visit(page, '#/s/north/settings');
    await page.locator('.interval-presets button').first().waitFor();
    const presets = await texts(page.locator('.interval-presets button'));
    // Weekdays 07:00-19:00: 36 at 20 minutes, 12 at an hour; the weekend has none.
    expect(presets).toContain('20m · 0–36 a day');
    expect(presets).toContain('1h · 0–12 a day');
    expect(await page.locator('.interval-presets [data-every="1h"]').getAttribute('aria-pressed')).toBe('true');
    await page.locator('.interval-presets [data-every="20m"]').click();
    expect(await page.locator('input[data-path="schedule.every"]').inputValue()).toBe('20m');
    expect(await page.locator('.interval-presets [data-every="20m"]').getAttribute('aria-pressed')).toBe('true');
    // Every day from 06:00 to 18:00 instead: the counts follow the windows in the form.
    await page.locator('.window input[type="checkbox"]').nth(5).check();
    await page.locator('.window input[type="checkbox"]').nth(6).check();
    await page.waitForFunction(() => [...(globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<{ textContent: string }> } }).document.querySelectorAll('.interval-presets button')].some((b) => b.textContent === '20m · 36 a day'));
  });

  it('draws a mask on the latest picture, sees it in a test shot, saves it, and the next capture has it', async () => {
    const { page } = director;
    await visit(page, '#/s/north/settings');
    const layer = page.locator('.mask-layer');
    await layer.waitFor();
    await layer.scrollIntoViewIfNeeded();
    const box = (await layer.boundingBox())!;
    // From 10 % across and 20 % down to 40 % across and 60 % down.
    await page.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.4, { steps: 4 });
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.6, { steps: 4 });
    await page.mouse.up();
    expect(await page.locator('.mask-box').count()).toBe(1);
    const field = (key: string) => page.locator(`[data-path="image.privacyMasks[0].${key}"]`).inputValue();
    // In pixels of the 640x360 picture, give or take a pixel of the mouse.
    expect(Math.abs(Number(await field('left')) - 64)).toBeLessThanOrEqual(2);
    expect(Math.abs(Number(await field('top')) - 72)).toBeLessThanOrEqual(2);
    expect(Math.abs(Number(await field('width')) - 192)).toBeLessThanOrEqual(2);
    expect(Math.abs(Number(await field('height')) - 144)).toBeLessThanOrEqual(2);
    // Moved by dragging it: 10 % to the right.
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3, { steps: 4 });
    await page.mouse.up();
    expect(Math.abs(Number(await field('left')) - 128)).toBeLessThanOrEqual(2);
    expect(Math.abs(Number(await field('top')) - 72)).toBeLessThanOrEqual(2);

    // A test shot before saving: the camera's picture with the mask drawn, black.
    await page.locator('[data-action="preview"]').click();
    await page.locator('.preview-shot:not([hidden])').waitFor();
    // Read where the page shows it (a canvas: the page's policy lets nothing fetch the blob).
    const means = await page.locator('.preview-shot').evaluate((img: { naturalWidth: number; naturalHeight: number }, regions: number[][]) => {
      const g = globalThis as unknown as { document: { createElement(t: string): { width: number; height: number; getContext(k: string): { drawImage(i: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } } } };
      const canvas = g.document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const c = canvas.getContext('2d');
      c.drawImage(img, 0, 0);
      return regions.map(([l, t, w, h]) => {
        const data = c.getImageData(Math.round(l! * img.naturalWidth), Math.round(t! * img.naturalHeight), Math.round(w! * img.naturalWidth), Math.round(h! * img.naturalHeight)).data;
        let sum = 0;
        for (let i = 0; i < data.length; i += 4) sum += (data[i]! + data[i + 1]! + data[i + 2]!) / 3;
        return sum / (data.length / 4);
      });
    }, [[0.23, 0.23, 0.14, 0.34], [0.7, 0.1, 0.2, 0.2]]);
    // The mask is pure black; the test pattern is never that dark (its night sky is about 10).
    expect(means[0]).toBeLessThan(3);
    expect(means[1]).toBeGreaterThan(6);
    // Not saved: the file still has no mask.
    expect((await apiCall<{ settings: { image?: { privacyMasks?: unknown[] } } }>(sut.baseUrl, 'dora', PASSWORD, 'GET', '/api/sources/north/settings')).json.settings.image?.privacyMasks).toBeUndefined();
    await screenshots(page, 'settings-mask');

    await page.locator('form.settings button[type="submit"]').click();
    await page.locator('.form-actions .flash', { hasText: 'Saved' }).waitFor();
    const saved = (await apiCall<{ settings: { image: { privacyMasks: { left: number; top: number; width: number; height: number }[] } } }>(sut.baseUrl, 'dora', PASSWORD, 'GET', '/api/sources/north/settings')).json.settings.image.privacyMasks;
    expect(saved).toHaveLength(1);
    expect(Math.abs(saved[0]!.left - 128)).toBeLessThanOrEqual(2);

    // The next capture: black where the mask is, the test pattern elsewhere.
    const answer = await apiCall<{ picture: { id: number } }>(sut.baseUrl, 'dora', PASSWORD, 'POST', '/api/sources/north/capture');
    const original = await fetch(`${sut.baseUrl}/api/pictures/${answer.json.picture.id}/original`, { headers: { authorization: `Basic ${Buffer.from(`dora:${PASSWORD}`).toString('base64')}` } });
    const jpeg = Buffer.from(await original.arrayBuffer());
    expect(await regionMean(jpeg, { left: 0.23, top: 0.23, width: 0.14, height: 0.34 })).toBeLessThan(3);
    expect(await regionMean(jpeg, { left: 0.7, top: 0.1, width: 0.2, height: 0.2 })).toBeGreaterThan(6);
  });

  it('previews a crop and a rotation before saving them: the test shot has the new shape, the file is unchanged', async () => {
    const { page } = director;
    await visit(page, '#/s/north/settings');
    await page.locator('[data-path="image.crop.width"]').waitFor();
    await page.locator('[data-path="image.crop.left"]').fill('0');
    await page.locator('[data-path="image.crop.top"]').fill('0');
    await page.locator('[data-path="image.crop.width"]').fill('320');
    await page.locator('[data-path="image.crop.height"]').fill('300');
    await page.locator('select[data-path="image.rotate"]').selectOption('90');
    await page.locator('[data-action="preview"]').click();
    await page.locator('.preview-shot:not([hidden])').waitFor();
    // Turned a quarter (360x640), then 320x300 of it kept.
    const size = await page.locator('.preview-shot').evaluate((img: { naturalWidth: number; naturalHeight: number }) => [img.naturalWidth, img.naturalHeight]);
    expect(size[0]! / size[1]!).toBeCloseTo(320 / 300, 2);
    const saved = (await apiCall<{ settings: { image: Record<string, unknown> } }>(sut.baseUrl, 'dora', PASSWORD, 'GET', '/api/sources/north/settings')).json.settings.image;
    expect([saved['crop'], saved['rotate']]).toEqual([undefined, undefined]);
    // A crop outside the picture is named, on its field.
    await page.locator('[data-path="image.crop.width"]').fill('0');
    await page.locator('[data-action="preview"]').click();
    await page.locator('.field-error[data-for="image.crop.width"]').waitFor();
    expect(await page.locator('[data-path="image.crop.width"]').getAttribute('aria-invalid')).toBe('true');
  });
});
