import type { Db } from './database';
import type { OutboxKind } from '../domain/sync';

export type OutboxState = 'pending' | 'sent' | 'gone';

/** One file to send to one target. */
export interface OutboxItem {
  id: number;
  targetId: string;
  kind: OutboxKind;
  sourceId: string;
  itemId: number;
  /** Relative to the data folder. */
  localPath: string;
  /** Relative to `<remoteDir>/<appliance.id>`. */
  remotePath: string;
  size: number;
  state: OutboxState;
  /** Changes when a newer file replaces this row's (a new latest picture, a rebuilt video). */
  version: number;
  /** The remote file may hold an older version of this one, so its presence proves nothing. */
  overwrite: boolean;
  attempts: number;
  /** When an upload of this version was first tried; null: it cannot be on the server. */
  triedAt: number | null;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  sentAt: number | null;
}

export interface NewOutboxItem extends Pick<OutboxItem, 'targetId' | 'kind' | 'sourceId' | 'itemId' | 'localPath' | 'remotePath' | 'size' | 'overwrite'> {
  /** 0 goes before 1. */
  priority: number;
  orderAt: number;
  /** A row already there for the same remote file is a newer version (latest, a rebuilt video) rather than the same file again. */
  replaces: boolean;
}

export interface Backlog {
  pending: number;
  bytes: number;
  /** When the oldest pending file was queued. */
  oldestAt: number | null;
  byKind: Record<OutboxKind, number>;
  /** Pending files whose own upload failed at least once (not those waiting on a target that is down). */
  failing: number;
  /** Files that left the box before they could be sent (deleted by hand); never sent. */
  gone: number;
}

interface Row {
  id: number;
  target_id: string;
  kind: OutboxKind;
  source_id: string;
  item_id: number;
  local_path: string;
  remote_path: string;
  size: number;
  state: OutboxState;
  version: number;
  overwrite: number;
  attempts: number;
  tried_at: number | null;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

const toItem = (r: Row): OutboxItem => ({
  id: r.id,
  targetId: r.target_id,
  kind: r.kind,
  sourceId: r.source_id,
  itemId: r.item_id,
  localPath: r.local_path,
  remotePath: r.remote_path,
  size: r.size,
  state: r.state,
  version: r.version,
  overwrite: r.overwrite === 1,
  attempts: r.attempts,
  triedAt: r.tried_at,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
  createdAt: r.created_at,
  sentAt: r.sent_at,
});

/**
 * The sync outbox. Rows are written in the transaction that indexes their file;
 * a row is marked sent only for the version that was uploaded, so a newer file
 * queued during an upload is sent too.
 */
export class OutboxRepository {
  readonly #db: Db;
  readonly #add;
  readonly #replace;
  readonly #due;
  readonly #nextDue;
  readonly #sent;
  readonly #failed;
  readonly #gone;
  readonly #tried;
  readonly #backlog;
  readonly #goneCount;
  readonly #picturesWaiting;
  readonly #errors;
  readonly #resetDue;
  readonly #byId;
  readonly #missingPictures;
  readonly #missingVideos;
  readonly #hasLatest;
  readonly #ofPicture;
  readonly #dropSent;
  readonly #pendingPath;

