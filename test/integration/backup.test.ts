import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import * as tar from 'tar';
import { cli, freePort, NOBODY, ROOT, tempDir, waitFor, type CliResult } from '../helpers/env';
import { basic, DaemonProcess } from '../helpers/daemon';
import { openDatabase } from '../../daemon/store/database';
import { openRepositories } from '../../daemon/store/repositories';
import { UsersService } from '../../daemon/auth/users.service';
import { SETUP_TABLES, STATE_TABLES, tableNames } from '../../daemon/store/setup-copy';
import { MIGRATIONS } from '../../daemon/store/migrations';
import { permissionError } from '../../daemon/backup/access';

/** An unprivileged user (chmod stops nobody who runs as root, as the tests do). */
const asRoot = process.getuid?.() === 0;

/** The compiled `lapsebox` command run as the user "nobody". */
function cliAsNobody(args: string[]): Promise<CliResult> {
  return cli(args, { ...NOBODY, env: { HOME: '/' } });
}

const PASSWORDS = { anna: 'anna-maintains-it', dora: 'dora-directs-it', carl: 'carl-is-a-customer' };

/** Rows of the setup tables, to compare a restored box with the old one. */
function setupRows(dataDir: string) {
  const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true });
  try {
    return {
      users: db.prepare('SELECT id, username, profile, password_hash, email, language FROM users ORDER BY id').all(),
      groups: db.prepare('SELECT id, name FROM groups ORDER BY id').all(),
      members: db.prepare('SELECT group_id, user_id FROM group_members ORDER BY group_id, user_id').all(),
      grants: db.prepare('SELECT id, user_id, group_id, source_id, level FROM grants ORDER BY id').all(),
    };
  } finally {
    db.close();
  }
}

function count(dbFile: string, sql: string): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

interface RawEntry {
  path: string;
  type?: 'File' | 'SymbolicLink' | 'Link' | 'FIFO';
  data?: Buffer;
  linkpath?: string;
}

/** The entries of a .tar.gz with their bytes. */
async function readEntries(file: string): Promise<RawEntry[]> {
  const entries: RawEntry[] = [];
  await tar.list({
    file,
    onReadEntry: (e) => {
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => entries.push({ path: e.path, data: Buffer.concat(chunks) }));
    },
  });
  return entries;
}

/** A .tar.gz built block by block, so it can hold what node-tar would never write. */
function tarGz(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.type === undefined || e.type === 'File' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const header = Buffer.alloc(512);
    new tar.Header({ path: e.path, type: e.type ?? 'File', size: data.length, mode: 0o600, mtime: new Date(0), ...(e.linkpath ? { linkpath: e.linkpath } : {}) }).encode(header);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(blocks));
}

