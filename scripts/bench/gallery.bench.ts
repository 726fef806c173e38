/**
 * `npm run bench -- gallery`: the gallery as people open it on a slow mobile link
 * (Chromium's network emulation: 1.6 Mbit/s down, 750 kbit/s up, 150 ms, the cache off,
 * a fresh browser context for each figure), the daemon as a child process with a day of
 * 1,440 pictures (one a minute, 1280x720, photo-like) and that day's film (1280x720 at
 * 25 fps, built with its phone rendition). Figures, from the navigation to what a
 * person waits for:
 *
 * - the gallery's first picture (the source card);
 * - a day: the first picture on the day's player, and every byte the view moved once
 *   the network is idle;
 * - the viewer: its picture, at the size the viewer picks for the phone (a 390-pixel
 *   screen at three device pixels each) and the link, against the same viewer with the
 *   1280-pixel preview and its neighbours asked for at once, as before issue 25 (the
 *   reference, measured in this run: the small size's requests answered with the preview);
 * - a film: from the tap to playing, the phone rendition on a phone against the film on
 *   a desktop.
 *
 * Beside each, the issue's target (viewer 2.5 s, day 3 s, film 3 s, a day's transfer
 * 1 MB) and the ratio. Reports only; never fails on a time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { DateTime } from 'luxon';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseConfig } from '../../daemon/config/load';
import { openRepositories } from '../../daemon/store/repositories';
import { buildPictureServices, buildVideoStack } from '../../daemon/compose/stacks';
import { duePeriod } from '../../daemon/timelapse/frames';
import { scheduledSpec } from '../../daemon/timelapse/video-spec';
import { tempPathFor } from '../../daemon/files/atomic';
import { localDate, pictureFileName } from '../../daemon/domain/data-folder';
import { silentLogger } from '../../daemon/logger';
import { freePort } from '../lib/net';
import { envCount } from './env';
import { DAEMON_ENV, MAIN, NODE_FLAGS, photoLikeJpeg, stopChild, untilHealthy } from './daemon-child';
import { table } from './table';

const TZ = 'Europe/Paris';
const DAY = '2026-11-20';
const LINK = { offline: false, latency: 150, downloadThroughput: 1_600_000 / 8, uploadThroughput: 750_000 / 8 } as const;
const TARGETS = { viewerMs: 2500, dayMs: 3000, filmMs: 3000, dayBytes: 1_000_000 } as const;
/** A phone as people hold one: 390 CSS pixels at three device pixels each (1170 across). */
const PHONE = { width: 390, height: 844, scale: 3 };
const DESKTOP = { width: 1280, height: 800, scale: 1 };
const CHROMIUM = process.env['LAPSEBOX_CHROMIUM'] ?? '/usr/bin/chromium';

