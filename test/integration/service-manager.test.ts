import fs from 'node:fs';
import path from 'node:path';
import { createSocket, type UnixDgramSocket } from 'unix-dgram';
import { freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';

/** True when the process is stopped (state T in /proc). */
function isStopped(pid: number): boolean {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
}

/** systemd's side of sd_notify: a Unix datagram socket that keeps what it hears, with the time. */
class NotifyReceiver {
  readonly messages: { at: number; fields: Record<string, string> }[] = [];
  readonly #socket: UnixDgramSocket;
  constructor(readonly path: string) {
    this.#socket = createSocket('unix_dgram', (buf) => {
      const fields = Object.fromEntries(
        buf
          .toString()
          .split('\n')
          .filter(Boolean)
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      this.messages.push({ at: Date.now(), fields });
    });
    this.#socket.bind(path);
  }

  with(field: string, value?: string) {
    return this.messages.filter((m) => (value === undefined ? field in m.fields : m.fields[field] === value));
  }

  close(): void {
    this.#socket.close();
  }
}

describe('the daemon under systemd (sd_notify on a test socket)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let receiver: NotifyReceiver;
  let sut: DaemonProcess;

  beforeAll(() => {
    tmp = tempDir();
    receiver = new NotifyReceiver(path.join(tmp.dir, 'notify.sock'));
  });

  afterAll(async () => {
    await sut?.kill();
    receiver.close();
    tmp.cleanup();
  });

  it('says READY=1 once it serves, pings the watchdog from its event loop, reloads and stops as systemd expects', async () => {
    const port = await freePort();
    const file = writeConfig({ dir: tmp.dir, port, sources: [{ id: 'cam', camera: { driver: 'testpattern', width: 160, height: 120 }, schedule: { every: '1h' } }] });
    // WatchdogSec=600ms: a ping every 300 ms.
    sut = new DaemonProcess(file, port, { NOTIFY_SOCKET: receiver.path, WATCHDOG_USEC: '600000' });
    const starting = sut.start();

    // READY=1 only once it serves: the web answers at the moment READY arrives.
    const ready = await waitFor('READY=1', () => receiver.with('READY', '1')[0], 20_000);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(ready.fields['STATUS']).toBe(`running: 1 source, web on 127.0.0.1:${port}`);
    await starting;
    expect(sut.logs('systemd watchdog on')[0]).toMatchObject({ module: 'daemon', pingEveryMs: 300 });

    // Pings keep coming, about every 300 ms.
    const from = Date.now();
    await new Promise((r) => setTimeout(r, 1_500));
    const pings = receiver.with('WATCHDOG', '1').filter((m) => m.at >= from && m.at < from + 1_500);
    expect(pings.length).toBeGreaterThanOrEqual(3);
    expect(pings.length).toBeLessThanOrEqual(7);

    // A stopped event loop (SIGSTOP stands for a blocked one) sends nothing: systemd would restart it.
    process.kill(sut.pid, 'SIGSTOP');
    await waitFor('the daemon stopped', () => isStopped(sut!.pid));
    // What it sent before it stopped is in the socket already: let it in, then count.
    await new Promise((r) => setTimeout(r, 500));
    const beforeFreeze = receiver.with('WATCHDOG', '1').length;
    await new Promise((r) => setTimeout(r, 1_200));
    const afterFreeze = receiver.with('WATCHDOG', '1').length;
    process.kill(sut.pid, 'SIGCONT');
    expect(afterFreeze).toBe(beforeFreeze);
    const thawedAt = Date.now();
    await waitFor('pings after SIGCONT', () => receiver.with('WATCHDOG', '1').some((m) => m.at > thawedAt));

    // SIGHUP (systemctl reload): RELOADING=1 with the monotonic time, then READY=1 again.
    const before = receiver.messages.length;
    process.kill(sut.pid, 'SIGHUP');
    await waitFor('READY=1 after the reload', () => receiver.messages.slice(before).some((m) => m.fields['READY'] === '1'));
    const reloadMessages = receiver.messages.slice(before).filter((m) => !('WATCHDOG' in m.fields));
    expect(reloadMessages[0]!.fields).toMatchObject({ RELOADING: '1', STATUS: 'reloading the configuration' });
    expect(Number(reloadMessages[0]!.fields['MONOTONIC_USEC'])).toBeGreaterThan(0);
    expect(reloadMessages[1]!.fields).toMatchObject({ READY: '1', STATUS: expect.stringMatching(/^running: 1 source/) });

    // A reload refused for a bad file still ends with READY=1, and says so in the status.
    const mark = receiver.messages.length;
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('every: 1h', 'every: sometimes'));
    process.kill(sut.pid, 'SIGHUP');
    const refused = await waitFor('READY=1 after the refused reload', () => receiver.messages.slice(mark).find((m) => m.fields['READY'] === '1'));
    expect(refused.fields['STATUS']).toContain('the last reload was refused: the configuration file has errors');

    // SIGTERM: STOPPING=1 at once, then a clean exit.
    const stopped = await sut.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(receiver.with('STOPPING', '1')).toHaveLength(1);
  });

  it('warns about an abstract notify socket it cannot reach, and runs without the watchdog', async () => {
    const port = await freePort();
    const dir = path.join(tmp.dir, 'abstract');
    fs.mkdirSync(dir);
    const file = writeConfig({ dir, port });
    sut = new DaemonProcess(file, port, { NOTIFY_SOCKET: '@/org/lapsebox/test', WATCHDOG_USEC: '600000' });
    await sut.start();
    expect(sut.logs('NOTIFY_SOCKET is an abstract socket, which this build cannot reach: systemd will not hear READY=1; use Type=simple for this unit')).toHaveLength(1);
    expect(sut.logs('systemd watchdog on')).toHaveLength(0);
    expect((await sut.stop('SIGTERM')).code).toBe(0);
  });
});
