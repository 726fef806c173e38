import { DateTime } from 'luxon';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { conditions, TEMPERATURE_HYSTERESIS, type Condition, type Snapshot } from '../../daemon/health/conditions';
import { describePower, parseThrottled, type PowerState } from '../../daemon/health/throttling';
import { Catalogs } from '../../daemon/i18n/catalogs';

const FILE = '/etc/lapsebox/lapsebox.yaml';
const ZONE = 'Europe/Paris';
const KEY = `SHA256:${'A'.repeat(43)}`;

/** A validated config: the appliance header, then the YAML given (sources, sync, alerts...). */
function config(rest: string): Config {
  return parseConfig(`appliance:\n  id: bridge-north\n  timezone: ${ZONE}\n${rest}`, FILE).config;
}

/** Local wall time in Paris, ISO without offset ("2026-06-10T10:19:59"), as epoch ms. */
function paris(local: string): number {
  const t = DateTime.fromISO(local, { zone: ZONE });
  if (!t.isValid) throw new Error(`bad test time ${local}`);
  return t.toMillis();
}

const MIN = 60_000;

const catalogs = new Catalogs();
const english = catalogs.translator('en');
const french = catalogs.translator('fr');
/** The conditions with their English messages, as the log and the status have them. */
const sut = (cfg: Config, s: Snapshot) => conditions(cfg, s, english);

type SourceState = Snapshot['sources'][number];
type TargetState = Snapshot['targets'][number];
type Health = NonNullable<Snapshot['health']>;
type Storage = NonNullable<Snapshot['storage']>;

function source(id: string, lastCaptureAt: number | null, extra: Partial<SourceState> = {}): SourceState {
  return { id, lastCaptureAt, downSince: null, lastError: null, ...extra };
}
function target(id: string, extra: Partial<TargetState> = {}): TargetState {
  return { id, activity: 'idle', failingSince: null, lastError: null, oldestPendingAt: null, pending: 0, ...extra };
}
function health(extra: Partial<Health> = {}): Health {
  return { cpuTempC: 50, power: parseThrottled('throttled=0x0'), clock: { synchronized: true }, processUptimeSeconds: 3600, ...extra };
}
function storage(extra: Partial<Storage> = {}): Storage {
  return { low: false, freePercent: 60, paused: null, waitingForSync: 0, ...extra };
}
/** A quiet box: started long ago, nothing reported; each test fills in what it looks at. */
function snapshot(extra: Partial<Snapshot>): Snapshot {
  return { now: paris('2026-06-10T12:00'), startedAt: paris('2026-06-01T00:00'), sources: [], health: null, storage: null, targets: [], raised: new Set(), ...extra };
}
const kinds = (found: Condition[]) => found.map((c) => c.key);
const only = (found: Condition[], key: string): Condition => {
  const hits = found.filter((c) => c.key === key);
  expect(hits).toHaveLength(1);
  return hits[0]!;
};

