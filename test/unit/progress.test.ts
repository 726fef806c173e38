/**
 * Progress e-mails, the pure parts: the rhythm's slots in the appliance's time zone (daily
 * and weekly, across daylight-saving changes), what a start after a missed slot does, the
 * recipients, the e-mail's words and markup, and the config keys with their cross-checks.
 */
import { DateTime } from 'luxon';
import { MISSED_GRACE_MS, decide, rhythmKey, slotAfter, slotAtOrBefore, type Rhythm } from '../../daemon/progress/rhythm';
import { byLanguage, recipientsOf } from '../../daemon/progress/recipients';
import { renderProgressEmail, rhythmText, type EmailFacts } from '../../daemon/progress/render';
import { Catalogs } from '../../daemon/i18n/catalogs';
import { parseConfig, ConfigError } from '../../daemon/config/load';

const PARIS = 'Europe/Paris';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const paris = (text: string) => DateTime.fromISO(text, { zone: PARIS }).toMillis();
const shown = (ms: number) => DateTime.fromMillis(ms, { zone: PARIS }).toISO({ suppressMilliseconds: true });
const daily = (at: string): Rhythm => ({ every: 'day', day: 'mon', at });
const weekly = (day: Rhythm['day'], at: string): Rhythm => ({ every: 'week', day, at });
const catalogs = new Catalogs();
const en = catalogs.translator('en');
const fr = catalogs.translator('fr');
const NBSP = '\u00a0';

