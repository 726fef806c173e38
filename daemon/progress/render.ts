/**
 * The words and markup of a progress e-mail (pure): a subject with the source, the box
 * and the date; an HTML part laid out for phones (one column, pictures as wide as the
 * screen, inline as cid: attachments); and a text part that says the same. Names and
 * labels are people's input: every piece of text goes through the one escaper. The words
 * come from the message catalogs (`mail.progress.*`) in the reader's language, the dates
 * through Intl (luxon) in that language's locale and the appliance's time zone.
 */
import { DateTime } from 'luxon';
import { escapeMarkup } from '../markup';
import { BASE_LANGUAGE, defaultCatalogs, type Translate } from '../i18n/catalogs';
import { WEEKDAY_NUMBER, type Rhythm } from './rhythm';

/** A picture shown inline: the HTML refers to it as `cid:<cid>`. */
export interface InlinePicture {
  cid: string;
  takenAt: number;
  width: number;
  height: number;
}

export type RenderedContent =
  | { kind: 'latest'; picture: InlinePicture }
  | { kind: 'compare'; before: InlinePicture; after: InlinePicture; days: number }
  | { kind: 'film'; picture: InlinePicture | null; film: { label: string; durationMs: number; periodFrom: number; periodTo: number } };

export interface EmailFacts {
  applianceName: string;
  sourceName: string;
  timezone: string;
  /** The instant the e-mail is for (its slot, or when a person asked). */
  at: number;
  content: RenderedContent;
  /** The share link, absolute, and until when it opens (unless the next e-mail replaces it first). */
  link: { url: string; expiresAt: number; level: 'view' | 'download' };
  /** The rhythm it is sent on ("every Monday at 08:00"); null for one a person asked for. */
  rhythm: Rhythm | null;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** Pictures are shown at most this wide (CSS pixels): the column of most mail apps; phones scale it to their screen. */
const COLUMN = 600;

/** "Monday 23 November 2026", "lundi 23 novembre 2026". */
function dateText(ms: number, timezone: string, t: Translate): string {
  return DateTime.fromMillis(ms, { zone: timezone }).setLocale(t.locale).toFormat('cccc d LLLL yyyy');
}

/** "Monday 23 November 2026 at 07:55", "lundi 23 novembre 2026 à 07:55" (24-hour times in every language). */
function dateTimeText(ms: number, timezone: string, t: Translate): string {
  const local = DateTime.fromMillis(ms, { zone: timezone }).setLocale(t.locale);
  return t('mail.progress.dateTime', { date: local.toFormat('cccc d LLLL yyyy'), time: local.toFormat('HH:mm') });
}

/** "16 Nov 2026", "16 nov. 2026". */
function shortDate(ms: number, timezone: string, t: Translate): string {
  return DateTime.fromMillis(ms, { zone: timezone }).setLocale(t.locale).toFormat('d LLL yyyy');
}

function minutesSeconds(ms: number, t: Translate): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? t('mail.progress.seconds', { s }) : t('mail.progress.minutesSeconds', { min: Math.floor(s / 60), s: String(s % 60).padStart(2, '0') });
}

/** "every Monday at 08:00", "chaque lundi à 08:00": the day's name through Intl (English unless told another language). */
export function rhythmText(rhythm: Rhythm, t: Translate = defaultCatalogs().translator(BASE_LANGUAGE)): string {
  if (rhythm.every === 'day') return t('mail.progress.rhythm.day', { at: rhythm.at });
  // 2024-01-01 was a Monday: the day of the week by its ISO number.
  const day = DateTime.fromObject({ year: 2024, month: 1, day: WEEKDAY_NUMBER[rhythm.day] }, { zone: 'UTC' }).setLocale(t.locale).toFormat('cccc');
  return t('mail.progress.rhythm.week', { day, at: rhythm.at });
}

