/**
 * What every check of `lapsebox doctor` is given: the configuration, the system's
 * paths, the accounts involved, the running daemon's view and a deadline. Checks
 * read the world through this context, so a test can point them elsewhere.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DateTime } from 'luxon';
import type { Config } from '../config/schema';
import type { SourceStatus } from '../status.service';
import type { TargetStatus } from '../sync/sync.service';
import type { MqttStatus } from '../domain/mqtt';
import { CommandNotFoundError, runCommand, type CommandResult } from '../process';
import { controlRequest } from '../control/client';
import { DataLayout } from '../files/layout';
import { messageOf } from '../error-causes';

export type Verdict = 'ok' | 'warn' | 'fail';

/** Families of checks, in the order they are printed. */
export const CHECK_GROUPS = ['configuration', 'daemon', 'tools', 'system', 'data folder', 'cameras', 'targets', 'mqtt'] as const;
export type CheckGroup = (typeof CHECK_GROUPS)[number];

export interface Check {
  group: CheckGroup;
  name: string;
  verdict: Verdict;
  detail: string;
  /** What to do about it, when it is not ok. */
  fix?: string;
}

/** A user as the kernel checks permissions: uid, primary and supplementary groups. */
export interface Account {
  name: string;
  uid: number;
  gid: number;
  groups: number[];
  /** How doctor decided this is the account, for messages. */
  why: string;
}

export type DaemonView =
  | { state: 'stopped'; socket: string }
  | { state: 'no-answer'; socket: string; error: string }
  | {
      state: 'running';
      socket: string;
      pid: number;
      startedAt: string;
      version: string | null;
      /** The daemon's memory allocator (daemon/allocator.ts); null from a daemon that does not say. */
      allocator: string | null;
      sources: SourceStatus[];
      targets: TargetStatus[];
      /** The daemon's link to its broker; null without an mqtt section loaded (or from a daemon that does not say). */
      mqtt: MqttStatus | null;
    };

/** System files and folders doctor reads; the real ones by default. */
export interface SystemPaths {
  proc: string;
  passwd: string;
  group: string;
  /** Where `systemctl --global mask` puts its /dev/null links. */
  systemdUser: string;
  /** Where packages install user units (to know whether gvfs is installed at all). */
  systemdUserUnits: string[];
  /** The system time zone's link. */
  localtime: string;
  /** The device tree's model: "Raspberry Pi 4 Model B Rev 1.4" on a Pi. */
  deviceModel: string;
  /** The sysfs GPIO folder the power relays use. */
  gpio: string;
  /** Where the dynamic loader finds libjemalloc.so.2 (Debian's libjemalloc2), the allocator the unit preloads. */
  libraryDirs: string[];
}

