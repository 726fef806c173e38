import type { Db } from './database';
import { DERIVATIVE_KINDS, type DerivativeKind, type RejectionCode, type Picture } from '../domain/pictures';
import type { PictureExposure } from '../domain/exposure';

export type NewPicture = Omit<Picture, 'id' | 'missing' | 'sha256' | 'exifTakenAt' | 'luminance' | 'exposure' | 'rejection' | 'derivatives'> &
  Partial<Pick<Picture, 'sha256' | 'exifTakenAt' | 'luminance' | 'exposure' | 'rejection' | 'derivatives'>>;

/** A picture's light, for the exposure ramp and its chart: when, how bright, with what settings. */
export interface ExposedPicture {
  takenAt: number;
  luminance: number | null;
  exposure: PictureExposure | null;
  /** Left out of films and galleries (too dark, too bright...), but still a measure of the light. */
  rejected: boolean;
}

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
  sha256: string | null;
  exif_taken_at: number | null;
  luminance: number | null;
  rejection: string | null;
  rejection_detail: string | null;
  derivatives: string;
  exposure: string | null;
  ev: number | null;
}

const KINDS: ReadonlySet<string> = new Set(DERIVATIVE_KINDS);

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
  sha256: r.sha256,
  exifTakenAt: r.exif_taken_at,
  luminance: r.luminance,
  exposure: exposureOf(r.exposure, r.ev),
  rejection: r.rejection === null ? null : { code: r.rejection as RejectionCode, detail: r.rejection_detail ?? '' },
  derivatives: r.derivatives.split(',').filter((k): k is DerivativeKind => KINDS.has(k)),
});

/** The stored exposure: its JSON labels and its EV; null when either is missing or unreadable. */
function exposureOf(json: string | null, ev: number | null): PictureExposure | null {
  if (json === null || ev === null) return null;
  try {
    const labels = JSON.parse(json) as Record<string, unknown>;
    const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    return { shutter: text(labels['shutter']), iso: text(labels['iso']), aperture: text(labels['aperture']), ev };
  } catch {
    return null;
  }
}

export class PicturesRepository {
  readonly #db: Db;
  readonly #insert;
  readonly #latest;
  readonly #byId;
  readonly #count;
  readonly #paths;
  readonly #markMissing;
  readonly #setDerivatives;
  readonly #usable;
  readonly #days;
  readonly #rejectedDays;
  readonly #firstUsable;
  readonly #dayCount;
  readonly #dayPage;
  readonly #rangePage;
  readonly #before;
  readonly #after;
  readonly #oldest;
  readonly #delete;
  readonly #exposed;

