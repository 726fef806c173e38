/**
 * Each sync target, step by step as the sync meets it: the host name resolves, the
 * port answers, the server's host key is the pinned one (a mismatch is never
 * accepted), the login works, and the remote folder takes a file; then the
 * backlog waiting for it. The connection is the sync's own transport.
 */
import dns from 'node:dns/promises';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { SyncTargetConfig } from '../config/schema';
import { formatDuration } from '../config/duration';
import { DataLayout } from '../files/layout';
import { readDatabase } from '../store/database';
import { OutboxRepository, type Backlog } from '../store/outbox.repository';
import { SyncError } from '../sync/transport';
import { octal, type Check, type DoctorContext } from './context';
import { folderKeepingOthersOut } from './permissions';
import { createTransport } from '../sync/transports';
import { messageOf } from '../error-causes';

/** Each step (connecting, one SFTP request) may take this long at most, whatever the target's timeout. */
const STEP_TIMEOUT_MS = 8000;
/** A whole target, all steps. */
const TARGET_TIMEOUT_MS = 15_000;
const DNS_TIMEOUT_MS = 5000;
const MB = 1024 * 1024;

export async function targetChecks(ctx: DoctorContext): Promise<Check[]> {
  const targets = ctx.config.sync.targets;
  if (targets.length === 0) return [];
  const backlogs = readBacklogs(ctx);
  return Promise.all(targets.map((t) => targetCheck(ctx, t, backlogs.get(t.id) ?? null)));
}

/** Files waiting per target: the running daemon's figures, else the database's (read-only). */
function readBacklogs(ctx: DoctorContext): Map<string, Backlog | string> {
  if (ctx.daemon.state === 'running') return new Map(ctx.daemon.targets.map((t) => [t.id, t.backlog]));
  const out = new Map<string, Backlog | string>();
  const file = new DataLayout(ctx.config.storage.dataDir).database;
  if ((fs.statSync(file, { throwIfNoEntry: false }) ?? null) === null) return new Map(ctx.config.sync.targets.map((t) => [t.id, 'no database yet']));
  try {
    readDatabase(file, (db) => {
      const outbox = new OutboxRepository(db);
      for (const t of ctx.config.sync.targets) out.set(t.id, outbox.backlog(t.id));
    });
  } catch (err) {
    for (const t of ctx.config.sync.targets) out.set(t.id, `the database cannot be read: ${messageOf(err)}`);
  }
  return out;
}

async function targetCheck(ctx: DoctorContext, target: SyncTargetConfig, backlog: Backlog | string | null): Promise<Check> {
  const name = `target ${target.id}`;
  const t = { ...target, timeout: Math.min(target.timeout, STEP_TIMEOUT_MS) };
  const server = `${t.username}@${t.host}:${t.port}`;
  const fail = (detail: string, fix: string): Check => ({ group: 'targets', name, verdict: 'fail', detail: `${server}: ${detail}`, fix });

  if (net.isIP(t.host) === 0) {
    const looked = await lookup(t.host);
    if (typeof looked === 'string') return fail(`unreachable: ${looked}`, 'check the host name in sync.targets, and the box\'s DNS (/etc/resolv.conf)');
  }
  let presented: string | null = null;
  const transport = createTransport(t, { onHostKey: (fp) => (presented = fp) });
  const stop = () => transport.abort();
  const deadline = AbortSignal.any([ctx.signal, AbortSignal.timeout(TARGET_TIMEOUT_MS)]);
  deadline.addEventListener('abort', stop, { once: true });
  const done: string[] = [];
  try {
    await transport.connect();
    done.push(`host key ${presented} as pinned`, 'logged in');
    const base = path.posix.join(t.remoteDir, ctx.config.appliance.id);
    // The box's own folder once the sync made it; before that the sync makes it in remoteDir.
    const dir = (await transport.remoteKind(base)) === 'folder' ? base : t.remoteDir;
    if (dir === t.remoteDir) {
      const kind = await transport.remoteKind(t.remoteDir);
      if (kind !== 'folder') {
        return fail(`${done.join(', ')}, but ${t.remoteDir} ${kind === 'missing' ? 'does not exist' : 'is not a folder'} on the server`, `on the server: mkdir -p ${t.remoteDir} && chown ${t.username} ${t.remoteDir} (or fix remoteDir)`);
      }
    }
    await transport.probeWrite(dir);
    done.push(`${dir} writable`);
  } catch (err) {
    if (deadline.aborted) return fail(`no answer within ${TARGET_TIMEOUT_MS / 1000} s${done.length ? ` (${done.join(', ')})` : ''}`, 'check the link to the server; "lapsebox sync status" shows how the sync fares');
    return stepFailure(t, err, presented, done, fail);
  } finally {
    deadline.removeEventListener('abort', stop);
    await transport.close();
  }
  const check = withBacklog({ group: 'targets', name, verdict: 'ok', detail: `${server}: ${done.join(', ')}` }, target, backlog, ctx.now());
  return check.verdict === 'ok' ? await keyExposure(check, target) : check;
}

