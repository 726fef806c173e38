import type { Db } from './database';
import type { TimeOfDay, Weekday } from '../domain/schedule';

/** A schedule as recorded: the interval and its windows (none: all day). */
export interface ScheduleSpec {
  everyMs: number;
  windows?: { days: Weekday[]; from: TimeOfDay; to: TimeOfDay }[];
}

/** Why a slot got no picture while the daemon ran. */
export type GapKind = 'camera' | 'disk' | 'busy' | 'late';

/** A run of slots of one kind that got no picture (`slot_gaps`, migration 15). */
export interface SlotGap {
  id: number;
  sourceId: string;
  kind: GapKind;
  firstAt: number;
  lastAt: number;
  slots: number;
  /** The camera's error for `camera`; null otherwise. */
  message: string | null;
}

/** A slot that got no picture, as its recorder tells it. */
export interface GapNote {
  kind: GapKind;
  at: number;
  message?: string | null;
  /** The source's interval: a note within two of them (and a minute) after the last one of the same kind and message extends its run. */
  everyMs: number;
}

/**
 * Missed slots of one kind this close together make one run: two intervals and a
 * minute (a capture may take that long before it fails), so that a camera down all
 * afternoon is one line, and a night outside the windows starts a new one.
 */
export function gapJoinMs(everyMs: number): number {
  return 2 * everyMs + 60_000;
}

/** The schedule of a source from `since` on; null: no slot (disabled or removed). */
export interface ScheduleEntry {
  since: number;
  schedule: ScheduleSpec | null;
}

/** One run of the daemon: from its start to its last heartbeat or its stop. */
export interface DaemonRun {
  startedAt: number;
  aliveAt: number;
  stoppedAt: number | null;
}

interface GapRow {
  id: number;
  source_id: string;
  kind: GapKind;
  first_at: number;
  last_at: number;
  slots: number;
  message: string | null;
}

/**
 * What a coverage calendar is computed from: each source's schedule over time, the
 * slots that got no picture and why, and when the daemon ran.
 */
export class CoverageRepository {
  readonly #db: Db;
  readonly #latestSchedule;
  readonly #insertSchedule;
  readonly #schedules;
  readonly #sourcesWithHistory;
  readonly #firstSchedule;
  readonly #lastGap;
  readonly #extendGap;
  readonly #insertGap;
  readonly #gaps;
  readonly #startRun;
  readonly #beat;
  readonly #stopRun;
  readonly #runs;
  readonly #firstRun;

