import { countSlots, formatTimeOfDay, isSlot, nextSlot, slotsBetween, windowIntervals, type ScheduleSpec, type SlotContext, type WindowSpec } from '../../daemon/schedule/slots';
import { type TimeOfDay } from '../../daemon/domain/schedule';

// suncalc 2 ships ES-module typings a CommonJS test cannot import; its require export works.
interface SunCalcApi {
  getTimes(date: Date, latitude: number, longitude: number): { sunrise?: Date | null; sunset?: Date | null };
}
const { getTimes } = require('suncalc') as SunCalcApi;

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const ALL: WindowSpec['days'] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const WEEKDAYS: WindowSpec['days'] = ['mon', 'tue', 'wed', 'thu', 'fri'];

const UTC: SlotContext = { timezone: 'UTC' };
const PARIS: SlotContext = { timezone: 'Europe/Paris', location: { latitude: 48.85, longitude: 2.35 } };
const NEW_YORK: SlotContext = { timezone: 'America/New_York' };
const KOLKATA: SlotContext = { timezone: 'Asia/Kolkata' };
const LORD_HOWE: SlotContext = { timezone: 'Australia/Lord_Howe' };
const TROMSO: SlotContext = { timezone: 'Europe/Oslo', location: { latitude: 69.65, longitude: 18.96 } };

const at = (iso: string): Date => new Date(iso);
const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());
const isoAll = (ds: Date[]): string[] => ds.map((d) => d.toISOString());
const clock = (hhmm: string): TimeOfDay => {
  const [h, m] = hhmm.split(':').map(Number);
  return { kind: 'clock', minutes: (h as number) * 60 + (m as number) };
};
const every = (everyMs: number, windows?: WindowSpec[]): ScheduleSpec => (windows ? { everyMs, windows } : { everyMs });
const win = (days: WindowSpec['days'], from: TimeOfDay | string, to: TimeOfDay | string): WindowSpec => ({
  days,
  from: typeof from === 'string' ? clock(from) : from,
  to: typeof to === 'string' ? clock(to) : to,
});
/** Follows nextSlot n times from `after`. */
const chain = (after: Date, spec: ScheduleSpec, ctx: SlotContext, n: number): string[] => {
  const out: string[] = [];
  let t: Date | null = after;
  for (let i = 0; i < n && t !== null; i++) {
    t = nextSlot(t, spec, ctx);
    if (t !== null) out.push(t.toISOString());
  }
  return out;
};
const gaps = (ds: Date[]): number[] => ds.slice(1).map((d, i) => d.getTime() - (ds[i] as Date).getTime());

