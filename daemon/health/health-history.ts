/**
 * Samples the box's vital signs every minute and keeps their history: a row per
 * minute for two days, per hour for 90 days, per local day for good. Charts read
 * the history; alerts and metrics listen to each sample.
 */
import { DateTime } from 'luxon';
import type { Logger } from '../logger';
import type { HealthPoint, HealthRepository, HealthResolution, MinuteRow } from '../store/health.repository';
import type { SystemProbe, SystemSample } from './system-probe';
import type { PowerState } from './throttling';
import { messageOf } from '../error-causes';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const MINUTES_KEPT_MS = 48 * HOUR_MS;
const HOURS_KEPT_MS = 90 * 24 * HOUR_MS;

export interface HealthHistoryDeps {
  probe: SystemProbe;
  repo: HealthRepository;
  /** The appliance time zone, read at each sample: days are local days. */
  timezone: () => string;
  log: Logger;
  now?: () => number;
  /** Time between samples. Default one minute. */
  intervalMs?: number;
}

type Counters = Map<string, { rx: number; tx: number }>;

export class HealthHistory {
  readonly #probe: SystemProbe;
  readonly #repo: HealthRepository;
  readonly #timezone: () => string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #listeners = new Set<(sample: SystemSample) => void>();
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<SystemSample> | null = null;
  #latest: SystemSample | null = null;
  /** Byte counters of the previous sample, per interface; null before the first. */
  #counters: Counters | null = null;
  /** The previous sample's firmware flags: a sticky bit set since then means it happened in between. */
  #power: PowerState | null = null;

  constructor(deps: HealthHistoryDeps) {
    this.#probe = deps.probe;
    this.#repo = deps.repo;
    this.#timezone = deps.timezone;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.#intervalMs = deps.intervalMs ?? MINUTE_MS;
  }

  /** Samples now, then every interval; a failed sample is logged and the next one tried. */
  start(): void {
    if (this.#timer) return;
    void this.#tick();
    this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
    // Sampling never keeps the process alive on its own.
    this.#timer.unref();
  }

  /** Stops the timer and waits for a sample in flight, so the store can close after. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#inFlight?.catch(() => undefined);
  }

  /** The newest stored sample; null before the first. */
  latest(): SystemSample | null {
    return this.#latest;
  }

  /**
   * Takes a sample, stores it and its roll-ups, and tells the listeners. Callers
   * during a sample in flight share it: two samples at once would count the same
   * network bytes twice.
   */
  sampleNow(): Promise<SystemSample> {
    this.#inFlight ??= this.#sample().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  /** Called after each stored sample; returns the function that unsubscribes. */
  onSample(listener: (sample: SystemSample) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stored rows of one resolution starting in [from, to), in time order. */
  history(resolution: HealthResolution, from: number, to: number): HealthPoint[] {
    return this.#repo.points(resolution, from, to);
  }

  async #tick(): Promise<void> {
    try {
      await this.sampleNow();
    } catch (err) {
      this.#log.warn({ err }, `could not sample the box's health: ${messageOf(err)}`);
    }
  }

  async #sample(): Promise<SystemSample> {
    const sample = await this.#probe.sample();
    const { row, counters } = this.#minuteRow(sample);
    const now = this.#now();
    this.#repo.transaction(() => {
      this.#repo.addMinute(row);
      this.#rollUpHours(now);
      this.#rollUpDays(now, this.#timezone());
      this.#repo.prune('minute', now - MINUTES_KEPT_MS);
      this.#repo.prune('hour', now - HOURS_KEPT_MS);
    });
    // Only once stored: bytes of a sample that failed to store count in the next one.
    this.#counters = counters;
    this.#power = sample.power;
    this.#latest = sample;
    for (const listener of this.#listeners) {
      try {
        listener(sample);
      } catch (err) {
        this.#log.warn({ err }, 'a listener of the health samples failed');
      }
    }
    return sample;
  }

  #minuteRow(sample: SystemSample): { row: MinuteRow; counters: Counters } {
    const counters: Counters = new Map();
    let rx = 0;
    let tx = 0;
    for (const n of sample.network) {
      counters.set(n.iface, { rx: n.rxBytes, tx: n.txBytes });
      const before = this.#counters?.get(n.iface);
      // A counter that went down was reset (interface re-created, 32-bit wrap): its bytes are unknown.
      if (before && n.rxBytes >= before.rx) rx += n.rxBytes - before.rx;
      if (before && n.txBytes >= before.tx) tx += n.txBytes - before.tx;
    }
    const power = sample.power;
    const before = this.#power;
    // Now, or since the previous sample (its sticky bit went from clear to set).
    const seen = (now: boolean, occurred: (p: PowerState) => boolean) =>
      now || (power !== null && before !== null && occurred(power) && !occurred(before));
    return {
      counters,
      row: {
        at: sample.at,
        diskFreeBytes: sample.disk.freeBytes,
        diskTotalBytes: sample.disk.totalBytes,
        cpuTempC: sample.cpuTempC,
        load1: sample.load[0],
        memAvailableBytes: sample.memory.availableBytes,
        memTotalBytes: sample.memory.totalBytes,
        rssBytes: sample.memory.processRssBytes,
        netRxBytes: rx,
        netTxBytes: tx,
        underVoltage: power === null ? null : seen(power.underVoltage, (p) => p.underVoltageOccurred),
        // Any slowing of the CPU, whatever the cause (heat or weak power).
        throttled:
          power === null
            ? null
            : seen(power.throttled, (p) => p.throttledOccurred) ||
              seen(power.frequencyCapped, (p) => p.frequencyCappedOccurred) ||
              seen(power.softTempLimit, (p) => p.softTempLimitOccurred),
        clockUnsynced: sample.clock.synchronized === null ? null : !sample.clock.synchronized,
      },
    };
  }

  /** Every complete hour (UTC hours) with minute rows and no hour row yet; gaps are skipped, not walked. */
  #rollUpHours(now: number): void {
    const last = this.#repo.lastAt('hour');
    let next = this.#repo.firstAt('minute', last === null ? 0 : last + HOUR_MS);
    while (next !== null) {
      const hour = next - (next % HOUR_MS);
      if (hour + HOUR_MS > now) return;
      this.#repo.rollUp('minute', 'hour', hour, hour + HOUR_MS);
      next = this.#repo.firstAt('minute', hour + HOUR_MS);
    }
  }

  /**
   * Every complete local day with hour rows and no day row yet. A local day is 23
   * or 25 hours on DST changes; in a zone off the hour (UTC+5:30) the hour that
   * spans midnight counts in the day it starts in.
   */
  #rollUpDays(now: number, zone: string): void {
    const last = this.#repo.lastAt('day');
    let next = this.#repo.firstAt('hour', last === null ? 0 : localDay(last, zone).end);
    while (next !== null) {
      const day = localDay(next, zone);
      // Complete once the last hour starting in it is complete (and so rolled up).
      const lastHourEnd = day.end - 1 - ((day.end - 1) % HOUR_MS) + HOUR_MS;
      if (lastHourEnd > now) return;
      this.#repo.rollUp('hour', 'day', day.start, day.end);
      next = this.#repo.firstAt('hour', day.end);
    }
  }
}

function localDay(at: number, zone: string): { start: number; end: number } {
  const start = DateTime.fromMillis(at, { zone }).startOf('day');
  if (!start.isValid) throw new Error(`the time zone "${zone}" is unknown: no local day can be rolled up`);
  return { start: start.toMillis(), end: start.plus({ days: 1 }).toMillis() };
}