describe('conditions', () => {
  describe('picture late', () => {
    const every5m = config(`sources:
  - id: north
    name: North bank
    camera: { driver: testpattern }
    schedule: { every: 5m }
alerts: { lateAfter: 15m }
`);

    it('is raised lateAfter past the first slot after the last picture, not a millisecond earlier', () => {
      const last = paris('2026-06-10T10:00');
      expect(sut(every5m, snapshot({ now: paris('2026-06-10T10:19:59.999'), sources: [source('north', last)] }))).toEqual([]);
      const found = sut(every5m, snapshot({ now: paris('2026-06-10T10:20'), sources: [source('north', last)] }));
      expect(found).toEqual([
        {
          key: 'picture-late:north',
          kind: 'picture-late',
          severity: 'warning',
          sourceId: 'north',
          targetId: null,
          message: 'north (North bank): no picture since 2026-06-10 10:00; the slot of 2026-06-10 10:05 is 15m late',
        },
      ]);
    });

    it('counts from the slot after the picture even when the picture came seconds after its slot', () => {
      const last = paris('2026-06-10T10:00:07');
      expect(sut(every5m, snapshot({ now: paris('2026-06-10T10:19:59'), sources: [source('north', last)] }))).toEqual([]);
      expect(kinds(sut(every5m, snapshot({ now: paris('2026-06-10T10:20'), sources: [source('north', last)] })))).toEqual(['picture-late:north']);
    });

    it('says how late the slot is in whole minutes and adds the last capture error', () => {
      const found = sut(every5m, snapshot({ now: paris('2026-06-10T11:47:30'), sources: [source('north', paris('2026-06-10T10:00'), { lastError: 'picture rejected: too dark' })] }));
      expect(only(found, 'picture-late:north').message).toBe(
        'north (North bank): no picture since 2026-06-10 10:00; the slot of 2026-06-10 10:05 is 1h42m late (last error: picture rejected: too dark)',
      );
    });

    it('counts a source that never captured from the daemon start, not from the epoch', () => {
      const startedAt = paris('2026-06-10T09:58');
      const at = (now: string) => sut(every5m, snapshot({ now: paris(now), startedAt, sources: [source('north', null)] }));
      expect(at('2026-06-10T10:14:59')).toEqual([]);
      const late = only(at('2026-06-10T10:15'), 'picture-late:north');
      expect(late.message).toBe('north (North bank): no picture yet; the slot of 2026-06-10 10:00 is 15m late');
    });

    it('gives a restarted daemon the same grace: the first slot after the start, not the slots it was down for', () => {
      const sources = [source('north', paris('2026-06-10T06:00'))];
      const startedAt = paris('2026-06-10T09:58');
      expect(sut(every5m, snapshot({ now: paris('2026-06-10T10:14:59'), startedAt, sources }))).toEqual([]);
      expect(only(sut(every5m, snapshot({ now: paris('2026-06-10T10:15'), startedAt, sources })), 'picture-late:north').message).toMatch(
        /no picture since 2026-06-10 06:00; the slot of 2026-06-10 10:00 is 15m late/,
      );
    });

    it('keeps a late alert raised across a restart while no picture comes', () => {
      const sources = [source('north', paris('2026-06-10T06:00'))];
      const late = snapshot({ now: paris('2026-06-10T10:00:30'), startedAt: paris('2026-06-10T10:00'), sources, raised: new Set(['picture-late:north']) });
      expect(only(sut(every5m, late), 'picture-late:north').message).toMatch(/no picture since 2026-06-10 06:00; the slot of 2026-06-10 06:05 is 3h55m late/);
      // The first picture after the restart clears it.
      const caught = { ...late, now: paris('2026-06-10T10:05:30'), sources: [source('north', paris('2026-06-10T10:05:02'))] };
      expect(sut(every5m, caught)).toEqual([]);
    });

    it('is never raised for a disabled source, nor for a source missing from the config or the snapshot', () => {
      const cfg = config(`sources:
  - id: north
    enabled: false
    camera: { driver: testpattern }
  - id: south
    camera: { driver: testpattern }
`);
      const now = paris('2026-06-10T12:00');
      const long = paris('2026-06-01T00:00');
      expect(sut(cfg, snapshot({ now, sources: [source('north', long, { downSince: long, lastError: 'gone' })] }))).toEqual([]);
      // "south" has no state yet; "west" is not (or no longer) configured.
      expect(sut(cfg, snapshot({ now, sources: [source('west', long, { downSince: long })] }))).toEqual([]);
    });

    it('names a source without a display name by its id alone', () => {
      const cfg = config(`sources:
  - id: south
    camera: { driver: testpattern }
`);
      const found = sut(cfg, snapshot({ now: paris('2026-06-10T10:20'), sources: [source('south', paris('2026-06-10T10:00'))] }));
      expect(only(found, 'picture-late:south').message).toMatch(/^south: no picture since/);
    });

    describe('with a schedule window mon-fri 07:00-19:00', () => {
      const office = config(`sources:
  - id: yard
    camera: { driver: testpattern }
    schedule:
      every: 5m
      windows:
        - { days: [mon, tue, wed, thu, fri], from: "07:00", to: "19:00" }
`);
      // 2026-06-10 is a Wednesday, 2026-06-12 a Friday, 2026-06-15 a Monday.
      const late = (last: string, now: string) => sut(office, snapshot({ now: paris(now), sources: [source('yard', paris(last))] }));

      it('says nothing over the night', () => {
        expect(DateTime.fromMillis(paris('2026-06-10T12:00'), { zone: ZONE }).weekdayShort).toBe('Wed');
        expect(late('2026-06-10T18:55', '2026-06-10T23:00')).toEqual([]);
        expect(late('2026-06-10T18:55', '2026-06-11T07:14:59')).toEqual([]);
      });

      it('is late at 07:15 when the 07:00 slot got no picture', () => {
        const found = late('2026-06-10T18:55', '2026-06-11T07:15');
        expect(only(found, 'picture-late:yard').message).toBe('yard: no picture since 2026-06-10 18:55; the slot of 2026-06-11 07:00 is 15m late');
      });

      it('says nothing over the weekend, and is late again at 07:15 on Monday', () => {
        expect(DateTime.fromMillis(paris('2026-06-15T12:00'), { zone: ZONE }).weekdayShort).toBe('Mon');
        for (const now of ['2026-06-12T23:00', '2026-06-13T07:15', '2026-06-13T12:00', '2026-06-14T18:00', '2026-06-15T07:14:59']) {
          expect(late('2026-06-12T18:55', now)).toEqual([]);
        }
        expect(only(late('2026-06-12T18:55', '2026-06-15T07:15'), 'picture-late:yard').message).toMatch(/no picture since 2026-06-12 18:55; the slot of 2026-06-15 07:00 is 15m late/);
      });

      it('is late when the last slot of the day got no picture, although the window has closed', () => {
        expect(late('2026-06-10T18:50', '2026-06-10T19:09:59')).toEqual([]);
        expect(only(late('2026-06-10T18:50', '2026-06-10T19:10'), 'picture-late:yard').message).toMatch(/the slot of 2026-06-10 18:55 is 15m late/);
      });
    });

    describe('on the day clocks go back (2026-10-25, 03:00 CEST -> 02:00 CET)', () => {
      it('a daily slot at midnight comes 25 hours after the last one', () => {
        const daily = config(`sources:
  - id: north
    camera: { driver: testpattern }
    schedule: { every: 1d }
`);
        const last = paris('2026-10-25T00:00');
        expect(last).toBe(Date.parse('2026-10-24T22:00:00Z'));
        const at = (iso: string) => sut(daily, snapshot({ now: Date.parse(iso), startedAt: paris('2026-10-01T00:00'), sources: [source('north', last)] }));
        // 24 h + 15 min would be 22:15Z; the day has 25 hours.
        expect(at('2026-10-25T22:15:00Z')).toEqual([]);
        expect(at('2026-10-25T23:14:59.999Z')).toEqual([]);
        expect(only(at('2026-10-25T23:15:00Z'), 'picture-late:north').message).toBe('north: no picture since 2026-10-25 00:00; the slot of 2026-10-26 00:00 is 15m late');
      });

      it('the repeated hour has its own slots: a picture at 02:00 CEST leaves 02:00 CET due', () => {
        const hourly = config(`sources:
  - id: north
    camera: { driver: testpattern }
    schedule: { every: 1h }
`);
        const last = Date.parse('2026-10-25T00:00:00Z'); // 02:00 CEST
        const at = (iso: string) => sut(hourly, snapshot({ now: Date.parse(iso), startedAt: paris('2026-10-01T00:00'), sources: [source('north', last)] }));
        expect(at('2026-10-25T01:14:59Z')).toEqual([]);
        // 02:00 CET is 01:00Z.
        expect(only(at('2026-10-25T01:15:00Z'), 'picture-late:north').message).toMatch(/the slot of 2026-10-25 02:00 is 15m late/);
      });
    });
  });

  describe('camera down', () => {
    const cfg = config(`sources:
  - id: north
    name: North bank
    camera: { driver: testpattern }
  - id: south
    camera: { driver: testpattern }
`);

    it('is an error naming the camera, since when, why, and that it is still tried', () => {
      const found = sut(cfg, snapshot({ sources: [source('north', paris('2026-06-10T08:00'), { downSince: paris('2026-06-10T08:05'), lastError: 'gphoto2: no camera found' })] }));
      expect(found).toEqual([
        {
          key: 'camera-down:north',
          kind: 'camera-down',
          severity: 'error',
          sourceId: 'north',
          targetId: null,
          message: 'camera north (North bank) is down since 2026-06-10 08:05: gphoto2: no camera found. It is still tried at every slot.',
        },
      ]);
    });

    it('replaces "late" for that source only', () => {
      const found = sut(
        cfg,
        snapshot({
          sources: [source('north', paris('2026-06-10T08:00'), { downSince: paris('2026-06-10T08:05') }), source('south', paris('2026-06-10T08:00'))],
        }),
      );
      expect(kinds(found)).toEqual(['camera-down:north', 'picture-late:south']);
      expect(only(found, 'camera-down:north').message).toMatch(/^camera north \(North bank\) is down since 2026-06-10 08:05\. It is still tried/);
    });
  });

  describe('relay unavailable', () => {
    const cfg = (simulate: boolean) =>
      config(`sources:
  - id: north
    name: North bank
    camera: { driver: testpattern }
    schedule: { every: 1h }
    recovery: { powerCycle: { gpio: 17, simulate: ${simulate} } }
`);
    const fault = { sourceId: 'north', gpio: 17, line: 529, reason: '/sys/class/gpio/export is not writable by this user (EACCES)', fix: 'add the service user to the gpio group' };
    const now = paris('2026-06-10T12:00');
    const fresh = source('north', now - MIN);

    it('is an error naming the camera, the line, why and the fix, raised while the relay cannot be opened', () => {
      expect(sut(cfg(false), snapshot({ now, sources: [fresh], relaysUnavailable: [fault] }))).toEqual([
        {
          key: 'relay-unavailable:north',
          kind: 'relay-unavailable',
          severity: 'error',
          sourceId: 'north',
          targetId: null,
          message: 'north (North bank): the power relay on GPIO 17 (sysfs line 529) cannot be opened: /sys/class/gpio/export is not writable by this user (EACCES); add the service user to the gpio group. Pictures go on, but a hung camera is not power-cycled',
        },
      ]);
      expect(sut(cfg(false), snapshot({ now, sources: [fresh], relaysUnavailable: [] }))).toEqual([]);
    });

    it('is told beside "camera down", and not for a relay the configuration now simulates', () => {
      const down = source('north', now - MIN, { downSince: now - MIN });
      expect(kinds(sut(cfg(false), snapshot({ now, sources: [down], relaysUnavailable: [fault] })))).toEqual(['relay-unavailable:north', 'camera-down:north']);
      expect(sut(cfg(true), snapshot({ now, sources: [fresh], relaysUnavailable: [fault] }))).toEqual([]);
    });
  });

  describe('storage', () => {
    const cfg = config(`sources:
  - id: north
    camera: { driver: testpattern }
storage: { retention: { minFreePercent: 15 } }
`);

    it('capture paused is an error with the storage guard\'s reason, and replaces "late"', () => {
      const reason = 'capture paused: 210 MB free on /var/lib/lapsebox, below storage.retention.reserveMB (300 MB), and nothing left that may be deleted';
      const found = sut(cfg, snapshot({ sources: [source('north', paris('2026-06-10T08:00'))], storage: storage({ low: true, freePercent: 1, paused: reason }) }));
      expect(found).toEqual([{ key: 'capture-paused', kind: 'capture-paused', severity: 'error', sourceId: null, targetId: null, message: reason }]);
    });

    it('a camera down is still told while capture is paused', () => {
      const found = sut(cfg, snapshot({ sources: [source('north', null, { downSince: paris('2026-06-10T08:00') })], storage: storage({ paused: 'capture paused: disk full' }) }));
      expect(kinds(found)).toEqual(['camera-down:north', 'capture-paused']);
    });

    it('disk low is a warning naming the free share, the setting, and what waits for sync', () => {
      const found = sut(cfg, snapshot({ storage: storage({ low: true, freePercent: 12, waitingForSync: 340 }) }));
      const c = only(found, 'disk-low');
      expect(c).toMatchObject({ kind: 'disk-low', severity: 'warning', sourceId: null, targetId: null });
      expect(c.message).toMatch(/12 % free/);
      expect(c.message).toMatch(/storage\.retention\.minFreePercent \(15 %\)/);
      expect(c.message).toMatch(/340 pictures wait to be sent/);
      expect(only(sut(cfg, snapshot({ storage: storage({ low: true, freePercent: 12 }) })), 'disk-low').message).not.toMatch(/wait/);
    });

    it('gives nothing when the disk is fine or its state is unknown', () => {
      expect(sut(cfg, snapshot({ storage: storage() }))).toEqual([]);
      expect(sut(cfg, snapshot({ storage: null }))).toEqual([]);
    });
  });

  describe('temperature high', () => {
    const cfg = config('alerts: { temperatureMax: 70 }\n');
    const at = (cpuTempC: number | null, raised: string[] = []) => sut(cfg, snapshot({ health: health({ cpuTempC }), raised: new Set(raised) }));

    it('is raised at temperatureMax, not below', () => {
      expect(at(69.9)).toEqual([]);
      const c = only(at(70), 'temperature-high');
      expect(c).toMatchObject({ kind: 'temperature-high', severity: 'warning', sourceId: null, targetId: null });
      expect(c.message).toMatch(/70\.0 °C \(alerts\.temperatureMax 70 °C\)/);
      expect(c.message).toMatch(/check the enclosure's sun shade and ventilation/);
    });

    it(`stays raised until ${TEMPERATURE_HYSTERESIS} °C below the maximum`, () => {
      expect(TEMPERATURE_HYSTERESIS).toBe(5);
      expect(kinds(at(66, ['temperature-high']))).toEqual(['temperature-high']);
      expect(kinds(at(65.1, ['temperature-high']))).toEqual(['temperature-high']);
      expect(at(65, ['temperature-high'])).toEqual([]);
      // Not raised before: 66 °C is fine.
      expect(at(66)).toEqual([]);
    });

    it('gives nothing when the temperature is unknown, even while raised', () => {
      expect(at(null)).toEqual([]);
      expect(at(null, ['temperature-high'])).toEqual([]);
    });
  });

  describe('under-voltage', () => {
    const cfg = config('');
    const at = (flags: string) => sut(cfg, snapshot({ health: health({ power: parseThrottled(`throttled=${flags}`) }) }));

    it('now is an error that says to check the supply', () => {
      const c = only(at('0x10001'), 'under-voltage');
      expect(c).toMatchObject({ kind: 'under-voltage', severity: 'error', sourceId: null, targetId: null });
      expect(c.message).toMatch(/under-voltage now: check the power supply and cable/);
      expect(c.message).not.toMatch(/since boot/);
    });

    it('throttled now is an error', () => {
      const c = only(at('0x4'), 'under-voltage');
      expect(c.severity).toBe('error');
      expect(c.message).toMatch(/CPU throttled now/);
    });

    it('only since boot is a warning', () => {
      const c = only(at('0x10000'), 'under-voltage');
      expect(c.severity).toBe('warning');
      expect(c.message).toBe('under-voltage happened since boot: the power supply or cable is marginal');
    });

    it('all clear, or no flags at all (not a Pi), gives nothing', () => {
      expect(at('0x0')).toEqual([]);
      expect(sut(cfg, snapshot({ health: health({ power: null }) }))).toEqual([]);
    });

    it('tells every flag in one message', () => {
      const power: PowerState | null = parseThrottled('throttled=0x50005');
      const c = only(sut(cfg, snapshot({ health: health({ power }) })), 'under-voltage');
      expect(c.message).toBe('under-voltage now: check the power supply and cable; CPU throttled now: it is too hot or the power is too weak; give the box shade, air or a heatsink');
    });
  });

  describe('clock not synchronised', () => {
    const cfg = config('');
    const at = (synchronized: boolean | null, processUptimeSeconds: number) => sut(cfg, snapshot({ health: health({ clock: { synchronized }, processUptimeSeconds }) }));

    it('is raised only after 15 minutes of uptime', () => {
      expect(at(false, 15 * 60 - 1)).toEqual([]);
      const c = only(at(false, 15 * 60), 'clock-unsynced');
      expect(c).toMatchObject({ kind: 'clock-unsynced', severity: 'warning', sourceId: null, targetId: null });
      expect(c.message).toMatch(/not synchronised/);
      expect(c.message).toMatch(/check the network and timedatectl/);
    });

    it('gives nothing when synchronised or unknown', () => {
      expect(at(true, 86_400)).toEqual([]);
      expect(at(null, 86_400)).toEqual([]);
    });

    it('gives nothing at all without a health sample', () => {
      expect(sut(cfg, snapshot({ health: null }))).toEqual([]);
    });
  });

  describe('sync', () => {
    const cfg = config(`sync:
  targets:
    - { id: hq, type: sftp, host: sftp.example.org, username: box, password: secret, hostKey: "${KEY}", remoteDir: /srv/boxes, alertAfter: 2h }
    - { id: backup, type: sftp, host: backup.example.org, username: box, password: secret, hostKey: "${KEY}", remoteDir: /srv }
`);
    const now = paris('2026-06-10T12:00');
    const HOUR = 60 * MIN;
    const at = (...targets: TargetState[]) => sut(cfg, snapshot({ now, targets }));

    it('unreachable is raised only once the outage is alertAfter old', () => {
      expect(at(target('hq', { activity: 'retrying', failingSince: now - 2 * HOUR + 1, lastError: 'connect ETIMEDOUT' }))).toEqual([]);
      const c = only(at(target('hq', { activity: 'retrying', failingSince: now - 2 * HOUR, lastError: 'connect ETIMEDOUT' })), 'sync-unreachable:hq');
      expect(c).toMatchObject({ kind: 'sync-unreachable', severity: 'error', sourceId: null, targetId: 'hq' });
      expect(c.message).toBe('sync target "hq" (sftp.example.org) has failed since 2026-06-10 10:00: connect ETIMEDOUT');
    });

    it('uses each target\'s own alertAfter (default 1h)', () => {
      expect(at(target('backup', { activity: 'retrying', failingSince: now - HOUR + 1 }))).toEqual([]);
      const c = only(at(target('backup', { activity: 'retrying', failingSince: now - HOUR })), 'sync-unreachable:backup');
      expect(c.message).toBe('sync target "backup" (backup.example.org) has failed since 2026-06-10 11:00');
    });

    it('a host key mismatch is an error at once, instead of unreachable', () => {
      const found = at(target('hq', { activity: 'host-key-mismatch', failingSince: now - 5 * HOUR, lastError: 'host key SHA256:xyz is not the pinned one' }));
      expect(kinds(found)).toEqual(['sync-host-key:hq']);
      const c = found[0]!;
      expect(c).toMatchObject({ kind: 'sync-host-key', severity: 'error', sourceId: null, targetId: 'hq' });
      expect(c.message).toMatch(/sync target "hq" presented a host key that does not match the pinned hostKey: nothing is sent to it \(host key SHA256:xyz/);
      expect(kinds(at(target('hq', { activity: 'host-key-mismatch', failingSince: now })))).toEqual(['sync-host-key:hq']);
    });

    it('backlog is raised by the age of the oldest pending file', () => {
      expect(at(target('hq', { oldestPendingAt: now - 2 * HOUR + 1, pending: 40 }))).toEqual([]);
      const c = only(at(target('hq', { oldestPendingAt: now - 2 * HOUR, pending: 40 })), 'sync-backlog:hq');
      expect(c).toMatchObject({ kind: 'sync-backlog', severity: 'warning', sourceId: null, targetId: 'hq' });
      expect(c.message).toBe('40 files wait for sync target "hq", the oldest since 2026-06-10 10:00');
    });

    it('backlog and outage are told side by side', () => {
      const found = at(target('hq', { activity: 'retrying', failingSince: now - 3 * HOUR, oldestPendingAt: now - 3 * HOUR, pending: 36 }));
      expect(kinds(found)).toEqual(['sync-unreachable:hq', 'sync-backlog:hq']);
    });

    it('gives nothing for a target that is fine, not in the config, or not reported', () => {
      expect(at(target('hq'), target('backup', { activity: 'sending', oldestPendingAt: now - 5 * MIN, pending: 3 }))).toEqual([]);
      expect(at(target('gone', { activity: 'host-key-mismatch', failingSince: now - 5 * HOUR, oldestPendingAt: now - 5 * HOUR, pending: 9 }))).toEqual([]);
      expect(at()).toEqual([]);
    });
  });

  describe('configuration refused', () => {
    const cfg = config('');
    const rejected = (problems: string[]) => ({ at: paris('2026-06-10T11:58'), file: FILE, problems });

    it('names the file, when, the first five errors and how many more', () => {
      const problems = ['sources.0.id: required', 'alerts.lateAfter: not a duration', 'a', 'b', 'c', 'd'];
      const c = only(sut(cfg, snapshot({ configRejected: rejected(problems) })), 'config-invalid');
      expect(c.message).toBe(
        'the configuration file /etc/lapsebox/lapsebox.yaml has errors and was not applied at 2026-06-10 11:58; the box keeps running on the previous one: sources.0.id: required; alerts.lateAfter: not a duration; a; b; c (and 1 more). Fix it, check it with "lapsebox config check", then "sudo systemctl reload lapsebox"',
      );
      expect(only(sut(cfg, snapshot({ configRejected: rejected(['x: bad']) })), 'config-invalid').message).toMatch(/previous one: x: bad\. Fix it/);
    });
  });

  it('says the firmware flags as the status does (describePower), whatever they are', () => {
    const cfg = config('');
    for (const flags of ['0x1', '0x4', '0x5', '0xf', '0x10000', '0x50000', '0xf0000', '0x50005', '0xf000f', '0x70001']) {
      const power = parseThrottled(`throttled=${flags}`)!;
      expect(only(sut(cfg, snapshot({ health: health({ power }) })), 'under-voltage').message).toBe(describePower(power).join('; '));
    }
  });

  describe('in French', () => {
    const NB = '\u00a0';
    const NNB = '\u202f';
    const fr = (cfg: Config, s: Snapshot) => conditions(cfg, s, french);
    const cfg = config(`sources:
  - id: north
    name: North bank
    camera: { driver: testpattern }
    schedule: { every: 5m }
sync:
  targets:
    - { id: hq, type: sftp, host: sftp.example.org, username: box, password: secret, hostKey: "${KEY}", remoteDir: /srv/boxes, alertAfter: 2h }
alerts: { lateAfter: 15m, temperatureMax: 70 }
`);

    it('writes a late picture with French dates, durations and typography, the camera\'s error quoted as it is', () => {
      const found = fr(cfg, snapshot({ now: paris('2026-12-05T11:47:30'), sources: [source('north', paris('2026-12-05T10:00'), { lastError: 'picture rejected: too dark' })] }));
      expect(only(found, 'picture-late:north').message).toBe(
        `north (North bank)${NB}: aucune photo depuis le 5 déc. 2026 à 10:00${NNB}; le créneau du 5 déc. 2026 à 10:05 a 1${NB}h${NB}42${NB}min de retard (dernière erreur${NB}: picture rejected: too dark)`,
      );
      const fresh = fr(cfg, snapshot({ now: paris('2026-12-05T10:15'), startedAt: paris('2026-12-05T09:58'), sources: [source('north', null)] }));
      expect(only(fresh, 'picture-late:north').message).toBe(`north (North bank)${NB}: aucune photo pour l’instant${NNB}; le créneau du 5 déc. 2026 à 10:00 a 15${NB}min de retard`);
    });

    it('writes a camera down, the temperature and the firmware flags', () => {
      const down = fr(cfg, snapshot({ sources: [source('north', paris('2026-06-10T08:00'), { downSince: paris('2026-06-10T08:05') })] }));
      expect(only(down, 'camera-down:north').message).toBe('la caméra north (North bank) est hors service depuis le 10 juin 2026 à 08:05. Une nouvelle tentative est faite à chaque créneau.');
      const hot = fr(cfg, snapshot({ health: health({ cpuTempC: 72.46, power: parseThrottled('throttled=0x50005') }) }));
      expect(only(hot, 'temperature-high').message).toBe(`le processeur est à 72,5${NB}°C (alerts.temperatureMax 70${NB}°C)${NB}: vérifiez le pare-soleil et la ventilation du boîtier`);
      expect(only(hot, 'under-voltage').message).toBe(
        `sous-tension en ce moment${NB}: vérifiez l’alimentation et son câble${NNB}; processeur ralenti en ce moment${NB}: il fait trop chaud ou l’alimentation est trop faible${NNB}; donnez au boîtier de l’ombre, de l’air ou un dissipateur`,
      );
    });

    it('writes the disk and the sync target with French numbers, plurals and guillemets', () => {
      const low = fr(cfg, snapshot({ storage: storage({ low: true, freePercent: 8.5, waitingForSync: 1 }) }));
      expect(only(low, 'disk-low').message).toBe(
        `le disque de données n’a plus que 8,5${NB}% d’espace libre, sous storage.retention.minFreePercent (10${NB}%)${NNB}; 1 photo attend d’être envoyée avant de pouvoir être supprimée`,
      );
      const now = paris('2026-06-10T12:00');
      const sync = fr(cfg, snapshot({ now, targets: [target('hq', { activity: 'retrying', failingSince: now - 3 * 60 * MIN, lastError: 'connect ETIMEDOUT', oldestPendingAt: now - 3 * 60 * MIN, pending: 1234 })] }));
      expect(only(sync, 'sync-unreachable:hq').message).toBe(`la cible de synchronisation «${NB}hq${NB}» (sftp.example.org) est en échec depuis le 10 juin 2026 à 09:00${NB}: connect ETIMEDOUT`);
      expect(only(sync, 'sync-backlog:hq').message).toBe(
        `1${NNB}234 fichiers attendent d’être envoyés à la cible de synchronisation «${NB}hq${NB}», le plus ancien depuis le 10 juin 2026 à 09:00`,
      );
    });

    it('finds the same conditions as in English, only the words differ', () => {
      const s = snapshot({ sources: [source('north', paris('2026-06-10T08:00'))], health: health({ cpuTempC: 90 }), storage: storage({ low: true, freePercent: 3 }) });
      expect(fr(cfg, s).map(({ message: _, ...c }) => c)).toEqual(sut(cfg, s).map(({ message: _, ...c }) => c));
    });
  });

  it('a quiet box gives nothing', () => {
    const cfg = config(`sources:
  - id: north
    camera: { driver: testpattern }
`);
    const now = paris('2026-06-10T12:00:30');
    expect(sut(cfg, snapshot({ now, sources: [source('north', paris('2026-06-10T12:00:02'))], health: health(), storage: storage() }))).toEqual([]);
  });
});
