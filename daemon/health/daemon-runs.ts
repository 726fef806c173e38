/**
 * When the daemon runs (issue 25): a row per run, its start, a heartbeat a minute and
 * its clean stop. A slot outside every run was missed with the box (or the daemon)
 * off; the coverage calendar says so, from when to when. A run that died ends at its
 * last heartbeat, a minute at most before it did.
 */
import type { Logger } from '../logger';
import type { CoverageRepository } from '../store/coverage.repository';
import { messageOf } from '../error-causes';

const HEARTBEAT_MS = 60_000;

export class DaemonRuns {
  readonly #repo: Pick<CoverageRepository, 'startRun' | 'heartbeat' | 'stopRun'>;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #intervalMs: number;
  #startedAt: number | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(deps: { repo: Pick<CoverageRepository, 'startRun' | 'heartbeat' | 'stopRun'>; log: Logger; now?: () => number; intervalMs?: number }) {
    this.#repo = deps.repo;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.#intervalMs = deps.intervalMs ?? HEARTBEAT_MS;
  }

  /** When this run started, or null before `start`. */
  get startedAt(): number | null {
    return this.#startedAt;
  }

  start(): void {
    if (this.#startedAt !== null) return;
    const at = this.#now();
    this.#repo.startRun(at);
    this.#startedAt = at;
    this.#timer = setInterval(() => this.#beat(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#startedAt === null) return;
    try {
      this.#repo.stopRun(this.#startedAt, this.#now());
    } catch (err) {
      this.#log.warn({ err: messageOf(err) }, 'the end of this run could not be recorded: the coverage calendar ends it at its last heartbeat');
    }
  }

  #beat(): void {
    try {
      if (this.#startedAt !== null) this.#repo.heartbeat(this.#startedAt, this.#now());
    } catch (err) {
      // A full disk: the next heartbeat tries again; at worst the run looks shorter than it was.
      this.#log.warn({ err: messageOf(err) }, 'the heartbeat of this run could not be recorded');
    }
  }
}
