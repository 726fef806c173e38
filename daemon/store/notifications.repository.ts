import type { AlertMessage } from '../domain/alerts';
import type { Db } from './database';

export const NOTIFICATION_CHANNELS = ['webhook', 'email'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];
export type NotificationState = 'pending' | 'sent' | 'failed';

/** One message to deliver over one channel. */
export interface Notification {
  id: number;
  createdAt: number;
  channel: NotificationChannel;
  topic: string;
  payload: AlertMessage;
  state: NotificationState;
  /** Failed deliveries so far. */
  attempts: number;
  nextAttemptAt: number;
  /** Kept once sent: the API shows what a message went through. */
  lastError: string | null;
  sentAt: number | null;
}

export interface NotificationsStatus {
  pending: number;
  /** When the oldest pending message was queued. */
  oldestAt: number | null;
  /** What the oldest failing pending message last failed on; null when nothing pending failed. */
  lastError: string | null;
  lastSentAt: number | null;
  /** Messages given up, never delivered. */
  failed: number;
}

interface Row {
  id: number;
  created_at: number;
  channel: NotificationChannel;
  topic: string;
  payload: string;
  state: NotificationState;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  sent_at: number | null;
}

const toNotification = (r: Row): Notification => ({
  id: r.id,
  createdAt: r.created_at,
  channel: r.channel,
  topic: r.topic,
  payload: JSON.parse(r.payload) as AlertMessage,
  state: r.state,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
  sentAt: r.sent_at,
});

/**
 * Alert messages waiting for (or done with) delivery, one row per channel, kept
 * in the database so that none is lost to a restart or an outage. A channel's
 * messages go in the order they were queued: the oldest pending one, while it
 * waits out a backoff, holds back those behind it.
 */
export class NotificationsRepository {
  readonly #db: Db;
  readonly #add;
  readonly #due;
  readonly #head;
  readonly #sent;
  readonly #failed;
  readonly #giveUp;
  readonly #makeDue;
  readonly #expired;
  readonly #pending;
  readonly #headError;
  readonly #history;
  readonly #recent;
  readonly #lastFor;

