/**
 * One structured logger for the whole daemon: one JSON line per event on stdout,
 * which journald keeps. Modules take a child with their name (`module`) and, where
 * it applies, the source or target it is about; `logging.modules` gives a module
 * its own level, changed on reload. Secrets are redacted by key name, and the
 * secrets of URLs (`rtsp://user:***@cam`) in every line, whatever field holds them.
 */
import fs from 'node:fs';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { maskUrls } from './secrets';

export type { Logger };

export interface LogLevels {
  /** Level of every module not listed. */
  level: string;
  /** Level per module name (the `module` binding of a child logger). */
  modules?: Partial<Record<string, string>>;
}

/** syslog priorities of pino's levels, for journald's "<N>" line prefix (sd-daemon(3)). */
const PRIORITY: Record<string, number> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

interface LevelState {
  levels: LogLevels;
  /** Every child logger made so far, to change its level on reload. */
  children: Set<WeakRef<Logger>>;
  /** Children count when the set was last pruned of collected loggers. */
  prunedAt: number;
}

const states = new WeakMap<Logger, LevelState>();

/**
 * `destination` defaults to stdout: JSON lines for journald and pipes, readable lines
 * (time, level, module, message, then the fields) when stdout is a terminal, as for
 * `npm start`. `LAPSEBOX_LOG_FORMAT=json|pretty` chooses either way.
 */
export function createLogger(options: { levels?: LogLevels; destination?: pino.DestinationStream; journal?: boolean; pretty?: boolean } = {}): Logger {
  const state: LevelState = { levels: withEnvironment(options.levels ?? { level: 'info' }), children: new Set(), prunedAt: 0 };
  const journal = options.journal ?? (options.destination === undefined && stdoutIsJournal());
  const readable = options.pretty ?? (options.destination === undefined && !journal && wantsPretty());
  const root = pino(
    {
      level: state.levels.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['password', '*.password', '*.*.password', 'authorization', '*.authorization', 'privateKey', '*.privateKey', 'secretAccessKey', '*.secretAccessKey', '*.*.secretAccessKey'],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
      // Every child, and every child of a child, takes the level of its module.
      onChild: (child) => {
        child.level = levelOf(state.levels, child.bindings()['module']);
        state.children.add(new WeakRef(child));
        if (state.children.size > 2 * state.prunedAt + 64) prune(state);
      },
      // The finished line: a URL in a message, an error's stack or a binding is masked all the same.
      hooks: { streamWrite: journal ? (line: string) => journalPrefix(maskUrls(line)) : maskUrls },
    },
    options.destination ?? (readable ? prettyStdout() : pino.destination({ dest: 1, sync: true })),
  );
  states.set(root, state);
  return root;
}

/** Applies new levels (a reload) to the root logger and every child made from it. */
export function setLogLevels(root: Logger, levels: LogLevels): void {
  const state = states.get(root);
  if (!state) return;
  state.levels = withEnvironment(levels);
  root.level = state.levels.level;
  for (const ref of state.children) {
    const child = ref.deref();
    if (child) child.level = levelOf(state.levels, child.bindings()['module']);
    else state.children.delete(ref);
  }
}

/** A logger that writes nothing, for tests and one-shot CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

function levelOf(levels: LogLevels, module: unknown): string {
  return (typeof module === 'string' ? levels.modules?.[module] : undefined) ?? levels.level;
}

/** LAPSEBOX_LOG_LEVEL (a test, a maintainer chasing a bug) wins over the file for every module. */
function withEnvironment(levels: LogLevels): LogLevels {
  const forced = process.env['LAPSEBOX_LOG_LEVEL'];
  return forced ? { level: forced } : levels;
}

function prune(state: LevelState): void {
  for (const ref of state.children) if (!ref.deref()) state.children.delete(ref);
  state.prunedAt = state.children.size;
}

/** "<3>" before an error line: journald strips it and files the line under that priority (journalctl -p err). */
function journalPrefix(line: string): string {
  const match = /^\{"level":"(\w+)"/.exec(line);
  const priority = match ? PRIORITY[match[1]!] : undefined;
  return priority === undefined ? line : `<${priority}>${line}`;
}

function wantsPretty(): boolean {
  const format = process.env['LAPSEBOX_LOG_FORMAT'];
  if (format === 'json' || format === 'pretty') return format === 'pretty';
  return process.stdout.isTTY === true;
}

/** pino's own pretty printer, in this thread and synchronous (no worker: a terminal session is not worth a thread on a Pi). */
function prettyStdout(): pino.DestinationStream {
  return pretty({
    sync: true,
    destination: 1,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,module',
    messageFormat: '{if module}[{module}] {end}{msg}',
    singleLine: true,
  });
}

/** True when stdout is the journal stream systemd handed us (JOURNAL_STREAM is "device:inode" of it). */
function stdoutIsJournal(): boolean {
  const stream = process.env['JOURNAL_STREAM'];
  if (!stream) return false;
  try {
    const stat = fs.fstatSync(1);
    return stream === `${stat.dev}:${stat.ino}`;
  } catch {
    return false;
  }
}
