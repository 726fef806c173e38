/**
 * Prometheus metrics over a real SQLite store and a config read from YAML: the
 * text passes `promtool check metrics` (lint included), counters move by exactly
 * what happened, the label sets follow the config in force, and only maintainers
 * may scrape GET /metrics.
 */
import { spawn } from 'node:child_process';
import type { LoadedConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { Metrics, type HealthSnapshot } from '../../daemon/health/metrics';
import { tempDir } from '../helpers/env';
import { basic } from '../helpers/daemon';
import { pictureServices } from '../helpers/videos';
import { addUsers, startWeb, writeYamlConfig } from '../helpers/web';

const TZ = 'Europe/Paris';
const T0 = Date.parse('2026-11-20T10:00:00Z');
const DAY = '2026-11-20';
const PASSWORD = 'metrics-test-password';
const HOST_KEY = `SHA256:${'A'.repeat(43)}`;

const FULL_HEALTH: HealthSnapshot = {
  disk: { totalBytes: 32e9, freeBytes: 12e9 },
  cpuTempC: 61.5,
  load: [1.25, 0.8, 0.5],
  memory: { totalBytes: 4e9, availableBytes: 2.5e9 },
  power: { underVoltage: true, throttled: false },
  clock: { synchronized: true },
};

/** The YAML lines of a config with these sources and sync targets. */
function lines(sources: string[], targets: string[] = []): string[] {
  return [
    'sources:',
    ...sources.flatMap((id) => [`  - id: ${id}`, '    camera: { driver: testpattern }']),
    ...(targets.length > 0 ? ['sync:', '  targets:'] : []),
    ...targets.map((id) => `    - { id: ${id}, type: sftp, host: 127.0.0.1, username: box, password: secret, hostKey: "${HOST_KEY}", remoteDir: /srv/timelapse }`),
  ];
}

interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The exposition text as name → samples (labels and value); comments left out. */
function parse(text: string): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const samples = out.get(m[1]!) ?? [];
    samples.push({ labels, value: Number(m[3]) });
    out.set(m[1]!, samples);
  }
  return out;
}

/** The value of the sample with exactly these labels; undefined when absent. */
function valueOf(samples: Map<string, Sample[]>, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return samples.get(name)?.find((s) => JSON.stringify(Object.entries(s.labels).sort()) === wanted)?.value;
}

/** Label values of `label` among the samples of `name`. */
function labelsOf(samples: Map<string, Sample[]>, name: string, label: string): string[] {
  return [...new Set((samples.get(name) ?? []).map((s) => s.labels[label]!))].sort();
}

/** `promtool check metrics` on the text: its exit code and everything it printed (lint problems). */
function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

