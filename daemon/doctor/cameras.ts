/**
 * Whether each source's camera answers. Network cameras (http, rtsp) give one
 * frame through their own driver, the most honest check, stored nowhere. A
 * gphoto2 camera must be among those `gphoto2 --auto-detect` lists, matched as the
 * driver matches it; a v4l2 device must be there and open to the daemon's user.
 *
 * Unless the daemon is surely stopped, it owns the USB cameras (a second process
 * claiming one breaks a capture: gphoto2's port lock is per process), so doctor
 * never runs gphoto2 against a camera nor opens a video device then: it reports
 * the running daemon's own view instead (last picture, failures, down), or says
 * why it did not look.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fsSync, { constants } from 'node:fs';
import type { SourceConfig } from '../config/schema';
import type { SourceStatus } from '../status.service';
import { CameraError } from '../capture/camera';
import { createCamera } from '../capture/drivers';
import { describeCamera, detectCameras, matchingCameras, wantedCamera, type Gphoto2Camera } from '../capture/gphoto2.camera';
import { listVideoDevices } from '../capture/v4l2.camera';
import { sysfsLine } from '../hardware/relay';
import { localTime, mayAccess, octal, type Check, type DoctorContext } from './context';
import { messageOf } from '../error-causes';

/** A network camera gets at most this long for its frame, whatever camera.timeout says. */
const FRAME_TIMEOUT_MS = 10_000;
const DETECT_TIMEOUT_MS = 15_000;

export async function cameraChecks(ctx: DoctorContext): Promise<Check[]> {
  let detection: Promise<Gphoto2Camera[]> | null = null;
  // One detection for every gphoto2 source; serials only when a source names one (that opens each camera).
  const detect = () =>
    (detection ??= detectCameras({
      serials: ctx.config.sources.some((s) => s.enabled && s.camera.driver === 'gphoto2' && s.camera.serial !== undefined),
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(DETECT_TIMEOUT_MS)]),
    }));
  const cameras = await Promise.all(ctx.config.sources.map((source) => sourceCheck(ctx, source, detect)));
  return [...cameras, ...ctx.config.sources.flatMap((source) => relayCheck(ctx, source) ?? [])];
}

/**
 * Whether the daemon's user may drive a source's power relay, as openRelay needs it:
 * a writable sysfs export file. A relay that cannot be opened is a fault, not a simulation.
 */
function relayCheck(ctx: DoctorContext, source: SourceConfig): Check | null {
  const powerCycle = source.recovery.powerCycle;
  if (!source.enabled || !powerCycle) return null;
  const name = `relay ${source.id}`;
  if (powerCycle.simulate) return { group: 'cameras', name, verdict: 'ok', detail: `GPIO ${powerCycle.gpio}: simulated (recovery.powerCycle.simulate), power cycles are only logged` };
  const sysfs = ctx.paths.gpio;
  const line = sysfsLine(powerCycle.gpio, sysfs);
  const what = `GPIO ${powerCycle.gpio} (sysfs line ${line})`;
  const exportFile = path.join(sysfs, 'export');
  let st: { uid: number; gid: number; mode: number };
  try {
    st = fsSync.statSync(exportFile);
  } catch {
    return { group: 'cameras', name, verdict: 'fail', detail: `${what} cannot be opened: ${exportFile} does not exist (no sysfs GPIO on this machine); no power cycle for this camera`, fix: 'on a Raspberry Pi, check the kernel has sysfs GPIO; without a relay, set recovery.powerCycle.simulate: true or remove recovery.powerCycle' };
  }
  const who = ctx.daemonUser;
  if (!mayAccess(st, who, { write: true })) {
    const group = ctx.names.group(st.gid);
    return { group: 'cameras', name, verdict: 'fail', detail: `${what} cannot be opened: ${who.name} (${who.why}) may not write ${exportFile} (${ctx.names.user(st.uid)}:${group}, mode ${octal(st.mode)}); no power cycle for this camera`, fix: `sudo usermod -aG ${group} ${who.name}, then restart the daemon` };
  }
  return { group: 'cameras', name, verdict: 'ok', detail: `${what}: open to ${who.name}` };
}

