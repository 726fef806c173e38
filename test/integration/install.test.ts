/**
 * scripts/install.sh, run for real: into a folder standing for a box's root (--root),
 * twice (install, then upgrade), then removed; and once on this machine's own root
 * inside a private mount namespace whose /etc, /opt, /usr/local and /var are overlays,
 * so that the script takes its live-system paths (useradd, systemctl enable without a
 * running systemd, dpkg-divert, the lapsebox command switching to the lapsebox user)
 * while nothing reaches the real files.
 *
 * A copy of the checkout with a stand-in program (a dist/daemon/main.js of a few lines,
 * whatever version a test needs) runs the failure paths: an upgrade that fails after the
 * swap, and, under a stand-in systemctl, a new version that does not start.
 *
 * Needs root (useradd, chown), as in CI. The jest global setup has built dist/.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, tempDir } from '../helpers/env';

const SCRIPT = path.join(ROOT, 'scripts', 'install.sh');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IS_ROOT = process.getuid?.() === 0;
const describeAsRoot = IS_ROOT ? describe : describe.skip;
if (!IS_ROOT) console.warn('scripts/install.sh tests NOT RUN: they need root (useradd --root, chown), as in CI');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): Run {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...(input === undefined ? {} : { input }), ...(env ? { env: { ...process.env, ...env } } : {}) });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** scripts/install.sh with these options. */
function sut(...args: string[]): Run {
  return run(SCRIPT, args);
}

/** A box's root as small as useradd --root accepts: root alone, and the groups given. */
function makeRoot(dir: string, groups: Record<string, number>): void {
  fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
  const names = Object.keys(groups);
  fs.writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  fs.writeFileSync(path.join(dir, 'etc', 'group'), ['root:x:0:', ...names.map((g) => `${g}:x:${groups[g]}:`)].join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'etc', 'shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o640 });
  fs.writeFileSync(path.join(dir, 'etc', 'gshadow'), ['root:*::', ...names.map((g) => `${g}:!::`)].join('\n') + '\n', { mode: 0o640 });
}

/** The /etc/passwd or /etc/group line of NAME, split on ':'. */
function entry(file: string, name: string): string[] | undefined {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === name);
}

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Every file and folder under DIR: type, mode, owner, size, mtime and content hash. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    const st = fs.lstatSync(abs);
    const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `link:${fs.readlinkSync(abs)}` : `file:${sha256(abs)}`;
    out[rel || '.'] = `${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? '' : `${st.size} ${st.mtimeMs}`}`;
    if (st.isDirectory()) for (const name of fs.readdirSync(abs).sort()) walk(path.join(rel, name));
  };
  walk('');
  return out;
}

/**
 * What install.sh could touch on this machine if it escaped its root: the folders it
 * writes to (a folder's mtime changes even when an entry is made and removed again),
 * the user database and dpkg's diversions.
 */
