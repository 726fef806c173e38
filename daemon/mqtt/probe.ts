/**
 * The broker, step by step as the box meets it, for `lapsebox doctor`: the host name
 * resolves, the port answers, (mqtts, wss) the broker's certificate is trusted with the
 * configured ca, the login is accepted, and a message published on the box's own
 * `doctor` topic comes back. Every step that worked is named, so a failure reads as
 * "this far, then this". The connection is the one `openSession` gives every command,
 * with a client id of its own: taking the daemon's (`lapsebox-<box>`) would make the
 * broker drop the running daemon.
 */
import crypto from 'node:crypto';
import dns from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { MqttConfig } from '../config/schema';
import { BrokerError, brokerAddress, clientOptions, describeBrokerError, openSession, type BrokerErrorKind, type Session } from './broker';
import { boxTopics } from './topics';

/** The step a probe stopped at. */
export type ProbeStage = 'files' | 'dns' | 'tcp' | 'tls' | 'login' | 'subscribe' | 'publish';

/** A probe that failed: the broker's error, the step it failed at and what worked before. */
export class ProbeError extends BrokerError {
  constructor(
    kind: BrokerErrorKind,
    message: string,
    readonly stage: ProbeStage,
    readonly steps: readonly string[],
  ) {
    super(kind, message);
  }
}

export interface ProbeResult {
  /** What worked, in order: "resolves to 127.0.0.1", "port 1883 answers", ... */
  steps: string[];
  /**
   * Set when the broker took the message but the box cannot read its own topic (the
   * subscription was refused, or the message did not come back): states go out, but
   * commands would not arrive.
   */
  unread: string | null;
}

export interface ProbeOptions {
  /** The whole probe, all steps. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A DNS lookup or a TCP connection gets this long at most, whatever is left of the whole. */
const STEP_MS = 5_000;
/** How long the published message may take to come back (it is usually there before the PUBACK). */
const ECHO_MS = 3_000;

/** Never rejects with anything but a ProbeError. */
export async function probeBroker(config: MqttConfig, boxId: string, options: ProbeOptions): Promise<ProbeResult> {
  const steps: string[] = [];
  const seconds = Math.round(options.timeoutMs / 1000);
  const deadline = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]) : AbortSignal.timeout(options.timeoutMs);
  const endsAt = Date.now() + options.timeoutMs;
  const run: Run = {
    deadline,
    left: (cap) => Math.max(1, Math.min(cap, endsAt - Date.now())),
    late: () => new BrokerError('timeout', `no answer within ${seconds} s`),
  };
  let stage: ProbeStage = 'files';
  const { host, port, tls: secure } = brokerAddress(config);
  try {
    // The password, ca, cert and key files first: they are read for the TLS step as for the login.
    const files = await clientOptions(config, 'lapsebox-doctor');
    stage = 'dns';
    if (net.isIP(host) === 0) steps.push(`resolves to ${(await resolve(host, run)).join(', ')}`);
    stage = 'tcp';
    await tcpAnswers(host, port, run);
    steps.push(`port ${port} answers`);
    if (secure) {
      stage = 'tls';
      steps.push(await tlsHandshake(host, port, { ca: files.ca, cert: files.cert, key: files.key }, run));
    }
    stage = 'login';
    const opening = openSession(config, `lapsebox-doctor-${crypto.randomBytes(4).toString('hex')}`, { timeoutMs: run.left(options.timeoutMs) });
    // A session that opens after doctor's time is up is closed at once.
    opening.then((s) => (deadline.aborted ? s.end() : undefined), () => undefined);
    const session = await untilAborted(opening, run);
    try {
      steps.push(config.username !== undefined ? `login as ${config.username} accepted` : 'connected without a user name');
      return await echo(session, boxTopics(config.topicPrefix, boxId).doctor, steps, (s) => (stage = s), run);
    } finally {
      await session.end();
    }
  } catch (err) {
    const e = describeBrokerError(err, config);
    throw new ProbeError(e.kind, e.message, stage, [...steps]);
  }
}

/** The probe's deadline, what is left of it (capped), and the error once it has passed. */
interface Run {
  deadline: AbortSignal;
  left(capMs: number): number;
  late(): BrokerError;
}

