/**
 * Who may read and write lapsebox's files: the configuration (it may hold
 * passwords), the data folder and the database. What matters is the account the
 * daemon runs as (see context.ts), and that nobody else may read or change them.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { constants, type Stats } from 'node:fs';
import type { Config } from '../config/schema';
import { DataLayout } from '../files/layout';
import { readDatabase, schemaVersion } from '../store/database';
import { MIGRATIONS } from '../store/migrations';
import { mayAccess, octal, SERVICE_USER, type Check, type DoctorContext } from './context';
import { messageOf } from '../error-causes';

/** What to do when the configuration file is missing or this user cannot read it; shared by the configuration rows. */
export function unreadableConfigFix(ctx: Pick<DoctorContext, 'configFile' | 'me' | 'daemonUser' | 'daemon' | 'names'>, code: string): string {
  if (code === 'ENOENT') return 'sudo scripts/install.sh creates one, or --config FILE';
  if (code !== 'EACCES' && code !== 'EPERM') return 'name a readable configuration file: --config FILE';
  const who = ctx.daemonUser;
  // Doctor runs as the daemon's own user (sudo lapsebox doctor does): that user must be let in.
  const daemons = ctx.me.uid === who.uid && (ctx.daemon.state === 'running' || ctx.me.name === SERVICE_USER);
  if (!daemons) return 'run sudo lapsebox doctor (it runs as the daemon\'s user, who must read it)';
  const dir = path.dirname(ctx.configFile);
  return `let ${who.name} read it and its folders, e.g. sudo chown root:${ctx.names.group(who.gid)} ${dir} ${ctx.configFile} && sudo chmod 750 ${dir} && sudo chmod 640 ${ctx.configFile}`;
}

export async function configFileCheck(ctx: DoctorContext): Promise<Check> {
  const file = ctx.configFile;
  const check = (verdict: Check['verdict'], detail: string, fix?: string): Check => ({ group: 'configuration', name: 'config file', verdict, detail: `${file}: ${detail}`, ...(fix ? { fix } : {}) });
  let st: Stats;
  try {
    st = await fs.stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    const fix = unreadableConfigFix(ctx, code);
    if (code === 'ENOENT') return { group: 'configuration', name: 'config file', verdict: 'fail', detail: `no configuration file at ${file}`, fix };
    if (code === 'EACCES' || code === 'EPERM') {
      // A folder on the way keeps this user out: its owner and mode cannot be seen from here.
      return { group: 'configuration', name: 'config file', verdict: 'fail', detail: `cannot read ${file}: this user (${ctx.me.name}) may not look into its folder`, fix };
    }
    return check('fail', `cannot look at it: ${messageOf(err)}`, fix);
  }
  if (!st.isFile()) return check('fail', 'not a file', 'name the configuration file itself: --config FILE');
  const who = ctx.daemonUser;
  const owner = `${ctx.names.user(st.uid)}:${ctx.names.group(st.gid)}`;
  const secrets = secretsIn(ctx.config);
  const holds = secrets.length > 0 ? `it holds ${secrets.join(', ')}` : 'it may hold passwords';
  // chmod 640 alone would lock the daemon out when it reads the file through "others".
  const privateFix = mayAccess({ ...st, mode: 0o640 }, who, { read: true }) ? `sudo chmod 640 ${file}` : `sudo chown root:${ctx.names.group(who.gid)} ${file} && sudo chmod 640 ${file}`;
  if (!mayAccess(st, who, { read: true })) {
    return check('fail', `${who.name} (${who.why}) cannot read it (owner ${owner}, mode ${octal(st.mode)})`, privateFix);
  }
  const closedBy = await folderKeepingOthersOut(file);
  const kept = closedBy && st.mode & 0o006 ? `, but ${closedBy} keeps other users out` : '';
  if (st.mode & 0o002 && !closedBy) return check('fail', `any user can change it (mode ${octal(st.mode)}), and ${holds}`, privateFix);
  if (st.mode & 0o004 && !closedBy) return check('warn', `every user can read it (mode ${octal(st.mode)}), and ${holds}`, privateFix);
  return check('ok', `owner ${owner}, mode ${octal(st.mode)}${kept}, readable by ${who.name}`);
}

