/**
 * systemd/lapsebox.service: what systemd itself says about it (systemd-analyze verify
 * and security, which work offline, without systemd running as PID 1), and the
 * directives the daemon and install.sh rely on, read from the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, tempDir } from '../helpers/env';

const UNIT = path.join(ROOT, 'systemd', 'lapsebox.service');

type Unit = Record<string, Record<string, string[]>>;

/** Sections, then keys, each with every value it was given, in order. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      unit[section] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !section) throw new Error(`not a unit line: ${line}`);
    ((unit[section] ??= {})[line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return unit;
}

/** The one value of KEY in SECTION (an error when it is missing or given twice). */
function one(unit: Unit, section: string, key: string): string {
  const values = unit[section]?.[key];
  if (values?.length !== 1) throw new Error(`[${section}] ${key}= is given ${values?.length ?? 0} times`);
  return values[0]!;
}

function seconds(value: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, sec: 1, min: 60, m: 60, h: 3600 };
  const m = /^(\d+)(ms|s|sec|min|m|h)?$/.exec(value);
  if (!m) throw new Error(`not a time span this test reads: ${value}`);
  return Number(m[1]) * units[m[2] ?? 's']!;
}

/** systemd-analyze with ARGS; fails the test with what to install when it is missing. */
function analyze(args: string[]): { code: number | null; output: string } {
  const result = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error) {
    throw new Error(`systemd-analyze cannot run here (${result.error.message}): apt-get install systemd (it works without systemd running; .ci/run installs it)`);
  }
  return { code: result.status, output: result.stdout + result.stderr };
}

