/**
 * MQTT for tests: the loopback mosquitto (scripts/lib/loopback-mosquitto.ts) in a temporary
 * folder, MQTT.js clients that fail fast instead of retrying, and ways to wait for messages.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { TestBroker, type BrokerOptions } from '../../scripts/lib/loopback-mosquitto';

export * from '../../scripts/lib/loopback-mosquitto';

/** Folders made by startBroker(): stopBroker() removes only these. */
const madeHere = new WeakSet<TestBroker>();

/** A broker in a new folder under the system's temporary folder; stopBroker() removes it. */
export async function startBroker(options: Omit<BrokerOptions, 'dir'> = {}): Promise<TestBroker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-mqtt-'));
  try {
    const broker = await TestBroker.start({ ...options, dir });
    madeHere.add(broker);
    return broker;
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Stops the broker and removes its folder (if startBroker() made it). Takes undefined, for an afterAll after a failed beforeAll. */
export async function stopBroker(broker: TestBroker | undefined | null): Promise<void> {
  if (!broker) return;
  await broker.stop();
  if (madeHere.has(broker)) fs.rmSync(broker.dir, { recursive: true, force: true });
}

/**
 * A connected MQTT.js client: MQTT 5, no reconnection, 5 s to connect. Rejects with
 * MQTT.js's error: a refused CONNACK is an ErrorWithReasonCode (`code` = the reason code,
 * e.g. mosquitto 2.0's 135 "Connection refused: Not authorized" for a wrong password), a TLS
 * failure Node's error (code SELF_SIGNED_CERT_IN_CHAIN...), a dead port ECONNREFUSED.
 * End it with `await client.endAsync()`.
 */
export async function connectClient(url: string, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  const merged: mqtt.IClientOptions = { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000, ...options };
  // allowRetries false: a connection closed before its CONNACK rejects ("Couldn't connect to server") instead of hanging.
  return mqtt.connectAsync(url, merged, merged.reconnectPeriod !== 0);
}

export interface ReceivedMessage {
  topic: string;
  payload: string;
  /** Set on a retained message the broker sends on subscription (and with retainAsPublished). */
  retain: boolean;
  packet: mqtt.IPublishPacket;
}

/** Topic filters each client was subscribed to by these helpers. */
const subscriptions = new WeakMap<mqtt.MqttClient, Set<string>>();

function subscribedOf(client: mqtt.MqttClient): Set<string> {
  let set = subscriptions.get(client);
  if (!set) subscriptions.set(client, (set = new Set()));
  return set;
}

/**
 * Subscribes (QoS 1) and waits for the SUBACK; rejects when the broker refuses a filter.
 * Await it before something else publishes, when a test must not miss a message: a
 * subscription sent on one connection and a publish on another reach the broker in any order.
 */
export async function subscribe(client: mqtt.MqttClient, filters: string | string[], options: mqtt.IClientSubscribeOptions = { qos: 1 }): Promise<void> {
  const list = typeof filters === 'string' ? [filters] : filters;
  try {
    const granted = await client.subscribeAsync(list, options);
    // MQTT 3.1.1 brokers refuse with 0x80 without failing the SUBACK for MQTT.js.
    const refused = granted.filter((g) => (g.qos & 0x80) !== 0);
    if (refused.length) throw new Error(`reason code ${refused.map((g) => g.qos).join(', ')}`);
  } catch (e) {
    throw new Error(`subscribing to ${list.join(', ')} was refused: ${(e as Error).message}`);
  }
  for (const f of list) subscribedOf(client).add(f);
}

/**
 * The retained messages on `topics` (filters allowed), by topic: subscribes (which makes the
 * broker send them), then collects until no message came for `settleMs` (at most 10 s in all).
 * A live message published meanwhile is in it too, with `retain: false`. Filters this call
 * subscribed to are unsubscribed again.
 */
export async function retainedSnapshot(client: mqtt.MqttClient, topics: string[], settleMs = 300): Promise<Map<string, { payload: string; retain: boolean }>> {
  const out = new Map<string, { payload: string; retain: boolean }>();
  const before = new Set(subscribedOf(client));
  let last = Date.now();
  const onMessage = (topic: string, payload: Buffer, packet: mqtt.IPublishPacket) => {
    if (!topics.some((f) => topicMatches(f, topic))) return;
    out.set(topic, { payload: payload.toString(), retain: packet.retain });
    last = Date.now();
  };
  client.on('message', onMessage);
  try {
    // Subscribing again to a filter already held also makes the broker send its retained messages again.
    await subscribe(client, topics);
    last = Date.now();
    const deadline = last + 10_000;
    while (Date.now() - last < settleMs && Date.now() < deadline) await sleep(Math.min(25, settleMs));
  } finally {
    client.off('message', onMessage);
  }
  const added = topics.filter((t) => !before.has(t));
  if (added.length && client.connected) {
    await client.unsubscribeAsync(added);
    for (const t of added) subscribedOf(client).delete(t);
  }
  return out;
}

/**
 * The next message on `topicFilter` (+ and # wildcards) that `predicate` accepts. Subscribes
 * first if these helpers have not (then retained messages on the filter count as well; to be
 * sure to see a message published elsewhere, `await subscribe()` before it is published).
 * Rejects after `timeoutMs`, naming the filter and what arrived meanwhile.
 */
export function nextMessage(
  client: mqtt.MqttClient,
  topicFilter: string,
  predicate: (message: ReceivedMessage) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<ReceivedMessage> {
  return new Promise((resolve, reject) => {
    const seen: string[] = [];
    const finish = (error: Error | null, message?: ReceivedMessage) => {
      clearTimeout(timer);
      client.off('message', onMessage);
      if (error) reject(error);
      else resolve(message!);
    };
    const onMessage = (topic: string, payload: Buffer, packet: mqtt.IPublishPacket) => {
      const message: ReceivedMessage = { topic, payload: payload.toString(), retain: packet.retain, packet };
      if (topicMatches(topicFilter, topic) && predicate(message)) {
        finish(null, message);
        return;
      }
      seen.push(`${topic}${packet.retain ? ' (retained)' : ''}: ${truncate(message.payload)}`);
    };
    const timer = setTimeout(() => {
      const meanwhile = seen.length ? `; what arrived meanwhile:\n  ${seen.slice(-20).join('\n  ')}` : '; nothing arrived meanwhile';
      finish(new Error(`no message on ${topicFilter} matched within ${timeoutMs} ms${meanwhile}`));
    }, timeoutMs);
    client.on('message', onMessage);
    if (!subscribedOf(client).has(topicFilter)) subscribe(client, topicFilter).catch((e: Error) => finish(e));
  });
}

/** Whether `topic` matches the MQTT filter `filter` (+ one level, # the rest; $-topics only by filters naming them). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