/** The first folder above `file` that other users may not pass through, or null when they reach it. */
export async function folderKeepingOthersOut(file: string): Promise<string | null> {
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    const st = await fs.stat(dir).catch(() => null);
    if (st && !(st.mode & 0o001)) return dir;
    if (dir === path.dirname(dir)) return null;
  }
}

/** What in the configuration is secret, by kind (never the values). */
function secretsIn(config: Config): string[] {
  const found: string[] = [];
  if (config.sync.targets.some((t) => t.type === 'sftp' && t.password !== undefined)) found.push('sync passwords');
  if (config.sync.targets.some((t) => t.type === 's3' && t.secretAccessKey !== undefined)) found.push('S3 secret keys');
  if (config.sources.some((s) => (s.camera.driver === 'http' && s.camera.password !== undefined) || ((s.camera.driver === 'http' || s.camera.driver === 'rtsp') && new URL(s.camera.url).password !== ''))) {
    found.push('camera passwords');
  }
  if (config.alerts.email?.smtp.password !== undefined) found.push('the SMTP password');
  if (config.mqtt?.password !== undefined) found.push('the MQTT password');
  if (config.alerts.webhook?.headers !== undefined) found.push('webhook headers');
  return found;
}

export async function dataFolderChecks(ctx: DoctorContext): Promise<Check[]> {
  return Promise.all([dataFolderCheck(ctx), databaseCheck(ctx)]);
}

async function dataFolderCheck(ctx: DoctorContext): Promise<Check> {
  const dir = ctx.config.storage.dataDir;
  const who = ctx.daemonUser;
  const st = await fs.stat(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));
  if (st === null) {
    return { group: 'data folder', name: 'data folder', verdict: 'warn', detail: `${dir} does not exist yet`, fix: `the daemon creates it at its first start (or: sudo install -d -m 750 -o ${who.name} -g ${ctx.names.group(who.gid)} ${dir})` };
  }
  const found: Finding[] = [];
  const owner = `${ctx.names.user(st.uid)}:${ctx.names.group(st.gid)}`;
  if (!st.isDirectory()) found.push({ verdict: 'fail', text: 'not a folder', fix: `point storage.dataDir at a folder` });
  else {
    if (!mayAccess(st, who, { read: true, write: true })) found.push({ verdict: 'fail', text: `${who.name} (${who.why}) cannot write it`, fix: `sudo chown -R ${who.name}: ${dir}` });
    else if (st.uid !== who.uid) found.push({ verdict: 'warn', text: `owned by ${ctx.names.user(st.uid)}, not by ${who.name} (${who.why})`, fix: `sudo chown -R ${who.name}: ${dir}` });
    if (st.mode & 0o002) found.push({ verdict: 'fail', text: `any user can change pictures and the database in it (mode ${octal(st.mode)})`, fix: `sudo chmod 750 ${dir}` });
    else if (st.mode & 0o005) found.push({ verdict: 'warn', text: `every user can look into it (mode ${octal(st.mode)}; 0750 expected)`, fix: `sudo chmod 750 ${dir}` });
    found.push(...(await writable(dir, ctx)));
  }
  return summarise('data folder', 'data folder', `${dir} (owner ${owner}, mode ${octal(st.mode)})`, found, `writable by ${who.name}, private`);
}

/** Whether this user may write there: a read-only filesystem shows here (even root gets EROFS). */
async function writable(file: string, ctx: DoctorContext): Promise<Finding[]> {
  try {
    await fs.access(file, constants.R_OK | constants.W_OK);
    return [];
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return [{ verdict: 'fail', text: 'the filesystem is read-only (an SD card going bad, or mounted read-only)', fix: 'check "dmesg" for I/O errors; sudo mount -o remount,rw on its mount point, or replace the card' }];
    if (ctx.me.uid === ctx.daemonUser.uid) return [];
    return [{ verdict: 'warn', text: `this user (${ctx.me.name}) cannot write it, so doctor and CLI commands that change things cannot either`, fix: 'run them as root: sudo lapsebox ...' }];
  }
}