  constructor(db: Db) {
    this.#db = db;
    this.#latestSchedule = db.prepare<[string], { schedule: string | null }>('SELECT schedule FROM schedule_history WHERE source_id = ? ORDER BY since DESC LIMIT 1');
    this.#insertSchedule = db.prepare<[string, number, string | null]>('INSERT OR REPLACE INTO schedule_history (source_id, since, schedule) VALUES (?, ?, ?)');
    this.#schedules = db.prepare<[{ source: string; from: number; to: number }], { since: number; schedule: string | null }>(
      // The entry in force at `from` (the last one before it) and every change up to `to`.
      `SELECT since, schedule FROM schedule_history WHERE source_id = @source AND since >= coalesce((SELECT max(since) FROM schedule_history WHERE source_id = @source AND since <= @from), 0) AND since < @to ORDER BY since`,
    );
    this.#firstSchedule = db.prepare<[string], { since: number; schedule: string | null }>('SELECT since, schedule FROM schedule_history WHERE source_id = ? ORDER BY since LIMIT 1');
    this.#sourcesWithHistory = db.prepare<[], { source_id: string }>('SELECT DISTINCT source_id FROM schedule_history');
    this.#lastGap = db.prepare<[string], GapRow>('SELECT * FROM slot_gaps WHERE source_id = ? ORDER BY last_at DESC, id DESC LIMIT 1');
    this.#extendGap = db.prepare<[number, number, number]>('UPDATE slot_gaps SET last_at = max(last_at, ?), slots = slots + ? WHERE id = ?');
    this.#insertGap = db.prepare<[string, GapKind, number, number, number, string | null]>('INSERT INTO slot_gaps (source_id, kind, first_at, last_at, slots, message) VALUES (?, ?, ?, ?, ?, ?)');
    this.#gaps = db.prepare<[string, number, number], GapRow>('SELECT * FROM slot_gaps WHERE source_id = ? AND last_at >= ? AND first_at < ? ORDER BY first_at, id');
    this.#startRun = db.prepare<[number, number]>('INSERT OR REPLACE INTO daemon_runs (started_at, alive_at, stopped_at) VALUES (?, ?, NULL)');
    this.#beat = db.prepare<[number, number]>('UPDATE daemon_runs SET alive_at = max(alive_at, ?) WHERE started_at = ?');
    this.#stopRun = db.prepare<[number, number, number]>('UPDATE daemon_runs SET alive_at = max(alive_at, ?), stopped_at = ? WHERE started_at = ?');
    this.#runs = db.prepare<[number, number], { started_at: number; alive_at: number; stopped_at: number | null }>(
      'SELECT started_at, alive_at, stopped_at FROM daemon_runs WHERE alive_at >= ? AND started_at < ? ORDER BY started_at',
    );
    this.#firstRun = db.prepare<[], { started_at: number }>('SELECT min(started_at) AS started_at FROM daemon_runs');
  }

  /**
   * Records the schedules in force from `at` on: one entry per source whose schedule
   * changed (null for a disabled one), and null for a source no longer configured.
   * Returns the sources whose entry changed.
   */
  recordSchedules(schedules: ReadonlyMap<string, ScheduleSpec | null>, at: number): string[] {
    return this.#db.transaction(() => {
      const changed: string[] = [];
      const write = (id: string, spec: ScheduleSpec | null) => {
        const json = spec === null ? null : JSON.stringify({ everyMs: spec.everyMs, windows: spec.windows ?? [] });
        const last = this.#latestSchedule.get(id);
        if (last ? last.schedule === json : json === null) return;
        this.#insertSchedule.run(id, at, json);
        changed.push(id);
      };
      for (const [id, spec] of schedules) write(id, spec);
      for (const { source_id } of this.#sourcesWithHistory.all()) if (!schedules.has(source_id)) write(source_id, null);
      return changed;
    })();
  }

  /** The schedule entries of a source that hold over [from, to): the one in force at `from`, then each change. */
  schedules(sourceId: string, from: number, to: number): ScheduleEntry[] {
    return this.#schedules.all({ source: sourceId, from, to }).map((r) => ({ since: r.since, schedule: r.schedule === null ? null : (JSON.parse(r.schedule) as ScheduleSpec) }));
  }

  /** The first schedule recorded for a source, or null. */
  firstSchedule(sourceId: string): ScheduleEntry | null {
    const r = this.#firstSchedule.get(sourceId);
    return r ? { since: r.since, schedule: r.schedule === null ? null : (JSON.parse(r.schedule) as ScheduleSpec) } : null;
  }

  /** Counts a slot (or several) that got no picture into the current run of its kind, or starts a run. */
  recordGap(sourceId: string, note: GapNote, slots = 1): void {
    const message = note.message ?? null;
    const last = this.#lastGap.get(sourceId);
    if (last && last.kind === note.kind && last.message === message && note.at - last.last_at <= gapJoinMs(note.everyMs) && note.at >= last.first_at) {
      this.#extendGap.run(note.at, slots, last.id);
    } else {
      this.#insertGap.run(sourceId, note.kind, note.at, note.at, slots, message);
    }
  }

  /** Runs of missed slots of a source that overlap [from, to), by start. */
  gaps(sourceId: string, from: number, to: number): SlotGap[] {
    return this.#gaps.all(sourceId, from, to).map((r) => ({ id: r.id, sourceId: r.source_id, kind: r.kind, firstAt: r.first_at, lastAt: r.last_at, slots: r.slots, message: r.message }));
  }

  startRun(at: number): void {
    this.#startRun.run(at, at);
  }

  heartbeat(startedAt: number, at: number): void {
    this.#beat.run(at, startedAt);
  }

  stopRun(startedAt: number, at: number): void {
    this.#stopRun.run(at, at, startedAt);
  }

  /** The daemon's runs that overlap [from, to), by start. */
  runs(from: number, to: number): DaemonRun[] {
    return this.#runs.all(from, to).map((r) => ({ startedAt: r.started_at, aliveAt: r.alive_at, stoppedAt: r.stopped_at }));
  }

  /** When the daemon first recorded a run: before it, nothing is known of the box being off. */
  firstRun(): number | null {
    return this.#firstRun.get()?.started_at ?? null;
  }
}
