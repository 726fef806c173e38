import type { Db } from './database';

/** The box-wide public switch as stored: on until someone switches it off. */
export interface PublicSwitchState {
  enabled: boolean;
  /** When it was last switched, or null when it never was. */
  changedAt: number | null;
  /** Who switched it last (`user:<name>`, `cli:<login>`), or null. */
  changedBy: string | null;
}

interface Row {
  enabled: number;
  changed_at: number;
  changed_by: string;
}

/**
 * The one row of `public_switch` (migration 12). Read on every public request, so
 * that a change made by another process (the CLI on a stopped box) holds at once.
 */
export class PublicSwitchRepository {
  readonly #db: Db;
  readonly #get;
  readonly #set;

  constructor(db: Db) {
    this.#db = db;
    this.#get = db.prepare<[], Row>('SELECT enabled, changed_at, changed_by FROM public_switch WHERE id = 1');
    this.#set = db.prepare<[number, number, string]>(
      `INSERT INTO public_switch (id, enabled, changed_at, changed_by) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, changed_at = excluded.changed_at, changed_by = excluded.changed_by`,
    );
  }

  get(): PublicSwitchState {
    const row = this.#get.get();
    return row ? { enabled: row.enabled === 1, changedAt: row.changed_at, changedBy: row.changed_by } : { enabled: true, changedAt: null, changedBy: null };
  }

  set(enabled: boolean, at: number, by: string): void {
    this.#set.run(enabled ? 1 : 0, at, by);
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
