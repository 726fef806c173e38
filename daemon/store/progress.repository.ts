import type { Db } from './database';

export type ProgressEmailKind = 'scheduled' | 'manual';
export type ProgressEmailState = 'pending' | 'sent' | 'failed' | 'skipped';

/** One progress e-mail of a source: queued, sent, given up, or skipped (nothing to show). */
export interface ProgressEmail {
  id: number;
  sourceId: string;
  kind: ProgressEmailKind;
  /** The slot of the rhythm it is for, or when a person asked for it. */
  slot: number;
  state: ProgressEmailState;
  /** What it shows, chosen when it was queued (so a retry shows the same). */
  content: ProgressContent | null;
  recipients: number;
  /** Failed sends so far. */
  attempts: number;
  nextAttemptAt: number;
  /** Set while a send is under way; found at start-up, the mail may have arrived. */
  sendingSince: number | null;
  lastError: string | null;
  shareId: number | null;
  createdAt: number;
  sentAt: number | null;
}

/** What an e-mail shows: picture ids and a film id, as the database knows them. */
export type ProgressContent =
  | { kind: 'latest'; picture: number; from: string }
  | { kind: 'compare'; pictures: [number, number]; days: number }
  | { kind: 'film'; video: number; picture: number | null };

interface Row {
  id: number;
  source_id: string;
  kind: ProgressEmailKind;
  slot: number;
  state: ProgressEmailState;
  content: string | null;
  recipients: number;
  attempts: number;
  next_attempt_at: number;
  sending_since: number | null;
  last_error: string | null;
  share_id: number | null;
  created_at: number;
  sent_at: number | null;
}

const toEmail = (r: Row): ProgressEmail => ({
  id: r.id,
  sourceId: r.source_id,
  kind: r.kind,
  slot: r.slot,
  state: r.state,
  content: r.content === null ? null : (JSON.parse(r.content) as ProgressContent),
  recipients: r.recipients,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  sendingSince: r.sending_since,
  lastError: r.last_error,
  shareId: r.share_id,
  createdAt: r.created_at,
  sentAt: r.sent_at,
});

/** What the System page shows of a source's e-mails. */
export interface ProgressHistory {
  lastSent: ProgressEmail | null;
  /** The newest e-mail still waiting (a failed send tried again), if any. */
  pending: ProgressEmail | null;
  /** The newest e-mail given up or skipped since the last one sent. */
  lastProblem: ProgressEmail | null;
  /** E-mails given up, ever. */
  failed: number;
}

/**
 * Progress e-mails (migration 14): a row is written before anything is sent, so a slot is
 * queued once (unique per source and slot), a failure keeps its error and its next attempt,
 * and a crash in the middle of a send is found again at start-up (`sending_since`).
 */
export class ProgressRepository {
  readonly #db: Db;
  readonly #insertScheduled;
  readonly #insertManual;
  readonly #byId;
  readonly #due;
  readonly #nextDue;
  readonly #sending;
  readonly #startSending;
  readonly #sent;
  readonly #failedAttempt;
  readonly #finish;
  readonly #lastScheduled;
  readonly #lastSent;
  readonly #pending;
  readonly #lastProblem;
  readonly #failedCount;
  readonly #earlierShares;
  readonly #rhythm;
  readonly #setRhythm;
  readonly #inFlight;
  readonly #makeDue;

