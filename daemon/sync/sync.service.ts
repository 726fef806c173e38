/**
 * The sync: one worker per target drains that target's outbox, latest picture
 * first, then pictures oldest first, over the target's one transport (an SFTP
 * connection, an S3 client). A target
 * that cannot be reached backs off as a whole; a file that fails backs off on
 * its own and the queue moves on. Nothing is given up: files wait in the
 * database until they are sent, across outages and restarts.
 */
import type { Config, SyncTargetConfig } from '../config/schema';
import type { Logger } from '../logger';
import type { Repositories } from '../store/repositories';
import type { Backlog, OutboxItem } from '../store/outbox.repository';
import { backoffDelay, type BackoffPolicy } from './backoff';
import { boxLocation, serverOf } from './remote-paths';
import { SyncError, type MultipartStore, type Transport } from './transport';
import type { Outbox } from './outbox';
import { Doorbell } from '../doorbell';
import { createTransport } from './transports';
import { messageOf } from '../error-causes';

/** Rows read per query; small, so that a new latest picture is not kept waiting long. */
const BATCH = 16;
/** How often an idle worker re-checks its alerts (backlog age, outage length). */
const ALERT_CHECK_MS = 30_000;

export interface SyncPolicies {
  /** One file that failed on its own (permission, a server error). */
  file: BackoffPolicy;
  /** A target that cannot be used (unreachable, timeout, refused key or host key). */
  target: BackoffPolicy;
}

export const DEFAULT_POLICIES: SyncPolicies = {
  file: { baseMs: 30_000, capMs: 3_600_000 },
  target: { baseMs: 5_000, capMs: 600_000 },
};

/**
 * What the target's worker is doing now: `connecting` (opening the SFTP session, or
 * checking the S3 bucket),
 * `sending`, `retrying` (waiting for `nextAttemptAt` after a failure of the target),
 * `host-key-mismatch` (waiting too, refusing to send), `idle` (nothing due).
 */
export type TargetActivity = 'idle' | 'connecting' | 'sending' | 'retrying' | 'host-key-mismatch' | 'not-running';

export interface TargetStatus {
  id: string;
  type: SyncTargetConfig['type'];
  /** The server: the SFTP host, or the S3 endpoint's host (AWS's for the region when none is set). */
  host: string;
  port: number;
  /** Where the box's files go on the server: `<remoteDir>/<appliance.id>` (SFTP), `s3://<bucket>/[<prefix>/]<appliance.id>/` (S3). */
  remoteDir: string;
  send: string[];
  sources: string[] | null;
  maxRate: number | null;
  activity: TargetActivity;
  backlog: Backlog & { oldestAgeSeconds: number | null };
  sent: { files: number; bytes: number; last: string | null };
  lastOk: string | null;
  lastError: { at: string; message: string } | null;
  /** Since when the target has been failing, while it is. */
  failingSince: string | null;
  /** While the worker waits after a failure of the target: when it tries again (always ahead); null otherwise. */
  nextAttemptAt: string | null;
  /** Files that failed on their own, oldest first (at most 5). */
  failing: { file: string; attempts: number; error: string | null; nextAttemptAt: string }[];
}

export interface PassSummary {
  target: string;
  sent: number;
  alreadyThere: number;
  failed: number;
  pending: number;
  /** Set when the target itself failed and the pass stopped. */
  error: string | null;
}

export interface SyncServiceDeps {
  config: () => Config;
  store: Pick<Repositories, 'outbox' | 'syncTargets' | 'events' | 'layout' | 'pictures' | 'multipart'>;
  outbox: Pick<Outbox, 'backfill'>;
  log: Logger;
  now?: () => number;
  policies?: SyncPolicies;
  random?: () => number;
  /**
   * Captures come first: awaited before each upload starts, it returns once no capture
   * is running (or after a bound), so that a backlog drained after an outage does not
   * make a capture late. Without it uploads never wait.
   */
  capturesFirst?: () => Promise<void>;
}

export class SyncService {
  readonly #deps: SyncServiceDeps;
  readonly #now: () => number;
  readonly #workers = new Map<string, TargetWorker>();
  #started = false;

