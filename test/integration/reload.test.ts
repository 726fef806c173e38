import fs from 'node:fs';
import path from 'node:path';
import { freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess, basic, initialPassword } from '../helpers/daemon';
import { installFakeGphoto2 } from '../helpers/fake-gphoto2';
import { startReceiver } from '../helpers/alert-receivers';
import { isAlive } from '../helpers/processes';
import type { AlertMessage } from '../../daemon/domain/alerts';

const CANON = { model: 'Canon EOS 550D', port: 'usb:001,005', serial: '0270117385' };

describe('the running daemon: reload (SIGHUP) and stop (SIGTERM)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess | undefined;

  beforeEach(() => {
    tmp = tempDir();
  });

  afterEach(async () => {
    await sut?.kill();
    sut = undefined;
    tmp.cleanup();
  });

  it('keeps the running configuration when the file has errors, and applies a valid one at once', async () => {
    const port = await freePort();
    const hourly = [{ id: 'cam', camera: { driver: 'testpattern', width: 160, height: 120 }, schedule: { every: '1h' } }];
    const file = writeConfig({ dir: tmp.dir, port, sources: hourly });
    sut = new DaemonProcess(file, port);
    await sut.start();
    const admin = basic('admin', initialPassword(path.join(tmp.dir, 'data')));
    const every = async () => ((await (await fetch(`${sut!.baseUrl}/api/sources/cam`, { headers: admin })).json()) as { every: string }).every;
    expect(await every()).toBe('1h');

    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('every: 1h', 'every: often'));
    process.kill(sut.pid, 'SIGHUP');
    const refused = await waitFor('the refusal', () => sut!.logs('configuration not reloaded: the file has errors; the running configuration stays')[0]);
    expect(JSON.stringify(refused['problems'])).toContain('sources[0].schedule.every');
    expect(await every()).toBe('1h');

    writeConfig({ dir: tmp.dir, port, sources: [{ ...hourly[0], schedule: { every: '1s' } }] });
    process.kill(sut.pid, 'SIGHUP');
    await waitFor('the reload', () => sut!.logs('configuration reloaded').length === 1);
    expect(await every()).toBe('1s');
    await waitFor('a capture on the new schedule', () => sut!.logs('picture captured').length >= 2);
  });

  it('alerts a refused reload (webhook), and tells its recovery when a valid file is applied', async () => {
    const receiver = await startReceiver();
    try {
      const port = await freePort();
      const sources = [{ id: 'cam', camera: { driver: 'testpattern', width: 160, height: 120 }, schedule: { every: '1h' } }];
      const alerts = { webhook: { url: receiver.url }, quietPeriod: '0s', dailyReport: { enabled: false } };
      const file = writeConfig({ dir: tmp.dir, port, sources, extra: { alerts } });
      sut = new DaemonProcess(file, port);
      await sut.start();
      const messages = () => receiver.requests.map((r) => JSON.parse(r.body) as AlertMessage).filter((m) => m.topic === 'config-invalid');

      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('every: 1h', 'every: often'));
      process.kill(sut.pid, 'SIGHUP');
      const raised = await waitFor('config-invalid told', () => messages().find((m) => m.status === 'raised'));
      expect(raised).toMatchObject({ kind: 'config-invalid', severity: 'error' });
      expect(raised.text).toContain(`the configuration file ${file} has errors and was not applied`);
      expect(raised.text).toContain('sources[0].schedule.every');
      expect(raised.text).toContain('sudo systemctl reload lapsebox');
      const admin = basic('admin', initialPassword(path.join(tmp.dir, 'data')));
      const system = (await (await fetch(`${sut.baseUrl}/api/system`, { headers: admin })).json()) as { alerts: { key: string }[] };
      expect(system.alerts.map((a) => a.key)).toEqual(['config-invalid']);

      writeConfig({ dir: tmp.dir, port, sources, extra: { alerts } });
      process.kill(sut.pid, 'SIGHUP');
      await waitFor('the recovery told', () => messages().some((m) => m.status === 'recovered'));
      expect(messages().map((m) => m.status)).toEqual(['raised', 'recovered']);
    } finally {
      await receiver.close();
    }
  });

  it('drops no capture: a slow DSLR capture in flight ends and is stored with the old settings while the new ones apply', async () => {
    // 8 s: longer than the 5 s a stopping daemon grants (6 s then), which a reload used to impose too.
    const fake = await installFakeGphoto2(tmp.dir, { cameras: [CANON], captures: ['slow:8000', 'ok'] });
    const port = await freePort();
    const source = { id: 'north', camera: { driver: 'gphoto2', mode: 'cli', model: CANON.model, timeout: '30s' }, schedule: { every: '1h' }, recovery: { retries: 0 } };
    const file = writeConfig({ dir: tmp.dir, port, sources: [source] });
    sut = new DaemonProcess(file, port, fake.env);
    await sut.start();
    const admin = { ...basic('admin', initialPassword(path.join(tmp.dir, 'data'))), 'content-type': 'application/json' };
    const capture = fetch(`${sut.baseUrl}/api/sources/north/capture`, { method: 'POST', headers: admin, body: '{}' });
    await waitFor('the slow capture under way', () => fake.captures().length === 1);

    writeConfig({ dir: tmp.dir, port, sources: [{ ...source, schedule: { every: '2h' } }] });
    process.kill(sut.pid, 'SIGHUP');
    // The reload does not wait for the camera: the new schedule is live at once.
    await waitFor('the reload', () => sut!.logs('configuration reloaded').length === 1, 5_000);
    expect(sut.logs('captures in flight finish with the previous configuration')[0]).toMatchObject({ sources: ['north'] });
    const sourceInfo = (await (await fetch(`${sut.baseUrl}/api/sources/north`, { headers: admin })).json()) as { every: string; busy?: boolean };
    expect(sourceInfo.every).toBe('2h');

    const answer = await capture;
    expect(answer.status).toBe(201);
    expect(sut.logs('picture captured')).toHaveLength(1);
    expect(sut.lines.filter((l) => /abandoned|aborted/.test(String(l.msg)) || /abandoned/.test(String(l['error'] ?? '')))).toEqual([]);
    // The camera is the new capture service's now.
    const again = await fetch(`${sut.baseUrl}/api/sources/north/capture`, { method: 'POST', headers: admin, body: '{}' });
    expect(again.status).toBe(201);
    expect(fake.captures().map((c) => c.outcome)).toEqual(['slow:8000', 'ok']);
  });

  describe('stopping (SIGTERM)', () => {
    const startHung = async () => {
      const fake = await installFakeGphoto2(tmp.dir, { cameras: [CANON], captures: ['hang'] });
      const port = await freePort();
      const file = writeConfig({ dir: tmp.dir, port, sources: [{ id: 'north', camera: { driver: 'gphoto2', mode: 'cli', model: CANON.model, timeout: '60s' }, schedule: { every: '1h' }, recovery: { retries: 0 } }] });
      sut = new DaemonProcess(file, port, fake.env);
      await sut.start();
      const admin = { ...basic('admin', initialPassword(path.join(tmp.dir, 'data'))), 'content-type': 'application/json' };
      void fetch(`${sut.baseUrl}/api/sources/north/capture`, { method: 'POST', headers: admin, body: '{}' }).catch(() => undefined);
      await waitFor('the hung capture under way', () => fake.captures()[0]?.childPid);
      return fake;
    };

    it('with a camera hung mid-capture, exits cleanly within 10 s, discarding the capture whole and leaving no process', async () => {
      const fake = await startHung();
      const { code, ms } = await sut!.stop('SIGTERM');
      expect(code).toBe(0);
      expect(ms).toBeLessThan(10_000);
      expect(sut!.logs('lapsebox stopped')).toHaveLength(1);
      const hung = fake.captures()[0]!;
      await waitFor('the hung gphoto2 gone', () => !isAlive(hung.pid) && !isAlive(hung.childPid!), 2_000);
      const pictures = path.join(tmp.dir, 'data', 'sources', 'north', 'pictures');
      expect(fs.existsSync(pictures) ? (fs.readdirSync(pictures, { recursive: true }) as string[]).filter((f) => f.endsWith('.jpg') || f.includes('.tmp-')) : []).toEqual([]);
    });

    it('a second signal while stopping exits at once, and still leaves no camera process behind', async () => {
      const fake = await startHung();
      const child = sut!;
      const stopped = child.stop('SIGTERM');
      await waitFor('stopping', () => child.logs('stopping').length === 1);
      const second = Date.now();
      process.kill(child.pid, 'SIGINT');
      const { code } = await stopped;
      expect(Date.now() - second).toBeLessThan(1_500);
      expect(code).toBe(1);
      expect(child.logs('second signal while stopping: exiting now')).toHaveLength(1);
      const hung = fake.captures()[0]!;
      await waitFor('the hung gphoto2 gone', () => !isAlive(hung.pid) && !isAlive(hung.childPid!), 2_000);
    });
  });
});
