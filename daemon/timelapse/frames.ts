/**
 * Which pictures make a video, and which period a scheduled video covers. Pure:
 * no database, no files, no clock; times are epoch milliseconds and every local
 * notion (day, time of day, weekday) is taken in the appliance time zone, so
 * 23- and 25-hour days come out right.
 */
import { DateTime, IANAZone } from 'luxon';
import type { Weekday } from '../domain/schedule';
import { say, type Say } from '../i18n/say';

export interface FrameCandidate {
  id: number;
  takenAt: number;
}

export interface FrameFilter {
  /** First instant included. */
  from: number;
  /** First instant excluded. */
  to: number;
  timezone: string;
  /** Daily keep-window on the local clock, "HH:MM"; `keepTo` before `keepFrom` wraps past midnight. */
  keepFrom?: string | undefined;
  keepTo?: string | undefined;
  /** Only these local weekdays; all when absent. */
  weekdays?: readonly Weekday[] | undefined;
  /** At least this long between two kept frames (the first of a run is kept). */
  minIntervalMs?: number | undefined;
  /** At most this many frames: the selection is thinned evenly, first and last kept. */
  maxFrames?: number | undefined;
}

export interface Selection<T> {
  frames: T[];
  /** Frames the period and filters allowed before `maxFrames` thinned them. */
  matched: number;
}

/** Longest period a custom video may cover: a year, leap day included. */
export const MAX_PERIOD_DAYS = 366;
/** Most frames one video is built from (20 minutes at 25 fps); more are thinned. */
export const MAX_FRAMES = 30_000;

const WEEKDAY_NUMBER: Record<Weekday, number> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };

export function minutesOfDay(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/** The frames of a video, in time order, from candidates in any order. */
export function selectFrames<T extends FrameCandidate>(candidates: readonly T[], filter: FrameFilter): Selection<T> {
  const zone = IANAZone.create(filter.timezone);
  const keep = filter.keepFrom !== undefined || filter.keepTo !== undefined ? { from: minutesOfDay(filter.keepFrom ?? '00:00'), to: minutesOfDay(filter.keepTo ?? '00:00') } : null;
  const days = filter.weekdays && filter.weekdays.length < 7 ? new Set(filter.weekdays.map((d) => WEEKDAY_NUMBER[d])) : null;
  const sorted = candidates.filter((c) => c.takenAt >= filter.from && c.takenAt < filter.to).sort((a, b) => a.takenAt - b.takenAt || a.id - b.id);
  const kept: T[] = [];
  let last = -Infinity;
  for (const c of sorted) {
    if (keep || days) {
      // The local wall clock of the instant: UTC shifted by the zone's offset at that instant.
      const local = c.takenAt + zone.offset(c.takenAt) * 60_000;
      const minute = Math.floor(local / 60_000) % 1440;
      if (keep && !inWindow(minute, keep.from, keep.to)) continue;
      // 1970-01-01 was a Thursday (4).
      if (days && !days.has(((Math.floor(local / 86_400_000) + 3) % 7) + 1)) continue;
    }
    if (filter.minIntervalMs && c.takenAt - last < filter.minIntervalMs) continue;
    kept.push(c);
    last = c.takenAt;
  }
  return { frames: filter.maxFrames !== undefined ? thin(kept, filter.maxFrames) : kept, matched: kept.length };
}

/** keepFrom inclusive, keepTo exclusive; equal bounds mean the whole day. */
function inWindow(minute: number, from: number, to: number): boolean {
  if (from === to) return true;
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}

/** `max` items spread evenly over the list, the first and the last among them. */
export function thin<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  if (max <= 0) return [];
  if (max === 1) return [items[0]!];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(items[Math.round((i * (items.length - 1)) / (max - 1))]!);
  return out;
}

export type PeriodKind = 'daily' | 'weekly' | 'monthly';

export interface Period {
  kind: PeriodKind;
  /** `2026-11-22`, `2026-W47`, `2026-10`: names the file and tells one period from another. */
  label: string;
  from: number;
  to: number;
}