/** The entries with a manifest that agrees with them (sizes and checksums), changed by `edit`. */
function withConsistentManifest(entries: RawEntry[], edit: (m: Record<string, unknown>) => void = () => undefined): RawEntry[] {
  const old = JSON.parse(entries.find((e) => e.path === 'manifest.json')!.data!.toString()) as Record<string, unknown>;
  const others = entries.filter((e) => e.path !== 'manifest.json');
  const manifest = {
    ...old,
    files: others.map((e) => ({ name: e.path, size: e.data?.length ?? 0, sha256: createHash('sha256').update(e.data ?? Buffer.alloc(0)).digest('hex') })),
  };
  edit(manifest);
  return [{ path: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...others];
}

describe('lapsebox backup and restore', () => {
  let tmp: ReturnType<typeof tempDir>;
  let port: number;
  let oldConfig: string;
  let oldText: string;
  let oldData: string;
  let outsideKey: string;
  let archive: string;
  let backupText: CliResult;
  let backupJson: CliResult;
  let daemonAnsweredAfterBackup: boolean;
  let picturesAtBackup: number;

  beforeAll(async () => {
    tmp = tempDir('lapsebox-backup-');
    port = await freePort();
    const closedPort = await freePort();
    const etc = path.join(tmp.dir, 'old', 'etc');
    fs.mkdirSync(path.join(etc, 'keys'), { recursive: true });
    fs.writeFileSync(path.join(etc, 'keys', 'hq_ed25519'), '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n', { mode: 0o600 });
    outsideKey = path.join(tmp.dir, 'elsewhere', 'spare_ed25519');
    fs.mkdirSync(path.dirname(outsideKey));
    fs.writeFileSync(outsideKey, 'spare key\n', { mode: 0o600 });
    oldConfig = path.join(etc, 'lapsebox.yaml');
    oldText = `# Bridge, north bank: this comment must survive a move
appliance:
  id: bridge-north        # names this box on the central server
  name: Bridge, north bank
  timezone: Europe/Paris
storage:
  dataDir: data
web: { host: 127.0.0.1, port: ${port} }
sources:
  - id: cam
    camera: { driver: testpattern, width: 320, height: 240, timeout: 10s }
    schedule: { every: 1s }
sync:
  targets:
    - id: hq
      type: sftp
      host: 127.0.0.1
      port: ${closedPort}
      username: box
      privateKey: keys/hq_ed25519   # inside the config folder: goes in the archive
      hostKey: "SHA256:${'A'.repeat(43)}"
      remoteDir: /srv/timelapse
    - id: spare
      type: sftp
      host: 127.0.0.1
      port: ${closedPort}
      username: box
      privateKey: ${outsideKey}
      hostKey: "SHA256:${'A'.repeat(43)}"
      remoteDir: /srv/timelapse
`;
    fs.writeFileSync(oldConfig, oldText);
    oldData = path.join(etc, 'data');
    const run = async (args: string[], input?: string) => {
      const result = await cli([...args, '--config', oldConfig], input === undefined ? {} : { input });
      if (result.code !== 0) throw new Error(`lapsebox ${args.join(' ')}: ${result.stderr}`);
    };
    for (const [name, profile] of [['anna', 'maintainer'], ['dora', 'director'], ['carl', 'customer']] as const) {
      await run(['users', 'add', name, '--profile', profile, '--password-stdin'], PASSWORDS[name]);
    }
    await run(['groups', 'add', 'site-office']);
    await run(['groups', 'member', 'site-office', 'carl']);
    await run(['groups', 'grant', 'site-office', 'cam', '--level', 'download']);
    await run(['users', 'grant', 'carl', 'cam']);
    await run(['users', 'email', 'carl', 'carl@client.example']);
    // Carl reads the UI in French (a choice made in the UI: PUT /api/me/language).
    const setup = new Database(path.join(oldData, 'lapsebox.db'));
    setup.prepare("UPDATE users SET language = 'fr' WHERE username = 'carl'").run();
    setup.close();

    const daemon = new DaemonProcess(oldConfig, port);
    try {
      await daemon.start();
      const db = path.join(oldData, 'lapsebox.db');
      await waitFor('pictures and queued uploads', () => count(db, 'SELECT count(*) AS n FROM pictures') >= 2 && count(db, 'SELECT count(*) AS n FROM outbox') >= 2);
      archive = path.join(tmp.dir, 'bridge-north.tar.gz');
      backupText = await cli(['backup', archive, '--config', oldConfig]);
      backupJson = await cli(['backup', path.join(tmp.dir, 'json.tar.gz'), '--json', '--config', oldConfig]);
      daemonAnsweredAfterBackup = (await fetch(`${daemon.baseUrl}/healthz`)).status === 200;
    } finally {
      await daemon.stop();
    }
    picturesAtBackup = count(path.join(oldData, 'lapsebox.db'), 'SELECT count(*) AS n FROM pictures');
  }, 60_000);

  afterAll(() => tmp.cleanup());

  /** Restores the archive into a folder of its own: `<name>/etc/lapsebox.yaml` and `<name>/data`. */
  async function restoreInto(name: string, args: string[] = [], file = archive, env: NodeJS.ProcessEnv = {}) {
    const configFile = path.join(tmp.dir, name, 'etc', 'lapsebox.yaml');
    const dataDir = path.join(tmp.dir, name, 'data');
    const result = await cli(['restore', file, '--config', configFile, '--data-dir', dataDir, ...args], { env });
    return { configFile, dataDir, result };
  }

  it('backs up the setup of a running daemon into a private archive, and leaves out its pictures and queue', async () => {
    expect(backupText.stderr).toBe('');
    expect(backupText.code).toBe(0);
    expect(daemonAnsweredAfterBackup).toBe(true);
    expect(backupText.stdout).toContain(`wrote ${archive}`);
    expect(backupText.stdout).toContain('setup: 3 users, 1 group, 2 grants');
    expect(backupText.stdout).toContain('config/keys/hq_ed25519 (sync.targets[0].privateKey)');
    expect(backupText.stdout).toMatch(new RegExp(`not included.*\\n\\s+${outsideKey} \\(sync.targets\\[1\\].privateKey\\): outside the config folder`));
    expect(backupText.stdout).toContain('it holds password hashes and private keys');
    expect(fs.statSync(archive).mode & 0o777).toBe(0o600);

    const summary = JSON.parse(backupJson.stdout) as { counts: unknown; entries: { name: string }[]; leftOut: Record<string, number>; schemaVersion: number };
    expect(summary.counts).toEqual({ users: 3, groups: 1, grants: 2 });
    expect(summary.schemaVersion).toBe(MIGRATIONS.length);
    expect(summary.leftOut['pictures']).toBeGreaterThanOrEqual(2);
    expect(summary.leftOut['outbox']).toBeGreaterThanOrEqual(2);
    // Left out of the copy only: the box itself still has every picture.
    expect(picturesAtBackup).toBeGreaterThanOrEqual(summary.leftOut['pictures']!);

    const entries = await readEntries(archive);
    expect(entries.map((e) => e.path)).toEqual(['manifest.json', 'config/lapsebox.yaml', 'config/keys/hq_ed25519', 'setup.db']);
    expect(entries[1]!.data!.toString()).toBe(oldText);
    const manifest = JSON.parse(entries[0]!.data!.toString()) as { appliance: { id: string }; files: { name: string; sha256: string }[] };
    expect(manifest.appliance.id).toBe('bridge-north');
    for (const e of entries.slice(1)) expect(manifest.files.find((f) => f.name === e.path)!.sha256).toBe(createHash('sha256').update(e.data!).digest('hex'));

    const copy = path.join(tmp.dir, 'setup-copy.db');
    fs.writeFileSync(copy, entries[3]!.data!);
    for (const table of ['pictures', 'picture_days', 'outbox', 'source_state', 'events', 'health_samples']) {
      expect([table, count(copy, `SELECT count(*) AS n FROM ${table}`)]).toEqual([table, 0]);
    }
    expect(count(copy, 'SELECT count(*) AS n FROM users')).toBe(3);
    expect(count(copy, `SELECT count(*) AS n FROM audit WHERE action NOT LIKE 'user.%' AND action NOT LIKE 'group.%'`)).toBe(0);
  });

  it('backup refuses to overwrite an existing FILE without --force', async () => {
    const file = path.join(tmp.dir, 'taken.tar.gz');
    fs.writeFileSync(file, 'something else');
    const refused = await cli(['backup', file, '--config', oldConfig]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file} exists; choose another name, or add --force to replace it`);
    expect(fs.readFileSync(file, 'utf8')).toBe('something else');
    expect(fs.readdirSync(tmp.dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    const forced = await cli(['backup', file, '--force', '--config', oldConfig]);
    expect(forced.code).toBe(0);
    expect((await readEntries(file)).map((e) => e.path)).toContain('setup.db');
  });

  it('restores into a fresh config path and data folder: same setup, config kept byte for byte, and the users log in', async () => {
    const { configFile, dataDir, result } = await restoreInto('fresh');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('restored the setup of appliance bridge-north');
    expect(result.stdout).toMatch(new RegExp(`not installed:\\n\\s+${outsideKey} \\(sync.targets\\[1\\].privateKey\\): outside ${path.dirname(configFile)}, so not in the archive`));

    expect(fs.readFileSync(configFile, 'utf8')).toBe(oldText.replace('dataDir: data', `dataDir: ${dataDir}`));
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o640);
    const key = path.join(path.dirname(configFile), 'keys', 'hq_ed25519');
    expect(fs.readFileSync(key, 'utf8')).toBe(fs.readFileSync(path.join(path.dirname(oldConfig), 'keys', 'hq_ed25519'), 'utf8'));
    expect(fs.statSync(key).mode & 0o777).toBe(0o600);

    expect(setupRows(dataDir)).toEqual(setupRows(oldData));
    const db = path.join(dataDir, 'lapsebox.db');
    expect(count(db, 'SELECT count(*) AS n FROM pictures')).toBe(0);
    expect(count(db, 'SELECT count(*) AS n FROM outbox')).toBe(0);
    expect(count(db, `SELECT count(*) AS n FROM audit WHERE action = 'setup.restore' AND target = 'bridge-north.tar.gz'`)).toBe(1);
    expect(count(db, `SELECT count(*) AS n FROM audit WHERE action = 'user.add'`)).toBe(3);

    const daemon = new DaemonProcess(configFile, port);
    try {
      await daemon.start();
      const me = await fetch(`${daemon.baseUrl}/api/me`, { headers: basic('carl', PASSWORDS.carl) });
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ username: 'carl', profile: 'customer', sources: [{ id: 'cam', level: 'download' }] });
      expect((await fetch(`${daemon.baseUrl}/api/me`, { headers: basic('anna', PASSWORDS.anna) })).status).toBe(200);
      expect((await fetch(`${daemon.baseUrl}/api/me`, { headers: basic('anna', 'not-her-password') })).status).toBe(401);
      expect(fs.existsSync(path.join(dataDir, 'initial-admin-password'))).toBe(false);
    } finally {
      await daemon.stop();
    }
  });

  it('restores a backup made before users had e-mail addresses (schema 12): the column comes with the migration, empty', async () => {
    const entries = await readEntries(archive);
    const old = path.join(tmp.dir, 'schema-12.db');
    fs.writeFileSync(old, entries.find((e) => e.path === 'setup.db')!.data!);
    const db = new Database(old);
    // What a lapsebox of migration 12 wrote: no shares, no progress e-mails, no users.email, no coverage record, no phone renditions, no users.language, no pictures' exposure.
    db.exec(
      'DROP TABLE progress_emails; DROP TABLE progress_rhythms; DROP TABLE shares; ALTER TABLE users DROP COLUMN email; ALTER TABLE users DROP COLUMN language; ' +
        'ALTER TABLE pictures DROP COLUMN exposure; ALTER TABLE pictures DROP COLUMN ev; ' +
        'DROP TABLE schedule_history; DROP TABLE slot_gaps; DROP TABLE daemon_runs; ' +
        'ALTER TABLE videos DROP COLUMN phone_path; ALTER TABLE videos DROP COLUMN phone_size; ALTER TABLE videos DROP COLUMN phone_width; ALTER TABLE videos DROP COLUMN phone_height; ALTER TABLE videos DROP COLUMN phone_bitrate; ' +
        'PRAGMA user_version = 12; VACUUM',
    );
    db.close();
    const made = withConsistentManifest(entries.map((e) => (e.path === 'setup.db' ? { ...e, data: fs.readFileSync(old) } : e)), (m) => (m['schemaVersion'] = 12));
    const file = path.join(tmp.dir, 'schema-12.tar.gz');
    fs.writeFileSync(file, tarGz(made));
    const { dataDir, result } = await restoreInto('schema-12', [], file);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const restored = setupRows(dataDir);
    const before = setupRows(oldData);
    expect(restored.users).toEqual(before.users.map((u) => ({ ...(u as object), email: null, language: null })));
    expect(restored.grants).toEqual(before.grants);
    expect(count(path.join(dataDir, 'lapsebox.db'), 'SELECT count(*) AS n FROM progress_emails')).toBe(0);
  });

  it('restore refuses while a daemon runs on the target data folder', async () => {
    const { configFile, dataDir, result } = await restoreInto('running');
    expect(result.code).toBe(0);
    const daemon = new DaemonProcess(configFile, port);
    try {
      await daemon.start();
      const refused = await cli(['restore', archive, '--config', configFile, '--force']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`a lapsebox daemon is running on ${dataDir}; stop it first: sudo systemctl stop lapsebox`);
    } finally {
      await daemon.stop();
    }
  });

  it('restore refuses without --force when the target has users of its own; --force replaces them and keeps the pictures', async () => {
    const { configFile, dataDir } = await restoreInto('forced');
    const capture = await cli(['capture', 'cam', '--config', configFile]);
    expect(capture.code).toBe(0);
    expect((await cli(['users', 'add', 'eve', '--profile', 'director', '--config', configFile])).code).toBe(0);
    const edited = `${fs.readFileSync(configFile, 'utf8')}# edited on the new box\n`;
    fs.writeFileSync(configFile, edited);

    const refused = await cli(['restore', archive, '--config', configFile, '--data-dir', dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the config file ${configFile}, which differs from the archive's`);
    expect(refused.stderr).toMatch(/the 4 users of .* \(anna, carl, dora, eve\)/);
    expect(refused.stderr).toContain('add --force to replace them');
    expect(fs.readFileSync(configFile, 'utf8')).toBe(edited);
    expect(setupRows(dataDir).users.map((u) => (u as { username: string }).username)).toContain('eve');

    const forced = await cli(['restore', archive, '--config', configFile, '--data-dir', dataDir, '--force']);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    expect(setupRows(dataDir)).toEqual(setupRows(oldData));
    expect(count(path.join(dataDir, 'lapsebox.db'), 'SELECT count(*) AS n FROM pictures')).toBe(1);
    const kept = fs.readdirSync(path.dirname(configFile)).filter((n) => n.startsWith('lapsebox.yaml.before-restore-'));
    expect(kept).toHaveLength(1);
    expect(fs.readFileSync(path.join(path.dirname(configFile), kept[0]!), 'utf8')).toBe(edited);
    expect(forced.stdout).toContain(`the previous one is kept as ${path.join(path.dirname(configFile), kept[0]!)}`);
  });

  it('restore replaces a new box (the example config, only the generated admin) without --force, and removes the admin password file', async () => {
    const dataDir = path.join(tmp.dir, 'first-start', 'data');
    const etc = path.join(tmp.dir, 'first-start', 'etc');
    const example = fs.readFileSync(path.join(ROOT, 'config', 'lapsebox.example.yaml'), 'utf8');
    fs.mkdirSync(etc, { recursive: true });
    fs.writeFileSync(path.join(etc, 'lapsebox.yaml'), example); // as scripts/install.sh leaves it
    const store = openRepositories(dataDir);
    try {
      expect(await new UsersService(store.users, store.audit).ensureMaintainer(dataDir)).toMatchObject({ username: 'admin' });
    } finally {
      store.close();
    }
    const { result } = await restoreInto('first-start');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('replaced: admin');
    expect(fs.existsSync(path.join(dataDir, 'initial-admin-password'))).toBe(false);
    expect(setupRows(dataDir).users).toEqual(setupRows(oldData).users);
    const kept = fs.readdirSync(etc).filter((n) => n.startsWith('lapsebox.yaml.before-restore-'));
    expect(kept.map((n) => fs.readFileSync(path.join(etc, n), 'utf8'))).toEqual([example]);
  });

  describe('files the user running the command may not use', () => {
    let shared: ReturnType<typeof tempDir>;
    beforeAll(() => {
      // Open to every user, unlike mkdtemp's 0700 folders.
      shared = tempDir('lapsebox-backup-shared-');
      fs.chmodSync(shared.dir, 0o755);
    });
    afterAll(() => shared.cleanup());

    it('names the lapsebox user and a folder it can write when sudo lapsebox backup cannot write there', () => {
      const denied = Object.assign(new Error("EACCES: permission denied, mkdtemp '/home/pi/.tmp-lapsebox-backup-XXXXXX'"), { code: 'EACCES' });
      expect(permissionError(denied, { access: 'write', path: '/home/pi', file: '/home/pi/bridge-north.tar.gz', user: 'lapsebox' })?.message).toBe(
        `the lapsebox user cannot write to /home/pi (sudo lapsebox runs as lapsebox): give a file in a folder it can write, such as ${path.join(os.tmpdir(), 'bridge-north.tar.gz')}`,
      );
      expect(permissionError(denied, { access: 'read', path: '/home/pi/bridge-north.tar.gz', user: 'lapsebox' })?.message).toBe(
        `the lapsebox user cannot read /home/pi/bridge-north.tar.gz (sudo lapsebox runs as lapsebox): put the archive where it can read it, such as ${path.join(os.tmpdir(), 'bridge-north.tar.gz')} (sudo cp /home/pi/bridge-north.tar.gz ${path.join(os.tmpdir(), 'bridge-north.tar.gz')} && sudo chown lapsebox: ${path.join(os.tmpdir(), 'bridge-north.tar.gz')}); nothing was written`,
      );
      expect(permissionError(Object.assign(new Error('no space'), { code: 'ENOSPC' }), { access: 'write', path: '/home/pi', file: 'x.tar.gz', user: 'lapsebox' })).toBeNull();
    });

    (asRoot ? it : it.skip)('backup into a folder the user may not write (0500) says so and where to write instead [needs root, to run as nobody]', async () => {
      const configFile = path.join(shared.dir, 'lapsebox.yaml');
      fs.writeFileSync(configFile, 'appliance: { id: locked-out }\nstorage: { dataDir: data }\n', { mode: 0o644 });
      const locked = path.join(shared.dir, 'locked');
      fs.mkdirSync(locked);
      fs.chownSync(locked, NOBODY.uid, NOBODY.gid);
      fs.chmodSync(locked, 0o500);
      const result = await cliAsNobody(['backup', path.join(locked, 'locked-out.tar.gz'), '--config', configFile]);
      expect(result.stderr).toContain(`nobody cannot write to ${locked} (permission denied): give a file in a folder it can write, such as ${path.join(os.tmpdir(), 'locked-out.tar.gz')}`);
      expect(result.stderr).not.toMatch(/EACCES/);
      expect(result.code).toBe(1);
      expect(fs.readdirSync(locked)).toEqual([]);
    });

    (asRoot ? it : it.skip)('restore of an archive the user may not read says so and where to put it [needs root, to run as nobody]', async () => {
      const file = path.join(shared.dir, 'private.tar.gz');
      fs.copyFileSync(archive, file);
      fs.chmodSync(file, 0o600); // root's
      const configFile = path.join(shared.dir, 'restored', 'lapsebox.yaml');
      const result = await cliAsNobody(['restore', file, '--config', configFile]);
      expect(result.stderr).toContain(`nobody cannot read ${file} (permission denied): put the archive where it can read it, such as ${path.join(os.tmpdir(), 'private.tar.gz')}`);
      expect(result.stderr).not.toMatch(/EACCES/);
      expect(result.code).toBe(1);
      expect(fs.existsSync(path.dirname(configFile))).toBe(false);
    });
  });

  (asRoot ? describe : describe.skip)('restore as root into folders of the daemon user [needs root, to give files away]', () => {
    /** `<name>/etc` and `<name>/data`, both owned by uid/gid 65534 as the daemon's user's would be. */
    function ownedFolders(name: string): { etc: string; data: string } {
      const etc = path.join(tmp.dir, name, 'etc');
      const data = path.join(tmp.dir, name, 'data');
      for (const dir of [etc, data]) {
        fs.mkdirSync(dir, { recursive: true });
        fs.chownSync(dir, NOBODY.uid, NOBODY.gid);
      }
      return { etc, data };
    }
    const ownerOf = (p: string) => {
      const st = fs.lstatSync(p);
      return { uid: st.uid, gid: st.gid };
    };

    it('gives the key folder it creates, and the key, to the data folder owner', async () => {
      const { etc } = ownedFolders('owned');
      const { configFile, result } = await restoreInto('owned');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(ownerOf(path.join(etc, 'keys'))).toEqual({ uid: NOBODY.uid, gid: NOBODY.gid });
      expect(fs.statSync(path.join(etc, 'keys')).mode & 0o777).toBe(0o750);
      expect(ownerOf(path.join(etc, 'keys', 'hq_ed25519'))).toEqual({ uid: NOBODY.uid, gid: NOBODY.gid });
      expect(ownerOf(configFile)).toEqual({ uid: 0, gid: NOBODY.gid });
    });

    it('replaces a symbolic link at a key path without taking the owner of the file it points to', async () => {
      const { etc } = ownedFolders('linked-key');
      const elsewhere = path.join(etc, 'other-owner');
      fs.writeFileSync(elsewhere, 'someone else\'s file\n');
      fs.chownSync(elsewhere, 4321, 4321);
      fs.mkdirSync(path.join(etc, 'keys'));
      fs.chownSync(path.join(etc, 'keys'), NOBODY.uid, NOBODY.gid);
      fs.symlinkSync(elsewhere, path.join(etc, 'keys', 'hq_ed25519'));
      const { result } = await restoreInto('linked-key', ['--force']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const key = path.join(etc, 'keys', 'hq_ed25519');
      expect(fs.lstatSync(key).isFile()).toBe(true);
      expect(ownerOf(key)).toEqual({ uid: NOBODY.uid, gid: NOBODY.gid });
      expect(fs.readFileSync(elsewhere, 'utf8')).toBe('someone else\'s file\n');
    });
  });

  describe('hostile archives: refused, nothing written', () => {
    const escape = `escape-${randomBytes(4).toString('hex')}`;
    const sentinel = () => path.join(tmp.dir, 'elsewhere', 'sentinel');
    // The restore's own temporary folder is made here (TMPDIR), so "config/../../x" would land in it.
    const privateTmp = () => path.join(tmp.dir, 'tmp');
    const cases: [string, (good: RawEntry[]) => Buffer | RawEntry[], RegExp][] = [
      ['absolute', (good) => withConsistentManifest([...good, { path: path.join(privateTmp(), escape), data: Buffer.from('x') }]), /: an absolute path/],
      ['dotdot', (good) => withConsistentManifest([...good, { path: `config/../../${escape}`, data: Buffer.from('x') }]), /"config\/..\/..\/escape-\w+": a ".." segment/],
      ['symlink', (good) => withConsistentManifest(good.map((e) => (e.path === 'config/keys/hq_ed25519' ? { path: e.path, type: 'SymbolicLink', linkpath: sentinel() } : e))), /"config\/keys\/hq_ed25519": a symbolic link \(to ".*sentinel"\)/],
      ['hardlink', (good) => withConsistentManifest([...good, { path: 'config/passwd', type: 'Link', linkpath: '/etc/passwd' }]), /"config\/passwd": a hard link/],
      ['fifo', (good) => withConsistentManifest([...good, { path: 'config/pipe', type: 'FIFO' }]), /"config\/pipe": a FIFO/],
      ['unknown', (good) => withConsistentManifest([...good, { path: 'notes.txt', data: Buffer.from('hello') }]), /"notes.txt": not a name a lapsebox backup holds/],
      ['duplicate', (good) => withConsistentManifest([...good, good.find((e) => e.path === 'setup.db')!]), /"setup.db": in the archive more than once/],
      ['backslash', (good) => withConsistentManifest([...good, { path: 'config\\..\\x', data: Buffer.from('x') }]), /a backslash in the name/],
      ['checksum', (good) => good.map((e) => (e.path === 'config/lapsebox.yaml' ? { ...e, data: Buffer.from(e.data!.toString().replace('north bank', 'south bank')) } : e)), /"config\/lapsebox.yaml" does not match its checksum in manifest.json/],
      ['size', (good) => good.map((e) => (e.path === 'setup.db' ? { ...e, data: e.data!.subarray(0, 4096) } : e)), /"setup.db" has 4096 bytes, manifest.json says \d+/],
      ['truncated', () => fs.readFileSync(archive).subarray(0, Math.floor(fs.statSync(archive).size / 2)), /is not a readable lapsebox backup \(the compressed data is cut short/],
      ['newer-schema', (good) => withConsistentManifest(good, (m) => (m['schemaVersion'] = 999)), /schema version 999, newer than this lapsebox knows/],
      ['newer-format', (good) => withConsistentManifest(good, (m) => (m['formatVersion'] = 7)), /format version is 7; this lapsebox reads version 1/],
      ['no-manifest', (good) => good.filter((e) => e.path !== 'manifest.json'), /no manifest.json: not a lapsebox backup/],
      ['broken-config', (good) => withConsistentManifest(good.map((e) => (e.path === 'config/lapsebox.yaml' ? { ...e, data: Buffer.from('appliance: { id: Not Valid }\n') } : e))), /the configuration in the archive is not valid on this box[^]*appliance.id/],
    ];

    it.each(cases)('%s', async (name, make, message) => {
      fs.writeFileSync(sentinel(), 'untouched');
      fs.mkdirSync(privateTmp(), { recursive: true });
      const made = make(await readEntries(archive));
      const file = path.join(tmp.dir, `hostile-${name}.tar.gz`);
      fs.writeFileSync(file, Buffer.isBuffer(made) ? made : tarGz(made));
      const { configFile, dataDir, result } = await restoreInto(path.join('hostile', name), [], file, { TMPDIR: privateTmp() });
      expect(result.stderr).toMatch(message);
      expect(result.code).toBe(1);
      expect(fs.existsSync(path.dirname(path.dirname(configFile)))).toBe(false);
      expect(fs.existsSync(dataDir)).toBe(false);
      expect(fs.readFileSync(sentinel(), 'utf8')).toBe('untouched');
      expect(fs.readdirSync(privateTmp())).toEqual([]); // no escape, and the temporary folder is gone
    });

    it('a key folder that leads outside the config folder (a symbolic link) is not written through', async () => {
      const etc = path.join(tmp.dir, 'hostile', 'linked', 'etc');
      fs.mkdirSync(etc, { recursive: true });
      const outside = path.join(tmp.dir, 'hostile', 'outside');
      fs.mkdirSync(outside);
      fs.symlinkSync(outside, path.join(etc, 'keys'));
      const { dataDir, result } = await restoreInto(path.join('hostile', 'linked'));
      expect(result.stderr).toContain(`${path.join(etc, 'keys', 'hq_ed25519')} leads outside ${etc} (through a symbolic link)`);
      expect(result.code).toBe(1);
      expect(fs.readdirSync(outside)).toEqual([]);
      expect(fs.readdirSync(etc)).toEqual(['keys']);
      expect(fs.existsSync(dataDir)).toBe(false);
    });
  });

  it('puts every table of the schema either in the setup or in the state a backup leaves out', () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = openDatabase(path.join(dir, 'lapsebox.db'));
      const tables = tableNames(db);
      db.close();
      const classified = new Set<string>([...SETUP_TABLES, ...STATE_TABLES, 'audit']);
      expect(tables.filter((t) => !classified.has(t))).toEqual([]);
    } finally {
      cleanup();
    }
  });

  it('exits 2 on bad usage', async () => {
    expect((await cli(['backup'])).code).toBe(2);
    expect((await cli(['restore'])).code).toBe(2);
    expect((await cli(['restore', archive, '--colour'])).code).toBe(2);
  });
});
