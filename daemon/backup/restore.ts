/**
 * `lapsebox restore FILE`: installs a backup's setup on this box. Everything is
 * read and checked first (the archive, the config in it, its database, the
 * target); only then are the setup tables replaced (one transaction), the files
 * the config names written beside it, and the config file last, each atomically.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseConfig, type LoadedConfig } from '../config/load';
import { commitFile, tempPathFor } from '../files/atomic';
import { DataLayout } from '../files/layout';
import { INITIAL_PASSWORD_FILE } from '../auth/users.service';
import { projectRoot } from '../package-info';
import type { AuditEntry } from '../store/audit.repository';
import { openRepositories } from '../store/repositories';
import { processUser } from './access';
import { extractArchive, inspectArchive } from './archive';
import { referencedFiles, relativeInside, withDataDir } from './config-files';
import { replaceSetup, targetUsers, type SetupCounts } from '../store/setup-copy';
import { prepareSetup } from './setup-database';
import { BackupError, CONFIG_ENTRY, configEntry, DATABASE_ENTRY, type Manifest } from './manifest';

export interface RestoreOptions {
  archive: string;
  /** The config file to write (it need not exist). */
  configFile: string;
  /** Put the data here instead of the archived config's storage.dataDir (written into the restored config). */
  dataDir?: string;
  force: boolean;
  /** Who the audit trail names. */
  actor: Pick<AuditEntry, 'actor' | 'address'>;
  /** Whether a daemon answers on the control socket of a data folder (throws when it cannot tell). */
  daemonRunning: (layout: DataLayout) => Promise<boolean>;
  now?: () => Date;
}

export interface RestoreSummary {
  archive: string;
  appliance: Manifest['appliance'];
  createdAt: string;
  lapsebox: string;
  configFile: string;
  /** Where the config file that was replaced was kept, if there was a different one. */
  previousConfig: string | null;
  dataDir: string;
  dataDirRewritten: boolean;
  counts: SetupCounts;
  /** Users of the target that the restore replaced. */
  replacedUsers: string[];
  removedInitialPassword: boolean;
  installed: { file: string; keys: string[]; previous: string | null }[];
  /** Files the restored config names that were not installed, and why (the person copies them). */
  notInstalled: { file: string; keys: string[]; why: string }[];
  warnings: string[];
}

interface Install {
  entry: string;
  dest: string;
  keys: string[];
}

const CONFIG_MODE = 0o640;
const KEY_MODE = 0o600;

