/**
 * Turns each source's schedule into captures. node-cron ticks once a second; on
 * each tick the scheduler compares the clock with the next slot it computed from
 * `slots.ts` (pure). A slot is started at most once, even across restarts (the
 * last slot started is kept in the database), and a slot that comes too late
 * (the box was busy or asleep) is counted as skipped rather than run late.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { DateTime } from 'luxon';
import type { Logger } from '../logger';
import type { Config, SourceConfig } from '../config/schema';
import type { SourceStateRepository } from '../store/source-state.repository';
import type { CaptureService } from '../capture/capture.service';
import { nextSlot, type ScheduleSpec, type SlotContext } from './slots';
import type { CoverageRepository } from '../store/coverage.repository';
import { localDate } from '../domain/data-folder';
import { messageOf } from '../error-causes';

interface Plan {
  source: SourceConfig;
  spec: ScheduleSpec;
  next: Date | null;
}

/**
 * How late a slot may still start: half the interval, at most 30 s. Under half,
 * so a late capture can never be mistaken for the next slot's.
 */
export function graceMs(everyMs: number): number {
  return Math.min(30_000, everyMs / 2);
}

export class Scheduler {
  readonly #plans = new Map<string, Plan>();
  readonly #ctx: SlotContext;
  readonly #capture: CaptureService;
  readonly #state: SourceStateRepository;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #coverage: Pick<CoverageRepository, 'recordSchedules' | 'recordGap'> | null;
  readonly #schedules: Map<string, ScheduleSpec | null>;
  #task: ScheduledTask | null = null;

  constructor(deps: {
    config: Config;
    capture: CaptureService;
    state: SourceStateRepository;
    log: Logger;
    now?: () => number;
    /** Where the schedules in force and the slots missed for the daemon are noted (the coverage calendar). */
    coverage?: Pick<CoverageRepository, 'recordSchedules' | 'recordGap'>;
  }) {
    this.#ctx = { timezone: deps.config.appliance.timezone, ...(deps.config.appliance.location ? { location: deps.config.appliance.location } : {}) };
    this.#schedules = new Map(deps.config.sources.map((s) => [s.id, s.enabled ? { everyMs: s.schedule.every, windows: s.schedule.windows } : null]));
    this.#coverage = deps.coverage ?? null;
    for (const source of deps.config.sources) {
      if (!source.enabled) continue;
      this.#plans.set(source.id, { source, spec: { everyMs: source.schedule.every, windows: source.schedule.windows }, next: null });
    }
    this.#capture = deps.capture;
    this.#state = deps.state;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
  }

  /** Computes the first slots and starts ticking (pass `tick: false` to drive `tick()` by hand). */
  start(options: { tick?: boolean } = {}): void {
    const now = this.#now();
    try {
      // From now on, slots are counted with these schedules.
      this.#coverage?.recordSchedules(this.#schedules, now);
    } catch (err) {
      this.#log.error({ err: messageOf(err) }, 'the schedules in force could not be recorded: the coverage calendar counts these days with the previous ones');
    }
    for (const plan of this.#plans.values()) {
      // A slot that began moments ago still runs at start-up, unless it already ran before a restart.
      plan.next = nextSlot(new Date(now - graceMs(plan.spec.everyMs)), plan.spec, this.#ctx);
      this.#log.info({ source: plan.source.id, next: plan.next?.toISOString() ?? null }, 'schedule started');
    }
    if (options.tick === false) return;
    this.tick(); // now, not a second later, or a slot that just began would be too late
    this.#task = cron.schedule('* * * * * *', () => this.tick(), {
      name: 'lapsebox-scheduler',
      noOverlap: false,
      logger: {
        info: () => undefined,
        debug: () => undefined,
        warn: (message: string) => this.#log.debug({ cron: message }, 'node-cron'),
        error: (message: string | Error) => this.#log.warn({ cron: String(message) }, 'node-cron'),
      },
    });
  }

  stop(): void {
    void this.#task?.destroy();
    this.#task = null;
  }

  /** The next slot of a source, or null when it has none (disabled, or no window ahead). */
  nextSlot(sourceId: string): Date | null {
    return this.#plans.get(sourceId)?.next ?? null;
  }

  /** Starts the captures that are due; called every second. Returns the sources started. */
  tick(): string[] {
    const now = this.#now();
    const started: string[] = [];
    for (const plan of this.#plans.values()) {
      if (!plan.next || plan.next.getTime() > now) continue;
      // Catch up to the newest due slot; older ones passed while the box could not act.
      let slot = plan.next;
      let missed = 0;
      for (let n = nextSlot(slot, plan.spec, this.#ctx); n && n.getTime() <= now; n = nextSlot(slot, plan.spec, this.#ctx)) {
        slot = n;
        if (++missed > 100_000) break;
      }
      plan.next = nextSlot(slot, plan.spec, this.#ctx);
      try {
        if (this.#start(plan, slot, missed, now)) started.push(plan.source.id);
      } catch (err) {
        // Caught here, per source: one source's failure (the database full, say) neither stops the
        // others nor reaches node-cron, which would log it as a bare "node-cron" line.
        this.#failed(plan, slot, err);
      }
    }
    return started;
  }

  /** Starts the slot of one source (true), or counts it as skipped. Throws when the database does. */
  #start(plan: Plan, slot: Date, missed: number, now: number): boolean {
    const id = plan.source.id;
    const gap = { kind: 'late' as const, at: now, everyMs: plan.spec.everyMs };
    if (missed > 0) this.#state.recordSkip(id, localDate(now, this.#ctx.timezone), missed);
    if (missed > 0) this.#coverage?.recordGap(id, gap, missed);
    if (missed > 0) this.#log.warn({ source: id, missed }, 'slots missed: the daemon could not act in time');
    const lateBy = now - slot.getTime();
    if (lateBy > graceMs(plan.spec.everyMs)) {
      this.#state.recordSkip(id, localDate(now, this.#ctx.timezone));
      this.#coverage?.recordGap(id, gap);
      this.#log.warn({ source: id, slot: slot.toISOString(), lateByMs: lateBy }, 'slot skipped: too late to capture');
      return false;
    }
    const lastSlot = this.#state.get(id).lastSlot;
    if (lastSlot !== null && lastSlot >= slot.getTime()) return false; // ran before a restart
    this.#state.markSlot(id, slot.getTime());
    void this.#capture.capture(id, 'slot');
    return true;
  }

  /** One line that says which slot failed, why, and what happens next. */
  #failed(plan: Plan, slot: Date, err: unknown): void {
    const zone = this.#ctx.timezone;
    const local = (d: Date) => DateTime.fromJSDate(d, { zone }).toFormat('yyyy-LL-dd HH:mm:ss');
    const code = (err as { code?: unknown } | null)?.code;
    const reason = messageOf(err);
    const diskFull = code === 'SQLITE_FULL' || code === 'ENOSPC';
    const next = plan.next
      ? diskFull
        ? `the next slot, ${local(plan.next)}, is tried as usual, and fails like this one until the data disk has space again`
        : `the next slot, ${local(plan.next)}, is tried as usual`
      : 'the source has no slot ahead';
    this.#log.error(
      { source: plan.source.id, slot: slot.toISOString(), next: plan.next?.toISOString() ?? null, code: typeof code === 'string' ? code : undefined, error: reason },
      `source ${plan.source.id}: the slot of ${local(slot)} was not started: ${reason}${diskFull ? ' (the data disk is full)' : ''}; ${next}`,
    );
  }
}
