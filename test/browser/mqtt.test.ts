/**
 * The System page's fleet broker panel, in a real browser against the real daemon and a
 * real mosquitto on loopback (anonymous, with an ACL that refuses the source's state
 * topic): connected, with the topic (markup in it shown as text) and the broker's
 * refusal; then the broker stops and the page's own refresh says "not connected" with
 * the last error and the next try; then the broker is back and the page says connected
 * again. The page refreshes every 30 s: the browser's clock is driven past each refresh
 * (Playwright's fake timers) instead of waiting for it; the daemon's reconnection runs
 * on real time.
 */
import path from 'node:path';
import { DateTime } from 'luxon';
import type { Browser } from 'playwright-core';
import type { MqttStatus } from '../../daemon/domain/mqtt';
import { freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess, initialPassword } from '../helpers/daemon';
import { startBroker, stopBroker, type TestBroker } from '../helpers/mqtt';
import { loadOpenApi, OpenApiSchemas } from '../helpers/openapi';
import { apiCall, eventually, launchBrowser, openAs, screenshots, visit, waitFor, type UserPage } from '../helpers/browser';

jest.setTimeout(120_000);

/** The System page's refresh period (REFRESH_MS in web/ui/views/system.js). */
const PAGE_REFRESH_MS = 30_000;
/** Two topic levels, "<i>fleet<" and "i>": valid in a topic, and markup if the page parsed it. */
const PREFIX = '<i>fleet</i>';
const TOPIC = `${PREFIX}/test-box`;
const DOC_FILE = path.join(__dirname, '..', '..', 'docs', 'openapi.yaml');

