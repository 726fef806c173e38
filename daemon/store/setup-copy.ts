/**
 * The setup part of the database: who may log in and what they may see. A backup
 * copies the live database (database.ts `backupDatabase`), then empties everything
 * that is this box's own state; a restore puts the setup tables of that copy in
 * place of the target's, in one transaction. The backup's own words (what went
 * wrong, for people) are in daemon/backup/setup-database.ts.
 */
import fs from 'node:fs';
import { openDatabase, readDatabase, schemaVersion, type Db } from './database';
import type { AuditEntry } from './audit.repository';
import type { Repositories } from './repositories';

/**
 * The setup: carried by a backup and replaced whole by a restore, parents before children.
 * `public_switch` (the box-wide public switch) goes with it: it is a person's decision
 * about what this site shows the world, like the sources' `public` settings in the config
 * file the backup carries, not something the box works out for itself. A box replaced
 * while its public pictures are off (after an accident on site) must not publish them
 * again on its own; a restore gives the target the switch of the box that was saved.
 */
export const SETUP_TABLES = ['users', 'groups', 'group_members', 'grants', 'public_switch'] as const;

/**
 * This box's own state, left out of a backup: pictures and their index, videos and
 * their jobs, the sync queue, its multipart uploads and what each target did, health, alerts and their
 * messages, camera state. The replacement box builds its own, and the pictures stay
 * on the old box and the central server. Every table of the schema is either here,
 * in SETUP_TABLES or `audit` (a test checks), so a new table needs a decision; an
 * unlisted one is left out.
 */
export const STATE_TABLES = [
  'pictures',
  'picture_days',
  'source_state',
  'source_days',
  'events',
  'videos',
  'video_jobs',
  'outbox',
  'sync_targets',
  // Uploads in progress of this box's files: the replacement box sends its own (and aborts these as abandoned).
  'multipart_uploads',
  'multipart_parts',
  'health_samples',
  'alerts',
  'notifications',
  // What this box left on its MQTT broker: the replacement box publishes its own.
  'mqtt_retained',
  // Share links open this box's pictures by their ids: the replacement box has other ids, and
  // links handed out for the old box must not open anything there.
  'shares',
  // Progress e-mails sent, waiting and given up, and since when each rhythm holds: they name this
  // box's links and pictures; the replacement box starts its own rhythm (its first e-mail at the
  // next slot, none sent late for a slot before it ran).
  'progress_emails',
  'progress_rhythms',
  // Coverage: this box's schedules over time, its missed slots and when it ran.
  'schedule_history',
  'slot_gaps',
  'daemon_runs',
] as const;

/**
 * Audit entries about the setup (users, groups, grants, source settings, the public
 * switch, restores) go with it: they say who gave whom which access, or switched the
 * public pictures off, which still holds on the new box.
 */
const SETUP_AUDIT = `action LIKE 'user.%' OR action LIKE 'group.%' OR action LIKE 'source.%' OR action LIKE 'public.%' OR action LIKE 'setup.%'`;

export interface SetupCounts {
  users: number;
  groups: number;
  grants: number;
}

export interface SetupSnapshot {
  schemaVersion: number;
  counts: SetupCounts;
  /** Rows of this box's own state that the copy left out, per table (tables with rows only). */
  leftOut: Record<string, number>;
}

/**
 * Turns the fresh copy of a database at `file` into the setup: migrated to this
 * lapsebox's schema, everything but the setup (and its audit entries) deleted,
 * then compacted.
 */
