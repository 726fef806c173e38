import type { Db } from './database';

/** What a sync target did last, kept across restarts for status and alerts. */
export interface SyncTargetState {
  targetId: string;
  lastOkAt: number | null;
  lastSentAt: number | null;
  sentFiles: number;
  sentBytes: number;
  lastError: string | null;
  lastErrorAt: number | null;
  /** First failed connection of the current outage; null while the target answers. */
  failingSince: number | null;
  unreachableRaised: boolean;
  backlogRaised: boolean;
  hostKeySeen: string | null;
}

interface Row {
  target_id: string;
  last_ok_at: number | null;
  last_sent_at: number | null;
  sent_files: number;
  sent_bytes: number;
  last_error: string | null;
  last_error_at: number | null;
  failing_since: number | null;
  unreachable_raised: number;
  backlog_raised: number;
  host_key_seen: string | null;
}

export class SyncTargetsRepository {
  readonly #get;
  readonly #ensure;
  readonly #sent;
  readonly #error;
  readonly #flags;
  readonly #hostKey;

  constructor(db: Db) {
    this.#ensure = db.prepare<[string]>(`INSERT INTO sync_targets (target_id) VALUES (?) ON CONFLICT DO NOTHING`);
    this.#get = db.prepare<[string], Row>(`SELECT * FROM sync_targets WHERE target_id = ?`);
    this.#sent = db.prepare<[{ id: string; at: number; bytes: number }]>(
      `UPDATE sync_targets SET last_ok_at = @at, last_sent_at = @at, failing_since = NULL, sent_files = sent_files + 1, sent_bytes = sent_bytes + @bytes WHERE target_id = @id`,
    );
    this.#error = db.prepare<[{ id: string; error: string; at: number; outage: number }]>(
      `UPDATE sync_targets SET last_error = @error, last_error_at = @at,
         failing_since = CASE WHEN @outage = 1 THEN coalesce(failing_since, @at) ELSE failing_since END WHERE target_id = @id`,
    );
    this.#flags = db.prepare<[{ id: string; unreachable: number; backlog: number }]>(
      `UPDATE sync_targets SET unreachable_raised = @unreachable, backlog_raised = @backlog WHERE target_id = @id`,
    );
    this.#hostKey = db.prepare<[string, string]>(`UPDATE sync_targets SET host_key_seen = ? WHERE target_id = ?`);
  }

  get(targetId: string): SyncTargetState {
    this.#ensure.run(targetId);
    const r = this.#get.get(targetId)!;
    return {
      targetId: r.target_id,
      lastOkAt: r.last_ok_at,
      lastSentAt: r.last_sent_at,
      sentFiles: r.sent_files,
      sentBytes: r.sent_bytes,
      lastError: r.last_error,
      lastErrorAt: r.last_error_at,
      failingSince: r.failing_since,
      unreachableRaised: r.unreachable_raised === 1,
      backlogRaised: r.backlog_raised === 1,
      hostKeySeen: r.host_key_seen,
    };
  }

  /** A file reached the target: the outage, if any, is over. */
  recordSent(targetId: string, bytes: number, at: number): void {
    this.#ensure.run(targetId);
    this.#sent.run({ id: targetId, at, bytes });
  }

  /** An error; `outage` when the target itself could not be used (not one file's problem). */
  recordError(targetId: string, error: string, at: number, outage: boolean): void {
    this.#ensure.run(targetId);
    this.#error.run({ id: targetId, error, at, outage: outage ? 1 : 0 });
  }

  setRaised(targetId: string, flags: { unreachable: boolean; backlog: boolean }): void {
    this.#ensure.run(targetId);
    this.#flags.run({ id: targetId, unreachable: flags.unreachable ? 1 : 0, backlog: flags.backlog ? 1 : 0 });
  }

  recordHostKey(targetId: string, fingerprint: string): void {
    this.#ensure.run(targetId);
    this.#hostKey.run(fingerprint, targetId);
  }
}
