/**
 * The box around lapsebox: gvfs grabbing cameras, the data disk's free space and
 * inodes, whether the clock is synchronised, and the time zone.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { IANAZone } from 'luxon';
import { GVFS_FIX, GVFS_UNIT, gvfsProcesses } from '../capture/discovery';
import { statfsProbe } from '../storage/retention';
import { readClock } from '../health/system-probe';
import { needs } from './tools';
import { runTool, type Check, type DoctorContext } from './context';

const MB = 1024 * 1024;
/** An unsynchronised clock this soon after boot is still catching up. */
const CLOCK_GRACE_S = 15 * 60;

export async function systemChecks(ctx: DoctorContext): Promise<Check[]> {
  return Promise.all([gvfsCheck(ctx), diskCheck(ctx), clockCheck(ctx), timezoneCheck(ctx)]);
}

async function gvfsCheck(ctx: DoctorContext): Promise<Check> {
  const used = needs(ctx.config).gphoto2;
  const running = await gvfsProcesses(ctx.paths.proc);
  const masked = (await fs.readlink(path.join(ctx.paths.systemdUser, GVFS_UNIT)).catch(() => null)) === '/dev/null';
  const installed = (await Promise.all(ctx.paths.systemdUserUnits.map((dir) => fs.access(path.join(dir, GVFS_UNIT)).then(() => true, () => false)))).some(Boolean);
  if (running.length > 0) {
    return {
      group: 'system',
      name: 'gvfs',
      verdict: used ? 'fail' : 'warn',
      detail: `${running.join(' and ')} running${masked ? ' (masked, but started before)' : ''}: it grabs cameras as soon as they are plugged in, so gphoto2 cannot claim them`,
      fix: GVFS_FIX,
    };
  }
  if (installed && !masked) {
    return {
      group: 'system',
      name: 'gvfs',
      verdict: used ? 'warn' : 'ok',
      detail: `not running, but installed and not masked: a desktop session would start it and grab the camera`,
      ...(used ? { fix: GVFS_FIX } : {}),
    };
  }
  return { group: 'system', name: 'gvfs', verdict: 'ok', detail: `not running${masked ? `, ${GVFS_UNIT} masked` : installed ? '' : ' (not installed)'}` };
}

/** Free space as the storage guard measures it, against its thresholds; free inodes. */
async function diskCheck(ctx: DoctorContext): Promise<Check> {
  const { dataDir, retention } = ctx.config.storage;
  const dir = await existingAncestor(dataDir);
  const [space, inodes] = await Promise.all([statfsProbe(dir), fs.statfs(dir)]);
  const percent = space.totalBytes > 0 ? (space.freeBytes / space.totalBytes) * 100 : 0;
  const freeMB = Math.floor(space.freeBytes / MB);
  const inodesFree = inodes.files > 0 ? `, ${inodes.ffree} of ${inodes.files} inodes free` : '';
  const detail = `${freeMB} MB free of ${Math.round(space.totalBytes / MB)} MB (${percent.toFixed(1)}%) at ${dir}${inodesFree}`;
  const check = (verdict: Check['verdict'], why: string, fix?: string): Check => ({ group: 'system', name: 'disk', verdict, detail: `${detail}${why}`, ...(fix ? { fix } : {}) });
  if (space.freeBytes < retention.reserveMB * MB) {
    return check('fail', `: below storage.retention.reserveMB (${retention.reserveMB} MB), capture pauses`, 'free space on that disk; pictures not yet sent are kept, so check the sync targets below (or use a bigger card)');
  }
  if (inodes.files > 0 && inodes.ffree < Math.max(1000, inodes.files * 0.01)) {
    return check('fail', ': almost no inodes left, no new file can be created', 'delete files on that disk (many small files), or recreate the filesystem with more inodes');
  }
  if (percent < retention.minFreePercent) {
    return check('warn', `: below storage.retention.minFreePercent (${retention.minFreePercent}%), the oldest pictures already sent are being deleted`, 'free space, or send the backlog (lapsebox sync run)');
  }
  return check('ok', '');
}

async function existingAncestor(dir: string): Promise<string> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (await fs.access(d).then(() => true, () => false)) return d;
    if (d === path.dirname(d)) return d;
  }
}

async function clockCheck(ctx: DoctorContext): Promise<Check> {
  const clock = await readClock(async (program, args) => {
    const result = await runTool(ctx, program, args, 5000);
    return result?.code === 0 && !result.aborted ? result.stdout : null;
  });
  if (clock.synchronized === true) return { group: 'system', name: 'clock', verdict: 'ok', detail: `synchronised (${clock.via})` };
  if (clock.synchronized === null) {
    return { group: 'system', name: 'clock', verdict: 'warn', detail: 'synchronisation unknown: neither timedatectl nor chronyc answered', fix: 'sudo apt-get install -y systemd-timesyncd (or chrony)' };
  }
  const uptime = Number((await fs.readFile(path.join(ctx.paths.proc, 'uptime'), 'utf8').catch(() => '')).split(' ')[0]);
  const justBooted = Number.isFinite(uptime) && uptime > 0 && uptime < CLOCK_GRACE_S;
  return {
    group: 'system',
    name: 'clock',
    verdict: justBooted ? 'warn' : 'fail',
    detail: `NOT synchronised (${clock.via})${justBooted ? `, ${Math.round(uptime / 60)} min after boot` : ''}: picture times and schedules may be off (a Pi has no real-time clock)`,
    fix:
      clock.via === 'chronyc'
        ? 'sudo systemctl enable --now chrony; "chronyc sources" shows whether the box reaches its NTP servers (UDP 123)'
        : 'sudo timedatectl set-ntp true; "timedatectl timesync-status" shows whether the box reaches its NTP server (UDP 123)',
  };
}

/** The appliance's zone against the system's: schedules follow the former, the journal the latter. */
async function timezoneCheck(ctx: DoctorContext): Promise<Check> {
  const configured = ctx.config.appliance.timezone;
  const link = await fs.readlink(ctx.paths.localtime).catch(() => null);
  const system = link === null ? null : /zoneinfo\/(.+)$/.exec(link)?.[1] ?? null;
  if (system === null || !IANAZone.isValidZone(system)) {
    return { group: 'system', name: 'timezone', verdict: 'ok', detail: `${configured} (appliance.timezone); the system's zone is not known (${ctx.paths.localtime} is not a link to a zone)` };
  }
  if (sameClock(configured, system, ctx.now())) {
    return { group: 'system', name: 'timezone', verdict: 'ok', detail: configured === system ? `${configured}, as the system's` : `${configured}; the system's ${system} keeps the same time` };
  }
  return {
    group: 'system',
    name: 'timezone',
    verdict: 'warn',
    detail: `appliance.timezone is ${configured} but the system's is ${system}: schedules, day folders and the UI follow ${configured}, the journal's times ${system}`,
    fix: `sudo timedatectl set-timezone ${configured}`,
  };
}

/** Two zones that give the same local time all year (Europe/Paris and Europe/Berlin, UTC and Etc/UTC). */
function sameClock(a: string, b: string, now: number): boolean {
  if (a === b) return true;
  const za = IANAZone.create(a);
  const zb = IANAZone.create(b);
  const year = new Date(now).getUTCFullYear();
  return [0, 3, 6, 9].every((month) => {
    const at = Date.UTC(year, month, 15);
    return za.offset(at) === zb.offset(at);
  });
}
