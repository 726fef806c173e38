import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { DateTime } from 'luxon';
import { HealthHistory } from '../../daemon/health/health-history';
import { createSystemProbe, type SystemProbe, type SystemSample } from '../../daemon/health/system-probe';
import { parseThrottled, type PowerState } from '../../daemon/health/throttling';
import { createLogger, silentLogger } from '../../daemon/logger';
import type { HealthPoint, MinuteRow } from '../../daemon/store/health.repository';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { tempDir, waitFor } from '../helpers/env';
import { isAlive } from '../helpers/processes';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const ZONE = 'Europe/Paris';
/** Local midnight of Saturday 24 October 2026 in Paris; Sunday the 25th has 25 hours (CEST to CET). */
const START = Date.parse('2026-10-23T22:00:00Z');
/** Three local days (24 + 25 + 24 hours) and five minutes into the fourth. */
const MINUTES = 73 * 60 + 5;
/** Samples are taken some seconds into their minute; rows are keyed by the minute. */
const JITTER = 7_000;

/** What a minute row must hold, written by hand from the script (not by the code under test). */
interface ExpectedMinute {
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
  underVoltage: boolean | null;
  throttled: boolean | null;
  clockUnsynced: boolean | null;
}

const power = (raw: number): PowerState => parseThrottled(`throttled=0x${raw.toString(16)}`)!;

/**
 * Three days of a box's minutes. The disk dips at minute 17 of each hour; the
 * temperature is unknown for one whole hour (5); vcgencmd fails for hour 10; the
 * clock syncs after 30 minutes and its status is unknown for 20 minutes later on.
 * Power: under-voltage seen at minute 1000 (its sticky bit stays set after); a
 * throttling between samples at minute 2000 (only its sticky bit appears); the
 * frequency capped at minute 3000. Network: eth0 from the start, its counter reset
 * at minute 1500; wlan0 appears at minute 100. The daemon is down for minutes
 * 200-229: no samples, and the first one after counts the bytes moved meanwhile.
 */
function script(): { samples: SystemSample[]; expected: ExpectedMinute[] } {
  const samples: SystemSample[] = [];
  const expected: ExpectedMinute[] = [];
  let eth0 = { rx: 5_000_000, tx: 700_000 };
  let wlan0 = { rx: 90_000, tx: 9_000 };
  let sticky = 0;
  let rx = 0;
  let tx = 0;
  for (let i = 0; i < MINUTES; i++) {
    const minute = START + i * MIN;
    const diskFree = 20e9 - i * 1000 - (i % 60 === 17 ? 3e6 : 0);
    const temp = Math.floor(i / 60) === 5 ? null : 40 + (i % 60) / 10 + (Math.floor(i / 60) % 24);
    const load1 = (i % 7) / 4;
    const memAvailable = 3e9 - (i % 13) * 1e6;
    const rss = 80e6 + (i % 11) * 1e5;

    if (i > 0) {
      if (i === 1500) {
        eth0 = { rx: 10, tx: 20 };
      } else {
        eth0 = { rx: eth0.rx + 1000 + (i % 5), tx: eth0.tx + 100 };
        rx += 1000 + (i % 5);
        tx += 100;
      }
      if (i > 100) {
        wlan0 = { rx: wlan0.rx + 50, tx: wlan0.tx + 5 };
        rx += 50;
        tx += 5;
      }
    }
    const network = [{ iface: 'eth0', rxBytes: eth0.rx, txBytes: eth0.tx, up: true }];
    if (i >= 100) network.push({ iface: 'wlan0', rxBytes: wlan0.rx, txBytes: wlan0.tx, up: true });

    let raw = 0;
    if (i === 1000) raw = 0x1;
    if (i >= 1000) sticky |= 0x10000;
    if (i >= 2000) sticky |= 0x40000;
    if (i === 3000) raw = 0x2;
    if (i >= 3000) sticky |= 0x20000;
    if (i >= 200 && i < 230) continue;
    const noPower = Math.floor(i / 60) === 10;
    const synchronized = i < 30 ? false : i >= 700 && i < 720 ? null : true;

    samples.push({
      at: minute + JITTER,
      disk: { path: '/data', totalBytes: 32e9, freeBytes: diskFree, freePercent: Math.round((diskFree / 32e9) * 1000) / 10 },
      cpuTempC: temp,
      load: [load1, 0.5, 0.25],
      cpus: 4,
      memory: { totalBytes: 4e9, availableBytes: memAvailable, processRssBytes: rss },
      uptimeSeconds: 1000 + i * 60,
      processUptimeSeconds: 900 + i * 60,
      network,
      power: noPower ? null : power(raw | sticky),
      clock: { synchronized, via: synchronized === null ? null : 'timedatectl' },
    });
    expected.push({
      at: minute,
      diskFree,
      diskTotal: 32e9,
      temp,
      load1,
      memAvailable,
      memTotal: 4e9,
      rss,
      rx,
      tx,
      underVoltage: noPower ? null : i === 1000,
      throttled: noPower ? null : i === 2000 || i === 3000,
      clockUnsynced: synchronized === null ? null : !synchronized,
    });
    rx = 0;
    tx = 0;
  }
  return { samples, expected };
}

