/**
 * What cameras the box can see, for `lapsebox cameras`: gphoto2 cameras with
 * model, port and serial, video devices, and hints about what commonly gets in
 * the way (gvfs grabbing the camera, gphoto2 not installed).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CameraError } from './camera';
import { GVFS_FIX } from './gphoto2-args';
import { detectCameras, type Gphoto2Camera } from './gphoto2.camera';
import { listVideoDevices, type VideoDevice } from './v4l2.camera';
import { messageOf } from '../error-causes';

export { GVFS_FIX, GVFS_UNIT } from './gphoto2-args';

export interface CameraReport {
  gphoto2: { available: boolean; cameras: Gphoto2Camera[]; error?: string };
  video: VideoDevice[];
  hints: string[];
}

export interface DiscoveryOptions {
  gphoto2Program?: string;
  devDir?: string;
  sysDir?: string;
  procDir?: string;
  signal?: AbortSignal;
}

export async function discoverCameras(options: DiscoveryOptions = {}): Promise<CameraReport> {
  const hints: string[] = [];
  const gphoto2: CameraReport['gphoto2'] = { available: true, cameras: [] };
  try {
    gphoto2.cameras = await detectCameras({ serials: true, ...(options.gphoto2Program ? { program: options.gphoto2Program } : {}), ...(options.signal ? { signal: options.signal } : {}) });
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
  return { gphoto2, video, hints };
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
