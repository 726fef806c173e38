/**
 * Delivers alert messages over the configured channels (webhook, e-mail) without
 * losing them and without storms. A message is queued in the database, one row
 * per channel, and one worker per channel sends what is due: in order, the mail
 * as one digest, and backs the whole channel off after a failure. Rows survive
 * restarts; a message not delivered within a day is given up, with an error line.
 */
import type { Config } from '../config/schema';
import { formatDuration } from '../config/duration';
import type { Catalogs } from '../i18n/catalogs';
import type { Logger } from '../logger';
import { backoffDelay, type BackoffPolicy } from '../sync/backoff';
import { NOTIFICATION_CHANNELS, type Notification, type NotificationChannel, type NotificationsRepository } from '../store/notifications.repository';
import type { AlertMessage } from '../domain/alerts';
import { ChannelError, EmailChannel, WebhookChannel, type Channel, type EmailConfig, type WebhookConfig } from './channels';
import { Doorbell, passUntilStopped } from '../doorbell';
import { messageOf } from '../error-causes';
import { settledWithin } from '../settled';

export interface RetryPolicy extends BackoffPolicy {
  /** A message still not delivered this long after it was queued is given up. */
  giveUpAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 30_000, capMs: 3_600_000, giveUpAfterMs: 86_400_000 };

export type ChannelActivity = 'idle' | 'sending' | 'retrying' | 'not-configured';

export interface ChannelStatus {
  /** False when the channel was removed from the configuration while messages still wait for it. */
  configured: boolean;
  /** Where messages go (no secrets); null when not configured. */
  destination: string | null;
  activity: ChannelActivity;
  pending: number;
  /** ISO times. */
  oldestAt: string | null;
  lastSentAt: string | null;
  /** When the next delivery is tried, while the channel backs off. */
  nextAttemptAt: string | null;
  /** What the waiting messages last failed on. */
  lastError: string | null;
  /** Failures in a row (since the last delivery, or the start). */
  failures: number;
  /** Messages given up, never delivered. */
  failed: number;
}

export interface NotifierDeps {
  config: () => Config;
  repo: NotificationsRepository;
  log: Logger;
  now?: () => number;
  /** How each channel is built from its configuration; tests pass their own. */
  channels?: { webhook?: (config: WebhookConfig) => Channel; email?: (config: EmailConfig) => Channel };
  retry?: RetryPolicy;
  /** The box's catalogs, for the words the mail adds around the messages; read from i18n/ when not given. */
  catalogs?: Catalogs;
}

/** Rows taken at once; more than a day of alerts on a quiet box. */
const BATCH = 50;
/** How often an idle worker looks again: a changed configuration, messages too old. */
const IDLE_MS = 60_000;
/** A worker never polls faster than this, whatever the clock says. */
const MIN_WAIT_MS = 50;
/** How long `stop()` lets a delivery in flight finish before cutting it short. */
const STOP_GRACE_MS = 5_000;

