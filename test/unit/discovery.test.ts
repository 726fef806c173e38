import fs from 'node:fs';
import path from 'node:path';
import { discoverCameras, gvfsProcesses } from '../../daemon/capture/discovery';
import { installFakeGphoto2 } from '../helpers/fake-gphoto2';
import { tempDir } from '../helpers/env';

describe('camera discovery', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  /** A /proc with the given command names. */
  let procs = 0;
  const proc = (comms: string[]) => {
    const dir = path.join(tmp.dir, `proc${procs++}`);
    comms.forEach((comm, i) => {
      fs.mkdirSync(path.join(dir, String(100 + i)), { recursive: true });
      fs.writeFileSync(path.join(dir, String(100 + i), 'comm'), `${comm}\n`);
    });
    fs.mkdirSync(path.join(dir, 'self'), { recursive: true });
    return dir;
  };

  it('finds gvfs processes that hold cameras, by their (cut) command names', async () => {
    expect(await gvfsProcesses(proc(['systemd', 'gvfs-gphoto2-vo', 'gvfsd-gphoto2', 'gvfsd']))).toEqual(['gvfs-gphoto2-volume-monitor', 'gvfsd-gphoto2']);
    expect(await gvfsProcesses(proc(['sshd', 'node']))).toEqual([]);
  });

  it('reports cameras, video devices and the gvfs hint together', async () => {
    const fake = await installFakeGphoto2(tmp.dir, { cameras: [{ model: 'Nikon DSC D750', port: 'usb:002,003', serial: '6004423' }] });
    const dev = path.join(tmp.dir, 'dev');
    const sys = path.join(tmp.dir, 'sys');
    fs.mkdirSync(dev);
    fs.writeFileSync(path.join(dev, 'video0'), '');
    fs.mkdirSync(path.join(sys, 'video0'), { recursive: true });
    fs.writeFileSync(path.join(sys, 'video0', 'name'), 'HD Pro Webcam C920\n');
    const report = await discoverCameras({ gphoto2Program: fake.program, devDir: dev, sysDir: sys, procDir: proc(['gvfs-gphoto2-vo']) });
    expect(report.gphoto2).toEqual({ available: true, cameras: [{ model: 'Nikon DSC D750', port: 'usb:002,003', serial: '6004423' }] });
    expect(report.video).toEqual([{ device: path.join(dev, 'video0'), name: 'HD Pro Webcam C920' }]);
    expect(report.hints).toHaveLength(1);
    expect(report.hints[0]).toMatch(/^gvfs is running \(gvfs-gphoto2-volume-monitor\) and grabs cameras/);
  });

  it('says when gphoto2 is not installed', async () => {
    const report = await discoverCameras({ gphoto2Program: path.join(tmp.dir, 'no-gphoto2'), devDir: tmp.dir, procDir: proc([]) });
    expect(report.gphoto2.available).toBe(false);
    expect(report.hints).toEqual(['gphoto2 is not installed: "apt install gphoto2" to use DSLR cameras']);
  });
});