function hostState(): Record<string, string> {
  const state: Record<string, string> = {};
  const describePath = (p: string) => {
    if (!fs.existsSync(p)) return 'absent';
    const st = fs.lstatSync(p);
    return st.isDirectory() ? `dir ${st.mtimeMs}` : st.isSymbolicLink() ? `link ${fs.readlinkSync(p)}` : `file ${sha256(p)}`;
  };
  for (const p of ['/opt', '/home', '/usr/local/bin', '/etc/lapsebox', '/var/lib/lapsebox', '/opt/lapsebox', '/opt/lapsebox.new', '/opt/lapsebox.old', '/usr/local/bin/lapsebox']) state[p] = describePath(p);
  for (const p of ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow', '/var/lib/dpkg/diversions']) state[p] = describePath(p);
  if (fs.existsSync('/etc/systemd')) for (const [rel, value] of Object.entries(tree('/etc/systemd'))) state[`/etc/systemd/${rel}`] = value;
  return state;
}

/** The repository's unit, as install.sh writes it when node is at NODE. */
function expectedUnit(node: string): string {
  return fs.readFileSync(path.join(ROOT, 'systemd', 'lapsebox.service'), 'utf8').split('/usr/bin/node ').join(`${node} `);
}

/**
 * A copy of the checkout with everything install.sh --no-build takes from it (its own
 * copy of the script included), and a stand-in program: dist/daemon/main.js answers
 * --version with VERSION and runs BODY for "run". node_modules is a real copy (the
 * installer prunes its own copy of it, so never a link to this checkout's).
 */
class FakeCheckout {
  readonly dir: string;
  readonly script: string;

  constructor(parent: string) {
    this.dir = path.join(parent, 'checkout');
    this.script = path.join(this.dir, 'scripts', 'install.sh');
    for (const sub of ['scripts', 'systemd', 'config', 'web', 'daemon', 'dist/daemon']) fs.mkdirSync(path.join(this.dir, sub), { recursive: true });
    for (const file of ['package-lock.json', 'README.md', 'scripts/install.sh', 'config/lapsebox.example.yaml']) fs.copyFileSync(path.join(ROOT, file), path.join(this.dir, file));
    fs.chmodSync(this.script, 0o755);
    for (const folder of ['web/ui', 'i18n', 'docs', 'node_modules']) {
      const copy = run('cp', ['-a', path.join(ROOT, folder), path.join(this.dir, folder)]);
      if (copy.code !== 0) throw new Error(`cp -a ${folder}: ${copy.stderr}`);
    }
  }

  /** Makes it the checkout of VERSION; the unit, command and schema may differ from the repository's. */
  set(version: string, body: string, changes: { unit?: (text: string) => string; wrapperExtra?: string; schemaExtra?: string } = {}): void {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(this.dir, 'package.json'), JSON.stringify({ ...pkg, version }, null, 2) + '\n');
    const main = path.join(this.dir, 'dist', 'daemon', 'main.js');
    fs.writeFileSync(
      main,
      [
        '#!/usr/bin/env node',
        "'use strict';",
        "const fs = require('fs');",
        `const VERSION = ${JSON.stringify(version)};`,
        "if (process.argv.includes('--version')) { console.log(VERSION); process.exit(0); }",
        "if (process.argv[2] !== 'run') { console.error(`stand-in lapsebox ${VERSION}: --version and run only`); process.exit(1); }",
        "const dir = '/var/lib/lapsebox', db = dir + '/lapsebox.db';",
        "const read = (f) => { try { return fs.readFileSync(f, 'utf8'); } catch { return null; } };",
        body,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const unit = fs.readFileSync(path.join(ROOT, 'systemd', 'lapsebox.service'), 'utf8');
    fs.writeFileSync(path.join(this.dir, 'systemd', 'lapsebox.service'), changes.unit ? changes.unit(unit) : unit);
    fs.writeFileSync(path.join(this.dir, 'scripts', 'lapsebox-wrapper'), fs.readFileSync(path.join(ROOT, 'scripts', 'lapsebox-wrapper'), 'utf8') + (changes.wrapperExtra ?? ''), { mode: 0o755 });
    const schema = fs.readFileSync(path.join(ROOT, 'config', 'lapsebox.schema.json'), 'utf8');
    fs.writeFileSync(path.join(this.dir, 'config', 'lapsebox.schema.json'), schema + (changes.schemaExtra ?? ''));
  }
}

describeAsRoot('scripts/install.sh --root DIR: install, then upgrade', () => {
  let tmp: ReturnType<typeof tempDir>;
  let dir: string;
  let hostBefore: Record<string, string>;
  let first: Run;
  let second: Run;
  /** What the first run left, before the maintainer and the daemon changed anything. */
  let firstConfig: { text: string; mode: number; uid: number; gid: number };
  let etcBefore: Record<string, string>;
  let dataBefore: Record<string, string>;
  let passwdBefore: string;
  let groupBefore: string;
  /** The two folders as the first run made them. */
  let firstFolders: Record<string, { mode: number; uid: number; gid: number }>;
  let appGid: number;

  beforeAll(() => {
    hostBefore = hostState();
    tmp = tempDir('lapsebox-install-');
    dir = path.join(tmp.dir, 'root');
    makeRoot(dir, { video: 44, plugdev: 46 });
    first = sut('--root', dir, '--no-packages', '--no-build');

    const config = path.join(dir, 'etc', 'lapsebox', 'lapsebox.yaml');
    const st = fs.statSync(config);
    firstConfig = { text: fs.readFileSync(config, 'utf8'), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    firstFolders = {};
    for (const folder of ['etc/lapsebox', 'var/lib/lapsebox']) {
      const fst = fs.statSync(path.join(dir, folder));
      firstFolders[folder] = { mode: fst.mode & 0o7777, uid: fst.uid, gid: fst.gid };
    }

    // The administrator tightens the folders: root's, the daemon's group may write the
    // configuration folder, and (a mistake) only read the data folder.
    appGid = Number(entry(path.join(dir, 'etc', 'group'), 'lapsebox')?.[2]);
    fs.chownSync(path.join(dir, 'etc', 'lapsebox'), 0, appGid);
    fs.chmodSync(path.join(dir, 'etc', 'lapsebox'), 0o770);
    fs.chownSync(path.join(dir, 'var', 'lib', 'lapsebox'), 0, appGid);
    fs.chmodSync(path.join(dir, 'var', 'lib', 'lapsebox'), 0o750);

    // The maintainer edits the configuration; the daemon fills the data folder.
    fs.appendFileSync(config, '# edited on the box\n');
    const day = path.join(dir, 'var', 'lib', 'lapsebox', 'sources', 'north', 'pictures', '2026-11-22');
    fs.mkdirSync(day, { recursive: true });
    fs.writeFileSync(path.join(day, '20261122T101500000Z.jpg'), 'not really a jpeg');
    fs.writeFileSync(path.join(dir, 'var', 'lib', 'lapsebox', 'lapsebox.db'), 'not really a database');
    // Something only the first install's copy of the program has.
    fs.writeFileSync(path.join(dir, 'opt', 'lapsebox', 'marker'), 'first install');
    etcBefore = tree(path.join(dir, 'etc', 'lapsebox'));
    dataBefore = tree(path.join(dir, 'var', 'lib', 'lapsebox'));
    passwdBefore = fs.readFileSync(path.join(dir, 'etc', 'passwd'), 'utf8');
    groupBefore = fs.readFileSync(path.join(dir, 'etc', 'group'), 'utf8');

    second = sut('--root', dir, '--no-packages', '--no-build');
  }, 180_000);

  afterAll(() => tmp?.cleanup());

  it('succeeds both times and sums up what it did', () => {
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(first.stdout).toContain(`lapsebox ${VERSION}, in ${dir}:`);
    expect(first.stdout).toContain(`installed lapsebox ${VERSION} in ${dir}/opt/lapsebox`);
    // --root: no apt-get, but the packages the box needs are named.
    expect(first.stdout).toMatch(/lapsebox needs ffmpeg gphoto2 fonts-dejavu-core fontconfig ca-certificates libjemalloc2/);
    expect(first.stdout).toContain('nothing started or reloaded (--root)');
    expect(first.stdout).toContain('edit /etc/lapsebox/lapsebox.yaml (it is still the example');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`replaced lapsebox ${VERSION} in ${dir}/opt/lapsebox`);
    // The second run creates nothing.
    expect(second.stdout).not.toMatch(/created|installed \/|enabled/);
  });

  it('creates the lapsebox system user and group, without a login shell, in the groups the box has', () => {
    const user = entry(path.join(dir, 'etc', 'passwd'), 'lapsebox');
    expect(user).toBeDefined();
    const [, , uid, gid, , home, shell] = user!;
    expect(Number(uid)).toBeLessThan(1000); // a system user
    expect(home).toBe('/var/lib/lapsebox');
    expect(shell).toBe('/usr/sbin/nologin');
    const group = entry(path.join(dir, 'etc', 'group'), 'lapsebox');
    expect(group?.[2]).toBe(gid);
    expect(entry(path.join(dir, 'etc', 'shadow'), 'lapsebox')?.[1]).toBe('!'); // no password
    for (const name of ['video', 'plugdev']) expect(entry(path.join(dir, 'etc', 'group'), name)?.[3]?.split(',')).toEqual(['lapsebox']);
    expect(first.stdout).toContain('added lapsebox to the groups video plugdev');
    expect(first.stdout).toContain('groups not on this system, skipped: gpio');
    // Run twice, still one user, no group joined twice.
    expect(fs.readFileSync(path.join(dir, 'etc', 'passwd'), 'utf8')).toBe(passwdBefore);
    expect(fs.readFileSync(path.join(dir, 'etc', 'group'), 'utf8')).toBe(groupBefore);
  });

  it('installs a program that runs, with the production dependencies only', () => {
    const opt = path.join(dir, 'opt', 'lapsebox');
    const version = run(process.execPath, [path.join(opt, 'dist', 'daemon', 'main.js'), '--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    expect(fs.existsSync(path.join(opt, 'web', 'ui', 'index.html'))).toBe(true);
    // The message catalogs, one file per language.
    for (const lang of ['en', 'fr']) expect(sha256(path.join(opt, 'i18n', `${lang}.json`))).toBe(sha256(path.join(ROOT, 'i18n', `${lang}.json`)));
    // The documentation comes along: the README and every page of docs/ (the unit's Documentation= names one).
    const docs = fs.readdirSync(path.join(ROOT, 'docs'), { withFileTypes: true }).filter((e) => e.isFile()).map((e) => `docs/${e.name}`);
    expect(docs).toEqual(expect.arrayContaining(['docs/README.md', 'docs/install-and-operate.md']));
    for (const file of ['package.json', 'package-lock.json', 'README.md', ...docs, 'config/lapsebox.example.yaml', 'config/lapsebox.schema.json']) {
      expect(sha256(path.join(opt, file))).toBe(sha256(path.join(ROOT, file)));
    }
    // Not @types/node: MQTT.js's own dependencies (@types/ws, @types/readable-stream) bring it in production too.
    for (const dev of ['jest', 'playwright-core', 'typescript', 'ts-jest', '@types/jest', 'autocannon']) {
      expect(fs.existsSync(path.join(opt, 'node_modules', dev))).toBe(false);
    }
    // Native modules, copied as built for this machine, work from there.
    const sqlite = run(process.execPath, ['-e', 'const D = require(process.argv[1]); const db = new D(":memory:"); console.log(db.prepare("select sqlite_version() v").get().v); db.close()', path.join(opt, 'node_modules', 'better-sqlite3')]);
    expect(sqlite).toMatchObject({ code: 0, stdout: expect.stringMatching(/^3\.\d+\.\d+\n$/) });
    // Root's, and nobody else may change it (the daemon least of all).
    const writable = run('find', [opt, '!', '-type', 'l', '(', '-perm', '-g=w', '-o', '-perm', '-o=w', '-o', '!', '-uid', '0', ')', '-print', '-quit']);
    expect(writable.stdout).toBe('');
  });

  it('creates the configuration from the example, readable by lapsebox only, and the folders', () => {
    const [, , uid, gid] = entry(path.join(dir, 'etc', 'passwd'), 'lapsebox')!;
    expect(firstConfig).toEqual({ text: fs.readFileSync(path.join(ROOT, 'config', 'lapsebox.example.yaml'), 'utf8'), mode: 0o640, uid: Number(uid), gid: Number(gid) });
    for (const folder of ['etc/lapsebox', 'var/lib/lapsebox']) {
      expect({ folder, ...firstFolders[folder] }).toEqual({ folder, mode: 0o750, uid: Number(uid), gid: Number(gid) });
    }
    expect(first.stdout).toContain(`created ${dir}/etc/lapsebox (configuration; owned by lapsebox, mode 0750)`);
    // The schema beside the file, for editors.
    expect(sha256(path.join(dir, 'etc', 'lapsebox', 'lapsebox.schema.json'))).toBe(sha256(path.join(ROOT, 'config', 'lapsebox.schema.json')));
  });

  it('installs the unit enabled, the lapsebox command and the gvfs masks', () => {
    const unit = path.join(dir, 'etc', 'systemd', 'system', 'lapsebox.service');
    // No node in this root: the unit runs /usr/bin/node, as on a box with NodeSource's package.
    expect(fs.readFileSync(unit, 'utf8')).toBe(expectedUnit('/usr/bin/node'));
    expect(first.stderr).toContain('no Node.js in');
    expect(fs.readlinkSync(path.join(dir, 'etc', 'systemd', 'system', 'multi-user.target.wants', 'lapsebox.service'))).toBe('/etc/systemd/system/lapsebox.service');

    const wrapper = path.join(dir, 'usr', 'local', 'bin', 'lapsebox');
    expect(fs.statSync(wrapper).mode & 0o7777).toBe(0o755);
    const text = fs.readFileSync(wrapper, 'utf8');
    expect(text).toMatch(/^NODE=\/usr\/bin\/node$/m);
    expect(text).toContain('runuser -u lapsebox -- "$NODE" --optimize-for-size --max-semi-space-size=2 "$MAIN" "$@"');
    expect(text).toContain('LAPSEBOX_CONFIG="${LAPSEBOX_CONFIG:-/etc/lapsebox/lapsebox.yaml}"');

    for (const unitName of ['gvfs-gphoto2-volume-monitor.service', 'gvfs-mtp-volume-monitor.service']) {
      expect(fs.readlinkSync(path.join(dir, 'etc', 'systemd', 'user', unitName))).toBe('/dev/null');
    }
    // Both made by the installer, and recorded as such for --uninstall.
    expect(fs.readFileSync(path.join(dir, 'etc', 'lapsebox', '.installer-masks'), 'utf8')).toBe('gvfs-gphoto2-volume-monitor.service\ngvfs-mtp-volume-monitor.service\n');
  });

  it("keeps the owner and mode an administrator gave the folders, and warns when the daemon cannot write to one", () => {
    const folder = (rel: string) => {
      const st = fs.statSync(path.join(dir, rel));
      return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    };
    expect(folder('etc/lapsebox')).toEqual({ mode: 0o770, uid: 0, gid: appGid });
    expect(folder('var/lib/lapsebox')).toEqual({ mode: 0o750, uid: 0, gid: appGid });
    // The group may write the configuration folder: nothing to say about it.
    expect(second.stderr).not.toMatch(/cannot write to \S*\/etc\/lapsebox/);
    expect(second.stderr).toContain(`warning: the lapsebox user cannot write to ${dir}/var/lib/lapsebox (owner 0:${appGid}, mode 750), and the daemon needs to: the database, the pictures and the videos are written there. Left as it is`);
  });

  it('upgrades the program on a second run and leaves the configuration and the data as they were', () => {
    expect(fs.existsSync(path.join(dir, 'opt', 'lapsebox', 'marker'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'opt', 'lapsebox', 'dist', 'daemon', 'main.js'))).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'opt'))).toEqual(['lapsebox']); // no .new or .old left
    expect(tree(path.join(dir, 'etc', 'lapsebox'))).toEqual(etcBefore);
    expect(tree(path.join(dir, 'var', 'lib', 'lapsebox'))).toEqual(dataBefore);
  });

  it('writes nothing outside the root folder', () => {
    expect(hostState()).toEqual(hostBefore);
  });
});

describeAsRoot('scripts/install.sh --uninstall --root DIR', () => {
  let tmp: ReturnType<typeof tempDir>;
  let dir: string;

  beforeEach(() => {
    tmp = tempDir('lapsebox-uninstall-');
    dir = path.join(tmp.dir, 'root');
    makeRoot(dir, { video: 44 });
    expect(sut('--root', dir, '--no-packages', '--no-build').code).toBe(0);
    fs.writeFileSync(path.join(dir, 'var', 'lib', 'lapsebox', 'lapsebox.db'), 'data');
  }, 120_000);

  afterEach(() => tmp.cleanup());

  const gone = (rel: string) => !fs.existsSync(path.join(dir, rel)) && !isLink(path.join(dir, rel));
  const isLink = (p: string) => {
    try {
      return fs.lstatSync(p).isSymbolicLink();
    } catch {
      return false;
    }
  };
  const programGone = () => {
    for (const rel of ['opt/lapsebox', 'usr/local/bin/lapsebox', 'etc/systemd/system/lapsebox.service', 'etc/systemd/system/multi-user.target.wants/lapsebox.service', 'etc/systemd/user/gvfs-gphoto2-volume-monitor.service', 'etc/systemd/user/gvfs-mtp-volume-monitor.service']) {
      expect({ rel, gone: gone(rel) }).toEqual({ rel, gone: true });
    }
  };

  it('removes the program, the command, the unit and the gvfs masks, and keeps the configuration, the data and the user', () => {
    const result = sut('--uninstall', '--root', dir);
    expect(result.code).toBe(0);
    programGone();
    expect(fs.readFileSync(path.join(dir, 'etc', 'lapsebox', 'lapsebox.yaml'), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'config', 'lapsebox.example.yaml'), 'utf8'));
    expect(fs.readFileSync(path.join(dir, 'var', 'lib', 'lapsebox', 'lapsebox.db'), 'utf8')).toBe('data');
    expect(entry(path.join(dir, 'etc', 'passwd'), 'lapsebox')).toBeDefined();
    expect(result.stdout).toContain('add --purge to remove them');
    // A reinstall finds them and keeps them.
    expect(sut('--root', dir, '--no-packages', '--no-build').code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'var', 'lib', 'lapsebox', 'lapsebox.db'), 'utf8')).toBe('data');
  });

  it('with --purge also removes the configuration, the data and the user, after saying so', () => {
    const result = sut('--uninstall', '--purge', '--root', dir);
    expect(result.code).toBe(0);
    programGone();
    expect(result.stdout).toMatch(/--purge: removing the configuration .*, every picture, video and the database/);
    expect(fs.existsSync(path.join(dir, 'etc', 'lapsebox'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'var', 'lib', 'lapsebox'))).toBe(false);
    expect(entry(path.join(dir, 'etc', 'passwd'), 'lapsebox')).toBeUndefined();
    expect(entry(path.join(dir, 'etc', 'group'), 'lapsebox')).toBeUndefined();
    expect(entry(path.join(dir, 'etc', 'group'), 'video')?.[3]).toBe('');
  });
});

