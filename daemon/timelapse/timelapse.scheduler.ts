/**
 * Queues the daily, weekly and monthly videos when they fall due: once a minute it
 * asks `duePeriod` (pure) which period each enabled kind should have by now, and
 * queues it unless a job for that period exists. So a box that was off at 00:30
 * builds yesterday's film when it comes back; a failed build is tried again an hour
 * later, three times at most; a cancelled one is left alone.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { TIMELAPSE_KINDS, type Config, type TimelapseKind } from '../config/schema';
import type { Logger } from '../logger';
import { duePeriod } from './frames';
import { scheduledSpec } from './video-spec';
import type { VideoJobs } from './video-jobs.service';
import { messageOf } from '../error-causes';

const KINDS: readonly TimelapseKind[] = TIMELAPSE_KINDS;
const RETRY_AFTER_MS = 3_600_000;
const MAX_ATTEMPTS = 3;

export class TimelapseScheduler {
  readonly #config: () => Config;
  readonly #jobs: VideoJobs;
  readonly #log: Logger;
  readonly #now: () => number;
  #task: ScheduledTask | null = null;

  constructor(deps: { config: () => Config; jobs: VideoJobs; log: Logger; now?: () => number }) {
    this.#config = deps.config;
    this.#jobs = deps.jobs;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
  }

  start(options: { tick?: boolean } = {}): void {
    if (options.tick === false) return;
    this.tick();
    this.#task = cron.schedule('0 * * * * *', () => this.tick(), { name: 'timelapse' });
  }

  stop(): void {
    void this.#task?.destroy();
    this.#task = null;
  }

  /** Queues every video due now that has no job yet; returns the ids queued. */
  tick(): number[] {
    const config = this.#config();
    const now = this.#now();
    const queued: number[] = [];
    for (const source of config.sources) {
      for (const kind of KINDS) {
        const settings = source.timelapse[kind];
        if (!settings.enabled) continue;
        const period = duePeriod(kind, now, settings.at, config.appliance.timezone);
        const previous = this.#jobs.forPeriod(source.id, kind, period.label);
        const last = previous.at(-1);
        if (last) {
          const failed = last.status === 'failed';
          const attempts = previous.filter((j) => j.status === 'failed').length;
          if (!failed || attempts >= MAX_ATTEMPTS || now - (last.finishedAt ?? now) < RETRY_AFTER_MS) continue;
        }
        try {
          const job = this.#jobs.submitScheduled(scheduledSpec(source, kind, period), period.label);
          queued.push(job.id);
          this.#log.info({ source: source.id, kind, period: period.label, job: job.id }, `${kind} video queued`);
        } catch (err) {
          this.#log.error({ source: source.id, kind, period: period.label, err: messageOf(err) }, `${kind} video could not be queued`);
        }
      }
    }
    return queued;
  }
}
