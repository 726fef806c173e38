import type { Db } from './database';

export type HealthResolution = 'minute' | 'hour' | 'day';

/** One row of the health history: a minute, or an hour or day made of them. */
export interface HealthPoint {
  /** Start of the period (ms since the epoch). */
  at: number;
  /** Minute samples the point stands for. */
  samples: number;
  /** Lowest of the period. */
  diskFreeBytes: number;
  diskTotalBytes: number;
  /** Mean of the period; null when no sample knew it. */
  cpuTempC: number | null;
  cpuTempMaxC: number | null;
  /** Mean of the 1-minute load average over the period. */
  load1: number;
  load1Max: number;
  /** Lowest of the period. */
  memAvailableBytes: number;
  memTotalBytes: number;
  /** Highest resident memory of the daemon in the period. */
  rssBytes: number;
  /** Bytes moved during the period, every interface but loopback. */
  netRxBytes: number;
  netTxBytes: number;
  /** True when seen at any moment of the period; null when unknown (no vcgencmd, no NTP status). */
  underVoltage: boolean | null;
  throttled: boolean | null;
  clockUnsynced: boolean | null;
}

/** What one sample contributes: its minute's means and extremes are its own values. */
export type MinuteRow = Omit<HealthPoint, 'samples' | 'cpuTempMaxC' | 'load1Max'>;

interface Row {
  resolution: HealthResolution;
  at: number;
  samples: number;
  disk_free_bytes: number;
  disk_total_bytes: number;
  cpu_temp_c: number | null;
  cpu_temp_max_c: number | null;
  load1: number;
  load1_max: number;
  mem_available_bytes: number;
  mem_total_bytes: number;
  rss_bytes: number;
  net_rx_bytes: number;
  net_tx_bytes: number;
  under_voltage: number | null;
  throttled: number | null;
  clock_unsynced: number | null;
}

interface MinuteParams {
  at: number;
  diskFree: number;
  diskTotal: number;
  temp: number | null;
  load1: number;
  memAvailable: number;
  memTotal: number;
  rss: number;
  rx: number;
  tx: number;
  underVoltage: number | null;
  throttled: number | null;
  clockUnsynced: number | null;
}

const MINUTE_MS = 60_000;

/** A flag seen once in either row stays seen; NULL only when both are unknown. */
const mergeFlag = (column: string) => `${column} = coalesce(max(${column}, excluded.${column}), ${column}, excluded.${column})`;

/**
 * The box's vital signs over time (`health_samples`): a row per minute, kept two days,
 * rolled up into hours (kept 90 days) and local days (kept for good) for charts.
 */
export class HealthRepository {
  readonly #db: Db;
  readonly #addMinute;
  readonly #rollUp;
  readonly #points;
  readonly #prune;
  readonly #lastAt;
  readonly #firstAt;