describeAsRoot('scripts/install.sh and gvfs masks it did not make', () => {
  let tmp: ReturnType<typeof tempDir>;
  afterAll(() => tmp?.cleanup());

  it('--uninstall removes the masks the installer made and keeps one the administrator made before', () => {
    tmp = tempDir('lapsebox-masks-');
    const dir = path.join(tmp.dir, 'root');
    makeRoot(dir, { video: 44 });
    const userUnits = path.join(dir, 'etc', 'systemd', 'user');
    const theirs = path.join(userUnits, 'gvfs-mtp-volume-monitor.service');
    const ours = path.join(userUnits, 'gvfs-gphoto2-volume-monitor.service');
    fs.mkdirSync(userUnits, { recursive: true });
    fs.symlinkSync('/dev/null', theirs); // systemctl --global mask gvfs-mtp-volume-monitor

    const install = sut('--root', dir, '--no-packages', '--no-build');
    expect(install.code).toBe(0);
    expect(install.stdout).toContain('gvfs camera monitors masked for every user (gvfs-gphoto2-volume-monitor.service;');
    expect(install.stdout).toContain('already masked, not by this installer (kept as they are, also by --uninstall): gvfs-mtp-volume-monitor.service');
    expect(fs.readFileSync(path.join(dir, 'etc', 'lapsebox', '.installer-masks'), 'utf8')).toBe('gvfs-gphoto2-volume-monitor.service\n');
    expect(fs.readlinkSync(ours)).toBe('/dev/null');

    const uninstall = sut('--uninstall', '--root', dir);
    expect(uninstall.code).toBe(0);
    expect(() => fs.lstatSync(ours)).toThrow();
    expect(fs.readlinkSync(theirs)).toBe('/dev/null');
    expect(uninstall.stdout).toContain('removed the mask of gvfs-gphoto2-volume-monitor.service');
    expect(uninstall.stdout).toContain('kept the mask of gvfs-mtp-volume-monitor.service: this installer did not make it');
    expect(fs.existsSync(path.join(dir, 'etc', 'lapsebox', '.installer-masks'))).toBe(false);
  }, 120_000);
});