/** A private key other users can read is no longer private. */
async function keyExposure(check: Check, target: SyncTargetConfig): Promise<Check> {
  if (target.privateKey === undefined) return check;
  const st = await fsp.stat(target.privateKey).catch(() => null);
  if (st === null || !(st.mode & 0o004) || (await folderKeepingOthersOut(target.privateKey))) return check;
  return { ...check, verdict: 'warn', detail: `${check.detail}; the private key ${target.privateKey} is readable by other users (mode ${octal(st.mode)})`, fix: `sudo chmod 600 ${target.privateKey} (owned by the daemon's user)` };
}

function stepFailure(t: SyncTargetConfig, err: unknown, presented: string | null, done: string[], fail: (detail: string, fix: string) => Check): Check {
  const before = done.length ? `${done.join(', ')}, but ` : '';
  if (!(err instanceof SyncError)) return fail(`${before}${messageOf(err)}`, 'see "lapsebox sync status" for how the sync fares');
  switch (err.kind) {
    case 'unreachable':
    case 'timeout':
      if (err.kind === 'unreachable' || /did not accept a connection/.test(err.message)) {
        return fail(`unreachable: ${err.message}`, `check that the server is up and that the box may reach port ${t.port} (firewall, VPN)`);
      }
      if (presented === null) return fail(`no SSH answer: ${err.message}`, `check that port ${t.port} of ${t.host} is an SSH server`);
      return fail(`${before}${err.message}`, 'check the link to the server');
    case 'host-key':
      return fail(
        `host key mismatch: the server presented ${presented}, the configuration pins ${t.hostKey}; nothing is sent there`,
        `check the server's key with its administrator (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the server); only if it really changed, set hostKey: "${presented}"`,
      );
    case 'auth':
      return fail(`login refused: ${err.message}`, t.privateKey ? `add the box's public key (ssh-keygen -y -f ${t.privateKey}) to ~${t.username}/.ssh/authorized_keys on the server` : 'check the password with the server\'s administrator');
    case 'permission':
      return fail(`${before}cannot write: ${err.message}`, `on the server: give ${t.username} write access to ${t.remoteDir}`);
    default:
      return fail(`${before}${err.message}`, 'see "lapsebox sync status" for how the sync fares');
  }
}

/** The host's addresses, or why it has none. */
async function lookup(host: string): Promise<string[] | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no DNS answer for ${host} within ${DNS_TIMEOUT_MS / 1000} s (is the network up?)`), DNS_TIMEOUT_MS)));
  const looked = dns.lookup(host, { all: true }).then(
    (addresses) => addresses.map((a) => a.address),
    (err: NodeJS.ErrnoException) => (err.code === 'ENOTFOUND' ? `${host} is not a known host name` : `${host} could not be looked up (${err.code ?? err.message})`),
  );
  return Promise.race([looked, late]).finally(() => clearTimeout(timer));
}

/** The files waiting for the target; a warning when the oldest has waited longer than its alertAfter. */
function withBacklog(check: Check, target: SyncTargetConfig, backlog: Backlog | string | null, now: number): Check {
  if (backlog === null) return check;
  if (typeof backlog === 'string') return { ...check, detail: `${check.detail}; backlog unknown (${backlog})` };
  if (backlog.pending === 0) return { ...check, detail: `${check.detail}; nothing waiting` };
  const age = backlog.oldestAt === null ? 0 : Math.max(0, now - backlog.oldestAt);
  const waiting = `${backlog.pending} files (${Math.ceil(backlog.bytes / MB)} MB) waiting, the oldest for ${age < 60_000 ? 'less than a minute' : formatDuration(Math.floor(age / 60_000) * 60_000)}`;
  if (age > target.alertAfter) {
    return { ...check, verdict: 'warn', detail: `${check.detail}; ${waiting}, longer than alertAfter (${formatDuration(target.alertAfter)})`, fix: 'the server answers: "lapsebox sync run" sends now; "lapsebox sync status" shows files failing on their own' };
  }
  return { ...check, detail: `${check.detail}; ${waiting}` };
}
