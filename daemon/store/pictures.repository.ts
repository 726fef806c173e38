import type { Db } from './database';

/** A stored picture as the rest of the daemon sees it. */
export interface Picture {
  id: number;
  sourceId: string;
  takenAt: number;
  localDate: string;
  /** Relative to the data folder. */
  path: string;
  size: number;
  width: number;
  height: number;
  missing: boolean;
}

export type NewPicture = Omit<Picture, 'id' | 'missing'>;

interface Row {
  id: number;
  source_id: string;
  taken_at: number;
  local_date: string;
  path: string;
  size: number;
  width: number;
  height: number;
  missing: number;
}

const toPicture = (r: Row): Picture => ({
  id: r.id,
  sourceId: r.source_id,
  takenAt: r.taken_at,
  localDate: r.local_date,
  path: r.path,
  size: r.size,
  width: r.width,
  height: r.height,
  missing: r.missing === 1,
});

export class PicturesRepository {
  readonly #db: Db;
  readonly #insert;
  readonly #latest;
  readonly #byId;
  readonly #count;
  readonly #paths;
  readonly #markMissing;

  constructor(db: Db) {
    this.#db = db;
    this.#insert = db.prepare<[string, number, string, string, number, number, number, number]>(
      `INSERT INTO pictures (source_id, taken_at, local_date, path, size, width, height, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#latest = db.prepare<[string, number], Row>(
      `SELECT * FROM pictures WHERE source_id = ? AND missing = 0 AND taken_at <= ? ORDER BY taken_at DESC, id DESC LIMIT 1`,
    );
    this.#byId = db.prepare<[number], Row>(`SELECT * FROM pictures WHERE id = ?`);
    this.#count = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM pictures WHERE source_id = ? AND missing = 0`);
    this.#paths = db.prepare<[], { id: number; path: string; missing: number }>(`SELECT id, path, missing FROM pictures`);
    this.#markMissing = db.prepare<[number, number]>(`UPDATE pictures SET missing = ? WHERE id = ?`);
  }

  /** Inserts and returns the new id; call inside the caller's transaction when it updates more. */
  insert(p: NewPicture, now: number = Date.now()): number {
    return Number(this.#insert.run(p.sourceId, p.takenAt, p.localDate, p.path, p.size, p.width, p.height, now).lastInsertRowid);
  }

  /** The newest picture of a source taken at or before `notAfter` (ms). */
  latest(sourceId: string, notAfter: number = Number.MAX_SAFE_INTEGER): Picture | undefined {
    const row = this.#latest.get(sourceId, notAfter);
    return row && toPicture(row);
  }

  get(id: number): Picture | undefined {
    const row = this.#byId.get(id);
    return row && toPicture(row);
  }

  count(sourceId: string): number {
    return this.#count.get(sourceId)!.n;
  }

  /** Every indexed path, for the start-up reconciliation. */
  allPaths(): { id: number; path: string; missing: boolean }[] {
    return this.#paths.all().map((r) => ({ id: r.id, path: r.path, missing: r.missing === 1 }));
  }

  setMissing(id: number, missing: boolean): void {
    this.#markMissing.run(missing ? 1 : 0, id);
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