describe('systemd/lapsebox.service', () => {
  const sut = parseUnit(fs.readFileSync(UNIT, 'utf8'));
  let tmp: ReturnType<typeof tempDir>;
  /** The unit with ExecStart's node where it is on this machine, as install.sh writes it. */
  let installed: string;

  beforeAll(() => {
    tmp = tempDir('lapsebox-unit-');
    installed = path.join(tmp.dir, 'lapsebox.service');
    fs.writeFileSync(installed, fs.readFileSync(UNIT, 'utf8').split('/usr/bin/node ').join(`${process.execPath} `));
  });

  afterAll(() => tmp.cleanup());

  it('passes systemd-analyze verify without a word about it', () => {
    const result = analyze(['verify', installed]);
    const aboutUs = result.output.split('\n').filter((line) => /lapsebox/.test(line));
    expect({ code: result.code, aboutUs }).toEqual({ code: 0, aboutUs: [] });
  });

  it('is checked for real: systemd-analyze verify does complain about a broken copy', () => {
    const broken = path.join(tmp.dir, 'broken', 'lapsebox.service');
    fs.mkdirSync(path.dirname(broken));
    fs.writeFileSync(broken, fs.readFileSync(installed, 'utf8').replace('Type=notify', 'Type=notify\nWatchdogSecs=30s').replace(`${process.execPath} `, '/nonexistent/node '));
    const result = analyze(['verify', broken]);
    expect(result.output).toMatch(/Unknown key( name)? 'WatchdogSecs'/);
    expect(result.output).toMatch(/\/nonexistent\/node/);
    expect(result.code).not.toBe(0);
  });

  it('scores "OK" or better in systemd-analyze security (offline)', () => {
    const result = analyze(['security', '--offline=yes', '--no-pager', installed]);
    const score = /Overall exposure level for lapsebox\.service: (\d+\.\d+)/.exec(result.output);
    if (result.code !== 0 || !score) {
      // systemd older than 250 has no --offline: say so, never pass quietly.
      throw new Error(`systemd-analyze security --offline=yes did not give a score here (exit ${result.code}):\n${result.output.slice(-2000)}`);
    }
    console.log(`systemd-analyze security: lapsebox.service exposure ${score[1]} (0 = locked down, 10 = unprotected)`);
    expect(Number(score[1])).toBeLessThan(5);
  });

  it('is a notify service with a watchdog, reloaded by SIGHUP and stopped within 15 s', () => {
    expect(one(sut, 'Service', 'Type')).toBe('notify');
    expect(one(sut, 'Service', 'NotifyAccess')).toBe('main');
    expect(seconds(one(sut, 'Service', 'WatchdogSec'))).toBeGreaterThanOrEqual(30);
    expect(one(sut, 'Service', 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    // The daemon stops within 10 s of SIGTERM; systemd waits a little longer before SIGKILL.
    expect(one(sut, 'Service', 'KillSignal')).toBe('SIGTERM');
    expect(seconds(one(sut, 'Service', 'TimeoutStopSec'))).toBeGreaterThan(10);
    expect(seconds(one(sut, 'Service', 'TimeoutStartSec'))).toBeGreaterThanOrEqual(300);
    expect(one(sut, 'Service', 'ExecStart')).toBe('/usr/bin/node --optimize-for-size --max-semi-space-size=2 /opt/lapsebox/dist/daemon/main.js run');
  });

  it('runs node with the same memory settings wherever the daemon\'s work runs: the unit, the lapsebox command and npm start', () => {
    const flags = /^\/usr\/bin\/node ((?:--\S+ )*)\/opt\//.exec(one(sut, 'Service', 'ExecStart'))![1]!.trim();
    // glibc's settings; jemalloc's (MALLOC_CONF, with LD_PRELOAD) are the long-running daemon's alone: a command
    // ends within minutes, and a box without the library would get the loader's complaint in every command.
    const env = (sut['Service']?.['Environment'] ?? []).filter((e) => e.startsWith('MALLOC_') && !e.startsWith('MALLOC_CONF='));
    expect(flags).not.toBe('');
    expect(env.length).toBeGreaterThanOrEqual(2);
    const wrapper = fs.readFileSync(path.join(ROOT, 'scripts', 'lapsebox-wrapper'), 'utf8');
    const start = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['start']!;
    for (const line of wrapper.split('\n').filter((l) => l.includes('exec ') && l.includes('"$MAIN"'))) expect(line).toContain(`"$NODE" ${flags} "$MAIN"`);
    expect(start).toContain(`node ${flags} dist/daemon/main.js`);
    for (const e of env) {
      const [name, value] = e.split('=') as [string, string];
      expect(wrapper).toContain(`${name}="\${${name}:-${value}}"`);
      expect(start).toContain(`${name}=${value} `);
    }
  });

  it('keeps the box within its memory: squeezed above MemoryHigh, a process killed at MemoryMax, the daemon going on', () => {
    const bytes = (text: string): number => {
      const m = /^(\d+)([KMG])$/.exec(text);
      if (!m) throw new Error(`not a size: ${text}`);
      return Number(m[1]) * 1024 ** ' KMG'.indexOf(m[2]!);
    };
    const high = bytes(one(sut, 'Service', 'MemoryHigh'));
    const max = bytes(one(sut, 'Service', 'MemoryMax'));
    // Above the 450 MB budget, so a box within it is never squeezed; below 1 GB, so the OS keeps its share.
    expect(high).toBeGreaterThan(450 * 1024 ** 2);
    expect(max).toBeGreaterThan(high);
    expect(max).toBeLessThan(1024 ** 3);
    expect(one(sut, 'Service', 'OOMPolicy')).toBe('continue');
  });

  it('restarts always, except after a bad configuration (exit 2), within start limits', () => {
    expect(one(sut, 'Service', 'Restart')).toBe('always');
    expect(one(sut, 'Service', 'RestartPreventExitStatus')).toBe('2');
    expect(seconds(one(sut, 'Service', 'RestartSec'))).toBeGreaterThanOrEqual(5);
    // Start limits belong in [Unit]; in [Service] systemd ignores them.
    expect(sut['Service']?.['StartLimitBurst']).toBeUndefined();
    expect(Number(one(sut, 'Unit', 'StartLimitBurst'))).toBeGreaterThan(0);
    expect(seconds(one(sut, 'Unit', 'StartLimitIntervalSec'))).toBeGreaterThan(0);
    // RestartPreventExitStatus= sees the main process only: a config check in
    // ExecStartPre= exiting 2 would be restarted in a loop.
    expect(sut['Service']?.['ExecStartPre']).toBeUndefined();
  });

  it('runs as lapsebox with the folders install.sh makes, and no group that may not exist', () => {
    expect(one(sut, 'Service', 'User')).toBe('lapsebox');
    expect(one(sut, 'Service', 'Group')).toBe('lapsebox');
    expect(sut['Service']?.['SupplementaryGroups']).toBeUndefined();
    expect(one(sut, 'Service', 'WorkingDirectory')).toBe('-/var/lib/lapsebox');
    expect(sut['Service']?.['Environment']).toEqual(expect.arrayContaining(['LAPSEBOX_CONFIG=/etc/lapsebox/lapsebox.yaml', 'MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=131072']));
    expect(one(sut, 'Service', 'UMask')).toBe('0027');
    expect(one(sut, 'Install', 'WantedBy')).toBe('multi-user.target');
  });

  it('starts the daemon even when a folder it writes to is missing, so that the daemon, not systemd, says what is wrong', () => {
    // Without "-", a missing /var/lib/lapsebox or /etc/lapsebox (or a USB data disk not
    // mounted, named in a drop-in) fails every start with 226/NAMESPACE (ReadWritePaths=)
    // or 200/CHDIR (WorkingDirectory=) before the daemon runs.
    const paths = sut['Service']?.['ReadWritePaths']?.flatMap((v) => v.split(/\s+/)) ?? [];
    expect(paths).toEqual(['-/var/lib/lapsebox', '-/etc/lapsebox']);
    expect(one(sut, 'Service', 'WorkingDirectory')).toBe('-/var/lib/lapsebox');
    // The comment's drop-in example, which docs/install-and-operate.md repeats, keeps the "-" as well.
    expect(fs.readFileSync(UNIT, 'utf8')).toContain('# [Service] ReadWritePaths=-/mnt/usb/lapsebox\n');
  });

  it('passes systemd-analyze verify with a drop-in naming a data folder that does not exist', () => {
    const dir = path.join(tmp.dir, 'dropin');
    fs.mkdirSync(path.join(dir, 'lapsebox.service.d'), { recursive: true });
    fs.copyFileSync(installed, path.join(dir, 'lapsebox.service'));
    fs.writeFileSync(path.join(dir, 'lapsebox.service.d', 'usb.conf'), '[Service]\nReadWritePaths=-/mnt/usb/lapsebox\n');
    const result = analyze(['verify', path.join(dir, 'lapsebox.service')]);
    const aboutUs = result.output.split('\n').filter((line) => /lapsebox/.test(line));
    expect({ code: result.code, aboutUs }).toEqual({ code: 0, aboutUs: [] });
  });

  it('sandboxes the daemon, leaving it the data and configuration folders, USB cameras, video devices and GPIO', () => {
    const service = sut['Service']!;
    expect(one(sut, 'Service', 'ProtectSystem')).toBe('strict');
    expect(service['ReadWritePaths']?.flatMap((v) => v.split(/\s+/))).toEqual(expect.arrayContaining(['-/var/lib/lapsebox', '-/etc/lapsebox']));
    expect(one(sut, 'Service', 'DevicePolicy')).toBe('closed');
    expect(service['DeviceAllow']).toEqual(expect.arrayContaining(['char-usb_device rw', 'char-video4linux rw', 'char-gpiochip rw']));
    for (const key of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectClock', 'ProtectHostname', 'RestrictNamespaces', 'RestrictRealtime', 'RestrictSUIDSGID', 'LockPersonality']) {
      expect({ key, value: one(sut, 'Service', key) }).toEqual({ key, value: 'yes' });
    }
    expect(one(sut, 'Service', 'CapabilityBoundingSet')).toBe('');
    expect(one(sut, 'Service', 'RestrictAddressFamilies').split(' ').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
    expect(one(sut, 'Service', 'SystemCallArchitectures')).toBe('native');
    // Each of these would break something the daemon does: V8's JIT, onoff's writes to
    // /sys/class/gpio, the USB and video device nodes, the view of gvfs processes.
    for (const key of ['MemoryDenyWriteExecute', 'ProtectKernelTunables', 'PrivateDevices', 'ProtectProc', 'ProcSubset']) {
      expect({ key, value: service[key] }).toEqual({ key, value: undefined });
    }
  });
});