describe('slots', () => {
  describe('nextSlot alignment', () => {
    const sut = nextSlot;

    it('every 5m lands on hh:00, hh:05, ... and is strictly after', () => {
      expect(iso(sut(at('2026-05-06T10:03:17.000Z'), every(5 * MIN), UTC))).toBe('2026-05-06T10:05:00.000Z');
      expect(iso(sut(at('2026-05-06T10:05:00.000Z'), every(5 * MIN), UTC))).toBe('2026-05-06T10:10:00.000Z');
      expect(iso(sut(at('2026-05-06T10:04:59.999Z'), every(5 * MIN), UTC))).toBe('2026-05-06T10:05:00.000Z');
      expect(iso(sut(at('2026-05-06T23:57:00.000Z'), every(5 * MIN), UTC))).toBe('2026-05-07T00:00:00.000Z');
    });

    it('every 7m restarts at local midnight', () => {
      // 23:55 is 205 × 7m; the next step would be 00:02, but alignment restarts at 00:00.
      expect(chain(at('2026-05-06T23:50:00.000Z'), every(7 * MIN), UTC, 3)).toEqual([
        '2026-05-06T23:55:00.000Z',
        '2026-05-07T00:00:00.000Z',
        '2026-05-07T00:07:00.000Z',
      ]);
    });

    it('every 1h and every 90s', () => {
      expect(iso(sut(at('2026-05-06T10:00:00.001Z'), every(HOUR), UTC))).toBe('2026-05-06T11:00:00.000Z');
      expect(chain(at('2026-05-06T00:02:59.000Z'), every(90 * SEC), UTC, 3)).toEqual([
        '2026-05-06T00:03:00.000Z',
        '2026-05-06T00:04:30.000Z',
        '2026-05-06T00:06:00.000Z',
      ]);
      expect(iso(sut(at('2026-05-06T23:58:30.000Z'), every(90 * SEC), UTC))).toBe('2026-05-07T00:00:00.000Z');
    });

    it('every 1d is local midnight in the site time zone', () => {
      expect(chain(at('2026-05-06T10:00:00.000Z'), every(DAY), PARIS, 2)).toEqual([
        '2026-05-06T22:00:00.000Z',
        '2026-05-07T22:00:00.000Z',
      ]);
      expect(iso(sut(at('2026-05-06T22:00:00.000Z'), every(DAY), PARIS))).toBe('2026-05-07T22:00:00.000Z');
    });

    it('every 1s gives whole seconds', () => {
      expect(chain(at('2026-05-06T10:00:00.500Z'), every(SEC), UTC, 2)).toEqual([
        '2026-05-06T10:00:01.000Z',
        '2026-05-06T10:00:02.000Z',
      ]);
    });

    it('aligns to local wall time in a +05:30 zone, unlike UTC', () => {
      // 04:32Z is 10:02 in Kolkata.
      expect(iso(sut(at('2026-05-06T04:32:00.000Z'), every(5 * MIN), KOLKATA))).toBe('2026-05-06T04:35:00.000Z');
      expect(iso(sut(at('2026-05-06T04:32:00.000Z'), every(5 * MIN), UTC))).toBe('2026-05-06T04:35:00.000Z');
      expect(iso(sut(at('2026-05-06T04:32:00.000Z'), every(HOUR), KOLKATA))).toBe('2026-05-06T05:30:00.000Z');
      expect(iso(sut(at('2026-05-06T04:32:00.000Z'), every(HOUR), UTC))).toBe('2026-05-06T05:00:00.000Z');
      // 18:25Z is 23:55 local (a 7m slot); local midnight is 18:30Z.
      expect(iso(sut(at('2026-05-06T18:25:00.000Z'), every(7 * MIN), KOLKATA))).toBe('2026-05-06T18:30:00.000Z');
      expect(iso(sut(at('2026-05-06T18:25:00.000Z'), every(7 * MIN), UTC))).toBe('2026-05-06T18:26:00.000Z'); // 158 × 7m
    });

    it('returns null when nothing comes within 14 days', () => {
      expect(sut(at('2026-05-06T10:00:00.000Z'), every(MIN, [win([], '07:00', '19:00')]), UTC)).toBeNull();
    });
  });

  describe('daylight saving time', () => {
    const sut = slotsBetween;

    it('Europe/Paris spring day (23h): 23 hourly slots, 276 five-minute slots, 5 real minutes apart', () => {
      const from = at('2026-03-28T23:00:00.000Z'); // 2026-03-29 00:00+01:00
      const to = at('2026-03-29T22:00:00.000Z'); // 2026-03-30 00:00+02:00
      expect(sut(from, to, every(HOUR), PARIS)).toHaveLength(23);
      const fives = sut(from, to, every(5 * MIN), PARIS);
      expect(fives).toHaveLength(276);
      expect(new Set(gaps(fives))).toEqual(new Set([5 * MIN]));
      // 01:55+01:00, then 03:00+02:00.
      expect(iso(nextSlot(at('2026-03-29T00:50:00.000Z'), every(5 * MIN), PARIS))).toBe('2026-03-29T00:55:00.000Z');
      expect(iso(nextSlot(at('2026-03-29T00:55:00.000Z'), every(5 * MIN), PARIS))).toBe('2026-03-29T01:00:00.000Z');
      expect(isoAll(sut(at('2026-03-29T00:00:00.000Z'), at('2026-03-29T02:00:00.001Z'), every(HOUR), PARIS))).toEqual([
        '2026-03-29T00:00:00.000Z', // 01:00+01:00
        '2026-03-29T01:00:00.000Z', // 03:00+02:00
        '2026-03-29T02:00:00.000Z', // 04:00+02:00
      ]);
    });

    it('Europe/Paris fall day (25h): 25 hourly slots, 300 five-minute slots, both 02:xx hours', () => {
      const from = at('2026-10-24T22:00:00.000Z'); // 2026-10-25 00:00+02:00
      const to = at('2026-10-25T23:00:00.000Z'); // 2026-10-26 00:00+01:00
      expect(sut(from, to, every(HOUR), PARIS)).toHaveLength(25);
      const fives = sut(from, to, every(5 * MIN), PARIS);
      expect(fives).toHaveLength(300);
      expect(new Set(gaps(fives))).toEqual(new Set([5 * MIN]));
      // 02:55+02:00, then 02:00+01:00.
      expect(iso(nextSlot(at('2026-10-25T00:55:00.000Z'), every(5 * MIN), PARIS))).toBe('2026-10-25T01:00:00.000Z');
      expect(isoAll(sut(at('2026-10-24T23:00:00.000Z'), at('2026-10-25T02:00:00.001Z'), every(HOUR), PARIS))).toEqual([
        '2026-10-24T23:00:00.000Z', // 01:00+02:00
        '2026-10-25T00:00:00.000Z', // 02:00+02:00
        '2026-10-25T01:00:00.000Z', // 02:00+01:00
        '2026-10-25T02:00:00.000Z', // 03:00+01:00
      ]);
    });

    it('America/New_York spring and fall days', () => {
      const spring = sut(at('2026-03-08T05:00:00.000Z'), at('2026-03-09T04:00:00.000Z'), every(HOUR), NEW_YORK);
      expect(spring).toHaveLength(23);
      expect(sut(at('2026-03-08T05:00:00.000Z'), at('2026-03-09T04:00:00.000Z'), every(5 * MIN), NEW_YORK)).toHaveLength(276);
      // 01:55-05:00, then 03:00-04:00.
      expect(iso(nextSlot(at('2026-03-08T06:55:00.000Z'), every(5 * MIN), NEW_YORK))).toBe('2026-03-08T07:00:00.000Z');
      expect(iso(nextSlot(at('2026-03-08T06:00:00.000Z'), every(HOUR), NEW_YORK))).toBe('2026-03-08T07:00:00.000Z');

      const fall = sut(at('2026-11-01T04:00:00.000Z'), at('2026-11-02T05:00:00.000Z'), every(HOUR), NEW_YORK);
      expect(fall).toHaveLength(25);
      expect(isoAll(fall.slice(0, 4))).toEqual([
        '2026-11-01T04:00:00.000Z', // 00:00-04:00
        '2026-11-01T05:00:00.000Z', // 01:00-04:00
        '2026-11-01T06:00:00.000Z', // 01:00-05:00
        '2026-11-01T07:00:00.000Z', // 02:00-05:00
      ]);
      const fives = sut(at('2026-11-01T04:00:00.000Z'), at('2026-11-02T05:00:00.000Z'), every(5 * MIN), NEW_YORK);
      expect(fives).toHaveLength(300);
      expect(new Set(gaps(fives))).toEqual(new Set([5 * MIN]));
    });

    it('Australia/Lord_Howe half-hour shifts', () => {
      // 2026-10-04 02:00+10:30 (15:30Z) jumps to 02:30+11:00.
      expect(iso(nextSlot(at('2026-10-03T15:25:00.000Z'), every(5 * MIN), LORD_HOWE))).toBe('2026-10-03T15:30:00.000Z');
      const springFrom = at('2026-10-03T13:30:00.000Z'); // 00:00+10:30
      const springTo = at('2026-10-04T13:00:00.000Z'); // 00:00+11:00
      expect(sut(springFrom, springTo, every(5 * MIN), LORD_HOWE)).toHaveLength(282);
      expect(sut(springFrom, springTo, every(HOUR), LORD_HOWE)).toHaveLength(23);
      // 01:00+10:30, then 03:00+11:00: an hour and a half apart.
      expect(iso(nextSlot(at('2026-10-03T14:30:00.000Z'), every(HOUR), LORD_HOWE))).toBe('2026-10-03T16:00:00.000Z');

      // 2026-04-05 02:00+11:00 (15:00Z) falls back to 01:30+10:30, so 01:30 happens twice.
      expect(chain(at('2026-04-04T14:00:00.000Z'), every(30 * MIN), LORD_HOWE, 3)).toEqual([
        '2026-04-04T14:30:00.000Z', // 01:30+11:00
        '2026-04-04T15:00:00.000Z', // 01:30+10:30
        '2026-04-04T15:30:00.000Z', // 02:00+10:30
      ]);
      const fallFrom = at('2026-04-04T13:00:00.000Z'); // 00:00+11:00
      const fallTo = at('2026-04-05T13:30:00.000Z'); // 00:00+10:30
      expect(sut(fallFrom, fallTo, every(5 * MIN), LORD_HOWE)).toHaveLength(294);
      expect(sut(fallFrom, fallTo, every(30 * MIN), LORD_HOWE)).toHaveLength(49);
    });

    it('a non-existent local midnight gives no daily slot that day', () => {
      // Havana skips 2026-03-08 00:00-01:00.
      expect(iso(nextSlot(at('2026-03-07T05:00:00.000Z'), every(DAY), { timezone: 'America/Havana' }))).toBe(
        '2026-03-09T04:00:00.000Z',
      );
    });
  });

  describe('windows', () => {
    const sut = nextSlot;
    const office = every(10 * MIN, [win(WEEKDAYS, '07:00', '19:00')]);

    it('weekdays only: Friday evening jumps to Monday morning', () => {
      // 2026-05-08 is a Friday; 18:50+02:00. 19:00 itself is outside (end exclusive).
      expect(iso(sut(at('2026-05-08T16:50:00.000Z'), office, PARIS))).toBe('2026-05-11T05:00:00.000Z');
      expect(iso(sut(at('2026-05-08T16:40:00.000Z'), office, PARIS))).toBe('2026-05-08T16:50:00.000Z');
      // Monday 06:59: the start is inclusive.
      expect(iso(sut(at('2026-05-11T04:59:00.000Z'), office, PARIS))).toBe('2026-05-11T05:00:00.000Z');
    });

    it('several windows a day, and overlapping windows as a union', () => {
      const twice = every(30 * MIN, [win(ALL, '06:00', '08:00'), win(ALL, '17:00', '19:00')]);
      expect(iso(sut(at('2026-05-06T07:30:00.000Z'), twice, UTC))).toBe('2026-05-06T17:00:00.000Z');
      expect(iso(sut(at('2026-05-06T18:30:00.000Z'), twice, UTC))).toBe('2026-05-07T06:00:00.000Z');

      const overlapping = every(30 * MIN, [win(ALL, '07:00', '09:00'), win(ALL, '06:00', '08:00')]);
      expect(isoAll(slotsBetween(at('2026-05-06T00:00:00.000Z'), at('2026-05-07T00:00:00.000Z'), overlapping, UTC))).toEqual([
        '2026-05-06T06:00:00.000Z',
        '2026-05-06T06:30:00.000Z',
        '2026-05-06T07:00:00.000Z',
        '2026-05-06T07:30:00.000Z',
        '2026-05-06T08:00:00.000Z',
        '2026-05-06T08:30:00.000Z',
      ]);
    });

    it('a window wrapping midnight belongs to the day it starts on', () => {
      const fridayNight = every(5 * MIN, [win(['fri'], '22:00', '02:00')]);
      // Saturday 01:55 is in Friday's window; Saturday 02:00 and 22:00 are not (sat is not listed).
      expect(iso(sut(at('2026-05-09T01:50:00.000Z'), fridayNight, UTC))).toBe('2026-05-09T01:55:00.000Z');
      expect(iso(sut(at('2026-05-09T01:55:00.000Z'), fridayNight, UTC))).toBe('2026-05-15T22:00:00.000Z');
      expect(isSlot(at('2026-05-09T01:55:00.000Z'), fridayNight, UTC)).toBe(true);
      expect(isSlot(at('2026-05-09T02:00:00.000Z'), fridayNight, UTC)).toBe(false);
      expect(isSlot(at('2026-05-09T22:00:00.000Z'), fridayNight, UTC)).toBe(false);
      // Thursday night is not Friday's window either.
      expect(isSlot(at('2026-05-08T01:00:00.000Z'), fridayNight, UTC)).toBe(false);
      const weekendNights = every(5 * MIN, [win(['fri', 'sat'], '22:00', '02:00')]);
      expect(isSlot(at('2026-05-09T22:00:00.000Z'), weekendNights, UTC)).toBe(true);
    });

    it('equal start and end mean a full day from the start', () => {
      const spec = every(HOUR, [win(['wed'], '12:00', '12:00')]);
      expect(slotsBetween(at('2026-05-04T00:00:00.000Z'), at('2026-05-11T00:00:00.000Z'), spec, UTC).map(iso)).toEqual(
        Array.from({ length: 24 }, (_, i) => new Date(Date.parse('2026-05-06T12:00:00.000Z') + i * HOUR).toISOString()),
      );
    });

    it('"24:00" ends the window at the next local midnight', () => {
      const evening = every(HOUR, [win(ALL, '20:00', '24:00')]);
      expect(iso(sut(at('2026-05-06T22:30:00.000Z'), evening, UTC))).toBe('2026-05-06T23:00:00.000Z');
      expect(iso(sut(at('2026-05-06T23:00:00.000Z'), evening, UTC))).toBe('2026-05-07T20:00:00.000Z');
      expect(windowIntervals('2026-05-06', evening, PARIS).map((i) => [iso(i.start), iso(i.end)])).toEqual([
        ['2026-05-06T18:00:00.000Z', '2026-05-06T22:00:00.000Z'],
      ]);
      const allDay = every(HOUR, [win(ALL, '00:00', '24:00')]);
      expect(slotsBetween(at('2026-05-06T00:00:00.000Z'), at('2026-05-08T00:00:00.000Z'), allDay, UTC)).toHaveLength(48);
    });

    it('window boundaries across DST: gap times start after the gap, repeated times use the earlier instant', () => {
      const gap = every(30 * MIN, [win(ALL, '02:30', '04:00')]);
      expect(windowIntervals('2026-03-29', gap, PARIS).map((i) => [iso(i.start), iso(i.end)])).toEqual([
        ['2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z'], // 03:00+02:00 – 04:00+02:00
      ]);
      const repeated = every(30 * MIN, [win(['sat'], '22:00', '02:30')]);
      expect(windowIntervals('2026-10-24', repeated, PARIS).map((i) => [iso(i.start), iso(i.end)])).toEqual([
        ['2026-10-24T20:00:00.000Z', '2026-10-25T00:30:00.000Z'], // ends 02:30+02:00, the first 02:30
      ]);
      expect(iso(nextSlot(at('2026-10-24T23:59:00.000Z'), repeated, PARIS))).toBe('2026-10-25T00:00:00.000Z');
      // The next is 22:00+01:00 on the following Saturday, not the second 02:30.
      expect(iso(nextSlot(at('2026-10-25T00:00:00.000Z'), repeated, PARIS))).toBe('2026-10-31T21:00:00.000Z');
    });
  });

  describe('windowIntervals', () => {
    const sut = windowIntervals;

    it('gives the wrapping window on the day it starts and nothing on unlisted days', () => {
      const spec = every(5 * MIN, [win(['fri'], '22:00', '02:00'), win(['fri'], '08:00', '09:00')]);
      expect(sut('2026-05-08', spec, PARIS).map((i) => [iso(i.start), iso(i.end)])).toEqual([
        ['2026-05-08T06:00:00.000Z', '2026-05-08T07:00:00.000Z'],
        ['2026-05-08T20:00:00.000Z', '2026-05-09T00:00:00.000Z'],
      ]);
      expect(sut('2026-05-09', spec, PARIS)).toEqual([]);
    });

    it('without windows gives the whole local day, 25h on a fall-back day', () => {
      expect(sut('2026-10-25', every(HOUR), PARIS).map((i) => [iso(i.start), iso(i.end)])).toEqual([
        ['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z'],
      ]);
    });

    it('rejects malformed dates', () => {
      expect(() => sut('2026-02-30', every(HOUR), UTC)).toThrow(/YYYY-MM-DD/);
      expect(() => sut('6 May 2026', every(HOUR), UTC)).toThrow(/YYYY-MM-DD/);
    });
  });

  describe('sun windows', () => {
    const sunrise = (offsetMs: number): TimeOfDay => ({ kind: 'sunrise', offsetMs });
    const sunset = (offsetMs: number): TimeOfDay => ({ kind: 'sunset', offsetMs });
    const daylight = every(5 * MIN, [win(ALL, sunrise(-30 * MIN), sunset(30 * MIN))]);
    const ceilTo = (ms: number, step: number): number => Math.ceil(ms / step) * step;

    it.each([
      ['summer', '2026-06-21', '2026-06-20T22:00:00.000Z', '2026-06-21T10:00:00.000Z', '2026-06-21T22:00:00.000Z'],
      ['winter', '2026-12-21', '2026-12-20T23:00:00.000Z', '2026-12-21T11:00:00.000Z', '2026-12-21T23:00:00.000Z'],
    ])('Paris %s: sunrise-30m to sunset+30m', (_name, date, midnight, noon, nextMidnight) => {
      const times = getTimes(at(noon), 48.85, 2.35);
      const start = (times.sunrise as Date).getTime() - 30 * MIN;
      const end = (times.sunset as Date).getTime() + 30 * MIN;
      // Paris is a whole number of hours from UTC, so 5-minute wall alignment is 5-minute UTC alignment.
      const first = nextSlot(at(midnight), daylight, PARIS);
      expect(iso(first)).toBe(new Date(ceilTo(start, 5 * MIN)).toISOString());
      expect((first as Date).getTime() - start).toBeGreaterThanOrEqual(0);
      expect((first as Date).getTime() - start).toBeLessThan(5 * MIN);
      const day = slotsBetween(at(midnight), at(nextMidnight), daylight, PARIS);
      expect(iso(day[day.length - 1] as Date)).toBe(new Date(ceilTo(end, 5 * MIN) - 5 * MIN).toISOString());
      expect(windowIntervals(date, daylight, PARIS).map((i) => [i.start.getTime(), i.end.getTime()])).toEqual([[start, end]]);
    });

    it('summer daylight is longer than winter daylight', () => {
      const count = (from: string, to: string): number => slotsBetween(at(from), at(to), daylight, PARIS).length;
      expect(count('2026-06-20T22:00:00.000Z', '2026-06-21T22:00:00.000Z')).toBeGreaterThan(
        count('2026-12-20T23:00:00.000Z', '2026-12-21T23:00:00.000Z') + 80,
      );
    });

    it('polar night in Tromsø: the window does not exist', () => {
      const spec = every(5 * MIN, [win(ALL, sunrise(0), sunset(0))]);
      expect(windowIntervals('2026-12-15', spec, TROMSO)).toEqual([]);
      expect(slotsBetween(at('2026-12-14T23:00:00.000Z'), at('2026-12-15T23:00:00.000Z'), spec, TROMSO)).toEqual([]);
      // Polar night lasts until mid-January, beyond the 14-day look-ahead.
      expect(nextSlot(at('2026-12-14T23:00:00.000Z'), spec, TROMSO)).toBeNull();
      // Other windows still apply.
      const withClock = every(5 * MIN, [win(ALL, sunrise(0), sunset(0)), win(ALL, '12:00', '12:10')]);
      expect(isoAll(slotsBetween(at('2026-12-14T23:00:00.000Z'), at('2026-12-15T23:00:00.000Z'), withClock, TROMSO))).toEqual([
        '2026-12-15T11:00:00.000Z',
        '2026-12-15T11:05:00.000Z',
      ]);
    });

    it('needs a location', () => {
      expect(() => nextSlot(at('2026-06-21T00:00:00.000Z'), daylight, { timezone: 'Europe/Paris' })).toThrow(/location/);
      expect(() => isSlot(at('2026-06-21T00:00:00.000Z'), daylight, { timezone: 'Europe/Paris' })).toThrow(/location/);
    });
  });

  describe('consistency', () => {
    const specs: Array<[string, ScheduleSpec, SlotContext]> = [
      ['5m all day, Paris fall day', every(5 * MIN), PARIS],
      ['7m weekday office hours, New York', every(7 * MIN, [win(WEEKDAYS, '07:00', '19:00')]), NEW_YORK],
      ['1m overlapping and wrapping, Paris', every(MIN, [win(ALL, '23:00', '01:30'), win(['sun'], '00:30', '03:00')]), PARIS],
      ['90s daylight, Paris', every(90 * SEC, [win(ALL, { kind: 'sunrise', offsetMs: -HOUR }, { kind: 'sunset', offsetMs: 0 })]), PARIS],
      ['10m, Lord Howe', every(10 * MIN, [win(ALL, '01:00', '03:00')]), LORD_HOWE],
    ];
    const from = at('2026-10-23T00:00:00.000Z');
    const to = at('2026-10-27T00:00:00.000Z');

    it.each(specs)('%s: slotsBetween, nextSlot and isSlot agree', (_name, spec, ctx) => {
      const slots = slotsBetween(from, to, spec, ctx);
      expect(slots.length).toBeGreaterThan(10);
      expect(gaps(slots).every((g) => g > 0)).toBe(true);
      expect(isoAll(slots)).toEqual(chain(new Date(from.getTime() - 1), spec, ctx, slots.length));
      for (const s of slots) {
        expect(isSlot(s, spec, ctx)).toBe(true);
        expect(isSlot(new Date(s.getTime() + SEC), spec, ctx)).toBe(false);
      }
      // Every whole minute in the range: a slot exactly when slotsBetween lists it.
      const listed = new Set(slots.map((s) => s.getTime()));
      for (let t = from.getTime(); t < to.getTime(); t += MIN) {
        if (isSlot(new Date(t), spec, ctx) !== listed.has(t)) throw new Error(`isSlot disagrees at ${new Date(t).toISOString()}`);
      }
    });

    it.each(specs)('%s: countSlots counts what slotsBetween lists, over any range', (_name, spec, ctx) => {
      expect(countSlots(from, to, spec, ctx)).toBe(slotsBetween(from, to, spec, ctx, 1_000_000).length);
      // Ranges that start and end anywhere (mid-window, on a slot, across the DST change of 25 October).
      for (let a = from.getTime(); a < to.getTime(); a += 5 * HOUR + 17 * MIN + 1) {
        const b = a + 7 * HOUR + 3 * MIN;
        expect([new Date(a).toISOString(), countSlots(new Date(a), new Date(b), spec, ctx)]).toEqual([new Date(a).toISOString(), slotsBetween(new Date(a), new Date(b), spec, ctx, 1_000_000).length]);
      }
    });

    it('countSlots counts a day at one second, DST days and empty ranges without listing them', () => {
      expect(countSlots(at('2026-05-06T00:00:00.000Z'), at('2026-05-07T00:00:00.000Z'), every(SEC), UTC)).toBe(86_400);
      // Paris, 25 October 2026: a 25-hour day; 29 March 2026: a 23-hour day.
      expect(countSlots(at('2026-10-24T22:00:00.000Z'), at('2026-10-25T23:00:00.000Z'), every(HOUR), PARIS)).toBe(25);
      expect(countSlots(at('2026-03-28T23:00:00.000Z'), at('2026-03-29T22:00:00.000Z'), every(HOUR), PARIS)).toBe(23);
      expect(countSlots(at('2026-05-06T10:00:00.000Z'), at('2026-05-06T10:00:00.000Z'), every(SEC), UTC)).toBe(0);
      expect(countSlots(at('2026-05-06T10:00:00.000Z'), at('2026-05-06T09:00:00.000Z'), every(SEC), UTC)).toBe(0);
      // Office hours at 20 minutes: 36 slots on a weekday (07:00 to 18:40), none on Sunday.
      const office = every(20 * MIN, [win(WEEKDAYS, '07:00', '19:00')]);
      expect(countSlots(at('2026-05-06T00:00:00+02:00'), at('2026-05-07T00:00:00+02:00'), office, PARIS)).toBe(36);
      expect(countSlots(at('2026-05-10T00:00:00+02:00'), at('2026-05-11T00:00:00+02:00'), office, PARIS)).toBe(0);
      const started = process.hrtime.bigint();
      let n = 0;
      for (let d = 0; d < 31; d++) n += countSlots(new Date(Date.parse('2026-10-01T00:00:00+02:00') + d * DAY), new Date(Date.parse('2026-10-01T00:00:00+02:00') + (d + 1) * DAY), every(SEC), PARIS);
      expect(n).toBe(31 * 86_400); // 31 stretches of 24 h, one second apart: the 25-hour day is split across two
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(200);
    });

    it('slotsBetween honours [from, to) and the limit', () => {
      expect(isoAll(slotsBetween(at('2026-05-06T10:00:00.000Z'), at('2026-05-06T10:15:00.000Z'), every(5 * MIN), UTC))).toEqual([
        '2026-05-06T10:00:00.000Z',
        '2026-05-06T10:05:00.000Z',
        '2026-05-06T10:10:00.000Z',
      ]);
      expect(slotsBetween(at('2026-05-06T00:00:00.000Z'), at('2026-05-07T00:00:00.000Z'), every(SEC), UTC)).toHaveLength(10_000);
      expect(slotsBetween(at('2026-05-06T00:00:00.000Z'), at('2026-05-07T00:00:00.000Z'), every(SEC), UTC, 3)).toHaveLength(3);
      expect(slotsBetween(at('2026-05-06T00:00:00.000Z'), at('2026-05-06T00:00:00.000Z'), every(SEC), UTC)).toEqual([]);
    });

    it('isSlot(nextSlot(x)) holds and nextSlot never repeats', () => {
      const spec = every(7 * MIN, [win(WEEKDAYS, '07:00', '19:00'), win(['sat'], '22:00', '02:00')]);
      for (let t = Date.parse('2026-03-01T00:00:00.000Z'); t < Date.parse('2026-04-15T00:00:00.000Z'); t += 37 * MIN + 13 * SEC) {
        const s = nextSlot(new Date(t), spec, PARIS) as Date;
        expect(s.getTime()).toBeGreaterThan(t);
        expect(isSlot(s, spec, PARIS)).toBe(true);
        expect((nextSlot(s, spec, PARIS) as Date).getTime()).toBeGreaterThan(s.getTime());
      }
    });

    it('isSlot needs millisecond precision', () => {
      expect(isSlot(at('2026-05-06T10:05:00.000Z'), every(5 * MIN), UTC)).toBe(true);
      expect(isSlot(at('2026-05-06T10:05:00.001Z'), every(5 * MIN), UTC)).toBe(false);
    });
  });

  describe('performance', () => {
    it('10,000 nextSlot calls over long empty stretches stay fast', () => {
      const perSecond = every(SEC, [win(['mon'], '07:00', '07:01'), win(['sat'], { kind: 'sunset', offsetMs: -HOUR }, { kind: 'sunset', offsetMs: 0 })]);
      const daily = every(DAY, [win(['sun'], '00:00', '01:00')]);
      const started = process.hrtime.bigint();
      let found = 0;
      for (let i = 0; i < 5000; i++) {
        const after = new Date(Date.parse('2026-01-01T00:00:00.000Z') + i * 4 * HOUR + i * 7 * SEC);
        if (nextSlot(after, perSecond, PARIS) !== null) found++;
        if (nextSlot(after, daily, NEW_YORK) !== null) found++;
      }
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      expect(found).toBe(10_000);
      expect(elapsedMs).toBeLessThan(2000);
    });
  });

  describe('validation and formatting', () => {
    it('rejects bad intervals and unknown zones', () => {
      expect(() => nextSlot(at('2026-05-06T00:00:00.000Z'), every(500), UTC)).toThrow(RangeError);
      expect(() => nextSlot(at('2026-05-06T00:00:00.000Z'), every(DAY + 1), UTC)).toThrow(RangeError);
      expect(() => nextSlot(at('2026-05-06T00:00:00.000Z'), every(MIN), { timezone: 'Mars/Olympus' })).toThrow(/time zone/);
    });

    it('formats times of day', () => {
      const sut = formatTimeOfDay;
      expect(sut(clock('07:00'))).toBe('07:00');
      expect(sut({ kind: 'clock', minutes: 1440 })).toBe('24:00');
      expect(sut({ kind: 'clock', minutes: 5 })).toBe('00:05');
      expect(sut({ kind: 'sunrise', offsetMs: -30 * MIN })).toBe('sunrise-30m');
      expect(sut({ kind: 'sunset', offsetMs: 90 * MIN })).toBe('sunset+1h30m');
      expect(sut({ kind: 'sunset', offsetMs: 0 })).toBe('sunset');
    });
  });
});
