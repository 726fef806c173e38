/**
 * Durations in the configuration are strings: `500ms`, `10s`, `5m`, `2h`, `1d`,
 * or a sum of parts, largest first: `1h30m`, `2m30s`.
 */
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER: Unit[] = ['d', 'h', 'm', 's', 'ms'];
const PART = /(\d+)(ms|d|h|m|s)/y;

/** Parses a duration string; returns null when the text is not one. */
export function parseDuration(text: string): number | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > 40) return null;
  PART.lastIndex = 0;
  let total = 0;
  let lastRank = -1;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const match = PART.exec(text);
    if (!match || match.index !== start) return null;
    const rank = ORDER.indexOf(match[2] as Unit);
    if (rank <= lastRank) return null; // each unit once, largest first
    lastRank = rank;
    total += Number(match[1]) * UNIT_MS[match[2] as Unit];
  }
  return Number.isSafeInteger(total) ? total : null;
}

/** Formats milliseconds back to the shortest duration string (`90000` → `1m30s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ORDER) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_MS[unit];
    }
  }
  return out;
}
