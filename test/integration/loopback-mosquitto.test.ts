/**
 * The loopback MQTT broker of the MQTT tests (Debian's mosquitto 2.0, scripts/lib/loopback-mosquitto.ts,
 * test/helpers/mqtt.ts): users and an ACL as a fleet would have them (each box writes under its
 * own name, the fleet reads everything), what mosquitto answers when it refuses, retained
 * messages across a restart (and not across a crash), websockets and TLS, and start-up errors.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { MqttClient, IClientOptions } from 'mqtt';
import { TestBroker, connectClient, nextMessage, retainedSnapshot, startBroker, stopBroker, subscribe, topicMatches } from '../helpers/mqtt';

const USERS = { 'box-a': 'secret-a', fleet: 'secret-fleet' };
const ACL = ['pattern readwrite lapsebox/%u/#', 'user fleet', 'topic read lapsebox/#'].join('\n');
const asBoxA: IClientOptions = { username: 'box-a', password: USERS['box-a'] };
const asFleet: IClientOptions = { username: 'fleet', password: USERS.fleet };

describe('TestBroker', () => {
  let sut: TestBroker | undefined;
  const clients: MqttClient[] = [];
  const connect = async (url: string, options: IClientOptions = {}) => {
    const client = await connectClient(url, options);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    sut = await startBroker({ users: USERS, acl: ACL, websockets: true, tls: true });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });

  afterAll(async () => {
    const dir = sut?.dir;
    const pid = sut?.pid;
    await stopBroker(sut);
    expect(sut?.running).toBe(false);
    if (pid) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    if (dir) expect(fs.existsSync(dir)).toBe(false);
  });

  it('is installed, and says where it listens', () => {
    expect(TestBroker.available()).toBe(true);
    const b = sut!;
    expect(b.running).toBe(true);
    expect(b.pid).toEqual(expect.any(Number));
    expect(b.url).toBe(`mqtt://127.0.0.1:${b.port}`);
    expect(b.wsUrl).toBe(`ws://127.0.0.1:${b.ports.websockets}`);
    expect(b.tlsUrl).toBe(`mqtts://localhost:${b.ports.tls}`);
    expect(new Set([b.port, b.ports.websockets, b.ports.tls]).size).toBe(3);
    for (const file of [b.caFile, b.clientCertFile, b.clientKeyFile, b.otherCaFile]) expect(fs.existsSync(file!)).toBe(true);
    expect(b.log()).toMatch(/Opening websockets listen socket on port \d+/);
  });

  it('lets box-a publish retained under its own name, and fleet read it', async () => {
    const boxA = await connect(sut!.url, asBoxA);
    await boxA.publishAsync('lapsebox/box-a/state', 'online', { qos: 1, retain: true });
    const fleet = await connect(sut!.url, asFleet);
    const retained = await retainedSnapshot(fleet, ['lapsebox/#']);
    expect(retained.get('lapsebox/box-a/state')).toEqual({ payload: 'online', retain: true });
    // fleet may only read
    await expect(fleet.publishAsync('lapsebox/box-a/state', 'hijacked', { qos: 1 })).rejects.toMatchObject({ code: 135 });
  });

  it('refuses box-a publishing under box-b: MQTT 5 QoS 1 gets PUBACK 135 "Not authorized", MQTT 3.1.1 a plain PUBACK, and fleet gets neither', async () => {
    const fleet = await connect(sut!.url, asFleet);
    const received: string[] = [];
    fleet.on('message', (topic) => received.push(topic));
    await subscribe(fleet, 'lapsebox/#');
    const boxA = await connect(sut!.url, asBoxA);
    await expect(boxA.publishAsync('lapsebox/box-b/state', 'forged', { qos: 1 })).rejects.toMatchObject({ code: 135, message: 'Publish error: Not authorized' });
    expect(boxA.connected).toBe(true); // refused, not disconnected

    // MQTT 3.1.1 has no reason codes: the broker acknowledges and drops the message.
    const boxA311 = await connect(sut!.url, { ...asBoxA, protocolVersion: 4 });
    const ack = await boxA311.publishAsync('lapsebox/box-b/state', 'forged', { qos: 1 });
    expect(ack).toMatchObject({ cmd: 'publish', topic: 'lapsebox/box-b/state' }); // MQTT.js resolves with the packet it sent

    // The broker handles one connection's packets in order: once this one has reached fleet, the forged ones would have too.
    await boxA.publishAsync('lapsebox/box-a/after', 'allowed', { qos: 1 });
    await nextMessage(fleet, 'lapsebox/box-a/after');
    expect(received.filter((t) => t.startsWith('lapsebox/box-b/'))).toEqual([]);
    expect(sut!.log()).toMatch(new RegExp(`Denied PUBLISH from ${boxA.options.clientId} \\(d0, q1, r0, m\\d+, 'lapsebox/box-b/state'`));
  });

  it('refuses a wrong password, an unknown user and an anonymous client at CONNECT: CONNACK 135 "Not authorized" (5 in MQTT 3.1.1)', async () => {
    await expect(connectClient(sut!.url, { ...asBoxA, password: 'wrong' })).rejects.toMatchObject({ code: 135, message: 'Connection refused: Not authorized' });
    await expect(connectClient(sut!.url, { username: 'box-z', password: 'x' })).rejects.toMatchObject({ code: 135 });
    await expect(connectClient(sut!.url)).rejects.toMatchObject({ code: 135 });
    await expect(connectClient(sut!.url, { ...asBoxA, password: 'wrong', protocolVersion: 4 })).rejects.toMatchObject({ code: 5, message: 'Connection refused: Not authorized' });
    expect(sut!.log()).toMatch(/disconnected, not authorised/);
  });

  it('keeps retained messages across stop() and startAgain(), on the same ports', async () => {
    const boxA = await connect(sut!.url, asBoxA);
    await boxA.publishAsync('lapsebox/box-a/config', 'v1', { qos: 1, retain: true });
    await boxA.endAsync();
    const pid = sut!.pid;

    await Promise.all([sut!.stop(), sut!.stop()]);
    await sut!.stop();
    expect(sut!.running).toBe(false);
    expect(sut!.pid).toBeNull();
    await expect(connectClient(sut!.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await sut!.startAgain();
    expect(sut!.pid).not.toBe(pid);
    const fleet = await connect(sut!.url, asFleet);
    const retained = await retainedSnapshot(fleet, ['lapsebox/box-a/+']);
    expect(retained.get('lapsebox/box-a/config')).toEqual({ payload: 'v1', retain: true });
    expect(retained.get('lapsebox/box-a/state')?.payload).toBe('online');
  });

  it('loses on kill() what was retained since the last start, as a crashed broker would', async () => {
    const boxA = await connect(sut!.url, asBoxA);
    await boxA.publishAsync('lapsebox/box-a/unsaved', 'lost', { qos: 1, retain: true });
    await sut!.kill();
    expect(sut!.running).toBe(false);
    await sut!.startAgain();
    const fleet = await connect(sut!.url, asFleet);
    const retained = await retainedSnapshot(fleet, ['lapsebox/box-a/#']);
    expect(retained.has('lapsebox/box-a/unsaved')).toBe(false);
    expect(retained.get('lapsebox/box-a/config')?.payload).toBe('v1');
  });

  it('speaks MQTT over websockets (MQTT.js with ws://)', async () => {
    const fleet = await connect(sut!.wsUrl!, asFleet);
    await subscribe(fleet, 'lapsebox/+/state');
    const boxA = await connect(sut!.wsUrl!, asBoxA);
    const live = nextMessage(fleet, 'lapsebox/+/state', (m) => !m.retain);
    await boxA.publishAsync('lapsebox/box-a/state', 'busy', { qos: 1, retain: true });
    expect(await live).toMatchObject({ topic: 'lapsebox/box-a/state', payload: 'busy', retain: false });
    await expect(connectClient(sut!.wsUrl!, { ...asFleet, password: 'wrong' })).rejects.toMatchObject({ code: 135 });
  });

  it('speaks MQTT over TLS with the test CA; a client that trusts another CA refuses the broker', async () => {
    const fleet = await connect(sut!.tlsUrl!, { ...asFleet, ca: fs.readFileSync(sut!.caFile!) });
    expect((await retainedSnapshot(fleet, ['lapsebox/box-a/state'])).get('lapsebox/box-a/state')?.payload).toBe('busy');
    await expect(connectClient(sut!.tlsUrl!, { ...asFleet, ca: fs.readFileSync(sut!.otherCaFile!) })).rejects.toMatchObject({
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
      message: 'self-signed certificate in certificate chain',
    });
  });

  it('rejects nextMessage() after its timeout, naming the filter and what came meanwhile', async () => {
    const fleet = await connect(sut!.url, asFleet);
    await expect(nextMessage(fleet, 'lapsebox/box-b/#', undefined, 300)).rejects.toThrow(/^no message on lapsebox\/box-b\/# matched within 300 ms; nothing arrived meanwhile$/);
    await subscribe(fleet, 'lapsebox/#');
    const boxA = await connect(sut!.url, asBoxA);
    const none = nextMessage(fleet, 'lapsebox/box-b/#', undefined, 500);
    await boxA.publishAsync('lapsebox/box-a/noise', 'noise', { qos: 1 });
    await expect(none).rejects.toThrow(/within 500 ms; what arrived meanwhile:\n {2}lapsebox\/box-a\/noise: noise$/);
  });

  it('grants a subscription the ACL does not allow reading (the SUBACK says QoS 1), and delivers nothing on it', async () => {
    const fleet = await connect(sut!.url, asFleet);
    await subscribe(fleet, 'other/#');
    const boxA = await connect(sut!.url, asBoxA);
    // box-a may not write there either; its own topics are not under other/.
    await expect(boxA.publishAsync('other/x', 'x', { qos: 1 })).rejects.toMatchObject({ code: 135 });
    await expect(nextMessage(fleet, 'other/#', undefined, 300)).rejects.toThrow(/nothing arrived meanwhile/);
  });

  it('matches topic filters as MQTT does', () => {
    expect(topicMatches('lapsebox/#', 'lapsebox')).toBe(true);
    expect(topicMatches('lapsebox/#', 'lapsebox/a/b')).toBe(true);
    expect(topicMatches('lapsebox/+/state', 'lapsebox/a/state')).toBe(true);
    expect(topicMatches('lapsebox/+/state', 'lapsebox/a/b/state')).toBe(false);
    expect(topicMatches('lapsebox/+', 'lapsebox')).toBe(false);
    expect(topicMatches('#', '$SYS/broker/uptime')).toBe(false);
  });

  describe('with requireCertificate', () => {
    let mtls: TestBroker | undefined;
    beforeAll(async () => {
      mtls = await startBroker({ anonymous: true, tls: true, requireCertificate: true });
    });
    afterAll(() => stopBroker(mtls));

    it('takes a client with the test client certificate and refuses one without', async () => {
      const ca = fs.readFileSync(mtls!.caFile!);
      const client = await connect(mtls!.tlsUrl!, { ca, cert: fs.readFileSync(mtls!.clientCertFile!), key: fs.readFileSync(mtls!.clientKeyFile!) });
      expect(client.connected).toBe(true);
      await expect(connectClient(mtls!.tlsUrl!, { ca })).rejects.toMatchObject({ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
    });
  });

  it('fails start-up with the end of the broker log when its port is taken, and leaves no folder behind', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as net.AddressInfo;
    let error: Error | undefined;
    try {
      await startBroker({ port });
    } catch (e) {
      error = e as Error;
    } finally {
      squatter.close();
    }
    expect(error?.message).toMatch(/^mosquitto exited at start-up \(exit code \d+\); the end of its log \(.*mosquitto\.log\):\n[\s\S]*Address already in use/);
    const logFile = /the end of its log \((.*)\)/.exec(error!.message)![1]!;
    expect(fs.existsSync(path.dirname(logFile))).toBe(false);
  });
});
