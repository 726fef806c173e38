/**
 * Each sync target, step by step as the sync meets it. SFTP: the host name
 * resolves, the port answers, the server's host key is the pinned one (a mismatch
 * is never accepted), the login works, and the remote folder takes a file. S3: the
 * endpoint resolves and answers, the credentials are accepted, the bucket exists
 * and takes a probe object, and the box's clock agrees with the server's (SigV4
 * signs with it). Then the backlog waiting for it. The connection is the sync's
 * own transport.
 */
import dns from 'node:dns/promises';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import type { S3TargetConfig, SftpTargetConfig, SyncTargetConfig } from '../config/schema';
import { formatDuration } from '../config/duration';
import { DataLayout } from '../files/layout';
import { readDatabase } from '../store/database';
import { OutboxRepository, type Backlog } from '../store/outbox.repository';
import { SyncError, type ProbeReport } from '../sync/transport';
import { boxLocation, endpointOf, serverOf } from '../sync/remote-paths';
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
  const { host, port } = serverOf(t);
  const server = t.type === 'sftp' ? `${t.username}@${host}:${port}` : `${boxLocation(t, ctx.config.appliance.id)} at ${endpointOf(t).origin}`;
  const fail = (detail: string, fix: string): Check => ({ group: 'targets', name, verdict: 'fail', detail: `${server}: ${detail}`, fix });

  if (net.isIP(host) === 0) {
    const looked = await lookup(host);
    if (typeof looked === 'string') return fail(`unreachable: ${looked}`, `check the ${t.type === 'sftp' ? 'host' : 'endpoint'} in sync.targets, and the box's DNS (/etc/resolv.conf)`);
  }
  let presented: string | null = null;
  const transport = createTransport(t, { applianceId: ctx.config.appliance.id, onHostKey: (fp) => (presented = fp) });
  const stop = () => transport.abort();
  const deadline = AbortSignal.any([ctx.signal, AbortSignal.timeout(TARGET_TIMEOUT_MS)]);
  deadline.addEventListener('abort', stop, { once: true });
  let report: ProbeReport;
  try {
    report = await transport.probe();
  } catch (err) {
    const done = err instanceof SyncError ? err.steps : [];
    if (t.type === 'sftp' && presented !== null && done.length > 0) done.unshift(`host key ${presented} as pinned`);
    if (deadline.aborted) return fail(`no answer within ${TARGET_TIMEOUT_MS / 1000} s${done.length ? ` (${done.join(', ')})` : ''}`, 'check the link to the server; "lapsebox sync status" shows how the sync fares');
    return t.type === 'sftp' ? sftpFailure(t, err, presented, done, fail) : s3Failure(t, err, done, fail);
  } finally {
    deadline.removeEventListener('abort', stop);
    await transport.close();
  }
  const steps = t.type === 'sftp' ? [`host key ${presented} as pinned`, ...report.steps] : report.steps;
  const check = withBacklog({ group: 'targets', name, verdict: 'ok', detail: `${server}: ${steps.join(', ')}` }, target, backlog, ctx.now());
  const probed: Check = report.leftBehind
    ? { ...check, verdict: 'warn', detail: `${check.detail}; the key may not delete, so the probe ${report.leftBehind} stayed (the sync never deletes: it does not need that right)`, fix: `remove ${report.leftBehind} with a key that may, or give this one s3:DeleteObject on its prefix to keep the doctor tidy` }
    : check;
  const clocked = report.clockOffsetMs === undefined ? probed : withClock(probed, report.clockOffsetMs);
  return clocked.verdict === 'ok' ? await secretFileExposure(clocked, target) : clocked;
}

/** SigV4 signs each request with the time: S3 servers refuse one more than 15 minutes off. */
const SIGV4_SKEW_MS = 15 * 60_000;
/** Beyond this the box's pictures are named and scheduled with a wrong time: worth fixing even if S3 would take it. */
const CLOCK_WARN_MS = 60_000;

