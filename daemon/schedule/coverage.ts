/**
 * Coverage (issue 25): each day's pictures against the slots the schedule in force
 * that day planned (counted by the schedule's own functions), and why slots got no
 * picture: the camera failed, the disk was full, the previous capture still ran, the
 * daemon was late, the box (or the daemon) was off. A day with no slot planned says
 * whether the source was disabled or the day is outside its windows.
 *
 * What it reads is recorded as it happens (store/coverage.repository.ts): the
 * schedules over time, the runs of missed slots, the daemon's runs. Days before the
 * box recorded them (an upgrade) are counted with the first schedule known, and their
 * unexplained gaps say so.
 */
import { DateTime } from 'luxon';
import type { CoverageRepository, GapKind, ScheduleEntry } from '../store/coverage.repository';
import { countSlots, windowIntervals, type ScheduleSpec, type SlotContext } from './slots';

/** Why slots of a day got no usable picture. */
export type GapReason = GapKind | 'off' | 'rejected' | 'purged' | 'unknown';

export interface CoverageGap {
  reason: GapReason;
  /** The stretch it covers, when known (ms); null for counts without times (rejected, purged, unknown). */
  from: number | null;
  to: number | null;
  slots: number;
  /** The camera's error, for `camera`. */
  message: string | null;
}

export type DayState =
  /** After today. */
  | 'future'
  /** Before the source's first picture or schedule. */
  | 'before'
  /** No slot planned: disabled, or outside its windows. */
  | 'unplanned'
  /** Every slot (98 % or more) has its picture. */
  | 'complete'
  | 'partial'
  /** Slots planned, no picture. */
  | 'missed'
  /** Pictures, but no schedule known for the day. */
  | 'unknown';

export interface CoverageDay {
  date: string;
  state: DayState;
  /** Slots planned (up to now, today). */
  expected: number;
  /** Usable pictures of the day, slots or not. */
  pictures: number;
  /** pictures / expected, at most 1; null when no slot was planned. */
  ratio: number | null;
  /** Why no slot was planned (`unplanned`): the source was disabled, or the day is outside its windows. */
  unplanned: 'disabled' | 'outside-windows' | null;
  /** The windows of the day (ms), when the schedule has windows. */
  windows: { from: number; to: number }[];
  gaps: CoverageGap[];
  /** Counted with the first schedule the box recorded: the day is older than its record (an upgrade). */
  estimated: boolean;
}

export interface CoverageInputs {
  coverage: Pick<CoverageRepository, 'schedules' | 'firstSchedule' | 'gaps' | 'runs' | 'firstRun'>;
  /** When the source's first picture was taken, or null. */
  firstPictureAt: (sourceId: string) => number | null;
  /** Usable pictures per local day. */
  pictureDays: (sourceId: string) => { date: string; count: number }[];
  /** Pictures kept but left out (too dark...) per local day of [from, to]. */
  rejectedDays: (sourceId: string, from: string, to: string) => Map<string, number>;
  /** Pictures of a day that retention deleted. */
  purged: (sourceId: string, date: string) => number;
  /** When this daemon's run started (it is alive until now), or null (a stopped box). */
  runStartedAt: () => number | null;
}

const COMPLETE = 0.98;
const DAY_MAX = 62;

export class CoverageCalculator {
  readonly #in: CoverageInputs;

  constructor(inputs: CoverageInputs) {
    this.#in = inputs;
  }

