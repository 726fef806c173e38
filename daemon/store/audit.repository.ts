import type { Db } from './database';

export interface AuditEntry {
  at: number;
  /** `user:<name>` for the UI and API, `cli:<login>` for the command line, `daemon` for the box itself. */
  actor: string;
  action: string;
  target?: string;
  oldValue?: unknown;
  newValue?: unknown;
}

/** The audit trail: who changed what, when, old and new value. Values never hold secrets. */
export class AuditRepository {
  readonly #insert;
  readonly #recent;

  constructor(db: Db) {
    this.#insert = db.prepare<[number, string, string, string | null, string | null, string | null]>(
      `INSERT INTO audit (at, actor, action, target, old_value, new_value) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#recent = db.prepare<[number], { at: number; actor: string; action: string; target: string | null; old_value: string | null; new_value: string | null }>(
      `SELECT at, actor, action, target, old_value, new_value FROM audit ORDER BY id DESC LIMIT ?`,
    );
  }

  record(entry: AuditEntry): void {
    const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
    this.#insert.run(entry.at, entry.actor, entry.action, entry.target ?? null, json(entry.oldValue), json(entry.newValue));
  }

  recent(limit = 100): AuditEntry[] {
    return this.#recent.all(limit).map((r) => ({
      at: r.at,
      actor: r.actor,
      action: r.action,
      ...(r.target !== null ? { target: r.target } : {}),
      ...(r.old_value !== null ? { oldValue: JSON.parse(r.old_value) as unknown } : {}),
      ...(r.new_value !== null ? { newValue: JSON.parse(r.new_value) as unknown } : {}),
    }));
  }
}
