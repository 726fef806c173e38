/**
 * A real MQTT broker on loopback, for the MQTT tests: Debian's mosquitto 2.0 (package
 * `mosquitto`), with a password file, an optional ACL file, persistence (retained messages
 * survive a stop() + startAgain(), as they do when a real broker restarts; not a kill()), and
 * up to three listeners: plain MQTT, MQTT over websockets, MQTT over TLS (certificates from a
 * throw-away CA made here with the `openssl` program). The MQTT and TLS ones listen on
 * 127.0.0.1 only; the websockets one on every address (a limit of mosquitto 2.0.11 with
 * libwebsockets 4.1, see #prepare()).
 *
 * What mosquitto 2.0.11 answers, as MQTT.js 5 reports it (test/integration/loopback-mosquitto.test.ts):
 *   - a wrong password, an unknown user, no user: CONNACK 135 "Connection refused: Not authorized"
 *     (not 134 "Bad User Name or Password"); 5 in MQTT 3.1.1;
 *   - a publish the ACL refuses: MQTT 5 QoS 1/2, PUBACK/PUBREC 135 "Publish error: Not authorized";
 *     MQTT 3.1.1 and QoS 0, a silent drop; the connection stays up either way;
 *   - a subscription the ACL does not let read: granted all the same; nothing is delivered on it.
 *
 * Every program (mosquitto, mosquitto_passwd, openssl) is started with an argument array,
 * never through a shell; the broker runs in its own process group.
 *
 * Layout of `dir` (kept between startAgain()s; the caller removes it):
 *   mosquitto.conf, passwd, acl
 *   mosquitto.log   the broker's log (log_type all) and its stdout/stderr (config errors)
 *   data/           persistence: data/mosquitto.db
 *   tls/            ca.crt ca.key server.crt server.key client.crt client.key other-ca.crt other-ca.key
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accepts, freePort } from './net';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) => fs.existsSync(p)) ?? '/usr/sbin/mosquitto';
export const MOSQUITTO_PASSWD = ['/usr/bin/mosquitto_passwd', '/usr/local/bin/mosquitto_passwd'].find((p) => fs.existsSync(p)) ?? '/usr/bin/mosquitto_passwd';
export const OPENSSL = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((p) => fs.existsSync(p)) ?? '/usr/bin/openssl';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface BrokerOptions {
  /** Folder of config, password file, persistence, log and certificates; kept between startAgain()s. */
  dir: string;
  /** name -> password, hashed into the password file with mosquitto_passwd. */
  users?: Record<string, string>;
  /** ACL file text, mosquitto syntax (`user`, `topic read|write|readwrite`, `pattern ... %u/%c`). */
  acl?: string;
  /** Let clients in without a username; false by default (as mosquitto 2 itself). */
  anonymous?: boolean;
  /** A second listener speaking MQTT over websockets (`ws://`). */
  websockets?: boolean;
  /** A third listener speaking MQTT over TLS (`mqtts://localhost`), with certificates made here. */
  tls?: boolean;
  /** With tls: refuse TLS clients without a certificate signed by the test CA (clientCertFile works); false by default. */
  requireCertificate?: boolean;
  /** The plain MQTT port; a free one by default. */
  port?: number;
}

export interface BrokerPorts {
  mqtt: number;
  websockets: number | null;
  tls: number | null;
}

export class TestBroker {
  readonly dir: string;
  readonly port: number;
  readonly ports: Readonly<BrokerPorts>;
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  /** `ws://127.0.0.1:<port>`, or null without `websockets`. */
  readonly wsUrl: string | null;
  /** `mqtts://localhost:<port>` (the server certificate is for localhost and 127.0.0.1), or null without `tls`. */
  readonly tlsUrl: string | null;
  /** The test CA that signed the server and client certificates (PEM file), or null without `tls`. */
  readonly caFile: string | null;
  readonly clientCertFile: string | null;
  readonly clientKeyFile: string | null;
  /** An unrelated CA: a client that trusts only this one must refuse the broker. null without `tls`. */
  readonly otherCaFile: string | null;
  readonly #options: BrokerOptions;
  #process: ChildProcess | null = null;
  #stopping: Promise<void> | null = null;