  constructor(db: Db) {
    this.#db = db;
    this.#insertScheduled = db.prepare<[{ source: string; slot: number; now: number }]>(
      `INSERT OR IGNORE INTO progress_emails (source_id, kind, slot, state, next_attempt_at, created_at) VALUES (@source, 'scheduled', @slot, 'pending', @now, @now)`,
    );
    this.#insertManual = db.prepare<[{ source: string; now: number }]>(
      `INSERT INTO progress_emails (source_id, kind, slot, state, next_attempt_at, created_at) VALUES (@source, 'manual', @now, 'pending', @now, @now)`,
    );
    this.#byId = db.prepare<[number], Row>(`SELECT * FROM progress_emails WHERE id = ?`);
    this.#due = db.prepare<[{ now: number; limit: number }], Row>(
      `SELECT * FROM progress_emails WHERE state = 'pending' AND sending_since IS NULL AND next_attempt_at <= @now ORDER BY next_attempt_at, id LIMIT @limit`,
    );
    this.#nextDue = db.prepare<[], { at: number | null }>(`SELECT min(next_attempt_at) AS at FROM progress_emails WHERE state = 'pending' AND sending_since IS NULL`);
    this.#sending = db.prepare<[], Row>(`SELECT * FROM progress_emails WHERE state = 'pending' AND sending_since IS NOT NULL`);
    this.#startSending = db.prepare<[{ id: number; now: number; share: number | null; content: string; recipients: number }]>(
      `UPDATE progress_emails SET sending_since = @now, share_id = @share, content = @content, recipients = @recipients WHERE id = @id AND state = 'pending'`,
    );
    this.#sent = db.prepare<[{ id: number; now: number }]>(`UPDATE progress_emails SET state = 'sent', sent_at = @now, sending_since = NULL, last_error = NULL WHERE id = @id`);
    this.#failedAttempt = db.prepare<[{ id: number; error: string; next: number }]>(
      `UPDATE progress_emails SET attempts = attempts + 1, last_error = @error, next_attempt_at = @next, sending_since = NULL WHERE id = @id AND state = 'pending'`,
    );
    this.#finish = db.prepare<[{ id: number; state: 'failed' | 'skipped'; error: string }]>(
      `UPDATE progress_emails SET state = @state, last_error = @error, sending_since = NULL WHERE id = @id AND state = 'pending'`,
    );
    this.#lastScheduled = db.prepare<[string], { slot: number }>(`SELECT max(slot) AS slot FROM progress_emails WHERE source_id = ? AND kind = 'scheduled'`);
    this.#lastSent = db.prepare<[string], Row>(`SELECT * FROM progress_emails WHERE source_id = ? AND state = 'sent' ORDER BY sent_at DESC, id DESC LIMIT 1`);
    this.#pending = db.prepare<[string], Row>(`SELECT * FROM progress_emails WHERE source_id = ? AND state = 'pending' ORDER BY id DESC LIMIT 1`);
    this.#lastProblem = db.prepare<[{ source: string }], Row>(
      `SELECT * FROM progress_emails WHERE source_id = @source AND state IN ('failed', 'skipped')
         AND id > coalesce((SELECT max(id) FROM progress_emails WHERE source_id = @source AND state = 'sent'), 0) ORDER BY id DESC LIMIT 1`,
    );
    this.#failedCount = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM progress_emails WHERE source_id = ? AND state = 'failed'`);
    this.#earlierShares = db.prepare<[{ source: string; id: number; limit: number }], { share_id: number }>(
      `SELECT share_id FROM progress_emails WHERE source_id = @source AND id < @id AND share_id IS NOT NULL ORDER BY id DESC LIMIT @limit`,
    );
    this.#rhythm = db.prepare<[string], { rhythm: string; since: number }>(`SELECT rhythm, since FROM progress_rhythms WHERE source_id = ?`);
    this.#setRhythm = db.prepare<[{ source: string; rhythm: string; since: number }]>(
      `INSERT INTO progress_rhythms (source_id, rhythm, since) VALUES (@source, @rhythm, @since) ON CONFLICT (source_id) DO UPDATE SET rhythm = excluded.rhythm, since = excluded.since`,
    );
    this.#makeDue = db.prepare<[{ now: number }]>(`UPDATE progress_emails SET next_attempt_at = @now WHERE state = 'pending' AND sending_since IS NULL AND next_attempt_at > @now`);
    this.#inFlight = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM progress_emails WHERE source_id = ? AND state = 'pending'`);
  }

  /** Queues the e-mail of a slot; null when that slot was queued already (at most once per slot). */
  queueSlot(sourceId: string, slot: number, now: number): number | null {
    const result = this.#insertScheduled.run({ source: sourceId, slot, now });
    return result.changes > 0 ? Number(result.lastInsertRowid) : null;
  }

  /** Queues an e-mail a person asked for now. */
  queueNow(sourceId: string, now: number): number {
    return Number(this.#insertManual.run({ source: sourceId, now }).lastInsertRowid);
  }

  get(id: number): ProgressEmail | undefined {
    const row = this.#byId.get(id);
    return row && toEmail(row);
  }

  /** Pending e-mails whose time has come, oldest first. */
  due(now: number, limit: number): ProgressEmail[] {
    return this.#due.all({ now, limit }).map(toEmail);
  }

  /** When the next pending e-mail is due; null when none waits. */
  nextDueAt(): number | null {
    return this.#nextDue.get()?.at ?? null;
  }

  /** E-mails whose send was under way when the daemon stopped or crashed. */
  interrupted(): ProgressEmail[] {
    return this.#sending.all().map(toEmail);
  }

  /** Written, and committed, just before the SMTP conversation starts. */
  startSending(id: number, now: number, details: { shareId: number | null; content: ProgressContent; recipients: number }): void {
    this.#startSending.run({ id, now, share: details.shareId, content: JSON.stringify(details.content), recipients: details.recipients });
  }

  markSent(id: number, now: number): void {
    this.#sent.run({ id, now });
  }

  /** A send failed: counted, and tried again at `nextAttemptAt`. */
  markFailedAttempt(id: number, error: string, nextAttemptAt: number): void {
    this.#failedAttempt.run({ id, error, next: nextAttemptAt });
  }

  /** Given up (`failed`) or nothing to show (`skipped`), with the reason. */
  finish(id: number, state: 'failed' | 'skipped', reason: string): void {
    this.#finish.run({ id, state, error: reason });
  }

  /** The backoff is over (the e-mail settings changed): every waiting e-mail is due now. Returns how many. */
  makeDue(now: number): number {
    return this.#makeDue.run({ now }).changes;
  }

  /** The newest slot queued for a source; null before its first. */
  lastSlot(sourceId: string): number | null {
    return this.#lastScheduled.get(sourceId)?.slot ?? null;
  }

  /** True while an e-mail of the source waits or is being sent. */
  hasPending(sourceId: string): boolean {
    return this.#inFlight.get(sourceId)!.n > 0;
  }

  history(sourceId: string): ProgressHistory {
    const lastSent = this.#lastSent.get(sourceId);
    const pending = this.#pending.get(sourceId);
    const problem = this.#lastProblem.get({ source: sourceId });
    return {
      lastSent: lastSent ? toEmail(lastSent) : null,
      pending: pending ? toEmail(pending) : null,
      lastProblem: problem ? toEmail(problem) : null,
      failed: this.#failedCount.get(sourceId)!.n,
    };
  }

  /** The links of the source's earlier e-mails, newest first (a few: older ones ended long ago). */
  earlierShares(sourceId: string, beforeId: number, limit = 10): number[] {
    return this.#earlierShares.all({ source: sourceId, id: beforeId, limit }).map((r) => r.share_id);
  }

  /** Since when the source's rhythm holds as it is; undefined before it was first seen. */
  rhythm(sourceId: string): { rhythm: string; since: number } | undefined {
    return this.#rhythm.get(sourceId);
  }

  setRhythm(sourceId: string, rhythm: string, since: number): void {
    this.#setRhythm.run({ source: sourceId, rhythm, since });
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