describeAsRoot('scripts/install.sh --root DIR with a symbolic link or a foreign folder on its way', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir('lapsebox-links-')));
  afterEach(() => tmp.cleanup());

  /** A folder outside the root, not root's, with a private file: what a link would expose. */
  function elsewhere(): string {
    const target = path.join(tmp.dir, 'elsewhere');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'private'), 'secret', { mode: 0o600 });
    fs.chownSync(path.join(target, 'private'), 4242, 4242);
    fs.chownSync(target, 4242, 4242);
    fs.chmodSync(target, 0o711);
    return target;
  }

  it.each(['etc/lapsebox', 'var/lib/lapsebox', 'etc/systemd/system', 'usr/local/bin', 'opt'])('refuses %s as a symbolic link, and leaves where it points as it was', (rel) => {
    const dir = path.join(tmp.dir, 'root');
    makeRoot(dir, {});
    const target = elsewhere();
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.symlinkSync(target, path.join(dir, rel));
    const before = tree(target);
    const rootBefore = tree(dir);

    const result = sut('--root', dir, '--no-packages', '--no-build');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`install.sh: --root ${dir}: ${rel} is a symbolic link (to ${target}): root would write, chown or remove through it`);
    expect(tree(target)).toEqual(before);
    // Refused before anything was done: no user, no program.
    expect(tree(dir)).toEqual(rootBefore);
  });

  it('refuses --uninstall too, before removing anything through the link', () => {
    const dir = path.join(tmp.dir, 'root');
    makeRoot(dir, {});
    const target = elsewhere();
    fs.writeFileSync(path.join(target, 'lapsebox.service'), '[Service]\nExecStart=/bin/true\n');
    fs.mkdirSync(path.join(dir, 'etc', 'systemd'), { recursive: true });
    fs.symlinkSync(target, path.join(dir, 'etc', 'systemd', 'system'));
    const before = tree(target);
    const result = sut('--uninstall', '--root', dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('etc/systemd/system is a symbolic link');
    expect(tree(target)).toEqual(before);
  });

  it('refuses a folder on its way that another user owns, and DIR given as a symbolic link', () => {
    const dir = path.join(tmp.dir, 'root');
    makeRoot(dir, {});
    fs.mkdirSync(path.join(dir, 'opt'));
    fs.chownSync(path.join(dir, 'opt'), 4242, 4242);
    const owned = sut('--root', dir, '--no-packages', '--no-build');
    expect(owned.code).toBe(1);
    expect(owned.stderr).toContain(`--root ${dir}: opt is owned by uid 4242, not root`);
    expect(fs.readdirSync(path.join(dir, 'opt'))).toEqual([]);

    fs.chownSync(path.join(dir, 'opt'), 0, 0);
    const link = path.join(tmp.dir, 'link-to-root');
    fs.symlinkSync(dir, link);
    const linked = sut('--root', link, '--no-packages', '--no-build');
    expect(linked.code).toBe(1);
    expect(linked.stderr).toContain(`--root ${link} is a symbolic link (to ${dir}): give the folder itself (--root ${dir})`);
    expect(fs.readdirSync(path.join(dir, 'opt'))).toEqual([]);
  });
});

