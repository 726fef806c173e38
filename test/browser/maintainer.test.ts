/**
 * A maintainer in a real browser against the real daemon: adds a customer (the
 * generated password shown once), grants a source in the UI and the customer,
 * in another browser context, then sees it; groups and their grants; profile
 * change, password reset and removal; the system page and the audit trail.
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess, initialPassword } from '../helpers/daemon';
import { apiCall, captureNow, eventually, launchBrowser, openAs, screenshots, texts, visit, type UserPage } from '../helpers/browser';

jest.setTimeout(90_000);

describe('UI: a maintainer manages users, groups and grants', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let admin: UserPage;
  let adminPassword: string;
  let carolPassword = '';
  let carol: UserPage | null = null;

  const carolSees = async (): Promise<string[]> => {
    await visit(carol!.page, '#/');
    return texts(carol!.page.locator('.source-card .source-name'));
  };

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-maintainer-');
    const port = await freePort();
    const camera = { driver: 'testpattern', width: 320, height: 180, timeout: '10s' };
    // A sync target nobody listens for: the system page shows its backlog and its error.
    const closedPort = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        { id: 'north', name: 'North bank', camera, schedule: { every: '1h' } },
        { id: 'south', name: 'South bank', camera, schedule: { every: '1h' } },
      ],
      extra: { sync: { targets: [{ id: 'hq', type: 'sftp', host: '127.0.0.1', port: closedPort, username: 'box', password: 'secret', hostKey: `SHA256:${'A'.repeat(43)}`, remoteDir: '/srv/timelapse', timeout: '2s' }] } },
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    adminPassword = initialPassword(path.join(tmp.dir, 'data'));
    for (const source of ['north', 'south']) await captureNow(sut.baseUrl, 'admin', adminPassword, source);
    browser = await launchBrowser();
    admin = await openAs(browser, sut.baseUrl, 'admin', adminPassword);
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  afterEach(() => {
    if (admin) expect(admin.problems).toEqual([]);
    if (carol) expect(carol.problems).toEqual([]);
  });

  it('adds a customer with a generated password, shown once', async () => {
    const { page } = admin;
    await visit(page, '#/users');
    expect(await texts(page.locator('#nav a'))).toEqual(['Sources', 'System', 'Users', 'Audit']);
    const form = page.locator('form.add-user');
    await form.locator('input[name="username"]').fill('carol');
    await form.locator('select[name="profile"]').selectOption('customer');
    await form.locator('button[type="submit"]').click();
    const secret = page.locator('input[data-secret="carol"]');
    await secret.waitFor();
    carolPassword = await secret.inputValue();
    expect(carolPassword).toMatch(/^\S{12,}$/);
    await page.locator('[data-user="carol"]').waitFor();
    await screenshots(page, 'users-new-password');

    // The password works, and carol sees nothing yet.
    carol = await openAs(browser, sut.baseUrl, 'carol', carolPassword);
    expect(await carolSees()).toEqual([]);
    expect(await carol.page.locator('main .empty').innerText()).toContain('No source');

    // A second add under the same name: the server's message, in the form.
    await form.locator('input[name="username"]').fill('carol');
    await form.locator('button[type="submit"]').click();
    await eventually(async () => expect(await form.locator('.form-error').innerText()).not.toBe(''));
  });

  it('grants a source to the customer in the UI; the customer then sees it, and not after the revoke', async () => {
    const { page } = admin;
    await visit(page, '#/users');
    const card = page.locator('[data-user="carol"]');
    await card.locator('.grant-form select[name="source"]').selectOption('south');
    await card.locator('.grant-form select[name="level"]').selectOption('view');
    await card.locator('.grant-form button[type="submit"]').click();
    await page.locator('[data-user="carol"] .chip[data-grant="south"]').waitFor();
    expect(await page.locator('[data-user="carol"] .chip[data-grant="south"]').innerText()).toContain('South bank · view');

    await eventually(async () => expect(await carolSees()).toEqual(['South bank']));
    await visit(carol!.page, '#/s/south');
    expect(await carol!.page.locator('.source-name').first().innerText()).toBe('South bank');
    await visit(carol!.page, '#/s/north');
    expect(await carol!.page.locator('main .error').innerText()).toContain('no source "north"');

    // Revoke, then grant again for what follows.
    await page.locator('[data-user="carol"] .chip[data-grant="south"] button').click();
    await eventually(async () => expect(await page.locator('[data-user="carol"] .chip[data-grant="south"]').count()).toBe(0));
    expect(await carolSees()).toEqual([]);
    await page.locator('[data-user="carol"] .grant-form select[name="source"]').selectOption('south');
    await page.locator('[data-user="carol"] .grant-form button[type="submit"]').click();
    await page.locator('[data-user="carol"] .chip[data-grant="south"]').waitFor();
    expect(await carolSees()).toEqual(['South bank']);
  });

  it('gives a group a grant and a member: the member sees the group\'s source at its level', async () => {
    const { page } = admin;
    await visit(page, '#/users');
    await page.locator('form.add-group input[name="name"]').fill('site-team');
    await page.locator('form.add-group button[type="submit"]').click();
    const group = page.locator('[data-group="site-team"]');
    await group.waitFor();
    await group.locator('select[name="member"]').selectOption('carol');
    await group.getByRole('button', { name: 'Add member' }).click();
    await eventually(async () => expect(await texts(page.locator('[data-group="site-team"] .chip span'))).toContain('carol'));
    await page.locator('[data-group="site-team"] .grant-form select[name="source"]').selectOption('north');
    await page.locator('[data-group="site-team"] .grant-form select[name="level"]').selectOption('download');
    await page.locator('[data-group="site-team"] .grant-form button[type="submit"]').click();
    await page.locator('[data-group="site-team"] .chip[data-grant="north"]').waitFor();
    // Carol's card says what she gets through groups.
    expect(await page.locator('[data-user="carol"]').innerText()).toContain('Through groups: North bank · download');
    await screenshots(page, 'users');

    expect(await carolSees()).toEqual(['North bank', 'South bank']);
    const me = await apiCall<{ sources: { id: string; level: string }[] }>(sut.baseUrl, 'carol', carolPassword, 'GET', '/api/me');
    expect(me.json.sources).toEqual([{ id: 'north', level: 'download' }, { id: 'south', level: 'view' }]);
  });

  it('changes a profile, resets a password and removes a user', async () => {
    const { page } = admin;
    await visit(page, '#/users');
    const form = page.locator('form.add-user');
    await form.locator('input[name="username"]').fill('dan');
    await form.locator('input[name="password"]').fill('a long enough password 1');
    await form.locator('button[type="submit"]').click();
    const dan = page.locator('[data-user="dan"]');
    await dan.waitFor();
    // No password shown when the maintainer chose it.
    expect(await page.locator('input[data-secret="dan"]').count()).toBe(0);

    await dan.locator('select[name="profile"]').selectOption('director');
    await eventually(async () => expect((await apiCall<{ user: { profile: string } }>(sut.baseUrl, 'admin', adminPassword, 'GET', '/api/users/dan')).json.user.profile).toBe('director'));

    await page.locator('[data-user="dan"]').getByRole('button', { name: 'Reset password' }).click();
    const secret = page.locator('input[data-secret="dan"]');
    await secret.waitFor();
    const fresh = await secret.inputValue();
    expect((await apiCall(sut.baseUrl, 'dan', fresh, 'GET', '/api/me')).status).toBe(200);
    expect((await apiCall(sut.baseUrl, 'dan', 'a long enough password 1', 'GET', '/api/me')).status).toBe(401);

    // Removal asks first (the helper accepts the confirm), then the card goes.
    await page.locator('[data-user="dan"]').getByRole('button', { name: 'Remove' }).click();
    await eventually(async () => expect(await page.locator('[data-user="dan"]').count()).toBe(0));
    // One cannot remove oneself from the UI.
    expect(await page.locator('[data-user="admin"]').getByRole('button', { name: 'Remove' }).isDisabled()).toBe(true);
  });

  it('shows the system health and the audit trail of what was done', async () => {
    const { page } = admin;
    await visit(page, '#/system');
    const main = page.locator('main');
    expect(await main.innerText()).toContain('test-box');
    expect(await main.innerText()).toContain('Europe/Paris');
    expect(await page.locator('.disk meter').count()).toBe(1);
    const target = page.locator('.target[data-target="hq"]');
    expect(await target.innerText()).toContain('127.0.0.1:');
    expect(await target.innerText()).toMatch(/Waiting\s+\d+ files?/);
    // The failed connection shows up as the target's last error.
    await eventually(async () => {
      await visit(page, '#/system');
      expect(await page.locator('.target[data-target="hq"]').innerText()).toContain('Last error');
    }, 20_000);
    await screenshots(page, 'system');

    await visit(page, '#/audit');
    await page.locator('table.audit tbody tr').first().waitFor();
    const actions = await texts(page.locator('table.audit tbody td:nth-child(3)'));
    for (const action of ['user.add', 'user.profile', 'user.passwd', 'user.remove']) expect(actions).toContain(action);
    expect(await page.locator('table.audit tbody').innerText()).toContain('user:admin');
    await screenshots(page, 'audit');

    // Filtered by action.
    await page.locator('form.filters input[name="action"]').fill('user.remove');
    await page.locator('form.filters button[type="submit"]').click();
    await eventually(async () => expect(await texts(page.locator('table.audit tbody td:nth-child(3)'))).toEqual(['user.remove']));
  });
});
