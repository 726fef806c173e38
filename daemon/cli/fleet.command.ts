/**
 * `lapsebox fleet`: every box the MQTT broker knows under the prefix (SPEC §6, §8), read
 * from its retained messages: no server of ours in between. Exit 1 when a box is offline
 * or stale or a source is late; 2 when no broker is configured.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../config/load';
import { configSchema, type MqttConfig } from '../config/schema';
import { BrokerError, brokerName, openSession, type Session } from '../mqtt/broker';
import { exitCode, fleetCells, fleetProblems, fleetSummary, FleetView, noBoxMessage, type FleetRow } from '../mqtt/fleet';
import { fleetFilters } from '../mqtt/topics';
import { CliError, commonOptions, loadFor, printJson, table, withConfigOption, withJsonOption, type Output } from './context';

interface FleetOptions {
  watch?: boolean;
  url?: string;
  username?: string;
  passwordFile?: string;
  prefix?: string;
}

/** Retained messages come in one burst after the SUBACK: this long without one ends it... */
const QUIET_MS = 500;
/** ...or this long in all, for a broker that keeps a fleet busy. */
const COLLECT_MAX_MS = 5_000;
/** --watch draws at most this often, and at least this often so that ages move. */
const MIN_REDRAW_MS = 1_000;
const REDRAW_EVERY_MS = 10_000;
const CLEAR_SCREEN = '\x1b[2J\x1b[H';

/** Which option each key of the mqtt section came from, for messages. */
const OPTION_OF: Record<string, string> = { url: '--url', username: '--username', passwordFile: '--password-file', topicPrefix: '--prefix' };

export function fleetCommand(program: Command, io: Output): void {
  withJsonOption(withConfigOption(program.command('fleet')))
    .description('every box the MQTT broker knows under the prefix: online, last captures, disk, backlog, alerts; exits 1 if one is offline or late')
    .option('--watch', 'keep watching: draw again on every change (at most once a second) and every 10 s, until Ctrl-C')
    .option('--url <url>', 'the broker, such as mqtts://broker.example.com:8883 (default: mqtt.url of the configuration)')
    .option('--username <name>', "the login on the broker (default: mqtt.username; an operator's login usually differs from a box's)")
    .option('--password-file <file>', 'a file whose first line is the password (default: the password of the configuration, when the login is the same)')
    .option('--prefix <prefix>', 'the topic prefix (default: mqtt.topicPrefix, else "lapsebox")')
    .action(async (options: FleetOptions, cmd: Command) => {
      const mqtt = brokerConfig(cmd, options, io);
      const json = commonOptions(cmd).json === true;
      // --watch: one JSON line per view for a script; for people, a fresh screen (or a separator in a file).
      const tty = process.stdout.isTTY === true;
      const draw = (rows: FleetRow[], now: number) => io.out(json ? JSON.stringify(report(mqtt, rows, now)) : watchFrame(renderFleet(rows, now, mqtt), now, tty));
      const session = await connect(mqtt, options);
      const view = new FleetView(mqtt.topicPrefix);
      const feed = followed(session, view);
      try {
        await subscribe(session, mqtt.topicPrefix);
        await feed.settled();
        if (options.watch) {
          process.exitCode = await watch(view, feed, draw);
          return;
        }
        const now = Date.now();
        const rows = view.rows(now);
        if (json) printJson(io, report(mqtt, rows, now));
        else io.out(renderFleet(rows, now, mqtt));
        process.exitCode = exitCode(rows);
      } finally {
        await session.end();
      }
    });
}

/** The text view: the table, what needs a hand, the summary; or why nothing is there. */
export function renderFleet(rows: readonly FleetRow[], now: number, mqtt: Pick<MqttConfig, 'url' | 'topicPrefix'>): string {
  if (rows.length === 0) return noBoxMessage(mqtt.topicPrefix, brokerName(mqtt));
  const problems = fleetProblems(rows);
  return [table(fleetCells(rows, now)), ...(problems.length > 0 ? ['', 'needs a hand:', ...problems.map((p) => `  ${p}`)] : []), '', fleetSummary(rows)].join('\n');
}

function report(mqtt: MqttConfig, rows: FleetRow[], now: number): { broker: string; prefix: string; at: string; boxes: FleetRow[] } {
  return { broker: brokerName(mqtt), prefix: mqtt.topicPrefix, at: new Date(now).toISOString(), boxes: rows };
}

// ---- which broker, as whom

/**
 * The mqtt section of the configuration with the options over it. Without a usable
 * configuration file, --url alone is enough: an operator's machine has no box config.
 */
function brokerConfig(cmd: Command, options: FleetOptions, io: Output): MqttConfig {
  let base: MqttConfig | undefined;
  try {
    base = loadFor(cmd).config.mqtt;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (options.url === undefined) throw new CliError(`no broker: set mqtt.url in the configuration or pass --url\n${err.message}`, 2);
    // A file the operator named is worth a word when it is not used; the default one is not.
    if (commonOptions(cmd).config !== undefined) io.err(`lapsebox: ${err.file} not used (${err.problems.length === 1 ? err.problems[0] : `${err.problems.length} configuration errors`}); the broker from --url`);
  }
  if (options.url === undefined && base === undefined) throw new CliError('no broker: set mqtt.url in the configuration or pass --url', 2);
  return overlay(base, options);
}

