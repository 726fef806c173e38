/**
 * Prometheus metrics of the box (issue 8): what a maintainer graphs and alerts on
 * across a fleet. The only file that knows prom-client; the rest of the daemon
 * calls `observe*` and `purged`, and the web answers `text()` at GET /metrics.
 *
 * Each `Metrics` has its own registry, never prom-client's global one: several
 * apps live in one process in the tests, and the global registry would mix them.
 * Counts the daemon already keeps in SQLite (captures, failures, skipped slots) are
 * read at scrape time, so they survive restarts; durations and purges are only
 * known as they happen and live in memory (Prometheus handles those counters
 * starting again from zero after a restart).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../config/schema';
import type { SourceStateRepository, SourceState } from '../store/source-state.repository';
import type { Backlog } from '../store/outbox.repository';

export interface MetricsInputs {
  /** The config in force: its sources and targets are the label sets of a scrape. */
  config: () => Config;
  /** Cumulative counts and the camera's state, per source. */
  state: Pick<SourceStateRepository, 'get'>;
  /** OutboxRepository.backlog. */
  backlog: (targetId: string) => Backlog;
  /** The latest health sample; null before the first one. */
  health: () => HealthSnapshot | null;
  /** The storage guard's view; null before its first check. */
  storage: () => { capturePaused: boolean } | null;
  /** Alerts raised now. */
  alerts: () => { kind: string; severity: 'warning' | 'error' }[];
  now?: () => number;
}

/** The part of a health sample metrics need (defined here so this file does not wait for the health module). */
export interface HealthSnapshot {
  disk: { totalBytes: number; freeBytes: number };
  cpuTempC: number | null;
  load: [number, number, number];
  memory: { totalBytes: number; availableBytes: number };
  /** null where there is no vcgencmd (not a Raspberry Pi). */
  power: { underVoltage: boolean; throttled: boolean } | null;
  clock: { synchronized: boolean | null };
}

const PREFIX = 'lapsebox_';
/** A webcam answers in a fraction of a second; a DSLR over USB with a long exposure and a slow SD card takes up to two minutes. */
const CAPTURE_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];
/** A daily video on a Pi 3 takes seconds to minutes; a monthly one at full size, up to two hours. */
const ENCODE_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

/** prom-client default metrics that are gauges despite their `_total` suffix. */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

type Read = () => number | null;

export class Metrics {
  readonly #inputs: MetricsInputs;
  readonly #registry = new Registry();
  /** Label sets held in memory, so those of a source that left the config can be dropped. */
  readonly #observed = new Map<string, Set<string>>();
  #defaultsRegistered = false;

  readonly #captureDuration: Histogram<'source'>;
  readonly #pipelineDuration: Histogram<'source'>;
  readonly #encodeDuration: Histogram<'source' | 'kind'>;
  readonly #purgedPictures: Counter<'source'>;
  readonly #purgedBytes: Counter<'source'>;

