/**
 * The database in a backup: a copy of the setup part only (store/setup-copy.ts
 * says which tables and does the SQL). Here are the backup's words for what can go
 * wrong: no database, one this user may not read, a damaged copy in an archive.
 */
import fs from 'node:fs';
import { backupDatabase, openDatabase, openReadOnly, type Db } from '../store/database';
import { danglingRows, keepOnlySetup, quickCheck, setupCounts, usernames, type SetupCounts, type SetupSnapshot } from '../store/setup-copy';
import { BackupError } from './manifest';
import { messageOf } from '../error-causes';

/**
 * Copies the database at `databaseFile` to `out` while the daemon may be using it,
 * migrates the copy to this lapsebox's schema, keeps only the setup, and compacts it.
 */
export async function snapshotSetup(databaseFile: string, out: string): Promise<SetupSnapshot> {
  if (!fs.existsSync(databaseFile)) throw new BackupError(`there is no database at ${databaseFile}: the daemon has not run with this config yet, or storage.dataDir is wrong`);
  let source: Db;
  try {
    source = openReadOnly(databaseFile);
  } catch (err) {
    throw new BackupError(`cannot open the database ${databaseFile}: ${messageOf(err)}; is storage.dataDir right, and may this user read the data folder (try sudo)?`);
  }
  try {
    await backupDatabase(source, out);
  } finally {
    source.close();
  }
  return keepOnlySetup(out);
}

/**
 * Brings the archive's database up to this lapsebox's schema (the migrations of
 * the daemon, on the private copy) and checks that it is sound before anything of
 * the target is touched.
 */
export function prepareSetup(file: string): SetupCounts & { usernames: string[] } {
  let db: Db;
  try {
    db = openDatabase(file);
  } catch (err) {
    throw new BackupError(`setup.db in the archive is not a database this lapsebox can use: ${messageOf(err)}`);
  }
  try {
    const check = quickCheck(db);
    if (check !== 'ok') throw new BackupError(`setup.db in the archive is damaged (SQLite quick_check: ${check})`);
    const dangling = danglingRows(db);
    if (dangling > 0) throw new BackupError(`setup.db in the archive has ${dangling} member or grant rows that point at no user or group`);
    return { ...setupCounts(db), usernames: usernames(db) };
  } finally {
    db.close();
  }
}