  /** The days from `from` to `to` (local dates, both included, at most 62 of them) of a source. */
  days(sourceId: string, from: string, to: string, ctx: SlotContext, now: number): CoverageDay[] {
    const zone = ctx.timezone;
    const first = DateTime.fromISO(from, { zone }).startOf('day');
    const last = DateTime.fromISO(to, { zone }).startOf('day');
    if (!first.isValid || !last.isValid || last < first) throw new RangeError(`bad period ${from} to ${to}`);
    const count = Math.round(last.diff(first, 'days').days) + 1;
    if (count > DAY_MAX) throw new RangeError(`at most ${DAY_MAX} days at once, asked for ${count}`);
    const pictures = new Map(this.#in.pictureDays(sourceId).map((d) => [d.date, d.count]));
    const rejected = this.#in.rejectedDays(sourceId, from, to);
    const periodStart = first.toMillis();
    const periodEnd = last.plus({ days: 1 }).toMillis();
    const entries = this.#in.coverage.schedules(sourceId, periodStart, periodEnd);
    const firstEntry = this.#in.coverage.firstSchedule(sourceId);
    const origin = this.#in.firstPictureAt(sourceId);
    const firstRun = this.#in.coverage.firstRun();
    const runs = this.#in.coverage.runs(periodStart, periodEnd);
    const gapRuns = this.#in.coverage.gaps(sourceId, periodStart, periodEnd);
    const today = DateTime.fromMillis(now, { zone }).toISODate()!;
    const out: CoverageDay[] = [];
    for (let d = first; d <= last; d = d.plus({ days: 1 })) {
      const date = d.toISODate()!;
      const start = d.toMillis();
      const end = Math.min(d.plus({ days: 1 }).toMillis(), now);
      const n = pictures.get(date) ?? 0;
      const base = { date, expected: 0, pictures: n, ratio: null, unplanned: null, windows: [], gaps: [], estimated: false };
      if (date > today) {
        out.push({ ...base, state: 'future' });
        continue;
      }
      const pieces = schedulePieces(entries, start, end);
      // Before the box recorded its schedules (it was upgraded): the first one known, from the first picture on.
      let estimated = false;
      if (firstEntry && origin !== null && start < firstEntry.since) {
        const a = Math.max(start, origin);
        const b = Math.min(end, firstEntry.since);
        if (b > a) {
          pieces.unshift({ from: a, to: b, spec: firstEntry.schedule });
          estimated = true;
        }
      }
      if (pieces.length === 0) {
        out.push({ ...base, state: n === 0 ? 'before' : 'unknown' });
        continue;
      }
      const expected = slotsIn(pieces, start, end, ctx);
      const windows = windowsOf(date, pieces, ctx);
      if (expected === 0) {
        out.push({ ...base, state: 'unplanned', unplanned: pieces.every((p) => p.spec === null) ? 'disabled' : 'outside-windows', windows, estimated });
        continue;
      }
      const gaps: CoverageGap[] = [];
      let explained = 0;
      // Runs of missed slots the daemon recorded, clipped to the day.
      for (const g of gapRuns) {
        if (g.lastAt < start || g.firstAt >= end) continue;
        const from = Math.max(g.firstAt, start);
        const to = Math.min(g.lastAt + 1, end);
        // A run across midnight: its share of the day, by the slots planned on each side, and never more than the day planned there.
        const here = slotsIn(pieces, from, to, ctx);
        const slots = from === g.firstAt && to === g.lastAt + 1 ? g.slots : Math.min(here, Math.round((g.slots * here) / Math.max(1, slotsIn(schedulePieces(entries, g.firstAt, g.lastAt + 1), g.firstAt, g.lastAt + 1, ctx))));
        if (slots <= 0) continue;
        gaps.push({ reason: g.kind, from, to, slots, message: g.message });
        explained += slots;
      }
      // Stretches with no daemon running, since the box first recorded its runs.
      if (firstRun !== null) {
        for (const off of offStretches(runs, Math.max(start, firstRun), end, this.#in.runStartedAt(), now)) {
          const slots = slotsIn(pieces, off.from, off.to, ctx);
          if (slots <= 0) continue;
          gaps.push({ reason: 'off', from: off.from, to: off.to, slots, message: null });
          explained += slots;
        }
      }
      const bad = rejected.get(date) ?? 0;
      if (bad > 0) {
        gaps.push({ reason: 'rejected', from: null, to: null, slots: bad, message: null });
        explained += bad;
      }
      const purged = this.#in.purged(sourceId, date);
      if (purged > 0) {
        gaps.push({ reason: 'purged', from: null, to: null, slots: purged, message: null });
        explained += purged;
      }
      const unexplained = expected - n - explained;
      // Slots before the box recorded its runs, or whatever else took a slot's picture away.
      if (unexplained > 0 && (firstRun === null || start < firstRun)) gaps.push({ reason: 'unknown', from: null, to: null, slots: unexplained, message: null });
      gaps.sort((a, b) => (a.from ?? Infinity) - (b.from ?? Infinity));
      const ratio = Math.min(1, n / expected);
      out.push({ ...base, expected, ratio: Math.round(ratio * 1000) / 1000, windows, gaps, estimated, state: n === 0 ? 'missed' : ratio >= COMPLETE ? 'complete' : 'partial' });
    }
    return out;
  }
}

interface Piece {
  from: number;
  to: number;
  spec: ScheduleSpec | null;
}

/** The schedule in force over each part of [from, to); nothing before the first entry. */
function schedulePieces(entries: readonly ScheduleEntry[], from: number, to: number): Piece[] {
  const out: Piece[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const a = Math.max(from, e.since);
    const b = Math.min(to, entries[i + 1]?.since ?? Infinity);
    if (b > a) out.push({ from: a, to: b, spec: e.schedule });
  }
  return out;
}

/** Slots of the pieces inside [from, to). */
function slotsIn(pieces: readonly Piece[], from: number, to: number, ctx: SlotContext): number {
  let n = 0;
  for (const p of pieces) {
    const a = Math.max(p.from, from);
    const b = Math.min(p.to, to);
    if (b > a && p.spec) n += countSlots(new Date(a), new Date(b), p.spec, ctx);
  }
  return n;
}

/** The windows of a local day under the schedules in force that day, clipped to their pieces. */
function windowsOf(date: string, pieces: readonly Piece[], ctx: SlotContext): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  for (const p of pieces) {
    if (!p.spec || !p.spec.windows || p.spec.windows.length === 0) continue;
    for (const w of windowIntervals(date, p.spec, ctx)) {
      const a = Math.max(w.start.getTime(), p.from);
      const b = Math.min(w.end.getTime(), p.to);
      if (b > a) out.push({ from: a, to: b });
    }
  }
  return out;
}

/** The stretches of [from, to) in no run of the daemon; the current run is alive until now. */
export function offStretches(runs: readonly { startedAt: number; aliveAt: number; stoppedAt: number | null }[], from: number, to: number, currentStart: number | null, now: number): { from: number; to: number }[] {
  // A run covers its start to its stop (or last heartbeat) included: the box was seen alive then.
  const covered = runs
    .map((r) => ({ from: r.startedAt, to: r.startedAt === currentStart ? now : (r.stoppedAt ?? r.aliveAt) + 1 }))
    .sort((a, b) => a.from - b.from);
  const out: { from: number; to: number }[] = [];
  let cursor = from;
  for (const c of covered) {
    if (c.to <= cursor) continue;
    if (c.from > cursor) out.push({ from: cursor, to: Math.min(c.from, to) });
    cursor = Math.max(cursor, c.to);
    if (cursor >= to) break;
  }
  if (cursor < to) out.push({ from: cursor, to });
  return out.filter((s) => s.to > s.from);
}