describe('progress rhythm', () => {
  it('finds the daily slot at or before and after an instant, the slot itself included once', () => {
    const r = daily('08:00');
    expect(shown(slotAtOrBefore(paris('2026-11-23T10:00'), r, PARIS))).toBe('2026-11-23T08:00:00+01:00');
    expect(shown(slotAtOrBefore(paris('2026-11-23T07:59'), r, PARIS))).toBe('2026-11-22T08:00:00+01:00');
    expect(shown(slotAtOrBefore(paris('2026-11-23T08:00'), r, PARIS))).toBe('2026-11-23T08:00:00+01:00');
    expect(shown(slotAfter(paris('2026-11-23T08:00'), r, PARIS))).toBe('2026-11-24T08:00:00+01:00');
    expect(shown(slotAfter(paris('2026-11-23T07:59'), r, PARIS))).toBe('2026-11-23T08:00:00+01:00');
    expect(shown(slotAfter(paris('2026-12-31T09:00'), r, PARIS))).toBe('2027-01-01T08:00:00+01:00');
  });

  it('finds the weekly slot on its day, in ISO weeks (Monday to Sunday), wrapping to the week before or after', () => {
    const monday = weekly('mon', '08:00');
    expect(shown(slotAtOrBefore(paris('2026-11-25T12:00'), monday, PARIS))).toBe('2026-11-23T08:00:00+01:00'); // a Wednesday
    expect(shown(slotAtOrBefore(paris('2026-11-23T07:00'), monday, PARIS))).toBe('2026-11-16T08:00:00+01:00');
    expect(shown(slotAfter(paris('2026-11-23T08:00'), monday, PARIS))).toBe('2026-11-30T08:00:00+01:00');
    const sunday = weekly('sun', '18:30');
    expect(shown(slotAfter(paris('2026-11-23T08:00'), sunday, PARIS))).toBe('2026-11-29T18:30:00+01:00');
    expect(shown(slotAtOrBefore(paris('2026-11-23T08:00'), sunday, PARIS))).toBe('2026-11-22T18:30:00+01:00');
    expect(shown(slotAtOrBefore(paris('2026-11-29T18:30'), sunday, PARIS))).toBe('2026-11-29T18:30:00+01:00');
  });

  it('keeps the local time across daylight-saving changes: 23- and 25-hour days, and weeks that hold one', () => {
    const r = daily('08:00');
    // Spring forward on Sunday 29 March 2026, back on Sunday 25 October 2026.
    const spring = [slotAfter(paris('2026-03-28T09:00'), r, PARIS), slotAfter(paris('2026-03-29T09:00'), r, PARIS)];
    expect(spring.map(shown)).toEqual(['2026-03-29T08:00:00+02:00', '2026-03-30T08:00:00+02:00']);
    expect(spring[0]! - slotAtOrBefore(paris('2026-03-28T09:00'), r, PARIS)).toBe(23 * HOUR);
    const autumn = slotAfter(paris('2026-10-24T09:00'), r, PARIS);
    expect(shown(autumn)).toBe('2026-10-25T08:00:00+01:00');
    expect(autumn - slotAtOrBefore(paris('2026-10-24T09:00'), r, PARIS)).toBe(25 * HOUR);
    const monday = weekly('mon', '08:00');
    const afterSpring = slotAfter(paris('2026-03-23T09:00'), monday, PARIS);
    expect(shown(afterSpring)).toBe('2026-03-30T08:00:00+02:00');
    expect(afterSpring - paris('2026-03-23T08:00')).toBe(7 * DAY - HOUR);
  });

  it('sends a slot in the hour clocks skip an hour later, and one in the hour they repeat once, at its second occurrence', () => {
    const r = daily('02:30');
    expect(shown(slotAfter(paris('2026-03-29T01:00'), r, PARIS))).toBe('2026-03-29T03:30:00+02:00');
    expect(shown(slotAfter(paris('2026-03-29T03:31'), r, PARIS))).toBe('2026-03-30T02:30:00+02:00');
    const repeated = slotAfter(paris('2026-10-25T01:00'), r, PARIS);
    expect(new Date(repeated).toISOString()).toBe('2026-10-25T01:30:00.000Z'); // 02:30+01:00, the second of the two
    // During the first 02:30 (00:30Z), the slot at or before is still the day before's: one slot that day.
    expect(shown(slotAtOrBefore(Date.parse('2026-10-25T00:45:00Z'), r, PARIS))).toBe('2026-10-24T02:30:00+02:00');
    expect(slotAtOrBefore(Date.parse('2026-10-25T01:45:00Z'), r, PARIS)).toBe(repeated);
  });

  it('queues a due slot once, a slot missed within the grace late, and notes an older one as missed, never a burst', () => {
    const r = weekly('mon', '08:00');
    const slot = paris('2026-11-23T08:00');
    const since = paris('2026-11-01T12:00');
    expect(decide(slot + 30_000, r, PARIS, { lastSlot: null, since })).toEqual({ kind: 'due', slot });
    expect(decide(slot + 30_000, r, PARIS, { lastSlot: slot, since })).toEqual({ kind: 'none' });
    // The box was off at 08:00 and starts at 19:00: sent late, once.
    expect(decide(slot + 11 * HOUR, r, PARIS, { lastSlot: slot - 7 * DAY, since })).toEqual({ kind: 'due', slot });
    // It starts on Tuesday: past the grace, noted as missed; weeks off still give one slot only.
    expect(decide(slot + MISSED_GRACE_MS + 1, r, PARIS, { lastSlot: slot - 7 * DAY, since })).toEqual({ kind: 'missed', slot });
    expect(decide(slot + 6 * DAY, r, PARIS, { lastSlot: slot - 35 * DAY, since })).toEqual({ kind: 'missed', slot });
    expect(decide(slot + MISSED_GRACE_MS - 1, r, PARIS, { lastSlot: slot - 35 * DAY, since })).toEqual({ kind: 'due', slot });
  });

  it('never sends late a slot from before the rhythm was set or changed', () => {
    const r = daily('08:00');
    const slot = paris('2026-11-23T08:00');
    // Set up at 10:00: the 08:00 of that day is not sent; the next day's is.
    expect(decide(paris('2026-11-23T10:00'), r, PARIS, { lastSlot: null, since: paris('2026-11-23T10:00') })).toEqual({ kind: 'none' });
    expect(decide(slot + DAY + 1000, r, PARIS, { lastSlot: null, since: paris('2026-11-23T10:00') })).toEqual({ kind: 'due', slot: slot + DAY });
  });

  it('names rhythms for people and for the change check', () => {
    expect(rhythmText(daily('07:30'))).toBe('every day at 07:30');
    expect(rhythmText(weekly('fri', '17:00'))).toBe('every Friday at 17:00');
    expect(rhythmKey(daily('07:30'))).toBe('day@07:30');
    expect(rhythmKey(weekly('fri', '17:00'))).toBe('week:fri@17:00');
  });
});