  constructor(db: Db) {
    this.#db = db;
    // Two samples in one minute (a "sample now" next to the timer's): the later
    // readings stand, the bytes moved add up, a flag seen stays seen.
    this.#addMinute = db.prepare<[MinuteParams]>(
      `INSERT INTO health_samples (resolution, at, samples, disk_free_bytes, disk_total_bytes, cpu_temp_c, cpu_temp_max_c,
         load1, load1_max, mem_available_bytes, mem_total_bytes, rss_bytes, net_rx_bytes, net_tx_bytes, under_voltage, throttled, clock_unsynced)
       VALUES ('minute', @at, 1, @diskFree, @diskTotal, @temp, @temp, @load1, @load1, @memAvailable, @memTotal, @rss, @rx, @tx,
         @underVoltage, @throttled, @clockUnsynced)
       ON CONFLICT (resolution, at) DO UPDATE SET
         disk_free_bytes = excluded.disk_free_bytes, disk_total_bytes = excluded.disk_total_bytes,
         cpu_temp_c = excluded.cpu_temp_c, cpu_temp_max_c = excluded.cpu_temp_max_c, load1 = excluded.load1, load1_max = excluded.load1_max,
         mem_available_bytes = excluded.mem_available_bytes, mem_total_bytes = excluded.mem_total_bytes, rss_bytes = excluded.rss_bytes,
         net_rx_bytes = net_rx_bytes + excluded.net_rx_bytes, net_tx_bytes = net_tx_bytes + excluded.net_tx_bytes,
         ${mergeFlag('under_voltage')}, ${mergeFlag('throttled')}, ${mergeFlag('clock_unsynced')}`,
    );
    // Means are weighted by the samples each row stands for, over the rows that
    // know the value: an hour without a temperature does not pull a day's mean to zero.
    // HAVING: no row at all for an empty period, rather than one of NULLs.
    this.#rollUp = db.prepare<[{ from: HealthResolution; to: HealthResolution; start: number; end: number }]>(
      `INSERT OR REPLACE INTO health_samples (resolution, at, samples, disk_free_bytes, disk_total_bytes, cpu_temp_c, cpu_temp_max_c,
         load1, load1_max, mem_available_bytes, mem_total_bytes, rss_bytes, net_rx_bytes, net_tx_bytes, under_voltage, throttled, clock_unsynced)
       SELECT @to, @start, sum(samples), min(disk_free_bytes), max(disk_total_bytes),
         sum(cpu_temp_c * samples) / sum(CASE WHEN cpu_temp_c IS NOT NULL THEN samples END), max(cpu_temp_max_c),
         sum(load1 * samples) / sum(CASE WHEN load1 IS NOT NULL THEN samples END), max(load1_max),
         min(mem_available_bytes), max(mem_total_bytes), max(rss_bytes), sum(net_rx_bytes), sum(net_tx_bytes),
         max(under_voltage), max(throttled), max(clock_unsynced)
       FROM health_samples
       WHERE resolution = @from AND at >= @start AND at < @end
       HAVING count(*) > 0`,
    );
    this.#points = db.prepare<[HealthResolution, number, number], Row>(
      `SELECT * FROM health_samples WHERE resolution = ? AND at >= ? AND at < ? ORDER BY at`,
    );
    this.#prune = db.prepare<[HealthResolution, number]>(`DELETE FROM health_samples WHERE resolution = ? AND at < ?`);
    this.#lastAt = db.prepare<[HealthResolution], { at: number | null }>(`SELECT max(at) AS at FROM health_samples WHERE resolution = ?`);
    this.#firstAt = db.prepare<[HealthResolution, number], { at: number | null }>(
      `SELECT min(at) AS at FROM health_samples WHERE resolution = ? AND at >= ?`,
    );
  }

  /** Stores one sample as the row of its minute (`at` floored to the minute). */
  addMinute(row: MinuteRow): void {
    this.#addMinute.run({
      at: row.at - (row.at % MINUTE_MS),
      diskFree: row.diskFreeBytes,
      diskTotal: row.diskTotalBytes,
      temp: row.cpuTempC,
      load1: row.load1,
      memAvailable: row.memAvailableBytes,
      memTotal: row.memTotalBytes,
      rss: row.rssBytes,
      rx: row.netRxBytes,
      tx: row.netTxBytes,
      underVoltage: flag(row.underVoltage),
      throttled: flag(row.throttled),
      clockUnsynced: flag(row.clockUnsynced),
    });
  }

  /**
   * Writes the `to` row starting at `periodStart` from the `from` rows in
   * [periodStart, periodEnd), replacing an earlier one: running it again is harmless.
   * Returns false (and writes nothing) when the period has no rows.
   */
  rollUp(from: 'minute' | 'hour', to: 'hour' | 'day', periodStart: number, periodEnd: number): boolean {
    return this.#rollUp.run({ from, to, start: periodStart, end: periodEnd }).changes > 0;
  }

  /** Rows of one resolution starting in [from, to), in time order. */
  points(resolution: HealthResolution, from: number, to: number): HealthPoint[] {
    return this.#points.all(resolution, from, to).map(toPoint);
  }

  /** Deletes the rows of one resolution that start before `before`; returns how many. */
  prune(resolution: HealthResolution, before: number): number {
    return this.#prune.run(resolution, before).changes;
  }

  /** Start of the newest row of a resolution; null when there is none. */
  lastAt(resolution: HealthResolution): number | null {
    return this.#lastAt.get(resolution)?.at ?? null;
  }

  /** Start of the oldest row of a resolution at or after `from`; null when there is none. */
  firstAt(resolution: HealthResolution, from = 0): number | null {
    return this.#firstAt.get(resolution, from)?.at ?? null;
  }

  /** Runs `fn` in one transaction: a sample and its roll-ups are one write to the SD card. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}

function flag(value: boolean | null): number | null {
  return value === null ? null : value ? 1 : 0;
}

function toPoint(r: Row): HealthPoint {
  const bool = (v: number | null) => (v === null ? null : v !== 0);
  return {
    at: r.at,
    samples: r.samples,
    diskFreeBytes: r.disk_free_bytes,
    diskTotalBytes: r.disk_total_bytes,
    cpuTempC: r.cpu_temp_c,
    cpuTempMaxC: r.cpu_temp_max_c,
    load1: r.load1,
    load1Max: r.load1_max,
    memAvailableBytes: r.mem_available_bytes,
    memTotalBytes: r.mem_total_bytes,
    rssBytes: r.rss_bytes,
    netRxBytes: r.net_rx_bytes,
    netTxBytes: r.net_tx_bytes,
    underVoltage: bool(r.under_voltage),
    throttled: bool(r.throttled),
    clockUnsynced: bool(r.clock_unsynced),
  };
}