async function sourceCheck(ctx: DoctorContext, source: SourceConfig, detect: () => Promise<Gphoto2Camera[]>): Promise<Check> {
  const name = `camera ${source.id}`;
  const driver = source.camera.driver;
  if (!source.enabled) return { group: 'cameras', name, verdict: 'ok', detail: `${driver}: disabled` };
  const live = ctx.daemon.state === 'running' ? ctx.daemon.sources.find((s) => s.id === source.id) : undefined;
  if ((driver === 'gphoto2' || driver === 'v4l2') && ctx.daemon.state !== 'stopped') {
    if (live) return daemonView(ctx, name, live, `${driver}: left to the running daemon`);
    // The daemon may hold this very camera under another source, or be starting: hands off.
    return ctx.daemon.state === 'running'
      ? { group: 'cameras', name, verdict: 'warn', detail: `${driver}: not in the running daemon's configuration (not probed: the daemon holds the USB cameras)`, fix: 'sudo systemctl reload lapsebox' }
      : { group: 'cameras', name, verdict: 'warn', detail: `${driver}: not probed: a daemon may be using the camera (${ctx.daemon.error})`, fix: 'run doctor again once the daemon answers ("sudo lapsebox doctor" may use its socket), or stop the daemon to check the camera: sudo systemctl stop lapsebox' };
  }
  let check: Check;
  try {
    check = { group: 'cameras', name, verdict: 'ok', detail: await probe(ctx, source, detect) };
  } catch (err) {
    const error = err instanceof CameraError ? err : new CameraError('failed', messageOf(err));
    const fix = error.code === 'unsupported' && driver === 'gphoto2' ? 'sudo apt-get install -y gphoto2' : error.advice;
    check = { group: 'cameras', name, verdict: 'fail', detail: `${driver}: ${error.message.replace(/^camera [a-z0-9-]+: /, '')}`, ...(fix ? { fix } : {}) };
  }
  // A network camera was tried anyway; the daemon's history says whether it fails now and then.
  if (!live || check.verdict === 'fail') return check;
  const view = daemonView(ctx, name, live, check.detail);
  return view.verdict === 'ok' ? check : view;
}

/** What the camera answered, in a few words; throws a CameraError saying what is wrong. */
async function probe(ctx: DoctorContext, source: SourceConfig, detect: () => Promise<Gphoto2Camera[]>): Promise<string> {
  const camera = source.camera;
  switch (camera.driver) {
    case 'testpattern':
      return `testpattern: built in, ${camera.width}x${camera.height}`;
    case 'gphoto2':
      return gphoto2Probe(source.id, camera, await detect());
    case 'v4l2':
      return v4l2Probe(ctx, source.id, camera.device);
    case 'http':
    case 'rtsp':
      return frameProbe(ctx, source);
  }
}

function gphoto2Probe(sourceId: string, camera: { model?: string | undefined; port?: string | undefined; serial?: string | undefined }, seen: Gphoto2Camera[]): string {
  const matches = matchingCameras(seen, camera);
  const wanted = wantedCamera(camera) || 'any camera';
  if (matches.length === 1) return `gphoto2: seen, ${describeCamera(matches[0]!)}`;
  if (matches.length === 0) {
    throw new CameraError(
      'not-found',
      `camera ${sourceId}: not seen: no camera matching ${wanted} (gphoto2 sees: ${seen.length === 0 ? 'none' : seen.map(describeCamera).join('; ')})`,
      seen.length === 0 ? 'switch it on, disable auto power off, check the cable; "lsusb" shows whether the box sees it at all' : 'check camera.model, camera.port and camera.serial against "lapsebox cameras"',
    );
  }
  throw new CameraError('failed', `camera ${sourceId}: ${matches.length} cameras match ${wanted} (${matches.map(describeCamera).join('; ')})`, 'set camera.serial to pick one');
}

