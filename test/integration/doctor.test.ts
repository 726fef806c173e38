/**
 * `lapsebox doctor` as a maintainer runs it: the compiled CLI as a child process,
 * with PATH cut down to node alone, a fake gphoto2, an HTTP camera, a fake
 * timedatectl, a real OpenSSH server on loopback (right key, wrong pinned key, closed port, a folder
 * it may not write), file modes that give secrets away, a missing config file and
 * one run as "nobody" cannot read, the lapsebox account's groups from its own
 * /etc/passwd and /etc/group, and a running daemon whose USB cameras doctor must
 * leave alone (also one added to the file but not loaded yet).
 */
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { parse, stringify } from 'yaml';
import { cli, freePort, NOBODY, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { installFakeGphoto2 } from '../helpers/fake-gphoto2';
import { TestSshd } from '../helpers/sshd';
import { fingerprint } from '../../daemon/sync/sftp.transport';
import type { DoctorReport } from '../../daemon/doctor/doctor';
import { createContext } from '../../daemon/doctor/context';
import { cameraChecks } from '../../daemon/doctor/cameras';
import { loadConfig } from '../../daemon/config/load';

const CANON = { model: 'Canon EOS 550D', port: 'usb:001,004', serial: '0270117385' };
const NIKON = { model: 'Nikon DSC D750', port: 'usb:001,005', serial: '3004417' };
/** Sources that need neither ffmpeg nor gphoto2. */
const NO_VIDEOS = { timelapse: { daily: { enabled: false } } };
const testpattern = { id: 'demo', camera: { driver: 'testpattern', width: 320, height: 240 }, ...NO_VIDEOS };
/** The unprivileged user the permission cases run doctor as (chmod stops nobody who runs as root). */
const asRoot = process.getuid?.() === 0;
/** Whether this process may make device nodes (root, with CAP_MKNOD: not in every container). */
const canMknod = (() => {
  if (!asRoot) return false;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-mknod-'));
  try {
    execFileSync('mknod', [path.join(dir, 'probe'), 'c', '1', '3'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();
const isPi = (() => {
  try {
    return fs.readFileSync('/proc/device-tree/model', 'utf8').includes('Raspberry Pi');
  } catch {
    return false;
  }
})();

describe('lapsebox doctor', () => {
  let tmp: ReturnType<typeof tempDir>;
  let cases = 0;

  beforeAll(() => {
    tmp = tempDir('lapsebox-doctor-');
  });

  afterAll(() => tmp.cleanup());

  /** A config in a folder of its own (data in `data` beside it). */
  function setup(sources: Record<string, unknown>[], extra: Record<string, unknown> = {}): { dir: string; configFile: string; dataDir: string } {
    const dir = path.join(tmp.dir, `case-${++cases}`);
    fs.mkdirSync(dir, { recursive: true });
    const configFile = writeConfig({ dir, port: 1, sources, extra });
    fs.chmodSync(configFile, 0o600);
    return { dir, configFile, dataDir: path.join(dir, 'data') };
  }

  /** A bin folder holding the named fakes (shell scripts), or links. */
  function bin(name: string, tools: Record<string, string>, links: Record<string, string> = {}): string {
    const dir = path.join(tmp.dir, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [tool, script] of Object.entries(tools)) fs.writeFileSync(path.join(dir, tool), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    for (const [link, target] of Object.entries(links)) fs.symlinkSync(target, path.join(dir, link));
    return dir;
  }

  async function doctor(configFile: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; report: DoctorReport; ms: number; get: (name: string) => DoctorReport['checks'][number] }> {
    const started = Date.now();
    const result = await cli(['doctor', '--json', '--config', configFile], { env });
    const ms = Date.now() - started;
    let report: DoctorReport;
    try {
      report = JSON.parse(result.stdout) as DoctorReport;
    } catch {
      throw new Error(`doctor printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
    }
    const get = (name: string) => {
      const found = report.checks.find((c) => c.name === name);
      if (!found) throw new Error(`no check "${name}" in ${report.checks.map((c) => c.name).join(', ')}`);
      return found;
    };
    return { code: result.code, report, ms, get };
  }

  describe('tools', () => {
    let nodeOnly: string;
    beforeAll(() => {
      nodeOnly = bin('node-only', {}, { node: process.execPath });
    });

    it('fails when ffmpeg, ffprobe and gphoto2 are missing and a source needs them, and says what to install', async () => {
      const { configFile } = setup([{ id: 'north', camera: { driver: 'gphoto2', mode: 'cli', model: CANON.model } }]);
      const { code, get, report } = await doctor(configFile, { PATH: nodeOnly });
      expect(get('ffmpeg')).toMatchObject({ verdict: 'fail', detail: expect.stringMatching(/ffmpeg is not installed/), fix: 'sudo apt-get install -y ffmpeg' });
      expect(get('ffprobe')).toMatchObject({ verdict: 'fail', fix: 'sudo apt-get install -y ffmpeg' });
      expect(get('gphoto2')).toMatchObject({ verdict: 'fail', detail: 'not installed, and a source uses a gphoto2 camera', fix: 'sudo apt-get install -y gphoto2' });
      expect(get('camera north')).toMatchObject({ verdict: 'fail', fix: 'sudo apt-get install -y gphoto2' });
      expect(report.checks.some((c) => c.name === 'h264 encoder')).toBe(false);
      expect(get('node')).toMatchObject({ verdict: 'ok', detail: expect.stringContaining(process.version) });
      if (!isPi) expect(get('vcgencmd')).toMatchObject({ verdict: 'ok', detail: expect.stringMatching(/not a Raspberry Pi/) });
      expect(get('timedatectl/chronyc')).toMatchObject({ verdict: 'warn', fix: expect.stringMatching(/apt-get install -y systemd-timesyncd/) });
      expect(report.verdict).toBe('fail');
      expect(code).toBe(1);
    });

    it('only warns when nothing needs them, and exits 0 on warnings; the table ends with the verdict', async () => {
      const { configFile } = setup([testpattern]);
      const result = await cli(['doctor', '--config', configFile], { env: { PATH: nodeOnly } });
      expect(result.stdout).toMatch(/^CHECK\s+VERDICT\s+DETAIL$/m);
      expect(result.stdout).toMatch(/^ffmpeg\s+warn\s+ffmpeg is not installed .*\(no enabled source needs it now\) → sudo apt-get install -y ffmpeg$/m);
      expect(result.stdout).toMatch(/^gphoto2\s+ok\s+not installed \(no source needs it\)$/m);
      expect(result.stdout).toMatch(/^camera demo\s+ok\s+testpattern: built in/m);
      expect(result.stdout.trimEnd().split('\n').at(-1)).toMatch(/^verdict: no problems, \d+ warnings: .*ffmpeg \(warn\)/);
      expect(result.code).toBe(0);
    });
  });

  describe('a configuration with errors', () => {
    it('names the errors, still checks what needs no source (tools, disk, the data folder the file names), and exits 2', async () => {
      const { configFile, dataDir } = setup([testpattern]);
      fs.writeFileSync(configFile, fs.readFileSync(configFile, 'utf8').replace('driver: testpattern', 'driver: testpatern'));
      const { code, get, report } = await doctor(configFile);
      expect(get('configuration')).toMatchObject({ verdict: 'fail', detail: expect.stringMatching(/has 1 error: line \d+: sources\[0\]\.camera\.driver: .*The sources, cameras and targets were not checked/), fix: expect.stringContaining('lapsebox config check') });
      expect(get('node').verdict).toBe('ok');
      expect(get('disk').detail).toContain(path.dirname(dataDir));
      expect(get('data folder').detail).toContain(dataDir);
      expect(report.checks.some((c) => c.name.startsWith('camera '))).toBe(false);
      expect(report.verdict).toBe('fail');
      expect(code).toBe(2);
    });
  });

  describe('a configuration file it cannot read', () => {
    it('says there is no configuration file, and how to get one, and still prints the other checks (exit 2)', async () => {
      const missing = path.join(tmp.dir, 'nowhere', 'lapsebox.yaml');
      const { code, get } = await doctor(missing);
      expect(get('configuration')).toMatchObject({ verdict: 'fail', detail: `no configuration file at ${missing}. The sources, cameras and targets were not checked`, fix: 'sudo scripts/install.sh creates one, or --config FILE' });
      expect(get('config file')).toMatchObject({ verdict: 'fail', detail: `no configuration file at ${missing}`, fix: 'sudo scripts/install.sh creates one, or --config FILE' });
      expect(get('node').verdict).toBe('ok');
      expect(code).toBe(2);

      const table = await cli(['doctor', '--config', missing]);
      expect(table.stdout).toMatch(/^configuration\s+fail\s+no configuration file at .* → sudo scripts\/install\.sh creates one, or --config FILE$/m);
      expect(table.stdout).toMatch(/^verdict: /m);
      expect(table.code).toBe(2);
    });

    (asRoot ? it : it.skip)('tells a user kept out of the config folder (0700) to run sudo lapsebox doctor (exit 2) [needs root, to run doctor as nobody]', async () => {
      const { dir, configFile } = setup([testpattern]);
      fs.chmodSync(tmp.dir, 0o755); // nobody reaches the case folder, and no further
      fs.chmodSync(dir, 0o700);
      const result = await cli(['doctor', '--json', '--config', configFile], { ...NOBODY, env: { HOME: '/' } });
      let report: DoctorReport;
      try {
        report = JSON.parse(result.stdout) as DoctorReport;
      } catch {
        throw new Error(`doctor printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
      }
      const get = (name: string) => report.checks.find((c) => c.name === name);
      expect(get('configuration')).toMatchObject({ verdict: 'fail', detail: `this user (nobody) cannot read ${configFile}. The sources, cameras and targets were not checked`, fix: expect.stringMatching(/^run sudo lapsebox doctor/) });
      expect(get('config file')).toMatchObject({ verdict: 'fail', detail: `cannot read ${configFile}: this user (nobody) may not look into its folder`, fix: expect.stringMatching(/^run sudo lapsebox doctor/) });
      expect(get('node')?.verdict).toBe('ok');
      expect(result.code).toBe(2);
    });
  });

  describe("the daemon's account", () => {
    /** A context as doctor builds it, with its own /etc/passwd and /etc/group: lapsebox is in plugdev only, not in video. */
    async function lapseboxContext(sources: Record<string, unknown>[]) {
      const { dir, configFile } = setup(sources);
      const passwd = path.join(dir, 'passwd');
      const group = path.join(dir, 'group');
      fs.writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nlapsebox:x:64001:64001::/var/lib/lapsebox:/usr/sbin/nologin\n');
      fs.writeFileSync(group, 'root:x:0:\nvideo:x:64044:pi\nplugdev:x:64046:pi,lapsebox\ngpio:x:64997:pi\nlapsebox:x:64001:\n');
      const loaded = loadConfig(configFile);
      const ctx = await createContext({ config: loaded.config, configFile, configWarnings: [], paths: { passwd, group }, signal: AbortSignal.timeout(10_000) });
      return { dir, ctx };
    }

    it('has only the groups /etc/group gives the lapsebox user (the unit adds none)', async () => {
      const { ctx } = await lapseboxContext([testpattern]);
      expect(ctx.daemon.state).toBe('stopped');
      expect(ctx.daemonUser).toMatchObject({ name: 'lapsebox', uid: 64001, gid: 64001, groups: [64046] });
    });

    (canMknod ? it : it.skip)('says a video device of a group lapsebox is not in is closed to it [needs root with CAP_MKNOD]', async () => {
      const { dir, ctx } = await lapseboxContext([{ id: 'webcam', camera: { driver: 'v4l2', device: '/dev/video0' }, ...NO_VIDEOS }]);
      // The config only takes /dev paths: the node made here stands in for /dev/video0 (root:video, 0660).
      const device = path.join(dir, 'video0');
      execFileSync('mknod', [device, 'c', '1', '3']);
      fs.chownSync(device, 0, 64044);
      fs.chmodSync(device, 0o660);
      const camera = ctx.config.sources[0]!.camera;
      if (camera.driver !== 'v4l2') throw new Error('expected a v4l2 source');
      camera.device = device;
      const [check] = await cameraChecks(ctx);
      expect(check).toMatchObject({
        verdict: 'fail',
        detail: `v4l2: lapsebox (the user systemd runs the daemon as) may not open ${device} (root:video, mode 0660)`,
        fix: 'sudo usermod -aG video lapsebox, then restart the daemon',
      });
    });
  });

  describe('gphoto2 cameras', () => {
    it('sees the camera a source names by model or serial, and not one that is not there or unplugged', async () => {
      const fake = await installFakeGphoto2(path.join(tmp.dir, 'fake-gphoto2'), { cameras: [CANON] });
      const { configFile } = setup([
        { id: 'by-model', camera: { driver: 'gphoto2', mode: 'cli', model: CANON.model }, ...NO_VIDEOS },
        { id: 'by-serial', camera: { driver: 'gphoto2', mode: 'cli', serial: CANON.serial }, ...NO_VIDEOS },
        { id: 'other', camera: { driver: 'gphoto2', mode: 'cli', model: 'Nikon D750' }, ...NO_VIDEOS },
      ]);
      const plugged = await doctor(configFile, fake.env);
      expect(plugged.get('gphoto2')).toMatchObject({ verdict: 'ok', detail: 'gphoto2 2.5.28 (fake)' });
      expect(plugged.get('camera by-model')).toMatchObject({ verdict: 'ok', detail: `gphoto2: seen, ${CANON.model} at ${CANON.port} serial ${CANON.serial}` });
      expect(plugged.get('camera by-serial')).toMatchObject({ verdict: 'ok', detail: expect.stringContaining(`serial ${CANON.serial}`) });
      expect(plugged.get('camera other')).toMatchObject({ verdict: 'fail', detail: expect.stringMatching(/not seen: no camera matching model "Nikon D750" \(gphoto2 sees: Canon EOS 550D at usb:001,004/) });
      expect(plugged.code).toBe(1);

      fake.setScenario({ cameras: [CANON], plugged: false });
      const unplugged = await doctor(configFile, fake.env);
      expect(unplugged.get('camera by-model')).toMatchObject({ verdict: 'fail', detail: expect.stringMatching(/not seen.*gphoto2 sees: none/), fix: expect.stringMatching(/switch it on/) });
      // Detection only: doctor never takes a picture with a DSLR.
      expect(fake.captures()).toEqual([]);
    });
  });

  describe('power relays', () => {
    /**
     * Doctor's context with its own sysfs GPIO folder (the Pi's chip at base 512, as since Linux 6.6),
     * whatever this machine has, and its own accounts: lapsebox in `gpio` only when `inGpio`.
     */
    async function relayContext(sources: Record<string, unknown>[], gpio: (dir: string) => string, inGpio = false) {
      const { dir, configFile } = setup(sources);
      const passwd = path.join(dir, 'passwd');
      const group = path.join(dir, 'group');
      fs.writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nlapsebox:x:64001:64001::/var/lib/lapsebox:/usr/sbin/nologin\n');
      fs.writeFileSync(group, `root:x:0:\ngpio:x:64997:pi${inGpio ? ',lapsebox' : ''}\nlapsebox:x:64001:\n`);
      const loaded = loadConfig(configFile);
      return createContext({ config: loaded.config, configFile, configWarnings: [], paths: { passwd, group, gpio: gpio(dir) }, signal: AbortSignal.timeout(10_000) });
    }
    /** A sysfs GPIO folder as a Pi's: export root:gpio 0660 (Raspberry Pi OS's udev rule). */
    const piSysfs = (dir: string) => {
      const sysfs = path.join(dir, 'gpio');
      fs.mkdirSync(path.join(sysfs, 'gpiochip512'), { recursive: true });
      fs.writeFileSync(path.join(sysfs, 'gpiochip512', 'label'), 'pinctrl-bcm2711\n');
      fs.writeFileSync(path.join(sysfs, 'gpiochip512', 'base'), '512\n');
      fs.writeFileSync(path.join(sysfs, 'export'), '');
      fs.chmodSync(path.join(sysfs, 'export'), 0o660);
      fs.chownSync(path.join(sysfs, 'export'), 0, 64997);
      return sysfs;
    };
    const relay = (id: string, simulate: boolean) => ({ ...testpattern, id, recovery: { powerCycle: { gpio: 17, simulate } } });
    const rows = async (ctx: Awaited<ReturnType<typeof relayContext>>) => (await cameraChecks(ctx)).filter((c) => c.name.startsWith('relay '));

    it('fails the row of a configured relay where the GPIO folder has no export file, with the fix; a simulated one is ok', async () => {
      const ctx = await relayContext([relay('north', false), relay('demo', true)], (dir) => path.join(dir, 'no-gpio'));
      const exportFile = path.join(ctx.paths.gpio, 'export');
      expect(await rows(ctx)).toEqual([
        {
          group: 'cameras',
          name: 'relay north',
          verdict: 'fail',
          detail: `GPIO 17 (sysfs line 17) cannot be opened: ${exportFile} does not exist (no sysfs GPIO on this machine); no power cycle for this camera`,
          fix: 'on a Raspberry Pi, check the kernel has sysfs GPIO; without a relay, set recovery.powerCycle.simulate: true or remove recovery.powerCycle',
        },
        { group: 'cameras', name: 'relay demo', verdict: 'ok', detail: 'GPIO 17: simulated (recovery.powerCycle.simulate), power cycles are only logged' },
      ]);
    });

    (asRoot ? it : it.skip)('fails the row when the daemon\'s user is not in the group of the export file, and passes it once it is [needs root, to chown]', async () => {
      const out = await relayContext([relay('north', false)], piSysfs);
      const exportFile = path.join(out.paths.gpio, 'export');
      expect(await rows(out)).toEqual([
        {
          group: 'cameras',
          name: 'relay north',
          verdict: 'fail',
          detail: `GPIO 17 (sysfs line 529) cannot be opened: lapsebox (the user systemd runs the daemon as) may not write ${exportFile} (root:gpio, mode 0660); no power cycle for this camera`,
          fix: 'sudo usermod -aG gpio lapsebox, then restart the daemon',
        },
      ]);
      const member = await relayContext([relay('north', false)], piSysfs, true);
      expect(await rows(member)).toEqual([{ group: 'cameras', name: 'relay north', verdict: 'ok', detail: 'GPIO 17 (sysfs line 529): open to lapsebox' }]);
    });
  });

  describe('network cameras', () => {
    let server: http.Server;
    let base: string;
    beforeAll(async () => {
      const jpeg = await sharp(crypto.randomBytes(320 * 240 * 3), { raw: { width: 320, height: 240, channels: 3 } }).jpeg().toBuffer();
      server = http.createServer((req, res) => {
        if (req.url === '/silent.jpg') return; // a camera that accepts and never answers
        if (req.headers.authorization !== `Basic ${Buffer.from('lapsebox:secret-pw').toString('base64')}`) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="camera"' }).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('asks an http camera for one picture through its driver; a refused login and a silent camera fail, without the password', async () => {
      const camera = (url: string, password: string) => ({ driver: 'http', url, username: 'lapsebox', password, timeout: '2s' });
      const { configFile, dataDir } = setup([
        { id: 'gate', camera: camera(`${base}/snap.jpg`, 'secret-pw'), ...NO_VIDEOS },
        { id: 'refused', camera: camera(`${base}/snap.jpg`, 'wrong-pw'), ...NO_VIDEOS },
        { id: 'silent', camera: camera(`${base}/silent.jpg`, 'secret-pw'), ...NO_VIDEOS },
      ]);
      const started = Date.now();
      const result = await cli(['doctor', '--json', '--config', configFile]);
      const report = JSON.parse(result.stdout) as DoctorReport;
      const get = (name: string) => report.checks.find((c) => c.name === name);
      expect(get('camera gate')).toMatchObject({ verdict: 'ok', detail: expect.stringMatching(/^http: one picture, 320x240, \d+ KB in \d+\.\d s$/) });
      expect(get('camera refused')).toMatchObject({ verdict: 'fail', detail: expect.stringMatching(/401/) });
      expect(get('camera silent')).toMatchObject({ verdict: 'fail', detail: 'http: no picture within 2 s' });
      expect(Date.now() - started).toBeLessThan(8000);
      expect(result.stdout).not.toMatch(/secret-pw|wrong-pw/);
      // Nothing stored: no data folder was made.
      expect(fs.existsSync(dataDir)).toBe(false);
    });
  });

  describe('sync targets', () => {
    let sshd: TestSshd;
    beforeAll(async () => {
      sshd = await TestSshd.start({ dir: path.join(tmp.dir, 'sshd') });
    });
    afterAll(() => sshd.stop());

    it('logs in to a target with the pinned key and writes there; fails a wrong host key naming both, a closed port quickly, and a folder it may not write', async () => {
      const readOnly = path.join(sshd.root, 'read-only');
      fs.mkdirSync(readOnly, { mode: 0o555 });
      fs.chmodSync(readOnly, 0o555);
      const wrongKey = fingerprint(Buffer.from('another server'));
      const { configFile } = setup([testpattern], {
        sync: {
          targets: [
            sshd.target('good'),
            sshd.target('wrong-key', { hostKey: wrongKey }),
            sshd.target('closed', { port: await freePort() }),
            sshd.target('read-only', { remoteDir: readOnly }),
          ],
        },
      });
      const before = await doctor(configFile);
      expect(before.get('target good').detail).toMatch(/; backlog unknown \(no database yet\)$/);
      // A capture on the stopped box queues the picture and the latest picture for each target.
      expect((await cli(['capture', 'demo', '--config', configFile])).code).toBe(0);
      const { get, ms, code } = await doctor(configFile);
      expect(get('target good')).toMatchObject({ verdict: 'ok', detail: `${sshd.username}@127.0.0.1:${sshd.port}: host key ${sshd.hostKey} as pinned, logged in, ${sshd.root} writable; 2 files (1 MB) waiting, the oldest for less than a minute` });
      const wrong = get('target wrong-key');
      expect(wrong).toMatchObject({ verdict: 'fail', detail: expect.stringContaining(`host key mismatch: the server presented ${sshd.hostKey}, the configuration pins ${wrongKey}`) });
      expect(wrong.fix).toMatch(/check the server's key with its administrator/);
      expect(get('target closed')).toMatchObject({ verdict: 'fail', detail: expect.stringMatching(/unreachable: 127\.0\.0\.1:\d+ refused the connection/) });
      expect(get('target read-only')).toMatchObject({ verdict: 'fail', detail: expect.stringMatching(/logged in, but cannot write: .*permission denied/) });
      expect(code).toBe(1);
      expect(ms).toBeLessThan(10_000);
      // The probe file is gone again, and nothing was written under the wrong key.
      expect([...sshd.files().keys()]).toEqual([]);
    });
  });

  describe('permissions', () => {
    it('warns about a config every user can read and fails a data folder anyone can write; both ok once private', async () => {
      const { dir, configFile, dataDir } = setup([testpattern], { sync: { targets: [] } });
      // Other users must reach the config for its mode to matter (mkdtemp makes 0700 folders).
      fs.chmodSync(tmp.dir, 0o755);
      fs.chmodSync(dir, 0o755);
      fs.chmodSync(configFile, 0o644);
      fs.mkdirSync(dataDir);
      fs.chmodSync(dataDir, 0o777);
      const open = await doctor(configFile);
      expect(open.get('config file')).toMatchObject({ verdict: 'warn', detail: expect.stringMatching(/every user can read it \(mode 0644\)/), fix: `sudo chmod 640 ${configFile}` });
      expect(open.get('data folder')).toMatchObject({ verdict: 'fail', detail: expect.stringMatching(/any user can change pictures and the database in it \(mode 0777\)/), fix: `sudo chmod 750 ${dataDir}` });
      expect(open.code).toBe(1);

      fs.chmodSync(dir, 0o750);
      const shut = await doctor(configFile);
      expect(shut.get('config file')).toMatchObject({ verdict: 'ok', detail: expect.stringContaining(`mode 0644, but ${dir} keeps other users out`) });

      fs.chmodSync(configFile, 0o640);
      fs.chmodSync(dataDir, 0o750);
      const closed = await doctor(configFile);
      expect(closed.get('config file')).toMatchObject({ verdict: 'ok', detail: expect.stringMatching(/mode 0640, readable by /) });
      expect(closed.get('data folder')).toMatchObject({ verdict: 'ok', detail: expect.stringMatching(/mode 0750\): writable by .*, private$/) });
    });
  });

  describe('clock', () => {
    it('says the clock is not synchronised when timedatectl says so, and ok when it is', async () => {
      const { configFile } = setup([testpattern]);
      const fake = (answer: string) =>
        bin(`timedatectl-${answer}`, { timedatectl: `[ "$*" = "show -p NTPSynchronized --value" ] && { echo ${answer}; exit 0; }\n[ "$1" = "--version" ] && { echo "systemd 252"; exit 0; }\nexit 1` });
      const no = await doctor(configFile, { PATH: `${fake('no')}:${process.env.PATH ?? ''}` });
      // Within 15 minutes of boot the clock may still be catching up.
      expect(no.get('clock')).toMatchObject({ verdict: os.uptime() < 15 * 60 ? 'warn' : 'fail', detail: expect.stringMatching(/^NOT synchronised \(timedatectl\)/), fix: expect.stringMatching(/sudo timedatectl set-ntp true/) });
      const yes = await doctor(configFile, { PATH: `${fake('yes')}:${process.env.PATH ?? ''}` });
      expect(yes.get('clock')).toMatchObject({ verdict: 'ok', detail: 'synchronised (timedatectl)' });
    });
  });

  describe('with the daemon running', () => {
    let daemon: DaemonProcess | null = null;
    let dir: string;
    let configFile: string;
    beforeAll(async () => {
      const forDaemon = await installFakeGphoto2(path.join(tmp.dir, 'daemon-gphoto2'), { cameras: [CANON] });
      const port = await freePort();
      ({ dir } = setup([]));
      configFile = writeConfig({ dir, port, sources: [{ id: 'north', camera: { driver: 'gphoto2', mode: 'cli', model: CANON.model, timeout: '10s' }, schedule: { every: '2s' }, ...NO_VIDEOS }] });
      daemon = new DaemonProcess(configFile, port, forDaemon.env);
      await daemon.start();
      await waitFor('a picture from the daemon', () => forDaemon.captures().length > 0 && fs.existsSync(path.join(dir, 'data', 'sources', 'north', 'live', 'latest.jpg')));
    }, 40_000);
    afterAll(async () => {
      await daemon?.kill();
    });

    it('reports the daemon and its view of the USB camera, and leaves the camera alone', async () => {
      const forDoctor = await installFakeGphoto2(path.join(tmp.dir, 'doctor-gphoto2'), { cameras: [CANON] });
      const { get } = await doctor(configFile, forDoctor.env);
      expect(get('daemon')).toMatchObject({ verdict: 'ok', detail: expect.stringMatching(new RegExp(`^running, pid ${daemon!.pid}, lapsebox \\d+\\.\\d+\\.\\d+, up `)) });
      expect(get('control socket')).toMatchObject({ verdict: 'ok', detail: expect.stringMatching(/mode 0660/) });
      expect(get('camera north')).toMatchObject({ verdict: 'ok', detail: expect.stringMatching(/^gphoto2: left to the running daemon; last picture \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(the daemon's view\)/) });
      // Its version, and nothing that opens a camera.
      expect(forDoctor.calls().map((c) => c.outcome)).toEqual(['version']);
    });

    it('leaves alone a USB camera added to the file but not loaded by the daemon, and says to reload', async () => {
      const forDoctor = await installFakeGphoto2(path.join(tmp.dir, 'doctor-gphoto2-unloaded'), { cameras: [CANON, NIKON] });
      // The file as edited, before "systemctl reload": a second camera with a serial (which opens every camera to read theirs).
      const edited = parse(fs.readFileSync(configFile, 'utf8')) as { sources: Record<string, unknown>[] };
      edited.sources.push({ id: 'south', camera: { driver: 'gphoto2', mode: 'cli', serial: NIKON.serial }, ...NO_VIDEOS });
      const editedFile = path.join(dir, 'edited.yaml');
      fs.writeFileSync(editedFile, stringify(edited), { mode: 0o600 });
      const { get } = await doctor(editedFile, forDoctor.env);
      expect(get('camera south')).toMatchObject({ verdict: 'warn', detail: expect.stringContaining("not in the running daemon's configuration"), fix: 'sudo systemctl reload lapsebox' });
      expect(get('camera north').detail).toMatch(/^gphoto2: left to the running daemon/);
      expect(forDoctor.calls().filter((c) => c.args.some((a) => a === '--auto-detect' || a === '--summary'))).toEqual([]);
      expect(forDoctor.calls().map((c) => c.outcome)).toEqual(['version']);
    });
  });
});
