/**
 * What a backup archive holds and how its entries are named. The manifest is the
 * first entry; it lists every other entry with its size and SHA-256, so a restore
 * can tell a complete, untouched archive from anything else before it writes a byte.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';

export const FORMAT = 'lapsebox-backup';
/** Bumped when a restore of this version could not read an archive the same way. */
export const FORMAT_VERSION = 1;

export const MANIFEST_ENTRY = 'manifest.json';
export const DATABASE_ENTRY = 'setup.db';
export const CONFIG_FOLDER = 'config';
/** The config file, whatever it was called on the box. */
export const CONFIG_ENTRY = `${CONFIG_FOLDER}/lapsebox.yaml`;

/** A manifest is a few KB; anything much larger is not one. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** A problem with an archive, or a refusal; the message says what and what to do. Exit code 1. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 in hex');

const fileEntry = z.strictObject({
  name: z.string(),
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
  /** The config keys that name this file (`sync.targets[0].privateKey`); none for the config and the database. */
  keys: z.array(z.string()).optional(),
});
export type ManifestFile = z.infer<typeof fileEntry>;

export const manifestSchema = z.strictObject({
  format: z.literal(FORMAT),
  formatVersion: z.number().int().positive(),
  lapsebox: z.string(),
  appliance: z.strictObject({ id: z.string(), name: z.string() }),
  createdAt: z.iso.datetime(),
  schemaVersion: z.number().int().positive(),
  counts: z.strictObject({ users: z.number().int(), groups: z.number().int(), grants: z.number().int() }),
  files: z.array(fileEntry),
});
export type Manifest = z.infer<typeof manifestSchema>;

/**
 * Why an entry name may not be in an archive, or null when it is a plain relative
 * name that stays inside the folder it is extracted to.
 */
export function unsafeName(name: string): string | null {
  if (name.length === 0) return 'an empty name';
  if (name.includes('\0')) return 'a NUL byte in the name';
  if (name.includes('\\')) return 'a backslash in the name';
  if (/[\x00-\x1f\x7f]/.test(name)) return 'a control character in the name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'an absolute path';
  const segments = name.replace(/\/$/, '').split('/');
  if (segments.some((s) => s === '..')) return 'a ".." segment (a path that climbs out of the folder)';
  if (segments.some((s) => s === '.' || s === '')) return 'an empty or "." segment';
  return null;
}

/** `config/<relative>`: one of the files the config names, inside the config's folder. */
export function configEntry(relative: string): string {
  return `${CONFIG_FOLDER}/${relative}`;
}

/** SHA-256 and size of a file, read in chunks. */
export async function digestFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}
