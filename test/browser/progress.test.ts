/**
 * Progress e-mails in a real browser against the real daemon and a real SMTP server: a
 * maintainer gives users their e-mail addresses, a director sets a source's e-mails up in
 * its settings (recipients, a group chosen from the groups, rhythm, content), sends one
 * now, and the System page shows it sent.
 */
import fs from 'node:fs';
import type { Browser } from 'playwright-core';
import { parse } from 'yaml';
import { cli, freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { startSmtp } from '../helpers/alert-receivers';
import { SCREENSHOTS, addUser, apiCall, captureNow, eventually, launchBrowser, openAs, screenshots, visit, type UserPage } from '../helpers/browser';

jest.setTimeout(90_000);

const PASSWORD = 'correct horse battery staple';

describe('UI: progress e-mails', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let browser: Browser;
  let director: UserPage;
  let maintainer: UserPage;
  let configFile: string;

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-progress-');
    smtp = await startSmtp();
    const port = await freePort();
    configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [{ id: 'cam', name: 'Crane camera', camera: { driver: 'testpattern', width: 640, height: 360, timeout: '10s' }, schedule: { every: '1h' } }],
      extra: {
        web: { host: '127.0.0.1', port, publicUrl: `http://127.0.0.1:${port}` },
        alerts: { email: { smtp: { host: '127.0.0.1', port: smtp.port }, from: 'box@bridge.example', to: ['ops@bridge.example'] } },
      },
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    await addUser(configFile, 'dora', 'director', PASSWORD);
    await addUser(configFile, 'mia', 'maintainer', PASSWORD);
    for (const args of [
      ['users', 'add', 'carla', '--profile', 'customer', '--email', 'carla@client.example'],
      ['users', 'add', 'dan', '--profile', 'customer'],
      ['groups', 'add', 'client'],
      ['groups', 'member', 'client', 'carla'],
      ['groups', 'member', 'client', 'dan'],
    ]) {
      const done = await cli([...args, '--config', configFile]);
      if (done.code !== 0) throw new Error(`lapsebox ${args.join(' ')}: ${done.stderr}`);
    }
    await captureNow(sut.baseUrl, 'dora', PASSWORD, 'cam');
    browser = await launchBrowser();
    director = await openAs(browser, sut.baseUrl, 'dora', PASSWORD);
    maintainer = await openAs(browser, sut.baseUrl, 'mia', PASSWORD);
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    await smtp?.close();
    tmp?.cleanup();
  });

  afterEach(() => {
    if (director) expect(director.problems).toEqual([]);
    if (maintainer) expect(maintainer.problems).toEqual([]);
  });

  it('shows who in a group has no e-mail address, and lets a maintainer give one', async () => {
    const { page } = maintainer;
    await visit(page, '#/users');
    await eventually(async () => expect(await page.locator('[data-no-email="client"]').innerText()).toBe('Without an e-mail address (no progress e-mails): dan'));
    expect(await page.locator('[data-user="carla"] input[name="email"]').inputValue()).toBe('carla@client.example');
    const dan = page.locator('[data-user="dan"]');
    await dan.locator('input[name="email"]').fill('not an address');
    await dan.locator('form.email-form button[type="submit"]').click();
    await eventually(async () => expect(await dan.locator('.field-error').innerText()).toBe('an e-mail address such as anna@example.com'));
    await dan.locator('input[name="email"]').fill('dan@client.example');
    await dan.locator('form.email-form button[type="submit"]').click();
    await eventually(async () => expect(await page.locator('[data-no-email="client"]').count()).toBe(0));
    const { json } = await apiCall<{ user: { email: string | null } }>(sut.baseUrl, 'mia', PASSWORD, 'GET', '/api/users/dan');
    expect(json.user.email).toBe('dan@client.example');
  });

  it('lets a director set the e-mails up, send one now, and see it on the System page', async () => {
    const { page } = director;
    await visit(page, '#/s/cam/settings');
    const section = page.locator('fieldset.progress');
    await section.waitFor();
    // The groups, which a director cannot list elsewhere, are offered as recipients.
    expect(await section.locator('select[name="progress.group"] option').allInnerTexts()).toEqual(['(none)', 'client']);
    await section.locator('input[name="progress.enabled"]').check();
    await section.locator('input[name="progress.to"]').fill('site@example.com');
    await section.locator('select[name="progress.group"]').selectOption('client');
    await section.locator('select[name="progress.every"]').selectOption('day');
    expect(await section.locator('select[name="progress.day"]').isVisible()).toBe(false);
    await section.locator('input[name="progress.at"]').fill('07:30');
    await section.locator('select[name="progress.content"]').selectOption('latest');
    await page.locator('form.settings button[type="submit"]').click();
    await eventually(async () => expect(await page.locator('.form-actions .flash').innerText()).toMatch(/^Saved: progress\./));
    const written = parse(fs.readFileSync(configFile, 'utf8')) as { sources: { progress?: unknown }[] };
    expect(written.sources[0]!.progress).toEqual({ enabled: true, to: ['site@example.com'], group: 'client', every: 'day', at: '07:30' });

    const state = page.locator('[data-progress-state="cam"]');
    await eventually(async () => expect(await state.innerText()).toContain('(every day at 07:30), to 3 recipients.'));
    await page.locator('[data-action="send-progress"]').click();
    await eventually(async () => expect(await section.locator('.flash').innerText()).toBe('Sent to 3 recipients.'), 20_000);
    await eventually(async () => expect(await state.innerText()).toMatch(/Last sent .* to 3 recipients\./));
    await section.screenshot({ path: `${SCREENSHOTS}/settings-progress.png` });
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.to).toEqual(['site@example.com', 'carla@client.example', 'dan@client.example']);
    expect(smtp.mails[0]!.headers.get('subject')).toMatch(/^Crane camera \(Test box\): progress on /);

    await visit(page, '#/system');
    const card = page.locator('[data-progress="cam"]');
    await card.waitFor();
    const text = await card.innerText();
    expect(text).toContain('latest, every day at 07:30');
    expect(text).toContain('site@example.com, carla@client.example, dan@client.example');
    expect(text).toMatch(/Last sent\s+\S.*to 3 recipients/);
    await screenshots(page, 'system-progress');

    // lapsebox status says the same, from the running daemon.
    const status = await cli(['status', '--config', configFile]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/\nprogress e-mails:\n {2}cam: latest every day at 07:30 to 3 recipients; next \d{4}-\d\d-\d\d 07:30:00; last sent \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n/);
  });
});
