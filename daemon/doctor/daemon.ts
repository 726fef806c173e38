/**
 * The daemon as its control socket shows it: running or not, its version and
 * uptime, and whether the socket is as private as it should be.
 */
import fs from 'node:fs';
import path from 'node:path';
import { JEMALLOC } from '../allocator';
import { formatDuration } from '../config/duration';
import { packageVersion } from '../package-info';
import { localTime, octal, type Check, type DoctorContext } from './context';

export async function daemonChecks(ctx: DoctorContext): Promise<Check[]> {
  return [daemonCheck(ctx), await socketCheck(ctx), allocatorCheck(ctx)];
}

const JEMALLOC_FIX = 'sudo apt-get install -y libjemalloc2, then sudo systemctl restart lapsebox';

/**
 * The running daemon's allocator: jemalloc, as the unit preloads it, gives freed memory
 * back; on glibc's malloc a small box's daemon grows (daemon/allocator.ts). Without a
 * running daemon: whether the library the unit preloads is there.
 */
function allocatorCheck(ctx: DoctorContext): Check {
  const check = (verdict: Check['verdict'], detail: string): Check => ({ group: 'daemon', name: 'memory allocator', verdict, detail, ...(verdict === 'ok' ? {} : { fix: JEMALLOC_FIX }) });
  const d = ctx.daemon;
  if (d.state === 'running' && d.allocator === 'jemalloc') return check('ok', 'jemalloc (the unit preloads it)');
  if (d.state === 'running' && d.allocator !== null) return check('warn', `the daemon runs on ${d.allocator}'s malloc, which keeps the memory it frees: ${JEMALLOC} is not installed, or the daemon was not started by the unit`);
  const found = ctx.paths.libraryDirs.map((dir) => path.join(dir, JEMALLOC)).find((file) => fs.existsSync(file));
  return found ? check('ok', `${found} (the unit preloads it)`) : check('warn', `${JEMALLOC} not found in ${ctx.paths.libraryDirs.join(', ')}: the daemon would run on glibc's malloc, which keeps the memory it frees`);
}

function daemonCheck(ctx: DoctorContext): Check {
  const d = ctx.daemon;
  if (d.state === 'stopped') {
    return { group: 'daemon', name: 'daemon', verdict: 'warn', detail: `not running (nothing answers on ${d.socket})`, fix: 'sudo systemctl start lapsebox; "journalctl -u lapsebox -n 50" says why it stopped' };
  }
  if (d.state === 'no-answer') {
    return { group: 'daemon', name: 'daemon', verdict: 'fail', detail: `does not answer on ${d.socket}: ${d.error}`, fix: 'sudo systemctl restart lapsebox (run doctor as root to use the socket)' };
  }
  const up = Math.max(0, ctx.now() - Date.parse(d.startedAt));
  const uptime = up < 60_000 ? `${Math.floor(up / 1000)}s` : formatDuration(Math.floor(up / 60_000) * 60_000);
  const mine = packageVersion();
  const detail = `running, pid ${d.pid}, lapsebox ${d.version ?? '(version not said)'}, up ${uptime} (since ${localTime(ctx, d.startedAt)})`;
  if (d.version !== null && d.version !== mine) {
    return { group: 'daemon', name: 'daemon', verdict: 'warn', detail: `${detail}; this lapsebox is ${mine}`, fix: 'sudo systemctl restart lapsebox (it runs the version it was started with)' };
  }
  return { group: 'daemon', name: 'daemon', verdict: 'ok', detail };
}

async function socketCheck(ctx: DoctorContext): Promise<Check> {
  const { socket } = ctx.daemon;
  const st = await fs.promises.lstat(socket).catch(() => null);
  if (st === null) return { group: 'daemon', name: 'control socket', verdict: 'ok', detail: `${socket} not there (the daemon makes it when it starts)` };
  const owner = `${ctx.names.user(st.uid)}:${ctx.names.group(st.gid)}, mode ${octal(st.mode)}`;
  if (!st.isSocket()) return { group: 'daemon', name: 'control socket', verdict: 'fail', detail: `${socket} is not a socket`, fix: `remove it: sudo rm ${socket}` };
  if (ctx.daemon.state !== 'running') return { group: 'daemon', name: 'control socket', verdict: 'ok', detail: `${socket} (${owner}) left by a daemon that stopped; the next start replaces it` };
  // Whoever can use the socket can capture, build videos and send: no more than the data folder's users.
  if (st.mode & 0o007) {
    return { group: 'daemon', name: 'control socket', verdict: 'fail', detail: `${socket} (${owner}): any user can drive the daemon through it`, fix: `sudo chmod 660 ${socket}, and restart the daemon (it sets 0660)` };
  }
  return { group: 'daemon', name: 'control socket', verdict: 'ok', detail: `${socket} (${owner})` };
}
