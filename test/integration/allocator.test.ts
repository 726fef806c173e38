/**
 * The daemon started as systemd/lapsebox.service starts it runs on jemalloc, which the
 * programs it runs do not inherit; without the library it says so and runs on glibc;
 * doctor tells which (issue 23: glibc's malloc held 49 MB the daemon had freed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { cli, freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess, basic, initialPassword } from '../helpers/daemon';
import { installFakeGphoto2 } from '../helpers/fake-gphoto2';
import type { DoctorReport } from '../../daemon/doctor/doctor';

const UNIT = path.join(__dirname, '..', '..', 'systemd', 'lapsebox.service');
const CANON = { model: 'Canon EOS 550D', port: 'usb:001,004', serial: '0270117385' };

/** The unit's Environment= lines, as systemd gives them to the daemon. */
function unitEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(UNIT, 'utf8').split('\n')) {
    const m = /^Environment=([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

describe('the memory allocator', () => {
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

  async function start(env: Record<string, string>) {
    const fake = await installFakeGphoto2(tmp.dir, { cameras: [CANON], captures: ['ok'] });
    const port = await freePort();
    const file = writeConfig({ dir: tmp.dir, port, sources: [{ id: 'north', camera: { driver: 'gphoto2', mode: 'cli', model: CANON.model, timeout: '10s' }, schedule: { every: '1h' }, timelapse: { daily: { enabled: false } } }] });
    sut = new DaemonProcess(file, port, { ...env, ...fake.env });
    await sut.start();
    return { fake, file };
  }

  async function doctorSays(file: string) {
    const result = await cli(['doctor', '--json', '--config', file]);
    const report = JSON.parse(result.stdout) as DoctorReport;
    return report.checks.find((c) => c.name === 'memory allocator');
  }

  it('runs the daemon on jemalloc as the unit starts it, and not the programs it runs', async () => {
    const env = unitEnvironment();
    expect(env).toMatchObject({ LD_PRELOAD: 'libjemalloc.so.2', MALLOC_CONF: expect.stringContaining('background_thread:true') });
    const { fake, file } = await start(env);
    expect(fs.readFileSync(`/proc/${sut!.pid}/maps`, 'utf8')).toMatch(/\/libjemalloc\.so\.2$/m);
    expect(sut!.logs('memory allocator')[0]).toMatchObject({ allocator: 'jemalloc' });

    const admin = { ...basic('admin', initialPassword(path.join(tmp.dir, 'data'))), 'content-type': 'application/json' };
    const res = await fetch(`${sut!.baseUrl}/api/sources/north/capture`, { method: 'POST', headers: admin, body: '{}' });
    expect(res.status).toBe(201);
    // gphoto2 ran without the daemon's preload.
    expect(fake.captures().map((c) => c.preload)).toEqual([null]);

    expect(await doctorSays(file)).toMatchObject({ verdict: 'ok', detail: 'jemalloc (the unit preloads it)' });
  });

  it('says so when the library is missing, and runs on glibc', async () => {
    const { file } = await start({ ...unitEnvironment(), LD_PRELOAD: '/nonexistent/libjemalloc.so.2' });
    const warnings = () => sut!.lines.filter((l) => String(l.msg).includes('is not installed'));
    await waitFor('the warning', () => warnings().length === 1);
    expect(warnings()[0]).toMatchObject({ level: 'warn', msg: expect.stringContaining("libjemalloc.so.2 is not installed: the daemon runs on glibc's malloc") });
    expect(fs.readFileSync(`/proc/${sut!.pid}/maps`, 'utf8')).not.toMatch(/libjemalloc/);
    expect(await doctorSays(file)).toMatchObject({ verdict: 'warn', detail: expect.stringContaining("the daemon runs on glibc's malloc"), fix: expect.stringContaining('apt-get install -y libjemalloc2') });
  });
});
