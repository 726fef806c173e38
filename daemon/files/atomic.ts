/**
 * Crash-safe file moves: a file appears under its final name only when complete.
 * Write to a temporary name in the same folder, fsync the file, rename, fsync the folder.
 */
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TEMP_PREFIX } from '../domain/data-folder';

/** A temporary path next to `finalPath`, ignored by the reconciliation and never served. */
export function tempPathFor(finalPath: string): string {
  return path.join(path.dirname(finalPath), `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${path.basename(finalPath)}`);
}

async function fsyncPath(p: string, flags: number): Promise<void> {
  const handle = await fs.open(p, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  await fsyncPath(dir, constants.O_RDONLY | constants.O_DIRECTORY);
}

/**
 * Moves a complete temporary file to its final name. With `replace: false` an
 * existing file is never overwritten (the call fails with EEXIST instead).
 */
export async function commitFile(tempPath: string, finalPath: string, options: { replace: boolean }): Promise<void> {
  await fsyncPath(tempPath, constants.O_RDONLY);
  if (options.replace) {
    await fs.rename(tempPath, finalPath);
  } else {
    // link() fails if the final name exists, where rename() would replace it silently.
    await fs.link(tempPath, finalPath);
    await fs.unlink(tempPath);
  }
  await fsyncDir(path.dirname(finalPath));
}

/**
 * Makes `target` show the same content as `source`, atomically: a hard link when
 * both are on one filesystem (no copy on the SD card), else a copy.
 */
export async function replaceWithLinkOrCopy(source: string, target: string): Promise<void> {
  const temp = tempPathFor(target);
  try {
    await fs.link(source, temp);
  } catch {
    await fs.copyFile(source, temp);
  }
  try {
    await commitFile(temp, target, { replace: true });
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/** Removes a file, or a temporary folder with what it holds, if it is there; other errors propagate. */
export async function removeIfExists(p: string): Promise<void> {
  await fs.rm(p, { force: true, recursive: true });
}