/** Debian's multiarch folder for this processor (x86_64-linux-gnu, aarch64-linux-gnu, arm-linux-gnueabihf). */
function multiarch(): string {
  return { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf', ia32: 'i386-linux-gnu', riscv64: 'riscv64-linux-gnu' }[process.arch as string] ?? `${process.arch}-linux-gnu`;
}

export const SYSTEM_PATHS: SystemPaths = {
  proc: '/proc',
  passwd: '/etc/passwd',
  group: '/etc/group',
  systemdUser: '/etc/systemd/user',
  systemdUserUnits: ['/usr/lib/systemd/user', '/lib/systemd/user'],
  localtime: '/etc/localtime',
  deviceModel: '/proc/device-tree/model',
  gpio: '/sys/class/gpio',
  libraryDirs: [`/usr/lib/${multiarch()}`, `/lib/${multiarch()}`, '/usr/lib', '/usr/local/lib'],
};

export interface DoctorContext {
  config: Config;
  configFile: string;
  configWarnings: string[];
  /** The errors of the configuration file; when there are any, `config` is a stand-in without sources. */
  configProblems: string[];
  /** Why the configuration file could not be read at all (an errno code such as ENOENT or EACCES); null when it was read. */
  configReadError: string | null;
  /** Environment of the tools doctor runs (its PATH finds them). */
  env: NodeJS.ProcessEnv;
  now: () => number;
  paths: SystemPaths;
  /** Who runs doctor. */
  me: Account;
  /** The account the daemon runs (or will run) as: what the files must suit. */
  daemonUser: Account;
  /** User and group names, for messages ("uid 1001" when unknown). */
  names: { user(uid: number): string; group(gid: number): string };
  daemon: DaemonView;
  /** Fires when doctor's time is up: whatever is still in flight stops. */
  signal: AbortSignal;
}

/**
 * The user the packaged systemd unit runs the daemon as. The unit sets no
 * SupplementaryGroups=, so the daemon has the groups /etc/group gives this user.
 */
export const SERVICE_USER = 'lapsebox';

/** Time the running daemon gets to answer /status. */
const DAEMON_TIMEOUT_MS = 3000;

export interface ContextOptions {
  config: Config;
  configFile: string;
  configWarnings: string[];
  configProblems?: string[];
  configReadError?: string | null;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  paths?: Partial<SystemPaths>;
  signal: AbortSignal;
}

/** Builds the context: asks the daemon first, since what it says decides whose files these are and which cameras doctor may touch. */
export async function createContext(options: ContextOptions): Promise<DoctorContext> {
  const paths = { ...SYSTEM_PATHS, ...options.paths };
  const daemon = await readDaemon(new DataLayout(options.config.storage.dataDir).controlSocket);
  const users = await readAccounts(paths);
  const me = currentAccount(users);
  return {
    config: options.config,
    configFile: options.configFile,
    configWarnings: options.configWarnings,
    configProblems: options.configProblems ?? [],
    configReadError: options.configReadError ?? null,
    env: options.env ?? process.env,
    now: options.now ?? Date.now,
    paths,
    me,
    daemonUser: (await daemonAccount(daemon, users, paths)) ?? me,
    names: { user: users.nameOf, group: users.groupName },
    daemon,
    signal: options.signal,
  };
}

async function readDaemon(socket: string): Promise<DaemonView> {
  try {
    const answer = await controlRequest(socket, 'GET', '/status', DAEMON_TIMEOUT_MS);
    if (answer === null) return { state: 'stopped', socket };
    if (answer.status !== 200) return { state: 'no-answer', socket, error: `it answered ${answer.status}` };
    const body = answer.body as { daemon: { pid: number; startedAt: string; allocator?: string }; versions?: { lapsebox: string }; sources: SourceStatus[]; sync?: { targets: TargetStatus[] }; mqtt?: MqttStatus | null };
    return {
      state: 'running',
      socket,
      pid: body.daemon.pid,
      startedAt: body.daemon.startedAt,
      version: body.versions?.lapsebox ?? null,
      allocator: body.daemon.allocator ?? null,
      sources: body.sources,
      targets: body.sync?.targets ?? [],
      mqtt: body.mqtt ?? null,
    };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const error = code === 'EACCES' ? 'permission denied on the control socket (it is for the daemon\'s user and group)' : messageOf(err);
    return { state: 'no-answer', socket, error };
  }
}

interface Accounts {
  byName: Map<string, { uid: number; gid: number }>;
  nameOf: (uid: number) => string;
  groupName: (gid: number) => string;
  /** Supplementary groups of a user, from /etc/group. */
  groupsOf: (name: string) => number[];
}

async function readAccounts(paths: SystemPaths): Promise<Accounts> {
  const lines = (file: string) => fs.readFile(file, 'utf8').then((t) => t.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':')), () => [] as string[][]);
  const [passwd, group] = await Promise.all([lines(paths.passwd), lines(paths.group)]);
  const byName = new Map(passwd.map((f) => [f[0]!, { uid: Number(f[2]), gid: Number(f[3]) }]));
  const groups = group.map((f) => ({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
  return {
    byName,
    nameOf: (uid) => [...byName].find(([, u]) => u.uid === uid)?.[0] ?? `uid ${uid}`,
    groupName: (gid) => groups.find((g) => g.gid === gid)?.name ?? `gid ${gid}`,
    groupsOf: (name) => groups.filter((g) => g.members.includes(name)).map((g) => g.gid),
  };
}

function currentAccount(users: Accounts): Account {
  const uid = process.getuid?.() ?? 0;
  return { name: users.nameOf(uid), uid, gid: process.getgid?.() ?? 0, groups: process.getgroups?.() ?? [], why: 'the user running doctor' };
}

/**
 * The running daemon's own user; else the `lapsebox` user the systemd unit runs it
 * as, when it exists; else null (the daemon is run by hand, as this user).
 */
async function daemonAccount(daemon: DaemonView, users: Accounts, paths: SystemPaths): Promise<Account | null> {
  if (daemon.state === 'running') {
    const status = await fs.readFile(path.join(paths.proc, String(daemon.pid), 'status'), 'utf8').catch(() => '');
    const ids = (key: string) => (new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').split(/\s+/).filter(Boolean).map(Number);
    const [uid] = ids('Uid');
    const [gid] = ids('Gid');
    if (uid !== undefined && gid !== undefined) return { name: users.nameOf(uid), uid, gid, groups: ids('Groups'), why: `the running daemon's user (pid ${daemon.pid})` };
  }
  const service = users.byName.get(SERVICE_USER);
  if (!service) return null;
  return { name: SERVICE_USER, ...service, groups: users.groupsOf(SERVICE_USER), why: `the user systemd runs the daemon as` };
}

/** Whether an account may read and/or write a file with these owner and mode bits (root may do anything but execute). */
export function mayAccess(stat: { uid: number; gid: number; mode: number }, who: Account, want: { read?: boolean; write?: boolean }): boolean {
  if (who.uid === 0) return true;
  const bits = stat.uid === who.uid ? (stat.mode >> 6) & 7 : stat.gid === who.gid || who.groups.includes(stat.gid) ? (stat.mode >> 3) & 7 : stat.mode & 7;
  const need = (want.read ? 4 : 0) | (want.write ? 2 : 0);
  return (bits & need) === need;
}

export function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Runs a tool (argv, no shell) within `timeoutMs` and doctor's deadline; null when it is not installed. */
export async function runTool(ctx: Pick<DoctorContext, 'env' | 'signal'>, program: string, args: string[], timeoutMs = 10_000): Promise<CommandResult | null> {
  try {
    return await runCommand(program, args, { env: ctx.env, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]), killGraceMs: 1000, maxOutputBytes: 64 * 1024 });
  } catch (err) {
    if (err instanceof CommandNotFoundError) return null;
    throw err;
  }
}

/** A time for people, in the appliance's zone. */
export function localTime(ctx: Pick<DoctorContext, 'config'>, iso: string): string {
  return DateTime.fromISO(iso, { zone: ctx.config.appliance.timezone }).toFormat('yyyy-LL-dd HH:mm:ss');
}