  constructor(db: Db) {
    this.#db = db;
    this.#insert = db.prepare<[string, number, string, string, number, number, number, string | null, number | null, number | null, string | null, string | null, string, number, string | null, number | null]>(
      `INSERT INTO pictures (source_id, taken_at, local_date, path, size, width, height, sha256, exif_taken_at, luminance, rejection, rejection_detail, derivatives, created_at, exposure, ev)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    type Exposed = { taken_at: number; luminance: number | null; exposure: string | null; ev: number | null; rejection: string | null };
    const exposed = (order: 'ASC' | 'DESC') =>
      db.prepare<{ source: string; from: number; to: number; limit: number }, Exposed>(
        `SELECT taken_at, luminance, exposure, ev, rejection FROM pictures INDEXED BY pictures_by_source_time
         WHERE source_id = @source AND taken_at >= @from AND taken_at < @to AND missing = 0
         ORDER BY taken_at ${order} LIMIT @limit`,
      );
    this.#exposed = { oldestFirst: exposed('ASC'), newestFirst: exposed('DESC') };
    this.#latest = db.prepare<[string, number], Row>(
      `SELECT * FROM pictures WHERE source_id = ? AND missing = 0 AND rejection IS NULL AND taken_at <= ? ORDER BY taken_at DESC, id DESC LIMIT 1`,
    );
    this.#byId = db.prepare<[number], Row>(`SELECT * FROM pictures WHERE id = ?`);
    // Usable pictures from the per-day counts, plus the (few) rejected ones through their own index.
    this.#count = db.prepare<{ source: string }, { n: number }>(
      `SELECT (SELECT coalesce(sum(count), 0) FROM picture_days WHERE source_id = @source)
            + (SELECT count(*) FROM pictures INDEXED BY pictures_rejected WHERE source_id = @source AND rejection IS NOT NULL AND missing = 0) AS n`,
    );
    this.#paths = db.prepare<[], { id: number; path: string; missing: number }>(`SELECT id, path, missing FROM pictures`);
    this.#markMissing = db.prepare<[number, number]>(`UPDATE pictures SET missing = ? WHERE id = ?`);
    this.#setDerivatives = db.prepare<[string, number]>(`UPDATE pictures SET derivatives = ? WHERE id = ?`);
    this.#usable = db.prepare<[string, number, number], { id: number; takenAt: number }>(
      `SELECT id, taken_at AS takenAt FROM pictures INDEXED BY pictures_usable
       WHERE source_id = ? AND rejection IS NULL AND missing = 0 AND taken_at >= ? AND taken_at < ? ORDER BY taken_at, id`,
    );
    this.#rejectedDays = db.prepare<[string, string, string], { date: string; count: number }>(
      `SELECT local_date AS date, count(*) AS count FROM pictures WHERE source_id = ? AND rejection IS NOT NULL AND missing = 0 AND local_date BETWEEN ? AND ? GROUP BY local_date`,
    );
    this.#firstUsable = db.prepare<[string], { at: number | null }>('SELECT min(taken_at) AS at FROM pictures WHERE source_id = ? AND rejection IS NULL AND missing = 0');
    this.#days = db.prepare<[string], { date: string; count: number }>(
      `SELECT local_date AS date, count FROM picture_days WHERE source_id = ? AND count > 0 ORDER BY local_date`,
    );
    this.#dayCount = db.prepare<[string, string], { count: number }>('SELECT count FROM picture_days WHERE source_id = ? AND local_date = ?');
    type Cursor = { source: string; afterAt: number; afterId: number; limit: number };
    this.#dayPage = db.prepare<Cursor & { date: string }, Row>(
      `SELECT * FROM pictures INDEXED BY pictures_by_source_day
       WHERE source_id = @source AND local_date = @date AND rejection IS NULL AND missing = 0 AND (taken_at, id) > (@afterAt, @afterId)
       ORDER BY taken_at, id LIMIT @limit`,
    );
    this.#rangePage = db.prepare<Cursor & { from: number; to: number }, Row>(
      `SELECT * FROM pictures INDEXED BY pictures_usable
       WHERE source_id = @source AND rejection IS NULL AND missing = 0 AND taken_at >= @from AND taken_at < @to AND (taken_at, id) > (@afterAt, @afterId)
       ORDER BY taken_at, id LIMIT @limit`,
    );
    this.#before = db.prepare<{ source: string; at: number; id: number }, Row>(
      `SELECT * FROM pictures INDEXED BY pictures_usable
       WHERE source_id = @source AND rejection IS NULL AND missing = 0 AND (taken_at, id) < (@at, @id)
       ORDER BY taken_at DESC, id DESC LIMIT 1`,
    );
    this.#after = db.prepare<{ source: string; at: number; id: number }, Row>(
      `SELECT * FROM pictures INDEXED BY pictures_usable
       WHERE source_id = @source AND rejection IS NULL AND missing = 0 AND (taken_at, id) > (@at, @id)
       ORDER BY taken_at, id LIMIT 1`,
    );
    this.#oldest = db.prepare<{ source: string; before: number; afterAt: number; afterId: number; limit: number }, Row>(
      `SELECT * FROM pictures INDEXED BY pictures_by_source_time
       WHERE source_id = @source AND taken_at < @before AND (taken_at, id) > (@afterAt, @afterId)
       ORDER BY taken_at, id LIMIT @limit`,
    );
    this.#delete = db.prepare<[number]>(`DELETE FROM pictures WHERE id = ?`);
  }

  /**
   * Pictures of a source (any state) taken before `before`, oldest first, after the
   * cursor `(takenAt, id)`: the candidates of retention.
   */
  oldest(sourceId: string, before: number, limit: number, after?: { takenAt: number; id: number }): Picture[] {
    return this.#oldest.all({ source: sourceId, before, afterAt: after?.takenAt ?? -1, afterId: after?.id ?? 0, limit }).map(toPicture);
  }

  /** Removes rows (their files are gone); call inside the caller's transaction when it updates more. */
  delete(ids: readonly number[]): number {
    let n = 0;
    for (const id of ids) n += this.#delete.run(id).changes;
    return n;
  }

  /** Days with usable pictures and their counts, oldest first (kept by triggers: one small read). */
  days(sourceId: string): { date: string; count: number }[] {
    return this.#days.all(sourceId);
  }

  /** Pictures kept but left out (too dark, too bright) per local day of [from, to] (`YYYY-MM-DD`). */
  rejectedDays(sourceId: string, from: string, to: string): Map<string, number> {
    return new Map(this.#rejectedDays.all(sourceId, from, to).map((r) => [r.date, r.count]));
  }

  /** When the first usable picture of a source was taken, or null. */
  firstTakenAt(sourceId: string): number | null {
    return this.#firstUsable.get(sourceId)?.at ?? null;
  }

  /** Usable pictures of one local day (`YYYY-MM-DD`), from the per-day counts. */
  countOn(sourceId: string, date: string): number {
    return this.#dayCount.get(sourceId, date)?.count ?? 0;
  }

  /**
   * Usable pictures of one local day, or of [from, to), in time order, after the
   * cursor `(takenAt, id)` of the last one a client already has.
   */
  page(sourceId: string, range: { date: string } | { from: number; to: number }, limit: number, after?: { takenAt: number; id: number }): Picture[] {
    const cursor = { afterAt: after?.takenAt ?? -1, afterId: after?.id ?? 0, limit };
    const rows = 'date' in range ? this.#dayPage.all({ source: sourceId, date: range.date, ...cursor }) : this.#rangePage.all({ source: sourceId, from: range.from, to: range.to, ...cursor });
    return rows.map(toPicture);
  }

  /** The usable picture of the source just before or after `(takenAt, id)`. */
  neighbour(sourceId: string, at: { takenAt: number; id: number }, direction: 'before' | 'after'): Picture | undefined {
    const row = (direction === 'before' ? this.#before : this.#after).get({ source: sourceId, at: at.takenAt, id: at.id });
    return row && toPicture(row);
  }

  /** The usable picture nearest to an instant (the earlier one on a tie). */
  nearest(sourceId: string, at: number): Picture | undefined {
    const before = this.#before.get({ source: sourceId, at, id: Number.MAX_SAFE_INTEGER });
    const after = this.#after.get({ source: sourceId, at, id: Number.MAX_SAFE_INTEGER });
    const pick = !before ? after : !after ? before : after.taken_at - at < at - before.taken_at ? after : before;
    return pick && toPicture(pick);
  }

  /** Inserts and returns the new id; call inside the caller's transaction when it updates more. */
  insert(p: NewPicture, now: number = Date.now()): number {
    return Number(
      this.#insert.run(
        p.sourceId,
        p.takenAt,
        p.localDate,
        p.path,
        p.size,
        p.width,
        p.height,
        p.sha256 ?? null,
        p.exifTakenAt ?? null,
        p.luminance ?? null,
        p.rejection?.code ?? null,
        p.rejection?.detail ?? null,
        (p.derivatives ?? []).join(','),
        now,
        p.exposure ? JSON.stringify({ shutter: p.exposure.shutter, iso: p.exposure.iso, aperture: p.exposure.aperture }) : null,
        p.exposure?.ev ?? null,
      ).lastInsertRowid,
    );
  }

  /** The newest usable picture of a source taken at or before `notAfter` (ms): never a rejected one. */
  latest(sourceId: string, notAfter: number = Number.MAX_SAFE_INTEGER): Picture | undefined {
    const row = this.#latest.get(sourceId, notAfter);
    return row && toPicture(row);
  }

  get(id: number): Picture | undefined {
    const row = this.#byId.get(id);
    return row && toPicture(row);
  }

  /**
   * Id and time of every usable picture of a source in [from, to), in time order:
   * lean rows, since a year at one a minute is half a million of them.
   */
  usableBetween(sourceId: string, from: number, to: number): { id: number; takenAt: number }[] {
    return this.#usable.all(sourceId, from, to);
  }

  /**
   * The light of a source's pictures taken in [from, to), rejected ones included (a too-dark
   * frame is what the ramp must learn from): in time order, or the newest `limit` first.
   */
  exposed(sourceId: string, from: number, to: number, options: { limit: number; newestFirst?: boolean }): ExposedPicture[] {
    const statement = options.newestFirst ? this.#exposed.newestFirst : this.#exposed.oldestFirst;
    return statement.all({ source: sourceId, from, to, limit: options.limit }).map((r) => ({
      takenAt: r.taken_at,
      luminance: r.luminance,
      exposure: exposureOf(r.exposure, r.ev),
      rejected: r.rejection !== null,
    }));
  }

  count(sourceId: string): number {
    return this.#count.get({ source: sourceId })!.n;
  }

  /** Every indexed path, for the start-up reconciliation. */
  allPaths(): { id: number; path: string; missing: boolean }[] {
    return this.#paths.all().map((r) => ({ id: r.id, path: r.path, missing: r.missing === 1 }));
  }

  setMissing(id: number, missing: boolean): void {
    this.#markMissing.run(missing ? 1 : 0, id);
  }

  /** Records which sizes of a picture are on disk. */
  setDerivatives(id: number, kinds: readonly DerivativeKind[]): void {
    this.#setDerivatives.run(DERIVATIVE_KINDS.filter((k) => kinds.includes(k)).join(','), id);
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
