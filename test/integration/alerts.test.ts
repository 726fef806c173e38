/**
 * Alerts end to end inside the daemon's services: the alert service deciding,
 * the notifier delivering to a real HTTP receiver and a real SMTP server, state
 * in a real SQLite file, time from an injected clock.
 */
import path from 'node:path';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { silentLogger } from '../../daemon/logger';
import { Notifier } from '../../daemon/health/notifier';
import { AlertService } from '../../daemon/health/alerts';
import type { AlertMessage } from '../../daemon/domain/alerts';
import type { SystemSample } from '../../daemon/health/system-probe';
import type { StorageStatus } from '../../daemon/storage/retention';
import type { TargetStatus } from '../../daemon/sync/sync.service';
import { tempDir } from '../helpers/env';
import { startReceiver, startSmtp } from '../helpers/alert-receivers';

const MIN = 60_000;
/** Monday 23 November 2026, 10:00 in Paris. */
const T0 = Date.parse('2026-11-23T09:00:00Z');

function sample(cpuTempC: number | null): SystemSample {
  return {
    at: 0,
    disk: { path: '/', totalBytes: 1e10, freeBytes: 5e9, freePercent: 50 },
    cpuTempC,
    load: [0.5, 0.4, 0.3],
    cpus: 4,
    memory: { totalBytes: 4e9, availableBytes: 2e9, processRssBytes: 1e8 },
    uptimeSeconds: 10_000,
    processUptimeSeconds: 10_000,
    network: [],
    power: null,
    clock: { synchronized: true, via: 'timedatectl' },
  };
}

const storage: StorageStatus = {
  disk: { path: '/', totalBytes: 1e10, freeBytes: 5e9, freePercent: 50 },
  retention: { maxAgeDays: 0, minFreePercent: 10, reserveMB: 300 },
  low: false,
  paused: null,
  waitingForSync: 0,
  lastPurge: null,
  purged: { pictures: 0, bytes: 0 },
};