describeAsRoot('scripts/install.sh --root DIR: an upgrade that fails after the swap', () => {
  let tmp: ReturnType<typeof tempDir>;
  afterAll(() => tmp?.cleanup());

  it('puts back the previous program, its unit, its command and its schema, as they were', () => {
    tmp = tempDir('lapsebox-rollback-');
    const checkout = new FakeCheckout(tmp.dir);
    const dir = path.join(tmp.dir, 'root');
    makeRoot(dir, { video: 44 });
    const install = (...args: string[]) => run(checkout.script, ['--root', dir, '--no-packages', '--no-build', ...args]);

    checkout.set('1.0.0', 'process.exit(0);');
    const first = install();
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    // The administrator disables the service for a while (systemctl disable lapsebox).
    fs.rmSync(path.join(dir, 'etc', 'systemd', 'system', 'multi-user.target.wants', 'lapsebox.service'));
    const kept = ['etc/systemd/system/lapsebox.service', 'usr/local/bin/lapsebox', 'etc/lapsebox/lapsebox.schema.json'];
    const before = { opt: tree(path.join(dir, 'opt', 'lapsebox')), files: kept.map((rel) => tree(path.join(dir, rel))), wants: tree(path.join(dir, 'etc', 'systemd', 'system')) };

    // 2.0.0 runs (its --version works, so the staged copy passes), but its unit cannot
    // be enabled: that fails after /opt/lapsebox was replaced, with the new command
    // and schema already written.
    checkout.set('2.0.0', 'process.exit(0);', {
      unit: (text) => text.replace('WantedBy=multi-user.target', 'WantedBy=not-a-unit'),
      wrapperExtra: '# 2.0.0\n',
      schemaExtra: '\n',
    });
    const second = install();
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('install.sh: could not enable lapsebox.service (systemctl enable failed)');

    expect(tree(path.join(dir, 'opt', 'lapsebox'))).toEqual(before.opt);
    expect(kept.map((rel) => tree(path.join(dir, rel)))).toEqual(before.files);
    expect(tree(path.join(dir, 'etc', 'systemd', 'system'))).toEqual(before.wants);
    expect(fs.readdirSync(path.join(dir, 'opt'))).toEqual(['lapsebox']); // no .new, .old or .old.files left
    expect(run(process.execPath, [path.join(dir, 'opt', 'lapsebox', 'dist', 'daemon', 'main.js'), '--version']).stdout).toBe('1.0.0\n');
    expect(second.stderr).toContain(`install.sh: lapsebox 1.0.0 is back in ${dir}/opt/lapsebox, with its unit and command`);
    expect(second.stderr).toMatch(/Done before the failure:/);
  }, 240_000);
});

