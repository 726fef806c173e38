/**
 * The words and markup of a progress e-mail (pure): a subject with the source, the box
 * and the date; an HTML part laid out for phones (one column, pictures as wide as the
 * screen, inline as cid: attachments); and a text part that says the same. Names and
 * labels are people's input: every piece of text goes through the one escaper.
 */
import { DateTime } from 'luxon';
import { escapeMarkup } from '../markup';

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
  /** "every Monday at 08:00"; null for one a person asked for. */
  rhythm: string | null;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** Pictures are shown at most this wide (CSS pixels): the column of most mail apps; phones scale it to their screen. */
const COLUMN = 600;

function dateText(ms: number, timezone: string): string {
  return DateTime.fromMillis(ms, { zone: timezone }).setLocale('en-GB').toFormat('cccc d LLLL yyyy');
}

function dateTimeText(ms: number, timezone: string): string {
  return DateTime.fromMillis(ms, { zone: timezone }).setLocale('en-GB').toFormat("cccc d LLLL yyyy 'at' HH:mm");
}

function shortDate(ms: number, timezone: string): string {
  return DateTime.fromMillis(ms, { zone: timezone }).setLocale('en-GB').toFormat('d LLL yyyy');
}

function minutesSeconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** Text lines can hold no line break of their own: a name with one would break the layout of the text part. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').trim();
}

export function renderProgressEmail(facts: EmailFacts): RenderedEmail {
  const tz = facts.timezone;
  const source = oneLine(facts.sourceName);
  const box = oneLine(facts.applianceName);
  const subject = `${source} (${box}): progress on ${dateText(facts.at, tz)}`;
  const expires = dateTimeText(facts.link.expiresAt, tz);
  const linkWhat = linkDescription(facts);
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
    blocks.push(picture(c.picture, `${source}, ${dateTimeText(c.picture.takenAt, tz)}`));
  } else if (c.kind === 'compare') {
    blocks.push(picture(c.before, `Before: ${dateTimeText(c.before.takenAt, tz)}`));
    blocks.push(picture(c.after, `Now: ${dateTimeText(c.after.takenAt, tz)} (${c.days} day${c.days === 1 ? '' : 's'} later)`));
  } else {
    const film = `The film ${oneLine(c.film.label)}: ${shortDate(c.film.periodFrom, tz)} to ${shortDate(Math.max(c.film.periodFrom, c.film.periodTo - 1), tz)}, ${minutesSeconds(c.film.durationMs)}`;
    if (c.picture) blocks.push(picture(c.picture, film));
    else blocks.push({ html: `<tr><td style="padding:0 0 16px 0">${e(film)}</td></tr>`, text: [film] });
  }

  const intro = c.kind === 'compare' ? `How ${source} changed in ${c.days} day${c.days === 1 ? '' : 's'}.` : c.kind === 'film' ? `The newest film of ${source}.` : `The newest picture of ${source}.`;
  const footer = facts.rhythm ? `You receive this e-mail ${facts.rhythm} from the timelapse camera ${box}. To stop receiving it, ask whoever runs the site's camera.` : `Sent on request from the timelapse camera ${box}.`;
  const validity = `The link opens until ${expires}, or until the next e-mail replaces it. Anyone who has it can ${facts.link.level === 'download' ? 'see and download' : 'see'} what it shows, without an account: do not forward it to people who should not.`;

  const html = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(subject)}</title></head>`,
    '<body style="margin:0;padding:0;background:#f2f2f2">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f2f2f2"><tr><td align="center" style="padding:12px">',
    `<table role="presentation" width="${COLUMN}" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:${COLUMN}px;background:#ffffff;font-family:Helvetica,Arial,sans-serif;color:#222222">`,
    `<tr><td style="padding:16px 16px 4px 16px;font-size:20px;font-weight:bold">${e(source)}</td></tr>`,
    `<tr><td style="padding:0 16px 12px 16px;font-size:14px;color:#555555">${e(box)} · ${e(dateText(facts.at, tz))}</td></tr>`,
    `<tr><td style="padding:0 16px 12px 16px;font-size:15px">${e(intro)}</td></tr>`,
    `<tr><td style="padding:0 16px"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">${blocks.map((b) => b.html).join('')}</table></td></tr>`,
    `<tr><td align="center" style="padding:8px 16px 16px 16px"><a href="${e(facts.link.url)}" style="display:inline-block;padding:12px 20px;background:#1f5fa8;color:#ffffff;text-decoration:none;border-radius:4px;font-size:16px">${e(linkWhat)}</a></td></tr>`,
    `<tr><td style="padding:0 16px 8px 16px;font-size:12px;color:#555555;word-break:break-all">${e(facts.link.url)}</td></tr>`,
    `<tr><td style="padding:0 16px 8px 16px;font-size:12px;color:#555555">${e(validity)}</td></tr>`,
    `<tr><td style="padding:0 16px 16px 16px;font-size:12px;color:#777777">${e(footer)}</td></tr>`,
    '</table></td></tr></table></body></html>',
  ].join('\n');

  const text = [
    `${source} · ${box} · ${dateText(facts.at, tz)}`,
    '',
    intro,
    '',
    ...blocks.flatMap((b) => b.text),
    '',
    `${linkWhat}:`,
    facts.link.url,
    '',
    validity,
    '',
    footer,
    '',
  ].join('\n');
  return { subject, text, html };
}

function linkDescription(facts: EmailFacts): string {
  switch (facts.content.kind) {
    case 'latest':
      return 'See the pictures of the period';
    case 'compare':
      return 'Compare the two pictures';
    case 'film':
      return facts.link.level === 'download' ? 'Watch or download the film' : 'Watch the film';
  }
}
