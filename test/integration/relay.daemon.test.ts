/**
 * The daemon as a child process with a configured power relay it cannot open
 * (this machine has no sysfs GPIO, as a laptop, a container or a Pi kernel without
 * it): a warning naming the line and the fix, a relay-unavailable alert at the
 * webhook, and GET /api/system and `lapsebox status` saying why and the fix; a
 * reload that opens the relay (here a simulated one) clears all of it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AlertMessage } from '../../daemon/domain/alerts';
import type { RelayStatus } from '../../daemon/status.service';
import { DaemonProcess, basic, initialPassword } from '../helpers/daemon';
import { cli, freePort, tempDir, waitFor, writeConfig, type TestConfigOptions } from '../helpers/env';
import { startReceiver } from '../helpers/alert-receivers';

/** The daemon opens /sys/class/gpio itself: where it exists, the relay would open (or a real pin move). */
const GPIO_HERE = fs.existsSync('/sys/class/gpio/export');
const REASON = '/sys/class/gpio/export does not exist (no sysfs GPIO on this machine)';
const FIX = 'on a Raspberry Pi, check the kernel has sysfs GPIO; elsewhere set recovery.powerCycle.simulate: true';
const MESSAGE = `GPIO 17 (sysfs line 17) cannot be opened: ${REASON}; ${FIX}`;

jest.setTimeout(60_000);

(GPIO_HERE ? describe.skip : describe)('a configured relay the daemon cannot open (skipped where /sys/class/gpio/export exists)', () => {
  const tmp = tempDir();
  let sut: DaemonProcess | null = null;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
  });

  afterAll(async () => {
    await sut?.kill();
    await receiver.close();
    tmp.cleanup();
  });

  it('is a warning, an alert, and a fault in /api/system and lapsebox status, until a reload opens it', async () => {
    const port = await freePort();
    const north = (simulate?: boolean) => ({
      id: 'north',
      camera: { driver: 'testpattern', width: 320, height: 240, timeout: '10s' },
      schedule: { every: '1h' },
      recovery: { powerCycle: { gpio: 17, ...(simulate === undefined ? {} : { simulate }) } },
    });
    const options: TestConfigOptions = {
      dir: tmp.dir,
      port,
      sources: [north()],
      // lateAfter sets how often alerts are checked (a quarter of it: 2.5 s); no slot is due within the test.
      extra: { alerts: { webhook: { url: receiver.url }, lateAfter: '10s', quietPeriod: '0s', dailyReport: { enabled: false } } },
    };
    const configFile = writeConfig(options);
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    const auth = basic('admin', initialPassword(path.join(tmp.dir, 'data')));
    const system = async () => (await (await fetch(`${sut!.baseUrl}/api/system`, { headers: auth })).json()) as { relays: RelayStatus[]; alerts: { key: string; message: string }[] };

    // The warning names the line and the fix.
    expect(sut.lines.filter((l) => l.level === 'warn' && l['gpio'] === 17).map((l) => l.msg)).toEqual([`relay ${MESSAGE}`]);

    const raised = await waitFor('relay-unavailable told', () => receiver.requests.map((r) => JSON.parse(r.body) as AlertMessage).find((m) => m.topic === 'relay-unavailable:north'), 20_000);
    expect(raised).toMatchObject({ kind: 'relay-unavailable', status: 'raised', severity: 'error', sourceId: 'north', title: 'relay unavailable: north' });
    expect(raised.text.split('\n')[0]).toBe(`north: the power relay on GPIO 17 (sysfs line 17) cannot be opened: ${REASON}; ${FIX}. Pictures go on, but a hung camera is not power-cycled`);

    const unavailable = { sourceId: 'north', gpio: 17, state: 'unavailable', unavailable: { line: 17, reason: REASON, fix: FIX, since: expect.any(String), message: MESSAGE } };
    const before = await system();
    expect(before.relays).toEqual([unavailable]);
    expect(before.alerts.map((a) => a.key)).toEqual(['relay-unavailable:north']);

    const json = await cli(['status', '--json', '--config', configFile]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { relays: RelayStatus[]; alerts: { key: string }[] };
    expect(report.relays).toEqual([unavailable]);
    expect(report.alerts.map((a) => a.key)).toEqual(['relay-unavailable:north']);
    const text = await cli(['status', '--config', configFile]);
    expect(text.stdout).toMatch(new RegExp(`^power relays:\\n  north: relay unavailable since [\\d-]+ [\\d:]+: ${escape(MESSAGE)}; no power cycle for this camera$`, 'm'));

    // A reload that opens the relay clears the fault at once, and the alert recovers.
    writeConfig({ ...options, sources: [north(true)] });
    process.kill(sut.pid, 'SIGHUP');
    await waitFor('the relay open after the reload', async () => (await system()).relays[0]?.state === 'simulated');
    expect((await system()).relays).toEqual([{ sourceId: 'north', gpio: 17, state: 'simulated', unavailable: null }]);
    await waitFor('the recovery told', () => receiver.requests.some((r) => (JSON.parse(r.body) as AlertMessage).status === 'recovered'), 20_000);
    expect(receiver.requests.map((r) => JSON.parse(r.body) as AlertMessage).map((m) => `${m.status} ${m.topic}`)).toEqual(['raised relay-unavailable:north', 'recovered relay-unavailable:north']);
    expect((await system()).alerts).toEqual([]);
    expect((await cli(['status', '--config', configFile])).stdout).toMatch(/^ {2}north: GPIO 17 simulated \(recovery\.powerCycle\.simulate\)$/m);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