describeAsRoot('scripts/install.sh, misuse', () => {
  it('prints its help', () => {
    const result = sut('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: sudo scripts\/install.sh \[OPTIONS\]/);
    for (const option of ['--uninstall', '--purge', '--root DIR', '--no-packages', '--with-packages', '--no-build']) expect(result.stdout).toContain(option);
  });

  it.each([
    [['--frobnicate'], 'unknown option: --frobnicate'],
    [['--purge'], '--purge goes with --uninstall'],
    [['--root'], '--root needs a folder'],
    [['--no-packages', '--with-packages'], 'contradict each other'],
  ])('exits 2 on %j, saying %s', (args, message) => {
    const result = sut(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('Try: install.sh --help');
  });

  it('run by another user, says how to run it as root with the options it was given', () => {
    const tmp = tempDir('lapsebox-hint-');
    try {
      // A copy any user may run (the checkout may be in a folder only root can enter).
      fs.chmodSync(tmp.dir, 0o755);
      fs.mkdirSync(path.join(tmp.dir, 'scripts'), { mode: 0o755 });
      const script = path.join(tmp.dir, 'scripts', 'install.sh');
      fs.copyFileSync(SCRIPT, script);
      fs.chmodSync(script, 0o755);
      const asNobody = (args: string[]) => run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', ...args]);
      const probe = asNobody(['/bin/true']);
      if (probe.code !== 0) {
        console.warn(`install.sh "run it as root" hint NOT TESTED: no unprivileged user can run it here (setpriv --reuid=65534: ${probe.stderr.trim()})`);
        return;
      }
      const args = ['--uninstall', '--purge', '--root', '/tmp/my box'];
      const result = asNobody([script, ...args]);
      expect(result.code).toBe(1);
      const hint = /^install\.sh: run it as root: (.*)$/m.exec(result.stderr)?.[1];
      expect(hint).toBeDefined();
      expect(hint).toContain('--uninstall --purge');
      // Pasted into a shell, it gives back the same words.
      const words = run('bash', ['-c', 'eval "set -- $1"; printf "%s\\n" "$@"', 'words', hint!]);
      expect(words.stdout.split('\n').slice(0, -1)).toEqual(['sudo', script, ...args]);
    } finally {
      tmp.cleanup();
    }
  });

  it('refuses a root folder without etc/passwd, saying what it needs', () => {
    const tmp = tempDir('lapsebox-badroot-');
    try {
      const result = sut('--root', tmp.dir, '--no-packages', '--no-build');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/has no etc\/passwd or etc\/group: give the root of a Debian system/);
      expect(fs.readdirSync(tmp.dir)).toEqual([]);
    } finally {
      tmp.cleanup();
    }
  });
});

/**
 * A private mount namespace where /etc, /opt, /usr/local and /var are overlays whose
 * changes land in UPPER: the script sees and changes a live system, this machine's
 * files stay as they were. Mounting needs root and overlayfs.
 */
const ISOLATE = `
set -eu
upper="$1"; shift
dirs="etc opt usr/local var"
if [ -n "\${FAKE_SYSTEMD_BIN:-}" ]; then dirs="$dirs run"; fi
for d in $dirs; do
  n="$(echo "$d" | tr / _)"
  mkdir -p "$upper/$n/u" "$upper/$n/w"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$upper/$n/u,workdir=$upper/$n/w" "/$d"
done
if [ -n "\${FAKE_SYSTEMD_BIN:-}" ]; then
  # What install.sh takes for a running systemd, and a systemctl that stands in for it.
  mkdir -p /run/systemd/system
  PATH="$FAKE_SYSTEMD_BIN:$PATH"
  export PATH
fi
exec "$@"`;

function isolated(upper: string, argv: string[], input?: string, env?: NodeJS.ProcessEnv): Run {
  return run('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', ISOLATE, 'isolate', upper, ...argv], input, env);
}

/**
 * systemctl as install.sh uses it on a running system, for lapsebox.service: start and
 * restart run the unit's ExecStart as its user, with its UMask= (the stand-in daemon exits 0 once it
 * would be ready, non-zero when it fails), stop and is-active keep and read the state
 * in $FAKE_SYSTEMD_STATE/state; unit files are enabled offline by the real systemctl.
 * Every call goes to $FAKE_SYSTEMD_STATE/calls.
 */
const FAKE_SYSTEMCTL = `#!/bin/bash
state_dir="$FAKE_SYSTEMD_STATE"
printf '%s\\n' "$*" >>"$state_dir/calls"
state() { cat "$state_dir/state" 2>/dev/null || echo inactive; }
case "$1" in
  is-enabled | enable | disable) SYSTEMD_OFFLINE=1 exec /usr/bin/systemctl "$@" ;;
  daemon-reload | reset-failed | list-units | show | --user) exit 0 ;;
  is-active)
    s="$(state)"
    [ "$2" = "--quiet" ] || echo "$s"
    [ "$s" = active ] ;;
  stop) echo inactive >"$state_dir/state" ;;
  start | restart)
    exec_start="$(sed -n 's/^ExecStart=//p' /etc/systemd/system/lapsebox.service)"
    # shellcheck disable=SC2086
    if (umask 027 && cd /var/lib/lapsebox && /usr/sbin/runuser -u lapsebox -- $exec_start) >>"$state_dir/daemon.log" 2>&1; then
      echo active >"$state_dir/state"
      echo "  -> active" >>"$state_dir/calls"
    else
      echo failed >"$state_dir/state"
      echo "  -> failed" >>"$state_dir/calls"
      exit 1
    fi ;;
  *) echo "stand-in systemctl: $1 is not faked" >&2; exit 1 ;;
esac
`;