describe('progress recipients', () => {
  const group = (members: { username: string; email: string | null; language?: string | null }[] | null) => () => members;

  it('takes the addresses of to and of the group members who have one, each once whatever its case', () => {
    const sut = recipientsOf({ to: ['Site@Example.com', 'boss@example.com'], group: 'client' }, group([
      { username: 'ann', email: 'ann@client.example' },
      { username: 'bob', email: null },
      { username: 'cid', email: 'site@example.com' },
    ]));
    expect(sut).toEqual({ addresses: ['Site@Example.com', 'boss@example.com', 'ann@client.example'], languages: [null, null, null], withoutAddress: ['bob'], problem: null });
  });

  it("sends one e-mail per language: a member's own, else the box's, an address typed in to taking its member's", () => {
    const sut = recipientsOf({ to: ['boss@example.com', 'Dan@client.example'], group: 'client' }, group([
      { username: 'ann', email: 'ann@client.example', language: 'fr' },
      { username: 'cid', email: 'cid@client.example', language: null },
      { username: 'dan', email: 'dan@client.example', language: 'fr' },
      { username: 'eve', email: 'eve@client.example', language: 'xx' },
    ]));
    expect(sut.languages).toEqual([null, 'fr', 'fr', null, 'xx']);
    expect(byLanguage(sut, 'en', (code) => catalogs.has(code))).toEqual([
      { lang: 'en', addresses: ['boss@example.com', 'cid@client.example', 'eve@client.example'] },
      { lang: 'fr', addresses: ['Dan@client.example', 'ann@client.example'] },
    ]);
    expect(byLanguage(sut, 'fr', (code) => catalogs.has(code))).toEqual([{ lang: 'fr', addresses: sut.addresses }]);
  });

  it('says when the group is missing, empty, or nobody in it has an address', () => {
    expect(recipientsOf({ to: ['a@example.com'], group: 'gone' }, group(null)).problem).toBe('there is no group "gone" (lapsebox groups list; a maintainer adds it on the Users page)');
    expect(recipientsOf({ to: [], group: 'client' }, group([]))).toEqual({ addresses: [], languages: [], withoutAddress: [], problem: 'group "client" has no members' });
    expect(recipientsOf({ to: [], group: 'client' }, group([{ username: 'bob', email: null }])).problem).toMatch(/^nobody to send to: the members of group "client" have no e-mail address/);
  });
});

