import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, parseConfig, loadConfig } from '../../daemon/config/load';
import { schemaText, SCHEMA_FILE } from '../../scripts/write-schema';

const FILE = '/etc/lapsebox/lapsebox.yaml';

const base = `
appliance:
  id: bridge-north
  timezone: Europe/Paris
sources:
  - id: north
    camera: { driver: testpattern }
`;

/** The problems of a config text, or [] when it is valid. */
function problems(text: string): string[] {
  try {
    parseConfig(text, FILE);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.message).toContain(FILE);
    return err.problems;
  }
}

describe('config validation', () => {
  it('accepts a minimal file and applies defaults', () => {
    const { config, warnings } = parseConfig(base, FILE);
    expect(config.sources[0]!.schedule.every).toBe(300_000);
    expect(config.sources[0]!.camera).toEqual({ driver: 'testpattern', width: 1920, height: 1080, timeout: 60_000 });
    expect(config.web).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.storage.dataDir).toBe('/var/lib/lapsebox');
    expect(warnings).toEqual([expect.stringMatching(/^no alert channel/)]);
  });

  it('resolves relative paths against the folder of the file', () => {
    const { config } = parseConfig(`${base}storage: { dataDir: ../data }\n`, '/opt/box/config/demo.yaml');
    expect(config.storage.dataDir).toBe('/opt/box/data');
  });

  it('names an unknown key with its path, line and a suggestion', () => {
    const text = base.replace('camera: { driver: testpattern }', 'camera: { driver: testpattern }\n    schedule: { evrey: 5m }');
    expect(problems(text)).toEqual([
      'line 8: sources[0].schedule.evrey: unknown key "evrey"; did you mean "every"? (allowed here: every, windows)',
    ]);
  });

  it('rejects duplicate source ids, naming both', () => {
    const text = `${base}  - id: north\n    camera: { driver: testpattern }\n`;
    expect(problems(text)).toEqual(['line 8: sources[1].id: duplicate source id "north" (already used by sources[0])']);
  });

  it('rejects a time zone that is not an IANA name', () => {
    expect(problems(base.replace('Europe/Paris', 'Mars/Olympus'))).toEqual([
      'line 4: appliance.timezone: expected an IANA time zone name such as "Europe/Paris", got "Mars/Olympus"',
    ]);
  });

  it('rejects bad durations and out-of-range ones', () => {
    const bad = base.replace('camera: { driver: testpattern }', 'camera: { driver: testpattern, timeout: 10 minutes }\n    schedule: { every: 0s }');
    expect(problems(bad)).toEqual([
      'line 7: sources[0].camera.timeout: expected a duration such as "10s", "5m", "2h" or "1d", got "10 minutes"',
      'line 8: sources[0].schedule.every: expected a duration between 1s and 1d, got "0s"',
    ]);
  });

  it('rejects impossible windows', () => {
    const windows = (list: string) => base.replace('camera: { driver: testpattern }', `camera: { driver: testpattern }\n    schedule:\n      every: 5m\n      windows:\n${list}`);
    expect(problems(windows('        - { from: "07:00", to: "07:00" }\n'))).toEqual([
      'line 11: sources[0].schedule.windows[0]: the window is empty: "from" and "to" are both 07:00',
    ]);
    expect(problems(windows('        - { from: "07:01", to: "07:04" }\n'))).toEqual([
      'line 11: sources[0].schedule.windows[0]: no capture slot falls between 07:01 and 07:04 with every 5m (slots are aligned to midnight)',
    ]);
    expect(problems(windows('        - { from: "25:00", to: "26:00", days: [mon, funday] }\n'))).toEqual([
      'line 11: sources[0].schedule.windows[0].days[1]: expected a day of the week: mon, tue, wed, thu, fri, sat, sun',
      'line 11: sources[0].schedule.windows[0].from: expected a time of day "HH:MM" (00:00 to 24:00) or sunrise/sunset with an optional offset such as "sunrise-30m", got "25:00"',
      'line 11: sources[0].schedule.windows[0].to: expected a time of day "HH:MM" (00:00 to 24:00) or sunrise/sunset with an optional offset such as "sunrise-30m", got "26:00"',
    ]);
    // A window wrapping midnight is fine, and so is 24:00 as an end.
    expect(problems(windows('        - { from: "22:00", to: "02:00" }\n        - { from: "20:00", to: "24:00" }\n'))).toEqual([]);
  });

  it('requires appliance.location for sun windows', () => {
    const text = base.replace('camera: { driver: testpattern }', 'camera: { driver: testpattern }\n    schedule:\n      windows:\n        - { from: sunrise-30m, to: "18:00" }');
    expect(problems(text)).toEqual(['line 10: sources[0].schedule.windows[0].from: sunrise needs appliance.location (latitude and longitude) to be set']);
  });

  it('rejects wrong types and values, naming what was expected', () => {
    const text = `${base}web: { port: http }\n`;
    expect(problems(text)).toEqual(['line 8: web.port: expected an integer between 1 and 65535']);
    expect(problems(base.replace('driver: testpattern', 'driver: webcam'))).toEqual([
      'line 7: sources[0].camera.driver: expected "driver" to be one of: testpattern, gphoto2, v4l2, http, rtsp',
    ]);
    expect(problems(base.replace('id: north', 'id: North Tower'))).toEqual([
      'line 6: sources[0].id: expected lowercase letters, digits and "-", starting with a letter or digit, at most 32 characters',
    ]);
  });

  it('reports a missing required key', () => {
    expect(problems(base.replace('  id: bridge-north\n', ''))).toEqual(['line 3: appliance.id: required: a name for this box, such as "bridge-north"']);
  });

  it('reports every error at once, in file order', () => {
    const text = `
appliance: { id: Bad_Id, timezone: Nowhere/Never }
web: { port: 99999, colour: blue }
sources:
  - id: a
    camera: { driver: testpattern, width: 7000 }
  - id: a
    camera: { driver: testpattern }
`;
    const found = problems(text);
    expect(found).toHaveLength(6);
    expect(found.map((p) => p.split(': ')[1])).toEqual([
      'appliance.id',
      'appliance.timezone',
      'web.port',
      'web.colour',
      'sources[0].camera.width',
      'sources[1].id',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const found = problems('appliance:\n  id: x\n  id: y\n');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^line 3, column 3: YAML syntax: Map keys must be unique/);
  });

  it('rejects sync targets that name unknown sources', () => {
    const text = `${base}sync:\n  targets:\n    - { id: hq, type: sftp, host: h, username: u, privateKey: k, hostKey: "SHA256:${'A'.repeat(43)}", remoteDir: /srv, sources: [south] }\n`;
    expect(problems(text)).toEqual(['line 10: sync.targets[0].sources[0]: no source has the id "south"']);
  });

  it('reads alert settings with their defaults, and warns when alerts have nowhere to go', () => {
    const text = `${base}alerts: { webhook: { url: "https://example.com/hook", headers: { Authorization: "Bearer x" } }, quietPeriod: 10m }\n`;
    const { config, warnings } = parseConfig(text, FILE);
    expect(config.alerts).toMatchObject({ lateAfter: 900_000, quietPeriod: 600_000, remindEvery: 21_600_000, temperatureMax: 80, dailyReport: { enabled: true, at: '08:00' } });
    expect(warnings).toEqual([]);
    expect(parseConfig(base, FILE).warnings).toEqual([expect.stringMatching(/^no alert channel: set alerts.webhook or alerts.email/)]);
    expect(problems(`${base}alerts: { dailyReport: { at: "25:00" }, webhook: { url: "ftp://x", headers: { "bad header": "v" } } }\n`)).toEqual([
      expect.stringMatching(/alerts.webhook.url: expected an http:\/\/ or https:\/\/ URL/),
      expect.stringMatching(/alerts.webhook.headers.bad header: expected an HTTP header name/),
      expect.stringMatching(/alerts.dailyReport.at: expected a local time "HH:MM"/),
    ]);
  });

  it('reads log levels per module, and names an unknown module or level', () => {
    expect(parseConfig(base, FILE).config.logging).toEqual({ level: 'info', modules: {} });
    expect(parseConfig(`${base}logging: { level: warn, modules: { sync: debug, capture: trace } }\n`, FILE).config.logging).toEqual({ level: 'warn', modules: { sync: 'debug', capture: 'trace' } });
    const found = problems(`${base}logging: { level: loud, modules: { synk: debug, web: verbose } }\n`);
    expect(found).toEqual([
      expect.stringMatching(/logging.level: expected one of fatal, error, warn, info, debug, trace, silent/),
      expect.stringMatching(/logging.modules.web: expected one of fatal/),
      expect.stringMatching(/logging.modules.synk: unknown key "synk"; did you mean "sync"\?/),
    ]);
  });

  it('takes a per-source retention that overrides the storage one', () => {
    const text = base.replace('    camera:', '    retention: { maxAgeDays: 7 }\n    camera:');
    const { config } = parseConfig(`${text}storage: { retention: { maxAgeDays: 30, minFreePercent: 15 } }\n`, FILE);
    expect(config.storage.retention).toEqual({ maxAgeDays: 30, minFreePercent: 15, reserveMB: 300 });
    expect(config.sources[0]!.retention).toEqual({ maxAgeDays: 7 });
  });

  it('says when the file cannot be read', () => {
    expect(() => loadConfig('/nonexistent/lapsebox.yaml')).toThrow('cannot read the configuration file: the file does not exist');
  });

  it('ships example and demo files that validate', () => {
    const root = path.join(__dirname, '..', '..');
    for (const name of ['lapsebox.example.yaml', 'demo.yaml']) {
      expect(() => loadConfig(path.join(root, 'config', name))).not.toThrow();
    }
  });

  it('publishes a JSON Schema that matches the declaration', () => {
    // Regenerate with `npm run schema` after changing daemon/config/schema.ts.
    expect(fs.readFileSync(SCHEMA_FILE, 'utf8')).toBe(schemaText());
    const schema = JSON.parse(schemaText()) as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(schema.properties)).toEqual(['appliance', 'storage', 'web', 'sources', 'sync', 'alerts', 'mqtt', 'logging']);
    expect(schema.additionalProperties).toBe(false);
  });

  describe('mqtt', () => {
    /** The base file with an mqtt section on line 8, in flow style. */
    const mqtt = (section: string) => `${base}mqtt: { ${section} }\n`;
    const PREFIX_RULE = 'topic levels separated by "/", without "+", "#", spaces, or a leading or trailing "/"';

    it('reads an mqtt section with its defaults, and none without one', () => {
      const { config } = parseConfig(mqtt('url: "mqtts://broker.example.com:8883"'), FILE);
      expect(config.mqtt).toEqual({
        url: 'mqtts://broker.example.com:8883',
        topicPrefix: 'lapsebox',
        interval: 60_000,
        keepalive: 30_000,
        homeAssistant: { enabled: false, discoveryPrefix: 'homeassistant' },
        commands: false,
      });
      expect(parseConfig(base, FILE).config.mqtt).toBeUndefined();
    });

    it('reads every key set', () => {
      const text = `${base}mqtt:
  url: wss://broker.example.com/mqtt
  username: bridge-north
  password: s3cret
  topicPrefix: acme/sites
  interval: 5m
  keepalive: 1m
  homeAssistant: { enabled: true, discoveryPrefix: ha }
  commands: true
`;
      expect(parseConfig(text, FILE).config.mqtt).toEqual({
        url: 'wss://broker.example.com/mqtt',
        username: 'bridge-north',
        password: 's3cret',
        topicPrefix: 'acme/sites',
        interval: 300_000,
        keepalive: 60_000,
        homeAssistant: { enabled: true, discoveryPrefix: 'ha' },
        commands: true,
      });
    });

    it('refuses a broker URL of another scheme or with credentials in it', () => {
      expect(problems(mqtt('url: "https://broker.example.com"'))).toEqual([
        "line 8: mqtt.url: expected an mqtt://, mqtts://, ws:// or wss:// URL with the broker's host, such as mqtts://broker.example.com:8883",
      ]);
      for (const url of ['mqtts://bridge-north:s3cret@broker.example.com:8883', 'mqtts://bridge-north@broker.example.com:8883']) {
        expect(problems(mqtt(`url: "${url}"`))).toEqual([
          'line 8: mqtt.url: expected the user name and password in mqtt.username and mqtt.password (or passwordFile), not in the URL',
        ]);
      }
    });

    it('refuses a broker URL without a host', () => {
      expect(problems(mqtt('url: "mqtts:broker.example.com"'))).toEqual([expect.stringMatching(/^line 8: mqtt\.url: /)]);
      expect(problems(mqtt('url: "mqtt:"'))).toEqual([expect.stringMatching(/^line 8: mqtt\.url: /)]);
    });

    it('names the key of a login or certificate that does not add up', () => {
      expect(problems(mqtt('url: "mqtts://b.example.com", username: u, password: p, passwordFile: mqtt.pass'))).toEqual([
        'line 8: mqtt.passwordFile: expected one of password or passwordFile, not both',
      ]);
      expect(problems(mqtt('url: "mqtts://b.example.com", password: p'))).toEqual(['line 8: mqtt.username: required with a password: the user name']);
      expect(problems(mqtt('url: "mqtts://b.example.com", passwordFile: mqtt.pass'))).toEqual(['line 8: mqtt.username: required with a password: the user name']);
      expect(problems(mqtt('url: "mqtts://b.example.com", cert: box.crt'))).toEqual([
        'line 8: mqtt.cert: expected cert and key together (a client certificate and its private key)',
      ]);
      expect(problems(mqtt('url: "mqtts://b.example.com", key: box.key'))).toEqual([
        'line 8: mqtt.cert: expected cert and key together (a client certificate and its private key)',
      ]);
      for (const url of ['mqtt://b.example.com', 'ws://b.example.com/mqtt']) {
        expect(problems(mqtt(`url: "${url}", ca: ca.pem`))).toEqual([
          'line 8: mqtt.url: expected an mqtts:// or wss:// URL with ca, cert or key: a plain connection uses no certificate',
        ]);
      }
      // The same with TLS is fine.
      expect(problems(mqtt('url: "mqtts://b.example.com", username: u, passwordFile: mqtt.pass, ca: ca.pem, cert: box.crt, key: box.key'))).toEqual([]);
    });

    it('refuses certificates on a plain URL whatever the case of its scheme', () => {
      expect(problems(mqtt('url: "MQTT://b.example.com", ca: ca.pem'))).toEqual([expect.stringMatching(/^line 8: mqtt\.url: expected an mqtts:\/\/ or wss:\/\/ URL with ca/)]);
    });

    it('refuses a topic prefix with a wildcard, an empty level or a "/" at either end', () => {
      for (const prefix of ['acme/#', 'acme/+/sites', '/acme', 'acme/', 'acme//sites', '']) {
        expect({ prefix, problems: problems(mqtt(`url: "mqtts://b.example.com", topicPrefix: "${prefix}"`)) }).toEqual({
          prefix,
          problems: [`line 8: mqtt.topicPrefix: expected a topic prefix such as "lapsebox" or "acme/sites": ${PREFIX_RULE}`],
        });
      }
      expect(problems(mqtt('url: "mqtts://b.example.com", homeAssistant: { discoveryPrefix: "ha/" }'))).toEqual([
        `line 8: mqtt.homeAssistant.discoveryPrefix: expected a discovery prefix such as "homeassistant": ${PREFIX_RULE}`,
      ]);
    });

    it('names an unknown key with a suggestion, and a duration out of range', () => {
      expect(problems(mqtt('url: "mqtts://b.example.com", topicprefix: acme'))).toEqual([
        'line 8: mqtt.topicprefix: unknown key "topicprefix"; did you mean "topicPrefix"? (allowed here: url, username, password, passwordFile, ca, cert, key, topicPrefix, interval, keepalive, homeAssistant, commands)',
      ]);
      expect(problems(mqtt('url: "mqtts://b.example.com", interval: 1s'))).toEqual(['line 8: mqtt.interval: expected a duration between 5s and 1h, got "1s"']);
    });

    it('resolves passwordFile, ca, cert and key against the folder of the file', () => {
      const text = mqtt('url: "mqtts://b.example.com", username: u, passwordFile: secrets/mqtt.pass, ca: ../pki/ca.pem, cert: /etc/ssl/box.crt, key: private/box.key');
      const { config } = parseConfig(text, '/opt/box/config/demo.yaml');
      expect(config.mqtt).toMatchObject({
        passwordFile: '/opt/box/config/secrets/mqtt.pass',
        ca: '/opt/box/pki/ca.pem',
        // An absolute path stays as it is.
        cert: '/etc/ssl/box.crt',
        key: '/opt/box/config/private/box.key',
      });
    });

    it('warns while the password file is not there', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-config-'));
      try {
        const file = path.join(dir, 'box.yaml');
        const text = mqtt('url: "mqtts://b.example.com", username: u, passwordFile: mqtt.pass');
        const mqttWarnings = () => parseConfig(text, file).warnings.filter((w) => w.startsWith('mqtt.'));
        expect(mqttWarnings()).toEqual([`mqtt.passwordFile: ${path.join(dir, 'mqtt.pass')} does not exist; the box cannot connect to the MQTT broker until it does`]);
        fs.writeFileSync(path.join(dir, 'mqtt.pass'), 's3cret\n');
        expect(mqttWarnings()).toEqual([]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('web.publicUrl', () => {
    const publicUrl = (url: string) => `${base}web: { publicUrl: "${url}" }\n`;
    const REFUSED = 'line 8: web.publicUrl: expected the address people open, without a user, a query or a fragment';

    it('drops a trailing "/"', () => {
      expect(parseConfig(publicUrl('https://bridge-north.example.com/'), FILE).config.web.publicUrl).toBe('https://bridge-north.example.com');
      expect(parseConfig(publicUrl('https://proxy.example.com/boxes/bridge-north/'), FILE).config.web.publicUrl).toBe('https://proxy.example.com/boxes/bridge-north');
      expect(parseConfig(publicUrl('http://10.0.0.5:8080'), FILE).config.web.publicUrl).toBe('http://10.0.0.5:8080');
    });

    it('refuses a query, a fragment, a user and a scheme other than http(s)', () => {
      expect(problems(publicUrl('https://bridge-north.example.com/?box=1'))).toEqual([REFUSED]);
      expect(problems(publicUrl('https://bridge-north.example.com/#ui'))).toEqual([REFUSED]);
      expect(problems(publicUrl('https://admin@bridge-north.example.com/'))).toEqual([REFUSED]);
      expect(problems(publicUrl('ftp://bridge-north.example.com/'))).toEqual(['line 8: web.publicUrl: expected an http:// or https:// URL']);
    });

    it('refuses an empty query or fragment, which would end up inside every link', () => {
      expect(problems(publicUrl('https://bridge-north.example.com/?'))).toEqual([REFUSED]);
      expect(problems(publicUrl('https://bridge-north.example.com/#'))).toEqual([REFUSED]);
    });
  });

  describe('sources[].public.sizes', () => {
    const sizes = (list: string) => `${base}    public: { enabled: true, width: 1280, sizes: ${list} }\n`;

    it('is empty by default; a width equal to public.width is allowed', () => {
      expect(parseConfig(base, FILE).config.sources[0]!.public.sizes).toEqual([]);
      expect(parseConfig(sizes('[640, 1280, 1920]'), FILE).config.sources[0]!.public.sizes).toEqual([640, 1280, 1920]);
    });

    it('names the key path of a width out of range, not whole, listed twice, or of too many', () => {
      expect(problems(sizes('[8, 640.5, 9000]'))).toEqual([
        'line 8: sources[0].public.sizes[0]: expected an integer between 16 and 8000',
        'line 8: sources[0].public.sizes[1]: expected an integer between 16 and 8000',
        'line 8: sources[0].public.sizes[2]: expected an integer between 16 and 8000',
      ]);
      expect(problems(sizes('[640, 1920, 640]'))).toEqual(['line 8: sources[0].public.sizes[2]: 640 is listed twice (already at [0])']);
      expect(problems(sizes('[100, 200, 300, 400, 500, 600, 700]'))).toEqual(['line 8: sources[0].public.sizes: expected at most 6 widths']);
      expect(problems(sizes('640'))).toEqual(['line 8: sources[0].public.sizes: expected a list of widths in pixels, such as [640, 1280, 1920]']);
    });
  });

  it('does not depend on the working directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-config-'));
    try {
      fs.writeFileSync(path.join(dir, 'box.yaml'), `${base}storage: { dataDir: data }\n`);
      expect(loadConfig(path.join(dir, 'box.yaml')).config.storage.dataDir).toBe(path.join(dir, 'data'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
