import type { Db } from './database';

export type AlertState = 'ok' | 'raised';
export type AlertLevel = 'warning' | 'error';

/** One watched condition and what people were last told about it. */
export interface AlertRecord {
  key: string;
  kind: string;
  sourceId: string | null;
  targetId: string | null;
  state: AlertState;
  severity: AlertLevel;
  message: string;
  /** Start of the current (or last) episode. */
  raisedAt: number | null;
  changedAt: number;
  notifiedAt: number | null;
  /** What the last message said: raised or ok; null when nothing was sent yet. */
  notifiedState: AlertState | null;
  reminders: number;
  /** Changes held back by the quiet period since the last message. */
  flaps: number;
}

interface Row {
  key: string;
  kind: string;
  source_id: string | null;
  target_id: string | null;
  state: AlertState;
  severity: AlertLevel;
  message: string;
  raised_at: number | null;
  changed_at: number;
  notified_at: number | null;
  notified_state: AlertState | null;
  reminders: number;
  flaps: number;
}

const toRecord = (r: Row): AlertRecord => ({
  key: r.key,
  kind: r.kind,
  sourceId: r.source_id,
  targetId: r.target_id,
  state: r.state,
  severity: r.severity,
  message: r.message,
  raisedAt: r.raised_at,
  changedAt: r.changed_at,
  notifiedAt: r.notified_at,
  notifiedState: r.notified_state,
  reminders: r.reminders,
  flaps: r.flaps,
});

/** The alerts' states, kept across restarts so a restart neither repeats nor forgets a message. */
export class AlertsRepository {
  readonly #all;
  readonly #save;

  constructor(db: Db) {
    this.#all = db.prepare<[], Row>(`SELECT * FROM alerts ORDER BY key`);
    this.#save = db.prepare(
      `INSERT INTO alerts (key, kind, source_id, target_id, state, severity, message, raised_at, changed_at, notified_at, notified_state, reminders, flaps)
       VALUES (@key, @kind, @sourceId, @targetId, @state, @severity, @message, @raisedAt, @changedAt, @notifiedAt, @notifiedState, @reminders, @flaps)
       ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, source_id = excluded.source_id, target_id = excluded.target_id, state = excluded.state,
         severity = excluded.severity, message = excluded.message, raised_at = excluded.raised_at, changed_at = excluded.changed_at,
         notified_at = excluded.notified_at, notified_state = excluded.notified_state, reminders = excluded.reminders, flaps = excluded.flaps`,
    );
  }

  all(): AlertRecord[] {
    return this.#all.all().map(toRecord);
  }

  save(record: AlertRecord): void {
    this.#save.run(record);
  }
}
