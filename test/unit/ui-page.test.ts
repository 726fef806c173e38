/**
 * The UI's page in its reader's language (web/ui.routes.ts): `<html lang>`, its words,
 * the catalog as a data block that nothing in a message can close, the server-only
 * messages left out; and the language and locale a request gets.
 */
import express, { type Request } from 'express';
import { Catalogs, type CatalogFile } from '../../daemon/i18n/catalogs';
import { UiPage, readerLanguage } from '../../web/ui.routes';

const request = (acceptLanguage?: string) => ({ get: (name: string) => (name.toLowerCase() === 'accept-language' ? acceptLanguage : undefined) }) as unknown as Request;

describe('UiPage', () => {
  it('makes the page in the language asked for, the catalog in it as data', () => {
    const sut = new UiPage(new Catalogs());
    const fr = sut.html({ lang: 'fr', locale: 'fr-FR' });
    expect(fr).toMatch(/^<!doctype html>\n<html lang="fr">/);
    expect(fr).toContain('<p class="loading">Chargement…</p>');
    expect(fr).toContain('aria-label="Navigation principale"');
    expect(fr).not.toMatch(/\{\{(lang|i18n|t )/);
    const data = JSON.parse(/<script type="application\/json" id="i18n">(.*?)<\/script>/s.exec(fr)![1]!) as { lang: string; locale: string; languages: { code: string; name: string }[]; messages: Record<string, string> };
    expect([data.lang, data.locale]).toEqual(['fr', 'fr-FR']);
    expect(data.languages).toEqual(expect.arrayContaining([{ code: 'en', name: 'English' }, { code: 'fr', name: 'Français' }]));
    expect(data.messages['dom.loading']).toBe('Chargement…');
    // E-mails and the server's own pages are not the UI's business.
    expect(Object.keys(data.messages).filter((k) => /^(mail|page|apiError)\./.test(k))).toEqual([]);
    const en = sut.html({ lang: 'en', locale: 'en-US' });
    expect(en).toContain('<html lang="en">');
    expect(en).toContain('<p class="loading">Loading…</p>');
    // A share link's page has its assets under the link.
    expect(sut.html({ lang: 'en', locale: 'en-GB' }, '/s/abc')).toContain('href="/s/abc/ui/style.css"');
  });

  it('lets no message close its data block or reach the markup', () => {
    const hostile = new Catalogs(new Map<string, CatalogFile>([
      ['en', { language: { name: 'English', locale: 'en-GB' }, messages: { 'dom.loading': '</script><script>alert(1)</script>', 'index.mainNav': 'a "b" <c>', 'index.noScript': 'x' } }],
    ]));
    const page = new UiPage(hostile).html({ lang: 'en', locale: 'en-GB' });
    expect(page.match(/<\/script>/g)).toHaveLength(3); // the data block's own, boot.js's and app.js's
    expect(page).toContain('\\u003c/script>\\u003cscript>alert(1)\\u003c/script>');
    expect(page).toContain('aria-label="a &quot;b&quot; &lt;c&gt;"');
  });
});

describe('readerLanguage', () => {
  const catalogs = new Catalogs();
  it('takes the user\'s choice, else the browser\'s, else the box\'s; the browser\'s own region for dates', () => {
    expect(readerLanguage(catalogs, request('en-US,en;q=0.9'), 'fr', 'en')).toEqual({ lang: 'fr', locale: 'fr-FR' });
    expect(readerLanguage(catalogs, request('fr-CA,fr;q=0.9'), null, 'en')).toEqual({ lang: 'fr', locale: 'fr-CA' });
    expect(readerLanguage(catalogs, request('en-US,en;q=0.9'), null, 'fr')).toEqual({ lang: 'en', locale: 'en-US' });
    expect(readerLanguage(catalogs, request('de-DE'), null, 'fr')).toEqual({ lang: 'fr', locale: 'fr-FR' });
    expect(readerLanguage(catalogs, request(undefined), null, 'en')).toEqual({ lang: 'en', locale: 'en-GB' });
    // A tag that is no locale at all: the catalog's own.
    expect(readerLanguage(catalogs, request('fr-!!'), null, 'en').locale).toBe('fr-FR');
  });
});

describe('UiPage.send', () => {
  it('answers a reload with 304 when the page is the same, and anew when the language changes', async () => {
    const page = new UiPage(new Catalogs());
    const app = express();
    app.get('/', (req, res) => page.send(req, res, readerLanguage(new Catalogs(), req, null, 'en')));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
      const first = await fetch(base, { headers: { 'accept-language': 'fr-FR' } });
      const etag = first.headers.get('etag')!;
      expect([first.status, first.headers.get('content-language'), etag]).toEqual([200, 'fr', expect.stringMatching(/^"ui-[\w-]{22}"$/)]);
      // As a browser revalidates (fetch() would add "Cache-Control: no-cache", a forced reload).
      const again = (lang: string) => fetch(base, { headers: { 'accept-language': lang, 'if-none-match': etag, 'cache-control': 'max-age=0' } });
      expect((await again('fr-FR')).status).toBe(304);
      const english = await again('en-GB');
      expect([english.status, english.headers.get('content-language')]).toEqual([200, 'en']);
    } finally {
      server.close();
    }
  });
});

