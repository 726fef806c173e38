/**
 * A director in a real browser against the real daemon: the settings form
 * changes the capture interval and the daemon follows at once (no restart); a
 * bad value shows the server's own message next to the field; capture now; a
 * custom video followed to the end; the embed snippet of a public source.
 */
import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { slowFfmpeg } from '../helpers/videos';
import { addUser, apiCall, eventually, launchBrowser, openAs, pictureCount, screenshots, texts, visit, type UserPage } from '../helpers/browser';

jest.setTimeout(90_000);

const PASSWORD = 'correct horse battery staple';

describe('UI: a director tunes a source', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let director: UserPage;
  let configFile: string;

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-director-');
    const port = await freePort();
    configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        {
          id: 'cam',
          name: 'Crane camera',
          camera: { driver: 'testpattern', width: 320, height: 180, timeout: '10s' },
          schedule: { every: '1h', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '00:00', to: '23:59' }] },
          image: { legend: { text: '{source} {time}', position: 'bottom-left' } },
          timelapse: { daily: { enabled: false, width: 320, preset: 'ultrafast', deflicker: false } },
          public: { enabled: true, width: 320 },
        },
      ],
    });
    // The real ffmpeg, reading its frames at 8 % of real time (about half a second a frame):
    // a custom video runs long enough to watch its progress.
    sut = new DaemonProcess(configFile, port, slowFfmpeg(tmp.dir, 0.08).env);
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

  afterEach(() => {
    if (director) expect(director.problems).toEqual([]);
  });

  it('shows the server message next to a bad interval, and saves nothing', async () => {
    const { page } = director;
    // What the server says about this value, asked directly.
    const direct = await apiCall<{ details: Record<string, string> }>(sut.baseUrl, 'dora', PASSWORD, 'PATCH', '/api/sources/cam', { schedule: { every: 'often' } });
    expect(direct.status).toBe(400);
    const serverMessage = direct.json.details['schedule.every'];
    expect(serverMessage).toBeTruthy();

    await visit(page, '#/s/cam/settings');
    const every = page.locator('input[data-path="schedule.every"]');
    expect(await every.inputValue()).toBe('1h');
    await every.fill('often');
    await page.locator('form.settings button[type="submit"]').click();
    const note = page.locator('.field-error[data-for="schedule.every"]');
    await note.waitFor();
    expect(await note.innerText()).toBe(serverMessage);
    // Right under the field it names, and the field is marked.
    expect(await note.evaluate((el: { previousElementSibling: { querySelector(s: string): unknown } | null }) => el.previousElementSibling?.querySelector('input[data-path="schedule.every"]') !== null)).toBe(true);
    expect(await every.getAttribute('aria-invalid')).toBe('true');
    await screenshots(page, 'settings-error');
    expect(fs.readFileSync(configFile, 'utf8')).toContain('every: 1h');

    // A bad window time is shown by its own field in the list.
    await every.fill('1h');
    await page.locator('input[data-path="schedule.windows[0].from"]').fill('25:99');
    await page.locator('form.settings button[type="submit"]').click();
    await page.locator('.field-error[data-for="schedule.windows[0].from"]').waitFor();
    expect(await page.locator('.field-error').count()).toBe(1);
  });

  it('changes the capture interval from 1h to 2s: pictures come at the new pace, with no restart', async () => {
    const { page } = director;
    await visit(page, '#/s/cam/settings');
    const pid = sut.pid;
    const patches: string[] = [];
    page.on('request', (req) => {
      if (req.method() === 'PATCH') patches.push(`${req.headers()['content-type']} ${req.postData()}`);
    });
    await page.locator('input[data-path="schedule.every"]').fill('2s');
    await page.locator('form.settings button[type="submit"]').click();
    const flash = page.locator('.form-actions .flash');
    await eventually(async () => expect(await flash.innerText()).toMatch(/^Saved: schedule/));
    // Only what changed goes to the server, as JSON.
    expect(patches).toEqual(['application/json {"schedule":{"every":"2s"}}']);
    expect(await page.locator('input[data-path="schedule.every"]').inputValue()).toBe('2s');

    const before = await pictureCount(sut.baseUrl, 'dora', PASSWORD, 'cam');
    // Three 2 s slots take about 6 s; the old interval would have given none for an hour.
    await waitFor('3 pictures at the new pace', async () => (await pictureCount(sut.baseUrl, 'dora', PASSWORD, 'cam')) >= before + 3, 30_000);
    const latest = (await apiCall<{ latest: { date: string } }>(sut.baseUrl, 'dora', PASSWORD, 'GET', '/api/sources/cam')).json.latest.date;
    const { pictures } = (await apiCall<{ pictures: { takenAt: string }[] }>(sut.baseUrl, 'dora', PASSWORD, 'GET', `/api/sources/cam/pictures?date=${latest}`)).json;
    const times = pictures.map((p) => Date.parse(p.takenAt)).slice(-3);
    // On 2 s slots, not an hour apart. A slot may start up to half its interval late (the
    // scheduler's grace) and one may be skipped on a loaded machine: 1 s to 6 s apart.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(950);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(6_500);
    expect(sut.pid).toBe(pid);
    expect(sut.logs('lapsebox is running')).toHaveLength(1);
    expect(fs.readFileSync(configFile, 'utf8')).toContain('every: 2s');

    // The status shown follows.
    await visit(page, '#/');
    expect(await page.locator('.source-card .status').innerText()).toContain('every 2s');
    await screenshots(page, 'gallery-director');
  });

  it('edits lists (windows, privacy masks) and the legend, sending a merge patch', async () => {
    const { page } = director;
    await visit(page, '#/s/cam/settings');
    let sent: unknown = null;
    page.on('request', (req) => {
      if (req.method() === 'PATCH') sent = JSON.parse(req.postData() ?? 'null');
    });
    await page.getByRole('button', { name: 'Add a mask' }).click();
    await page.locator('input[data-path="image.privacyMasks[0].width"]').fill('40');
    await page.locator('input[data-path="image.legend.text"]').fill('{source} {date} {time}');
    await page.locator('select[data-path="image.legend.position"]').selectOption('top-right');
    await page.locator('form.settings button[type="submit"]').click();
    await eventually(async () => expect(await page.locator('.form-actions .flash').innerText()).toMatch(/^Saved/));
    expect(sent).toEqual({ image: { privacyMasks: [{ left: 0, top: 0, width: 40, height: 100 }], legend: { text: '{source} {date} {time}', position: 'top-right' } } });
    const settings = await apiCall<{ settings: { image: unknown; schedule: { every: string } } }>(sut.baseUrl, 'dora', PASSWORD, 'GET', '/api/sources/cam/settings');
    expect(settings.json.settings.image).toEqual({ legend: { text: '{source} {date} {time}', position: 'top-right' }, privacyMasks: [{ left: 0, top: 0, width: 40, height: 100 }] });
    expect(settings.json.settings.schedule.every).toBe('2s');
    await screenshots(page, 'settings');
  });

  it('captures now and shows the new picture', async () => {
    const { page } = director;
    await visit(page, '#/s/cam');
    await page.locator('[data-action="capture"]').click();
    const result = page.locator('.capture-result.ok');
    await result.waitFor({ timeout: 20_000 });
    expect(await result.locator('img').getAttribute('src')).toMatch(/^\/api\/pictures\/\d+\/thumb$/);
    await page.waitForFunction(() => {
      const img = (globalThis as unknown as { document: { querySelector(s: string): { naturalWidth: number } | null } }).document.querySelector('.capture-result img');
      return img !== null && img.naturalWidth > 0;
    });
    await screenshots(page, 'capture-now');
  });

  it('builds a custom video and follows the job to the end, its progress in percent', async () => {
    const { page } = director;
    await visit(page, '#/s/cam/videos');
    const today = (await apiCall<{ days: { date: string }[] }>(sut.baseUrl, 'dora', PASSWORD, 'GET', '/api/sources/cam/days')).json.days.pop()!.date;
    await page.locator('input[name="from"]').fill(today);
    await page.locator('input[name="to"]').fill(today);
    await page.locator('input[name="fps"]').fill('5');
    await page.locator('form.custom-video button[type="submit"]').click();
    const job = page.locator('.job').first();
    await job.waitFor();
    // What the row shows, read every 100 ms until the job ends (the view asks every second).
    type Seen = { status: string; max: number | null; value: number | null; pct: string | null };
    const seen: Seen[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = await job.evaluate((row: { querySelector(s: string): { textContent: string | null; max?: number; value?: number } | null }): Seen => {
        const bar = row.querySelector('progress');
        return { status: row.querySelector('.badge')?.textContent ?? '', max: bar?.max ?? null, value: bar?.value ?? null, pct: row.querySelector('.pct')?.textContent ?? null };
      });
      seen.push(now);
      if (!['queued', 'running'].includes(now.status) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const running = seen.filter((x) => x.status === 'running');
    // The bar and the text say the same percentage as the API (0-100), never more than 100 %.
    for (const x of running) {
      expect(x.max).toBe(100);
      expect(x.value).toBeGreaterThanOrEqual(0);
      expect(x.value).toBeLessThanOrEqual(100);
      expect(x.pct).toBe(`${Math.round(x.value!)}%`);
    }
    // Seen part way, and never going back.
    expect(running.some((x) => x.value! > 0 && x.value! < 100)).toBe(true);
    const values = running.map((x) => x.value!);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    // At the end: succeeded, no bar left, and the API says 100.
    expect(seen.at(-1)).toEqual({ status: 'succeeded', max: null, value: null, pct: null });
    const id = await job.getAttribute('data-job');
    expect((await apiCall<{ job: { progress: number } }>(sut.baseUrl, 'dora', PASSWORD, 'GET', `/api/jobs/${id}`)).json.job.progress).toBe(100);
    await eventually(async () => expect(await page.locator('.video-item').count()).toBe(1));
    await screenshots(page, 'videos-director');

    // A bad request shows the server's message by its field.
    await page.locator('input[name="fps"]').fill('500');
    await page.locator('form.custom-video button[type="submit"]').click();
    await page.locator('.custom-video .field-error').first().waitFor();
    expect(await texts(page.locator('.custom-video .field-error'))).not.toEqual([]);
  });

  it('gives the embed snippet of a public source, and the embed page works', async () => {
    const { page } = director;
    await visit(page, '#/s/cam/settings');
    const snippet = page.locator('textarea[data-embed="cam"]');
    expect(await snippet.inputValue()).toBe(`<iframe src="${sut.baseUrl}/public/cam" title="Live picture" loading="lazy" style="display:block;width:100%;max-width:1280px;aspect-ratio:16/9;border:0"></iframe>`);
    const embed = await openAs(browser, sut.baseUrl, 'nobody', 'wrong');
    try {
      await embed.page.goto('/public/cam');
      await embed.page.waitForFunction(() => {
        const img = (globalThis as unknown as { document: { querySelector(s: string): { naturalWidth: number } | null } }).document.querySelector('img');
        return img !== null && img.naturalWidth === 320;
      });
      await screenshots(embed.page, 'embed');
    } finally {
      await embed.context.close();
    }
  });
});
