/**
 * Headless Chromium for the UI tests (playwright-core drives the system's
 * Debian `chromium`, no browser download): launch, a logged-in context per user,
 * page error collection (script errors, CSP refusals, alert dialogs) and
 * screenshots at a phone and a desktop size into `test-artifacts/screenshots/`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { ROOT, cli, waitFor } from './env';

export const CHROMIUM = process.env['LAPSEBOX_CHROMIUM'] ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(ROOT, 'test-artifacts', 'screenshots');
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install the Debian package "chromium" (apt-get install chromium) or set LAPSEBOX_CHROMIUM`);
  }
  // Tests run as root in CI containers, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export interface UserPage {
  context: BrowserContext;
  page: Page;
  /** Script errors, CSP violations and dialogs seen so far: a clean page has none. */
  problems: string[];
}

/**
 * A context logged in as `username` (Basic credentials, as the browser's dialog
 * would give them) with one page. The browser's own time zone is set far from
 * the appliance's on purpose: the UI must show the box's local times anyway.
 */
export async function openAs(browser: Browser, baseUrl: string, username: string, password: string, viewport = DESKTOP, locale = 'en-GB'): Promise<UserPage> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    httpCredentials: { username, password },
    viewport,
    // A phone's screen takes taps (locator.tap()).
    hasTouch: viewport.width < 600,
    timezoneId: 'America/New_York',
    // The browser's language: Chromium sends it as Accept-Language and the box answers in it.
    locale,
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' && /Content.Security.Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
    // A message the catalog lacks: the page shows its key (web/ui/i18n.js).
    if (msg.type() === 'error' && text.startsWith('i18n:')) problems.push(text);
  });
  page.on('dialog', (dialog) => {
    // confirm() before removals is expected; an alert() would be injected script.
    if (dialog.type() === 'confirm') return void dialog.accept();
    problems.push(`${dialog.type()} dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { context, page, problems };
}

/**
 * The page's globals, typed for the few uses here (the tests compile without the
 * DOM library). Functions passed to `page.evaluate` run in the browser, where the
 * UI's CSP forbids evaluating strings: they must be real functions, and may only
 * use what they get as arguments and the page's globals: write
 * `(globalThis as unknown as PageGlobals).document` (the cast is erased).
 */
export interface PageGlobals {
  document: {
    querySelector(selector: string): (PageElement & Record<string, unknown>) | null;
    images: Iterable<{ loading: string; complete: boolean; naturalWidth: number }>;
  };
  [name: string]: unknown;
}
export interface PageElement {
  readonly className: string;
  readonly style: Record<string, string>;
}
/** Opens a hash route of the UI and waits until no part of the view says "Loading…". */
export async function visit(page: Page, hash: string): Promise<void> {
  // The same URL again would be no navigation at all: reload then, for a fresh view.
  if (new URL(page.url(), 'http://x').hash === hash && page.url().startsWith('http')) await page.reload();
  else await page.goto(`/${hash}`);
  await page.locator('main .view').waitFor();
  // Views show "Loading…" (class loading) wherever they still wait for the API.
  await page.waitForFunction(() => !(globalThis as unknown as PageGlobals).document.querySelector('main .loading'));
}

/** Full-page PNGs of the page at phone and desktop size: `<name>-phone.png`, `<name>-desktop.png`. */
/**
 * The elements of `selector` (cells, say) that reach past the right edge of the window
 * at phone size: what a person on a phone cannot see without knowing to scroll sideways.
 */
export async function clippedOnPhone(page: Page, selector: string): Promise<string[]> {
  const before = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(PHONE);
  try {
    return await page.evaluate((sel) => {
      const g = globalThis as unknown as { innerWidth: number; document: { querySelectorAll(s: string): Iterable<{ getBoundingClientRect(): { right: number }; textContent: string | null }> } };
      return [...g.document.querySelectorAll(sel)].filter((el) => el.getBoundingClientRect().right > g.innerWidth + 0.5).map((el) => (el.textContent ?? '').trim().slice(0, 40));
    }, selector);
  } finally {
    await page.setViewportSize(before);
  }
}

export async function screenshots(page: Page, name: string): Promise<string[]> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const before = page.viewportSize() ?? DESKTOP;
  const files: string[] = [];
  for (const [label, size] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
    await page.setViewportSize(size);
    // Let lazy images in view arrive and layout settle.
    await page.waitForLoadState('networkidle').catch(() => undefined);
    await page
      .waitForFunction(() => [...(globalThis as unknown as PageGlobals).document.images].filter((i) => i.loading !== 'lazy').every((i) => i.complete), undefined, { timeout: 5_000 })
      .catch(() => undefined);
    // From the top, so that the sticky bar sits where it belongs in a full-page shot.
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    const file = path.join(SCREENSHOTS, `${name}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    files.push(file);
  }
  await page.setViewportSize(before);
  return files;
}

/** Adds a user through the CLI, as an installer would. */
export async function addUser(configFile: string, name: string, profile: string, password: string, grants: Record<string, 'view' | 'download'> = {}): Promise<void> {
  const add = await cli(['users', 'add', name, '--profile', profile, '--password-stdin', '--config', configFile], { input: password });
  if (add.code !== 0) throw new Error(`lapsebox users add ${name} failed: ${add.stderr}${add.stdout}`);
  for (const [source, level] of Object.entries(grants)) {
    const grant = await cli(['users', 'grant', name, source, '--level', level, '--config', configFile]);
    if (grant.code !== 0) throw new Error(`lapsebox users grant ${name} ${source} failed: ${grant.stderr}${grant.stdout}`);
  }
}

/** A JSON API call with Basic credentials, outside the browser (checks and seeding). */
export async function apiCall<T = unknown>(baseUrl: string, user: string, password: string, method: string, url: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${baseUrl}${url}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
}

/** One capture now through the API, to seed a picture; throws with the server's answer if it fails. */
export async function captureNow(baseUrl: string, user: string, password: string, source: string): Promise<void> {
  const shot = await apiCall(baseUrl, user, password, 'POST', `/api/sources/${source}/capture`);
  if (shot.status !== 201) throw new Error(`capture on ${source}: ${shot.status} ${JSON.stringify(shot.json)}`);
}

/** The number of pictures of a source, as the API counts them. */
export async function pictureCount(baseUrl: string, user: string, password: string, source: string): Promise<number> {
  const { json } = await apiCall<{ counts: { pictures: number } }>(baseUrl, user, password, 'GET', `/api/sources/${source}`);
  return json.counts.pictures;
}

/**
 * Retries `check` (jest expectations) until it passes or `timeoutMs` is over, then
 * throws its last failure: the UI renders after fetches, so assertions poll.
 */
export async function eventually(check: () => unknown, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The trimmed inner texts of every element a locator matches. */
export async function texts(locator: Locator): Promise<string[]> {
  return (await locator.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

export { waitFor };
