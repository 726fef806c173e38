/**
 * What every notification channel sends: one message about an alert (raised,
 * reminded, recovered), a notice, or a daily report. The message is made once,
 * stored as JSON until delivered, and sent as it is (webhook) or as mail text,
 * so that it says the same thing whenever and wherever it arrives.
 *
 * Its title and text are written when it is made, in the box's language
 * (`appliance.locale`, recorded as `lang`); the words a mail adds around them
 * (RAISED, "3 alerts: ...") are the message's language too. Times are written in
 * the appliance's zone, the way the language writes them.
 */
import { DateTime } from 'luxon';
import type { AlertMessage, AlertStatus } from '../domain/alerts';
import { BASE_LANGUAGE, type Catalogs, type Translate } from '../i18n/catalogs';

/** The order of the counts in a digest's subject: what needs action first. */
const STATUS_ORDER: readonly AlertStatus[] = ['raised', 'reminder', 'recovered', 'notice', 'report'];

export { defaultCatalogs } from '../i18n/catalogs';

/** The word a subject or a digest's heading starts with: RAISED, REMINDER... */
function statusWord(status: AlertStatus, t: Translate): string {
  switch (status) {
    case 'raised':
      return t('mail.alert.statusRaised');
    case 'reminder':
      return t('mail.alert.statusReminder');
    case 'recovered':
      return t('mail.alert.statusRecovered');
    case 'notice':
      return t('mail.alert.statusNotice');
    case 'report':
      return t('mail.alert.statusReport');
  }
}

/** "2 raised", "1 reminder" in a digest's subject. */
function counted(status: AlertStatus, n: number, t: Translate): string {
  switch (status) {
    case 'raised':
      return t('mail.alert.countRaised', { n });
    case 'reminder':
      return t('mail.alert.countReminder', { n });
    case 'recovered':
      return t('mail.alert.countRecovered', { n });
    case 'notice':
      return t('mail.alert.countNotice', { n });
    case 'report':
      return t('mail.alert.countReport', { n });
  }
}

/** The translator of the language a message was written in (English for messages stored before there was a choice). */
export function translatorOf(m: Pick<AlertMessage, 'lang'>, catalogs: Catalogs): Translate {
  return catalogs.translator(m.lang ?? BASE_LANGUAGE);
}

/** Subjects and headers are one line whatever a title holds; mail clients also cut long ones. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(/ {2,}/g, ' ').trim();
}

function prefix(m: AlertMessage): string {
  return `[lapsebox ${m.appliance.id}]`;
}

/**
 * "[lapsebox bridge-north] RAISED picture late: north (North tower)";
 * a report: "[lapsebox bridge-north] daily report 2026-11-23" (its title).
 */
export function emailSubject(m: AlertMessage, t: Translate): string {
  if (m.type === 'report') return oneLine(`${prefix(m)} ${m.title}`);
  return oneLine(`${prefix(m)} ${statusWord(m.status, t)} ${m.title}`);
}

/**
 * The one mail for the messages due together on the e-mail channel (oldest first):
 * a single message keeps its own subject; several say how many of each, as
 * "[lapsebox bridge-north] 3 alerts: 2 raised, 1 recovered", in the language of the first.
 */
export function emailDigest(messages: readonly AlertMessage[], catalogs: Catalogs): { subject: string; text: string } {
  const [first] = messages;
  if (!first) throw new Error('an e-mail digest needs at least one message');
  const t = translatorOf(first, catalogs);
  if (messages.length === 1) return { subject: emailSubject(first, t), text: `${oneLine(first.title)}\n\n${first.text.trimEnd()}\n` };
  const counts = STATUS_ORDER.map((status) => {
    const n = messages.filter((m) => m.status === status).length;
    return n === 0 ? null : counted(status, n, t);
  }).filter((part) => part !== null);
  const values = { count: messages.length, counts: counts.join(', ') };
  const summary = messages.every((m) => m.type === 'alert') ? t('mail.alert.digestAlerts', values) : t('mail.alert.digestMessages', values);
  const sections = messages.map((m) => {
    const heading = m.type === 'report' ? oneLine(m.title) : `${statusWord(m.status, t)} ${oneLine(m.title)}`;
    return `${heading}\n${'-'.repeat(Math.min(heading.length, 72))}\n${m.text.trimEnd()}\n`;
  });
  return { subject: oneLine(`${prefix(first)} ${summary}`), text: sections.join('\n') };
}

/** An instant in the appliance's zone as the language writes it: "2026-12-05 23:28", "5 déc. 2026 à 23:28". */
export function localDateTime(ms: number, zone: string, t: Translate): string {
  // The pattern is the catalog's (a luxon format): English keeps the ISO-like form its readers know.
  return DateTime.fromMillis(ms, { zone }).setLocale(t.locale).toFormat(t('mail.alert.timeFormat'));
}

/** The same with the zone's name: "2026-12-05 23:28 CET", "5 déc. 2026 à 23:28 UTC+1". */
export function localDateTimeZone(ms: number, zone: string, t: Translate): string {
  return DateTime.fromMillis(ms, { zone }).setLocale(t.locale).toFormat(t('mail.alert.timeZoneFormat'));
}

/** A local day (`2026-11-23`) as the language writes it: "2026-11-23", "23 nov. 2026". */
export function localDate(day: string, zone: string, t: Translate): string {
  return DateTime.fromISO(day, { zone }).setLocale(t.locale).toFormat(t('mail.report.dateFormat'));
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

/**
 * A duration in whole seconds, largest unit first: "1h42m" as the configuration
 * writes it in English (formatDuration's form), "1 h 42 min" in French.
 */
export function duration(ms: number, t: Translate): string {
  const parts: string[] = [];
  let rest = Math.max(0, Math.floor(ms / 1000) * 1000);
  const take = (unit: number) => {
    const n = Math.floor(rest / unit);
    rest -= n * unit;
    return n;
  };
  const days = take(DAY);
  const hours = take(HOUR);
  const minutes = take(MINUTE);
  const seconds = take(1000);
  if (days) parts.push(t('mail.alert.durationDays', { n: days }));
  if (hours) parts.push(t('mail.alert.durationHours', { n: hours }));
  if (minutes) parts.push(t('mail.alert.durationMinutes', { n: minutes }));
  if (seconds || parts.length === 0) parts.push(t('mail.alert.durationSeconds', { n: seconds }));
  return parts.reduce((first, next) => t('mail.alert.durationJoin', { first, next }));
}

/** Sentences one after the other, as the language separates them with a semicolon. */
export function semicolons(parts: readonly string[], t: Translate): string {
  return parts.length === 0 ? '' : parts.reduce((first, next) => t('mail.alert.semicolonJoin', { first, next }));
}
