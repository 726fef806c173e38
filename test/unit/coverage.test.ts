/**
 * The coverage calendar's arithmetic on a real database (issue 25): slots counted with
 * the schedule in force at each moment of a day, gaps clipped to their day, the box off
 * between runs, rejected and purged pictures, days before the record, DST days.
 */
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { buildCoverage } from '../../daemon/compose/stacks';
import { localDate } from '../../daemon/domain/data-folder';
import type { CoverageDay } from '../../daemon/schedule/coverage';
import { tempDir } from '../helpers/env';

const MIN = 60_000;
const HOUR = 60 * MIN;
const PARIS = { timezone: 'Europe/Paris' };
const at = (iso: string) => Date.parse(iso);
const office = { everyMs: 20 * MIN, windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'] as ('mon' | 'tue' | 'wed' | 'thu' | 'fri')[], from: { kind: 'clock' as const, minutes: 7 * 60 }, to: { kind: 'clock' as const, minutes: 19 * 60 } }] };

describe('coverage', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Repositories;

  beforeEach(() => {
    tmp = tempDir();
    store = openRepositories(tmp.dir);
  });
  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  const picture = (t: number, rejected = false) =>
    store.pictures.insert({ sourceId: 'north', takenAt: t, localDate: localDate(t, 'Europe/Paris'), path: `sources/north/pictures/${t}.jpg`, size: 1000, width: 320, height: 240, ...(rejected ? { rejection: { code: 'too-dark', detail: 'mean 3' } } : {}) });
  const day = (days: CoverageDay[], date: string) => days.find((d) => d.date === date)!;

  it('counts a weekday of office hours at 20 minutes: 36 slots, the gaps and the box off in between', () => {
    const { coverage } = store;
    coverage.recordSchedules(new Map([['north', office]]), at('2026-11-02T06:00:00+01:00'));
    coverage.startRun(at('2026-11-02T06:00:00+01:00'));
    coverage.heartbeat(at('2026-11-02T06:00:00+01:00'), at('2026-11-04T10:00:00+01:00')); // died at 10:00 on Wednesday
    coverage.startRun(at('2026-11-04T12:00:00+01:00'));
    coverage.stopRun(at('2026-11-04T12:00:00+01:00'), at('2026-11-06T00:00:00+01:00'));
    // Monday: every slot. Tuesday: the camera fails from 09:00 to 10:00 (4 slots), the disk is full at 15:00.
    for (let t = at('2026-11-02T07:00:00+01:00'); t < at('2026-11-02T19:00:00+01:00'); t += 20 * MIN) picture(t);
    for (let t = at('2026-11-03T07:00:00+01:00'); t < at('2026-11-03T19:00:00+01:00'); t += 20 * MIN) {
      if (t >= at('2026-11-03T09:00:00+01:00') && t <= at('2026-11-03T10:00:00+01:00')) coverage.recordGap('north', { kind: 'camera', at: t, message: 'HTTP 503', everyMs: 20 * MIN });
      else if (t === at('2026-11-03T15:00:00+01:00')) coverage.recordGap('north', { kind: 'disk', at: t, everyMs: 20 * MIN });
      else picture(t);
    }
    // Wednesday: pictures until the box died at 10:00, none until it came back at 12:00; one too dark at 13:00.
    for (let t = at('2026-11-04T07:00:00+01:00'); t < at('2026-11-04T19:00:00+01:00'); t += 20 * MIN) {
      if (t > at('2026-11-04T10:00:00+01:00') && t < at('2026-11-04T12:00:00+01:00')) continue;
      picture(t, t === at('2026-11-04T13:00:00+01:00'));
    }
    const days = buildCoverage(store).days('north', '2026-11-01', '2026-11-08', PARIS, at('2026-11-07T12:00:00+01:00'));
    expect(days.map((d) => [d.date, d.state, d.expected, d.pictures])).toEqual([
      ['2026-11-01', 'before', 0, 0],
      ['2026-11-02', 'complete', 36, 36],
      ['2026-11-03', 'partial', 36, 31],
      ['2026-11-04', 'partial', 36, 30],
      ['2026-11-05', 'missed', 36, 0],
      ['2026-11-06', 'missed', 36, 0],
      ['2026-11-07', 'unplanned', 0, 0],
      ['2026-11-08', 'future', 0, 0],
    ]);
    expect(day(days, '2026-11-02').windows).toEqual([{ from: at('2026-11-02T07:00:00+01:00'), to: at('2026-11-02T19:00:00+01:00') }]);
    expect(day(days, '2026-11-03').gaps).toEqual([
      { reason: 'camera', from: at('2026-11-03T09:00:00+01:00'), to: at('2026-11-03T10:00:00+01:00') + 1, slots: 4, message: 'HTTP 503' },
      { reason: 'disk', from: at('2026-11-03T15:00:00+01:00'), to: at('2026-11-03T15:00:00+01:00') + 1, slots: 1, message: null },
    ]);
    // The box off from its last heartbeat to its start: 5 slots (10:20 to 11:40); the too-dark picture counts as one.
    expect(day(days, '2026-11-04').gaps).toEqual([
      { reason: 'off', from: at('2026-11-04T10:00:00+01:00') + 1, to: at('2026-11-04T12:00:00+01:00'), slots: 5, message: null },
      { reason: 'rejected', from: null, to: null, slots: 1, message: null },
    ]);
    // Thursday: the daemon ran and noted nothing: no reason is made up. Friday: stopped at midnight, off all day.
    expect(day(days, '2026-11-05').gaps).toEqual([]);
    expect(day(days, '2026-11-06').gaps).toEqual([{ reason: 'off', from: at('2026-11-06T00:00:00+01:00') + 1, to: at('2026-11-07T00:00:00+01:00'), slots: 36, message: null }]);
    expect(day(days, '2026-11-07')).toMatchObject({ unplanned: 'outside-windows', ratio: null });
  });

  it('counts each part of a day with the schedule then in force, and a disabled source as unplanned', () => {
    const { coverage } = store;
    const start = at('2026-11-10T00:00:00+01:00');
    coverage.startRun(start);
    expect(coverage.recordSchedules(new Map([['north', { everyMs: HOUR }]]), start)).toEqual(['north']);
    // Nothing changed: nothing recorded.
    expect(coverage.recordSchedules(new Map([['north', { everyMs: HOUR }]]), start + HOUR)).toEqual([]);
    // At noon, every 10 minutes; disabled on the 11th at 00:00; removed from the configuration on the 12th.
    coverage.recordSchedules(new Map([['north', { everyMs: 10 * MIN }]]), at('2026-11-10T12:00:00+01:00'));
    coverage.recordSchedules(new Map([['north', null]]), at('2026-11-11T00:00:00+01:00'));
    coverage.recordSchedules(new Map([['north', { everyMs: HOUR }]]), at('2026-11-12T00:00:00+01:00'));
    expect(coverage.recordSchedules(new Map(), at('2026-11-12T12:00:00+01:00'))).toEqual(['north']);
    picture(at('2026-11-10T05:00:00+01:00'));
    const days = buildCoverage(store, () => start).days('north', '2026-11-10', '2026-11-13', PARIS, at('2026-11-13T08:30:00+01:00'));
    // 12 hourly slots, then 72 at ten minutes.
    expect(day(days, '2026-11-10')).toMatchObject({ expected: 12 + 72, pictures: 1, state: 'partial' });
    expect(day(days, '2026-11-11')).toMatchObject({ expected: 0, state: 'unplanned', unplanned: 'disabled' });
    expect(day(days, '2026-11-12')).toMatchObject({ expected: 12, state: 'missed' });
    expect(day(days, '2026-11-13')).toMatchObject({ expected: 0, state: 'unplanned', unplanned: 'disabled' });
  });

  it('estimates the days before the record with the first schedule, from the first picture on, and says so', () => {
    const { coverage } = store;
    // Pictures since the 1st at 12:00, hourly; the box was upgraded on the 3rd at 10:00 (its first record).
    for (let t = at('2026-12-01T12:00:00+01:00'); t <= at('2026-12-03T10:00:00+01:00'); t += HOUR) if (t !== at('2026-12-02T04:00:00+01:00')) picture(t);
    coverage.recordSchedules(new Map([['north', { everyMs: HOUR }]]), at('2026-12-03T10:00:00+01:00'));
    coverage.startRun(at('2026-12-03T10:00:00+01:00'));
    const days = buildCoverage(store, () => at('2026-12-03T10:00:00+01:00')).days('north', '2026-11-30', '2026-12-03', PARIS, at('2026-12-03T10:30:00+01:00'));
    expect(days.map((d) => [d.date, d.state, d.expected, d.pictures, d.estimated])).toEqual([
      ['2026-11-30', 'before', 0, 0, false],
      ['2026-12-01', 'complete', 12, 12, true],
      ['2026-12-02', 'partial', 24, 23, true],
      ['2026-12-03', 'complete', 11, 11, true],
    ]);
    // Before the box recorded its runs, a missing picture has no known reason.
    expect(day(days, '2026-12-02').gaps).toEqual([{ reason: 'unknown', from: null, to: null, slots: 1, message: null }]);
  });

  it('clips a camera down across midnight to each day, and counts the 25-hour day of October', () => {
    const { coverage } = store;
    const start = at('2026-10-24T00:00:00+02:00');
    coverage.recordSchedules(new Map([['north', { everyMs: HOUR }]]), start);
    coverage.startRun(start);
    // Down from the 24th at 20:00 to the 25th at 03:00 (inclusive): 4 + 4 slots (the 25th has two 02:00).
    for (let t = at('2026-10-24T20:00:00+02:00'); t <= at('2026-10-25T03:00:00+01:00'); t += HOUR) coverage.recordGap('north', { kind: 'camera', at: t, message: 'no camera', everyMs: HOUR });
    const days = buildCoverage(store, () => start).days('north', '2026-10-24', '2026-10-25', PARIS, at('2026-10-26T00:00:00+01:00'));
    expect(day(days, '2026-10-25').expected).toBe(25);
    expect(day(days, '2026-10-24').gaps).toEqual([{ reason: 'camera', from: at('2026-10-24T20:00:00+02:00'), to: at('2026-10-25T00:00:00+02:00'), slots: 4, message: 'no camera' }]);
    expect(day(days, '2026-10-25').gaps).toEqual([{ reason: 'camera', from: at('2026-10-25T00:00:00+02:00'), to: at('2026-10-25T03:00:00+01:00') + 1, slots: 5, message: 'no camera' }]);
  });

  it('refuses a period longer than 62 days or reversed', () => {
    const calc = buildCoverage(store);
    expect(() => calc.days('north', '2026-01-01', '2026-03-05', PARIS, Date.now())).toThrow(/62 days/);
    expect(() => calc.days('north', '2026-01-02', '2026-01-01', PARIS, Date.now())).toThrow(/bad period/);
  });
});