  constructor(db: Db) {
    this.#db = db;
    this.#add = db.prepare<[{ channel: NotificationChannel; topic: string; payload: string; now: number }]>(
      `INSERT INTO notifications (created_at, channel, topic, payload, state, next_attempt_at) VALUES (@now, @channel, @topic, @payload, 'pending', @now)`,
    );
    // Pending rows in queue order, when the first one's time has come (the rows behind it
    // were queued later and never wait longer than it does).
    this.#due = db.prepare<[{ channel: NotificationChannel; now: number; limit: number }], Row>(
      `SELECT * FROM notifications INDEXED BY notifications_due WHERE channel = @channel AND state = 'pending'
         AND (SELECT next_attempt_at FROM notifications INDEXED BY notifications_due WHERE channel = @channel AND state = 'pending' ORDER BY id LIMIT 1) <= @now
       ORDER BY id LIMIT @limit`,
    );
    this.#head = db.prepare<[NotificationChannel], { at: number }>(
      `SELECT next_attempt_at AS at FROM notifications INDEXED BY notifications_due WHERE channel = ? AND state = 'pending' ORDER BY id LIMIT 1`,
    );
    this.#sent = db.prepare<[{ id: number; at: number }]>(`UPDATE notifications SET state = 'sent', sent_at = @at WHERE id = @id AND state = 'pending'`);
    this.#failed = db.prepare<[{ id: number; error: string; next: number }]>(
      `UPDATE notifications SET attempts = attempts + 1, last_error = @error, next_attempt_at = @next WHERE id = @id AND state = 'pending'`,
    );
    this.#giveUp = db.prepare<[{ id: number; error: string }]>(`UPDATE notifications SET state = 'failed', last_error = @error WHERE id = @id AND state = 'pending'`);
    this.#makeDue = db.prepare<[{ channel: NotificationChannel; now: number }]>(
      `UPDATE notifications SET next_attempt_at = @now WHERE channel = @channel AND state = 'pending' AND next_attempt_at > @now`,
    );
    this.#expired = db.prepare<[{ channel: NotificationChannel; before: number; limit: number }], Row>(
      `SELECT * FROM notifications INDEXED BY notifications_due WHERE channel = @channel AND state = 'pending' AND created_at < @before ORDER BY id LIMIT @limit`,
    );
    this.#pending = db.prepare<[NotificationChannel], { n: number; oldest: number | null }>(
      `SELECT count(*) AS n, min(created_at) AS oldest FROM notifications INDEXED BY notifications_due WHERE channel = ? AND state = 'pending'`,
    );
    this.#headError = db.prepare<[NotificationChannel], { error: string }>(
      `SELECT last_error AS error FROM notifications INDEXED BY notifications_due WHERE channel = ? AND state = 'pending' AND last_error IS NOT NULL ORDER BY id LIMIT 1`,
    );
    // A scan of the channel's rows: a few per alert, so thousands after years at most.
    this.#history = db.prepare<[NotificationChannel], { failed: number | null; lastSent: number | null }>(
      `SELECT sum(state = 'failed') AS failed, max(CASE WHEN state = 'sent' THEN sent_at END) AS lastSent FROM notifications WHERE channel = ?`,
    );
    this.#recent = db.prepare<[number], Row>(`SELECT * FROM notifications ORDER BY id DESC LIMIT ?`);
    this.#lastFor = db.prepare<[string], Row>(`SELECT * FROM notifications WHERE topic = ? ORDER BY created_at DESC, id DESC LIMIT 1`);
  }

  /** Queues a message for a channel, due at once; returns its id. */
  add(channel: NotificationChannel, topic: string, payload: AlertMessage, now: number): number {
    return Number(this.#add.run({ channel, topic, payload: JSON.stringify(payload), now }).lastInsertRowid);
  }

  /** The oldest pending messages of a channel, in queue order, when the first of them is due; none otherwise. */
  due(channel: NotificationChannel, now: number, limit: number): Notification[] {
    return this.#due.all({ channel, now, limit }).map(toNotification);
  }

  /** When the channel's next message becomes due; null when none is pending. */
  nextDueAt(channel: NotificationChannel): number | null {
    return this.#head.get(channel)?.at ?? null;
  }

  markSent(ids: readonly number[], at: number): void {
    this.transaction(() => {
      for (const id of ids) this.#sent.run({ id, at });
    });
  }

  /** A delivery failed: counted, and tried again at `nextAttemptAt`. */
  markFailed(id: number, error: string, nextAttemptAt: number): void {
    this.#failed.run({ id, error, next: nextAttemptAt });
  }

  /** The message will never be delivered (too old); it stays, as failed, for the record. */
  giveUp(id: number, error: string): void {
    this.#giveUp.run({ id, error });
  }

  /** The channel's backoff is over: every pending message is due now. Returns the rows changed. */
  makeDue(channel: NotificationChannel, now: number): number {
    return this.#makeDue.run({ channel, now }).changes;
  }

  /** Pending messages of a channel queued before `before`, oldest first. */
  expired(channel: NotificationChannel, before: number, limit: number): Notification[] {
    return this.#expired.all({ channel, before, limit }).map(toNotification);
  }

  status(channel: NotificationChannel): NotificationsStatus {
    const pending = this.#pending.get(channel);
    const history = this.#history.get(channel);
    return {
      pending: pending?.n ?? 0,
      oldestAt: pending?.oldest ?? null,
      lastError: this.#headError.get(channel)?.error ?? null,
      lastSentAt: history?.lastSent ?? null,
      failed: history?.failed ?? 0,
    };
  }

  /** Newest first, every channel and state. */
  recent(limit = 50): Notification[] {
    return this.#recent.all(limit).map(toNotification);
  }

  /** The newest message queued about a topic (an alert key or report:<date>), on any channel. */
  lastFor(topic: string): Notification | undefined {
    const row = this.#lastFor.get(topic);
    return row && toNotification(row);
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