describe('UI: the fleet broker on the system page', () => {
  let tmp: ReturnType<typeof tempDir>;
  let broker: TestBroker;
  let sut: DaemonProcess;
  let browser: Browser;
  let admin: UserPage;
  let password: string;
  const schemas = new OpenApiSchemas(loadOpenApi(DOC_FILE));

  /** The daemon's account of the link once `ready` accepts it, checked against the API document. */
  const mqttStatus = (what: string, ready: (m: MqttStatus) => boolean, timeoutMs = 20_000): Promise<MqttStatus> =>
    waitFor(
      what,
      async () => {
        const { json } = await apiCall<{ mqtt: MqttStatus | null }>(sut.baseUrl, 'admin', password, 'GET', '/api/system');
        if (!json.mqtt || !ready(json.mqtt)) return undefined;
        expect(schemas.problemsOf('SystemStatus', json, what)).toEqual([]);
        return json.mqtt;
      },
      timeoutMs,
    );
  /** The panel as a person reads it: its words, one line per row. */
  const panel = () => admin.page.locator('.card.mqtt');
  const row = async (label: string) => (await panel().locator('dt', { hasText: new RegExp(`^${label}$`) }).locator('xpath=following-sibling::dd[1]').innerText()).trim();
  const paris = (iso: string) => DateTime.fromISO(iso, { zone: 'Europe/Paris' }).toFormat('HH:mm:ss');
  const newYork = (iso: string) => DateTime.fromISO(iso, { zone: 'America/New_York' }).toFormat('HH:mm:ss');

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-mqtt-');
    // Anonymous boxes may write the box's own topics, not the source's state: the broker refuses it.
    const acl = ['availability', 'state', 'events', '+/capture', '+/capture/reply', '+/enabled/set', '+/enabled/set/reply'].map((t) => `topic readwrite ${TOPIC}/${t}`).join('\n');
    broker = await startBroker({ anonymous: true, acl });
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [{ id: 'north', name: 'North bank', camera: { driver: 'testpattern', width: 320, height: 180, timeout: '10s' }, schedule: { every: '1h' } }],
      extra: { mqtt: { url: broker.url, topicPrefix: PREFIX, commands: true } },
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    password = initialPassword(path.join(tmp.dir, 'data'));
    browser = await launchBrowser();
    admin = await openAs(browser, sut.baseUrl, 'admin', password);
    // Fake timers in the page, time still flowing: fastForward() runs the page's refresh now.
    await admin.page.clock.install();
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    await stopBroker(broker);
    tmp?.cleanup();
  });

  afterEach(() => {
    if (admin) expect(admin.problems).toEqual([]);
  });

  it('shows the link connected, where the box publishes, and what the broker refused', async () => {
    const m = await mqttStatus('the link up, the refused source state', (s) => s.activity === 'connected' && s.published > 0 && s.refused !== null);
    const { page } = admin;
    await visit(page, '#/system');

    expect(await page.locator('main h2', { hasText: 'Fleet broker (MQTT)' }).count()).toBe(1);
    expect(await panel().locator('h3 .broker').innerText()).toBe(broker.url);
    expect(await panel().locator('h3 .badge').innerText()).toBe('connected');
    expect(await panel().locator('h3 .badge').getAttribute('class')).toBe('badge ok');
    expect(await row('Topic')).toBe(TOPIC);
    expect(await row('Client id')).toBe('lapsebox-test-box');
    // Since when, in the box's time zone although the browser is in New York.
    expect(await row('State')).toMatch(/^connected since \d+ \w+ \d{4}, \d\d:\d\d:\d\d$/);
    expect(await row('State')).toContain(paris(m.since!));
    expect(await row('State')).not.toContain(newYork(m.since!));
    expect(await row('Published')).toMatch(/^\d+ messages?, last at \d+ \w+, \d\d:\d\d$/);
    expect(await row('Waiting')).toMatch(/^\d+ messages?$/);
    expect(await row('Home Assistant')).toBe('off');
    expect(await row('Commands')).toMatch(/^on: /);
    expect(await panel().locator('dt', { hasText: /^(Last error|Dropped)$/ }).count()).toBe(0);
    // The ACL's refusal: the topic and the broker's answer, as an error line.
    const refused = panel().locator('.bad-text.refused');
    expect(await refused.innerText()).toMatch(/^\d+ \w+, \d\d:\d\d: the broker does not let this box publish on /);
    expect(await refused.innerText()).toContain(`${TOPIC}/north/state (not authorized): check the broker's ACL`);
    // The markup in the topic is text: no element came from it.
    expect(await page.locator('main i').count()).toBe(0);
    await screenshots(page, 'system-mqtt');
  });

  it('follows the broker going away and coming back, on the page\'s own refresh', async () => {
    const { page } = admin;
    const before = await mqttStatus('the link up', (s) => s.activity === 'connected');
    await visit(page, '#/system');

    const stoppedAt = Date.now();
    await broker.stop();
    const down = await mqttStatus('the link down, waiting', (s) => s.activity === 'waiting' && s.lastError !== null && s.nextAttemptAt !== null);
    // "since" is when the link was lost, not the last failed attempt: it stays put while the box tries again.
    expect(Date.parse(down.since!)).toBeGreaterThanOrEqual(stoppedAt - 1_000);
    const later = await mqttStatus('another attempt failed', (s) => s.activity === 'waiting' && s.nextAttemptAt !== down.nextAttemptAt);
    expect(later.since).toBe(down.since);
    // Nothing moves until the page refreshes by itself.
    expect(await panel().locator('h3 .badge').innerText()).toBe('connected');
    await page.clock.fastForward(PAGE_REFRESH_MS);
    await eventually(async () => expect(await panel().locator('h3 .badge').innerText()).toBe('not connected'));
    expect(await panel().locator('h3 .badge').getAttribute('class')).toBe('badge bad');
    expect(await row('State')).toMatch(/^not connected since \d\d:\d\d:\d\d: waiting, next try at \d\d:\d\d:\d\d$/);
    // The refused-connection error of an attempt, or the loss itself if no attempt has failed yet.
    expect(await panel().locator('.bad-text.last-error').innerText()).toMatch(new RegExp(`127\\.0\\.0\\.1:${broker.port}`));
    expect(down.lastError).toMatch(new RegExp(`127\\.0\\.0\\.1:${broker.port}`));
    await screenshots(page, 'system-mqtt-down');

    await broker.startAgain();
    // 1 s, then twice as long after each failure (at most 1 min), half of it at random.
    const after = await mqttStatus('the link up again', (s) => s.activity === 'connected', 30_000);
    expect(Date.parse(after.since!)).toBeGreaterThan(Date.parse(before.since!));
    await page.clock.fastForward(PAGE_REFRESH_MS);
    await eventually(async () => expect(await panel().locator('h3 .badge').innerText()).toBe('connected'));
    expect(await row('State')).toContain(`connected since`);
    expect(await row('State')).toContain(paris(after.since!));
    expect(await panel().locator('.bad-text.last-error').count()).toBe(0);
  });
});