async function databaseCheck(ctx: DoctorContext): Promise<Check> {
  const file = new DataLayout(ctx.config.storage.dataDir).database;
  const who = ctx.daemonUser;
  const stats = await Promise.all(
    [file, `${file}-wal`, `${file}-shm`].map((f) => fs.stat(f).then((st): [string, Stats] => [f, st], (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)))),
  ).catch((err: NodeJS.ErrnoException) => err);
  if (stats instanceof Error) {
    return { group: 'data folder', name: 'database', verdict: 'warn', detail: `${file} cannot be looked at by this user (${ctx.me.name}): ${stats.code ?? stats.message}`, fix: 'run doctor as root or as the daemon\'s user: sudo lapsebox doctor' };
  }
  const [main] = stats;
  if (!main) return { group: 'data folder', name: 'database', verdict: 'ok', detail: `${file} not created yet (the daemon creates it at its first start)` };
  const found: Finding[] = [];
  const present = stats.filter((e): e is [string, Stats] => e !== null);
  // A file root created (a CLI command run as root) locks the daemon out of the whole database.
  for (const [f, st] of present.filter(([, st]) => !mayAccess(st, who, { read: true, write: true }))) {
    found.push({ verdict: 'fail', text: `${who.name} (${who.why}) cannot write ${path.basename(f)} (owner ${ctx.names.user(st.uid)}, mode ${octal(st.mode)})`, fix: `sudo chown ${who.name}: ${file}*` });
  }
  // Readable files in a folder others cannot enter are not exposed.
  const readable = (await folderKeepingOthersOut(file)) ? [] : present.filter(([, st]) => st.mode & 0o004);
  if (readable.length > 0) {
    found.push({ verdict: 'warn', text: `every user can read ${readable.map(([f]) => path.basename(f)).join(', ')} (mode ${octal(readable[0]![1].mode)}): it holds password hashes`, fix: `sudo chmod 640 ${file}*` });
  }
  found.push(...(await writable(file, ctx)));
  const version = storedSchemaVersion(file);
  if (typeof version === 'string') found.push({ verdict: 'warn', text: `cannot read it: ${version}` });
  else if (version > MIGRATIONS.length) {
    found.push({ verdict: 'fail', text: `schema version ${version}, newer than this lapsebox knows (${MIGRATIONS.length})`, fix: 'install the newer lapsebox again, or restore a backup' });
  }
  const schema = typeof version === 'number' ? `schema ${version}${version < MIGRATIONS.length ? `, migrated to ${MIGRATIONS.length} at the next start` : ''}` : 'schema unknown';
  return summarise('data folder', 'database', `${file} (${schema})`, found, `readable and writable by ${who.name}`);
}

/** The schema version, or why it cannot be read; read-only, never migrates. */
function storedSchemaVersion(file: string): number | string {
  try {
    return readDatabase(file, schemaVersion);
  } catch (err) {
    return messageOf(err);
  }
}

export interface Finding {
  verdict: 'warn' | 'fail';
  text: string;
  fix?: string;
}

/** One row from several findings: the worst verdict, every finding said, their fixes joined. */
export function summarise(group: Check['group'], name: string, subject: string, found: readonly Finding[], allGood: string): Check {
  if (found.length === 0) return { group, name, verdict: 'ok', detail: `${subject}: ${allGood}` };
  const fixes = [...new Set(found.map((f) => f.fix).filter((f): f is string => Boolean(f)))];
  return {
    group,
    name,
    verdict: found.some((f) => f.verdict === 'fail') ? 'fail' : 'warn',
    detail: `${subject}: ${found.map((f) => f.text).join('; ')}`,
    ...(fixes.length > 0 ? { fix: fixes.join('; ') } : {}),
  };
}
