/**
 * What every notification channel sends: one message about an alert (raised,
 * reminded, recovered), a notice, or a daily report. The message is made once,
 * stored as JSON until delivered, and sent as it is (webhook) or as mail text,
 * so that it says the same thing whenever and wherever it arrives.
 */
import type { AlertMessage, AlertStatus } from '../domain/alerts';
const STATUS_WORD: Record<AlertStatus, string> = { raised: 'RAISED', reminder: 'REMINDER', recovered: 'RECOVERED', notice: 'NOTICE', report: 'REPORT' };
/** The order of the counts in a digest's subject: what needs action first. */
const STATUS_ORDER: readonly AlertStatus[] = ['raised', 'reminder', 'recovered', 'notice', 'report'];
const COUNTED: Record<AlertStatus, [one: string, many: string]> = {
  raised: ['raised', 'raised'],
  reminder: ['reminder', 'reminders'],
  recovered: ['recovered', 'recovered'],
  notice: ['notice', 'notices'],
  report: ['report', 'reports'],
};

/** Subjects and headers are one line whatever a title holds; mail clients also cut long ones. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(/ {2,}/g, ' ').trim();
}

function prefix(m: AlertMessage): string {
  return `[lapsebox ${m.appliance.id}]`;
}

/**
 * "[lapsebox bridge-north] RAISED picture late: north (North tower)";
 * a report: "[lapsebox bridge-north] daily report 2026-11-23" (its date from the topic).
 */
export function emailSubject(m: AlertMessage): string {
  if (m.type === 'report') {
    const date = m.topic.startsWith('report:') ? m.topic.slice('report:'.length) : '';
    return oneLine(date ? `${prefix(m)} ${m.kind.replace(/-/g, ' ')} ${date}` : `${prefix(m)} ${m.title}`);
  }
  return oneLine(`${prefix(m)} ${STATUS_WORD[m.status]} ${m.title}`);
}

/**
 * The one mail for the messages due together on the e-mail channel (oldest first):
 * a single message keeps its own subject; several say how many of each, as
 * "[lapsebox bridge-north] 3 alerts: 2 raised, 1 recovered".
 */
export function emailDigest(messages: readonly AlertMessage[]): { subject: string; text: string } {
  const [first] = messages;
  if (!first) throw new Error('an e-mail digest needs at least one message');
  if (messages.length === 1) return { subject: emailSubject(first), text: `${oneLine(first.title)}\n\n${first.text.trimEnd()}\n` };
  const counts = STATUS_ORDER.map((status) => {
    const n = messages.filter((m) => m.status === status).length;
    return n === 0 ? null : `${n} ${COUNTED[status][n === 1 ? 0 : 1]}`;
  }).filter((part) => part !== null);
  const noun = messages.every((m) => m.type === 'alert') ? 'alerts' : 'messages';
  const sections = messages.map((m) => {
    const heading = m.type === 'report' ? oneLine(m.title) : `${STATUS_WORD[m.status]} ${oneLine(m.title)}`;
    return `${heading}\n${'-'.repeat(Math.min(heading.length, 72))}\n${m.text.trimEnd()}\n`;
  });
  return { subject: oneLine(`${prefix(first)} ${messages.length} ${noun}: ${counts.join(', ')}`), text: sections.join('\n') };
}
