import type { Db } from './database';

export interface AuditEntry {
  at: number;
  /** `user:<name>` for the UI and API, `cli:<login>` for the command line, `daemon` for the box itself. */
  actor: string;
  /** Where the change came from: the client's address for the API, `cli` for the command line. */
  address?: string;
  action: string;
  target?: string;
  oldValue?: unknown;
  newValue?: unknown;
}

export interface StoredAuditEntry extends AuditEntry {
  id: number;
}

export interface AuditQuery {
  limit?: number;
  /** Entries older than this id (paging back). */
  before?: number;
  action?: string;
  actor?: string;
  target?: string;
}

interface Row {
  id: number;
  at: number;
  actor: string;
  address: string | null;
  action: string;
  target: string | null;
  old_value: string | null;
  new_value: string | null;
}

/** The audit trail: who changed what, when, from where, old and new value. Values never hold secrets. */
export class AuditRepository {
  readonly #insert;
  readonly #page;

  constructor(db: Db) {
    this.#insert = db.prepare<[number, string, string | null, string, string | null, string | null, string | null]>(
      `INSERT INTO audit (at, actor, address, action, target, old_value, new_value) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    // Newest first, by id (the order they were written); filters are optional.
    this.#page = db.prepare<{ before: number; limit: number; action: string | null; actor: string | null; target: string | null }, Row>(
      `SELECT * FROM audit WHERE id < @before
         AND (@action IS NULL OR action = @action) AND (@actor IS NULL OR actor = @actor) AND (@target IS NULL OR target = @target)
       ORDER BY id DESC LIMIT @limit`,
    );
  }

  record(entry: AuditEntry): void {
    const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
    this.#insert.run(entry.at, entry.actor, entry.address ?? null, entry.action, entry.target ?? null, json(entry.oldValue), json(entry.newValue));
  }

  recent(limit = 100): StoredAuditEntry[] {
    return this.query({ limit });
  }

  query(q: AuditQuery = {}): StoredAuditEntry[] {
    const rows = this.#page.all({
      before: q.before ?? Number.MAX_SAFE_INTEGER,
      limit: q.limit ?? 100,
      action: q.action ?? null,
      actor: q.actor ?? null,
      target: q.target ?? null,
    });
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      actor: r.actor,
      ...(r.address !== null ? { address: r.address } : {}),
      action: r.action,
      ...(r.target !== null ? { target: r.target } : {}),
      ...(r.old_value !== null ? { oldValue: JSON.parse(r.old_value) as unknown } : {}),
      ...(r.new_value !== null ? { newValue: JSON.parse(r.new_value) as unknown } : {}),
    }));
  }
}