  /** Declares the metrics only: nothing is read until a scrape, which runs each metric's `collect`. */
  constructor(inputs: MetricsInputs) {
    this.#inputs = inputs;
    const registers = [this.#registry];
    this.#captureDuration = new Histogram({
      name: `${PREFIX}capture_duration_seconds`,
      help: 'Time from asking the camera to the picture stored (camera, processing, writing), per stored picture',
      labelNames: ['source'],
      buckets: CAPTURE_BUCKETS,
      registers,
    });
    this.#pipelineDuration = new Histogram({
      name: `${PREFIX}pipeline_duration_seconds`,
      help: 'The processing part of a capture (checks, sizes, legend, watermark), per stored picture; compare with capture_duration to tell a slow camera from a slow CPU',
      labelNames: ['source'],
      buckets: CAPTURE_BUCKETS,
      registers,
    });
    this.#encodeDuration = new Histogram({
      name: `${PREFIX}encode_duration_seconds`,
      help: 'Time to encode a timelapse video, per video, by kind (daily, weekly, monthly, custom)',
      labelNames: ['source', 'kind'],
      buckets: ENCODE_BUCKETS,
      registers,
    });
    this.#purgedPictures = new Counter({
      name: `${PREFIX}purged_pictures_total`,
      help: 'Pictures deleted by retention (age or low disk) since the daemon started',
      labelNames: ['source'],
      registers,
    });
    this.#purgedBytes = new Counter({
      name: `${PREFIX}purged_bytes_total`,
      help: 'Bytes freed by retention since the daemon started',
      labelNames: ['source'],
      registers,
    });
    this.#perSource('captures_total', 'counter', 'Pictures captured and stored (kept in the database: survives restarts)', (s) => s.captures);
    this.#perSource('capture_failures_total', 'counter', 'Captures that failed: camera error, timeout, rejected picture (kept in the database)', (s) => s.failures);
    this.#perSource('skipped_slots_total', 'counter', 'Scheduled slots that got no capture: camera busy, daemon late or stopped, capture paused (kept in the database)', (s) => s.skipped);
    this.#perSource('last_capture_timestamp_seconds', 'gauge', 'When the last picture was stored (Unix time); absent before the first one. Alert on time() minus this', (s) =>
      s.lastCaptureAt === null ? null : s.lastCaptureAt / 1000,
    );
    this.#perSource('camera_down', 'gauge', '1 while the recovery ladder has given up on the camera (it needs a person), else 0', (s) => (s.downSince === null ? 0 : 1));
    this.#perTarget('outbox_pending_files', 'Files waiting to be sent to the sync target', (b) => b.pending);
    this.#perTarget('outbox_pending_bytes', 'Bytes waiting to be sent to the sync target', (b) => b.bytes);
    this.#perTarget('outbox_oldest_age_seconds', 'How long the oldest unsent file has been waiting for the sync target; 0 when nothing waits', (b) =>
      b.oldestAt === null ? 0 : Math.max(0, (this.#now() - b.oldestAt) / 1000),
    );
    const health = <T>(read: (h: HealthSnapshot) => T): (() => T | null) => () => {
      const h = this.#inputs.health();
      return h === null ? null : read(h);
    };
    this.#single('disk_total_bytes', 'Size of the filesystem holding the data folder', health((h) => h.disk.totalBytes));
    this.#single('disk_free_bytes', 'Free space on the filesystem holding the data folder', health((h) => h.disk.freeBytes));
    this.#single('cpu_temperature_celsius', 'CPU temperature; absent where the board does not report it (a Pi throttles from 80 °C)', health((h) => h.cpuTempC));
    this.#single('load1', 'System load average over one minute (a Pi has 4 cores)', health((h) => h.load[0]));
    this.#single('memory_available_bytes', 'Memory available to programs without swapping', health((h) => h.memory.availableBytes));
    this.#single('memory_total_bytes', 'Physical memory', health((h) => h.memory.totalBytes));
    this.#single('under_voltage', '1 while the Pi reports under-voltage now (weak power supply or long cable), else 0; absent without vcgencmd', health((h) => flag(h.power?.underVoltage)));
    this.#single('throttled', '1 while the Pi throttles the CPU now (heat or power), else 0; absent without vcgencmd', health((h) => flag(h.power?.throttled)));
    this.#single('clock_synchronized', '1 when the system clock is synchronized (NTP), else 0: picture times are wrong without it; absent when unknown', health((h) => flag(h.clock.synchronized)));
    this.#single('capture_paused', '1 while capture is paused because the disk is nearly full and nothing may be deleted, else 0; absent before the first storage check', () =>
      flag(this.#inputs.storage()?.capturePaused),
    );
    const alerts = this.#inputs.alerts;
    new Gauge({
      name: `${PREFIX}alerts_active`,
      help: 'Alerts raised now, by kind and severity (the box also sends them to its webhook)',
      labelNames: ['kind', 'severity'],
      registers,
      collect() {
        this.reset();
        for (const alert of alerts()) this.inc({ kind: alert.kind, severity: alert.severity });
      },
    });
  }

  /** A stored picture: total time (camera + pipeline + store) and the pipeline part. */
  observeCapture(sourceId: string, timing: { totalMs: number; pipelineMs: number }): void {
    this.#observe(sourceId);
    this.#captureDuration.observe({ source: sourceId }, timing.totalMs / 1000);
    this.#pipelineDuration.observe({ source: sourceId }, timing.pipelineMs / 1000);
  }

  /** A video encoded, of a kind (daily, weekly, monthly, custom). */
  observeEncode(sourceId: string, kind: string, ms: number): void {
    this.#observe(sourceId, kind);
    this.#encodeDuration.observe({ source: sourceId, kind }, ms / 1000);
  }

  /** Retention deleted pictures of a source. */
  purged(sourceId: string, pictures: number, bytes: number): void {
    this.#observe(sourceId);
    this.#purgedPictures.inc({ source: sourceId }, pictures);
    this.#purgedBytes.inc({ source: sourceId }, bytes);
  }

  /** The Content-Type of `text()`: Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /** A scrape: every metric read now, for the sources and targets of the config in force. */
  async text(): Promise<string> {
    if (!this.#defaultsRegistered) {
      // Registered at the first scrape, not at construction: this starts an event-loop monitor.
      collectDefaultMetrics({ register: this.#registry });
      // Gauges named like counters fail promtool's lint; each is the sum of its labelled twin
      // (nodejs_active_handles{type} and so on), so nothing is lost.
      for (const name of MISNAMED_DEFAULTS) this.#registry.removeSingleMetric(name);
      this.#defaultsRegistered = true;
    }
    this.#forgetRemovedSources();
    return this.#registry.metrics();
  }

  #now(): number {
    return (this.#inputs.now ?? Date.now)();
  }

  #observe(sourceId: string, kind?: string): void {
    let kinds = this.#observed.get(sourceId);
    if (!kinds) this.#observed.set(sourceId, (kinds = new Set()));
    if (kind !== undefined) kinds.add(kind);
  }

  /** Drops the in-memory series of sources no longer in the config, as the database-backed ones drop at each scrape. */
  #forgetRemovedSources(): void {
    const configured = new Set(this.#inputs.config().sources.map((s) => s.id));
    for (const [source, kinds] of this.#observed) {
      if (configured.has(source)) continue;
      for (const metric of [this.#captureDuration, this.#pipelineDuration, this.#purgedPictures, this.#purgedBytes]) metric.remove({ source });
      for (const kind of kinds) this.#encodeDuration.remove({ source, kind });
      this.#observed.delete(source);
    }
  }

  /** One series per configured source, read from the database at scrape time; null leaves the source out. */
  #perSource(name: string, type: 'counter' | 'gauge', help: string, read: (state: SourceState) => number | null): void {
    const { config, state } = this.#inputs;
    const values = (): [string, number][] =>
      config().sources.flatMap((source): [string, number][] => {
        const value = read(state.get(source.id));
        return value === null ? [] : [[source.id, value]];
      });
    const options = { name: `${PREFIX}${name}`, help, labelNames: ['source'] as const, registers: [this.#registry] };
    if (type === 'counter') {
      new Counter({
        ...options,
        collect() {
          this.reset();
          for (const [source, value] of values()) this.inc({ source }, value);
        },
      });
    } else {
      new Gauge({
        ...options,
        collect() {
          this.reset();
          for (const [source, value] of values()) this.set({ source }, value);
        },
      });
    }
  }

  /** One series per configured sync target. */
  #perTarget(name: string, help: string, read: (backlog: Backlog) => number): void {
    const { config, backlog } = this.#inputs;
    new Gauge({
      name: `${PREFIX}${name}`,
      help,
      labelNames: ['target'],
      registers: [this.#registry],
      collect() {
        this.reset();
        for (const target of config().sync.targets) this.set({ target: target.id }, read(backlog(target.id)));
      },
    });
  }

  /** A series without labels; absent while `read` gives null (unknown is not zero). */
  #single(name: string, help: string, read: Read): void {
    new Gauge({
      name: `${PREFIX}${name}`,
      help,
      registers: [this.#registry],
      collect() {
        const value = read();
        if (value === null) this.remove({});
        else this.set(value);
      },
    });
  }
}

/** 1/0 for a known flag; null when unknown. */
function flag(value: boolean | null | undefined): number | null {
  return value === undefined || value === null ? null : value ? 1 : 0;
}
