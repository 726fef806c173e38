/**
 * The message catalogs (issue 26): every key the code uses is in every catalog, every
 * key of a catalog is used, each message parses as ICU MessageFormat with the same
 * placeholders in every language, and French is typeset as French is (no-break spaces
 * before high punctuation, ’ and « », no English quotes). Adding a language is adding
 * one file to i18n/: these checks run on every file there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IntlMessageFormat } from 'intl-messageformat';
import { readCatalogs, catalogFolder, type CatalogFile } from '../../daemon/i18n/catalog-files';
import { Catalogs } from '../../daemon/i18n/catalogs';

const ROOT = path.join(__dirname, '..', '..');
/** `t('key'`, `tNodes('key'` and `say('key'` in code, `{{t key}}` in the page template. */
const CALL = /\b(?:t|tNodes|say)\(\s*'([A-Za-z0-9_.]+)'/g;
const TEMPLATE = /\{\{t ([A-Za-z0-9_.]+)\}\}/g;

function filesUnder(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'vendor') out.push(...filesUnder(full, ext));
    } else if (ext.test(entry.name)) out.push(full);
  }
  return out;
}

/** Every key the code asks for, with a file that asks for it. */
function usedKeys(): Map<string, string> {
  const used = new Map<string, string>();
  const files = [...filesUnder(path.join(ROOT, 'web'), /\.(js|ts|html)$/), ...filesUnder(path.join(ROOT, 'daemon'), /\.ts$/)];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const pattern of file.endsWith('.html') ? [TEMPLATE] : [CALL]) for (const m of text.matchAll(pattern)) if (!used.has(m[1]!)) used.set(m[1]!, path.relative(ROOT, file));
  }
  return used;
}

type Ast = ReturnType<IntlMessageFormat['getAst']>;
/**
 * The placeholders of a message, by name. How each is formatted may differ (French
 * may need a plural where English does not, or a number formatted where English
 * prints digits); what the code gives must be the same.
 */
function placeholders(ast: Ast, out = new Set<string>()): Set<string> {
  for (const el of ast as unknown as { type: number; value?: string; options?: Record<string, { value: Ast }>; children?: Ast }[]) {
    // intl-messageformat's element types: 1 argument, 2 number, 3 date, 4 time, 5 select, 6 plural, 8 tag (0 literal, 7 #).
    if (el.type >= 1 && el.type <= 6 && el.value) out.add(el.value);
    for (const option of Object.values(el.options ?? {})) placeholders(option.value, out);
    if (el.children) placeholders(el.children, out);
  }
  return out;
}

/** What keeps `text` from being typeset as French is (ICU placeholders are left as they are). */
function frenchProblems(text: string): string[] {
  const out: string[] = [];
  if (text.includes("'")) out.push('an ASCII apostrophe (’ in French)');
  if (text.includes('"')) out.push('English quotes (« » in French)');
  if (/ [:;!?»]/.test(text) || /« /.test(text)) out.push('an ordinary space where a no-break one goes');
  // A colon after a word takes U+00A0 (times such as 08:00 and addresses such as http:// aside).
  if (/[^\s\u00a0\u202f]:(\s|$)/.test(text)) out.push('no no-break space before ":"');
  if (/[^\s\u00a0\u202f(][;!?](\s|$|\))/.test(text) || / [;!?]/.test(text)) out.push('no narrow no-break space before ; ! or ?');
  if (/«[^\u00a0]|[^\u00a0]»/.test(text)) out.push('« » without no-break spaces inside');
  return out;
}