  constructor(db: Db) {
    this.#db = db;
    const columns = `(target_id, kind, source_id, item_id, local_path, remote_path, size, priority, order_at, state, overwrite, next_attempt_at, created_at)
       VALUES (@targetId, @kind, @sourceId, @itemId, @localPath, @remotePath, @size, @priority, @orderAt, 'pending', @overwrite, @now, @now)`;
    this.#add = db.prepare(`INSERT INTO outbox ${columns} ON CONFLICT (target_id, remote_path) DO NOTHING`);
    this.#replace = db.prepare(
      `INSERT INTO outbox ${columns}
       ON CONFLICT (target_id, remote_path) DO UPDATE SET item_id = excluded.item_id, local_path = excluded.local_path, size = excluded.size,
         order_at = excluded.order_at, state = 'pending', version = version + 1, overwrite = 1, attempts = 0, tried_at = NULL,
         next_attempt_at = excluded.next_attempt_at, last_error = NULL, created_at = CASE WHEN state = 'pending' THEN created_at ELSE excluded.created_at END`,
    );
    this.#due = db.prepare<[{ target: string; now: number; limit: number }], Row>(
      `SELECT * FROM outbox INDEXED BY outbox_due WHERE target_id = @target AND state = 'pending' AND next_attempt_at <= @now
       ORDER BY priority, order_at, id LIMIT @limit`,
    );
    this.#nextDue = db.prepare<[string], { at: number | null }>(`SELECT min(next_attempt_at) AS at FROM outbox WHERE target_id = ? AND state = 'pending'`);
    this.#sent = db.prepare<[{ id: number; version: number; at: number }]>(
      `UPDATE outbox SET state = 'sent', sent_at = @at, last_error = NULL WHERE id = @id AND version = @version AND state = 'pending'`,
    );
    this.#failed = db.prepare<[{ id: number; version: number; error: string; next: number }]>(
      `UPDATE outbox SET attempts = attempts + 1, last_error = @error, next_attempt_at = @next WHERE id = @id AND version = @version AND state = 'pending'`,
    );
    this.#tried = db.prepare<[{ id: number; version: number; at: number }]>(`UPDATE outbox SET tried_at = @at WHERE id = @id AND version = @version AND tried_at IS NULL`);
    this.#gone = db.prepare<[{ id: number; version: number; error: string }]>(
      `UPDATE outbox SET state = 'gone', last_error = @error WHERE id = @id AND version = @version AND state = 'pending'`,
    );
    // Only pending rows (a partial index): sent rows grow with the years and are counted in sync_targets.
    this.#backlog = db.prepare<[string], { kind: OutboxKind; n: number; bytes: number; oldest: number | null; failing: number }>(
      `SELECT kind, count(*) AS n, coalesce(sum(size), 0) AS bytes, min(created_at) AS oldest, sum(attempts > 0) AS failing
       FROM outbox INDEXED BY outbox_due WHERE target_id = ? AND state = 'pending' GROUP BY kind`,
    );
    this.#picturesWaiting = db.prepare<[], { n: number }>(
      `SELECT count(DISTINCT item_id) AS n FROM outbox INDEXED BY outbox_due WHERE state = 'pending' AND kind = 'picture'`,
    );
    this.#goneCount = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM outbox INDEXED BY outbox_gone WHERE target_id = ? AND state = 'gone'`);
    this.#errors = db.prepare<[string, number], Row>(
      `SELECT * FROM outbox WHERE target_id = ? AND state = 'pending' AND last_error IS NOT NULL ORDER BY order_at LIMIT ?`,
    );
    this.#resetDue = db.prepare<[{ target: string; now: number }]>(`UPDATE outbox SET next_attempt_at = @now WHERE target_id = @target AND state = 'pending' AND next_attempt_at > @now`);
    this.#byId = db.prepare<[number], Row>(`SELECT * FROM outbox WHERE id = ?`);
    this.#missingPictures = db.prepare<[{ target: string; source: string; after: number; limit: number }], { id: number; sourceId: string; path: string; size: number; takenAt: number; rejection: string | null }>(
      `SELECT p.id, p.source_id AS sourceId, p.path, p.size, p.taken_at AS takenAt, p.rejection FROM pictures p
       WHERE p.source_id = @source AND p.missing = 0 AND p.id > @after
         AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'picture' AND o.item_id = p.id AND o.target_id = @target)
       ORDER BY p.id LIMIT @limit`,
    );
    this.#missingVideos = db.prepare<[{ target: string; source: string }], { id: number; sourceId: string; path: string; size: number; createdAt: number }>(
      // Each file of a film (the film, its phone rendition) the target has no row for.
      `SELECT f.id, f.sourceId, f.path, f.size, f.createdAt FROM (
         SELECT v.id, v.source_id AS sourceId, v.path, v.size, v.created_at AS createdAt FROM videos v WHERE v.source_id = @source
         UNION ALL
         SELECT v.id, v.source_id, v.phone_path, v.phone_size, v.created_at FROM videos v WHERE v.source_id = @source AND v.phone_path IS NOT NULL
       ) f
       WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'video' AND o.item_id = f.id AND o.target_id = @target AND o.local_path = f.path)
       ORDER BY f.createdAt, f.id, f.path`,
    );
    this.#hasLatest = db.prepare<[{ target: string; source: string }], { n: number }>(
      `SELECT count(*) AS n FROM outbox WHERE target_id = @target AND source_id = @source AND kind = 'latest'`,
    );
    this.#ofPicture = db.prepare<[number], { kind: OutboxKind; targetId: string; state: OutboxState }>(
      `SELECT kind, target_id AS targetId, state FROM outbox INDEXED BY outbox_by_item WHERE kind IN ('picture', 'latest') AND item_id = ?`,
    );
    this.#dropSent = db.prepare<[number]>(`DELETE FROM outbox WHERE kind = 'picture' AND item_id = ? AND state <> 'pending'`);
    this.#pendingPath = db.prepare<[string, string], { n: number }>(`SELECT count(*) AS n FROM outbox WHERE target_id = ? AND remote_path = ? AND state = 'pending'`);
  }

  /** Queues a file; the same file queued again is left as it is, unless `replaces` says it is a newer version. */
  add(item: NewOutboxItem, now: number): void {
    const { replaces, overwrite, ...values } = item;
    (replaces ? this.#replace : this.#add).run({ ...values, overwrite: overwrite ? 1 : 0, now });
  }

  /** Pending rows of a target whose time has come: latest first, then the oldest. */
  due(targetId: string, now: number, limit: number): OutboxItem[] {
    return this.#due.all({ target: targetId, now, limit }).map(toItem);
  }

  /** When the next pending row of a target becomes due; null when none is pending. */
  nextDueAt(targetId: string): number | null {
    return this.#nextDue.get(targetId)?.at ?? null;
  }

  /** Marks the row sent if it still holds the version that was uploaded; false when a newer one came meanwhile. */
  markSent(item: Pick<OutboxItem, 'id' | 'version'>, at: number): boolean {
    return this.#sent.run({ id: item.id, version: item.version, at }).changes === 1;
  }

  /** An upload of this version starts: from now on it may be on the server. */
  markTried(item: Pick<OutboxItem, 'id' | 'version'>, at: number): void {
    this.#tried.run({ id: item.id, version: item.version, at });
  }

  markFailed(item: Pick<OutboxItem, 'id' | 'version'>, error: string, nextAttemptAt: number): void {
    this.#failed.run({ id: item.id, version: item.version, error, next: nextAttemptAt });
  }

  /** The local file is gone: nothing left to send, ever. */
  markGone(item: Pick<OutboxItem, 'id' | 'version'>, error: string): void {
    this.#gone.run({ id: item.id, version: item.version, error });
  }

  get(id: number): OutboxItem | undefined {
    const row = this.#byId.get(id);
    return row && toItem(row);
  }

  /**
   * Pictures a target still waits for, each counted once however many targets
   * want it: what retention may not delete yet (a pending row keeps its picture).
   */
  picturesWaiting(): number {
    return this.#picturesWaiting.get()?.n ?? 0;
  }

  backlog(targetId: string): Backlog {
    const b: Backlog = { pending: 0, bytes: 0, oldestAt: null, byKind: { picture: 0, video: 0, latest: 0 }, failing: 0, gone: this.#goneCount.get(targetId)?.n ?? 0 };
    for (const r of this.#backlog.all(targetId)) {
      b.pending += r.n;
      b.bytes += r.bytes;
      b.byKind[r.kind] += r.n;
      b.failing += r.failing;
      if (r.oldest !== null && (b.oldestAt === null || r.oldest < b.oldestAt)) b.oldestAt = r.oldest;
    }
    return b;
  }

  /** Pending rows with an error of their own, oldest first. */
  failing(targetId: string, limit: number): OutboxItem[] {
    return this.#errors.all(targetId, limit).map(toItem);
  }

  /** "Send now": every pending row of the target is due at once. */
  makeDue(targetId: string, now: number): number {
    return this.#resetDue.run({ target: targetId, now }).changes;
  }

  /** Pictures of a source without a row for the target, by id, in pages (for a target added to a box with history). */
  picturesWithoutRow(targetId: string, sourceId: string, afterId: number, limit: number) {
    return this.#missingPictures.all({ target: targetId, source: sourceId, after: afterId, limit });
  }

  videosWithoutRow(targetId: string, sourceId: string) {
    return this.#missingVideos.all({ target: targetId, source: sourceId });
  }

  /** The rows that send a picture, as the picture or as a source's latest: what retention checks. */
  rowsOfPicture(pictureId: number): { kind: OutboxKind; targetId: string; state: OutboxState }[] {
    return this.#ofPicture.all(pictureId);
  }

  /** Forgets the finished rows of a picture that retention deleted (pending rows are never dropped). */
  dropFinished(pictureIds: readonly number[]): void {
    for (const id of pictureIds) this.#dropSent.run(id);
  }

  /** Whether a file still waits to be sent to this remote path of the target. */
  isPending(targetId: string, remotePath: string): boolean {
    return (this.#pendingPath.get(targetId, remotePath)?.n ?? 0) > 0;
  }

  hasLatest(targetId: string, sourceId: string): boolean {
    return (this.#hasLatest.get({ target: targetId, source: sourceId })?.n ?? 0) > 0;
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
