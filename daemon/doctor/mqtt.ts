/**
 * The MQTT broker, when the configuration has an `mqtt` section: step by step as the
 * daemon meets it (daemon/mqtt/probe.ts), on a connection of doctor's own; then,
 * when the daemon runs, how its own link fares, as its control socket says.
 */
import fsp from 'node:fs/promises';
import type { MqttConfig } from '../config/schema';
import type { MqttStatus } from '../domain/mqtt';
import { brokerAddress, brokerName } from '../mqtt/broker';
import { ProbeError, probeBroker } from '../mqtt/probe';
import { boxTopics } from '../mqtt/topics';
import { localTime, octal, type Check, type DoctorContext } from './context';
import { folderKeepingOthersOut } from './permissions';

/** The whole probe, every step: well within doctor's budget. */
const BROKER_TIMEOUT_MS = 12_000;

export async function mqttChecks(ctx: DoctorContext): Promise<Check[]> {
  const config = ctx.config.mqtt;
  if (!config) return [];
  const link = linkCheck(ctx, config);
  return [await secretFilesExposure(await brokerCheck(ctx, config), config), ...(link ? [link] : [])];
}

/** The password file or the client key, readable by other users, is no longer secret. */
async function secretFilesExposure(check: Check, config: MqttConfig): Promise<Check> {
  const exposed: string[] = [];
  for (const file of [config.passwordFile, config.key]) {
    if (file === undefined) continue;
    const st = await fsp.stat(file).catch(() => null);
    if (st !== null && st.mode & 0o004 && !(await folderKeepingOthersOut(file))) exposed.push(`${file} (mode ${octal(st.mode)})`);
  }
  if (exposed.length === 0) return check;
  const files = exposed.map((e) => e.split(' ')[0]).join(' ');
  return {
    ...check,
    verdict: check.verdict === 'fail' ? 'fail' : 'warn',
    detail: `${check.detail}; ${exposed.join(', ')} ${exposed.length === 1 ? 'is' : 'are'} readable by other users`,
    fix: `${check.fix ? `${check.fix}; ` : ''}sudo chmod 600 ${files} (owned by the daemon's user)`,
  };
}

async function brokerCheck(ctx: DoctorContext, config: MqttConfig): Promise<Check> {
  const name = 'mqtt broker';
  const broker = brokerName(config);
  const box = ctx.config.appliance.id;
  try {
    const { steps, unread } = await probeBroker(config, box, { timeoutMs: BROKER_TIMEOUT_MS, signal: ctx.signal });
    if (unread === null) return { group: 'mqtt', name, verdict: 'ok', detail: `${broker}: ${steps.join(', ')}` };
    return { group: 'mqtt', name, verdict: 'warn', detail: `${broker}: ${steps.join(', ')}; ${unread}`, fix: aclFix(config, box) };
  } catch (err) {
    if (!(err instanceof ProbeError)) throw err;
    const before = err.steps.length > 0 ? `${err.steps.join(', ')}, but ` : '';
    return { group: 'mqtt', name, verdict: 'fail', detail: `${broker}: ${before}${err.message}`, fix: fixFor(ctx, config, err) };
  }
}