/** The row the period's minutes make, computed the plain way. */
function aggregate(at: number, minutes: ExpectedMinute[]): HealthPoint {
  const temps = minutes.map((m) => m.temp).filter((t): t is number => t !== null);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const any = (xs: (boolean | null)[]) => (xs.every((x) => x === null) ? null : xs.some((x) => x === true));
  return {
    at,
    samples: minutes.length,
    diskFreeBytes: Math.min(...minutes.map((m) => m.diskFree)),
    diskTotalBytes: Math.max(...minutes.map((m) => m.diskTotal)),
    cpuTempC: temps.length ? mean(temps) : null,
    cpuTempMaxC: temps.length ? Math.max(...temps) : null,
    load1: mean(minutes.map((m) => m.load1)),
    load1Max: Math.max(...minutes.map((m) => m.load1)),
    memAvailableBytes: Math.min(...minutes.map((m) => m.memAvailable)),
    memTotalBytes: Math.max(...minutes.map((m) => m.memTotal)),
    rssBytes: Math.max(...minutes.map((m) => m.rss)),
    netRxBytes: minutes.reduce((a, m) => a + m.rx, 0),
    netTxBytes: minutes.reduce((a, m) => a + m.tx, 0),
    underVoltage: any(minutes.map((m) => m.underVoltage)),
    throttled: any(minutes.map((m) => m.throttled)),
    clockUnsynced: any(minutes.map((m) => m.clockUnsynced)),
  };
}

/** Means compared to 9 decimals (sums of floats in another order); everything else exactly. */
function expectPoint(actual: HealthPoint | undefined, expected: HealthPoint): void {
  expect(actual).toBeDefined();
  const { cpuTempC, load1, ...rest } = actual!;
  const { cpuTempC: temp, load1: load, ...expectedRest } = expected;
  expect(rest).toEqual(expectedRest);
  if (temp === null) expect(cpuTempC).toBeNull();
  else expect(cpuTempC).toBeCloseTo(temp, 9);
  expect(load1).toBeCloseTo(load, 9);
}

/** Plays a list of samples, each at its own time on the shared clock. */
class ScriptedProbe implements SystemProbe {
  readonly #samples: SystemSample[];
  readonly #clock: { now: number };
  #next = 0;

  constructor(samples: SystemSample[], clock: { now: number }) {
    this.#samples = samples;
    this.#clock = clock;
  }

  async sample(): Promise<SystemSample> {
    const sample = this.#samples[this.#next++];
    if (!sample) throw new Error('the script has no more samples');
    this.#clock.now = sample.at;
    return sample;
  }
}