  private constructor(options: BrokerOptions, ports: BrokerPorts) {
    this.#options = options;
    this.dir = options.dir;
    this.ports = ports;
    this.port = ports.mqtt;
    this.url = `mqtt://127.0.0.1:${ports.mqtt}`;
    this.wsUrl = ports.websockets === null ? null : `ws://127.0.0.1:${ports.websockets}`;
    this.tlsUrl = ports.tls === null ? null : `mqtts://localhost:${ports.tls}`;
    const tls = (name: string) => (ports.tls === null ? null : path.join(options.dir, 'tls', name));
    this.caFile = tls('ca.crt');
    this.clientCertFile = tls('client.crt');
    this.clientKeyFile = tls('client.key');
    this.otherCaFile = tls('other-ca.crt');
  }

  /** Whether Debian's mosquitto (and mosquitto_passwd) are installed. */
  static available(): boolean {
    return fs.existsSync(MOSQUITTO) && fs.existsSync(MOSQUITTO_PASSWD);
  }

  static async start(options: BrokerOptions): Promise<TestBroker> {
    if (!TestBroker.available()) {
      throw new Error(`the loopback MQTT broker needs ${MOSQUITTO} and ${MOSQUITTO_PASSWD}: install Debian's mosquitto package (apt-get install mosquitto)`);
    }
    if (options.tls && !fs.existsSync(OPENSSL)) throw new Error(`the TLS listener of the loopback MQTT broker needs ${OPENSSL}: install Debian's openssl package`);
    if (options.requireCertificate && !options.tls) throw new Error('requireCertificate needs tls: true');
    for (const name of Object.keys(options.users ?? {})) {
      // The password file is "name:hash" lines; the config lines are split on whitespace.
      if (!name || /[:\s]/.test(name)) throw new Error(`MQTT user name ${JSON.stringify(name)} must be non-empty, without ':' or white space`);
    }
    fs.mkdirSync(options.dir, { recursive: true });
    const taken = new Set<number>(options.port === undefined ? [] : [options.port]);
    const another = async () => {
      for (;;) {
        const p = await freePort();
        if (!taken.has(p)) {
          taken.add(p);
          return p;
        }
      }
    };
    const ports: BrokerPorts = {
      mqtt: options.port ?? (await another()),
      websockets: options.websockets ? await another() : null,
      tls: options.tls ? await another() : null,
    };
    const broker = new TestBroker(options, ports);
    broker.#prepare();
    await broker.startAgain();
    return broker;
  }

  get running(): boolean {
    return this.#process !== null;
  }

  /** The broker's process id while it runs, else null. */
  get pid(): number | null {
    return this.#process?.pid ?? null;
  }

  get logFile(): string {
    return path.join(this.dir, 'mosquitto.log');
  }