/** `20260115T103000Z`: for the names of the files a restore keeps. */
function stamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export async function restoreBackup(options: RestoreOptions): Promise<RestoreSummary> {
  const now = (options.now ?? (() => new Date()))();
  const archive = path.resolve(options.archive);
  const configFile = path.resolve(options.configFile);
  const configDir = path.dirname(configFile);
  const manifest = await inspectArchive(archive);

  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'lapsebox-restore-')).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EACCES' && err.code !== 'EPERM') throw err;
    throw new BackupError(`${processUser()} cannot write to ${os.tmpdir()} for a temporary folder (permission denied): set TMPDIR to a folder it can write; nothing was written`);
  });
  try {
    await extractArchive(archive, work, manifest);
    const local = (entry: string) => path.join(work, ...entry.split('/'));

    // The config as it will be written, validated where it will live.
    let text = await fsp.readFile(local(CONFIG_ENTRY), 'utf8');
    if (options.dataDir !== undefined) text = withDataDir(text, path.resolve(options.dataDir));
    let loaded: LoadedConfig;
    try {
      loaded = parseConfig(text, configFile);
    } catch (err) {
      if (err instanceof ConfigError) throw new BackupError(`the configuration in the archive is not valid on this box; nothing was written:\n${err.message}`);
      throw err;
    }
    const dataDir = loaded.config.storage.dataDir;
    const layout = new DataLayout(dataDir);
    for (const running of [layout, ...currentLayout(configFile, dataDir)]) {
      if (await options.daemonRunning(running)) throw new BackupError(`a lapsebox daemon is running on ${running.dataDir}; stop it first: sudo systemctl stop lapsebox (nothing was written)`);
    }

    const setup = prepareSetup(local(DATABASE_ENTRY));
    const { installs, notInstalled, warnings } = await planFiles(loaded, configDir, manifest);
    const target = targetUsers(layout.database);
    const newConfig = Buffer.from(text, 'utf8');
    if (!options.force) await refuseReplacing({ configFile, newConfig, installs, local, dataDir, users: target.onlyGeneratedAdmin ? [] : target.users.map((u) => u.username), now });

    for (const folder of new Set([dataDir, configDir, ...installs.map((i) => path.dirname(i.dest))])) await assertWritable(folder);

    // Everything checked: install. The database first (one transaction), then the files, the config last.
    const owner = ownerOf(dataDir);
    if (!owner && process.getuid?.() === 0) {
      warnings.push(`the data folder ${dataDir} is new and owned by root: give it to the user the daemon runs as (sudo chown -R lapsebox:lapsebox ${dataDir})`);
    }
    const store = openRepositories(dataDir);
    let counts: SetupCounts;
    try {
      counts = replaceSetup(store, local(DATABASE_ENTRY), {
        at: now.getTime(),
        ...options.actor,
        action: 'setup.restore',
        target: path.basename(archive),
        newValue: { appliance: manifest.appliance.id, createdAt: manifest.createdAt, users: setup.users, groups: setup.groups, grants: setup.grants },
      });
    } finally {
      store.close();
    }
    for (const suffix of ['', '-wal', '-shm']) await giveTo(`${layout.database}${suffix}`, owner);
    // The generated admin is gone with the old users; its password file would only mislead.
    const passwordFile = path.join(dataDir, INITIAL_PASSWORD_FILE);
    const removedInitialPassword = fs.existsSync(passwordFile);
    if (removedInitialPassword) await fsp.rm(passwordFile, { force: true });

    // The config folder is made like the config file (root's, the daemon's group); the folders for keys inside it like the keys.
    const configOwner = owner && { uid: process.getuid?.() ?? owner.uid, gid: owner.gid };
    await makeFolders(configDir, configOwner);
    const installed: RestoreSummary['installed'] = [];
    for (const install of installs) {
      const data = await fsp.readFile(local(install.entry));
      const previous = await writeKeepingPrevious(install.dest, data, KEY_MODE, owner, now);
      installed.push({ file: install.dest, keys: install.keys, previous });
    }
    const previousConfig = await writeKeepingPrevious(configFile, newConfig, CONFIG_MODE, configOwner, now);

    return {
      archive,
      appliance: manifest.appliance,
      createdAt: manifest.createdAt,
      lapsebox: manifest.lapsebox,
      configFile,
      previousConfig,
      dataDir,
      dataDirRewritten: options.dataDir !== undefined,
      counts,
      replacedUsers: target.users.map((u) => u.username),
      removedInitialPassword,
      installed,
      notInstalled,
      warnings,
    };
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/** Without --force, a restore replaces nothing but a new box (the example config, the generated admin): refuses, saying what it would replace. */
async function refuseReplacing(p: { configFile: string; newConfig: Buffer; installs: Install[]; local: (entry: string) => string; dataDir: string; users: string[]; now: Date }): Promise<void> {
  const wouldReplace: string[] = [];
  const oldConfig = await fsp.readFile(p.configFile).catch(() => null);
  // scripts/install.sh puts the example in place on a new box: replacing it loses nothing (it is kept anyway).
  const example = await fsp.readFile(path.join(projectRoot(), 'config', 'lapsebox.example.yaml')).catch(() => null);
  if (oldConfig && !oldConfig.equals(p.newConfig) && !(example && oldConfig.equals(example))) {
    wouldReplace.push(`the config file ${p.configFile}, which differs from the archive's`);
  }
  for (const install of p.installs) {
    const before = await fsp.readFile(install.dest).catch(() => null);
    if (before && !before.equals(await fsp.readFile(p.local(install.entry)))) wouldReplace.push(`${install.dest} (${install.keys.join(', ')}), which differs from the archive's`);
  }
  if (p.users.length > 0) wouldReplace.push(`the ${p.users.length} user${p.users.length === 1 ? '' : 's'} of ${p.dataDir} (${p.users.join(', ')}) with their groups and grants`);
  if (wouldReplace.length === 0) return;
  throw new BackupError(
    `not restoring, it would replace:\n${wouldReplace.map((w) => `  - ${w}`).join('\n')}\nadd --force to replace them (a replaced config file or key is kept beside it as <name>.before-restore-${stamp(p.now)}); nothing was written`,
  );
}

/** The data folder of the config file being replaced, when it names another one: its daemon must be stopped too. */
function currentLayout(configFile: string, dataDir: string): DataLayout[] {
  if (!fs.existsSync(configFile)) return [];
  try {
    const current = loadConfig(configFile).config.storage.dataDir;
    return current === dataDir ? [] : [new DataLayout(current)];
  } catch {
    return [];
  }
}

/**
 * Which archived files go where: each file the restored config names inside its
 * folder, when the archive has it. The destination is checked again once resolved:
 * no folder on the way may lead out of the config folder (a symbolic link).
 */
async function planFiles(loaded: LoadedConfig, configDir: string, manifest: Manifest): Promise<{ installs: Install[]; notInstalled: RestoreSummary['notInstalled']; warnings: string[] }> {
  const inArchive = new Map(manifest.files.filter((f) => f.name !== CONFIG_ENTRY && f.name.startsWith('config/')).map((f) => [f.name, f]));
  const installs: Install[] = [];
  const notInstalled: RestoreSummary['notInstalled'] = [];
  for (const ref of referencedFiles(loaded.config)) {
    const relative = relativeInside(configDir, ref.file);
    const entry = relative === null ? undefined : configEntry(relative);
    if (relative === null || entry === undefined || !inArchive.has(entry)) {
      const why = relative === null ? `outside ${configDir}, so not in the archive` : 'not in the archive (it was outside the config folder or missing on the old box)';
      notInstalled.push({ file: ref.file, keys: ref.keys, why: `${why}; ${fs.existsSync(ref.file) ? 'a file is there already' : 'copy it there yourself'}` });
      continue;
    }
    await assertInside(configDir, ref.file);
    installs.push({ entry, dest: ref.file, keys: ref.keys });
    inArchive.delete(entry);
  }
  const warnings = [...inArchive.keys()].map((name) => `${name} in the archive was not installed: the restored config does not name it inside ${configDir}`);
  return { installs, notInstalled, warnings };
}

/** Refuses a destination whose real location, through any symbolic link on the way, is outside `folder`. */
async function assertInside(folder: string, dest: string): Promise<void> {
  const realFolder = await realExisting(folder);
  const parent = await realExisting(path.dirname(dest));
  if (relativeInside(realFolder, path.join(parent, path.basename(dest))) === null) {
    throw new BackupError(`${dest} leads outside ${folder} (through a symbolic link); refusing to write there; nothing was written`);
  }
}

/** The real path of the deepest part of `p` that exists, with the rest appended. */
async function realExisting(p: string): Promise<string> {
  const resolved = path.resolve(p);
  try {
    return await fsp.realpath(resolved);
  } catch {
    const parent = path.dirname(resolved);
    return parent === resolved ? resolved : path.join(await realExisting(parent), path.basename(resolved));
  }
}

/** A folder (or, when it does not exist yet, the folder it would be made in) this process may write to. */
async function assertWritable(folder: string): Promise<void> {
  let existing = path.resolve(folder);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  try {
    await fsp.access(existing, fs.constants.W_OK);
  } catch {
    throw new BackupError(`cannot write to ${existing} (permission denied): run the restore with sudo; nothing was written`);
  }
}

interface Owner {
  uid: number;
  gid: number;
}

/** The owner of `p` (through a symbolic link: the data folder may be one). */
function ownerOf(p: string): Owner | undefined {
  try {
    const stat = fs.statSync(p);
    return { uid: stat.uid, gid: stat.gid };
  } catch {
    return undefined;
  }
}

/** The owner of the regular file at `p` itself; a symbolic link there is replaced, not followed, so it has none. */
function fileOwnerOf(p: string): Owner | undefined {
  try {
    const stat = fs.lstatSync(p);
    return stat.isFile() ? { uid: stat.uid, gid: stat.gid } : undefined;
  } catch {
    return undefined;
  }
}

/** Only root can give files away; the daemon's user (the data folder's owner) must be able to read what a sudo restore wrote. */
async function giveTo(file: string, owner: Owner | undefined): Promise<void> {
  if (owner && process.getuid?.() === 0 && fs.existsSync(file)) await fsp.chown(file, owner.uid, owner.gid);
}

/** Makes the folder `dir` and those missing above it, each given to `owner` like the files put in them (a root-owned keys/ would lock the daemon out). */
async function makeFolders(dir: string, owner: Owner | undefined): Promise<void> {
  const first = await fsp.mkdir(dir, { recursive: true, mode: 0o750 });
  if (first === undefined) return;
  // From the deepest folder made up to the first: `first` and every folder between it and `dir`.
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    await giveTo(d, owner);
    if (d === path.resolve(first) || d === path.dirname(d)) break;
  }
}

/**
 * Writes `data` to `dest` atomically with `mode`; a different file already there is
 * kept as `<dest>.before-restore-<time>` (a hard link: same owner and mode). Returns that name.
 */
async function writeKeepingPrevious(dest: string, data: Buffer, mode: number, owner: Owner | undefined, now: Date): Promise<string | null> {
  await makeFolders(path.dirname(dest), owner);
  const before = await fsp.readFile(dest).catch(() => null);
  let kept: string | null = null;
  if (before && !before.equals(data)) {
    for (let n = 1; kept === null; n++) {
      const name = `${dest}.before-restore-${stamp(now)}${n > 1 ? `-${n}` : ''}`;
      kept = await fsp.link(dest, name).then(
        () => name,
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'EEXIST' && n < 100) return null;
          throw err;
        },
      );
    }
  }
  const previousOwner = before ? fileOwnerOf(dest) : undefined;
  const temp = tempPathFor(dest);
  try {
    await fsp.writeFile(temp, data, { flag: 'wx', mode });
    await fsp.chmod(temp, mode);
    await giveTo(temp, previousOwner ?? owner);
    await commitFile(temp, dest, { replace: true });
  } catch (err) {
    await fsp.rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  return kept;
}
