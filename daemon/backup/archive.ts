/**
 * The backup archive: a .tar.gz of a manifest, the config folder's files and the
 * setup database. Writing is crash-safe and private (0600: it holds password
 * hashes and private keys). Reading trusts nothing: every entry is listed and
 * checked against the manifest before one is extracted, and extraction only ever
 * goes to a private folder, with node-tar's own path guards and a filter that lets
 * through nothing but the regular files the manifest names.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { commitFile, tempPathFor } from '../files/atomic';
import { MIGRATIONS } from '../store/migrations';
import { permissionError } from './access';
import {
  BackupError,
  CONFIG_ENTRY,
  CONFIG_FOLDER,
  DATABASE_ENTRY,
  digestFile,
  FORMAT_VERSION,
  MANIFEST_ENTRY,
  manifestSchema,
  MAX_MANIFEST_BYTES,
  unsafeName,
  type Manifest,
} from './manifest';
import { messageOf } from '../error-causes';

/**
 * Writes `names` (files under `folder`) as a gzipped tar to `file`: a temporary
 * name beside it (created 0600), fsynced, then renamed. Without `replace`, an
 * existing `file` is never overwritten.
 */
export async function writeArchive(folder: string, names: string[], file: string, replace: boolean): Promise<void> {
  const temp = tempPathFor(file);
  try {
    const handle = await fs.open(temp, 'wx', 0o600);
    await pipeline(tar.create({ gzip: true, cwd: folder, portable: true, noDirRecurse: true }, names), handle.createWriteStream());
    await fs.chmod(temp, 0o600);
    await commitFile(temp, file, { replace });
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupError(`${file} exists; choose another name, or add --force to replace it`);
    throw err;
  }
}

const REGULAR = new Set(['File', 'OldFile', 'ContiguousFile']);

function typeProblem(type: string, linkpath: string | undefined): string | null {
  if (REGULAR.has(type) || type === 'Directory') return null;
  if (type === 'SymbolicLink') return `a symbolic link (to ${JSON.stringify(linkpath ?? '')}): a backup holds regular files only`;
  if (type === 'Link') return `a hard link (to ${JSON.stringify(linkpath ?? '')}): a backup holds regular files only`;
  if (type === 'CharacterDevice' || type === 'BlockDevice') return 'a device file: a backup holds regular files only';
  if (type === 'FIFO') return 'a FIFO: a backup holds regular files only';
  return `an entry of type ${type}: a backup holds regular files only`;
}

function expectedName(name: string, directory: boolean): boolean {
  const bare = name.replace(/\/$/, '');
  if (directory) return bare === CONFIG_FOLDER || bare.startsWith(`${CONFIG_FOLDER}/`);
  return bare === MANIFEST_ENTRY || bare === DATABASE_ENTRY || bare.startsWith(`${CONFIG_FOLDER}/`);
}

/**
 * Reads the whole archive without writing anything, and returns its manifest when
 * every entry is a safe, expected, unique regular file whose size and SHA-256 are
 * the manifest's. Otherwise throws a BackupError listing every problem found.
 */