  constructor(deps: SyncServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Queues what the targets miss (a target added with history), then starts one worker per target. */
  start(): void {
    const { outbox, store, log } = this.#deps;
    const added = outbox.backfill((sourceId) => {
      const p = store.pictures.latest(sourceId);
      return p && { id: p.id, sourceId, path: p.path, size: p.size, takenAt: p.takenAt, rejection: p.rejection };
    });
    if (added > 0) log.info({ files: added }, 'files the sync targets did not have yet were queued');
    this.#started = true;
    for (const target of this.#deps.config().sync.targets) this.#startWorker(target);
  }

  /** Stops the workers; an upload in flight is cut (it is sent again, whole, next time). */
  async stop(): Promise<void> {
    this.#started = false;
    const workers = [...this.#workers.values()];
    this.#workers.clear();
    await Promise.all(workers.map((w) => w.stop()));
  }

  /** After a configuration reload: workers of changed targets restart, removed ones stop, new ones start. */
  async reconfigure(): Promise<void> {
    if (!this.#started) return;
    const targets = new Map(this.#deps.config().sync.targets.map((t) => [t.id, t]));
    for (const [id, worker] of this.#workers) {
      const next = targets.get(id);
      if (next && JSON.stringify(next) === JSON.stringify(worker.target) && worker.applianceId === this.#deps.config().appliance.id) continue;
      this.#workers.delete(id);
      await worker.stop();
    }
    this.start();
  }

  /** New rows for these targets: their workers look at the queue now. */
  wake(targetIds: readonly string[]): void {
    for (const id of targetIds) this.#workers.get(id)?.wake();
  }

  /**
   * "Send now": every pending file of the targets (all by default) is due at once,
   * backoffs are forgotten, and this resolves when each target's queue is empty
   * or the target failed.
   */
  async sendNow(targetId?: string): Promise<PassSummary[]> {
    const targets = this.#deps.config().sync.targets.filter((t) => targetId === undefined || t.id === targetId);
    return Promise.all(
      targets.map((t) => {
        this.#deps.store.outbox.makeDue(t.id, this.#now());
        const worker = this.#workers.get(t.id);
        return worker ? worker.pass() : Promise.resolve({ target: t.id, sent: 0, alreadyThere: 0, failed: 0, pending: this.#deps.store.outbox.backlog(t.id).pending, error: 'the sync is not running' });
      }),
    );
  }

  /** Per target: backlog, what was sent, the last error; from the database, with the live state when running. */
  status(): TargetStatus[] {
    const config = this.#deps.config();
    const { outbox, syncTargets } = this.#deps.store;
    const now = this.#now();
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return config.sync.targets.map((t) => {
      const backlog = outbox.backlog(t.id);
      const state = syncTargets.get(t.id);
      const worker = this.#workers.get(t.id);
      return {
        id: t.id,
        type: t.type,
        ...serverOf(t),
        remoteDir: boxLocation(t, config.appliance.id),
        send: [...t.send],
        sources: t.sources ? [...t.sources] : null,
        maxRate: t.maxRate ?? null,
        activity: worker ? worker.activity : 'not-running',
        backlog: { ...backlog, oldestAgeSeconds: backlog.oldestAt === null ? null : Math.max(0, Math.round((now - backlog.oldestAt) / 1000)) },
        sent: { files: state.sentFiles, bytes: state.sentBytes, last: iso(state.lastSentAt) },
        lastOk: iso(state.lastOkAt),
        lastError: state.lastError === null ? null : { at: iso(state.lastErrorAt)!, message: state.lastError },
        failingSince: iso(state.failingSince),
        nextAttemptAt: worker ? iso(worker.retryAt) : null,
        failing: outbox.failing(t.id, 5).map((item) => ({ file: item.remotePath, attempts: item.attempts, error: item.lastError, nextAttemptAt: iso(item.nextAttemptAt)! })),
      };
    });
  }

  #startWorker(target: SyncTargetConfig): void {
    if (this.#workers.has(target.id)) return;
    const worker = new TargetWorker(target, {
      ...this.#deps,
      now: this.#now,
      policies: this.#deps.policies ?? DEFAULT_POLICIES,
      random: this.#deps.random ?? Math.random,
      log: this.#deps.log.child({ target: target.id }),
    });
    this.#workers.set(target.id, worker);
    worker.start();
  }
}

/** One batch of uploads: whether the target failed under it (set once, by the first upload that saw it). */
interface Batch {
  targetFailed: boolean;
}

function asSyncError(err: unknown): SyncError {
  return err instanceof SyncError ? err : new SyncError('remote', messageOf(err));
}

type WorkerDeps = Omit<SyncServiceDeps, 'now' | 'policies' | 'random'> & { now: () => number; policies: SyncPolicies; random: () => number };

/** Drains one target's outbox for as long as the daemon runs. */
class TargetWorker {
  readonly target: SyncTargetConfig;
  readonly applianceId: string;
  readonly #deps: WorkerDeps;
  readonly #transport: Transport;
  #loop: Promise<void> | null = null;
  #stopped = false;
  readonly #bell = new Doorbell();
  /** Failures of the target in a row, for its backoff. */
  #targetFailures = 0;
  /** Set while the worker waits after a failure of the target; cleared when the wait ends. */
  #retryAt: number | null = null;
  #activity: TargetActivity = 'idle';
  #lastAlertCheck = 0;
  #hostKeyRaised = false;
  /** Callers of `pass()` waiting for the queue to empty. */
  #waiters: { resolve: (s: PassSummary) => void; summary: PassSummary }[] = [];

  constructor(target: SyncTargetConfig, deps: WorkerDeps) {
    this.target = target;
    this.#deps = deps;
    this.applianceId = deps.config().appliance.id;
    this.#transport = createTransport(target, {
      applianceId: this.applianceId,
      maxRate: target.maxRate,
      onHostKey: (fp) => {
        if (deps.store.syncTargets.get(target.id).hostKeySeen !== fp) deps.store.syncTargets.recordHostKey(target.id, fp);
      },
      multipart: multipartStore(deps.store, target.id),
    });
  }

  get activity(): TargetActivity {
    return this.#activity;
  }

  get retryAt(): number | null {
    return this.#retryAt;
  }

  start(): void {
    this.#loop = this.#run().catch((err: unknown) => {
      this.#deps.log.error({ err }, 'the sync worker stopped on an unexpected error');
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    this.#transport.abort();
    await this.#loop;
    this.#finishWaiters('the sync stopped (the daemon is stopping or reloading) before the queue was sent');
  }

  wake(): void {
    this.#bell.ring();
  }

  /** Resolves when the queue has nothing due any more, or the target failed. */
  pass(): Promise<PassSummary> {
    this.#retryAt = null;
    this.#targetFailures = 0;
    return new Promise((resolve) => {
      this.#waiters.push({ resolve, summary: { target: this.target.id, sent: 0, alreadyThere: 0, failed: 0, pending: 0, error: null } });
      this.wake();
    });
  }

  async #run(): Promise<void> {
    const { store, now } = this.#deps;
    while (!this.#stopped) {
      this.#bell.reset();
      this.#checkAlerts(false);
      if (this.#retryAt !== null) {
        if (now() < this.#retryAt) {
          this.#activity = this.#activity === 'host-key-mismatch' ? this.#activity : 'retrying';
          await this.#sleep(this.#retryAt - now());
          continue;
        }
        // The wait is over: no next try is planned until this one fails.
        this.#retryAt = null;
      }
      const due = store.outbox.due(this.target.id, now(), BATCH);
      if (due.length === 0) {
        this.#activity = 'idle';
        this.#finishWaiters(null);
        const next = store.outbox.nextDueAt(this.target.id);
        await this.#sleep(next === null ? ALERT_CHECK_MS : Math.min(ALERT_CHECK_MS, Math.max(0, next - now())));
        continue;
      }
      if (!this.#transport.connected) {
        // Connecting is a step of its own: it can take the whole timeout, and its failure is the target's.
        this.#activity = 'connecting';
        try {
          await this.#transport.connect();
        } catch (err) {
          this.#targetFailed(asSyncError(err), now());
          continue;
        }
      }
      this.#activity = 'sending';
      await this.#sendBatch(due);
    }
    this.#activity = 'not-running';
    await this.#transport.close();
  }

  /**
   * Sends a batch in order, a few files at a time. Stops starting new ones when the
   * target fails, when stopping, or when a new latest picture arrives (it must not
   * wait for the rest of the batch).
   */
  async #sendBatch(due: readonly OutboxItem[]): Promise<void> {
    // Uploads in flight together fail together: one failure of the target per batch, not four.
    // Per batch, so that every batch that fails (each retry) records its failure, error and next try.
    const batch: Batch = { targetFailed: false };
    // The latest picture goes alone, before anything else starts.
    const [first] = due;
    if (first?.kind === 'latest') {
      if (!(await this.#send(first, batch))) return;
      due = due.slice(1);
    }
    let next = 0;
    const lane = async () => {
      while (!batch.targetFailed && !this.#stopped && next < due.length) {
        await this.#deps.capturesFirst?.();
        // After the wait: the batch may have failed, the daemon be stopping or a new latest picture be waiting meanwhile.
        if (batch.targetFailed || this.#stopped || next >= due.length) return;
        if (this.#bell.rung && next > 0) return;
        const item = due[next++]!;
        await this.#send(item, batch);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#transport.parallel, due.length) }, lane));
  }

  /** Sends one file; false when the target failed (the pass stops and the target backs off). */
  async #send(item: OutboxItem, batch: Batch): Promise<boolean> {
    const { store, now, log } = this.#deps;
    try {
      // Recorded before the first byte leaves: a later attempt then checks whether this one finished.
      if (item.triedAt === null) store.outbox.markTried(item, now());
      // Never through a link inside the data folder: a file reached that way is as good as gone.
      const local = await store.layout.inside(store.layout.absolute(item.localPath));
      if (!local) throw new SyncError('local-missing', `${item.localPath} is no longer in the data folder (missing, or reached through a symbolic link)`);
      const outcome = await this.#transport.upload(local, { remotePath: item.remotePath, mayBeThere: !item.overwrite && item.triedAt !== null });
      const at = now();
      const current = store.outbox.transaction(() => {
        const marked = store.outbox.markSent(item, at);
        store.syncTargets.recordSent(this.target.id, outcome.bytes, at);
        return marked;
      });
      this.#targetOk(at);
      if (outcome.status === 'already-there') log.info({ file: item.remotePath }, 'the file was already on the server (sent before a restart): counted as sent');
      else if (log.isLevelEnabled('debug')) log.debug({ file: item.remotePath, bytes: outcome.bytes, newerQueued: !current }, 'sent');
      this.#count(outcome.status === 'already-there' ? 'alreadyThere' : 'sent');
      return true;
    } catch (err) {
      const error = asSyncError(err);
      const at = now();
      if (error.kind === 'local-missing') {
        store.outbox.markGone(item, error.message);
        log.warn({ file: item.localPath }, `${error.message}: it cannot be sent any more`);
        return true;
      }
      if (error.ofTarget) {
        if (!batch.targetFailed) this.#targetFailed(error, at);
        batch.targetFailed = true;
        return false;
      }
      const retry = at + backoffDelay(item.attempts + 1, this.#deps.policies.file, this.#deps.random);
      store.outbox.markFailed(item, error.message, retry);
      store.syncTargets.recordError(this.target.id, `${item.remotePath}: ${error.message}`, at, false);
      log.warn({ file: item.remotePath, attempts: item.attempts + 1, retryAt: new Date(retry).toISOString() }, error.message);
      this.#count('failed');
      return true;
    }
  }

  #targetOk(at: number): void {
    if (this.#targetFailures > 0) this.#deps.log.info('the target answers again');
    this.#targetFailures = 0;
    this.#retryAt = null;
    this.#hostKeyRaised = false;
    const state = this.#deps.store.syncTargets.get(this.target.id);
    if (state.unreachableRaised) {
      this.#deps.store.events.add({ at, sourceId: null, targetId: this.target.id, kind: 'sync-reachable', message: `sync target "${this.target.id}" (${serverOf(this.target).host}) answers again; the backlog is being sent` });
      this.#deps.store.syncTargets.setRaised(this.target.id, { unreachable: false, backlog: state.backlogRaised });
    }
  }

  /** Records a failure of the target when it happens: the newest error with its time, the wait, the next try. */
  #targetFailed(error: SyncError, at: number): void {
    const { store, log, policies, random } = this.#deps;
    // Cut by stop(): not the target's failure, nothing to record.
    if (this.#stopped) return;
    this.#targetFailures++;
    const delay = error.kind === 'host-key' ? policies.target.capMs : backoffDelay(this.#targetFailures, policies.target, random);
    this.#retryAt = at + delay;
    this.#activity = error.kind === 'host-key' ? 'host-key-mismatch' : 'retrying';
    store.syncTargets.recordError(this.target.id, error.message, at, true);
    const retry = new Date(this.#retryAt).toISOString();
    if (error.kind === 'host-key') {
      log.error({ retryAt: retry }, error.message);
      if (!this.#hostKeyRaised) store.events.add({ at, sourceId: null, targetId: this.target.id, kind: 'sync-host-key-mismatch', message: error.message });
      this.#hostKeyRaised = true;
    } else if (this.#targetFailures === 1 || error.kind === 'auth') {
      log.warn({ retryAt: retry, kind: error.kind }, error.message);
    } else {
      log.info({ retryAt: retry, kind: error.kind, failures: this.#targetFailures }, error.message);
    }
    this.#finishWaiters(error.message);
    this.#checkAlerts(true);
  }

  /** Raises (once) and clears the events of a long outage and of an old backlog. */
  #checkAlerts(force: boolean): void {
    const { store, now } = this.#deps;
    const at = now();
    if (!force && at - this.#lastAlertCheck < ALERT_CHECK_MS) return;
    this.#lastAlertCheck = at;
    const state = store.syncTargets.get(this.target.id);
    const limit = this.target.alertAfter;
    let { unreachableRaised, backlogRaised } = state;
    if (!unreachableRaised && state.failingSince !== null && at - state.failingSince >= limit) {
      store.events.add({ at, sourceId: null, targetId: this.target.id, kind: 'sync-unreachable', message: `sync target "${this.target.id}" keeps failing: ${state.lastError ?? 'unknown error'}`, since: state.failingSince });
      unreachableRaised = true;
    }
    const backlog = store.outbox.backlog(this.target.id);
    const old = backlog.oldestAt !== null && at - backlog.oldestAt >= limit;
    if (old && !backlogRaised) {
      store.events.add({ at, sourceId: null, targetId: this.target.id, kind: 'sync-backlog', message: `${backlog.pending} files wait for sync target "${this.target.id}"`, since: backlog.oldestAt });
      backlogRaised = true;
    } else if (!old && backlogRaised) {
      store.events.add({ at, sourceId: null, targetId: this.target.id, kind: 'sync-backlog-cleared', message: `the backlog of sync target "${this.target.id}" is down to ${backlog.pending} files` });
      backlogRaised = false;
    }
    if (unreachableRaised !== state.unreachableRaised || backlogRaised !== state.backlogRaised) store.syncTargets.setRaised(this.target.id, { unreachable: unreachableRaised, backlog: backlogRaised });
  }

  #count(what: 'sent' | 'alreadyThere' | 'failed'): void {
    for (const w of this.#waiters) w.summary[what]++;
  }

  #finishWaiters(error: string | null): void {
    if (this.#waiters.length === 0) return;
    const pending = this.#deps.store.outbox.backlog(this.target.id).pending;
    for (const w of this.#waiters.splice(0)) w.resolve({ ...w.summary, pending, error: w.summary.error ?? error });
  }

  #sleep(ms: number): Promise<void> {
    return this.#stopped ? Promise.resolve() : this.#bell.wait(ms);
  }

}

/** The database's multipart uploads of one target, and whether the outbox still wants a remote path. */
function multipartStore(store: Pick<Repositories, 'outbox' | 'multipart'>, targetId: string): MultipartStore {
  return {
    get: (key) => store.multipart.get(targetId, key),
    all: () => store.multipart.all(targetId),
    begin: (record) => store.multipart.begin(targetId, record),
    addPart: (key, uploadId, part) => store.multipart.addPart(targetId, key, uploadId, part),
    forget: (key) => store.multipart.forget(targetId, key),
    wanted: (remotePath) => store.outbox.isPending(targetId, remotePath),
  };
}