describe('AlertService with the notifier', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Repositories;
  let config: Config;
  let now: number;
  let temperature: number | null;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let notifier: Notifier;
  let sut: AlertService;
  /** What the sync service would say of its targets. */
  let targets: TargetStatus[];

  beforeEach(async () => {
    tmp = tempDir();
    receiver = await startReceiver();
    smtp = await startSmtp();
    const text = `
appliance: { id: bridge-north, name: Bridge north, timezone: Europe/Paris }
storage: { dataDir: ${path.join(tmp.dir, 'data')} }
sources:
  - { id: north, name: North tower, camera: { driver: testpattern }, schedule: { every: 5m } }
alerts:
  webhook: { url: "${receiver.url}", headers: { Authorization: "Bearer t0ken" } }
  email: { smtp: { host: 127.0.0.1, port: ${smtp.port} }, from: box@example.com, to: [ops@example.com, site@example.com] }
  lateAfter: 15m
  quietPeriod: 30m
  remindEvery: 2h
  dailyReport: { at: "08:00" }
`;
    config = parseConfig(text, path.join(tmp.dir, 'lapsebox.yaml')).config;
    store = openRepositories(config.storage.dataDir);
    now = T0;
    temperature = 50;
    notifier = new Notifier({ config: () => config, repo: store.notifications, log: silentLogger(), now: () => now });
    sut = new AlertService({
      config: () => config,
      store,
      notifier,
      health: () => sample(temperature),
      storage: () => storage,
      sync: () => targets,
      log: silentLogger(),
      now: () => now,
    });
    targets = [];
    sut.start();
    sut.stop(); // driven by hand below
    store.state.recordSuccess('north', T0, 1);
  });

  afterEach(async () => {
    await notifier.stop();
    store.close();
    await receiver.close();
    await smtp.close();
    tmp.cleanup();
  });

  /** One check at `at`, delivered; returns what the check queued. */
  async function at(ms: number): Promise<AlertMessage[]> {
    now = ms;
    const queued = sut.check();
    await notifier.flush();
    return queued;
  }

  const webhook = () => receiver.requests.map((r) => JSON.parse(r.body) as AlertMessage).map((m) => `${m.status} ${m.topic}`);
  const subjects = () => smtp.mails.map((m) => m.headers.get('subject'));

  it('tells a late picture once, holds flaps in the quiet period, reminds, and tells the recovery, on both channels', async () => {
    // Last picture 10:00, slots every 5 min: the 10:05 slot is late at 10:20, not before.
    expect(await at(T0 + 20 * MIN - 1000)).toEqual([]);
    const [raised] = await at(T0 + 20 * MIN);
    expect(raised).toMatchObject({ type: 'alert', topic: 'picture-late:north', status: 'raised', severity: 'warning', sourceId: 'north', title: 'picture late: north (North tower)' });
    expect(raised!.text).toMatch(/^north \(North tower\): no picture since 2026-11-23 10:00; the slot of 2026-11-23 10:05 is 15m late/);
    expect(webhook()).toEqual(['raised picture-late:north']);
    expect(receiver.requests[0]!.headers['authorization']).toBe('Bearer t0ken');
    expect(subjects()).toEqual(['[lapsebox bridge-north] RAISED picture late: north (North tower)']);
    expect(smtp.mails[0]!.to).toEqual(['ops@example.com', 'site@example.com']);

    // No duplicate while it stays late.
    expect(await at(T0 + 21 * MIN)).toEqual([]);
    // A picture, then late again, all inside the quiet period: nothing is told twice.
    store.state.recordSuccess('north', T0 + 22 * MIN, 2);
    expect(await at(T0 + 22 * MIN + 30_000)).toEqual([]);
    expect(sut.active()).toEqual([]);
    expect(await at(T0 + 41 * MIN)).toEqual([]);
    expect(sut.active().map((a) => a.key)).toEqual(['picture-late:north']);
    expect(await at(T0 + 60 * MIN)).toEqual([]);

    // Two hours after the message: a reminder.
    const [reminder] = await at(T0 + 140 * MIN);
    expect(reminder).toMatchObject({ status: 'reminder', topic: 'picture-late:north' });
    expect(reminder!.text).toMatch(/Still so after 2h\d*m? \(raised 2026-11-23 10:20/);

    // Pictures again: the recovery waits for the end of the quiet period after the reminder, then is told once.
    store.state.recordSuccess('north', T0 + 141 * MIN, 3);
    expect(await at(T0 + 142 * MIN)).toEqual([]);
    store.state.recordSuccess('north', T0 + 165 * MIN, 4);
    const [recovered] = await at(T0 + 170 * MIN);
    expect(recovered).toMatchObject({ status: 'recovered', severity: 'info', topic: 'picture-late:north' });
    expect(recovered!.text).toMatch(/^Back to normal after/);
    expect(await at(T0 + 171 * MIN)).toEqual([]);

    expect(webhook()).toEqual(['raised picture-late:north', 'reminder picture-late:north', 'recovered picture-late:north']);
    expect(subjects()).toEqual([
      '[lapsebox bridge-north] RAISED picture late: north (North tower)',
      '[lapsebox bridge-north] REMINDER picture late: north (North tower)',
      '[lapsebox bridge-north] RECOVERED picture late: north (North tower)',
    ]);
  });

  it('keeps its state across a restart: nothing repeated, nothing forgotten', async () => {
    await at(T0 + 20 * MIN);
    const again = new AlertService({ config: () => config, store, notifier, health: () => sample(temperature), storage: () => storage, sync: () => [], log: silentLogger(), now: () => now });
    now = T0 + 25 * MIN;
    again.start();
    again.stop();
    expect(again.check()).toEqual([]);
    store.state.recordSuccess('north', T0 + 50 * MIN, 2);
    now = T0 + 51 * MIN;
    expect(again.check().map((m) => m.status)).toEqual(['recovered']);
  });

  it('raises a hot CPU at once, clears it 5 °C below, and tells a power cycle as a notice once per quiet period', async () => {
    store.state.recordSuccess('north', T0 + 19 * MIN, 2);
    temperature = 81;
    expect((await at(T0 + 19 * MIN + 1000)).map((m) => `${m.status} ${m.topic}`)).toEqual(['raised temperature-high']);
    temperature = 77; // within the hysteresis: still raised
    store.state.recordSuccess('north', T0 + 49 * MIN, 3);
    expect(await at(T0 + 50 * MIN)).toEqual([]);
    expect(sut.active().map((a) => a.key)).toEqual(['temperature-high']);
    temperature = 74;
    expect((await at(T0 + 51 * MIN)).map((m) => `${m.status} ${m.topic}`)).toEqual(['recovered temperature-high']);

    store.events.add({ at: now, sourceId: 'north', kind: 'camera-power-cycle', message: 'camera north: power cycle 1 of at most 6 today' });
    expect((await at(T0 + 52 * MIN)).map((m) => `${m.status} ${m.topic}`)).toEqual(['notice camera-power-cycle:north']);
    store.events.add({ at: now, sourceId: 'north', kind: 'camera-power-cycle', message: 'camera north: power cycle 2 of at most 6 today' });
    expect(await at(T0 + 53 * MIN)).toEqual([]);
    expect(store.events.pending()).toEqual([]);
  });

  it('sends the daily report on the previous day once, at the configured time', async () => {
    for (const [i, minute] of [0, 5, 10].entries()) {
      store.pictures.insert({ sourceId: 'north', takenAt: T0 + minute * MIN, localDate: '2026-11-23', path: `sources/north/pictures/2026-11-23/${i}.jpg`, size: 1000, width: 10, height: 10 });
    }
    store.state.recordFailure('north', T0 + 15 * MIN, 'camera north: timeout', '2026-11-23');
    store.state.recordSkip('north', '2026-11-23', 2);
    // Keep the source from being late, so the report is the only message.
    store.state.recordSuccess('north', Date.parse('2026-11-24T06:59:00Z'), 9);
    expect(await at(Date.parse('2026-11-24T06:59:30Z'))).toEqual([]); // 07:59:30 in Paris
    const [report] = await at(Date.parse('2026-11-24T07:00:00Z'));
    expect(report).toMatchObject({ type: 'report', topic: 'report:2026-11-23', kind: 'daily-report' });
    expect(report!.text).toContain('north (North tower): 3 pictures of 288 slots (1 %), 1 failed captures, 2 slots skipped');
    expect(report!.details).toMatchObject({ day: '2026-11-23', sources: [{ id: 'north', expected: 288, pictures: 3, failures: 1, skipped: 2 }] });
    expect(await at(Date.parse('2026-11-24T07:01:00Z'))).toEqual([]);
    expect(subjects()).toEqual(['[lapsebox bridge-north] daily report 2026-11-23']);
    expect(webhook()).toEqual(['report report:2026-11-23']);
  });

  it('writes times in the daily report text in the appliance zone, and keeps the instants as data', async () => {
    // A target no longer in the configuration, with files waiting since 22:30 in Paris.
    const oldest = Date.parse('2026-11-23T21:30:00Z');
    targets = [{ id: 'old-hq', activity: 'idle', failingSince: null, lastError: null, lastOk: null, backlog: { pending: 40, bytes: 0, oldestAt: oldest, oldestAgeSeconds: 0 } } as unknown as TargetStatus];
    const report = sut.dailyReport('2026-11-23');
    // The zone's name as the platform's ICU gives it (CET with full ICU data).
    expect(report.text).toMatch(/^Sync old-hq: 40 files waiting, the oldest since 2026-11-23 22:30 (CET|GMT\+1)$/m);
    expect(report.text).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    expect(report.details).toMatchObject({ sync: [{ id: 'old-hq', pending: 40, oldest: '2026-11-23T21:30:00.000Z' }] });
  });
});