describe('renderProgressEmail', () => {
  const facts = (content: EmailFacts['content']): EmailFacts => ({
    applianceName: 'Bridge <north> & "south"',
    sourceName: "Tower <script>alert('x')</script>",
    timezone: PARIS,
    at: paris('2026-11-23T08:00'),
    content,
    link: { url: 'https://bridge.example.com/s/abc_DEF-123?x=1&y=2', expiresAt: paris('2026-12-02T08:00'), level: 'view' },
    rhythm: weekly('mon', '08:00'),
  });
  const picture = (cid: string, at: string) => ({ cid, takenAt: paris(at), width: 960, height: 540 });

  it('puts the source, the box and the date in the subject, and every piece of input through the escaper', () => {
    const sut = renderProgressEmail(facts({ kind: 'latest', picture: picture('latest.7@lapsebox', '2026-11-23T07:55') }), en);
    expect(sut.subject).toBe(`Tower <script>alert('x')</script> (Bridge <north> & "south"): progress on Monday 23 November 2026`);
    expect(sut.html).not.toContain('<script>');
    expect(sut.html).toContain('Tower &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;');
    expect(sut.html).toContain('Bridge &lt;north&gt; &amp; &quot;south&quot;');
    expect(sut.html).toContain('href="https://bridge.example.com/s/abc_DEF-123?x=1&amp;y=2"');
    expect(sut.html).toContain('<img src="cid:latest.7@lapsebox" width="600" height="338"');
    expect(sut.html).toContain('max-width:600px');
    // The text part says the same, with the link whole.
    expect(sut.text).toContain('https://bridge.example.com/s/abc_DEF-123?x=1&y=2');
    expect(sut.text).toContain("Tower <script>alert('x')</script>, Monday 23 November 2026 at 07:55");
    expect(sut.text).toContain('The link opens until Wednesday 2 December 2026 at 08:00, or until the next e-mail replaces it.');
    expect(sut.text).toContain('You receive this e-mail every Monday at 08:00');
  });

  it('shows a comparison as two pictures, before and now, and a film with its period and length', () => {
    const compare = renderProgressEmail(facts({ kind: 'compare', before: picture('before.1@lapsebox', '2026-11-16T07:55'), after: picture('now.9@lapsebox', '2026-11-23T07:55'), days: 7 }), en);
    expect(compare.html.indexOf('cid:before.1@lapsebox')).toBeLessThan(compare.html.indexOf('cid:now.9@lapsebox'));
    expect(compare.text).toContain('Before: Monday 16 November 2026 at 07:55');
    expect(compare.text).toContain('Now: Monday 23 November 2026 at 07:55 (7 days later)');
    expect(compare.text).toContain('Compare the two pictures:');
    const film = renderProgressEmail({
      ...facts({ kind: 'film', picture: null, film: { label: '2026-W47 <b>', durationMs: 61_000, periodFrom: paris('2026-11-16T00:00'), periodTo: paris('2026-11-23T00:00') } }),
      link: { url: 'https://bridge.example.com/s/x', expiresAt: paris('2026-12-02T08:00'), level: 'download' },
    }, en);
    expect(film.text).toContain('The film 2026-W47 <b>: 16 Nov 2026 to 22 Nov 2026, 1 min 01 s');
    expect(film.html).toContain('2026-W47 &lt;b&gt;');
    expect(film.html).not.toContain('<img');
    expect(film.text).toContain('Watch or download the film:');
    expect(film.text).toContain('can see and download');
  });

  it('says a mail sent on request is one', () => {
    const sut = renderProgressEmail({ ...facts({ kind: 'latest', picture: picture('p@lapsebox', '2026-11-23T07:55') }), rhythm: null }, en);
    expect(sut.text).toContain('Sent on request from the timelapse camera');
    expect(sut.text).not.toContain('You receive this e-mail');
  });

  it('is written in French for a French reader: words, dates in French in the time zone, French typography', () => {
    const nice = { ...facts({ kind: 'latest', picture: picture('latest.7@lapsebox', '2026-11-23T07:55') }), applianceName: 'Pont', sourceName: 'Tour nord' };
    const sut = renderProgressEmail({ ...nice, link: { ...nice.link, expiresAt: paris('2026-12-07T08:00') } }, fr);
    expect(sut.subject).toBe(`Tour nord (Pont)${NBSP}: avancement du lundi 23 novembre 2026`);
    expect(sut.html).toContain('<html lang="fr">');
    expect(sut.text.split('\n')).toEqual([
      'Tour nord · Pont · lundi 23 novembre 2026',
      '',
      'La photo la plus récente de Tour nord.',
      '',
      'Tour nord, lundi 23 novembre 2026 à 07:55',
      '',
      `Voir les photos de la période${NBSP}:`,
      'https://bridge.example.com/s/abc_DEF-123?x=1&y=2',
      '',
      `Le lien s’ouvre jusqu’au lundi 7 décembre 2026 à 08:00, ou jusqu’à ce que le prochain e-mail le remplace. Toute personne qui l’a peut voir ce qu’il montre, sans compte${NBSP}: ne le transférez pas à qui ne devrait pas le voir.`,
      '',
      'Vous recevez cet e-mail chaque lundi à 08:00 de la caméra timelapse Pont. Pour ne plus le recevoir, adressez-vous à la personne qui s’occupe de la caméra du site.',
      '',
    ]);

    const compare = renderProgressEmail(facts({ kind: 'compare', before: picture('b@lapsebox', '2026-11-22T07:55'), after: picture('n@lapsebox', '2026-11-23T07:55'), days: 1 }), fr);
    expect(compare.text).toContain(`Avant${NBSP}: dimanche 22 novembre 2026 à 07:55`);
    expect(compare.text).toContain(`Maintenant${NBSP}: lundi 23 novembre 2026 à 07:55 (1 jour plus tard)`);
    expect(compare.text).toContain('a changé en 1 jour.');
    expect(compare.text).toContain(`Comparer les deux photos${NBSP}:`);

    const film = renderProgressEmail({
      ...facts({ kind: 'film', picture: null, film: { label: '2026-W49', durationMs: 61_000, periodFrom: paris('2026-11-30T00:00'), periodTo: paris('2026-12-07T00:00') } }),
      link: { url: 'https://bridge.example.com/s/x', expiresAt: paris('2026-12-16T08:00'), level: 'download' },
      rhythm: daily('18:30'),
    }, fr);
    expect(film.text).toContain(`Le film 2026-W49${NBSP}: du 30 nov. 2026 au 6 déc. 2026, 1${NBSP}min 01${NBSP}s`);
    expect(film.text).toContain(`Regarder ou télécharger le film${NBSP}:`);
    expect(film.text).toContain('peut voir et télécharger ce qu’il montre');
    expect(film.text).toContain('Vous recevez cet e-mail chaque jour à 18:30 de la caméra timelapse');

    const asked = renderProgressEmail({ ...nice, rhythm: null }, fr);
    expect(asked.text).toContain('Envoyé sur demande par la caméra timelapse Pont.');
  });

  it("names the rhythm in the reader's language, the day through Intl", () => {
    expect(rhythmText(weekly('fri', '17:00'), en)).toBe('every Friday at 17:00');
    expect(rhythmText(daily('07:30'), en)).toBe('every day at 07:30');
    expect(rhythmText(weekly('sun', '09:15'), fr)).toBe('chaque dimanche à 09:15');
  });
});

