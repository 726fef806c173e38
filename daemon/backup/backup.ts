/**
 * `lapsebox backup FILE`: the box's setup in one archive, to move it to a
 * replacement box. Works with the daemon running (the database is copied with
 * SQLite's online backup API, never as a file).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, parseConfig, type LoadedConfig } from '../config/load';
import { DataLayout } from '../files/layout';
import { packageVersion } from '../package-info';
import { permissionError } from './access';
import { writeArchive } from './archive';
import { referencedFiles, relativeInside } from './config-files';
import type { SetupCounts } from '../store/setup-copy';
import { snapshotSetup } from './setup-database';
import { BackupError, CONFIG_ENTRY, configEntry, DATABASE_ENTRY, digestFile, FORMAT, FORMAT_VERSION, MANIFEST_ENTRY, type Manifest, type ManifestFile } from './manifest';

export interface BackupOptions {
  configFile: string;
  /** Where the archive goes. */
  file: string;
  /** Replace an existing archive. */
  force: boolean;
  now?: () => Date;
}

/** A file the config names that is not in the archive, and why. */
export interface FileLeftOut {
  keys: string[];
  file: string;
  why: 'outside the config folder' | 'missing' | 'not a regular file';
}

export interface BackupSummary {
  file: string;
  bytes: number;
  appliance: { id: string; name: string };
  lapsebox: string;
  createdAt: string;
  schemaVersion: number;
  counts: SetupCounts;
  /** Entries of the archive, with the config keys naming each file. */
  entries: { name: string; size: number; keys?: string[] }[];
  notIncluded: FileLeftOut[];
  /** Rows of this box's own state left out, per table. */
  leftOut: Record<string, number>;
}

/** The config file's bytes, and the configuration read from exactly those bytes. */
function readConfig(file: string): { bytes: Buffer; loaded: LoadedConfig } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return { bytes: Buffer.alloc(0), loaded: loadConfig(file) }; // throws the loader's own error
  }
  return { bytes, loaded: parseConfig(bytes.toString('utf8'), file) };
}

export async function createBackup(options: BackupOptions): Promise<BackupSummary> {
  const target = path.resolve(options.file);
  const { bytes, loaded } = readConfig(options.configFile);
  const { config } = loaded;
  const folder = path.dirname(target);
  // `sudo lapsebox` runs as the lapsebox user, which may not enter the folder named (a private home).
  const denied = (err: unknown) => permissionError(err, { access: 'write', path: folder, file: target });
  const existing = await fsp.stat(target).catch((err: unknown) => {
    const error = denied(err);
    if (error) throw error;
    return null;
  });
  if (existing?.isDirectory()) throw new BackupError(`${target} is a folder; give the archive's file name, such as ${path.join(target, `${config.appliance.id}.tar.gz`)}`);
  if (existing && !options.force) throw new BackupError(`${target} exists; choose another name, or add --force to replace it`);
  if (!(await fsp.stat(folder).catch(() => null))?.isDirectory()) throw new BackupError(`the folder ${folder} does not exist`);

  // Everything is staged in a private folder beside the archive (the database copy
  // can be large; /tmp may be RAM), and removed whatever happens.
  const staging = await fsp.mkdtemp(path.join(folder, '.tmp-lapsebox-backup-')).catch((err: unknown) => {
    throw denied(err) ?? err;
  });
  try {
    const snapshot = await snapshotSetup(new DataLayout(config.storage.dataDir).database, path.join(staging, DATABASE_ENTRY));
    await fsp.chmod(path.join(staging, DATABASE_ENTRY), 0o600);
    await fsp.mkdir(path.join(staging, 'config'), { mode: 0o700 });
    await fsp.writeFile(path.join(staging, ...CONFIG_ENTRY.split('/')), bytes, { mode: 0o600 });

    const configDir = path.dirname(loaded.file);
    const named: { name: string; keys: string[] }[] = [];
    const notIncluded: FileLeftOut[] = [];
    for (const ref of referencedFiles(config)) {
      const relative = relativeInside(configDir, ref.file);
      if (relative === null) {
        notIncluded.push({ ...ref, why: 'outside the config folder' });
        continue;
      }
      const stat = await fsp.stat(ref.file).catch(() => null);
      if (!stat) {
        notIncluded.push({ ...ref, why: 'missing' });
        continue;
      }
      if (!stat.isFile()) {
        notIncluded.push({ ...ref, why: 'not a regular file' });
        continue;
      }
      const name = configEntry(relative);
      if (name === CONFIG_ENTRY) throw new BackupError(`${ref.keys.join(', ')} names ${ref.file}, which has the name the archive gives the config file; rename it`);
      const staged = path.join(staging, ...name.split('/'));
      await fsp.mkdir(path.dirname(staged), { recursive: true, mode: 0o700 });
      await fsp.copyFile(ref.file, staged);
      await fsp.chmod(staged, 0o600);
      named.push({ name, keys: ref.keys });
    }

    const files: ManifestFile[] = [];
    for (const { name, keys } of [{ name: CONFIG_ENTRY, keys: undefined }, ...named, { name: DATABASE_ENTRY, keys: undefined }]) {
      files.push({ name, ...(await digestFile(path.join(staging, ...name.split('/')))), ...(keys ? { keys } : {}) });
    }
    const manifest: Manifest = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      lapsebox: packageVersion(),
      appliance: { id: config.appliance.id, name: config.appliance.name ?? config.appliance.id },
      createdAt: (options.now ?? (() => new Date()))().toISOString(),
      schemaVersion: snapshot.schemaVersion,
      counts: snapshot.counts,
      files,
    };
    await fsp.writeFile(path.join(staging, MANIFEST_ENTRY), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    await writeArchive(staging, [MANIFEST_ENTRY, ...files.map((f) => f.name)], target, options.force);
    return {
      file: target,
      bytes: (await fsp.stat(target)).size,
      appliance: manifest.appliance,
      lapsebox: manifest.lapsebox,
      createdAt: manifest.createdAt,
      schemaVersion: manifest.schemaVersion,
      counts: manifest.counts,
      entries: files.map((f) => ({ name: f.name, size: f.size, ...(f.keys ? { keys: f.keys } : {}) })),
      notIncluded,
      leftOut: snapshot.leftOut,
    };
  } finally {
    await fsp.rm(staging, { recursive: true, force: true });
  }
}
