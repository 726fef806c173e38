/**
 * A DSLR in a session, as people see it: the maintainer's gallery card shows the camera the
 * session read (model, serial, battery, exposure) and follows it on the page's own refresh;
 * a customer sees none of it. The camera is libgphoto2's virtual one (test/helpers/vcamera.ts).
 */
import path from 'node:path';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { cli, freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { addUser, apiCall, captureNow, eventually, launchBrowser, openAs, screenshots, visit, type UserPage } from '../helpers/browser';
import { fixtureFolder, vcameraEnv } from '../helpers/vcamera';

jest.setTimeout(90_000);

const PASSWORD = 'correct horse battery staple';
const GALLERY_REFRESH_MS = 60_000;

describe('UI: a DSLR kept open in a session', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;
  let browser: Browser;
  let maintainer: UserPage;
  let customer: UserPage;
  let configFile: string;

  beforeAll(async () => {
    tmp = tempDir('lapsebox-ui-dslr-');
    // Noise: a JPEG the size of a photo's, over the drivers' floor for a real shot.
    const jpeg = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#888', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg({ quality: 90 }).toBuffer();
    const fixtures = fixtureFolder(path.join(tmp.dir, 'fx'), [jpeg, jpeg]);
    const port = await freePort();
    configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [
        {
          id: 'dslr',
          name: 'Tower DSLR',
          camera: { driver: 'gphoto2', model: 'Nikon DSC D750', settings: { shutterspeed: '0.0500s' }, timeout: '20s' },
          // One slot a day, at midnight: the pictures are the ones asked for.
          schedule: { every: '1d' },
          timelapse: { daily: { enabled: false, width: 320, preset: 'ultrafast', deflicker: false } },
        },
      ],
    });
    sut = new DaemonProcess(configFile, port, vcameraEnv(fixtures));
    await sut.start();
    await addUser(configFile, 'mia', 'maintainer', PASSWORD);
    await addUser(configFile, 'cora', 'customer', PASSWORD, { dslr: 'view' });
    browser = await launchBrowser();
    maintainer = await openAs(browser, sut.baseUrl, 'mia', PASSWORD);
    customer = await openAs(browser, sut.baseUrl, 'cora', PASSWORD);
    await maintainer.page.clock.install();
  });

  afterAll(async () => {
    await browser?.close();
    await sut?.kill();
    tmp?.cleanup();
  });

  afterEach(() => {
    if (maintainer) expect(maintainer.problems).toEqual([]);
    if (customer) expect(customer.problems).toEqual([]);
  });

  const cameraLine = (page: UserPage['page']) => page.locator('.card', { hasText: 'Tower DSLR' }).locator('dd.camera');

  it('shows the camera the session read, on the page\'s own refresh', async () => {
    const { page } = maintainer;
    await visit(page, '#/');
    // Before the first picture no session is open: the card says so, nothing made up.
    expect(await cameraLine(page).innerText()).toBe('session not opened yet');

    await captureNow(sut.baseUrl, 'mia', PASSWORD, 'dslr');
    // Nothing moves until the page refreshes by itself.
    expect(await cameraLine(page).innerText()).toBe('session not opened yet');
    await page.clock.fastForward(GALLERY_REFRESH_MS);
    // "read ..." is relative to the page's clock, which fastForward moved a minute ahead.
    await eventually(async () => expect(await cameraLine(page).innerText()).toMatch(/^Nikon DSC D750 · serial 0\.1 · battery 50% · 0\.0500s f\/2\.8 EV 0 \(read (just now|\d+ s ago|1 min ago)\)$/));
    await screenshots(page, 'dslr-session');

    // The API says the same, to an editor.
    const api = await apiCall<{ camera: Record<string, unknown> }>(sut.baseUrl, 'mia', PASSWORD, 'GET', '/api/sources/dslr');
    expect(api.json.camera).toMatchObject({ access: 'session', reason: null, model: 'Nikon DSC D750', port: 'usb:001,001', serial: '0.1', battery: '50%', exposure: { shutterspeed: '0.0500s', 'f-number': 'f/2.8' } });
  });

  it('lapsebox cameras reads the camera through the session, not with a second program', async () => {
    const r = await cli(['cameras', '--config', configFile], { env: vcameraEnv(path.join(tmp.dir, 'fx')) });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Nikon DSC D750\s+usb:001,001\s+0\.1\s+dslr/);
    expect(r.stdout).toMatch(/dslr\s+session\s+Nikon DSC D750\s+0\.1\s+50%\s+shutterspeed=0\.0500s f-number=f\/2\.8/);
    // The session is still the one that took the picture: listing did not end it.
    expect(sut.lines.filter((l) => l.msg.includes('session opened'))).toHaveLength(1);
  });

  it('shows a customer no camera details', async () => {
    const { page } = customer;
    await visit(page, '#/');
    await page.locator('.card', { hasText: 'Tower DSLR' }).waitFor();
    expect(await cameraLine(page).count()).toBe(0);
    const api = await apiCall<{ camera: unknown }>(sut.baseUrl, 'cora', PASSWORD, 'GET', '/api/sources/dslr');
    expect(api.json.camera).toBeNull();
  });
});