describe('message catalogs', () => {
  const catalogs = readCatalogs();
  const english = catalogs.get('en')!;
  const used = usedKeys();

  it('has English and French, each named in its own language with a locale Intl knows', () => {
    expect([...catalogs.keys()]).toEqual(expect.arrayContaining(['en', 'fr']));
    for (const [code, c] of catalogs) {
      expect([code, c.language.locale.split('-')[0]]).toEqual([code, code]);
      expect([code, Intl.DateTimeFormat.supportedLocalesOf([c.language.locale])]).toEqual([code, [c.language.locale]]);
    }
    expect(catalogs.get('fr')!.language.name).toBe('Français');
  });

  it('has every key the code uses, in every language', () => {
    expect(used.size).toBeGreaterThan(300);
    for (const [code, c] of catalogs) {
      const missing = [...used].filter(([key]) => c.messages[key] === undefined).map(([key, file]) => `${key} (${file})`);
      expect([code, missing]).toEqual([code, []]);
    }
  });

  it('has no key the code does not use, and the same keys in every language', () => {
    const unused = Object.keys(english.messages).filter((key) => !used.has(key));
    expect(unused).toEqual([]);
    for (const [code, c] of catalogs) expect([code, Object.keys(c.messages).sort()]).toEqual([code, Object.keys(english.messages).sort()]);
  });

  it('parses every message, with the same placeholders in every language', () => {
    const problems: string[] = [];
    for (const [code, c] of catalogs) {
      for (const [key, text] of Object.entries(c.messages)) {
        try {
          const theirs = placeholders(new IntlMessageFormat(text, c.language.locale, undefined, { ignoreTag: true }).getAst());
          const ours = placeholders(new IntlMessageFormat(english.messages[key] ?? '', 'en', undefined, { ignoreTag: true }).getAst());
          if ([...theirs].sort().join() !== [...ours].sort().join()) problems.push(`${code} ${key}: {${[...theirs].sort().join(', ')}} where English has {${[...ours].sort().join(', ')}}`);
        } catch (err) {
          problems.push(`${code} ${key}: ${(err as Error).message}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('typesets French as French is typeset', () => {
    const problems = Object.entries(catalogs.get('fr')!.messages).flatMap(([key, text]) => frenchProblems(text).map((why) => `${key}: ${why}: ${JSON.stringify(text)}`));
    expect(problems).toEqual([]);
  });

  it('catches what French typesetting forbids (the check above can fail)', () => {
    expect(frenchProblems("L'heure : 08:00 ; « bien »\u00a0!")).toEqual([
      'an ASCII apostrophe (’ in French)',
      'an ordinary space where a no-break one goes',
      'no narrow no-break space before ; ! or ?',
      '« » without no-break spaces inside',
    ]);
    expect(frenchProblems('Réglages: "nord"')).toEqual(['English quotes (« » in French)', 'no no-break space before ":"']);
    expect(frenchProblems('L’heure\u00a0: 08:00\u202f; «\u00a0bien\u00a0»\u202f! http://x {n}\u00a0:')).toEqual([]);
  });

  it('formats in each language: plurals, numbers and the typographic spaces', () => {
    const sut = new Catalogs(new Map<string, CatalogFile>([
      ['en', { language: { name: 'English', locale: 'en-GB' }, messages: { n: '{count, plural, one {# picture} other {# pictures}}', q: 'Sure?' } }],
      ['fr', { language: { name: 'Français', locale: 'fr-FR' }, messages: { n: '{count, plural, one {# photo} other {# photos}}', q: 'Sûr\u202f?' } }],
    ]));
    const fr = sut.translator('fr');
    expect([fr(`n`, { count: 0 }), fr('n', { count: 1 }), fr('n', { count: 1440 })]).toEqual(['0 photo', '1 photo', '1\u202f440 photos']);
    expect(sut.translator('en')('n', { count: 1440 })).toBe('1,440 pictures');
    expect(fr('q')).toBe('Sûr\u202f?');
    // A language the box has no catalog for speaks English; a key only English has falls back to it.
    expect(sut.translator('de').lang).toBe('en');
    expect(() => fr('nope')).toThrow('no message "nope"');
  });

  it('picks the reader\'s language: their choice, else their browser\'s, else the box\'s', () => {
    const sut = new Catalogs();
    expect(sut.pick('fr', 'en-US,en;q=0.9', 'en')).toBe('fr');
    expect(sut.pick(null, 'fr-CH, fr;q=0.9, en;q=0.8', 'en')).toBe('fr');
    expect(sut.pick(null, 'de-DE, en;q=0.5', 'fr')).toBe('en');
    expect(sut.pick(null, 'de-DE', 'fr')).toBe('fr');
    expect(sut.pick(null, undefined, 'fr')).toBe('fr');
    expect(sut.pick('xx', 'garbage;;q=', 'en')).toBe('en');
  });

  it('reads only what a catalog must be, and names the file that is not', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-i18n-'));
    try {
      fs.writeFileSync(path.join(dir, 'en.json'), JSON.stringify({ language: { name: 'English', locale: 'en-GB' }, messages: { a: 'A' } }));
      fs.writeFileSync(path.join(dir, 'fr.json'), '{"language": {"name": "Français"}, "messages": {}}');
      expect(() => readCatalogs(dir)).toThrow(`${path.join(dir, 'fr.json')}: expected {"language": {"name", "locale"}, "messages": {...}}`);
      fs.writeFileSync(path.join(dir, 'fr.json'), '{ nope');
      expect(() => readCatalogs(dir)).toThrow(/fr\.json: not JSON/);
      fs.rmSync(path.join(dir, 'fr.json'));
      fs.rmSync(path.join(dir, 'en.json'));
      expect(() => readCatalogs(dir)).toThrow('the English catalog (en.json) is missing');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(catalogFolder()).toBe(path.join(ROOT, 'i18n'));
  });
});
