/**
 * The daemon on a real MQTT broker (Debian's mosquitto on loopback, with a password
 * file and an ACL that lets each box write only under its own id): the retained
 * availability, state, source states and Home Assistant discovery with their documented
 * shapes; commands off, then on after a reload (a capture with its audit entry, a
 * source disabled); Home Assistant's birth message; a source leaving the
 * configuration; the broker stopped and started while capture goes on; the last
 * will after SIGKILL; a box whose login may not write its topics; and
 * `lapsebox fleet` over three daemons, one of them killed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { MqttClient } from 'mqtt';
import { cli, freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess, basic, initialPassword } from '../helpers/daemon';
import { connectClient, nextMessage, retainedSnapshot, startBroker, stopBroker, subscribe, type TestBroker } from '../helpers/mqtt';
import type { BoxState, SourceState } from '../../daemon/mqtt/payloads';

const PASSWORDS: Record<string, string> = { 'box-a': 'pw-a-1', 'box-b': 'pw-b-2', 'box-c': 'pw-c-3', 'box-d': 'pw-d-4', fleet: 'pw-fleet', ha: 'pw-ha' };
const ACL = [
  'pattern readwrite lapsebox/%u/#',
  'pattern write homeassistant/+/%u/+/config',
  'pattern read homeassistant/status',
  // The source entities' node is <box>_<source>: one line per source of the box.
  'user box-a',
  'topic write homeassistant/+/box-a_cam/+/config',
  'topic write homeassistant/+/box-a_yard/+/config',
  'user fleet',
  'topic read lapsebox/#',
  'user ha',
  'topic readwrite #',
].join('\n');

const BOX_STATE_KEYS = ['alerts', 'at', 'box', 'capturePaused', 'clockSynchronized', 'disk', 'intervalSeconds', 'name', 'onlineSince', 'power', 'problem', 'sources', 'sync', 'temperatureC', 'uptimeSeconds', 'url', 'version'];
const SOURCE_STATE_KEYS = ['at', 'camera', 'enabled', 'every', 'failuresInRow', 'lastCapture', 'lastError', 'lastPictureId', 'late', 'name', 'nextSlot', 'picturesToday', 'publicUrl', 'source'];

describe('the daemon on a real MQTT broker', () => {
  let tmp: ReturnType<typeof tempDir>;
  let broker: TestBroker;
  let ha: MqttClient;
  const daemons: DaemonProcess[] = [];

  beforeAll(async () => {
    tmp = tempDir();
    broker = await startBroker({ users: PASSWORDS, acl: ACL });
    ha = await connectClient(broker.url, { username: 'ha', password: PASSWORDS['ha']! });
    for (const [user, password] of Object.entries(PASSWORDS)) fs.writeFileSync(path.join(tmp.dir, `${user}.password`), `${password}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.kill()));
    await ha?.endAsync();
    await stopBroker(broker);
    tmp?.cleanup();
  });

  /** A box in its own folder: `box` is its appliance id and its login. */
  async function startBox(box: string, options: { sources?: Record<string, unknown>[]; mqtt?: Record<string, unknown>; login?: string } = {}): Promise<{ daemon: DaemonProcess; dir: string; file: string }> {
    const dir = path.join(tmp.dir, box);
    fs.mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const login = options.login ?? box;
    const file = writeConfig({
      dir,
      port,
      sources: options.sources ?? [{ id: 'cam', name: 'Gate camera', camera: { driver: 'testpattern', width: 320, height: 240 }, schedule: { every: '1d' }, public: { enabled: true } }],
      extra: {
        appliance: { id: box, name: `Box ${box}`, timezone: 'Europe/Paris', location: { latitude: 48.85, longitude: 2.35 } },
        web: { host: '127.0.0.1', port, publicUrl: `https://${box}.example.com/` },
        mqtt: { url: broker.url, username: login, passwordFile: path.join(tmp.dir, `${login}.password`), interval: '5s', keepalive: '5s', ...options.mqtt },
      },
    });
    const daemon = new DaemonProcess(file, port);
    daemons.push(daemon);
    await daemon.start();
    return { daemon, dir, file };
  }

  const snapshot = async (filters: string[]) => retainedSnapshot(ha, filters, 400);
  const json = <T>(m: Map<string, { payload: string }>, topic: string): T | undefined => {
    const p = m.get(topic)?.payload;
    return p ? (JSON.parse(p) as T) : undefined;
  };
  const reload = (daemon: DaemonProcess, file: string, edit: (config: Record<string, any>) => void) => {
    const config = parse(fs.readFileSync(file, 'utf8')) as Record<string, any>;
    edit(config);
    fs.writeFileSync(file, stringify(config));
    process.kill(daemon.pid, 'SIGHUP');
  };

  test('publishes availability, state, source states and discovery, retained, in the documented shapes; commands come with a reload', async () => {
    const { daemon, dir, file } = await startBox('box-a', {
      sources: [
        { id: 'cam', name: 'Gate camera', camera: { driver: 'testpattern', width: 320, height: 240 }, schedule: { every: '1d' }, public: { enabled: true } },
        { id: 'yard', name: 'Yard', camera: { driver: 'testpattern', width: 320, height: 240 }, schedule: { every: '1d' } },
      ],
      mqtt: { homeAssistant: { enabled: true } },
    });
    const seen = await waitFor('the retained state of box-a', async () => {
      const m = await snapshot(['lapsebox/box-a/#', 'homeassistant/#']);
      return m.get('lapsebox/box-a/availability')?.payload === 'online' && m.has('lapsebox/box-a/yard/state') && m.has('homeassistant/sensor/box-a_cam/last_capture/config') ? m : false;
    });
    // Retained: a client that comes later gets each of them at once, marked retained.
    const late = await connectClient(broker.url, { username: 'ha', password: PASSWORDS['ha']! });
    const firsts = new Map<string, boolean>();
    late.on('message', (topic, _payload, packet) => (firsts.has(topic) ? undefined : firsts.set(topic, packet.retain)));
    await subscribe(late, ['lapsebox/box-a/#', 'homeassistant/#']);
    await waitFor('every retained message again', () => [...seen.keys()].every((t) => firsts.has(t)), 5_000);
    await late.endAsync();
    expect([...seen.keys()].filter((t) => firsts.get(t) !== true)).toEqual([]);
    const state = json<BoxState>(seen, 'lapsebox/box-a/state')!;
    expect(Object.keys(state).sort()).toEqual(BOX_STATE_KEYS);
    expect(state).toMatchObject({ box: 'box-a', name: 'Box box-a', url: 'https://box-a.example.com', intervalSeconds: 5, sources: ['cam', 'yard'], problem: expect.any(Boolean) });
    expect(state.disk.freeBytes).toBeGreaterThan(0);
    const cam = json<SourceState>(seen, 'lapsebox/box-a/cam/state')!;
    expect(Object.keys(cam).sort()).toEqual(SOURCE_STATE_KEYS);
    expect(cam).toMatchObject({ source: 'cam', name: 'Gate camera', enabled: true, camera: 'ok', every: '1d', failuresInRow: 0, late: false, publicUrl: 'https://box-a.example.com/public/cam/latest.jpg' });
    expect(json<SourceState>(seen, 'lapsebox/box-a/yard/state')!.publicUrl).toBeNull();

    const discovery = [...seen.keys()].filter((t) => t.startsWith('homeassistant/')).sort();
    expect(discovery).toEqual([
      'homeassistant/binary_sensor/box-a/problem/config',
      'homeassistant/image/box-a_cam/latest/config',
      'homeassistant/sensor/box-a/disk_free/config',
      'homeassistant/sensor/box-a/sync_backlog/config',
      'homeassistant/sensor/box-a/temperature/config',
      'homeassistant/sensor/box-a_cam/camera/config',
      'homeassistant/sensor/box-a_cam/failures/config',
      'homeassistant/sensor/box-a_cam/last_capture/config',
      'homeassistant/sensor/box-a_cam/pictures_today/config',
      'homeassistant/sensor/box-a_yard/camera/config',
      'homeassistant/sensor/box-a_yard/failures/config',
      'homeassistant/sensor/box-a_yard/last_capture/config',
      'homeassistant/sensor/box-a_yard/pictures_today/config',
    ]);
    const lastCapture = json<Record<string, any>>(seen, 'homeassistant/sensor/box-a_cam/last_capture/config')!;
    expect(lastCapture).toMatchObject({
      state_topic: 'lapsebox/box-a/cam/state',
      device_class: 'timestamp',
      availability_topic: 'lapsebox/box-a/availability',
      device: { identifiers: ['box-a'], name: 'Box box-a', manufacturer: 'lapsebox', configuration_url: 'https://box-a.example.com' },
    });

    // Commands off: nothing listens, nothing is captured.
    const box = await connectClient(broker.url, { username: 'box-a', password: PASSWORDS['box-a']! });
    await subscribe(box, 'lapsebox/box-a/cam/capture/reply');
    await box.publishAsync('lapsebox/box-a/cam/capture', 'PRESS', { qos: 1 });
    await expect(nextMessage(box, 'lapsebox/box-a/cam/capture/reply', undefined, 2_000)).rejects.toThrow();
    const admin = basic('admin', initialPassword(path.join(dir, 'data')));
    const pictures = async () => ((await (await fetch(`${daemon.baseUrl}/api/sources/cam`, { headers: admin })).json()) as { counts: { pictures: number } }).counts.pictures;
    expect(await pictures()).toBe(0);

    // On after a reload: the button and the switch appear, a capture makes a picture and an audit entry.
    reload(daemon, file, (c) => (c['mqtt'].commands = true));
    await waitFor('the capture button', async () => (await snapshot(['homeassistant/button/#'])).has('homeassistant/button/box-a_cam/capture/config'));
    const reply = nextMessage(box, 'lapsebox/box-a/cam/capture/reply');
    await box.publishAsync('lapsebox/box-a/cam/capture', 'PRESS', { qos: 1 });
    const answer = JSON.parse((await reply).payload) as { ok: boolean; pictureId: number };
    expect(answer).toMatchObject({ command: 'capture', source: 'cam', ok: true, pictureId: expect.any(Number) });
    expect(await pictures()).toBe(1);
    const audit = (await (await fetch(`${daemon.baseUrl}/api/audit?actor=mqtt`, { headers: admin })).json()) as { entries: { actor: string; action: string; target: string; newValue: unknown }[] };
    expect(audit.entries[0]).toMatchObject({ actor: 'mqtt', action: 'source.capture', target: 'cam', newValue: { pictureId: answer.pictureId } });
    await waitFor('the new picture in the source state', async () => json<SourceState>(await snapshot(['lapsebox/box-a/cam/state']), 'lapsebox/box-a/cam/state')?.lastPictureId === answer.pictureId);

    // Disabled over MQTT: written to the file, audited, shown in the state.
    await subscribe(box, 'lapsebox/box-a/cam/enabled/set/reply');
    const off = nextMessage(box, 'lapsebox/box-a/cam/enabled/set/reply');
    await box.publishAsync('lapsebox/box-a/cam/enabled/set', 'OFF', { qos: 1 });
    expect(JSON.parse((await off).payload)).toMatchObject({ ok: true, enabled: false });
    expect((parse(fs.readFileSync(file, 'utf8')) as any).sources[0].enabled).toBe(false);
    await waitFor('camera "disabled" in the state', async () => json<SourceState>(await snapshot(['lapsebox/box-a/cam/state']), 'lapsebox/box-a/cam/state')?.camera === 'disabled');
    const refused = nextMessage(box, 'lapsebox/box-a/cam/capture/reply');
    await box.publishAsync('lapsebox/box-a/cam/capture', '{"requestId": "r-7"}', { qos: 1 });
    expect(JSON.parse((await refused).payload)).toMatchObject({ ok: false, requestId: 'r-7', error: 'source "cam" is disabled' });

    // Home Assistant says it is back: the configs come again (live, to its subscription).
    await subscribe(ha, 'homeassistant/sensor/box-a/disk_free/config');
    const again = nextMessage(ha, 'homeassistant/sensor/box-a/disk_free/config', (m) => !m.retain);
    await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
    expect(JSON.parse((await again).payload)).toMatchObject({ unique_id: 'lapsebox_box-a_disk_free' });

    // The yard leaves the configuration: its state and its entities leave the broker.
    reload(daemon, file, (c) => (c['sources'] = c['sources'].filter((s: { id: string }) => s.id !== 'yard')));
    await waitFor('the yard gone from the broker', async () => {
      const m = await snapshot(['lapsebox/box-a/#', 'homeassistant/#']);
      return m.has('lapsebox/box-a/cam/state') && ![...m.keys()].some((t) => t.includes('yard'));
    });
    await box.endAsync();

    // The mqtt section removed: the box leaves the broker, and nothing of it stays there.
    reload(daemon, file, (c) => delete c['mqtt']);
    await waitFor('box-a gone from the broker', async () => {
      const m = await snapshot(['lapsebox/box-a/#', 'homeassistant/#']);
      return [...m.keys()].every((t) => !t.includes('box-a'));
    });
    await daemon.stop('SIGTERM');
  }, 90_000);

  test('the broker stopped and started: the box reconnects and publishes again, and no capture slot is missed meanwhile', async () => {
    const { daemon, dir } = await startBox('box-d', { sources: [{ id: 'cam', camera: { driver: 'testpattern', width: 160, height: 120 }, schedule: { every: '1s' } }] });
    const first = await waitFor('the first state of box-d', async () => json<BoxState>(await snapshot(['lapsebox/box-d/state']), 'lapsebox/box-d/state'));
    const outageStart = Date.now();
    await broker.stop();
    await waitFor('the daemon to see the broker gone', async () => {
      const r = await cli(['status', '--json', '--config', path.join(dir, 'lapsebox.yaml')]);
      const s = JSON.parse(r.stdout) as { mqtt: { activity: string; lastError: string | null } | null };
      return s.mqtt?.activity !== 'connected' && s.mqtt?.lastError ? s.mqtt : false;
    });
    await new Promise((r) => setTimeout(r, 6_000));
    await broker.startAgain();
    const outageEnd = Date.now();
    await ha.endAsync(true).catch(() => undefined);
    ha = await connectClient(broker.url, { username: 'ha', password: PASSWORDS['ha']! });
    const after = await waitFor('a new connection of box-d', async () => {
      const s = json<BoxState>(await snapshot(['lapsebox/box-d/state']), 'lapsebox/box-d/state');
      return s && s.onlineSince !== first.onlineSince ? s : false;
    }, 90_000);
    expect(Date.parse(after.onlineSince!)).toBeGreaterThanOrEqual(outageEnd - 1_000);
    // Every 1 s slot of the outage has its picture.
    const admin = basic('admin', initialPassword(path.join(dir, 'data')));
    const from = Math.ceil(outageStart / 1000) * 1000 + 1000;
    const to = Math.floor(outageEnd / 1000) * 1000 - 1000;
    const page = (await (await fetch(`${daemon.baseUrl}/api/sources/cam/pictures?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&limit=500`, { headers: admin })).json()) as { pictures: { takenAt: string }[] };
    const slots = new Set(page.pictures.map((p) => Math.round(Date.parse(p.takenAt) / 1000)));
    const missing: string[] = [];
    for (let t = from; t < to; t += 1000) if (!slots.has(t / 1000)) missing.push(new Date(t).toISOString());
    expect(missing).toEqual([]);
    expect((to - from) / 1000).toBeGreaterThanOrEqual(3);
    await daemon.stop();
    // A box taken out of the fleet: its retained messages are cleared, so the fleet no longer lists it.
    for (const topic of ['lapsebox/box-d/availability', 'lapsebox/box-d/state', 'lapsebox/box-d/cam/state']) await ha.publishAsync(topic, '', { qos: 1, retain: true });
  }, 150_000);

  test('a login that may not write under the box id: the broker refuses, and status says so', async () => {
    // box-c's daemon logs in as box-b: the ACL lets box-b write only under lapsebox/box-b/.
    const { daemon, dir } = await startBox('box-c', { login: 'box-b' });
    const report = await waitFor('the refusal in lapsebox status', async () => {
      const r = await cli(['status', '--config', path.join(dir, 'lapsebox.yaml')]);
      return /REFUSED by the broker .*lapsebox\/box-c\/.*not authorized/.test(r.stdout) ? r.stdout : false;
    });
    expect(report).toMatch(/mqtt: mqtt:\/\/127\.0\.0\.1:\d+ as lapsebox\/box-c: connected/);
    expect((await snapshot(['lapsebox/box-c/#'])).size).toBe(0);
    // The same refusal for any client: box-b may not write box-a's state.
    const intruder = await connectClient(broker.url, { username: 'box-b', password: PASSWORDS['box-b']! });
    await expect(intruder.publishAsync('lapsebox/box-a/state', '{"box":"box-a","forged":true}', { qos: 1, retain: true })).rejects.toMatchObject({ code: 135 });
    await intruder.endAsync();
    expect(json<Record<string, unknown>>(await snapshot(['lapsebox/box-a/state']), 'lapsebox/box-a/state')?.['forged']).toBeUndefined();
    await daemon.stop();
  }, 60_000);

  test('lapsebox fleet lists three boxes and flags the one killed (its last will says offline)', async () => {
    const boxes = await Promise.all(['box-a', 'box-b', 'box-c'].map((b) => startBox(b, { sources: [{ id: 'cam', camera: { driver: 'testpattern', width: 160, height: 120 }, schedule: { every: '2s' } }] })));
    const fleet = () => cli(['fleet', '--url', broker.url, '--username', 'fleet', '--password-file', path.join(tmp.dir, 'fleet.password')]);
    await waitFor('three boxes online', async () => {
      const m = await snapshot(['lapsebox/+/availability', 'lapsebox/+/cam/state']);
      return ['box-a', 'box-b', 'box-c'].every((b) => m.get(`lapsebox/${b}/availability`)?.payload === 'online' && json<SourceState>(m, `lapsebox/${b}/cam/state`)?.lastCapture);
    });
    const healthy = await fleet();
    expect(healthy.stdout).toMatch(/box-a/);
    expect(healthy.stdout).toMatch(/box-b/);
    expect(healthy.stdout).toMatch(/box-c/);
    expect(healthy.code).toBe(0);

    await boxes[1]!.daemon.stop('SIGKILL');
    const killedAt = Date.now();
    await waitFor('the last will of box-b', async () => (await snapshot(['lapsebox/box-b/availability'])).get('lapsebox/box-b/availability')?.payload === 'offline', 30_000);
    // Keepalive 5 s: the broker gives up after 1.5 times that.
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    const flagged = await fleet();
    expect(flagged.code).toBe(1);
    const lines = flagged.stdout.split('\n');
    const first = lines.findIndex((l) => /box-/.test(l));
    expect(lines[first]).toMatch(/box-b.*OFFLINE/);
    expect(flagged.stdout).toMatch(/box-a/);
    expect(flagged.stdout).toMatch(/box-c/);
    const asJson = await cli(['fleet', '--json', '--url', broker.url, '--username', 'fleet', '--password-file', path.join(tmp.dir, 'fleet.password')]);
    const boxesSeen = (JSON.parse(asJson.stdout) as { boxes: { id: string; online: boolean | null }[] }).boxes;
    expect(boxesSeen.map((b) => [b.id, b.online])).toEqual([['box-b', false], ['box-a', true], ['box-c', true]]);
    // A clean stop says offline at once, without waiting for the keepalive.
    await boxes[2]!.daemon.stop('SIGTERM');
    expect((await snapshot(['lapsebox/box-c/availability'])).get('lapsebox/box-c/availability')?.payload).toBe('offline');
    await Promise.all(boxes.map((b) => b.daemon.stop().catch(() => undefined)));
  }, 120_000);
});