function overlay(base: MqttConfig | undefined, options: FleetOptions): MqttConfig {
  const url = options.url ?? base!.url;
  const sameLogin = options.username === undefined || options.username === base?.username;
  // The box's password belongs to the box's login; certificates only to a TLS connection.
  const keepSecret = sameLogin && options.passwordFile === undefined;
  const tls = /^(mqtts|wss):/.test(url);
  const input = {
    url,
    ...pick({ username: options.username ?? base?.username, topicPrefix: options.prefix ?? base?.topicPrefix }),
    ...pick(options.passwordFile !== undefined ? { passwordFile: path.resolve(options.passwordFile) } : keepSecret ? { password: base?.password, passwordFile: base?.passwordFile } : {}),
    ...pick(tls ? { ca: base?.ca, cert: base?.cert, key: base?.key } : {}),
  };
  const parsed = configSchema.shape.mqtt.unwrap().safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${OPTION_OF[String(i.path[0])] ?? `mqtt.${i.path.join('.')}`}: ${i.message}`);
    throw new CliError(problems.join('\n'), 2);
  }
  return { ...parsed.data, keepalive: base?.keepalive ?? parsed.data.keepalive };
}

function pick<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A session with an id of its own (never a box's: the broker would drop the box) and no will. */
async function connect(mqtt: MqttConfig, options: FleetOptions): Promise<Session> {
  try {
    return await openSession(mqtt, `lapsebox-fleet-${crypto.randomBytes(6).toString('hex')}`);
  } catch (err) {
    if (!(err instanceof BrokerError)) throw err;
    throw new CliError(brokerMessage(err, mqtt, options), err.kind === 'config' ? 2 : 1);
  }
}

/** The broker's message, with the login it was about: the operator's options, not a box's configuration, may be at fault. */
function brokerMessage(err: BrokerError, mqtt: MqttConfig, options: FleetOptions): string {
  if (err.kind === 'config' && options.passwordFile !== undefined) return err.message.replace(/^mqtt\.passwordFile:/, '--password-file:');
  if (err.kind !== 'login') return err.message;
  const user = mqtt.username === undefined ? 'no user name' : `user "${mqtt.username}"${options.username !== undefined ? ' (--username)' : ' (mqtt.username)'}`;
  const password = options.passwordFile !== undefined ? `, password from --password-file ${options.passwordFile}` : mqtt.password === undefined && mqtt.passwordFile === undefined ? ', no password' : '';
  return `${brokerName(mqtt)}: ${err.message} (login: ${user}${password})`;
}

async function subscribe(session: Session, prefix: string): Promise<void> {
  const { refused } = await session.subscribe(fleetFilters(prefix)).catch((err: unknown) => Promise.reject(err instanceof BrokerError ? new CliError(err.message, 1) : err));
  if (refused.length > 0) throw new CliError(`the broker refused the subscription to ${refused.join(', ')} (not authorized): this login may not read ${prefix}/#; check the broker's ACL`, 1);
}

// ---- messages in, views out

interface Feed {
  /** Resolves once the retained burst is over (quiet for 500 ms, or 5 s in all); rejects if the connection is lost meanwhile. */
  settled(): Promise<void>;
  /** Called after every message that changed the view, and once if the connection is lost. */
  listen(changed: () => void, lost: (error: BrokerError) => void): void;
}

function followed(session: Session, view: FleetView): Feed {
  let changed = () => {};
  let lost: (error: BrokerError) => void = () => {};
  let lastMessage = Date.now();
  let closed: BrokerError | null = null;
  session.onMessage((m) => {
    lastMessage = Date.now();
    if (view.take(m)) changed();
  });
  session.onClose((error) => {
    closed = error;
    lost(error);
  });
  return {
    settled: () => settle(() => lastMessage, () => closed),
    listen(onChange, onLost) {
      changed = onChange;
      lost = onLost;
      if (closed) onLost(closed);
    },
  };
}

async function settle(lastMessage: () => number, closed: () => BrokerError | null): Promise<void> {
  const start = Date.now();
  for (;;) {
    const error = closed();
    if (error) throw new CliError(`lost the connection to the broker: ${error.message}`, 1);
    // The quiet time counts from the subscription at the earliest: a fleet of none is quiet from there.
    const last = Math.max(start, lastMessage());
    const now = Date.now();
    if (now - last >= QUIET_MS || now - start >= COLLECT_MAX_MS) return;
    await new Promise((r) => setTimeout(r, Math.min(50, QUIET_MS - (now - last))));
  }
}

/**
 * Draws now, again on changes (at most once a second) and every 10 s; resolves on
 * SIGINT or SIGTERM with the exit code of the last view; rejects when the broker goes.
 */
function watch(view: FleetView, feed: Feed, draw: (rows: FleetRow[], now: number) => void): Promise<0 | 1> {
  return new Promise((resolve, reject) => {
    let code: 0 | 1 = 1;
    let lastDraw = 0;
    let pending: NodeJS.Timeout | null = null;
    const drawNow = () => {
      pending = null;
      lastDraw = Date.now();
      const rows = view.rows(lastDraw);
      code = exitCode(rows);
      draw(rows, lastDraw);
    };
    const soon = () => {
      pending ??= setTimeout(drawNow, Math.max(0, lastDraw + MIN_REDRAW_MS - Date.now()));
    };
    const ticker = setInterval(drawNow, REDRAW_EVERY_MS);
    const end = (outcome: () => void) => {
      clearInterval(ticker);
      if (pending) clearTimeout(pending);
      process.off('SIGINT', stop).off('SIGTERM', stop);
      outcome();
    };
    const stop = () => end(() => resolve(code));
    process.on('SIGINT', stop).on('SIGTERM', stop);
    drawNow();
    feed.listen(soon, (error) => end(() => reject(new CliError(`lost the connection to the broker: ${error.message}`, 1))));
  });
}

/** What --watch prints each time: the screen cleared on a terminal, a separator line in a file or pipe. */
export function watchFrame(text: string, now: number, tty: boolean): string {
  return tty ? `${CLEAR_SCREEN}${text}` : `--- ${new Date(now).toISOString()} ---\n${text}`;
}
