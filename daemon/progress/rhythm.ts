/**
 * When progress e-mails are due (pure): daily or weekly at a local time of
 * `appliance.timezone`, across daylight-saving changes, and what to do with a slot
 * that passed while the box was off. No I/O: the service asks and acts.
 */
import { DateTime, type WeekdayNumbers } from 'luxon';
import type { ProgressConfig } from '../config/schema';
import type { Weekday } from '../domain/schedule';

export const WEEKDAY_NUMBER: Record<Weekday, WeekdayNumbers> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };
const DAY_MS = 86_400_000;

/**
 * A slot missed while the box was off (or the daemon stopped) is still sent when the
 * daemon starts within this long after it: a box restarted in the morning sends the
 * 08:00 e-mail late rather than not at all. Later than that, the e-mail would arrive at
 * an odd hour with news that is no longer the period's: it is skipped, with the reason
 * on the System page, and the next slot is kept. Only the newest slot is ever looked
 * at, so a box that was off for weeks sends nothing in a burst.
 */
export const MISSED_GRACE_MS = 12 * 3_600_000;

export interface Rhythm {
  every: 'day' | 'week';
  /** The day of a weekly e-mail. */
  day: Weekday;
  /** Local "HH:MM". */
  at: string;
}

export function rhythmOf(progress: Pick<ProgressConfig, 'every' | 'day' | 'at'>): Rhythm {
  return { every: progress.every, day: progress.day ?? 'mon', at: progress.at };
}

/** The rhythm as one string (`day@08:00`, `week:mon@08:00`): a change of it restarts the rhythm. */
export function rhythmKey(rhythm: Rhythm): string {
  return rhythm.every === 'day' ? `day@${rhythm.at}` : `week:${rhythm.day}@${rhythm.at}`;
}

/** The nominal length of a period: a day or a week (for link lifetimes and "since" dates). */
export function periodMs(rhythm: Rhythm): number {
  return rhythm.every === 'day' ? DAY_MS : 7 * DAY_MS;
}


/**
 * The instant of the slot on a local date. A time that does not exist that day (the hour
 * skipped when clocks go forward) is taken as the same wall-clock time after the jump,
 * an hour later; a time that happens twice (clocks go back) is its second occurrence, in
 * standard time. Either way the day has one slot.
 */
function slotOn(date: DateTime, at: string): DateTime {
  const [hour, minute] = at.split(':').map(Number) as [number, number];
  return DateTime.fromObject({ year: date.year, month: date.month, day: date.day, hour, minute }, { zone: date.zone });
}

/** The day of the slot in the week of `local` (ISO weeks: Monday to Sunday), or that day for a daily rhythm. */
function slotDay(local: DateTime, rhythm: Rhythm): DateTime {
  return rhythm.every === 'day' ? local : local.set({ weekday: WEEKDAY_NUMBER[rhythm.day] });
}

function step(rhythm: Rhythm): { days: number } {
  return { days: rhythm.every === 'day' ? 1 : 7 };
}

/** The newest slot at or before `now` (ms). */
export function slotAtOrBefore(now: number, rhythm: Rhythm, timezone: string): number {
  const local = DateTime.fromMillis(now, { zone: timezone });
  const day = slotDay(local, rhythm);
  const slot = slotOn(day, rhythm.at);
  return (slot.toMillis() <= now ? slot : slotOn(day.minus(step(rhythm)), rhythm.at)).toMillis();
}

/** The first slot after `now` (ms). */
export function slotAfter(now: number, rhythm: Rhythm, timezone: string): number {
  const local = DateTime.fromMillis(now, { zone: timezone });
  const day = slotDay(local, rhythm);
  const slot = slotOn(day, rhythm.at);
  return (slot.toMillis() > now ? slot : slotOn(day.plus(step(rhythm)), rhythm.at)).toMillis();
}

export type SlotDecision =
  /** Queue the e-mail of `slot` now. */
  | { kind: 'due'; slot: number }
  /** The slot passed more than MISSED_GRACE_MS ago without its e-mail: note it as skipped. */
  | { kind: 'missed'; slot: number }
  | { kind: 'none' };

/**
 * What to do now about a source's rhythm. `lastSlot` is the newest slot already queued
 * (or noted missed); `since` is when the rhythm, as it is now, was first seen: a slot
 * before it belongs to an earlier rhythm (or to none) and is never sent late.
 */
export function decide(now: number, rhythm: Rhythm, timezone: string, state: { lastSlot: number | null; since: number }): SlotDecision {
  const slot = slotAtOrBefore(now, rhythm, timezone);
  if (slot < state.since) return { kind: 'none' };
  if (state.lastSlot !== null && slot <= state.lastSlot) return { kind: 'none' };
  return now - slot > MISSED_GRACE_MS ? { kind: 'missed', slot } : { kind: 'due', slot };
}