function isolationProblem(): string | null {
  if (!IS_ROOT) return 'not root';
  const tmp = tempDir('lapsebox-probe-');
  try {
    const probe = isolated(tmp.dir, ['true']);
    return probe.code === 0 ? null : `unshare/overlayfs unavailable: ${probe.stderr.trim()}`;
  } catch (err) {
    return `unshare unavailable: ${(err as Error).message}`;
  } finally {
    tmp.cleanup();
  }
}

const problem = isolationProblem();
if (problem && IS_ROOT) console.warn(`scripts/install.sh on a live system NOT TESTED here: ${problem}`);
(problem ? describe.skip : describe)('scripts/install.sh on a live system (private overlays over /etc, /opt, /usr/local, /var)', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => (tmp = tempDir('lapsebox-live-')));
  afterAll(() => tmp.cleanup());

  it('installs, lets root use the lapsebox command as the lapsebox user, and uninstalls', () => {
    const hostBefore = hostState();
    const upper = tmp.dir;
    const sh = (script: string, input?: string) => isolated(upper, ['bash', '-c', script], input);

    const install = isolated(upper, [SCRIPT, '--no-packages', '--no-build']);
    expect({ code: install.code, stderr: install.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    // No systemd runs here (a container): the unit is enabled offline, nothing started.
    expect(install.stdout).toContain('systemd is not running here: nothing started or reloaded');
    expect(install.stdout).toContain('installed /etc/systemd/system/lapsebox.service');

    const facts = sh(
      [
        'getent passwd lapsebox | cut -d: -f6,7',
        'id -nG lapsebox',
        'readlink /etc/systemd/system/multi-user.target.wants/lapsebox.service',
        'dpkg-divert --list | grep -c " by lapsebox$"',
      ].join('; '),
    );
    const [home, groups, wants, diversions] = facts.stdout.trim().split('\n');
    expect(home).toBe('/var/lib/lapsebox:/usr/sbin/nologin');
    expect(groups?.split(' ')).toEqual(expect.arrayContaining(['lapsebox', ...['video', 'plugdev'].filter((g) => entry('/etc/group', g))]));
    expect(wants).toBe('/etc/systemd/system/lapsebox.service');
    expect(diversions).toBe('2');

    // Root runs the command from anywhere; what it writes in the data folder is the daemon's.
    const add = sh('cd / && lapsebox users add ops --profile maintainer --password-stdin && stat -c "%U:%G %a" /var/lib/lapsebox/lapsebox.db && lapsebox --version', 'a long enough password\n');
    expect(add.code).toBe(0);
    expect(add.stdout).toContain('lapsebox:lapsebox 640');
    expect(add.stdout).toContain(`${VERSION}\n`);

    const uninstall = isolated(upper, [SCRIPT, '--uninstall', '--purge']);
    expect(uninstall.code).toBe(0);
    const after = sh('id lapsebox 2>&1; dpkg-divert --list | grep -c " by lapsebox$"; ls /opt/lapsebox /usr/local/bin/lapsebox /etc/systemd/system/lapsebox.service 2>&1 | grep -c "No such file"');
    expect(after.stdout.trim().split('\n')).toEqual([expect.stringContaining('no such user'), '0', '3']);

    expect(hostState()).toEqual(hostBefore);
  });

  it('refuses a /var/lib/lapsebox that is a symbolic link, before changing anything', () => {
    const own = tempDir('lapsebox-live-link-');
    try {
      const target = path.join(own.dir, 'usb');
      fs.mkdirSync(target, { mode: 0o755 });
      fs.chownSync(target, 4242, 4242);
      const before = tree(target);
      const result = isolated(own.dir, ['bash', '-c', `ln -s ${target} /var/lib/lapsebox && "$0" --no-packages --no-build; echo "exit $?"; ls /opt`, SCRIPT]);
      expect(result.stdout).toContain('exit 1');
      expect(result.stdout).not.toContain('lapsebox');
      expect(result.stderr).toContain(`install.sh: /var/lib/lapsebox is a symbolic link (to ${target}): the installer sets the owner and mode of the folder it creates there, and will not do it through a link`);
      expect(tree(target)).toEqual(before);
    } finally {
      own.cleanup();
    }
  });
});

