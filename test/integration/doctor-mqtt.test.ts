/**
 * `lapsebox doctor` and the MQTT broker, as a maintainer runs it (the compiled CLI):
 * a real mosquitto on loopback with a password file, a TLS listener signed by a test
 * CA, and an ACL that lets bridge-north read and write its topics, bridge-east only
 * read them and bridge-west only write them. Each step is named when it works; a
 * wrong password, an ACL refusal, a dead port, an unknown authority and a missing
 * password file each fail with what to fix, and no password is ever printed. With the
 * daemon running, a second line says how its own link fares, and the doctor's
 * connection (a client id of its own) leaves the daemon's alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cli, freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { startBroker, stopBroker, type TestBroker } from '../helpers/mqtt';
import type { DoctorReport } from '../../daemon/doctor/doctor';

const PASSWORDS: Record<string, string> = { 'bridge-north': 'north-secret-1', 'bridge-east': 'east-secret-2', 'bridge-west': 'west-secret-3' };
const ACL = [
  'user bridge-north',
  'topic readwrite lapsebox/bridge-north/#',
  'user bridge-east',
  'topic read lapsebox/bridge-east/#',
  'user bridge-west',
  'topic write lapsebox/bridge-west/#',
].join('\n');
const WRONG = 'not-the-password-9';
const testpattern = { id: 'demo', camera: { driver: 'testpattern', width: 320, height: 240 }, timelapse: { daily: { enabled: false } } };
/** Every password of the test: none may appear in what doctor prints. */
const SECRETS = new RegExp([...Object.values(PASSWORDS), WRONG].join('|'));

type CheckRow = DoctorReport['checks'][number];

