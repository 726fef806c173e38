/**
 * The broker: the only code that speaks MQTT (MQTT.js). A `BrokerLink` keeps the
 * daemon connected for as long as it runs: it connects, subscribes, and after any
 * loss connects again with a growing wait (1 s to 1 min), for ever. Each connection
 * gets a new client, so nothing of a dead connection is sent again behind the
 * service's back: the service's own queue (outgoing.ts) decides what goes out.
 * `openSession` is one connection for a command (`lapsebox fleet`, the doctor).
 *
 * Errors are `BrokerError`s whose message says what a person should check, without
 * the password.
 */
import fs from 'node:fs/promises';
import { connect, type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { MqttConfig } from '../config/schema';
import type { Logger } from '../logger';
import { backoffDelay, type BackoffPolicy } from '../sync/backoff';
import { errorCodes, messageOf } from '../error-causes';
import { settledWithin } from '../settled';

export type BrokerErrorKind = 'config' | 'dns' | 'refused' | 'unreachable' | 'tls' | 'login' | 'not-authorized' | 'timeout' | 'closed' | 'protocol';

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  constructor(
    readonly kind: BrokerErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface WillMessage {
  topic: string;
  payload: string;
  retain: boolean;
}

export interface Message {
  topic: string;
  payload: Buffer;
  retain: boolean;
  /** MQTT 5 request/response: where the sender wants the answer, and what to echo. */
  responseTopic: string | null;
  correlationData: Buffer | null;
}

/** `mqtts://host:8883`: the broker as shown (the URL has no credentials; the schema refuses them). */
export function brokerName(config: Pick<MqttConfig, 'url'>): string {
  const u = new URL(config.url);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

/** The default port of each scheme, for messages and the doctor. */
export function brokerAddress(config: Pick<MqttConfig, 'url'>): { host: string; port: number; tls: boolean } {
  const u = new URL(config.url);
  const scheme = u.protocol.replace(/:$/, '');
  const tls = scheme === 'mqtts' || scheme === 'wss';
  const defaults: Record<string, number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? defaults[scheme]! : Number(u.port), tls };
}

/** MQTT.js's options for a config: the password and certificate files are read now (they may have changed). */
export async function clientOptions(config: MqttConfig, clientId: string, extra: { will?: WillMessage; keepaliveMs?: number; protocolVersion?: 4 | 5 } = {}): Promise<IClientOptions> {
  const read = async (key: 'passwordFile' | 'ca' | 'cert' | 'key', file: string): Promise<Buffer> => {
    try {
      return await fs.readFile(file);
    } catch (err) {
      const code = errorCodes(err)[0];
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read by this user' : `cannot be read (${messageOf(err)})`;
      throw new BrokerError('config', `mqtt.${key}: ${file} ${why}`);
    }
  };
  const password = config.passwordFile !== undefined ? (await read('passwordFile', config.passwordFile)).toString('utf8').split(/\r?\n/)[0]!.trim() : config.password;
  if (config.passwordFile !== undefined && password === '') throw new BrokerError('config', `mqtt.passwordFile: ${config.passwordFile} is empty`);
  return {
    clientId,
    protocolVersion: extra.protocolVersion ?? 5,
    clean: true,
    keepalive: Math.round((extra.keepaliveMs ?? config.keepalive) / 1000),
    // This file reconnects, with a new client each time: MQTT.js never resends on its own.
    reconnectPeriod: 0,
    connectTimeout: 20_000,
    resubscribe: false,
    // MQTT.js would otherwise pre-build 65,536 two-byte buffers (mqtt-packet's number cache): 7 MB of heap for nothing we need.
    writeCache: false,
    ...(config.username !== undefined ? { username: config.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(config.ca !== undefined ? { ca: await read('ca', config.ca) } : {}),
    ...(config.cert !== undefined ? { cert: await read('cert', config.cert) } : {}),
    ...(config.key !== undefined ? { key: await read('key', config.key) } : {}),
    rejectUnauthorized: true,
    ...(extra.will ? { will: { topic: extra.will.topic, payload: Buffer.from(extra.will.payload), qos: 1, retain: extra.will.retain } } : {}),
  };
}

/** What went wrong, in the terms of the broker's configuration. */
export function describeBrokerError(err: unknown, config: Pick<MqttConfig, 'url'>): BrokerError {
  if (err instanceof BrokerError) return err;
  const { host, port } = brokerAddress(config);
  const where = `${host}:${port}`;
  const codes = errorCodes(err);
  const message = messageOf(err);
  const reason = typeof (err as { code?: unknown } | null)?.code === 'number' ? ((err as { code: number }).code) : null;
  if (reason !== null) {
    // Mosquitto answers a wrong password with "not authorized" (5, or 135 in MQTT 5), like an unknown user.
    if (reason === 4 || reason === 134 || reason === 5 || reason === 135) {
      return new BrokerError('login', `the broker refused the login (${message}): check mqtt.username and the password against the broker's users`);
    }
    if (reason === 138) return new BrokerError('not-authorized', `the broker has banned this client (${message})`);
    if (reason === 1 || reason === 132) return new BrokerError('protocol', `the broker does not speak this MQTT version (${message})`);
    if (reason === 2 || reason === 133) return new BrokerError('not-authorized', `the broker refused the client id (${message})`);
    return new BrokerError('protocol', `the broker refused the connection: ${message}`);
  }
  if (codes.includes('ENOTFOUND') || codes.includes('EAI_AGAIN')) return new BrokerError('dns', `cannot resolve ${host}: check mqtt.url and the box's DNS`);
  if (codes.includes('ECONNREFUSED')) return new BrokerError('refused', `${where} refused the connection: is the broker running and listening on that port?`);
  if (codes.some((c) => ['EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE'].includes(c))) {
    return new BrokerError('unreachable', `${where} cannot be reached (${codes.join(', ')}): check the network and the broker`);
  }
  const tlsCode = codes.find((c) => /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|EPROTO/.test(c));
  if (tlsCode !== undefined || /certificate|TLS|SSL/i.test(message)) {
    return new BrokerError('tls', `the TLS handshake with ${where} failed (${tlsCode ?? message}): check mqtt.ca (the authority that signed the broker's certificate), the host name in mqtt.url, and the box's clock`);
  }
  if (/connack timeout|keepalive timeout/i.test(message)) return new BrokerError('timeout', `${where} did not answer in time (${message})`);
  const http = /Unexpected server response: (\d+)/.exec(message);
  if (http) return new BrokerError('protocol', `${where} answered HTTP ${http[1]} to the WebSocket: check the path in mqtt.url (often /mqtt)`);
  return new BrokerError('closed', `the connection to ${where} failed: ${message}`);
}

/** An MQTT 5 PUBACK refusing a message: the broker's ACL, most often. */
export function describePublishError(err: unknown, topic: string, config: Pick<MqttConfig, 'url'>): BrokerError {
  const reason = typeof (err as { code?: unknown } | null)?.code === 'number' ? (err as { code: number }).code : null;
  if (reason === 135) return new BrokerError('not-authorized', `the broker does not let this box publish on ${topic} (not authorized): check the broker's ACL`);
  if (reason !== null && reason >= 128) return new BrokerError('protocol', `the broker refused the message on ${topic}: ${messageOf(err)}`);
  return describeBrokerError(err, config);
}

export type LinkActivity = 'connecting' | 'connected' | 'waiting' | 'stopped';

export interface LinkStatus {
  activity: LinkActivity;
  /** Connected since; otherwise since when the box has been without a connection (since start if it never had one). */
  since: number;
  /** Why the last connection ended or failed; null once connected. */
  lastError: BrokerError | null;
  /** Failed attempts in a row. */
  failures: number;
  /** While waiting: when the next attempt starts. */
  nextAttemptAt: number | null;
}

export interface LinkHandlers {
  /** A connection is up, subscriptions made: publish what a new connection needs. */
  connected(): void;
  /** The connection is gone (or an attempt failed); the link tries again by itself. */
  disconnected(error: BrokerError): void;
  message(message: Message): void;
}

export interface BrokerLinkDeps {
  config: () => MqttConfig;
  clientId: string;
  will: WillMessage;
  handlers: LinkHandlers;
  log: Logger;
  now?: () => number;
  backoff?: BackoffPolicy;
}

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 60_000 };
/** How long a stop waits for the last messages (offline) to be acknowledged. */
const STOP_PUBLISH_MS = 2_000;

/** The daemon's connection to its broker, kept up for ever. */
export class BrokerLink {
  readonly #deps: BrokerLinkDeps;
  readonly #now: () => number;
  #client: MqttClient | null = null;
  #connected = false;
  #stopped = true;
  #timer: NodeJS.Timeout | null = null;
  #failures = 0;
  #activity: LinkActivity = 'stopped';
  #since = 0;
  /** When the box last had (or started without) a connection: `since` while not connected. */
  #downSince = 0;
  #nextAttemptAt: number | null = null;
  #lastError: BrokerError | null = null;
  #protocolVersion: 4 | 5 = 5;
  readonly #filters = new Set<string>();

  constructor(deps: BrokerLinkDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  get connected(): boolean {
    return this.#connected;
  }

  status(): LinkStatus {
    return { activity: this.#activity, since: this.#connected ? this.#since : this.#downSince, lastError: this.#lastError, failures: this.#failures, nextAttemptAt: this.#nextAttemptAt };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#downSince = this.#now();
    void this.#attempt();
  }

  /** Subscribes now (when connected) and after every reconnection. */
  subscribe(filters: readonly string[]): void {
    const added = filters.filter((f) => !this.#filters.has(f));
    for (const f of added) this.#filters.add(f);
    if (added.length > 0 && this.#client && this.#connected) void this.#subscribe(this.#client, added);
  }

  unsubscribe(filters: readonly string[]): void {
    const removed = filters.filter((f) => this.#filters.delete(f));
    if (removed.length > 0 && this.#client && this.#connected) void this.#client.unsubscribeAsync(removed).catch(() => undefined);
  }

  /** Sends one message; resolves when the broker has it (QoS 1) or it is written (QoS 0). */
  async publish(topic: string, payload: string | Buffer, options: { qos: 0 | 1; retain: boolean; correlationData?: Buffer }): Promise<void> {
    const client = this.#client;
    if (!client || !this.#connected) throw new BrokerError('closed', 'not connected to the broker');
    const opts: IClientPublishOptions = { qos: options.qos, retain: options.retain, ...(options.correlationData && this.#protocolVersion === 5 ? { properties: { correlationData: options.correlationData } } : {}) };
    try {
      await client.publishAsync(topic, payload, opts);
    } catch (err) {
      throw describePublishError(err, topic, this.#deps.config());
    }
  }

  /**
   * Publishes `last` (the availability `offline`) if connected, waits for it at most
   * 2 s, then disconnects cleanly (the broker then does not send the will).
   */
  async stop(last?: { topic: string; payload: string; retain: boolean }): Promise<void> {
    this.#stopped = true;
    this.#activity = 'stopped';
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const client = this.#client;
    if (!client) return;
    if (last && this.#connected) await settledWithin(this.publish(last.topic, last.payload, { qos: 1, retain: last.retain }).catch(() => undefined), STOP_PUBLISH_MS);
    this.#client = null;
    this.#connected = false;
    const ended = await settledWithin(client.endAsync(false).catch(() => undefined), STOP_PUBLISH_MS);
    if (!ended) client.end(true);
  }

  async #attempt(): Promise<void> {
    if (this.#stopped) return;
    this.#timer = null;
    this.#nextAttemptAt = null;
    this.#setActivity('connecting');
    const config = this.#deps.config();
    let options: IClientOptions;
    try {
      options = await clientOptions(config, this.#deps.clientId, { will: this.#deps.will, protocolVersion: this.#protocolVersion });
    } catch (err) {
      this.#lost(null, describeBrokerError(err, config));
      return;
    }
    if (this.#stopped) return;
    const client = connect(config.url, options);
    this.#client = client;
    let failure: unknown = null;
    client.on('error', (err) => {
      failure = err;
    });
    client.on('connect', () => {
      if (this.#client !== client) return;
      this.#connected = true;
      this.#failures = 0;
      this.#lastError = null;
      this.#setActivity('connected');
      void this.#subscribe(client, [...this.#filters]).then(() => {
        if (this.#client === client && this.#connected) this.#deps.handlers.connected();
      });
    });
    client.on('message', (topic, payload, packet) => {
      if (this.#client !== client) return;
      const props = packet.properties;
      this.#deps.handlers.message({
        topic,
        payload,
        retain: packet.retain,
        responseTopic: props?.responseTopic ?? null,
        correlationData: props?.correlationData ?? null,
      });
    });
    client.on('close', () => {
      if (this.#client !== client) return;
      const error = failure !== null ? describeBrokerError(failure, config) : new BrokerError('closed', `the broker ${brokerName(config)} closed the connection`);
      this.#lost(client, error);
    });
  }

  async #subscribe(client: MqttClient, filters: string[]): Promise<void> {
    if (filters.length === 0) return;
    try {
      const granted = await client.subscribeAsync(filters, { qos: 1 });
      const refused = granted.filter((g) => g.qos >= 128).map((g) => g.topic);
      if (refused.length > 0) this.#deps.log.warn({ topics: refused }, `the broker does not let this box read ${refused.join(', ')} (not authorized): check the broker's ACL`);
    } catch (err) {
      if (this.#client !== client) return;
      // MQTT.js rejects a SUBACK that refuses (MQTT 5 reason codes of 128 and above).
      const reason = (err as { code?: unknown }).code;
      if (typeof reason === 'number' && reason >= 128) this.#deps.log.warn({ topics: filters }, `the broker does not let this box read ${filters.join(', ')} (${messageOf(err)}): check the broker's ACL`);
      else this.#deps.log.warn({ err: messageOf(err) }, `could not subscribe to ${filters.join(', ')}`);
    }
  }

  #lost(client: MqttClient | null, error: BrokerError): void {
    const wasConnected = this.#connected;
    if (wasConnected) this.#downSince = this.#now();
    this.#connected = false;
    if (client) {
      client.removeAllListeners('close');
      client.on('error', () => undefined);
      client.end(true);
      if (this.#client === client) this.#client = null;
    }
    if (this.#stopped) return;
    // A broker that speaks only MQTT 3.1.1 is tried again at once in that version.
    if (error.kind === 'protocol' && this.#protocolVersion === 5 && /MQTT version/.test(error.message)) {
      this.#protocolVersion = 4;
      this.#deps.log.info('the broker does not speak MQTT 5: connecting with MQTT 3.1.1');
      void this.#attempt();
      return;
    }
    this.#failures++;
    this.#lastError = error;
    const wait = backoffDelay(this.#failures, this.#deps.backoff ?? DEFAULT_BACKOFF);
    this.#nextAttemptAt = this.#now() + wait;
    this.#setActivity('waiting');
    this.#timer = setTimeout(() => void this.#attempt(), wait);
    this.#timer.unref();
    this.#deps.handlers.disconnected(error);
    if (wasConnected || this.#failures === 1) this.#deps.log.warn({ retryInMs: wait }, `MQTT: ${error.message}; trying again in ${Math.ceil(wait / 1000)} s`);
    else this.#deps.log.debug({ failures: this.#failures, retryInMs: wait }, `MQTT: ${error.message}`);
  }

  #setActivity(activity: LinkActivity): void {
    if (this.#activity !== activity) this.#since = this.#now();
    this.#activity = activity;
  }
}

/** One connection for a command: no reconnection, no will; a distinct client id so the daemon's own connection is never taken over. */
export interface Session {
  subscribe(filters: readonly string[]): Promise<{ refused: string[] }>;
  publish(topic: string, payload: string, options: { qos: 0 | 1; retain: boolean }): Promise<void>;
  onMessage(handler: (message: Message) => void): void;
  /** Called once if the connection is lost. */
  onClose(handler: (error: BrokerError) => void): void;
  end(): Promise<void>;
}

export async function openSession(config: MqttConfig, clientId: string, options: { timeoutMs?: number } = {}): Promise<Session> {
  const opts = { ...(await clientOptions(config, clientId)), connectTimeout: options.timeoutMs ?? 10_000 };
  let client: MqttClient;
  try {
    client = await connectOnce(config.url, opts, options.timeoutMs ?? 10_000);
  } catch (err) {
    const error = describeBrokerError(err, config);
    if (error.kind === 'protocol' && /MQTT version/.test(error.message)) client = await connectOnce(config.url, { ...opts, protocolVersion: 4 }, options.timeoutMs ?? 10_000).catch((e: unknown) => Promise.reject(describeBrokerError(e, config)));
    else throw error;
  }
  let closed = false;
  let lastError: unknown = null;
  client.on('error', (err) => (lastError = err));
  return {
    async subscribe(filters) {
      try {
        const granted = await client.subscribeAsync([...filters], { qos: 1 });
        return { refused: granted.filter((g) => g.qos >= 128).map((g) => g.topic) };
      } catch (err) {
        // MQTT.js rejects a SUBACK refusing any filter (reason code >= 128) without saying which: a refusal, not a lost login.
        const reason = (err as { code?: unknown } | null)?.code;
        if (typeof reason === 'number' && reason >= 128) return { refused: [...filters] };
        throw describeBrokerError(err, config);
      }
    },
    async publish(topic, payload, o) {
      await client.publishAsync(topic, payload, { qos: o.qos, retain: o.retain }).catch((err: unknown) => Promise.reject(describePublishError(err, topic, config)));
    },
    onMessage(handler) {
      client.on('message', (topic, payload, packet) =>
        handler({ topic, payload, retain: packet.retain, responseTopic: packet.properties?.responseTopic ?? null, correlationData: packet.properties?.correlationData ?? null }),
      );
    },
    onClose(handler) {
      client.on('close', () => {
        if (closed) return;
        closed = true;
        handler(lastError !== null ? describeBrokerError(lastError, config) : new BrokerError('closed', `the broker ${brokerName(config)} closed the connection`));
      });
    },
    async end() {
      closed = true;
      const ended = await settledWithin(client.endAsync(false).catch(() => undefined), STOP_PUBLISH_MS);
      if (!ended) client.end(true);
    },
  };
}

function connectOnce(url: string, options: IClientOptions, timeoutMs: number): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = connect(url, options);
    const fail = (err: unknown) => {
      clearTimeout(timer);
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('connack timeout')), timeoutMs);
    client.once('connect', () => {
      clearTimeout(timer);
      client.removeAllListeners('error');
      client.removeAllListeners('close');
      resolve(client);
    });
    client.once('error', fail);
    client.once('close', () => fail(new Error('connection closed before the broker answered')));
  });
}