  /** Everything the broker logged so far, across restarts (log_type all: connections, denied publishes, ...). */
  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  /**
   * (Re)starts the broker with the same config, ports and persistence (after stop() or kill():
   * the end of an outage), and waits until it says it runs and every listener accepts TCP
   * connections. Does nothing while it runs.
   */
  async startAgain(): Promise<void> {
    if (this.#stopping) await this.#stopping;
    if (this.#process) return;
    const logStart = this.log().length;
    const fd = fs.openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      // stdout/stderr to the log too: errors in the config are printed before the log file is opened.
      // detached: its own process group (as the other loopback servers), which stop() and kill() signal as a whole.
      child = spawn(MOSQUITTO, ['-c', path.join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', fd, fd], detached: true });
    } finally {
      fs.closeSync(fd);
    }
    this.#process = child;
    const failed: { error?: Error } = {};
    child.on('error', (e) => {
      failed.error = e;
      if (this.#process === child) this.#process = null;
    });
    child.on('exit', () => {
      if (this.#process === child && !this.#stopping) this.#process = null;
    });
    const ports = [this.ports.mqtt, this.ports.websockets, this.ports.tls].filter((p): p is number => p !== null);
    const started = Date.now();
    for (;;) {
      const log = this.log().slice(logStart);
      if (this.#process !== child) {
        const why = failed.error ? `could not be started (${failed.error.message})` : `exited at start-up (${describeExit(child)})`;
        throw new Error(`mosquitto ${why}${websocketsHint(this, log)}; the end of its log (${this.logFile}):\n${tail(log, 30)}`);
      }
      // "running" comes once every listener is open; a port that accepts could still be someone else's before that.
      if (/mosquitto version \S+ running/.test(log) && (await Promise.all(ports.map(accepts))).every(Boolean)) return;
      if (Date.now() - started > READY_TIMEOUT_MS) {
        await this.stop();
        throw new Error(`mosquitto did not accept connections on port(s) ${ports.join(', ')} within ${READY_TIMEOUT_MS / 1000} s${websocketsHint(this, log)}; the end of its log (${this.logFile}):\n${tail(this.log().slice(logStart), 30)}`);
      }
      await sleep(20);
    }
  }

  /**
   * Stops the broker as a service stop would: SIGTERM (mosquitto then writes its persistence
   * file, so retained messages and persistent sessions survive), up to 5 s, then SIGKILL.
   * Idempotent; concurrent calls share one stop.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop('SIGTERM').finally(() => (this.#stopping = null));
    return this.#stopping;
  }

  /**
   * Kills the broker as a crash or a power cut would: SIGKILL, nothing saved on the way out.
   * What was retained since the last save is lost (autosave is every 30 min, mosquitto's
   * default, so in a test: everything since the last start()/startAgain()).
   */
  kill(): Promise<void> {
    this.#stopping ??= this.#stop('SIGKILL').finally(() => (this.#stopping = null));
    return this.#stopping;
  }

  async #stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.#process;
    if (!child?.pid) {
      this.#process = null;
      return;
    }
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(child.pid, signal);
    const timer = new Promise<'timeout'>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
      void exited.then(() => clearTimeout(t));
    });
    if ((await Promise.race([exited, timer])) === 'timeout') {
      signalGroup(child.pid, 'SIGKILL');
      await exited;
    }
    this.#process = null;
  }

  /** Writes the config, password file, ACL file and (with tls) the certificates. */
  #prepare(): void {
    const { dir } = this;
    const options = this.#options;
    const file = (name: string) => path.join(dir, name);
    fs.mkdirSync(file('data'), { recursive: true });

    const passwd = file('passwd');
    fs.rmSync(passwd, { force: true });
    Object.entries(options.users ?? {}).forEach(([name, password], i) => {
      // -b: password on the command line (fine for throw-away test passwords); -c the first time creates the file.
      run(MOSQUITTO_PASSWD, [...(i === 0 ? ['-c'] : []), '-b', passwd, name, password]);
    });
    if (options.acl !== undefined) fs.writeFileSync(file('acl'), options.acl.endsWith('\n') ? options.acl : `${options.acl}\n`);
    if (options.tls) makeCertificates(path.join(dir, 'tls'));

    const { ports } = this;
    const config = [
      '# Written by scripts/lib/loopback-mosquitto.ts',
      // One set of security settings (users, ACL, anonymous) for all listeners.
      'per_listener_settings false',
      `allow_anonymous ${options.anonymous ? 'true' : 'false'}`,
      // Without users and without anonymous, every client is refused: there is no password file to check against.
      ...(fs.existsSync(passwd) ? [`password_file ${passwd}`] : []),
      ...(options.acl !== undefined ? [`acl_file ${file('acl')}`] : []),
      // Retained messages and persistent sessions in data/mosquitto.db, written on a SIGTERM
      // stop (and every 30 min, mosquitto's default): they survive stop() + startAgain(), not kill().
      'persistence true',
      `persistence_location ${file('data')}/`,
      'persistence_file mosquitto.db',
      'autosave_interval 1800',
      `log_dest file ${this.logFile}`,
      'log_type all',
      'log_timestamp_format %Y-%m-%dT%H:%M:%S',
      'connection_messages true',
      // As root, mosquitto 2 switches to the user "mosquitto", who could not read the files here
      // (nor write the log and the persistence file); as anyone else it stays who it is.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      // No pid_file: stop() signals the process it started.
      '',
      `listener ${ports.mqtt} 127.0.0.1`,
      'protocol mqtt',
    ];
    // Beware: mosquitto 2.0.11 hands the address to libwebsockets (4.1 in Debian 12) as an
    // interface *name*; no interface is called "127.0.0.1", so the websockets listener binds
    // every address, IPv4 and IPv6 (ss -ltn shows *:port). Naming the interface (`lo`) or
    // `socket_domain ipv4` makes mosquitto refuse to start. Hence no anonymous access by default.
    if (ports.websockets !== null) config.push('', `listener ${ports.websockets} 127.0.0.1`, 'protocol websockets');
    if (ports.tls !== null) {
      const tls = (name: string) => path.join(dir, 'tls', name);
      config.push(
        '',
        `listener ${ports.tls} 127.0.0.1`,
        'protocol mqtt',
        `cafile ${tls('ca.crt')}`,
        `certfile ${tls('server.crt')}`,
        `keyfile ${tls('server.key')}`,
        `require_certificate ${options.requireCertificate ? 'true' : 'false'}`,
      );
    }
    fs.writeFileSync(file('mosquitto.conf'), `${config.join('\n')}\n`);
  }
}

/**
 * A test CA, a server certificate for CN=localhost (subjectAltName DNS:localhost and
 * IP:127.0.0.1) and a client certificate signed by it, and a second, unrelated CA. EC P-256
 * keys: made in milliseconds (RSA keys take a while), and both mosquitto and Node take them.
 * Our own openssl config, so that the system's openssl.cnf (default extensions) plays no part.
 */
function makeCertificates(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  fs.writeFileSync(
    f('openssl.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = unused',
      '[ca_ext]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[server_ext]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = DNS:localhost, IP:127.0.0.1',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '[client_ext]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = clientAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string, cn: string) =>
    run(OPENSSL, ['req', '-x509', '-new', ...newKey, '-config', f('openssl.cnf'), '-extensions', 'ca_ext', '-subj', `/CN=${cn}`, '-days', '3650', '-keyout', f(`${name}.key`), '-out', f(`${name}.crt`)]);
  const signed = (name: string, cn: string, ext: string) => {
    run(OPENSSL, ['req', '-new', ...newKey, '-config', f('openssl.cnf'), '-subj', `/CN=${cn}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`)]);
    run(OPENSSL, [
      'x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'),
      '-set_serial', `0x${crypto.randomBytes(16).toString('hex')}`, '-days', '825',
      '-extfile', f('openssl.cnf'), '-extensions', ext, '-out', f(`${name}.crt`),
    ]);
    fs.rmSync(f(`${name}.csr`));
  };
  ca('ca', 'lapsebox test CA');
  signed('server', 'localhost', 'server_ext');
  signed('client', 'lapsebox-test-client', 'client_ext');
  ca('other-ca', 'lapsebox unrelated test CA');
}

/** Runs a helper program; its stderr in the error when it fails. */
function run(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (e) {
    const { stderr } = e as { stderr?: Buffer };
    throw new Error(`${path.basename(command)} ${args[0]} failed: ${stderr?.toString().trim() || (e as Error).message}`);
  }
}

/**
 * Debian builds mosquitto with websockets (libwebsockets linked in); a build without them
 * refuses `protocol websockets` at start-up. Say so rather than leave the reader to guess.
 */
function websocketsHint(broker: TestBroker, log: string): string {
  if (broker.ports.websockets === null) return '';
  if (/websockets support not available|Unable to create websockets listener/i.test(log)) {
    return ` (its websockets listener failed: this mosquitto build may lack websockets support; Debian's mosquitto package has it)`;
  }
  return '';
}

function describeExit(child: ChildProcess): string {
  if (child.signalCode) return `signal ${child.signalCode}`;
  return `exit code ${child.exitCode}`;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // group already gone
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