/** Text lines can hold no line break of their own: a name with one would break the layout of the text part. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').trim();
}

/** The e-mail in the language of `t` (a translator of the catalogs). */
export function renderProgressEmail(facts: EmailFacts, t: Translate): RenderedEmail {
  const tz = facts.timezone;
  const source = oneLine(facts.sourceName);
  const box = oneLine(facts.applianceName);
  const day = dateText(facts.at, tz, t);
  const subject = t('mail.progress.subject', { source, box, date: day });
  const expires = dateTimeText(facts.link.expiresAt, tz, t);
  const linkWhat = linkDescription(facts, t);
  const e = escapeMarkup;

  const blocks: { html: string; text: string[] }[] = [];
  const picture = (p: InlinePicture, caption: string) => {
    const height = Math.round((p.height * COLUMN) / p.width);
    return {
      html:
        `<tr><td style="padding:0 0 4px 0"><img src="cid:${e(p.cid)}" width="${COLUMN}" height="${height}" alt="${e(caption)}" ` +
        `style="display:block;width:100%;max-width:${COLUMN}px;height:auto;border:0"></td></tr>` +
        `<tr><td style="padding:0 0 16px 0;font-size:13px;color:#555555">${e(caption)}</td></tr>`,
      text: [caption],
    };
  };
  const c = facts.content;
  if (c.kind === 'latest') {
    blocks.push(picture(c.picture, t('mail.progress.caption.latest', { source, when: dateTimeText(c.picture.takenAt, tz, t) })));
  } else if (c.kind === 'compare') {
    blocks.push(picture(c.before, t('mail.progress.caption.before', { when: dateTimeText(c.before.takenAt, tz, t) })));
    blocks.push(picture(c.after, t('mail.progress.caption.now', { when: dateTimeText(c.after.takenAt, tz, t), days: c.days })));
  } else {
    const film = t('mail.progress.film', {
      label: oneLine(c.film.label),
      from: shortDate(c.film.periodFrom, tz, t),
      to: shortDate(Math.max(c.film.periodFrom, c.film.periodTo - 1), tz, t),
      length: minutesSeconds(c.film.durationMs, t),
    });
    if (c.picture) blocks.push(picture(c.picture, film));
    else blocks.push({ html: `<tr><td style="padding:0 0 16px 0">${e(film)}</td></tr>`, text: [film] });
  }

  const intro =
    c.kind === 'compare' ? t('mail.progress.intro.compare', { source, days: c.days }) : c.kind === 'film' ? t('mail.progress.intro.film', { source }) : t('mail.progress.intro.latest', { source });
  const footer = facts.rhythm ? t('mail.progress.footer.rhythm', { rhythm: rhythmText(facts.rhythm, t), box }) : t('mail.progress.footer.request', { box });
  const validity = t('mail.progress.validity', { expires, level: facts.link.level });

  const html = [
    '<!DOCTYPE html>',
    `<html lang="${e(t.lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${e(subject)}</title></head>`,
    '<body style="margin:0;padding:0;background:#f2f2f2">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f2f2f2"><tr><td align="center" style="padding:12px">',
    `<table role="presentation" width="${COLUMN}" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:${COLUMN}px;background:#ffffff;font-family:Helvetica,Arial,sans-serif;color:#222222">`,
    `<tr><td style="padding:16px 16px 4px 16px;font-size:20px;font-weight:bold">${e(source)}</td></tr>`,
    `<tr><td style="padding:0 16px 12px 16px;font-size:14px;color:#555555">${e(box)} · ${e(day)}</td></tr>`,
    `<tr><td style="padding:0 16px 12px 16px;font-size:15px">${e(intro)}</td></tr>`,
    `<tr><td style="padding:0 16px"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">${blocks.map((b) => b.html).join('')}</table></td></tr>`,
    `<tr><td align="center" style="padding:8px 16px 16px 16px"><a href="${e(facts.link.url)}" style="display:inline-block;padding:12px 20px;background:#1f5fa8;color:#ffffff;text-decoration:none;border-radius:4px;font-size:16px">${e(linkWhat)}</a></td></tr>`,
    `<tr><td style="padding:0 16px 8px 16px;font-size:12px;color:#555555;word-break:break-all">${e(facts.link.url)}</td></tr>`,
    `<tr><td style="padding:0 16px 8px 16px;font-size:12px;color:#555555">${e(validity)}</td></tr>`,
    `<tr><td style="padding:0 16px 16px 16px;font-size:12px;color:#777777">${e(footer)}</td></tr>`,
    '</table></td></tr></table></body></html>',
  ].join('\n');

  const text = [
    `${source} · ${box} · ${day}`,
    '',
    intro,
    '',
    ...blocks.flatMap((b) => b.text),
    '',
    t('mail.progress.linkLead', { what: linkWhat }),
    facts.link.url,
    '',
    validity,
    '',
    footer,
    '',
  ].join('\n');
  return { subject, text, html };
}

function linkDescription(facts: EmailFacts, t: Translate): string {
  switch (facts.content.kind) {
    case 'latest':
      return t('mail.progress.link.latest');
    case 'compare':
      return t('mail.progress.link.compare');
    case 'film':
      return facts.link.level === 'download' ? t('mail.progress.link.filmDownload') : t('mail.progress.link.film');
  }
}
