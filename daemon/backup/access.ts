/**
 * Permission errors on the files named on the command line, said for people.
 * `sudo lapsebox` runs every command as the lapsebox user (scripts/lapsebox-wrapper),
 * which cannot write to a private home folder nor read a file only root can: the
 * message says so, and where to put the file instead.
 */
import os from 'node:os';
import path from 'node:path';
import { BackupError } from './manifest';

/** The user the installed wrapper runs commands as (doctor's SERVICE_USER). */
const WRAPPER_USER = 'lapsebox';

/** Who this process runs as: its login name, or "uid N" without a passwd entry. */
export function processUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/**
 * A BackupError saying that `user` (this process's by default) may not write to the
 * folder `path` where `file` was to go (`access: 'write'`), or read the archive `path`
 * (`access: 'read'`), when `err` is a permission error; null for any other error.
 */
export function permissionError(err: unknown, p: { access: 'write'; path: string; file: string; user?: string } | { access: 'read'; path: string; user?: string }): BackupError | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== 'EACCES' && code !== 'EPERM') return null;
  const user = p.user ?? processUser();
  const viaWrapper = user === WRAPPER_USER;
  const who = viaWrapper ? `the ${user} user` : user;
  const why = viaWrapper ? `sudo lapsebox runs as ${user}` : 'permission denied';
  if (p.access === 'write') {
    return new BackupError(`${who} cannot write to ${p.path} (${why}): give a file in a folder it can write, such as ${path.join(os.tmpdir(), path.basename(p.file))}`);
  }
  const copy = path.join(os.tmpdir(), path.basename(p.path));
  const how = user.startsWith('uid ') ? '' : ` (sudo cp ${p.path} ${copy} && sudo chown ${user}: ${copy})`;
  return new BackupError(`${who} cannot read ${p.path} (${why}): put the archive where it can read it, such as ${copy}${how}; nothing was written`);
}