describe('progress configuration', () => {
  const file = '/etc/lapsebox/lapsebox.yaml';
  const config = (progress: string, extra = 'web: { publicUrl: "https://box.example.com" }\nalerts: { email: { smtp: { host: smtp.example.com }, from: box@example.com, to: [ops@example.com] } }') =>
    `appliance: { id: box, timezone: ${PARIS} }\n${extra}\nsources:\n  - id: north\n    camera: { driver: testpattern }\n    progress: ${progress}\n`;
  const problems = (text: string): string[] => {
    try {
      parseConfig(text, file);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.issues.map((i) => `${i.path}: ${i.message}`);
    }
  };

  it('takes a weekly e-mail to addresses and a group, with defaults', () => {
    const progress = parseConfig(config('{ to: [site@example.com], group: client, every: week, day: fri }'), file).config.sources[0]!.progress;
    expect(progress).toEqual({ enabled: true, to: ['site@example.com'], group: 'client', every: 'week', day: 'fri', at: '08:00', content: 'latest', level: 'view' });
  });

  it('names the key and the fix for recipients, days and comparisons that do not fit', () => {
    expect(problems(config('{ every: day }'))).toEqual(['sources[0].progress.to: expected recipients: to (e-mail addresses), group (a group of users), or both']);
    expect(problems(config('{ to: [a@example.com], every: day, day: mon }'))).toEqual(['sources[0].progress.day: used only with every: week; remove it, or set every: week']);
    expect(problems(config('{ to: [a@example.com], compareDays: 3 }'))).toEqual(['sources[0].progress.compareDays: used only with content: compare; remove it, or set content: compare']);
    expect(problems(config('{ to: [not-an-address], at: "25:00", content: pictures }'))).toEqual([
      'sources[0].progress.to[0]: expected an e-mail address such as anna@example.com',
      'sources[0].progress.at: expected a time "HH:MM"',
      'sources[0].progress.content: expected one of: latest, compare, film',
    ]);
  });

  it('needs web.publicUrl and alerts.email while enabled, and says what each is for', () => {
    expect(problems(config('{ to: [a@example.com] }', ''))).toEqual([
      'sources[0].progress: progress e-mails need web.publicUrl: the address their links open from outside, such as https://bridge-north.example.com',
      'sources[0].progress: progress e-mails are sent through the SMTP server of alerts.email: set alerts.email (smtp, from, to) first',
    ]);
    expect(problems(config('{ enabled: false, to: [a@example.com] }', ''))).toEqual([]);
  });
});