async function v4l2Probe(ctx: DoctorContext, sourceId: string, device: string): Promise<string> {
  const st = await fs.stat(device).catch(() => null);
  if (st === null) throw new CameraError('not-found', `camera ${sourceId}: no video device at ${device}`, 'is the webcam plugged in? "lapsebox cameras" lists video devices');
  if (!st.isCharacterDevice()) throw new CameraError('not-found', `camera ${sourceId}: ${device} is not a video device (not a character device)`, 'point camera.device at /dev/videoN or /dev/v4l/by-id/...');
  const who = ctx.daemonUser;
  const group = ctx.names.group(st.gid);
  if (!mayAccess(st, who, { read: true, write: true })) {
    throw new CameraError('failed', `camera ${sourceId}: ${who.name} (${who.why}) may not open ${device} (${ctx.names.user(st.uid)}:${group}, mode ${octal(st.mode)})`, `sudo usermod -aG ${group} ${who.name}, then restart the daemon`);
  }
  await fs.access(device, constants.R_OK | constants.W_OK).catch(() => {
    throw new CameraError('failed', `camera ${sourceId}: this user (${ctx.me.name}) may not open ${device}`, `sudo usermod -aG ${group} ${ctx.me.name}, or run doctor as the daemon's user`);
  });
  const real = await fs.realpath(device);
  const known = (await listVideoDevices()).find((v) => v.device === real);
  return `v4l2: ${device}${real === device ? '' : ` → ${real}`}${known?.name ? ` (${known.name})` : ''}, open to ${who.name}`;
}

/** One frame through the source's own driver, into a temporary folder removed at once. */
async function frameProbe(ctx: DoctorContext, source: SourceConfig): Promise<string> {
  const ms = Math.min(source.camera.timeout, FRAME_TIMEOUT_MS);
  const controller = new AbortController();
  const timeout = new CameraError('timeout', `camera ${source.id}: no picture within ${ms / 1000} s`, 'is the camera on and reachable from the box? check camera.url');
  const timer = setTimeout(() => controller.abort(timeout), ms);
  const giveUp = () => controller.abort(new CameraError('timeout', `camera ${source.id}: doctor ran out of time`));
  ctx.signal.addEventListener('abort', giveUp, { once: true });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lapsebox-doctor-'));
  const camera = createCamera(source, ctx.config.appliance);
  const started = ctx.now();
  try {
    const frame = await camera.capture({ destination: path.join(dir, 'frame.jpg'), takenAt: new Date(started), signal: controller.signal });
    return `${camera.driver}: one picture, ${frame.width}x${frame.height}, ${Math.round(frame.size / 1024)} KB in ${((ctx.now() - started) / 1000).toFixed(1)} s`;
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', giveUp);
    await camera.close?.();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The running daemon's record of a source. */
function daemonView(ctx: DoctorContext, name: string, s: SourceStatus, what: string): Check {
  const last = s.lastCapture ? `last picture ${localTime(ctx, s.lastCapture.at)}` : 'no picture yet';
  const error = s.lastError ? `; last error ${localTime(ctx, s.lastError.at)}: ${s.lastError.message}` : '';
  if (s.down) {
    return { group: 'cameras', name, verdict: 'fail', detail: `${what}; DOWN since ${localTime(ctx, s.down.since)} (the daemon's view), ${last}${error}`, fix: 'see "lapsebox status" and the camera itself (power, cable); the daemon keeps trying at every slot' };
  }
  if (s.consecutiveFailures > 0) {
    return { group: 'cameras', name, verdict: 'warn', detail: `${what}; ${s.consecutiveFailures} failed captures in a row (the daemon's view), ${last}${error}`, fix: 'see "lapsebox status"; the recovery ladder is on it' };
  }
  return { group: 'cameras', name, verdict: 'ok', detail: `${what}; ${last} (the daemon's view), ${s.counts.failures} failures in all` };
}