/** Subscribes to the doctor topic, publishes a message there (QoS 1, not retained) and waits for it. */
async function echo(session: Session, topic: string, steps: string[], at: (stage: ProbeStage) => void, run: Run): Promise<ProbeResult> {
  const nonce = crypto.randomBytes(12).toString('hex');
  let received!: () => void;
  let lost!: (err: BrokerError) => void;
  const back = new Promise<void>((resolve, reject) => {
    received = resolve;
    lost = reject;
  });
  back.catch(() => undefined);
  session.onMessage((m) => {
    if (m.topic === topic && m.payload.toString('utf8') === nonce) received();
  });
  session.onClose((err) => lost(err));
  at('subscribe');
  const { refused } = await untilAborted(session.subscribe([topic]), run);
  at('publish');
  await untilAborted(session.publish(topic, nonce, { qos: 1, retain: false }), run);
  const unreadable = `the box can publish on ${topic} but not read it back (commands would not arrive)`;
  if (refused.length > 0) {
    steps.push(`published on ${topic}`);
    return { steps, unread: `the broker refused the subscription to ${topic}: ${unreadable}` };
  }
  const wait = run.left(ECHO_MS);
  const came = await untilAborted(resolvedWithin(back, wait), run);
  if (!came) {
    steps.push(`published on ${topic}`);
    return { steps, unread: `the message did not come back within ${Math.max(1, Math.round(wait / 1000))} s: ${unreadable}` };
  }
  steps.push(`published and received on ${topic}`);
  return { steps, unread: null };
}

/** The host's addresses. */
async function resolve(host: string, run: Run): Promise<string[]> {
  const ms = run.left(STEP_MS);
  const looked = dns.lookup(host, { all: true }).then((all) => [...new Set(all.map((a) => a.address))]);
  return untilAborted(looked, run, { ms, error: () => new BrokerError('dns', `no DNS answer for ${host} within ${Math.ceil(ms / 1000)} s: is the network up?`) });
}

/** Whether the port accepts a TCP connection (closed again at once). */
function tcpAnswers(host: string, port: number, run: Run): Promise<void> {
  const ms = run.left(STEP_MS);
  const socket = net.connect({ host, port });
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const silent = () => new BrokerError('unreachable', `${host}:${port} did not accept a connection within ${Math.ceil(ms / 1000)} s: check the network path to the broker (firewall, VPN)`);
  return untilAborted(connected, run, { ms, error: silent }).finally(() => socket.destroy());
}

/** A TLS handshake with the configured authority and client certificate; names the broker's certificate. */
function tlsHandshake(host: string, port: number, files: Pick<tls.ConnectionOptions, 'ca' | 'cert' | 'key'>, run: Run): Promise<string> {
  const ms = run.left(STEP_MS);
  const socket = tls.connect({
    host,
    port,
    // SNI takes host names only; an address is checked against the certificate's IP entries.
    ...(net.isIP(host) === 0 ? { servername: host } : {}),
    ...(files.ca !== undefined ? { ca: files.ca } : {}),
    ...(files.cert !== undefined ? { cert: files.cert } : {}),
    ...(files.key !== undefined ? { key: files.key } : {}),
    rejectUnauthorized: true,
  });
  const handshake = new Promise<string>((resolve, reject) => {
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      resolve(`TLS: certificate of ${nameOf(cert.subject)} trusted (issued by ${nameOf(cert.issuer)})`);
    });
    socket.once('error', reject);
  });
  const silent = () => new BrokerError('timeout', `${host}:${port} did not finish a TLS handshake within ${Math.ceil(ms / 1000)} s: is it a TLS port?`);
  return untilAborted(handshake, run, { ms, error: silent }).finally(() => socket.destroy());
}

function nameOf(name: tls.Certificate | undefined): string {
  const cn = name?.CN;
  if (cn === undefined || cn === '') return 'no common name';
  return `CN=${Array.isArray(cn) ? cn.join(',') : cn}`;
}

/** The promise, or a BrokerError once the probe's time is up (or the step's own, with its own error). */
function untilAborted<T>(promise: Promise<T>, run: Run, step?: { ms: number; error: () => BrokerError }): Promise<T> {
  if (run.deadline.aborted) return Promise.reject(run.late());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(run.late());
    const timer = step ? setTimeout(() => reject(step.error()), step.ms) : undefined;
    run.deadline.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      run.deadline.removeEventListener('abort', onAbort);
    });
  });
}

/** Whether the promise resolved within `ms`; rejects when it does. */
async function resolvedWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