(problem ? describe.skip : describe)('scripts/install.sh restarting a running lapsebox into another version (stand-in systemctl, private overlays)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let checkout: FakeCheckout;
  let upper: string;
  let env: NodeJS.ProcessEnv;
  let stateDir: string;
  let hostBefore: Record<string, string>;

  /** 1.0.0 makes its database at its first start, and refuses one of a later schema. */
  const V1 = [
    "if (fs.existsSync(dir + '/refuse-to-start')) { console.error('1.0.0: told to fail'); process.exit(1); }",
    'const schema = read(db);',
    "if (schema === null) { fs.writeFileSync(db, 'schema 1'); fs.writeFileSync(db + '-wal', 'wal 1'); fs.writeFileSync(db + '-shm', 'shm 1'); process.exit(0); }",
    "if (schema !== 'schema 1') { console.error(`1.0.0: the database is of a later version (${schema})`); process.exit(1); }",
    'process.exit(0);',
  ].join('\n');
  /** 2.0.0 migrates the database, then fails. */
  const V2 = "fs.writeFileSync(db, 'schema 2'); fs.rmSync(db + '-wal', { force: true }); fs.writeFileSync(db + '-shm', 'shm 2'); console.error('2.0.0: migrated, then failed'); process.exit(1);";
  /** 2.1.0 migrates the database and runs. */
  const V3 = "fs.writeFileSync(db, 'schema 3'); process.exit(0);";

  const sh = (script: string) => isolated(upper, ['bash', '-c', script], undefined, env);
  const install = () => isolated(upper, [checkout.script, '--no-packages', '--no-build'], undefined, env);
  const calls = () => {
    const file = path.join(stateDir, 'calls');
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    fs.rmSync(file, { force: true });
    return text.split('\n').filter((line) => line !== '' && !line.startsWith('is-active') && !line.startsWith('list-units') && !line.startsWith('show') && !line.startsWith('is-enabled'));
  };
  /** The database files, their owner and mode, the installed version and the service's state. */
  const facts = () =>
    sh('cd /var/lib/lapsebox && for f in lapsebox.db lapsebox.db-wal lapsebox.db-shm; do [ -e $f ] && echo "$f: $(cat $f) $(stat -c "%U:%G %a" $f)" || echo "$f: none"; done; ls -A /var/lib/lapsebox | grep -c before-upgrade; node -p "require(\'/opt/lapsebox/package.json\').version"; systemctl is-active lapsebox.service').stdout;

  beforeAll(() => {
    hostBefore = hostState();
    tmp = tempDir('lapsebox-restart-');
    checkout = new FakeCheckout(tmp.dir);
    upper = path.join(tmp.dir, 'upper');
    stateDir = path.join(tmp.dir, 'systemd');
    const bin = path.join(tmp.dir, 'bin');
    for (const d of [upper, stateDir, bin]) fs.mkdirSync(d);
    fs.writeFileSync(path.join(bin, 'systemctl'), FAKE_SYSTEMCTL, { mode: 0o755 });
    env = { FAKE_SYSTEMD_BIN: bin, FAKE_SYSTEMD_STATE: stateDir };

    checkout.set('1.0.0', V1);
    const first = install();
    if (first.code !== 0) throw new Error(`installing 1.0.0 failed:\n${first.stdout}\n${first.stderr}`);
    // Configured, started: its database is there.
    const start = sh('systemctl start lapsebox.service');
    if (start.code !== 0) throw new Error(`starting 1.0.0 failed: ${fs.readFileSync(path.join(stateDir, 'daemon.log'), 'utf8')}`);
    calls();
  }, 240_000);

  afterAll(() => tmp?.cleanup());

  it('a new version that migrates the database and fails: the database is put back and the previous version runs again', () => {
    checkout.set('2.0.0', V2);
    const result = install();
    expect(result.code).toBe(1);
    expect(facts()).toBe(['lapsebox.db: schema 1 lapsebox:lapsebox 640', 'lapsebox.db-wal: wal 1 lapsebox:lapsebox 640', 'lapsebox.db-shm: shm 1 lapsebox:lapsebox 640', '0', '1.0.0', 'active', ''].join('\n'));
    expect(calls()).toEqual(['daemon-reload', 'stop lapsebox.service', 'start lapsebox.service', '  -> failed', 'stop lapsebox.service', 'daemon-reload', 'reset-failed lapsebox.service', 'start lapsebox.service', '  -> active']);
    expect(result.stderr).toContain('install.sh: lapsebox 2.0.0 did not start: see journalctl -u lapsebox -n 100');
    expect(result.stderr).toContain('install.sh: the database is back as it was before the upgrade');
    expect(result.stderr).toContain('install.sh: lapsebox 1.0.0 is installed again and running');
  });

  it('when the previous version does not start either, says so instead of claiming it runs', () => {
    // 1.0.0 running on its own database, and told to fail at its next start.
    const prepared = sh(
      'cd /var/lib/lapsebox && umask 027 && runuser -u lapsebox -- sh -c "printf \'schema 1\' >lapsebox.db && printf \'wal 1\' >lapsebox.db-wal && printf \'shm 1\' >lapsebox.db-shm" && touch refuse-to-start && echo active >"$FAKE_SYSTEMD_STATE/state"',
    );
    expect(prepared).toMatchObject({ code: 0, stderr: '' });
    const result = install();
    expect(result.code).toBe(1);
    expect(facts()).toBe(['lapsebox.db: schema 1 lapsebox:lapsebox 640', 'lapsebox.db-wal: wal 1 lapsebox:lapsebox 640', 'lapsebox.db-shm: shm 1 lapsebox:lapsebox 640', '0', '1.0.0', 'failed', ''].join('\n'));
    expect(result.stderr).toContain('install.sh: the database is back as it was before the upgrade');
    expect(result.stderr).toContain('install.sh: lapsebox 1.0.0 is installed again but did NOT start either (systemctl is-active: failed): see journalctl -u lapsebox -n 100');
    expect(result.stderr).not.toContain('running');
    calls();
  });

  it('a new version that starts: the copy of the database goes, the migrated one stays', () => {
    sh('rm /var/lib/lapsebox/refuse-to-start && systemctl start lapsebox.service');
    calls();
    checkout.set('2.1.0', V3);
    const result = install();
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(result.stdout).toContain('copied the database of lapsebox 1.0.0 to /var/lib/lapsebox/.lapsebox-db-before-upgrade');
    expect(result.stdout).toContain('removed the copy of the database (/var/lib/lapsebox/.lapsebox-db-before-upgrade): lapsebox 2.1.0 runs');
    expect(result.stdout).toContain('restarted lapsebox (1.0.0 -> 2.1.0)');
    expect(calls()).toEqual(['daemon-reload', 'stop lapsebox.service', 'start lapsebox.service', '  -> active']);
    expect(facts()).toBe(['lapsebox.db: schema 3 lapsebox:lapsebox 640', 'lapsebox.db-wal: wal 1 lapsebox:lapsebox 640', 'lapsebox.db-shm: shm 1 lapsebox:lapsebox 640', '0', '2.1.0', 'active', ''].join('\n'));
    expect(hostState()).toEqual(hostBefore);
  });
});
