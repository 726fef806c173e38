import type { Db } from './database';

/** What the daemon remembers about each source across restarts. */
export interface SourceState {
  sourceId: string;
  lastSlot: number | null;
  lastCaptureAt: number | null;
  lastPictureId: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  consecutiveFailures: number;
  captures: number;
  failures: number;
  skipped: number;
  /** When the recovery ladder gave up on the camera; null while it is up. */
  downSince: number | null;
  /** Power cycles on the local day `powerCyclesDay`. */
  powerCyclesDay: string | null;
  powerCyclesToday: number;
  lastPowerCycleAt: number | null;
}

export interface DayCounts {
  failures: number;
  skipped: number;
  purged: number;
}

interface Row {
  source_id: string;
  last_slot: number | null;
  last_capture_at: number | null;
  last_picture_id: number | null;
  last_error: string | null;
  last_error_at: number | null;
  consecutive_failures: number;
  captures: number;
  failures: number;
  skipped: number;
  down_since: number | null;
  power_cycles_day: string | null;
  power_cycles_today: number;
  last_power_cycle_at: number | null;
}

const EMPTY = (sourceId: string): SourceState => ({
  sourceId,
  lastSlot: null,
  lastCaptureAt: null,
  lastPictureId: null,
  lastError: null,
  lastErrorAt: null,
  consecutiveFailures: 0,
  captures: 0,
  failures: 0,
  skipped: 0,
  downSince: null,
  powerCyclesDay: null,
  powerCyclesToday: 0,
  lastPowerCycleAt: null,
});

export class SourceStateRepository {
  readonly #get;
  readonly #ensure;
  readonly #slot;
  readonly #success;
  readonly #failure;
  readonly #skip;
  readonly #down;
  readonly #powerCycle;
  readonly #dayCount;
  readonly #day;

  constructor(db: Db) {
    this.#dayCount = {
      failures: db.prepare<[string, string, number]>(`INSERT INTO source_days (source_id, local_date, failures) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET failures = failures + excluded.failures`),
      skipped: db.prepare<[string, string, number]>(`INSERT INTO source_days (source_id, local_date, skipped) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET skipped = skipped + excluded.skipped`),
      purged: db.prepare<[string, string, number]>(`INSERT INTO source_days (source_id, local_date, purged) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET purged = purged + excluded.purged`),
    };
    this.#day = db.prepare<[string, string], DayCounts>(`SELECT failures, skipped, purged FROM source_days WHERE source_id = ? AND local_date = ?`);
    this.#get = db.prepare<[string], Row>(`SELECT * FROM source_state WHERE source_id = ?`);
    this.#ensure = db.prepare<[string]>(`INSERT OR IGNORE INTO source_state (source_id) VALUES (?)`);
    this.#slot = db.prepare<[number, string]>(`UPDATE source_state SET last_slot = ? WHERE source_id = ?`);
    this.#success = db.prepare<[number, number, string]>(
      `UPDATE source_state SET last_capture_at = ?, last_picture_id = ?, consecutive_failures = 0, captures = captures + 1 WHERE source_id = ?`,
    );
    this.#failure = db.prepare<[string, number, string]>(
      `UPDATE source_state SET last_error = ?, last_error_at = ?, consecutive_failures = consecutive_failures + 1, failures = failures + 1 WHERE source_id = ?`,
    );
    this.#skip = db.prepare<[number, string]>(`UPDATE source_state SET skipped = skipped + ? WHERE source_id = ?`);
    this.#down = db.prepare<[number | null, string]>(`UPDATE source_state SET down_since = ? WHERE source_id = ?`);
    this.#powerCycle = db.prepare<[string, string, number, string]>(
      `UPDATE source_state SET power_cycles_today = CASE WHEN power_cycles_day = ? THEN power_cycles_today + 1 ELSE 1 END,
         power_cycles_day = ?, last_power_cycle_at = ? WHERE source_id = ?`,
    );
  }

  get(sourceId: string): SourceState {
    const r = this.#get.get(sourceId);
    if (!r) return EMPTY(sourceId);
    return {
      sourceId: r.source_id,
      lastSlot: r.last_slot,
      lastCaptureAt: r.last_capture_at,
      lastPictureId: r.last_picture_id,
      lastError: r.last_error,
      lastErrorAt: r.last_error_at,
      consecutiveFailures: r.consecutive_failures,
      captures: r.captures,
      failures: r.failures,
      skipped: r.skipped,
      downSince: r.down_since,
      powerCyclesDay: r.power_cycles_day,
      powerCyclesToday: r.power_cycles_today,
      lastPowerCycleAt: r.last_power_cycle_at,
    };
  }

  /** Records that a scheduled slot was started, so it is never started again. */
  markSlot(sourceId: string, slot: number): void {
    this.#ensure.run(sourceId);
    this.#slot.run(slot, sourceId);
  }

  recordSuccess(sourceId: string, at: number, pictureId: number): void {
    this.#ensure.run(sourceId);
    this.#success.run(at, pictureId, sourceId);
  }

  /** A failed capture, counted in total and on its local day `day`. */
  recordFailure(sourceId: string, at: number, error: string, day: string): void {
    this.#ensure.run(sourceId);
    this.#failure.run(error, at, sourceId);
    this.#dayCount.failures.run(sourceId, day, 1);
  }

  /** Slots that got no capture (camera busy, daemon late, disk full), counted in total and on the local day `day`. */
  recordSkip(sourceId: string, day: string, count = 1): void {
    this.#ensure.run(sourceId);
    this.#skip.run(count, sourceId);
    this.#dayCount.skipped.run(sourceId, day, count);
  }

  /** Pictures of the local day `day` that retention deleted. */
  recordPurged(sourceId: string, day: string, count: number): void {
    this.#dayCount.purged.run(sourceId, day, count);
  }

  /** Failures, skipped slots and purged pictures of one local day. */
  day(sourceId: string, day: string): DayCounts {
    return this.#day.get(sourceId, day) ?? { failures: 0, skipped: 0, purged: 0 };
  }

  /** Marks the camera down (at a time) or back up (null). */
  setDown(sourceId: string, since: number | null): void {
    this.#ensure.run(sourceId);
    this.#down.run(since, sourceId);
  }

  /** Counts a power cycle on the local day `day`; the counter restarts each day. */
  recordPowerCycle(sourceId: string, at: number, day: string): void {
    this.#ensure.run(sourceId);
    this.#powerCycle.run(day, day, at, sourceId);
  }

  /** Power cycles so far on the local day `day`. */
  powerCyclesOn(sourceId: string, day: string): number {
    const state = this.get(sourceId);
    return state.powerCyclesDay === day ? state.powerCyclesToday : 0;
  }
}