export class Notifier {
  readonly #deps: NotifierDeps;
  readonly #now: () => number;
  readonly #workers: { webhook: ChannelWorker<WebhookConfig>; email: ChannelWorker<EmailConfig> };

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    const common = { repo: deps.repo, now: this.#now, retry: deps.retry ?? DEFAULT_RETRY };
    this.#workers = {
      webhook: new ChannelWorker<WebhookConfig>('webhook', {
        ...common,
        log: deps.log.child({ channel: 'webhook' }),
        settings: () => deps.config().alerts.webhook,
        build: deps.channels?.webhook ?? ((config) => new WebhookChannel(config)),
      }),
      email: new ChannelWorker<EmailConfig>('email', {
        ...common,
        log: deps.log.child({ channel: 'email' }),
        settings: () => deps.config().alerts.email,
        build: deps.channels?.email ?? ((config) => new EmailChannel(config, deps.catalogs ? { catalogs: deps.catalogs } : {})),
      }),
    };
  }

  /**
   * Queues a message on every configured channel and wakes their workers; returns the
   * rows added. 0 means no channel is configured: the caller says so in its log.
   */
  enqueue(message: AlertMessage): number {
    const alerts = this.#deps.config().alerts;
    const channels = NOTIFICATION_CHANNELS.filter((channel) => alerts[channel] !== undefined);
    if (channels.length === 0) return 0;
    const now = this.#now();
    this.#deps.repo.transaction(() => {
      for (const channel of channels) this.#deps.repo.add(channel, message.topic, message, now);
    });
    for (const channel of channels) this.#workers[channel].wake();
    return channels.length;
  }

  /** Starts one worker per channel; they deliver what earlier runs left pending. */
  start(): void {
    for (const worker of this.#all()) worker.start();
  }

  /** Waits for a delivery in flight (at most ~5 s, then it is cut short and sent again next time). */
  async stop(): Promise<void> {
    await Promise.all(this.#all().map((worker) => worker.stop()));
  }

  /** Look at the queues now: after a configuration reload. */
  wake(): void {
    for (const worker of this.#all()) worker.wake();
  }

  /** Delivers everything due now, on every channel; resolves when done or a channel failed. For tests and the CLI. */
  async flush(): Promise<void> {
    await Promise.all(this.#all().map((worker) => worker.flush()));
  }

  /** Per channel; null for a channel neither configured nor holding messages. */
  status(): { webhook: ChannelStatus | null; email: ChannelStatus | null } {
    return { webhook: this.#workers.webhook.status(), email: this.#workers.email.status() };
  }

  #all(): Worker[] {
    return [this.#workers.webhook, this.#workers.email];
  }
}

interface WorkerDeps<C> {
  repo: NotificationsRepository;
  log: Logger;
  now: () => number;
  retry: RetryPolicy;
  /** The channel's part of the current configuration; undefined when it is not configured. */
  settings: () => C | undefined;
  build: (config: C) => Channel;
}

interface Worker {
  start(): void;
  stop(): Promise<void>;
  wake(): void;
  flush(): Promise<void>;
}

/** Sends one channel's queue for as long as the daemon runs; one pass at a time (loop or flush). */
class ChannelWorker<C> implements Worker {
  readonly #name: NotificationChannel;
  readonly #deps: WorkerDeps<C>;
  #loop: Promise<void> | null = null;
  #stopped = false;
  readonly #bell = new Doorbell();
  /** The pass running (loop or flush); the next one starts after it. */
  #busy: Promise<void> = Promise.resolve();
  /** Cuts the delivery in flight short when stopping takes too long. */
  #abort: AbortController | null = null;
  #failures = 0;
  #activity: ChannelActivity = 'idle';
  /** The configuration the channel last failed with: a change ends the backoff (a fixed password is tried at once). */
  #failedWith: string | null = null;
  /** Said once per period without configuration, not at every look. */
  #unconfiguredSaid = false;

  constructor(name: NotificationChannel, deps: WorkerDeps<C>) {
    this.#name = name;
    this.#deps = deps;
  }

  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run().catch((err: unknown) => {
      this.#deps.log.error({ err }, `the ${this.#name} notification worker stopped on an unexpected error`);
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    const finished = await settledWithin(this.#busy, STOP_GRACE_MS);
    if (!finished && this.#abort) {
      this.#deps.log.warn(`a ${this.#name} delivery was still in flight after ${formatDuration(STOP_GRACE_MS)}: cut short, it is sent again at the next start`);
      this.#abort.abort();
    }
    // A channel that ignores the abort is left behind rather than holding the daemon's stop.
    await settledWithin(Promise.all([this.#busy, this.#loop]), 1_000);
  }

  wake(): void {
    this.#bell.ring();
  }

  flush(): Promise<void> {
    return this.#exclusive(() => this.#pass());
  }

  status(): ChannelStatus | null {
    const { repo, now } = this.#deps;
    const settings = this.#deps.settings();
    const stored = repo.status(this.#name);
    if (settings === undefined && stored.pending === 0) return null;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const next = repo.nextDueAt(this.#name);
    return {
      configured: settings !== undefined,
      destination: settings === undefined ? null : this.#deps.build(settings).destination,
      activity: settings === undefined ? 'not-configured' : this.#activity,
      pending: stored.pending,
      oldestAt: iso(stored.oldestAt),
      lastSentAt: iso(stored.lastSentAt),
      nextAttemptAt: next !== null && next > now() ? iso(next) : null,
      lastError: stored.lastError,
      failures: this.#failures,
      failed: stored.failed,
    };
  }

  #run(): Promise<void> {
    return passUntilStopped(this.#bell, {
      stopped: () => this.#stopped,
      pass: () => this.#exclusive(() => this.#pass()),
      waitMs: () => this.#waitMs(),
      // The database, most likely; the queue is still there when it comes back.
      failed: (err) => this.#deps.log.error({ err }, `the ${this.#name} notifications could not be read or updated`),
    });
  }

  /** Runs `fn` after the pass in progress, so that a flush and the loop never send the same rows. */
  #exclusive(fn: () => Promise<void>): Promise<void> {
    const run = this.#busy.then(fn);
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /** Sends what is due, batch after batch, until nothing is due or the channel fails. */
  async #pass(): Promise<void> {
    const { repo, now } = this.#deps;
    while (!this.#stopped) {
      const settings = this.#deps.settings();
      if (settings === undefined) {
        this.#unconfigured();
        return;
      }
      if (this.#unconfiguredSaid) this.#deps.log.info(`the ${this.#name} channel is configured again: the waiting messages are sent`);
      this.#unconfiguredSaid = false;
      this.#retryIfChanged(settings);
      this.#giveUpExpired();
      const rows = repo.due(this.#name, now(), BATCH);
      if (rows.length === 0) {
        if (this.#activity === 'sending') this.#activity = 'idle';
        return;
      }
      if (!(await this.#deliver(this.#deps.build(settings), rows))) {
        if (this.#failures > 0) this.#failedWith = JSON.stringify(settings);
        return;
      }
    }
  }

  /** Sends the rows (as one digest, or one by one in order); false when the channel failed or the worker stops. */
  async #deliver(channel: Channel, rows: readonly Notification[]): Promise<boolean> {
    const { repo, now, log } = this.#deps;
    const abort = new AbortController();
    this.#abort = abort;
    this.#activity = 'sending';
    let sent = 0;
    try {
      if (channel.digest) {
        await channel.send(rows.map((r) => r.payload), abort.signal);
        repo.markSent(rows.map((r) => r.id), now());
        sent = rows.length;
      } else {
        for (const row of rows) {
          if (this.#stopped) return false;
          await channel.send([row.payload], abort.signal);
          // Marked at once: a crash after this point does not send it twice.
          repo.markSent([row.id], now());
          sent++;
        }
      }
    } catch (err) {
      if (abort.signal.aborted) return false;
      this.#failed(channel, channel.digest ? rows : rows.slice(sent, sent + 1), err);
      return false;
    } finally {
      this.#abort = null;
    }
    if (this.#failures > 0) log.info({ messages: sent }, `${channel.destination} takes messages again after ${this.#failures} failure(s)`);
    else if (log.isLevelEnabled('debug')) log.debug({ messages: sent, topics: rows.map((r) => r.topic) }, `delivered to ${channel.destination}`);
    this.#failures = 0;
    this.#failedWith = null;
    return true;
  }

  #retryIfChanged(settings: C): void {
    if (this.#failedWith === null || this.#failedWith === JSON.stringify(settings)) return;
    this.#failedWith = null;
    this.#failures = 0;
    if (this.#deps.repo.makeDue(this.#name, this.#deps.now()) > 0) this.#deps.log.info(`the ${this.#name} settings changed: the waiting messages are tried again now`);
  }

  /** The whole channel backs off: the rows tried keep the error, and the first of them holds the queue until the retry. */
  #failed(channel: Channel, rows: readonly Notification[], err: unknown): void {
    const { repo, now, log, retry } = this.#deps;
    this.#failures++;
    this.#activity = 'retrying';
    const retryAt = now() + backoffDelay(this.#failures, retry);
    const message = err instanceof ChannelError ? err.message : `${channel.destination}: unexpected error: ${messageOf(err)}`;
    repo.transaction(() => {
      for (const row of rows) repo.markFailed(row.id, message, retryAt);
    });
    const fields = { messages: rows.length, failures: this.#failures, retryAt: new Date(retryAt).toISOString() };
    if (this.#failures === 1) log.warn(fields, message);
    else log.info(fields, message);
  }

  /** Messages queued longer ago than the retry policy allows are given up, with one error line per pass. */
  #giveUpExpired(): void {
    const { repo, now, log, retry } = this.#deps;
    const expired = repo.expired(this.#name, now() - retry.giveUpAfterMs, 1_000);
    if (expired.length === 0) return;
    const lastError = expired.find((r) => r.lastError !== null)?.lastError ?? null;
    const within = `not delivered within ${formatDuration(retry.giveUpAfterMs)}`;
    repo.transaction(() => {
      for (const row of expired) repo.giveUp(row.id, row.lastError ? `${within}; last error: ${row.lastError}` : `${within}; the messages before it could not be delivered`);
    });
    log.error(
      { messages: expired.length, topics: [...new Set(expired.map((r) => r.topic))].slice(0, 10), oldest: new Date(expired[0]!.createdAt).toISOString() },
      `gave up ${expired.length} ${this.#name} message(s) ${within}${lastError ? `; last error: ${lastError}` : ''}`,
    );
  }

  /** A channel removed from the configuration keeps its messages: they go when it is back. */
  #unconfigured(): void {
    this.#activity = 'not-configured';
    if (this.#unconfiguredSaid) return;
    const { pending } = this.#deps.repo.status(this.#name);
    if (pending === 0) return;
    this.#unconfiguredSaid = true;
    this.#deps.log.warn({ messages: pending }, `${pending} message(s) wait for the ${this.#name} channel, which is no longer configured (alerts.${this.#name}): they are kept and sent when it is configured again`);
  }

  #waitMs(): number {
    if (this.#deps.settings() === undefined) return IDLE_MS;
    const next = this.#deps.repo.nextDueAt(this.#name);
    if (next === null) return IDLE_MS;
    return Math.min(IDLE_MS, Math.max(MIN_WAIT_MS, next - this.#deps.now()));
  }
}