/** What to do, in the terms of the mqtt section and the broker's own files. */
function fixFor(ctx: DoctorContext, config: MqttConfig, err: ProbeError): string {
  const { host, port } = brokerAddress(config);
  switch (err.kind) {
    case 'config':
      return `create the file or fix its path in the mqtt section (relative to ${ctx.configFile}); the daemon's user (${ctx.daemonUser.name}) must be able to read it`;
    case 'dns':
      return `check the host name in mqtt.url (${host}) and the box's DNS (/etc/resolv.conf)`;
    case 'refused':
      return `check that the broker is running and listens on port ${port} (mosquitto: a "listener ${port}" line), and the port in mqtt.url`;
    case 'unreachable':
    case 'timeout':
      return `check that the broker is up and that the box may reach ${host}:${port} (firewall, VPN)`;
    case 'tls':
      return `set mqtt.ca to the PEM file of the authority that signed the broker's certificate (${config.ca !== undefined ? `now ${config.ca}` : "now the system's authorities"}); check that the certificate names ${host} and the box's clock is right`;
    case 'login': {
      const password = config.passwordFile !== undefined ? `the first line of mqtt.passwordFile (${config.passwordFile})` : config.password !== undefined ? 'mqtt.password' : 'a password (mqtt.passwordFile)';
      const user = config.username ?? ctx.config.appliance.id;
      return `check mqtt.username${config.username !== undefined ? ` (${config.username})` : ' (none set)'} and ${password} against the broker's password file (mosquitto: sudo mosquitto_passwd /etc/mosquitto/passwd ${user}, then reload mosquitto)`;
    }
    case 'not-authorized':
      if (err.stage === 'publish' || err.stage === 'subscribe') return aclFix(config, ctx.config.appliance.id);
      return "the broker refuses this client itself (banned, or its client id): check the broker's configuration and log";
    case 'protocol':
      return `check that ${host}:${port} is an MQTT broker (3.1.1 or 5) and, for ws:// and wss://, the path in mqtt.url (often /mqtt)`;
    default:
      return "see the broker's log for why it closed the connection";
  }
}

/** The ACL line that lets the box publish and read its own topics. */
function aclFix(config: MqttConfig, boxId: string): string {
  const base = boxTopics(config.topicPrefix, boxId).base;
  if (config.username === boxId) return `let the box publish and read its own topics in the broker's ACL: "pattern readwrite ${config.topicPrefix}/%u/#" (mosquitto: in its acl_file, then reload mosquitto)`;
  const user = config.username ?? '(anonymous)';
  return `let the box publish and read its own topics in the broker's ACL: "pattern readwrite ${config.topicPrefix}/%u/#" with mqtt.username: ${boxId}, or for user ${user} "topic readwrite ${base}/#" (mosquitto: in its acl_file, then reload mosquitto)`;
}

/** The running daemon's own connection, as its /status says; null when the daemon does not run. */
function linkCheck(ctx: DoctorContext, config: MqttConfig): Check | null {
  const d = ctx.daemon;
  if (d.state !== 'running') return null;
  const name = 'mqtt link';
  const link: MqttStatus | null = d.mqtt;
  if (link === null) {
    return { group: 'mqtt', name, verdict: 'warn', detail: `the running daemon has no mqtt section loaded (the file has one, for ${brokerName(config)})`, fix: 'sudo systemctl reload lapsebox' };
  }
  const since = (iso: string | null) => (iso === null ? '' : ` since ${localTime(ctx, iso)}`);
  const sent = `${link.published} message${link.published === 1 ? '' : 's'} acknowledged${link.queued > 0 ? `, ${link.queued} waiting` : ''}${link.dropped > 0 ? `, ${link.dropped} events dropped` : ''}`;
  const who = `the daemon (${link.clientId}) on ${link.broker}`;
  if (link.activity === 'connected') {
    if (link.refused !== null) {
      return { group: 'mqtt', name, verdict: 'warn', detail: `${who}: connected${since(link.since)}, ${sent}; the broker refused a message on ${link.refused.topic} at ${localTime(ctx, link.refused.at)}: ${link.refused.message}`, fix: aclFix(config, ctx.config.appliance.id) };
    }
    return { group: 'mqtt', name, verdict: 'ok', detail: `${who}: connected${since(link.since)}, ${sent}` };
  }
  if (link.activity === 'connecting') return { group: 'mqtt', name, verdict: 'ok', detail: `${who}: connecting${since(link.since)}${link.lastError ? ` (last error: ${link.lastError})` : ''}` };
  if (link.activity === 'stopped') return { group: 'mqtt', name, verdict: 'warn', detail: `${who}: stopped`, fix: 'sudo systemctl restart lapsebox' };
  const next = link.nextAttemptAt === null ? '' : `, next attempt at ${localTime(ctx, link.nextAttemptAt)}`;
  return {
    group: 'mqtt',
    name,
    verdict: 'warn',
    detail: `${who}: not connected, waiting${since(link.since)}${next}; last error: ${link.lastError ?? 'none said'}; ${sent}`,
    fix: 'the "mqtt broker" line says what fails; "journalctl -u lapsebox" has the daemon\'s side',
  };
}