function withClock(check: Check, offsetMs: number): Check {
  const off = Math.abs(offsetMs);
  const how = `${formatSkew(off)} ${offsetMs > 0 ? 'behind' : 'ahead of'} the server's`;
  const fix = 'check the box\'s time sync: timedatectl status (NTP service active, synchronized: yes); pictures are named and scheduled with this clock';
  if (off >= SIGV4_SKEW_MS) {
    return { ...check, verdict: 'fail', detail: `${check.detail}; the box's clock is ${how}: S3 refuses requests signed more than 15 minutes off (the sync corrects its signatures from the server's Date header, other S3 clients on the box will not)`, fix };
  }
  if (off >= CLOCK_WARN_MS) return { ...check, verdict: 'warn', detail: `${check.detail}; the box's clock is ${how}`, fix };
  return { ...check, detail: `${check.detail}; clock within ${Math.max(1, Math.ceil(off / 1000))} s of the server's` };
}

function formatSkew(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

/** A private key or a secret key file other users can read is no longer secret. */
async function secretFileExposure(check: Check, target: SyncTargetConfig): Promise<Check> {
  const file = target.type === 'sftp' ? target.privateKey : target.secretAccessKeyFile;
  if (file === undefined) return check;
  const st = await fsp.stat(file).catch(() => null);
  if (st === null || !(st.mode & 0o004) || (await folderKeepingOthersOut(file))) return check;
  const what = target.type === 'sftp' ? 'private key' : 'secret key file';
  return { ...check, verdict: 'warn', detail: `${check.detail}; the ${what} ${file} is readable by other users (mode ${octal(st.mode)})`, fix: `sudo chmod 600 ${file} (owned by the daemon's user)` };
}

type Fail = (detail: string, fix: string) => Check;

function sftpFailure(t: SftpTargetConfig, err: unknown, presented: string | null, done: string[], fail: Fail): Check {
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
    case 'missing-folder':
      return fail(`${before}${err.message}`, `on the server: mkdir -p ${t.remoteDir} && chown ${t.username} ${t.remoteDir} (or fix remoteDir)`);
    case 'permission':
      return fail(`${before}cannot write: ${err.message}`, `on the server: give ${t.username} write access to ${t.remoteDir}`);
    default:
      return fail(`${before}${err.message}`, 'see "lapsebox sync status" for how the sync fares');
  }
}

function s3Failure(t: S3TargetConfig, err: unknown, done: string[], fail: Fail): Check {
  const before = done.length ? `${done.join(', ')}, but ` : '';
  if (!(err instanceof SyncError)) return fail(`${before}${messageOf(err)}`, 'see "lapsebox sync status" for how the sync fares');
  const endpoint = endpointOf(t);
  switch (err.kind) {
    case 'unreachable':
    case 'timeout':
      return fail(`unreachable: ${err.message}`, `check that the server is up and that the box may reach ${endpoint.host} (firewall, VPN, proxy)`);
    case 'auth':
      return fail(`credentials refused: ${err.message}`, `check accessKeyId and the secret key (${t.secretAccessKeyFile ? `the first line of ${t.secretAccessKeyFile}` : 'secretAccessKey'}) with the storage's administrator, and region (${t.region})`);
    case 'clock':
      return fail(`${before}${err.message}`, 'check the box\'s time sync: timedatectl status (NTP service active, synchronized: yes)');
    case 'no-bucket':
      return fail(`${before}${err.message}`, `create the bucket "${t.bucket}" on the server, or fix bucket (and forcePathStyle: ${t.forcePathStyle ? 'true' : 'false'} is right for this server?)`);
    case 'permission':
      return fail(`${before}cannot write: ${err.message}`, `give the key ${t.accessKeyId} the rights docs/sync.md lists (s3:PutObject first) on arn:aws:s3:::${t.bucket}/${t.prefix ? `${t.prefix}/` : ''}*`);
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