export async function run(): Promise<void> {
  const count = envCount('LAPSEBOX_BENCH_GALLERY_PICTURES', 1440);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-bench-gallery-'));
  let child: ChildProcess | null = null;
  let browser: Browser | null = null;
  try {
    const port = await freePort();
    const dataDir = path.join(tmp, 'data');
    const configFile = path.join(tmp, 'lapsebox.yaml');
    fs.writeFileSync(
      configFile,
      [
        `appliance: { id: bench, name: Bench, timezone: ${TZ} }`,
        `storage: { dataDir: ${JSON.stringify(dataDir)} }`,
        `web: { host: 127.0.0.1, port: ${port} }`,
        'sources:',
        '  - id: north',
        '    name: North bank',
        '    camera: { driver: testpattern, width: 1280, height: 720 }',
        '    schedule: { every: 1d }',
        '    timelapse: { daily: { enabled: false, width: 1280, preset: veryfast, deflicker: false } }',
        '',
      ].join('\n'),
    );
    const config = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile).config;
    const store = openRepositories(dataDir);
    const ids: number[] = [];
    try {
      process.stdout.write(`${count} photo-like 1280x720 pictures through the pipeline, and the day's film with its phone rendition...\n`);
      // 30 different photo-like pictures in turn: a film that changes at every frame, as a site's does over a day.
      const bases: string[] = [];
      for (let i = 0; i < 30; i++) bases.push(await photoLikeJpeg(path.join(tmp, `photo-${i}.jpg`), 1280, 720));
      const { pipeline, pictureStore, sizes } = buildPictureServices({ config, store, log: silentLogger() });
      const source = config.sources[0]!;
      const start = DateTime.fromISO(`${DAY}T00:00`, { zone: TZ }).toMillis();
      for (let i = 0; i < count; i++) {
        const takenAt = start + i * 60_000;
        const dir = store.layout.dayDir('north', localDate(takenAt, TZ));
        fs.mkdirSync(dir, { recursive: true });
        const temp = tempPathFor(path.join(dir, pictureFileName(takenAt)));
        fs.copyFileSync(bases[i % bases.length]!, temp);
        const processed = await pipeline.process(temp, { source, takenAt }, tempPathFor(path.join(dir, pictureFileName(takenAt))));
        ids.push((await pictureStore.commit('north', { tempPath: temp, processed, takenAt })).id);
      }
      const { builder } = buildVideoStack({ config: () => config, store, sizes, log: silentLogger() });
      const built = await builder.build(scheduledSpec(source, 'daily', duePeriod('daily', start + 86_400_000 + 3_600_000, '00:30', TZ)), { label: DAY });
      if (built.status !== 'built') throw new Error(`the film was not built: ${built.reason}`);
      const v = built.video;
      process.stdout.write(
        `film: ${v.width}x${v.height}, ${(v.durationMs / 1000).toFixed(0)} s, ${((v.size * 8) / v.durationMs / 1000).toFixed(2)} Mbit/s; phone: ${v.phone ? `${v.phone.width}x${v.phone.height}, ${(v.phone.bitrate / 1e6).toFixed(2)} Mbit/s` : 'none (the film is small enough)'}\n`,
      );
    } finally {
      store.close();
    }

    const log = path.join(tmp, 'daemon.log');
    const fd = fs.openSync(log, 'a');
    child = spawn(process.execPath, [...NODE_FLAGS, MAIN, 'run', '--config', configFile], { cwd: tmp, env: { ...process.env, ...DAEMON_ENV }, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    const baseUrl = `http://127.0.0.1:${port}`;
    await untilHealthy(child, baseUrl, log);
    const password = fs.readFileSync(path.join(dataDir, 'initial-admin-password'), 'utf8').trim();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const b = browser;
    process.stdout.write(`Chromium ${b.version()}, 1.6 Mbit/s down, 150 ms, cache off; node ${process.versions.node}, ${os.cpus().length} cores\n`);

    /** A fresh context on the slow link; `measure` gets the page and the bytes moved so far. */
    const slow = async <T>(screen: { width: number; height: number; scale: number }, measure: (page: Page, bytes: () => number) => Promise<T>, init?: string): Promise<T> => {
      const phone = screen.width < 600;
      const context = await b.newContext({
        baseURL: baseUrl,
        httpCredentials: { username: 'admin', password },
        viewport: { width: screen.width, height: screen.height },
        deviceScaleFactor: screen.scale,
        isMobile: phone,
        hasTouch: phone,
        locale: 'en-GB',
      });
      try {
        const page = await context.newPage();
        if (init) await page.addInitScript({ content: init });
        const cdp = await context.newCDPSession(page);
        let moved = 0;
        cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => (moved += e.encodedDataLength));
        await cdp.send('Network.enable');
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
        await cdp.send('Network.emulateNetworkConditions', LINK);
        return await measure(page, () => moved);
      } finally {
        await context.close();
      }
    };
    /** Milliseconds from the navigation's start to when `ready` holds in the page. */
    const until = (page: Page, ready: (arg: string) => boolean, arg = '') => page.waitForFunction(ready, arg, { timeout: 120_000, polling: 20 }).then(() => page.evaluate(() => (globalThis as unknown as { performance: { now(): number } }).performance.now()));
    type G = { document: { querySelector(s: string): { complete?: boolean; naturalWidth?: number; currentTime?: number; getAttribute(a: string): string | null } | null } };
    /** The image of `selector` shown at its small or preview size, not a thumbnail (run in the page: `selector` comes as its argument). */
    const imageReady = (selector: string) => {
      const img = (globalThis as unknown as G).document.querySelector(selector);
      return Boolean(img && img.complete && (img.naturalWidth ?? 0) > 0 && /\/(small|preview)$/.test(img.getAttribute('src') ?? ''));
    };
    /** Which size `selector` shows, and what the browser says of its link (Chromium's Network Information API). */
    const shown = (page: Page, selector: string) =>
      page.evaluate((sel) => {
        const g = globalThis as unknown as G & { navigator: { connection?: { effectiveType?: string; downlink?: number } } };
        const size = /\/(\w+)$/.exec(g.document.querySelector(sel)?.getAttribute('src') ?? '')?.[1] ?? '?';
        const link = g.navigator.connection;
        return { size, link: link ? `${link.effectiveType ?? '?'}, ${link.downlink ?? '?'} Mbit/s` : 'not said' };
      }, selector);

    const gallery = await slow(PHONE, async (page) => {
      await page.goto('/#/');
      return until(page, () => {
        const img = (globalThis as unknown as G).document.querySelector('.source-card img');
        return Boolean(img && img.complete && (img.naturalWidth ?? 0) > 0);
      });
    });
    const day = await slow(PHONE, async (page, bytes) => {
      await page.goto(`/#/s/north/${DAY}`);
      const first = await until(page, imageReady, '.day-stage img');
      const what = await shown(page, '.day-stage img');
      await page.waitForLoadState('networkidle');
      await page.waitForTimeout(1500);
      return { first, bytes: bytes(), ...what };
    });
    const middle = ids[Math.floor(ids.length / 2)]!;
    const viewer = await slow(PHONE, async (page) => {
      await page.goto(`/#/p/${middle}`);
      const ms = await until(page, imageReady, '.viewer .photo');
      return { ms, ...(await shown(page, '.viewer .photo')) };
    });
    // The reference: the same viewer with the 1280-pixel preview (the small size's requests answered
    // with it) and its two neighbours' previews asked for as soon as its picture is, as before issue 25.
    const neighbours = [ids[ids.indexOf(middle) - 1]!, ids[ids.indexOf(middle) + 1]!];
    const before = await slow(PHONE, async (page) => {
      await page.route(/\/api\/pictures\/\d+\/small$/, (route) => route.continue({ url: route.request().url().replace(/\/small$/, '/preview') }));
      await page.goto(`/#/p/${middle}`);
      return until(page, imageReady, '.viewer .photo');
    }, `new MutationObserver((_, o) => { const img = document.querySelector('.viewer .photo'); if (img && img.getAttribute('src')) { o.disconnect(); for (const n of ${JSON.stringify(neighbours)}) new Image().src = '/api/pictures/' + n + '/preview'; } }).observe(document, { subtree: true, childList: true, attributes: true });`);
    const film = (viewport: { width: number; height: number; scale: number }) =>
      slow(viewport, async (page) => {
        await page.goto('/#/s/north/videos');
        await page.locator('.video-open').first().waitFor();
        const tapped = await page.evaluate(() => (globalThis as unknown as { performance: { now(): number } }).performance.now());
        await (viewport.width < 600 ? page.locator('.video-open').first().tap() : page.locator('.video-open').first().click());
        const playing = await until(page, () => ((globalThis as unknown as G).document.querySelector('.player video')?.currentTime ?? 0) > 0);
        const src = await page.locator('.player video').getAttribute('src');
        return { ms: playing - tapped, rendition: src?.includes('rendition=phone') ? 'phone' : 'full' };
      });
    const phoneFilm = await film(PHONE);
    const desktopFilm = await film(DESKTOP);

    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    process.stdout.write(
      table([
        ['figure', 'measured', 'reference', 'ratio'],
        ['gallery: first picture', s(gallery), '-', '-'],
        [`day: first picture on the player (${day.size})`, s(day.first), `${s(TARGETS.dayMs)} (target)`, ratio(day.first, TARGETS.dayMs)],
        ['day: bytes moved', `${(day.bytes / 1e6).toFixed(2)} MB`, `${(TARGETS.dayBytes / 1e6).toFixed(2)} MB (target)`, ratio(day.bytes, TARGETS.dayBytes)],
        [`viewer: its picture (${viewer.size}; link ${viewer.link})`, s(viewer.ms), `${s(TARGETS.viewerMs)} (target)`, ratio(viewer.ms, TARGETS.viewerMs)],
        ['viewer with the preview, neighbours at once', s(before), `${s(viewer.ms)} (now)`, ratio(before, viewer.ms)],
        [`film on a phone (${phoneFilm.rendition}): tap to playing`, s(phoneFilm.ms), `${s(TARGETS.filmMs)} (target)`, ratio(phoneFilm.ms, TARGETS.filmMs)],
        [`film on a desktop (${desktopFilm.rendition}): tap to playing`, s(desktopFilm.ms), `${s(phoneFilm.ms)} (phone)`, ratio(desktopFilm.ms, phoneFilm.ms)],
      ]),
    );
  } finally {
    await browser?.close();
    if (child) await stopChild(child);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