describe('HealthHistory', () => {
  let dir: { dir: string; cleanup: () => void };
  let store: Repositories;

  beforeEach(() => {
    dir = tempDir();
    store = openRepositories(dir.dir);
  });

  afterEach(() => {
    store.close();
    dir.cleanup();
  });

  it('keeps three days of minutes as exact hour rows and local day rows (one of 25 hours), then prunes minutes and hours but keeps days', async () => {
    const { samples, expected } = script();
    const clock = { now: START };
    const seen: number[] = [];
    const sut = new HealthHistory({ probe: new ScriptedProbe(samples, clock), repo: store.health, timezone: () => ZONE, log: silentLogger(), now: () => clock.now });
    sut.onSample((s) => seen.push(s.at));

    for (let i = 0; i < samples.length; i++) await sut.sampleNow();
    const end = clock.now;

    expect(seen).toHaveLength(MINUTES - 30);
    expect(sut.latest()).toBe(samples.at(-1));

    // Hours: every complete one, none for the hour still running.
    const hours = sut.history('hour', 0, Number.MAX_SAFE_INTEGER);
    expect(hours).toHaveLength(73);
    for (let h = 0; h < 73; h++) {
      const at = START + h * HOUR;
      expectPoint(hours[h], aggregate(at, expected.filter((m) => m.at >= at && m.at < at + HOUR)));
    }
    // Hand-checked: the dip of minute 17, the sticky bit that appeared at minute 2000, the eth0 reset at minute 1500.
    expect(hours[0]).toMatchObject({ samples: 60, diskFreeBytes: 20e9 - 17_000 - 3e6, cpuTempMaxC: 45.9, clockUnsynced: true, underVoltage: false });
    expect(hours[0]!.netRxBytes).toBe(59 * 1000 + 11 * (0 + 1 + 2 + 3 + 4) + (1 + 2 + 3 + 4));
    expect(hours[3]).toMatchObject({ samples: 30 });
    expect(hours[5]).toMatchObject({ cpuTempC: null, cpuTempMaxC: null });
    expect(hours[10]).toMatchObject({ underVoltage: null, throttled: null });
    expect(hours[16]).toMatchObject({ underVoltage: true, throttled: false });
    expect(hours[33]).toMatchObject({ underVoltage: false, throttled: true });
    expect(hours[25]!.netRxBytes).toBe(hours[24]!.netRxBytes - (1000 + (1500 % 5)));

    // Days: local days of Paris, the 25th with 25 hours.
    const days = sut.history('day', 0, Number.MAX_SAFE_INTEGER);
    const bounds = ['2026-10-24', '2026-10-25', '2026-10-26'].map((d) => {
      const start = DateTime.fromISO(d, { zone: ZONE });
      return { start: start.toMillis(), end: start.plus({ days: 1 }).toMillis() };
    });
    expect(days.map((d) => new Date(d.at).toISOString())).toEqual(['2026-10-23T22:00:00.000Z', '2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z']);
    expect(days.map((d) => d.samples)).toEqual([24 * 60 - 30, 25 * 60, 24 * 60]);
    days.forEach((day, n) => expectPoint(day, aggregate(bounds[n]!.start, expected.filter((m) => m.at >= bounds[n]!.start && m.at < bounds[n]!.end))));
    expect(sut.history('hour', bounds[1]!.start, bounds[1]!.end)).toHaveLength(25);
    expect(days[0]).toMatchObject({ clockUnsynced: true, underVoltage: true, throttled: false });
    expect(days[1]).toMatchObject({ clockUnsynced: false, underVoltage: false, throttled: true });

    // Minutes: the last 48 hours, keyed by the minute.
    const minutes = sut.history('minute', 0, Number.MAX_SAFE_INTEGER);
    const kept = expected.filter((m) => m.at >= end - 48 * HOUR);
    expect(minutes.map((m) => m.at)).toEqual(kept.map((m) => m.at));
    expect(minutes.at(-1)).toEqual({
      at: START + (MINUTES - 1) * MIN,
      samples: 1,
      ...((m) => ({
        diskFreeBytes: m.diskFree,
        diskTotalBytes: m.diskTotal,
        cpuTempC: m.temp,
        cpuTempMaxC: m.temp,
        load1: m.load1,
        load1Max: m.load1,
        memAvailableBytes: m.memAvailable,
        memTotalBytes: m.memTotal,
        rssBytes: m.rss,
        netRxBytes: m.rx,
        netTxBytes: m.tx,
        underVoltage: false,
        throttled: false,
        clockUnsynced: false,
      }))(kept.at(-1)!),
    });

    // 95 days later: the last hour and the fourth day roll up, hours past 90 days and minutes past 48 hours go, days stay.
    const later = { ...samples.at(-1)!, at: START + 95 * DAY + JITTER };
    const sut2 = new HealthHistory({ probe: new ScriptedProbe([later], clock), repo: store.health, timezone: () => ZONE, log: silentLogger(), now: () => clock.now });
    await sut2.sampleNow();
    expect(sut2.history('hour', 0, Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(sut2.history('minute', 0, Number.MAX_SAFE_INTEGER).map((m) => m.at)).toEqual([START + 95 * DAY]);
    const daysAfter = sut2.history('day', 0, Number.MAX_SAFE_INTEGER);
    expect(daysAfter.slice(0, 3)).toEqual(days);
    expect(daysAfter[3]).toMatchObject({ at: Date.parse('2026-10-26T23:00:00Z'), samples: 5 });
    expect(daysAfter).toHaveLength(4);
  });

  it('rolls up idempotently, and writes nothing for an empty period', () => {
    const sut = store.health;
    for (let i = 0; i < 3; i++) {
      sut.addMinute({ ...rowOf(START + i * MIN + 5_000), cpuTempC: 40 + i, netRxBytes: 10 });
    }
    expect(sut.rollUp('minute', 'hour', START, START + HOUR)).toBe(true);
    const first = sut.points('hour', START, START + HOUR);
    expect(sut.rollUp('minute', 'hour', START, START + HOUR)).toBe(true);
    expect(sut.points('hour', START, START + HOUR)).toEqual(first);
    expect(first).toEqual([expect.objectContaining({ at: START, samples: 3, cpuTempC: 41, cpuTempMaxC: 42, netRxBytes: 30 })]);
    expect(sut.rollUp('minute', 'hour', START + HOUR, START + 2 * HOUR)).toBe(false);
    expect(sut.lastAt('hour')).toBe(START);
    expect(sut.lastAt('day')).toBeNull();
  });

  it('merges two samples of one minute: later readings, bytes added, flags kept', () => {
    const sut = store.health;
    sut.addMinute({ ...rowOf(START + 1_000), netRxBytes: 100, underVoltage: true, clockUnsynced: null });
    sut.addMinute({ ...rowOf(START + 40_000), diskFreeBytes: 5, netRxBytes: 50, underVoltage: false, clockUnsynced: false });
    expect(sut.points('minute', START, START + MIN)).toEqual([
      expect.objectContaining({ at: START, samples: 1, diskFreeBytes: 5, netRxBytes: 150, underVoltage: true, clockUnsynced: false }),
    ]);
  });

  it('samples at start and then every interval; a failing sample and a failing listener are logged, not fatal', async () => {
    const lines: string[] = [];
    const log = createLogger({ levels: { level: 'info' }, destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const good = script().samples.slice(0, 50);
    let calls = 0;
    const probe: SystemProbe = {
      sample: async () => {
        calls++;
        if (calls === 1) throw new Error('statfs failed: ENOENT');
        return { ...good[calls % good.length]!, at: Date.now() };
      },
    };
    const sut = new HealthHistory({ probe, repo: store.health, timezone: () => ZONE, log, intervalMs: 30 });
    sut.onSample(() => {
      throw new Error('listener broke');
    });
    sut.start();
    await waitFor('two stored samples', () => (calls >= 3 && sut.latest() !== null ? true : undefined), 5000);
    await sut.stop();
    const after = calls;
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toBe(after);
    expect(lines.some((l) => l.includes("could not sample the box's health: statfs failed: ENOENT"))).toBe(true);
    expect(lines.some((l) => l.includes('a listener of the health samples failed') && l.includes('listener broke'))).toBe(true);
    expect(sut.history('minute', 0, Number.MAX_SAFE_INTEGER).length).toBeGreaterThan(0);
  });

  it('shares a sample in flight between callers', async () => {
    const clock = { now: START };
    const { samples } = script();
    const sut = new HealthHistory({ probe: new ScriptedProbe(samples, clock), repo: store.health, timezone: () => ZONE, log: silentLogger(), now: () => clock.now });
    const [a, b] = await Promise.all([sut.sampleNow(), sut.sampleNow()]);
    expect(a).toBe(b);
    expect((await sut.sampleNow()).at).toBe(samples[1]!.at);
  });
});

/** A minute row with plain values, for the repository's own checks. */
function rowOf(at: number): MinuteRow {
  return {
    at,
    diskFreeBytes: 20e9,
    diskTotalBytes: 32e9,
    cpuTempC: 40,
    load1: 0.5,
    memAvailableBytes: 3e9,
    memTotalBytes: 4e9,
    rssBytes: 80e6,
    netRxBytes: 0,
    netTxBytes: 0,
    underVoltage: false,
    throttled: false,
    clockUnsynced: false,
  };
}

describe('createSystemProbe', () => {
  let dir: { dir: string; cleanup: () => void };
  let bin: string;

  beforeEach(() => {
    dir = tempDir();
    bin = path.join(dir.dir, 'bin');
    fs.mkdirSync(bin);
  });

  afterEach(() => dir.cleanup());

  /** A fake tool: a small sh script in the temporary bin folder, the only folder on its PATH. */
  const tool = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  const probe = (options: { now?: () => number; timeoutMs?: number } = {}) => createSystemProbe({ dataDir: dir.dir, env: { PATH: bin }, ...options });

  it('reads this machine: disk of the data folder, memory, load, uptime, network without loopback', async () => {
    const sut = createSystemProbe({ dataDir: dir.dir, now: () => 1234 });
    const s = await sut.sample();
    const statfs = fs.statfsSync(dir.dir);
    expect(s.at).toBe(1234);
    expect(s.disk.path).toBe(dir.dir);
    expect(s.disk.totalBytes).toBe(statfs.blocks * statfs.bsize);
    expect(s.disk.freeBytes).toBeGreaterThan(0);
    expect(s.disk.freeBytes).toBeLessThanOrEqual(s.disk.totalBytes);
    expect(s.disk.freePercent).toBeCloseTo((s.disk.freeBytes / s.disk.totalBytes) * 100, 0);
    expect(s.memory.totalBytes).toBeGreaterThan(64 * 1024 * 1024);
    expect(s.memory.availableBytes).toBeGreaterThan(0);
    expect(s.memory.availableBytes).toBeLessThanOrEqual(s.memory.totalBytes);
    expect(s.memory.processRssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(s.memory.processRssBytes).toBeLessThan(s.memory.totalBytes);
    expect(s.load).toHaveLength(3);
    for (const l of s.load) expect(l).toBeGreaterThanOrEqual(0);
    expect(s.cpus).toBeGreaterThanOrEqual(1);
    expect(s.uptimeSeconds).toBeGreaterThan(0);
    expect(s.processUptimeSeconds).toBeGreaterThan(0);
    expect(s.processUptimeSeconds).toBeLessThanOrEqual(s.uptimeSeconds);
    if (s.cpuTempC !== null) {
      expect(s.cpuTempC).toBeGreaterThan(-40);
      expect(s.cpuTempC).toBeLessThan(125);
    }
    expect(s.network.map((n) => n.iface)).not.toContain('lo');
    for (const n of s.network) {
      expect(n.rxBytes).toBeGreaterThanOrEqual(0);
      expect(n.txBytes).toBeGreaterThanOrEqual(0);
    }
  });

  it('rejects when the data folder cannot be measured', async () => {
    const sut = createSystemProbe({ dataDir: path.join(dir.dir, 'missing'), env: { PATH: bin } });
    await expect(sut.sample()).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads the power flags from vcgencmd and the clock from timedatectl', async () => {
    tool('vcgencmd', '[ "$*" = get_throttled ] || exit 2\necho throttled=0x50005');
    tool('timedatectl', '[ "$*" = "show -p NTPSynchronized --value" ] || exit 2\necho yes');
    const sut = probe();
    const s = await sut.sample();
    expect(s.power).toEqual(parseThrottled('throttled=0x50005'));
    expect(s.power).toMatchObject({ underVoltage: true, throttled: true });
    expect(s.clock).toEqual({ synchronized: true, via: 'timedatectl' });

    tool('timedatectl', 'echo no');
    expect((await sut.sample()).clock).toEqual({ synchronized: false, via: 'timedatectl' });
  });

  it('asks chronyc when timedatectl fails (no systemd)', async () => {
    tool('timedatectl', 'echo "System has not been booted with systemd as init system (PID 1). Can\'t operate." >&2\nexit 1');
    const tracking = (leap: string) =>
      // printf, not cat: the fake's PATH holds the fakes only.
      `[ "$*" = "-n tracking" ] || exit 2\nprintf '%s\\n' 'Reference ID    : C0A80001 (192.168.0.1)' 'Stratum         : 3' 'Leap status     : ${leap}'`;
    tool('chronyc', tracking('Normal'));
    const sut = probe();
    expect((await sut.sample()).clock).toEqual({ synchronized: true, via: 'chronyc' });
    tool('chronyc', tracking('Not synchronised'));
    expect((await sut.sample()).clock).toEqual({ synchronized: false, via: 'chronyc' });
  });

  it('gives null power and clock when the tools are missing, and looks for them again only after an hour', async () => {
    let now = START;
    const sut = probe({ now: () => now });
    const s = await sut.sample();
    expect(s.power).toBeNull();
    expect(s.clock).toEqual({ synchronized: null, via: null });
    expect(s.disk.totalBytes).toBeGreaterThan(0);

    tool('vcgencmd', 'echo throttled=0x0');
    now += 59 * MIN;
    expect((await sut.sample()).power).toBeNull();
    now += 2 * MIN;
    expect((await sut.sample()).power).toMatchObject({ raw: 0, underVoltage: false });
  });

  it('gives null power for a failing vcgencmd (not a Pi, or no access to /dev/vcio)', async () => {
    tool('vcgencmd', 'echo "VCHI initialization failed" >&2\nexit 255');
    expect((await probe().sample()).power).toBeNull();
  });

  it('cuts a tool that hangs at the timeout, with what it started', async () => {
    const sleep = ['/usr/bin/sleep', '/bin/sleep'].find((p) => fs.existsSync(p))!;
    const pidFile = path.join(dir.dir, 'sleep.pid');
    tool('vcgencmd', `${sleep} 30 &\necho $! > ${pidFile}\nwait\necho throttled=0x0`);
    tool('timedatectl', 'echo yes');
    // Long enough for a bash script to start on a loaded machine (the full suite beside it), short enough to see the cut.
    const sut = probe({ timeoutMs: 2000 });
    const started = Date.now();
    const s = await sut.sample();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(s.power).toBeNull();
    expect(s.clock).toEqual({ synchronized: true, via: 'timedatectl' });
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    await waitFor('the hung sleep to be killed', () => !isAlive(pid), 3000);
  });
});
