import type { Db } from './database';
import type { Share, ShareLevel, ShareScope } from '../domain/shares';

interface Row {
  id: number;
  token_hash: string;
  source_id: string;
  scope: ShareScope;
  level: ShareLevel;
  label: string | null;
  from_date: string | null;
  to_date: string | null;
  picture_id: number | null;
  picture2_id: number | null;
  video_id: number | null;
  owner_id: number | null;
  created_by: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
  uses: number;
  last_used_at: number | null;
}

const toShare = (r: Row): Share => ({
  id: r.id,
  sourceId: r.source_id,
  scope: r.scope,
  level: r.level,
  label: r.label,
  fromDate: r.from_date,
  toDate: r.to_date,
  pictureId: r.picture_id,
  picture2Id: r.picture2_id,
  videoId: r.video_id,
  ownerId: r.owner_id,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  revokedBy: r.revoked_by,
  uses: r.uses,
  lastUsedAt: r.last_used_at,
});

export type NewShare = Omit<Share, 'id' | 'revokedAt' | 'revokedBy' | 'uses' | 'lastUsedAt'> & { tokenHash: string };

/** Share links (migration 13). Only the token's hash is stored. */
export class SharesRepository {
  readonly #db: Db;
  readonly #insert;
  readonly #byId;
  readonly #byHash;
  readonly #list;
  readonly #listOwner;
  readonly #revoke;
  readonly #used;
  readonly #touched;
  readonly #toExpire;
  readonly #noteExpiry;
  readonly #activeOf;
  readonly #revokeOwner;

  constructor(db: Db) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT INTO shares (token_hash, source_id, scope, level, label, from_date, to_date, picture_id, picture2_id, video_id, owner_id, created_by, created_at, expires_at)
       VALUES (@tokenHash, @sourceId, @scope, @level, @label, @fromDate, @toDate, @pictureId, @picture2Id, @videoId, @ownerId, @createdBy, @createdAt, @expiresAt)`,
    );
    this.#byId = db.prepare<[number], Row>('SELECT * FROM shares WHERE id = ?');
    this.#byHash = db.prepare<[string], Row>('SELECT * FROM shares WHERE token_hash = ?');
    // Newest first; long-gone links (ended over 30 days ago) drop out of the lists.
    this.#list = db.prepare<{ source: string | null; since: number; limit: number }, Row>(
      `SELECT * FROM shares WHERE (@source IS NULL OR source_id = @source) AND coalesce(revoked_at, expires_at) > @since ORDER BY created_at DESC, id DESC LIMIT @limit`,
    );
    this.#listOwner = db.prepare<{ owner: number; source: string | null; since: number; limit: number }, Row>(
      `SELECT * FROM shares WHERE owner_id = @owner AND (@source IS NULL OR source_id = @source) AND coalesce(revoked_at, expires_at) > @since ORDER BY created_at DESC, id DESC LIMIT @limit`,
    );
    this.#revoke = db.prepare<[number, string, number]>('UPDATE shares SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL');
    this.#used = db.prepare<[number, number]>('UPDATE shares SET uses = uses + 1, last_used_at = ? WHERE id = ?');
    this.#touched = db.prepare<[number, number]>('UPDATE shares SET last_used_at = ? WHERE id = ?');
    this.#toExpire = db.prepare<[number, number], Row>(
      'SELECT * FROM shares WHERE expiry_noted = 0 AND revoked_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?',
    );
    this.#noteExpiry = db.prepare<[number]>('UPDATE shares SET expiry_noted = 1 WHERE id = ?');
    this.#activeOf = db.prepare<[number, number], { n: number }>(
      'SELECT count(*) AS n FROM shares WHERE owner_id = ? AND revoked_at IS NULL AND expires_at > ?',
    );
    this.#revokeOwner = db.prepare<[number, string, number, number]>(
      'UPDATE shares SET revoked_at = ?, revoked_by = ? WHERE owner_id = ? AND revoked_at IS NULL AND expires_at > ?',
    );
  }

  insert(share: NewShare): number {
    return Number(this.#insert.run(share).lastInsertRowid);
  }

  get(id: number): Share | undefined {
    const row = this.#byId.get(id);
    return row && toShare(row);
  }

  byTokenHash(hash: string): Share | undefined {
    const row = this.#byHash.get(hash);
    return row && toShare(row);
  }

  /** Links still active or ended after `since`, newest first; of one owner when `owner` is given. */
  list(filter: { owner?: number; source?: string; since: number; limit: number }): Share[] {
    const source = filter.source ?? null;
    const rows =
      filter.owner === undefined
        ? this.#list.all({ source, since: filter.since, limit: filter.limit })
        : this.#listOwner.all({ owner: filter.owner, source, since: filter.since, limit: filter.limit });
    return rows.map(toShare);
  }

  /** False when it was revoked already. */
  revoke(id: number, by: string, at: number): boolean {
    return this.#revoke.run(at, by, id).changes > 0;
  }

  /** A page opened: counted, and its time kept. */
  markUsed(id: number, at: number): void {
    this.#used.run(at, id);
  }

  /** Something under the page loaded: only the time. */
  touch(id: number, at: number): void {
    this.#touched.run(at, id);
  }

  /** Links past their end whose expiry is not in the audit trail yet. */
  expiredUnnoted(now: number, limit: number): Share[] {
    return this.#toExpire.all(now, limit).map(toShare);
  }

  noteExpiry(id: number): void {
    this.#noteExpiry.run(id);
  }

  activeCount(ownerId: number, now: number): number {
    return this.#activeOf.get(ownerId, now)!.n;
  }

  /** Revokes every active link of a user (removed, or no longer a customer with the right); returns how many. */
  revokeAllOf(ownerId: number, by: string, at: number): number {
    return this.#revokeOwner.run(at, by, ownerId, at).changes;
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
