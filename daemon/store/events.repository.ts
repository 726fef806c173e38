import type { Db } from './database';

export type EventKind =
  | 'camera-down'
  | 'camera-up'
  | 'camera-power-cycle'
  | 'sync-unreachable'
  | 'sync-reachable'
  | 'sync-host-key-mismatch'
  | 'sync-backlog'
  | 'sync-backlog-cleared';

export interface BoxEvent {
  id: number;
  at: number;
  sourceId: string | null;
  /** The sync target the event is about. */
  targetId: string | null;
  kind: EventKind;
  /** Text without times: readers show `at` and `since` in the appliance's time zone. */
  message: string;
  /** When what the event is about began (ms), when that is not `at`: a sync outage, the oldest waiting file. */
  since: number | null;
  notifiedAt: number | null;
}

interface Row {
  id: number;
  at: number;
  source_id: string | null;
  target_id: string | null;
  kind: EventKind;
  message: string;
  since: number | null;
  notified_at: number | null;
}

/**
 * Things a person should hear about, kept as an outbox: written in the same
 * database as the state they describe, sent (and marked) by the alerts service.
 */
export class EventsRepository {
  readonly #insert;
  readonly #recent;
  readonly #pending;
  readonly #markNotified;

  constructor(db: Db) {
    this.#insert = db.prepare<[number, string | null, string | null, string, string, number | null]>(`INSERT INTO events (at, source_id, target_id, kind, message, since) VALUES (?, ?, ?, ?, ?, ?)`);
    this.#recent = db.prepare<[number], Row>(`SELECT * FROM events ORDER BY id DESC LIMIT ?`);
    this.#pending = db.prepare<[], Row>(`SELECT * FROM events WHERE notified_at IS NULL ORDER BY id`);
    this.#markNotified = db.prepare<[number, number]>(`UPDATE events SET notified_at = ? WHERE id = ?`);
  }

  add(event: { at: number; sourceId: string | null; targetId?: string | null; kind: EventKind; message: string; since?: number | null }): number {
    return Number(this.#insert.run(event.at, event.sourceId, event.targetId ?? null, event.kind, event.message, event.since ?? null).lastInsertRowid);
  }

  /** Newest first. */
  recent(limit = 100): BoxEvent[] {
    return this.#recent.all(limit).map(toEvent);
  }

  pending(): BoxEvent[] {
    return this.#pending.all().map(toEvent);
  }

  markNotified(id: number, at: number): void {
    this.#markNotified.run(at, id);
  }
}

function toEvent(r: Row): BoxEvent {
  return { id: r.id, at: r.at, sourceId: r.source_id, targetId: r.target_id, kind: r.kind, message: r.message, since: r.since, notifiedAt: r.notified_at };
}