describe('Metrics', () => {
  let tmp: ReturnType<typeof tempDir>;
  let loaded: LoadedConfig;
  let store: Repositories;
  let health: HealthSnapshot | null;
  let capturePaused: boolean | null;
  let alerts: { kind: string; severity: 'warning' | 'error' }[];
  let now: number;
  let sut: Metrics;

  const config = (): Config => loaded.config;
  const build = () =>
    new Metrics({
      config,
      state: store.state,
      backlog: (targetId) => store.outbox.backlog(targetId),
      health: () => health,
      storage: () => (capturePaused === null ? null : { capturePaused }),
      alerts: () => alerts,
      now: () => now,
    });
  const scrape = async () => parse(await sut.text());

  beforeEach(() => {
    tmp = tempDir();
    loaded = writeYamlConfig(tmp.dir, TZ, lines(['north', 'south'], ['hq']));
    store = openRepositories(config().storage.dataDir);
    health = FULL_HEALTH;
    capturePaused = false;
    alerts = [];
    now = T0;
    sut = build();
  });

  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('passes promtool check metrics, lint included, with everything known and with nothing known', async () => {
    store.state.recordSuccess('north', T0 - 60_000, 1);
    sut.observeCapture('north', { totalMs: 2300, pipelineMs: 450 });
    sut.observeEncode('north', 'daily', 95_000);
    sut.purged('north', 3, 3_000_000);
    alerts = [{ kind: 'disk-low', severity: 'warning' }, { kind: 'camera-down', severity: 'error' }];
    const full = await promtool(await sut.text());
    expect(full).toEqual({ code: 0, output: '' });

    health = null;
    capturePaused = null;
    alerts = [];
    const empty = await promtool(await sut.text());
    expect(empty).toEqual({ code: 0, output: '' });
  });

  it('counts from the database and from observations: each scrape shows exactly what happened since the last', async () => {
    const before = await scrape();
    expect(valueOf(before, 'lapsebox_captures_total', { source: 'north' })).toBe(0);
    expect(valueOf(before, 'lapsebox_last_capture_timestamp_seconds', { source: 'north' })).toBeUndefined();

    store.state.recordSuccess('north', T0, 7);
    store.state.recordFailure('north', T0 + 1000, 'camera north: timed out', DAY);
    store.state.recordSkip('north', DAY, 2);
    store.state.setDown('north', T0 + 2000);
    sut.observeCapture('north', { totalMs: 1500, pipelineMs: 250 });
    sut.observeEncode('north', 'daily', 90_000);
    sut.purged('north', 3, 4096);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string> = { source: 'north' }) => (valueOf(after, name, labels) ?? NaN) - (valueOf(before, name, labels) ?? 0);
    expect(delta('lapsebox_captures_total')).toBe(1);
    expect(delta('lapsebox_capture_failures_total')).toBe(1);
    expect(delta('lapsebox_skipped_slots_total')).toBe(2);
    expect(delta('lapsebox_capture_duration_seconds_count')).toBe(1);
    expect(delta('lapsebox_capture_duration_seconds_sum')).toBeCloseTo(1.5);
    expect(delta('lapsebox_capture_duration_seconds_bucket', { source: 'north', le: '1' })).toBe(0);
    expect(delta('lapsebox_capture_duration_seconds_bucket', { source: 'north', le: '2' })).toBe(1);
    expect(delta('lapsebox_pipeline_duration_seconds_sum')).toBeCloseTo(0.25);
    expect(delta('lapsebox_encode_duration_seconds_count', { source: 'north', kind: 'daily' })).toBe(1);
    expect(delta('lapsebox_purged_pictures_total')).toBe(3);
    expect(delta('lapsebox_purged_bytes_total')).toBe(4096);
    expect(valueOf(after, 'lapsebox_last_capture_timestamp_seconds', { source: 'north' })).toBe(T0 / 1000);
    expect(valueOf(after, 'lapsebox_camera_down', { source: 'north' })).toBe(1);
    // The other source did not move.
    expect(valueOf(after, 'lapsebox_captures_total', { source: 'south' })).toBe(0);
    expect(valueOf(after, 'lapsebox_camera_down', { source: 'south' })).toBe(0);

    // A scrape changes nothing by itself: counters are set from the database, not added to.
    expect(valueOf(await scrape(), 'lapsebox_captures_total', { source: 'north' })).toBe(1);
    // A restarted daemon (a new Metrics on the same database) carries on from the stored counts.
    sut = build();
    const restarted = await scrape();
    expect(valueOf(restarted, 'lapsebox_captures_total', { source: 'north' })).toBe(1);
    expect(valueOf(restarted, 'lapsebox_skipped_slots_total', { source: 'north' })).toBe(2);
  });

  it('shows the outbox backlog of each target, and the age of its oldest file', async () => {
    const empty = await scrape();
    expect(valueOf(empty, 'lapsebox_outbox_pending_files', { target: 'hq' })).toBe(0);
    expect(valueOf(empty, 'lapsebox_outbox_pending_bytes', { target: 'hq' })).toBe(0);
    expect(valueOf(empty, 'lapsebox_outbox_oldest_age_seconds', { target: 'hq' })).toBe(0);

    const item = { targetId: 'hq', kind: 'picture', sourceId: 'north', localPath: 'sources/north/pictures/x.jpg', size: 250_000, overwrite: false, priority: 1, replaces: false } as const;
    store.outbox.add({ ...item, itemId: 1, remotePath: 'north/pictures/2026-11-20/a.jpg', orderAt: T0 }, T0 - 90_000);
    store.outbox.add({ ...item, itemId: 2, remotePath: 'north/pictures/2026-11-20/b.jpg', orderAt: T0 }, T0 - 30_000);
    const pending = await scrape();
    expect(valueOf(pending, 'lapsebox_outbox_pending_files', { target: 'hq' })).toBe(2);
    expect(valueOf(pending, 'lapsebox_outbox_pending_bytes', { target: 'hq' })).toBe(500_000);
    expect(valueOf(pending, 'lapsebox_outbox_oldest_age_seconds', { target: 'hq' })).toBe(90);
    now = T0 + 60_000;
    expect(valueOf(await scrape(), 'lapsebox_outbox_oldest_age_seconds', { target: 'hq' })).toBe(150);
  });

  it('follows the config in force: a removed source or target disappears, a new one appears', async () => {
    sut.observeCapture('south', { totalMs: 800, pipelineMs: 100 });
    sut.observeEncode('south', 'daily', 60_000);
    sut.purged('south', 1, 100);
    const first = await scrape();
    expect(labelsOf(first, 'lapsebox_captures_total', 'source')).toEqual(['north', 'south']);
    expect(labelsOf(first, 'lapsebox_capture_duration_seconds_count', 'source')).toEqual(['south']);
    expect(labelsOf(first, 'lapsebox_outbox_pending_files', 'target')).toEqual(['hq']);

    loaded = writeYamlConfig(tmp.dir, TZ, lines(['north', 'west'], ['offsite']));
    const second = await scrape();
    for (const name of ['lapsebox_captures_total', 'lapsebox_capture_failures_total', 'lapsebox_skipped_slots_total', 'lapsebox_camera_down']) {
      expect({ name, sources: labelsOf(second, name, 'source') }).toEqual({ name, sources: ['north', 'west'] });
    }
    for (const name of ['lapsebox_capture_duration_seconds_count', 'lapsebox_pipeline_duration_seconds_count', 'lapsebox_encode_duration_seconds_count', 'lapsebox_purged_pictures_total', 'lapsebox_purged_bytes_total']) {
      expect({ name, sources: labelsOf(second, name, 'source') }).toEqual({ name, sources: [] });
    }
    expect(labelsOf(second, 'lapsebox_outbox_pending_files', 'target')).toEqual(['offsite']);
    expect(labelsOf(second, 'lapsebox_outbox_oldest_age_seconds', 'target')).toEqual(['offsite']);
  });

  it('shows the health sample, leaves out what is unknown, and counts the alerts raised now', async () => {
    alerts = [{ kind: 'disk-low', severity: 'warning' }, { kind: 'camera-down', severity: 'error' }, { kind: 'camera-down', severity: 'error' }];
    const known = await scrape();
    expect(valueOf(known, 'lapsebox_disk_total_bytes')).toBe(32e9);
    expect(valueOf(known, 'lapsebox_disk_free_bytes')).toBe(12e9);
    expect(valueOf(known, 'lapsebox_cpu_temperature_celsius')).toBe(61.5);
    expect(valueOf(known, 'lapsebox_load1')).toBe(1.25);
    expect(valueOf(known, 'lapsebox_memory_available_bytes')).toBe(2.5e9);
    expect(valueOf(known, 'lapsebox_memory_total_bytes')).toBe(4e9);
    expect(valueOf(known, 'lapsebox_under_voltage')).toBe(1);
    expect(valueOf(known, 'lapsebox_throttled')).toBe(0);
    expect(valueOf(known, 'lapsebox_clock_synchronized')).toBe(1);
    expect(valueOf(known, 'lapsebox_capture_paused')).toBe(0);
    expect(valueOf(known, 'lapsebox_alerts_active', { kind: 'disk-low', severity: 'warning' })).toBe(1);
    expect(valueOf(known, 'lapsebox_alerts_active', { kind: 'camera-down', severity: 'error' })).toBe(2);
    // prom-client's process metrics are there too.
    expect(known.has('process_resident_memory_bytes')).toBe(true);
    expect(known.has('nodejs_eventloop_lag_seconds')).toBe(true);

    health = { ...FULL_HEALTH, cpuTempC: null, power: null, clock: { synchronized: null } };
    capturePaused = true;
    alerts = [{ kind: 'disk-low', severity: 'warning' }];
    const partial = await scrape();
    expect(partial.has('lapsebox_cpu_temperature_celsius')).toBe(false);
    expect(partial.has('lapsebox_under_voltage')).toBe(false);
    expect(partial.has('lapsebox_throttled')).toBe(false);
    expect(partial.has('lapsebox_clock_synchronized')).toBe(false);
    expect(valueOf(partial, 'lapsebox_load1')).toBe(1.25);
    expect(valueOf(partial, 'lapsebox_capture_paused')).toBe(1);
    expect(labelsOf(partial, 'lapsebox_alerts_active', 'kind')).toEqual(['disk-low']);

    health = null;
    alerts = [];
    const none = await scrape();
    expect(none.has('lapsebox_disk_free_bytes')).toBe(false);
    expect(none.has('lapsebox_alerts_active')).toBe(false);
    expect(valueOf(none, 'lapsebox_captures_total', { source: 'north' })).toBe(0);
  });

  it('serves GET /metrics to maintainers only, and 503 when the app has no metrics', async () => {
    await addUsers(store, config, PASSWORD, { maintainer: ['maintainer'], director: ['director'], customer: ['customer', { north: 'download' }] });
    const { sizes } = pictureServices(config(), store);
    const capture = { capture: async () => ({ status: 'skipped', reason: 'not in this test' }) as const, isBusy: () => false };
    const withMetrics = await startWeb(config, store, { capture, sizes, metrics: sut });
    const without = await startWeb(config, store, { capture, sizes });
    try {
      const get = (base: string, user: string | null) => fetch(`${base}/metrics`, { headers: user ? basic(user, PASSWORD) : {} });
      const ok = await get(withMetrics.base, 'maintainer');
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(ok.headers.get('cache-control')).toBe('no-store');
      expect(valueOf(parse(await ok.text()), 'lapsebox_captures_total', { source: 'north' })).toBe(0);
      const statuses = await Promise.all(['director', 'customer', null].map(async (user) => {
        const res = await get(withMetrics.base, user);
        await res.arrayBuffer();
        return res.status;
      }));
      expect(statuses).toEqual([403, 403, 401]);

      const unavailable = await get(without.base, 'maintainer');
      expect(unavailable.status).toBe(503);
      expect(await unavailable.json()).toEqual({ error: 'metrics are not available' });
    } finally {
      await withMetrics.server.close();
      await without.server.close();
    }
  });
});