describe('lapsebox doctor: the MQTT broker', () => {
  let tmp: ReturnType<typeof tempDir>;
  let broker: TestBroker;
  let cases = 0;

  beforeAll(async () => {
    tmp = tempDir('lapsebox-doctor-mqtt-');
    broker = await startBroker({ users: PASSWORDS, acl: ACL, tls: true });
    for (const [user, password] of Object.entries(PASSWORDS)) fs.writeFileSync(path.join(tmp.dir, `${user}.password`), `${password}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    await stopBroker(broker);
    tmp?.cleanup();
  });

  const passwordFile = (user: string) => path.join(tmp.dir, `${user}.password`);

  /** A config in a folder of its own for box `box`, with this mqtt section. */
  function setup(box: string, mqtt: Record<string, unknown>, port = 1): { dir: string; configFile: string } {
    const dir = path.join(tmp.dir, `case-${++cases}`);
    fs.mkdirSync(dir, { recursive: true });
    const configFile = writeConfig({ dir, port, sources: [testpattern], extra: { appliance: { id: box, timezone: 'Europe/Paris' }, mqtt } });
    fs.chmodSync(configFile, 0o600);
    return { dir, configFile };
  }

  /** Doctor's JSON report and its table, both checked for passwords; `mqtt` is the rows of the mqtt group. */
  async function doctor(configFile: string): Promise<{ code: number | null; ms: number; mqtt: CheckRow[]; get: (name: string) => CheckRow; table: string }> {
    const started = Date.now();
    const json = await cli(['doctor', '--json', '--config', configFile]);
    const ms = Date.now() - started;
    let report: DoctorReport;
    try {
      report = JSON.parse(json.stdout) as DoctorReport;
    } catch {
      throw new Error(`doctor printed no JSON (exit ${json.code}):\n${json.stdout}\n${json.stderr}`);
    }
    const table = await cli(['doctor', '--config', configFile]);
    expect(`${json.stdout}\n${json.stderr}\n${table.stdout}\n${table.stderr}`).not.toMatch(SECRETS);
    const mqtt = report.checks.filter((c) => c.group === 'mqtt');
    const get = (name: string) => {
      const found = mqtt.find((c) => c.name === name);
      if (!found) throw new Error(`no check "${name}" in ${report.checks.map((c) => c.name).join(', ')}`);
      return found;
    };
    // The rows as the table prints them, for the reader of a failing test.
    const rows = table.stdout.split('\n').filter((l) => /^mqtt (broker|link) /.test(l)).join('\n');
    return { code: json.code, ms, mqtt, get, table: rows };
  }

  const steps = (box: string) => `login as ${box} accepted, published and received on lapsebox/${box}/doctor`;

  it('says nothing about MQTT without an mqtt section', async () => {
    const dir = path.join(tmp.dir, `case-${++cases}`);
    fs.mkdirSync(dir, { recursive: true });
    const configFile = writeConfig({ dir, port: 1, sources: [testpattern] });
    const { mqtt } = await doctor(configFile);
    expect(mqtt).toEqual([]);
  });

  it('lists every step against a broker that takes the login and lets the box read and write its topic', async () => {
    const { configFile } = setup('bridge-north', { url: broker.url, username: 'bridge-north', password: PASSWORDS['bridge-north'] });
    const { get, mqtt, table, ms } = await doctor(configFile);
    expect(mqtt).toEqual([{ group: 'mqtt', name: 'mqtt broker', verdict: 'ok', detail: `${broker.url}: port ${broker.port} answers, ${steps('bridge-north')}` }]);
    expect(table).toMatch(/^mqtt broker\s+ok\s+mqtt:\/\/127\.0\.0\.1:\d+: port \d+ answers, login as bridge-north accepted, published and received on lapsebox\/bridge-north\/doctor$/m);
    expect(get('mqtt broker').verdict).toBe('ok');
    expect(ms).toBeLessThan(15_000);
    // Not retained: nothing of the doctor stays on the broker, and its client id was its own.
    expect(broker.log()).toMatch(/New client connected .* as lapsebox-doctor-[0-9a-f]{8} .*u'bridge-north'/);
  });

  it('fails a wrong password, naming the login and the broker\'s password file, without printing the password', async () => {
    const { configFile } = setup('bridge-north', { url: broker.url, username: 'bridge-north', password: WRONG });
    const { get, code, table } = await doctor(configFile);
    expect(get('mqtt broker')).toEqual({
      group: 'mqtt',
      name: 'mqtt broker',
      verdict: 'fail',
      detail: `${broker.url}: port ${broker.port} answers, but the broker refused the login (Connection refused: Not authorized): check mqtt.username and the password against the broker's users`,
      fix: "check mqtt.username (bridge-north) and mqtt.password against the broker's password file (mosquitto: sudo mosquitto_passwd /etc/mosquitto/passwd bridge-north, then reload mosquitto)",
    });
    expect(table).toMatch(/^mqtt broker\s+fail\s+.*refused the login.* → check mqtt\.username \(bridge-north\)/m);
    expect(code).toBe(1);
  });

  it('fails a box the ACL does not let publish on its topic, naming the ACL line it needs', async () => {
    const { configFile } = setup('bridge-east', { url: broker.url, username: 'bridge-east', passwordFile: passwordFile('bridge-east') });
    const { get, code } = await doctor(configFile);
    expect(get('mqtt broker')).toEqual({
      group: 'mqtt',
      name: 'mqtt broker',
      verdict: 'fail',
      detail: `${broker.url}: port ${broker.port} answers, login as bridge-east accepted, but the broker does not let this box publish on lapsebox/bridge-east/doctor (not authorized): check the broker's ACL`,
      fix: `let the box publish and read its own topics in the broker's ACL: "pattern readwrite lapsebox/%u/#" (mosquitto: in its acl_file, then reload mosquitto)`,
    });
    expect(code).toBe(1);
  });

  it('warns when the box may publish on its topic but not read it (commands would not arrive), naming the same fix', async () => {
    const { configFile } = setup('bridge-west', { url: broker.url, username: 'bridge-west', passwordFile: passwordFile('bridge-west') });
    const { get } = await doctor(configFile);
    expect(get('mqtt broker')).toEqual({
      group: 'mqtt',
      name: 'mqtt broker',
      verdict: 'warn',
      detail: `${broker.url}: port ${broker.port} answers, login as bridge-west accepted, published on lapsebox/bridge-west/doctor; the message did not come back within 3 s: the box can publish on lapsebox/bridge-west/doctor but not read it back (commands would not arrive)`,
      fix: `let the box publish and read its own topics in the broker's ACL: "pattern readwrite lapsebox/%u/#" (mosquitto: in its acl_file, then reload mosquitto)`,
    });
  });

  it('names the user-specific line when the login is not the box id', async () => {
    const { configFile } = setup('bridge-south', { url: broker.url, username: 'bridge-north', passwordFile: passwordFile('bridge-north') });
    const { get } = await doctor(configFile);
    expect(get('mqtt broker')).toMatchObject({
      verdict: 'fail',
      detail: expect.stringContaining('login as bridge-north accepted, but the broker does not let this box publish on lapsebox/bridge-south/doctor'),
      fix: `let the box publish and read its own topics in the broker's ACL: "pattern readwrite lapsebox/%u/#" with mqtt.username: bridge-south, or for user bridge-north "topic readwrite lapsebox/bridge-south/#" (mosquitto: in its acl_file, then reload mosquitto)`,
    });
  });

  it('fails quickly when nothing listens on the port ("refused")', async () => {
    const port = await freePort();
    const { configFile } = setup('bridge-north', { url: `mqtt://127.0.0.1:${port}`, username: 'bridge-north', password: PASSWORDS['bridge-north'] });
    const { get, code, ms } = await doctor(configFile);
    expect(get('mqtt broker')).toEqual({
      group: 'mqtt',
      name: 'mqtt broker',
      verdict: 'fail',
      detail: `mqtt://127.0.0.1:${port}: 127.0.0.1:${port} refused the connection: is the broker running and listening on that port?`,
      fix: `check that the broker is running and listens on port ${port} (mosquitto: a "listener ${port}" line), and the port in mqtt.url`,
    });
    expect(code).toBe(1);
    expect(ms).toBeLessThan(10_000);
  });

  it('fails a host name that does not resolve, naming mqtt.url and the DNS', async () => {
    const { configFile } = setup('bridge-north', { url: 'mqtt://broker.lapsebox.invalid:1883', username: 'bridge-north', password: PASSWORDS['bridge-north'] });
    const { get } = await doctor(configFile);
    expect(get('mqtt broker')).toMatchObject({
      verdict: 'fail',
      // Offline, the resolver may answer "not found" or not at all.
      detail: expect.stringMatching(/^mqtt:\/\/broker\.lapsebox\.invalid:1883: (cannot resolve broker\.lapsebox\.invalid: check mqtt\.url and the box's DNS|no DNS answer for broker\.lapsebox\.invalid within 5 s: is the network up\?)$/),
      fix: "check the host name in mqtt.url (broker.lapsebox.invalid) and the box's DNS (/etc/resolv.conf)",
    });
  });

  it('checks mqtts with the configured ca: the certificate trusted, then the login', async () => {
    const { configFile } = setup('bridge-north', { url: broker.tlsUrl!, username: 'bridge-north', passwordFile: passwordFile('bridge-north'), ca: broker.caFile! });
    const { get, table } = await doctor(configFile);
    expect(get('mqtt broker')).toEqual({
      group: 'mqtt',
      name: 'mqtt broker',
      verdict: 'ok',
      detail: expect.stringMatching(
        new RegExp(`^mqtts://localhost:${broker.ports.tls}: resolves to [0-9a-f.:, ]*127\\.0\\.0\\.1[0-9a-f.:, ]*, port ${broker.ports.tls} answers, TLS: certificate of CN=localhost trusted \\(issued by CN=lapsebox test CA\\), ${steps('bridge-north')}$`),
      ),
    });
    expect(table).toMatch(/^mqtt broker\s+ok\s+mqtts:\/\/localhost:\d+: resolves to .*TLS: certificate of CN=localhost trusted/m);
  });

  it('fails mqtts when mqtt.ca is not the authority that signed the broker\'s certificate, naming mqtt.ca', async () => {
    const { configFile } = setup('bridge-north', { url: broker.tlsUrl!, username: 'bridge-north', passwordFile: passwordFile('bridge-north'), ca: broker.otherCaFile! });
    const { get, code } = await doctor(configFile);
    const check = get('mqtt broker');
    expect(check).toMatchObject({
      verdict: 'fail',
      detail: expect.stringMatching(new RegExp(`^mqtts://localhost:${broker.ports.tls}: resolves to .*, port ${broker.ports.tls} answers, but the TLS handshake with localhost:${broker.ports.tls} failed \\([A-Z_]+\\): check mqtt\\.ca`)),
      fix: `set mqtt.ca to the PEM file of the authority that signed the broker's certificate (now ${broker.otherCaFile}); check that the certificate names localhost and the box's clock is right`,
    });
    expect(check.detail).not.toMatch(/login/);
    expect(code).toBe(1);
  });

  it('fails a missing password file, naming the file, before any connection', async () => {
    const missing = path.join(tmp.dir, 'nowhere', 'bridge-north.password');
    const { configFile } = setup('bridge-north', { url: broker.url, username: 'bridge-north', passwordFile: missing });
    const { get, code } = await doctor(configFile);
    expect(get('mqtt broker')).toEqual({
      group: 'mqtt',
      name: 'mqtt broker',
      verdict: 'fail',
      detail: `${broker.url}: mqtt.passwordFile: ${missing} does not exist`,
      fix: expect.stringMatching(new RegExp(`^create the file or fix its path in the mqtt section \\(relative to ${configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\); the daemon's user \\(.+\\) must be able to read it$`)),
    });
    expect(code).toBe(1);
  });

  describe('with the daemon running', () => {
    let daemon: DaemonProcess | null = null;
    let configFile: string;

    beforeAll(async () => {
      const port = await freePort();
      ({ configFile } = setup('bridge-north', { url: broker.url, username: 'bridge-north', passwordFile: passwordFile('bridge-north'), keepalive: '5s' }, port));
      daemon = new DaemonProcess(configFile, port);
      await daemon.start();
      await waitFor('the daemon connected to the broker', async () => {
        const status = await cli(['status', '--json', '--config', configFile]);
        return (JSON.parse(status.stdout) as { mqtt?: { activity?: string } | null }).mqtt?.activity === 'connected';
      });
    }, 40_000);

    afterAll(async () => {
      await daemon?.kill();
    });

    it('adds a line on the daemon\'s own link, and its probe (a client id of its own) leaves that link alone', async () => {
      const first = await doctor(configFile);
      expect(first.get('mqtt broker')).toMatchObject({ verdict: 'ok', detail: `${broker.url}: port ${broker.port} answers, ${steps('bridge-north')}` });
      const link = first.get('mqtt link');
      expect(link).toEqual({
        group: 'mqtt',
        name: 'mqtt link',
        verdict: 'ok',
        detail: expect.stringMatching(new RegExp(`^the daemon \\(lapsebox-bridge-north\\) on mqtt://127\\.0\\.0\\.1:${broker.port}: connected since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d, \\d+ messages? acknowledged`)),
      });
      const second = await doctor(configFile);
      // Still the same connection: doctor never took over the daemon's client id.
      expect(second.get('mqtt link').detail.split(', ')[0]).toBe(link.detail.split(', ')[0]);
      expect(broker.log()).not.toMatch(/Client lapsebox-bridge-north already connected/);
    });
  });
});
