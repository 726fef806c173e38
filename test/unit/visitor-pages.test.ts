/**
 * The pages people read without an account, in their browser's language (issue 26): the
 * public embed page and its "not public" and "switched off" variants, and the page a share
 * link shows when it opens nothing. English stays as it was; the API's JSON stays English.
 */
import express, { type Router } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Catalogs } from '../../daemon/i18n/catalogs';
import { publicRoutes } from '../../web/public.routes';
import { shareVisitorRoutes } from '../../web/share-visitor.routes';
import type { WebDeps } from '../../web/deps';
import type { UiPage } from '../../web/ui.routes';
import type { DownloadSlots } from '../../web/download-slots';

const NBSP = '\u00a0';
const catalogs = new Catalogs();
let switchedOn = true;
/** What the link resolves to: a refusal, as the share service answers it (the share itself is not read by the message page). */
let resolved: { kind: string; reason?: string; retryAfterSeconds?: number } = { kind: 'unknown' };
let locale = 'en';
const deps = {
  config: () => ({ appliance: { locale }, sources: [{ id: 'north', name: 'North tower', public: { enabled: true, sizes: [] }, schedule: { every: 60_000 } }] }),
  publicSwitch: { enabled: () => switchedOn },
  catalogs,
  publicImages: { get: () => Promise.resolve(null) },
  shares: { resolve: () => resolved },
} as unknown as WebDeps;

let server: Server;
let base: string;
beforeAll(async () => {
  const app = express();
  const routers: [string, Router][] = [
    ['/public', publicRoutes(deps, [])],
    ['/s', shareVisitorRoutes(deps, [], {} as DownloadSlots, { page: {} as UiPage, catalogs, locale: () => locale })],
  ];
  for (const [at, router] of routers) app.use(at, router);
  server = app.listen(0, '127.0.0.1');
  await new Promise((ready) => server.once('listening', ready));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));
afterEach(() => {
  switchedOn = true;
  resolved = { kind: 'unknown' };
  locale = 'en';
});

async function page(path: string, acceptLanguage?: string): Promise<{ status: number; html: string; language: string | null; vary: string | null }> {
  const res = await fetch(base + path, acceptLanguage ? { headers: { 'accept-language': acceptLanguage } } : {});
  return { status: res.status, html: await res.text(), language: res.headers.get('content-language'), vary: res.headers.get('vary') };
}

describe('public pages', () => {
  it('speak the browser language, say so in <html lang> and Content-Language, and vary on Accept-Language', async () => {
    const fr = await page('/public/north', 'fr-CH, en;q=0.5');
    expect(fr.status).toBe(200);
    expect(fr.language).toBe('fr');
    expect(fr.vary).toContain('Accept-Language');
    expect(fr.html).toContain('<html lang="fr">');
    expect(fr.html).toContain(`alt="North tower${NBSP}: dernière photo"`);
    expect(fr.html).toContain('<p id="off" hidden>La vue publique de cette caméra est désactivée.</p>');

    const en = await page('/public/north', 'de, en;q=0.8');
    expect(en.language).toBe('en');
    expect(en.html).toContain('<html lang="en">');
    expect(en.html).toContain('alt="North tower: latest picture"');
    expect(en.html).toContain('<p id="off" hidden>The public view of this camera is switched off.</p>');

    const missing = await page('/public/south', 'fr');
    expect(missing.status).toBe(404);
    expect(missing.html).toContain('<title>Pas de photo publique</title>');
    expect(missing.html).toContain(`<p id="off">Il n’y a pas de photo publique ici${NBSP}: cette caméra n’est pas publique, ou l’adresse est erronée.</p>`);
  });

  it('fall back to appliance.locale for a browser that asks for no language the box speaks', async () => {
    locale = 'fr';
    switchedOn = false;
    const off = await page('/public/north', 'de');
    expect(off.status).toBe(404);
    expect(off.language).toBe('fr');
    expect(off.html).toContain('<title>Vue publique désactivée</title>');
    // The picture's own 404 stays a machine answer, in English.
    const picture = await fetch(`${base}/public/north/latest.jpg`, { headers: { 'accept-language': 'fr' } });
    expect(await picture.json()).toEqual({ error: 'the public pictures of this box are switched off' });
  });
});

describe('share-link message page', () => {
  it('tells a French visitor why the link opens nothing, in French, while the API answers in English', async () => {
    resolved = { kind: 'gone', reason: 'expired' };
    const expired = await page('/s/abcdef', 'fr-FR');
    expect(expired.status).toBe(410);
    expect(expired.language).toBe('fr');
    expect(expired.vary).toContain('Accept-Language');
    expect(expired.html).toContain('<html lang="fr">');
    expect(expired.html).toContain('<h1>Ce lien a expiré</h1><p>Le lien que vous avez ouvert a expiré. Demandez-en un nouveau à la personne qui vous l’a envoyé.</p>');

    resolved = { kind: 'throttled', retryAfterSeconds: 61 };
    expect((await page('/s/abcdef', 'fr')).html).toContain('<h1>Trop de tentatives</h1><p>Trop de liens non valides ont été ouverts depuis votre adresse. Réessayez dans 2 minutes.</p>');
    expect((await page('/s/abcdef')).html).toContain('<h1>Too many tries</h1><p>Too many links that open nothing came from your address. Try again in 2 minutes.</p>');

    resolved = { kind: 'gone', reason: 'revoked' };
    const api = await fetch(`${base}/s/abcdef/api/me`, { headers: { 'accept-language': 'fr' } });
    expect(api.status).toBe(410);
    expect(await api.json()).toEqual({ error: 'this share link was revoked' });
  });
});
