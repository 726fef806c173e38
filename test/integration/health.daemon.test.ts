/**
 * The daemon as a child process watching itself: an IP camera (a local HTTP
 * server the test switches off and on) dies and comes back; the webhook receiver
 * and the SMTP server hear "camera down" and its recovery once each; /metrics
 * and /api/system say the same thing as they go.
 */
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { AlertMessage } from '../../daemon/domain/alerts';
import { DaemonProcess, basic, initialPassword } from '../helpers/daemon';
import { freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { startIpCamera, type IpCamera } from '../helpers/ip-camera';
import { startReceiver, startSmtp } from '../helpers/alert-receivers';

/** `name{labels} value` lines of the exposition text, for one metric. */
function metric(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('health and alerts of the running daemon', () => {
  const tmp = tempDir();
  let sut: DaemonProcess | null = null;
  let camera: IpCamera;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;

  beforeAll(async () => {
    camera = await startIpCamera();
    receiver = await startReceiver();
    smtp = await startSmtp();
  });

  afterAll(async () => {
    await sut?.stop();
    await Promise.all([camera.close(), receiver.close(), smtp.close()]);
    tmp.cleanup();
  });

  it('tells a dead camera and its return once each, and /metrics and /api/system follow', async () => {
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [{ id: 'gate', name: 'Site gate', camera: { driver: 'http', url: camera.url, timeout: '2s' }, schedule: { every: '1s' }, recovery: { retries: 0 } }],
      extra: {
        alerts: {
          webhook: { url: receiver.url },
          email: { smtp: { host: '127.0.0.1', port: smtp.port }, from: 'box@example.com', to: ['ops@example.com'] },
          lateAfter: '10s',
          quietPeriod: '0s',
          dailyReport: { enabled: false },
        },
      },
    });
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    const auth = basic('admin', initialPassword(path.join(tmp.dir, 'data')));
    const scrape = async () => {
      const res = await fetch(`${sut!.baseUrl}/metrics`, { headers: auth });
      expect(res.status).toBe(200);
      return res.text();
    };
    const captures = async () => metric(await scrape(), 'lapsebox_captures_total', 'source="gate"') ?? 0;
    await waitFor('captures counted in /metrics', async () => (await captures()) >= 2);

    // The text is valid Prometheus exposition (the real promtool says so).
    const text = await scrape();
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${promtool.stdout}${promtool.stderr}`.trim()).toBe('');
    expect(promtool.status).toBe(0);
    expect(metric(text, 'lapsebox_disk_free_bytes')).toBeGreaterThan(0);
    expect(metric(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).toMatch(/^lapsebox_capture_duration_seconds_count\{source="gate"\} [1-9]/m);

    camera.set(false);
    const raised = await waitFor('camera-down told', () => receiver.requests.map((r) => JSON.parse(r.body) as AlertMessage).find((m) => m.topic === 'camera-down:gate' && m.status === 'raised'), 30_000);
    expect(raised).toMatchObject({ kind: 'camera-down', severity: 'error', sourceId: 'gate', title: 'camera down: gate (Site gate)' });
    expect(raised.text).toMatch(/camera gate \(Site gate\) is down since .*503/);
    const down = await scrape();
    expect(metric(down, 'lapsebox_camera_down', 'source="gate"')).toBe(1);
    expect(metric(down, 'lapsebox_capture_failures_total', 'source="gate"')).toBeGreaterThanOrEqual(3);
    expect(metric(down, 'lapsebox_alerts_active', 'kind="camera-down",severity="error"')).toBe(1);
    const system = (await (await fetch(`${sut.baseUrl}/api/system`, { headers: auth })).json()) as { alerts: { key: string }[]; health: { memory: { totalBytes: number } } | null };
    expect(system.alerts.map((a) => a.key)).toEqual(['camera-down:gate']);
    expect(system.health?.memory.totalBytes).toBeGreaterThan(0);

    const before = await captures();
    camera.set(true);
    await waitFor('recovery told', () => receiver.requests.some((r) => (JSON.parse(r.body) as AlertMessage).status === 'recovered'), 30_000);
    expect(await captures()).toBeGreaterThan(before);
    const told = receiver.requests.map((r) => JSON.parse(r.body) as AlertMessage).map((m) => `${m.status} ${m.topic}`);
    // Down and back, once each: "late" is not told on top of "down".
    expect(told).toEqual(['raised camera-down:gate', 'recovered camera-down:gate']);
    await waitFor('both mails', () => smtp.mails.length >= 2);
    expect(smtp.mails.map((m) => m.headers.get('subject'))).toEqual(['[lapsebox test-box] RAISED camera down: gate (Site gate)', '[lapsebox test-box] RECOVERED camera down: gate (Site gate)']);
  });
});