export async function inspectArchive(file: string): Promise<Manifest> {
  const stat = await fs.stat(file).catch((err: NodeJS.ErrnoException) => {
    throw permissionError(err, { access: 'read', path: file }) ?? new BackupError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  if (!stat.isFile()) throw new BackupError(`${file} is not a file`);
  const problems: string[] = [];
  const found = new Map<string, { size: number; sha256: string }>();
  const pending: Promise<void>[] = [];
  let manifestText: string | undefined;
  try {
    await tar.list({
      file,
      strict: true,
      onReadEntry: (entry) => {
        const name = entry.path;
        const directory = entry.type === 'Directory';
        const why =
          unsafeName(name) ??
          typeProblem(entry.type, entry.linkpath) ??
          (expectedName(name, directory) ? null : 'not a name a lapsebox backup holds (manifest.json, setup.db, config/...)') ??
          (!directory && found.has(name) ? 'in the archive more than once' : null);
        if (why !== null || directory) {
          if (why !== null) problems.push(`${JSON.stringify(name)}: ${why}`);
          entry.resume();
          return;
        }
        found.set(name, { size: -1, sha256: '' });
        const hash = createHash('sha256');
        const kept: Buffer[] = [];
        let size = 0;
        pending.push(
          new Promise<void>((resolve) => {
            entry.on('data', (chunk: Buffer) => {
              hash.update(chunk);
              size += chunk.length;
              if (name === MANIFEST_ENTRY && size <= MAX_MANIFEST_BYTES) kept.push(chunk);
            });
            entry.on('end', () => {
              found.set(name, { size, sha256: hash.digest('hex') });
              if (name === MANIFEST_ENTRY) manifestText = size <= MAX_MANIFEST_BYTES ? Buffer.concat(kept).toString('utf8') : undefined;
              resolve();
            });
          }),
        );
      },
    });
  } catch (err) {
    throw permissionError(err, { access: 'read', path: file }) ?? new BackupError(`${file} is not a readable lapsebox backup (${readError(err)}): is it complete and a .tar.gz made by "lapsebox backup"? Nothing was written`);
  }
  await Promise.all(pending);
  if (problems.length === 0) problems.push(...againstManifest(found, manifestText));
  if (problems.length > 0) throw new BackupError(`${file}: refused, nothing was written:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return manifestSchema.parse(JSON.parse(manifestText!));
}

function readError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'Z_BUF_ERROR' || e.code === 'Z_DATA_ERROR') return `the compressed data is ${e.code === 'Z_BUF_ERROR' ? 'cut short' : 'damaged'}: ${e.message}`;
  return e.message;
}

/** What is wrong between the entries found and the manifest, if anything. */
function againstManifest(found: Map<string, { size: number; sha256: string }>, text: string | undefined): string[] {
  if (!found.has(MANIFEST_ENTRY)) return ['no manifest.json: not a lapsebox backup'];
  if (text === undefined) return [`manifest.json is larger than ${MAX_MANIFEST_BYTES} bytes: not a lapsebox backup manifest`];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return [`manifest.json is not JSON: ${messageOf(err)}`];
  }
  const version = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === 'number' && version > FORMAT_VERSION) {
    return [`the archive's format version is ${version}; this lapsebox reads version ${FORMAT_VERSION}: restore it with the lapsebox version that made it, or a newer one`];
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) return [`manifest.json is not a lapsebox backup manifest: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`];
  const manifest = parsed.data;
  const problems: string[] = [];
  if (manifest.formatVersion !== FORMAT_VERSION) problems.push(`unknown format version ${manifest.formatVersion}`);
  if (manifest.schemaVersion > MIGRATIONS.length) {
    problems.push(`the database in the archive is at schema version ${manifest.schemaVersion}, newer than this lapsebox knows (${MIGRATIONS.length}): install the lapsebox version that made it (${manifest.lapsebox}) or a newer one first`);
  }
  const listed = new Set<string>();
  for (const entry of manifest.files) {
    const why = unsafeName(entry.name);
    if (why !== null || entry.name === MANIFEST_ENTRY || !expectedName(entry.name, false)) {
      problems.push(`manifest.json lists ${JSON.stringify(entry.name)}, which is not a name a lapsebox backup holds`);
      continue;
    }
    if (listed.has(entry.name)) problems.push(`manifest.json lists ${JSON.stringify(entry.name)} twice`);
    listed.add(entry.name);
    const got = found.get(entry.name);
    if (!got) problems.push(`${JSON.stringify(entry.name)} is listed in manifest.json but missing from the archive (a truncated or edited archive)`);
    else if (got.size !== entry.size) problems.push(`${JSON.stringify(entry.name)} has ${got.size} bytes, manifest.json says ${entry.size} (a truncated or edited archive)`);
    else if (got.sha256 !== entry.sha256) problems.push(`${JSON.stringify(entry.name)} does not match its checksum in manifest.json (a damaged or edited archive)`);
  }
  for (const name of found.keys()) {
    if (name !== MANIFEST_ENTRY && !listed.has(name)) problems.push(`${JSON.stringify(name)} is not listed in manifest.json`);
  }
  for (const required of [CONFIG_ENTRY, DATABASE_ENTRY]) {
    if (!listed.has(required)) problems.push(`no ${required} in the archive`);
  }
  return problems;
}

/**
 * Extracts the files `manifest` lists into `folder` (a private, empty folder), and
 * checks each again once on disk: the archive may have changed since it was read.
 */
export async function extractArchive(file: string, folder: string, manifest: Manifest): Promise<void> {
  const allowed = new Set(manifest.files.map((f) => f.name));
  try {
    await tar.extract({
      file,
      cwd: folder,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      maxDepth: 16,
      filter: (name, entry) => allowed.has(name) && 'type' in entry && REGULAR.has(entry.type),
    });
  } catch (err) {
    throw new BackupError(`cannot extract ${file}: ${readError(err)}; nothing was written`);
  }
  for (const entry of manifest.files) {
    const local = path.join(folder, ...entry.name.split('/'));
    const stat = await fs.lstat(local).catch(() => null);
    if (!stat?.isFile()) throw new BackupError(`${file}: ${entry.name} was not extracted as a regular file (the archive changed while it was read?); nothing was written`);
    const digest = await digestFile(local);
    if (digest.size !== entry.size || digest.sha256 !== entry.sha256) {
      throw new BackupError(`${file}: ${entry.name} does not match manifest.json once extracted (the archive changed while it was read?); nothing was written`);
    }
  }
}
