/**
 * `lapsebox fleet` (the built CLI) against a real mosquitto on loopback, with a password
 * file and an ACL: each box may write only under its own id, the operator's login
 * `fleet` may read the whole prefix. The boxes are test clients publishing the retained
 * shapes of daemon/mqtt/payloads.ts; the test with three real daemons is in
 * mqtt.daemon.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { MqttClient } from 'mqtt';
import { CLI, cli, tempDir, waitFor } from '../helpers/env';
import { connectClient, startBroker, stopBroker, type TestBroker } from '../helpers/mqtt';
import type { BoxState, SourceState } from '../../daemon/mqtt/payloads';

const BOXES = ['box-a', 'box-b', 'box-c'];
const PASSWORDS: Record<string, string> = { 'box-a': 'pw-a-1', 'box-b': 'pw-b-2', 'box-c': 'pw-c-3', fleet: 'pw-fleet' };
const ACL = ['pattern readwrite lapsebox/%u/#', 'user fleet', 'topic read lapsebox/#'].join('\n');

function boxState(id: string, now: number): BoxState {
  return {
    box: id,
    name: `Box ${id}`,
    version: '1.0.0',
    at: new Date(now).toISOString(),
    onlineSince: new Date(now - 3_600_000).toISOString(),
    uptimeSeconds: 3_600,
    intervalSeconds: 60,
    url: null,
    disk: { freeBytes: 20e9, totalBytes: 32e9, freePercent: 62 },
    temperatureC: 48,
    power: null,
    clockSynchronized: true,
    capturePaused: false,
    problem: false,
    alerts: { open: 0, errors: 0, warnings: 0, list: [] },
    sync: { files: 3, bytes: 1_500_000, oldest: new Date(now - 600_000).toISOString(), targets: [] },
    sources: ['north'],
  };
}

function sourceState(now: number): SourceState {
  return {
    source: 'north',
    name: 'North',
    at: new Date(now).toISOString(),
    enabled: true,
    camera: 'ok',
    lastCapture: new Date(now - 60_000).toISOString(),
    lastPictureId: 12,
    nextSlot: new Date(now + 240_000).toISOString(),
    every: '5m',
    failuresInRow: 0,
    picturesToday: 30,
    late: false,
    lastError: null,
    publicUrl: null,
  };
}

describe('lapsebox fleet on a real broker', () => {
  let tmp: ReturnType<typeof tempDir>;
  let broker: TestBroker;
  const clients = new Map<string, MqttClient>();
  let passwordFile: string;
  // No box configuration on this machine: only the options name the broker.
  const env = () => ({ LAPSEBOX_CONFIG: path.join(tmp.dir, 'no-such.yaml') });
  const args = (extra: string[] = []) => ['fleet', '--url', broker.url, '--username', 'fleet', '--password-file', passwordFile, ...extra];

  beforeAll(async () => {
    tmp = tempDir();
    broker = await startBroker({ users: PASSWORDS, acl: ACL });
    passwordFile = path.join(tmp.dir, 'fleet.password');
    fs.writeFileSync(passwordFile, `${PASSWORDS['fleet']}\nignored second line\n`, { mode: 0o600 });
    for (const box of BOXES) clients.set(box, await connectClient(broker.url, { username: box, password: PASSWORDS[box]! }));
  });

  afterAll(async () => {
    await Promise.all([...clients.values()].map((c) => c.endAsync()));
    await stopBroker(broker);
    tmp?.cleanup();
  });

  /** Every box publishes its retained availability, state and source state, as a daemon does; fresh times. */
  async function publishFleet(offline: string[] = []): Promise<void> {
    const now = Date.now();
    for (const box of BOXES) {
      const client = clients.get(box)!;
      const publish = (topic: string, payload: string) => client.publishAsync(`lapsebox/${box}/${topic}`, payload, { qos: 1, retain: true });
      await publish('state', JSON.stringify(boxState(box, now)));
      await publish('north/state', JSON.stringify(sourceState(now)));
      await publish('availability', offline.includes(box) ? 'offline' : 'online');
    }
  }

  it('lists the three boxes with the offline one first, flags it and exits 1', async () => {
    await publishFleet(['box-c']);
    const result = await cli(args(), { env: env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^BOX\s+STATUS\s+SOURCES\s+DISK\s+BACKLOG\s+ALERTS$/);
    expect(lines[1]).toMatch(/^box-c\s+OFFLINE, last seen \d+ s ago\s+north \d+ s ago\s+62% free \(20\.0 GB\)\s+3 files, 2 MB, oldest 10 min ago\s+none$/);
    expect(lines[2]).toMatch(/^box-a\s+online since 60 min ago/);
    expect(lines[3]).toMatch(/^box-b\s+online since 60 min ago/);
    expect(result.stdout).toContain('  box-c: offline, last seen');
    expect(lines.at(-2)).toBe('3 boxes: 2 online, 1 offline; no late source');
  });

  it('exits 0 with every box online and fresh', async () => {
    await publishFleet();
    const result = await cli(args(), { env: env() });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('needs a hand');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('3 boxes: 3 online, 0 offline; no late source');
  });

  it('prints the rows as JSON with --json', async () => {
    await publishFleet(['box-b']);
    const result = await cli(args(['--json']), { env: env() });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { broker: string; prefix: string; at: string; boxes: Record<string, unknown>[] };
    expect(report).toMatchObject({ broker: broker.url, prefix: 'lapsebox', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(report.boxes.map((b) => [b['id'], b['online']])).toEqual([['box-b', false], ['box-a', true], ['box-c', true]]);
    expect(report.boxes[1]).toMatchObject({
      name: 'Box box-a',
      stale: false,
      severity: 'ok',
      disk: { freePercent: 62, freeBytes: 20e9 },
      backlog: { files: 3, bytes: 1_500_000 },
      alerts: { open: 0, errors: 0, messages: [] },
      sources: [{ id: 'north', name: 'North', camera: 'ok', late: false, enabled: true, ageSeconds: expect.any(Number) }],
      problems: [],
    });
    expect(report.boxes[0]!['problems']).toEqual([expect.stringMatching(/^offline, last seen \d+ s ago$/)]);
  });

  it('says so when no box is under the prefix, and exits 1', async () => {
    const result = await cli(args(['--prefix', 'elsewhere']), { env: env() });
    expect(result.code).toBe(1);
    expect(result.stdout.trim()).toBe(`no box has published under elsewhere/ on ${broker.url}: check mqtt.topicPrefix, and that this login may read elsewhere/#`);
  });

  it('exits 1 and names the login when the password is wrong', async () => {
    const wrong = path.join(tmp.dir, 'wrong.password');
    fs.writeFileSync(wrong, 'not-the-password\n');
    const result = await cli(['fleet', '--url', broker.url, '--username', 'fleet', '--password-file', wrong], { env: env() });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('the broker refused the login');
    expect(result.stderr).toContain(`login: user "fleet" (--username), password from --password-file ${wrong}`);
    expect(result.stderr).not.toContain('not-the-password');
  });

  it('exits 2 without a broker', async () => {
    const result = await cli(['fleet'], { env: env() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no broker: set mqtt.url in the configuration or pass --url');
  });

  it('with --watch, draws again when a box goes offline, and ends on SIGINT with the last view\'s exit code', async () => {
    await publishFleet();
    const child = spawn(process.execPath, [CLI, ...args(['--watch'])], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitFor('the first view', () => stdout.includes('3 boxes: 3 online, 0 offline'), 15_000);
      expect(stdout).toMatch(/^--- \d{4}-\d\d-\d\dT[^\n]* ---\nBOX /);
      await clients.get('box-b')!.publishAsync('lapsebox/box-b/availability', 'offline', { qos: 1, retain: true });
      await waitFor('a view with box-b offline', () => stdout.includes('3 boxes: 2 online, 1 offline'), 5_000);
      const last = stdout.slice(stdout.lastIndexOf('--- '));
      expect(last.split('\n')[2]).toMatch(/^box-b\s+OFFLINE/);
      child.kill('SIGINT');
      expect(await exited).toBe(1);
      expect(stderr).toBe('');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 30_000);

  it('with --watch, says so and exits 1 when the broker goes away', async () => {
    // A broker of its own: stopping the shared one would take the other tests' retained messages along.
    const own = await startBroker({ users: PASSWORDS, acl: ACL });
    const box = await connectClient(own.url, { username: 'box-a', password: PASSWORDS['box-a']! });
    try {
      await box.publishAsync('lapsebox/box-a/availability', 'online', { qos: 1, retain: true });
      await box.endAsync();
      const child = spawn(process.execPath, [CLI, 'fleet', '--watch', '--json', '--url', own.url, '--username', 'fleet', '--password-file', passwordFile], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      try {
        await waitFor('the first view', () => stdout.includes('\n'), 15_000);
        // One JSON line per view.
        expect((JSON.parse(stdout.split('\n')[0]!) as { boxes: { id: string }[] }).boxes.map((b) => b.id)).toEqual(['box-a']);
        await own.stop();
        expect(await exited).toBe(1);
        expect(stderr).toMatch(/^lapsebox: lost the connection to the broker: /);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    } finally {
      await stopBroker(own);
    }
  }, 30_000);
});
