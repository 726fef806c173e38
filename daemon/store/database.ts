/**
 * The SQLite database: opened in WAL mode, migrated forward by numbered steps
 * recorded in `PRAGMA user_version`. Each migration runs in its own transaction,
 * so a crash leaves the database at the previous version, never half-migrated.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations';

export type Db = Database.Database;

export function openDatabase(file: string): Db {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL is durable in WAL mode except for the last transactions on power loss;
    // the start-up reconciliation re-indexes any picture those would have held.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Opens the database to look without changing anything (the doctor, a backup, a
 * restore's first look): never created, never migrated. Waits up to 5 s for the
 * daemon's writes like the daemon's own connection.
 */
export function openReadOnly(file: string): Db {
  return new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
}

/** Runs `read` on the database at `file` opened read-only (see openReadOnly), and closes it again. */
export function readDatabase<T>(file: string, read: (db: Db) => T): T {
  const db = openReadOnly(file);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Pages per backup step: all of them, so a daemon writing meanwhile cannot restart the copy over and over. */
const ALL_PAGES = 0x7fffffff;

/** Copies the open database `db` to the new file `out` with SQLite's online backup: a consistent copy while others write. */
export async function backupDatabase(db: Db, out: string): Promise<void> {
  await db.backup(out, { progress: () => ALL_PAGES });
}

function migrate(db: Db): void {
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the database is at schema version ${current}, newer than this lapsebox knows (${MIGRATIONS.length}); install the newer version again or restore a backup`,
    );
  }
  for (let version = current + 1; version <= MIGRATIONS.length; version++) {
    const step = MIGRATIONS[version - 1]!;
    db.transaction(() => {
      db.exec(step);
      db.pragma(`user_version = ${version}`);
    })();
  }
}
