/**
 * Capture slots: the instants at which a camera is due, computed from the
 * schedule (`every` plus optional time windows), the site's time zone and,
 * for sunrise/sunset windows, its location.
 *
 * Everything here is pure: no I/O, no timers; the clock is always passed in.
 * Internally instants are epoch milliseconds and "wall" values are local
 * wall-clock times expressed as if they were UTC epoch milliseconds
 * (wall = instant + offset), so a local date `d` spans walls [d*DAY, (d+1)*DAY).
 */
import { IANAZone } from 'luxon';
import { formatDuration } from '../config/duration';
import type { TimeOfDay, Weekday } from '../domain/schedule';

/**
 * suncalc 2 is an ES module package whose typings TypeScript will not let a
 * CommonJS file import, although its `require` export works. The little we use
 * is typed here, loosely enough for both 1.x (Invalid Date on polar days) and
 * 2.x (null).
 */
interface SunCalcApi {
  getTimes(date: Date, latitude: number, longitude: number): { sunrise?: Date | null; sunset?: Date | null };
}
const { getTimes } = require('suncalc') as SunCalcApi;

export interface WindowSpec {
  days: Weekday[];
  from: TimeOfDay;
  to: TimeOfDay;
}
/** everyMs in [1000, 86400000]; no windows (or an empty list) means all day, every day. */
export interface ScheduleSpec {
  everyMs: number;
  windows?: WindowSpec[];
}
export interface SlotContext {
  timezone: string;
  location?: { latitude: number; longitude: number };
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** How far nextSlot looks ahead before giving up. */
export const NEXT_SLOT_HORIZON_MS = 14 * DAY;
/** Default cap on the number of instants slotsBetween returns. */
export const DEFAULT_SLOT_LIMIT = 10_000;

/** UTC offsets lie within [-12h, +14h]; 15h leaves room for gap shifts. */
const MAX_OFFSET_SPAN = 15 * HOUR;
/**
 * suncalc answers for the solar day nearest the instant given; sunrise and
 * sunset lie within about ±24.3h of local noon (hour angle ≤ 12h either side
 * of a transit that is itself within ~12.3h of the input).
 */
const SUN_SPAN = 25 * HOUR;

// Indexed by local day number mod 7: day 0, 1970-01-01, was a Thursday.
const WEEKDAY_OF_DAY_MOD_7: readonly Weekday[] = ['thu', 'fri', 'sat', 'sun', 'mon', 'tue', 'wed'];
const WEEKDAYS: ReadonlySet<string> = new Set<Weekday>(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

interface Interval {
  start: number;
  end: number;
}

function mod(a: number, b: number): number {
  const r = a % b;
  return r < 0 ? r + b : r;
}

// ---------------------------------------------------------------------------
// Zone offsets

/**
 * Offset lookups through Intl cost several microseconds each, and slot search
 * needs many of them, so offsets are memoised per UTC day. A day's offset is
 * sampled at its start, middle and end; any change found is pinned down to the
 * millisecond by bisection. This assumes no more than one transition per half
 * day, which holds for every zone in the tz database in modern times.
 */
class ZoneOffsets {
  private readonly days = new Map<number, { at: number[]; offsets: number[] }>();

  constructor(private readonly zone: IANAZone) {}

  /** Offset (local wall − UTC) in ms at instant `t`. */
  at(t: number): number {
    const day = Math.floor(t / DAY);
    let entry = this.days.get(day);
    if (entry === undefined) {
      if (this.days.size > 50_000) this.days.clear();
      entry = this.sampleDay(day);
      this.days.set(day, entry);
    }
    const { at, offsets } = entry;
    let i = at.length - 1;
    while (i > 0 && (at[i] as number) > t) i--;
    return offsets[i] as number;
  }

  private raw(t: number): number {
    // Math.round: historic offsets with seconds come back as fractional minutes.
    return Math.round(this.zone.offset(t) * 60_000);
  }

  private sampleDay(day: number): { at: number[]; offsets: number[] } {
    const start = day * DAY;
    const mid = start + DAY / 2;
    const end = start + DAY;
    const oStart = this.raw(start);
    const oMid = this.raw(mid);
    const oEnd = this.raw(end);
    const at = [start];
    const offsets = [oStart];
    if (oMid !== oStart) {
      at.push(this.bisectRaw(start, mid, oStart));
      offsets.push(oMid);
    }
    if (oEnd !== oMid) {
      const t = this.bisectRaw(mid, end, oMid);
      if (t < end) {
        at.push(t);
        offsets.push(oEnd);
      }
    }
    return { at, offsets };
  }

  /** First instant in (lo, hi] whose offset is not `before`; raw(lo) must be `before`. */
  private bisectRaw(lo: number, hi: number, before: number): number {
    while (hi - lo > 1) {
      const m = Math.floor((lo + hi) / 2);
      if (this.raw(m) === before) lo = m;
      else hi = m;
    }
    return hi;
  }

  /** First instant in (lo, hi] whose offset differs from the offset at `lo`. */
  transitionBetween(lo: number, hi: number): number {
    const before = this.at(lo);
    while (hi - lo > 1) {
      const m = Math.floor((lo + hi) / 2);
      if (this.at(m) === before) lo = m;
      else hi = m;
    }
    return hi;
  }
}

const zoneCache = new Map<string, ZoneOffsets>();

function zoneOffsets(timezone: string): ZoneOffsets {
  let z = zoneCache.get(timezone);
  if (z === undefined) {
    const zone = typeof timezone === 'string' ? IANAZone.create(timezone) : null;
    if (zone === null || !zone.isValid) throw new Error(`Unknown time zone "${String(timezone)}"`);
    z = new ZoneOffsets(zone);
    zoneCache.set(timezone, z);
  }
  return z;
}

/**
 * The instant showing local wall time `wall`. An ambiguous wall time (fall
 * back) gives the earlier instant; a wall time inside a spring-forward gap
 * gives the transition instant, i.e. the first instant after the gap.
 */
function wallToInstant(wall: number, z: ZoneOffsets): number {
  // Any solution t = wall - offset(t) lies within [wall-14h, wall+12h]; the
  // offsets just outside that range are the ones before and after any
  // transition inside it.
  const oA = z.at(wall - MAX_OFFSET_SPAN);
  const oB = z.at(wall + MAX_OFFSET_SPAN);
  let best: number | null = null;
  for (const o of oA === oB ? [oA] : [oA, oB]) {
    const t = wall - o;
    if (z.at(t) === o && (best === null || t < best)) best = t;
  }
  if (best !== null) return best;
  const lo = Math.min(wall - oA, wall - oB);
  const hi = Math.max(wall - oA, wall - oB);
  return z.at(lo) === z.at(hi) ? hi : z.transitionBetween(lo, hi);
}

// ---------------------------------------------------------------------------
// Alignment (ignoring windows)

function isAligned(t: number, everyMs: number, z: ZoneOffsets): boolean {
  return mod(t + z.at(t), DAY) % everyMs === 0;
}

/** Smallest aligned instant >= t. */
function alignedAtOrAfter(t: number, everyMs: number, z: ZoneOffsets): number {
  for (;;) {
    const o = z.at(t);
    const wall = t + o;
    const dayStart = wall - mod(wall, DAY);
    const k = Math.ceil((wall - dayStart) / everyMs) * everyMs;
    // Alignment restarts at each local midnight, so a step past 24:00 lands on the next midnight.
    const candidate = (k >= DAY ? dayStart + DAY : dayStart + k) - o;
    if (z.at(candidate) === o) return candidate;
    // The offset changed before the candidate: wall times computed with the old
    // offset are meaningless past the transition, so restart from it.
    t = z.transitionBetween(t, candidate);
  }
}

// ---------------------------------------------------------------------------
// Windows

interface Compiled {
  everyMs: number;
  zone: ZoneOffsets;
  windows: WindowSpec[] | null;
  location: { latitude: number; longitude: number } | null;
  /** A window of local day d starts no earlier than d*DAY - lead. */
  lead: number;
  /** A window of local day d ends no later than d*DAY + reach. */
  reach: number;
}

function isSun(t: TimeOfDay): t is { kind: 'sunrise' | 'sunset'; offsetMs: number } {
  return t.kind === 'sunrise' || t.kind === 'sunset';
}

function checkTimeOfDay(t: TimeOfDay, what: string): void {
  if (t === null || typeof t !== 'object') throw new Error(`Schedule window ${what} is missing`);
  if (t.kind === 'clock') {
    if (!Number.isFinite(t.minutes) || t.minutes < 0 || t.minutes > 1440) {
      throw new RangeError(`Schedule window ${what} must be between 00:00 and 24:00, got ${String(t.minutes)} minutes`);
    }
  } else if (isSun(t)) {
    if (!Number.isFinite(t.offsetMs)) throw new RangeError(`Schedule window ${what} has an invalid offset`);
  } else {
    throw new Error(`Schedule window ${what} has an unknown kind`);
  }
}

/** Earliest wall time (relative to the day's midnight) at which `t` can fall. */
function earliestWall(t: TimeOfDay): number {
  return isSun(t) ? 12 * HOUR - SUN_SPAN + t.offsetMs : t.minutes * 60_000;
}

/** Latest wall time (relative to the day's midnight) at which `t`, taken on the day or the next, can fall. */
function latestWall(t: TimeOfDay): number {
  return DAY + (isSun(t) ? 12 * HOUR + SUN_SPAN + t.offsetMs : t.minutes * 60_000);
}

function compile(spec: ScheduleSpec, ctx: SlotContext): Compiled {
  const everyMs = spec.everyMs;
  if (!Number.isInteger(everyMs) || everyMs < 1000 || everyMs > DAY) {
    throw new RangeError(`Schedule interval must be a whole number of ms between 1s and 1d, got ${String(everyMs)}`);
  }
  const zone = zoneOffsets(ctx.timezone);
  const windows = spec.windows !== undefined && spec.windows.length > 0 ? spec.windows : null;
  let lead = 0;
  let reach = 0;
  let needsSun = false;
  for (const w of windows ?? []) {
    if (!Array.isArray(w.days) || w.days.some((d) => !WEEKDAYS.has(d))) {
      throw new Error(`Schedule window days must be among mon..sun, got ${JSON.stringify(w.days)}`);
    }
    checkTimeOfDay(w.from, 'start');
    checkTimeOfDay(w.to, 'end');
    needsSun ||= isSun(w.from) || isSun(w.to);
    lead = Math.max(lead, MAX_OFFSET_SPAN - earliestWall(w.from));
    reach = Math.max(reach, latestWall(w.to) + MAX_OFFSET_SPAN);
  }
  const loc = ctx.location ?? null;
  if (needsSun) {
    if (loc === null) {
      throw new Error('A schedule window uses sunrise/sunset, so a location (latitude and longitude) is needed');
    }
    if (!Number.isFinite(loc.latitude) || !Number.isFinite(loc.longitude)) {
      throw new RangeError('Location latitude and longitude must be numbers');
    }
  }
  return { everyMs, zone, windows, location: loc, lead, reach };
}

const sunCache = new Map<string, { sunrise: number | null; sunset: number | null }>();

function sunTimes(noon: number, lat: number, lon: number): { sunrise: number | null; sunset: number | null } {
  const key = `${lat},${lon},${noon}`;
  let v = sunCache.get(key);
  if (v === undefined) {
    const times = getTimes(new Date(noon), lat, lon);
    // suncalc 1.x reports polar day/night as Invalid Date, 2.x as null.
    const ms = (d: Date | null | undefined): number | null => {
      const n = d instanceof Date ? d.getTime() : NaN;
      return Number.isFinite(n) ? n : null;
    };
    v = { sunrise: ms(times.sunrise), sunset: ms(times.sunset) };
    if (sunCache.size > 10_000) sunCache.clear();
    sunCache.set(key, v);
  }
  return v;
}

/** The instant of `t` on local day `day`, or null when it does not occur that day (polar day/night). */
function instantOf(t: TimeOfDay, day: number, c: Compiled): number | null {
  if (!isSun(t)) return wallToInstant(day * DAY + t.minutes * 60_000, c.zone);
  const loc = c.location;
  if (loc === null) throw new Error('A schedule window uses sunrise/sunset, so a location (latitude and longitude) is needed');
  const noon = wallToInstant(day * DAY + 12 * HOUR, c.zone);
  const sun = sunTimes(noon, loc.latitude, loc.longitude)[t.kind];
  return sun === null ? null : sun + t.offsetMs;
}

function weekdayOf(day: number): Weekday {
  return WEEKDAY_OF_DAY_MOD_7[mod(day, 7)] as Weekday;
}

/** Non-empty intervals of the windows starting on local day `day`, in window order. */
function intervalsForDay(day: number, windows: WindowSpec[], c: Compiled): Interval[] {
  const out: Interval[] = [];
  const weekday = weekdayOf(day);
  for (const w of windows) {
    if (!w.days.includes(weekday)) continue;
    const start = instantOf(w.from, day, c);
    if (start === null) continue;
    let end: number | null;
    if (w.from.kind === 'clock' && w.to.kind === 'clock') {
      // Compare wall times, not instants: 02:30–02:45 on a spring-forward day
      // collapses to an empty window rather than turning into a 24h one.
      end = instantOf(w.to, w.to.minutes <= w.from.minutes ? day + 1 : day, c);
    } else {
      end = instantOf(w.to, day, c);
      if (end !== null && end <= start) end = instantOf(w.to, day + 1, c);
    }
    if (end === null || end <= start) continue;
    out.push({ start, end });
  }
  return out;
}

/** A local day early enough that no earlier day's windows reach instant `t`. */
function firstDay(t: number, c: Compiled): number {
  return Math.floor((t - c.reach) / DAY);
}
/** True when every window of local day `day` (and of later days) starts after instant `t`. */
function dayStartsAfter(day: number, t: number, c: Compiled): boolean {
  return day * DAY - c.lead > t;
}

interface Hit {
  slot: number;
  /** The slot's window goes on (exclusive) to here: later aligned instants before it are slots too. */
  coverEnd: number;
}

/** Smallest slot in (after, until], with the end of a window holding it. */
function firstSlot(after: number, until: number, c: Compiled): Hit | null {
  const from = after + 1;
  if (c.windows === null) {
    const s = alignedAtOrAfter(from, c.everyMs, c.zone);
    return s <= until ? { slot: s, coverEnd: Infinity } : null;
  }
  let best: Hit | null = null;
  // Windows of one day can overlap those of neighbouring days, so the first
  // slot of each interval is computed and the smallest wins (a union without merging).
  for (let day = firstDay(from, c); !dayStartsAfter(day, best?.slot ?? until, c); day++) {
    for (const iv of intervalsForDay(day, c.windows, c)) {
      if (iv.end <= from) continue;
      const lo = Math.max(iv.start, from);
      if (lo > until || (best !== null && lo > best.slot)) continue;
      const s = alignedAtOrAfter(lo, c.everyMs, c.zone);
      if (s >= iv.end || s > until) continue;
      if (best === null || s < best.slot) best = { slot: s, coverEnd: iv.end };
      else if (s === best.slot && iv.end > best.coverEnd) best.coverEnd = iv.end;
    }
  }
  return best;
}

/** Searches look a few weeks past their input; this keeps every probe a valid Date. */
const MAX_INSTANT = 8.64e15 - 60 * DAY;

function instantMs(d: Date, name: string): number {
  const t = d instanceof Date ? d.getTime() : NaN;
  if (!Number.isFinite(t) || Math.abs(t) > MAX_INSTANT) throw new RangeError(`${name} is not a valid date`);
  return t;
}

// ---------------------------------------------------------------------------
// Public API

/**
 * The smallest slot instant strictly after `after`, or null when there is none
 * within the next 14 days (NEXT_SLOT_HORIZON_MS). A slot is an instant whose
 * local wall-clock time in `ctx.timezone`, in ms since that local date's
 * midnight, is a multiple of `spec.everyMs`, and which lies in one of the
 * schedule's windows (if any). Non-existent wall times give no slot; repeated
 * ones give a slot in each occurrence. Long empty stretches are skipped, not
 * walked slot by slot.
 * @throws when the spec or context is invalid, e.g. a sun window without a location.
 */
export function nextSlot(after: Date, spec: ScheduleSpec, ctx: SlotContext): Date | null {
  const t = instantMs(after, 'after');
  const hit = firstSlot(t, t + NEXT_SLOT_HORIZON_MS, compile(spec, ctx));
  return hit === null ? null : new Date(hit.slot);
}

/**
 * True exactly when `t` (to the millisecond) is a slot instant as defined for
 * nextSlot; consistent with nextSlot and slotsBetween. An invalid date is never a slot.
 * @throws when the spec or context is invalid.
 */
export function isSlot(t: Date, spec: ScheduleSpec, ctx: SlotContext): boolean {
  const c = compile(spec, ctx);
  const ms = t instanceof Date ? t.getTime() : NaN;
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_INSTANT || !isAligned(ms, c.everyMs, c.zone)) return false;
  if (c.windows === null) return true;
  for (let day = firstDay(ms, c); !dayStartsAfter(day, ms, c); day++) {
    if (intervalsForDay(day, c.windows, c).some((iv) => iv.start <= ms && ms < iv.end)) return true;
  }
  return false;
}

/**
 * The slot instants in [from, to), ascending and without duplicates, at most
 * `limit` of them (the first ones). Unlike nextSlot there is no look-ahead
 * limit: the whole range is searched.
 * @throws when the spec or context is invalid.
 */
export function slotsBetween(
  from: Date,
  to: Date,
  spec: ScheduleSpec,
  ctx: SlotContext,
  limit: number = DEFAULT_SLOT_LIMIT,
): Date[] {
  const c = compile(spec, ctx);
  const toMs = instantMs(to, 'to');
  const out: Date[] = [];
  let cursor = instantMs(from, 'from') - 1;
  while (out.length < limit) {
    const hit = firstSlot(cursor, toMs - 1, c);
    if (hit === null) break;
    out.push(new Date(hit.slot));
    cursor = hit.slot;
    // Within the same window every aligned instant is a slot; no need to search windows again.
    const end = Math.min(hit.coverEnd, toMs);
    while (out.length < limit) {
      const s = alignedAtOrAfter(cursor + 1, c.everyMs, c.zone);
      if (s >= end) break;
      out.push(new Date(s));
      cursor = s;
    }
  }
  return out;
}

/**
 * How many slot instants lie in [from, to): slotsBetween(from, to).length, without
 * making them (a day at one second is 86,400 slots; a coverage calendar counts a
 * month of them). Counted by arithmetic over stretches of one local day and one UTC
 * offset, inside the windows merged where they overlap.
 * @throws when the spec or context is invalid.
 */
export function countSlots(from: Date, to: Date, spec: ScheduleSpec, ctx: SlotContext): number {
  const c = compile(spec, ctx);
  const lo = instantMs(from, 'from');
  const hi = instantMs(to, 'to');
  if (hi <= lo) return 0;
  if (c.windows === null) return countAligned(lo, hi, c.everyMs, c.zone);
  const intervals: Interval[] = [];
  for (let day = firstDay(lo, c); !dayStartsAfter(day, hi, c); day++) {
    for (const iv of intervalsForDay(day, c.windows, c)) {
      const start = Math.max(iv.start, lo);
      const end = Math.min(iv.end, hi);
      if (end > start) intervals.push({ start, end });
    }
  }
  intervals.sort((a, b) => a.start - b.start);
  let n = 0;
  let open: Interval | null = null;
  for (const iv of intervals) {
    if (open && iv.start <= open.end) open.end = Math.max(open.end, iv.end);
    else {
      if (open) n += countAligned(open.start, open.end, c.everyMs, c.zone);
      open = { ...iv };
    }
  }
  if (open) n += countAligned(open.start, open.end, c.everyMs, c.zone);
  return n;
}

/** Aligned instants in [from, to), stretch by stretch: each within one local day and one offset. */
function countAligned(from: number, to: number, everyMs: number, z: ZoneOffsets): number {
  let n = 0;
  for (let t = from; t < to; ) {
    const o = z.at(t);
    const wall = t + o;
    const dayStart = wall - mod(wall, DAY);
    let end = Math.min(to, dayStart + DAY - o);
    if (z.at(end - 1) !== o) end = z.transitionBetween(t, end - 1);
    // Walls [wall, end + o) of the day that starts at dayStart: its multiples of everyMs.
    const first = Math.ceil((wall - dayStart) / everyMs);
    const last = Math.ceil((end + o - dayStart) / everyMs) - 1;
    if (last >= first) n += last - first + 1;
    t = end;
  }
  return n;
}

/**
 * The intervals, as UTC instants (start inclusive, end exclusive), of the
 * windows that start on local date `isoDate` (YYYY-MM-DD) in ctx.timezone,
 * sorted by start. A window whose end is not after its start in wall time
 * wraps and ends on the next local date. Windows not listed for that weekday,
 * empty ones, and sun windows without sunrise/sunset that day are left out.
 * Without windows the answer is the whole local day.
 * @throws on a malformed date or an invalid spec/context.
 */
export function windowIntervals(isoDate: string, spec: ScheduleSpec, ctx: SlotContext): Array<{ start: Date; end: Date }> {
  const c = compile(spec, ctx);
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  const utc = m === null ? NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (!Number.isFinite(utc) || new Date(utc).toISOString().slice(0, 10) !== isoDate) {
    throw new RangeError(`Expected a date as YYYY-MM-DD, got "${isoDate}"`);
  }
  const day = utc / DAY;
  const intervals =
    c.windows === null
      ? [{ start: wallToInstant(day * DAY, c.zone), end: wallToInstant((day + 1) * DAY, c.zone) }]
      : intervalsForDay(day, c.windows, c).sort((a, b) => a.start - b.start);
  return intervals.map((iv) => ({ start: new Date(iv.start), end: new Date(iv.end) }));
}

/** The configuration spelling of a time of day: "07:00", "24:00", "sunrise", "sunrise-30m", "sunset+1h30m". */
export function formatTimeOfDay(t: TimeOfDay): string {
  if (isSun(t)) {
    if (t.offsetMs === 0) return t.kind;
    return `${t.kind}${t.offsetMs < 0 ? '-' : '+'}${formatDuration(Math.abs(t.offsetMs))}`;
  }
  const h = Math.floor(t.minutes / 60);
  const min = t.minutes - h * 60;
  return `${String(h).padStart(2, '0')}:${String(min).padStart(2, '0')}`;
}
