/**
 * What cameras the box can see, for `lapsebox cameras`: gphoto2 cameras with
 * model, port and serial, video devices, and hints about what commonly gets in
 * the way (gvfs grabbing the camera, gphoto2 not installed).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CameraError, type CameraView } from './camera';
import { GVFS_FIX } from './gphoto2-args';
import { detectCameras, type Gphoto2Camera } from './gphoto2.camera';
import { listVideoDevices, type VideoDevice } from './v4l2.camera';
import { messageOf } from '../error-causes';

export { GVFS_FIX, GVFS_UNIT } from './gphoto2-args';

/** A source's gphoto2 camera as the running daemon's driver reads it. */
export interface SessionReading {
  sourceId: string;
  view: CameraView;
  /** Why it could not be read now. */
  error: string | null;
}

export interface CameraReport {
  gphoto2: { available: boolean; cameras: Gphoto2Camera[]; error?: string };
  video: VideoDevice[];
  hints: string[];
  /** Through the running daemon only: each gphoto2 source's camera as its driver reads it now. */
  sessions?: SessionReading[];
}

export interface DiscoveryOptions {
  gphoto2Program?: string;
  devDir?: string;
  sysDir?: string;
  procDir?: string;
  signal?: AbortSignal;
  /** The running daemon's readings: the cameras its sessions hold are not opened again for their serial. */
  sessions?: SessionReading[];
}

export async function discoverCameras(options: DiscoveryOptions = {}): Promise<CameraReport> {
  const hints: string[] = [];
  const gphoto2: CameraReport['gphoto2'] = { available: true, cameras: [] };
  try {
    const held = new Map((options.sessions ?? []).filter((s) => s.view.access === 'session' && s.view.port !== null).map((s) => [s.view.port!, s.view]));
    gphoto2.cameras = await detectCameras({
      serials: true,
      skipSerials: [...held.keys()],
      ...(options.gphoto2Program ? { program: options.gphoto2Program } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    for (const camera of gphoto2.cameras) {
      const serial = held.get(camera.port)?.serial;
      if (serial) camera.serial = serial;
    }
  } catch (err) {
    const error = err instanceof CameraError ? err : new CameraError('failed', messageOf(err));
    if (error.code === 'unsupported') {
      gphoto2.available = false;
      hints.push('gphoto2 is not installed: "apt install gphoto2" to use DSLR cameras');
    }
    gphoto2.error = error.describe();
  }
  const video = await listVideoDevices(options.devDir, options.sysDir);
  const gvfs = await gvfsProcesses(options.procDir ?? '/proc');
  if (gvfs.length > 0) {
    hints.push(`gvfs is running (${gvfs.join(', ')}) and grabs cameras as soon as they are plugged in, so gphoto2 cannot claim them: ${GVFS_FIX}`);
  }
  if (gphoto2.available && gphoto2.cameras.length === 0 && !gphoto2.error) {
    hints.push('no gphoto2 camera: is it switched on, awake (auto power off disabled), in PTP/PC mode and plugged in? "lsusb" shows whether the box sees it at all');
  }
  return { gphoto2, video, hints, ...(options.sessions ? { sessions: options.sessions } : {}) };
}

/** Names of running gvfs processes that hold gphoto2 cameras. */
export async function gvfsProcesses(procDir: string): Promise<string[]> {
  const found = new Set<string>();
  const entries = await fs.readdir(procDir).catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    // comm is cut at 15 characters: "gvfs-gphoto2-vo", "gvfsd-gphoto2".
    const comm = await fs.readFile(path.join(procDir, entry, 'comm'), 'utf8').then((t) => t.trim(), () => '');
    if (comm.startsWith('gvfs-gphoto2')) found.add('gvfs-gphoto2-volume-monitor');
    else if (comm.startsWith('gvfsd-gphoto2')) found.add('gvfsd-gphoto2');
  }
  return [...found].sort();
}
