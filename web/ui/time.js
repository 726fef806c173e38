// Dates and times in the appliance's time zone (the pictures' day folders are
// local days there), falling back to the browser's when the API does not say, and in
// the page's language ("5 déc. 2026, 14:05" in French), always on a 24-hour clock.
import { locale, t } from './i18n.js';

let zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
const cache = new Map();

export function setTimeZone(tz) {
  if (!tz) return;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    zone = tz;
    cache.clear();
  } catch {
    /* unknown zone: keep the browser's */
  }
}

export const timeZone = () => zone;

function format(key, options) {
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { timeZone: zone, ...options });
    cache.set(key, f);
  }
  return f;
}

const toDate = (value) => (value instanceof Date ? value : new Date(value));

export const dateTime = (iso) => (iso ? format('dt', { dateStyle: 'medium', timeStyle: 'medium', hourCycle: 'h23' }).format(toDate(iso)) : '–');
export const shortDateTime = (iso) => (iso ? format('sdt', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(toDate(iso)) : '–');
/** "13 Dec 2026, 14:05": an expiry, a creation. */
export const dateMinutes = (iso) => (iso ? format('dm2', { dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' }).format(toDate(iso)) : '–');
export const time = (iso) => (iso ? format('t', { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(toDate(iso)) : '–');

/** "14:00" and "24 Nov": chart ticks. */
export const hourMinute = (iso) => format('hm', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(toDate(iso));
export const dayMonth = (iso) => format('dm', { day: 'numeric', month: 'short' }).format(toDate(iso));

/** A local day "YYYY-MM-DD" as the API gives it, shown without any time zone shift. */
export function day(date, style = 'full') {
  const [y, m, d] = date.split('-').map(Number);
  return new Intl.DateTimeFormat(locale, { timeZone: 'UTC', dateStyle: style }).format(new Date(Date.UTC(y, m - 1, d, 12)));
}

export function monthTitle(year, month) {
  return new Intl.DateTimeFormat(locale, { timeZone: 'UTC', month: 'long', year: 'numeric' }).format(new Date(Date.UTC(year, month - 1, 1, 12)));
}

/** The wall-clock parts of an instant in the zone. */
export function parts(iso) {
  const out = {};
  for (const p of format('parts', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(toDate(iso))) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  if (out.hour === 24) out.hour = 0;
  return out;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** "YYYY-MM-DDTHH:MM" for a datetime-local input, in the zone. */
export function wallClock(iso) {
  const p = parts(iso);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

/** A datetime-local value read as wall-clock time in the zone, to an ISO instant. */
export function fromWallClock(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  const offset = (ms) => {
    const p = parts(ms);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
  };
  let ms = guess - offset(guess);
  const second = offset(ms);
  if (guess - second !== ms) ms = guess - second;
  return new Date(ms).toISOString();
}

/** "5 min ago", "in 3 s"; "il y a 5 min", "dans 3 s". */
export function relative(iso, now = Date.now()) {
  if (!iso) return '–';
  const s = Math.round((toDate(iso).getTime() - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 2) return t('time.justNow');
  const past = s < 0;
  if (abs < 60) return past ? t('time.secondsAgo', { n: abs }) : t('time.inSeconds', { n: abs });
  if (abs < 3600) return past ? t('time.minutesAgo', { n: Math.round(abs / 60) }) : t('time.inMinutes', { n: Math.round(abs / 60) });
  if (abs < 86400) return past ? t('time.hoursAgo', { n: Math.round(abs / 3600) }) : t('time.inHours', { n: Math.round(abs / 3600) });
  return past ? t('time.daysAgo', { n: Math.round(abs / 86400) }) : t('time.inDays', { n: Math.round(abs / 86400) });
}

/** "42 s", "3 min 05 s". */
export function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000);
  return s < 60 ? t('time.seconds', { s }) : t('time.minutesSeconds', { min: Math.floor(s / 60), s: pad(s % 60) });
}