/**
 * The latest period of a kind whose video is due at `now`: the day, ISO week or
 * month that ended before the last `at` (local time) on a day the kind is built
 * (every day, Mondays, the 1st).
 */
export function duePeriod(kind: PeriodKind, now: number, at: string, timezone: string): Period {
  const local = DateTime.fromMillis(now, { zone: timezone });
  const unit = kind === 'daily' ? 'day' : kind === 'weekly' ? 'week' : 'month';
  let start = local.startOf(unit); // luxon weeks start on Monday
  const minutes = minutesOfDay(at);
  const due = start.set({ hour: Math.floor(minutes / 60), minute: minutes % 60 });
  if (local < due) start = start.minus({ [unit]: 1 });
  return periodStarting(kind, start.minus({ [unit]: 1 }));
}

export function periodStarting(kind: PeriodKind, start: DateTime): Period {
  const unit = kind === 'daily' ? 'day' : kind === 'weekly' ? 'week' : 'month';
  const end = start.plus({ [unit]: 1 });
  const label = kind === 'daily' ? start.toISODate()! : kind === 'weekly' ? start.toFormat("kkkk-'W'WW") : start.toFormat('yyyy-LL');
  return { kind, label, from: start.toMillis(), to: end.toMillis() };
}

/** The period a scheduled video's label names (`2026-11-22`, `2026-W47`, `2026-11`), or null. */
export function periodOfLabel(kind: PeriodKind, label: string, timezone: string): Period | null {
  const start =
    kind === 'daily'
      ? DateTime.fromFormat(label, 'yyyy-LL-dd', { zone: timezone })
      : kind === 'weekly'
        ? DateTime.fromFormat(label, "kkkk-'W'WW", { zone: timezone })
        : DateTime.fromFormat(label, 'yyyy-LL', { zone: timezone });
  return start.isValid ? periodStarting(kind, start) : null;
}

export class PeriodError extends Error {
  override readonly name = 'PeriodError';
  constructor(
    readonly field: string,
    message: string,
    /** The message in catalog words, for the custom film form. */
    readonly say: Say,
  ) {
    super(message);
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A custom period from what a person typed: dates (`2026-03-01`, local days, `to`
 * included) or ISO instants (`2026-03-01T08:00:00+01:00`, `to` excluded).
 * Throws PeriodError naming the field.
 */
export function parsePeriod(fromText: string, toText: string, timezone: string): { from: number; to: number } {
  const parse = (text: string, field: 'from' | 'to'): number => {
    const isDate = DATE.test(text);
    const t = isDate ? DateTime.fromISO(text, { zone: timezone }) : DateTime.fromISO(text, { zone: timezone, setZone: false });
    if (!t.isValid) {
      // An emptied date field says so plainly.
      throw new PeriodError(field, `expected a date "YYYY-MM-DD" or a date and time "YYYY-MM-DDTHH:MM", got "${text}"`, text.trim() === '' ? say('apiError.film.dateMissing') : say('apiError.film.badDate', { text }));
    }
    return (isDate && field === 'to' ? t.plus({ days: 1 }) : t).toMillis();
  };
  const from = parse(fromText, 'from');
  const to = parse(toText, 'to');
  if (to <= from) throw new PeriodError('to', `"to" (${toText}) must come after "from" (${fromText})`, say('apiError.film.toBeforeFrom', { from: fromText, to: toText }));
  if (to - from > MAX_PERIOD_DAYS * 86_400_000 + 3_600_000) {
    const days = Math.round((to - from) / 86_400_000);
    throw new PeriodError(
      'to',
      `a video covers at most ${MAX_PERIOD_DAYS} days; ${fromText} to ${toText} is ${days} days (build one per year, or use minInterval)`,
      say('apiError.film.tooLong', { max: MAX_PERIOD_DAYS, from: fromText, to: toText, days }),
    );
  }
  return { from, to };
}