export function keepOnlySetup(file: string): SetupSnapshot {
  const db = openDatabase(file);
  try {
    const leftOut: Record<string, number> = {};
    db.transaction(() => {
      for (const table of tableNames(db)) {
        if ((SETUP_TABLES as readonly string[]).includes(table)) continue;
        const where = table === 'audit' ? ` WHERE NOT (${SETUP_AUDIT})` : '';
        // Counted first: deleting pictures empties picture_days through its triggers.
        const rows = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM "${table}"${where}`).get()!.n;
        db.exec(`DELETE FROM "${table}"${where}`);
        if (rows > 0) leftOut[table] = rows;
      }
    })();
    db.pragma('journal_mode = DELETE');
    db.exec('VACUUM');
    return { schemaVersion: schemaVersion(db), counts: setupCounts(db), leftOut };
  } finally {
    db.close();
  }
}

/** Names of the tables of a database, SQLite's own left out. */
export function tableNames(db: Db): string[] {
  return db
    .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .all()
    .map((r) => r.name);
}

export function setupCounts(db: Db): SetupCounts {
  const count = (table: string) => db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM "${table}"`).get()!.n;
  return { users: count('users'), groups: count('groups'), grants: count('grants') };
}

/** SQLite's quick_check of a setup copy: 'ok', or what is damaged. */
export function quickCheck(db: Db): string {
  return String(db.pragma('quick_check', { simple: true }));
}

/** Member and grant rows that point at no user or group. */
export function danglingRows(db: Db): number {
  return (db.pragma('foreign_key_check') as unknown[]).length;
}

export function usernames(db: Db): string[] {
  return db.prepare<[], { username: string }>(`SELECT username FROM users ORDER BY username`).all().map((r) => r.username);
}

/** What a data folder holds before a restore. Opened read-only: a refused restore creates nothing. */
export interface TargetUsers {
  users: { username: string; profile: string }[];
  /** The only user is the maintainer the daemon generated at its first start (initial-admin-password). */
  onlyGeneratedAdmin: boolean;
}

export function targetUsers(databaseFile: string): TargetUsers {
  if (!fs.existsSync(databaseFile)) return { users: [], onlyGeneratedAdmin: false };
  return readDatabase(databaseFile, (db) => {
    if (!tableNames(db).includes('users')) return { users: [], onlyGeneratedAdmin: false };
    const users = db.prepare<[], { username: string; profile: string }>(`SELECT username, profile FROM users ORDER BY username`).all();
    const only = users.length === 1 ? users[0]! : undefined;
    const generated =
      only !== undefined &&
      only.profile === 'maintainer' &&
      db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM audit WHERE action = 'user.add' AND actor = 'daemon' AND target = ?`).get(only.username)!.n > 0;
    return { users, onlyGeneratedAdmin: generated };
  });
}

/**
 * Replaces the users, groups, members and grants of `store` with those of the
 * prepared copy at `setupFile`, adds the copy's setup audit entries the trail does
 * not hold yet, and records `entry`: all in one transaction. Everything else of the
 * target (pictures, queue, history) stays.
 */
export function replaceSetup(store: Repositories, setupFile: string, entry: AuditEntry): SetupCounts {
  const db = store.db;
  db.prepare('ATTACH DATABASE ? AS archive').run(setupFile);
  try {
    return db.transaction(() => {
      for (const table of [...SETUP_TABLES].reverse()) db.exec(`DELETE FROM main."${table}"`);
      for (const table of SETUP_TABLES) {
        const columns = columnsOf(db, table).map((c) => `"${c}"`).join(', ');
        db.exec(`INSERT INTO main."${table}" (${columns}) SELECT ${columns} FROM archive."${table}"`);
      }
      const audit = columnsOf(db, 'audit').filter((c) => c !== 'id');
      const same = audit.map((c) => `m."${c}" IS a."${c}"`).join(' AND ');
      db.exec(
        `INSERT INTO main.audit (${audit.map((c) => `"${c}"`).join(', ')}) SELECT ${audit.map((c) => `a."${c}"`).join(', ')} FROM archive.audit a
         WHERE NOT EXISTS (SELECT 1 FROM main.audit m WHERE ${same}) ORDER BY a.id`,
      );
      store.audit.record(entry);
      return setupCounts(db);
    })();
  } finally {
    db.exec('DETACH DATABASE archive');
  }
}

function columnsOf(db: Db, table: string): string[] {
  return db
    .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}', 'main')`)
    .all()
    .map((r) => r.name);
}
