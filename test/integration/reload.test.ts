import fs from 'node:fs';
import path from 'node:path';
import { freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess, basic, initialPassword } from '../helpers/daemon';

describe('configuration reload (SIGHUP)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sut: DaemonProcess;

  beforeAll(() => {
    tmp = tempDir();
  });

  afterAll(async () => {
    await sut?.kill();
    tmp.cleanup();
  });

  it('keeps the running configuration when the file has errors, and applies a valid one at once', async () => {
    const port = await freePort();
    const hourly = [{ id: 'cam', camera: { driver: 'testpattern', width: 160, height: 120 }, schedule: { every: '1h' } }];
    const file = writeConfig({ dir: tmp.dir, port, sources: hourly });
    sut = new DaemonProcess(file, port);
    await sut.start();
    const admin = basic('admin', initialPassword(path.join(tmp.dir, 'data')));
    const every = async () => ((await (await fetch(`${sut.baseUrl}/api/sources/cam`, { headers: admin })).json()) as { every: string }).every;
    expect(await every()).toBe('1h');

    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('every: 1h', 'every: often'));
    process.kill(sut.pid, 'SIGHUP');
    const refused = await waitFor('the refusal', () => sut.logs('configuration not reloaded: the file has errors; the running configuration stays')[0]);
    expect(JSON.stringify(refused['problems'])).toContain('sources[0].schedule.every');
    expect(await every()).toBe('1h');

    writeConfig({ dir: tmp.dir, port, sources: [{ ...hourly[0], schedule: { every: '1s' } }] });
    process.kill(sut.pid, 'SIGHUP');
    await waitFor('the reload', () => sut.logs('configuration reloaded').length === 1);
    expect(await every()).toBe('1s');
    await waitFor('a capture on the new schedule', () => sut.logs('picture captured').length >= 2);
  });
});
