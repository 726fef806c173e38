/**
 * The UI: one HTML page and its static assets (`web/ui/`), behind the same Basic
 * auth as the API so the browser asks for credentials once and resends them to
 * `/api`. Everything is served from this origin: the Content-Security-Policy
 * allows no inline script or style and no other site, and no one may frame it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { Routes, type Access, type DeclaredRoute } from './routes';
import { HttpError } from './errors';
import type { Catalogs } from '../daemon/i18n/catalogs';
import { readerLanguage } from './language';

export { readerLanguage } from './language';
import { userOf } from './auth.middleware';

export const UI_CSP = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** `web/ui` from the sources (ts-jest) or from `dist/web` after the build. */
export function uiFolder(): string {
  const candidates = [path.join(__dirname, 'ui'), path.join(__dirname, '..', '..', 'web', 'ui')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html')));
  if (!found) throw new Error(`the UI files are missing: looked for index.html in ${candidates.join(' and ')}`);
  return found;
}

const ASSET = /^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)*\.(js|css|svg|png|ico)$/;

/** Files of the UI that come from a package rather than web/ui: FormatJS's browser build, without imports. */
const VENDOR: Record<string, () => string> = {
  'vendor/intl-messageformat.js': () => require.resolve('intl-messageformat/intl-messageformat.esm.js'),
};

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml', png: 'image/png', ico: 'image/x-icon' };

/** The UI's files as served: read once, then from memory (a name that is no file is not remembered: any may be asked). */
const assets = new Map<string, { body: Buffer; etag: string; type: string }>();

/**
 * One of the UI's files (`file` as under /ui/), or 404; names are checked against a strict
 * pattern before they reach the file system. Each file is read once and then served from
 * memory (the whole UI is about 150 KB, and it changes only with the version): headers and
 * body go out in one write, never waiting behind the pictures' work for the thread pool, so
 * the page's twenty modules arrive at once on a busy box, and the page's measure of its
 * link (web/ui/api.js) is not the box's load.
 */
export function sendUiAsset(res: Response, file: string): void {
  if (!ASSET.test(file)) throw new HttpError(404, 'not found');
  let asset = assets.get(file);
  if (asset === undefined) {
    const vendor = VENDOR[file];
    const real = vendor ? vendor() : path.join(uiFolder(), file);
    let body: Buffer;
    try {
      body = fs.readFileSync(real);
    } catch {
      throw new HttpError(404, 'not found'); // missing, or a folder
    }
    asset = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, type: TYPES[path.extname(file).slice(1)]! };
    assets.set(file, asset);
  }
  res.setHeader('Cache-Control', 'no-cache');
  // res.send answers 304 itself when the request's If-None-Match holds this ETag.
  res.setHeader('ETag', asset.etag);
  res.type(asset.type).send(asset.body);
}

/** Message keys the page never needs: the server's own pages, e-mails and error messages. */
const SERVER_ONLY = ['mail.', 'page.', 'apiError.'];

/**
 * The UI's one page in its reader's language (SPEC §9): `<html lang>`, its few words,
 * and the catalog the UI formats every message from, put in the page as a JSON data
 * block (which the Content-Security-Policy lets through: it runs nothing), so the first
 * view costs no second round trip on a slow link. `{{lang}}`, `{{i18n}}` and
 * `{{t key}}` in web/ui/index.html are filled here.
 */
export class UiPage {
  readonly #catalogs: Catalogs;
  readonly #template: string;
  readonly #pages = new Map<string, { body: string; etag: string }>();

  constructor(catalogs: Catalogs, folder = uiFolder()) {
    this.#catalogs = catalogs;
    this.#template = fs.readFileSync(path.join(folder, 'index.html'), 'utf8');
  }

  /**
   * Sends the page (below) with its validator: a reload over a slow link costs a 304,
   * not the page and its catalog again.
   */
  send(req: Request, res: Response, language: { lang: string; locale: string }, base = ''): void {
    const { body, etag } = this.#page(language, base);
    res.setHeader('ETag', etag);
    res.setHeader('Content-Language', language.lang);
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    res.type('html').send(body);
  }

  /** The page for a reader (`language` from `readerLanguage`), its assets under `base` (a share link's `/s/<token>`). */
  html(language: { lang: string; locale: string }, base = ''): string {
    return this.#page(language, base).body;
  }

  #page(language: { lang: string; locale: string }, base: string): { body: string; etag: string } {
    const key = `${language.lang}|${language.locale}|${base}`;
    let page = this.#pages.get(key);
    if (!page) {
      const t = this.#catalogs.translator(language.lang);
      const data = {
        lang: t.lang,
        locale: language.locale,
        languages: this.#catalogs.languages().map(({ code, name }) => ({ code, name })),
        messages: filterKeys(this.#catalogs.messages(t.lang)),
      };
      // `<` escaped: no message can close the data block.
      const json = JSON.stringify(data).replaceAll('<', '\\u003c');
      const body = (base ? this.#template.replaceAll('"/ui/', `"${base}/ui/`) : this.#template)
        .replace('{{lang}}', t.lang)
        .replace('{{i18n}}', `<script type="application/json" id="i18n">${json}</script>`)
        .replace(/\{\{t ([a-zA-Z0-9.]+)\}\}/g, (_m, k: string) => escapeHtml(t(k)));
      page = { body, etag: `"ui-${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
      // A handful of variants (languages × locales × share links seen), kept while there are few.
      if (this.#pages.size < 200) this.#pages.set(key, page);
    }
    return page;
  }
}

function filterKeys(messages: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(messages)) if (!SERVER_ONLY.some((p) => k.startsWith(p))) out[k] = v;
  return out;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

export function uiRoutes(auth: RequestHandler, access: Access, declared: DeclaredRoute[], ui: { page: UiPage; catalogs: Catalogs; locale: () => string }): Router {
  const router = express.Router();
  const headers: RequestHandler = (_req, res, next) => {
    res.setHeader('Content-Security-Policy', UI_CSP);
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  };
  const routes = new Routes(router, '', declared, access, [headers, auth]);
  routes.get('/', { kind: 'user' }, (req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    // The page depends on who asks and in which language: no shared cache may keep one for another.
    res.setHeader('Vary', 'Accept-Language, Authorization');
    const language = readerLanguage(ui.catalogs, req, userOf(res).language ?? null, ui.locale());
    ui.page.send(req, res, language);
  });
  // Assets are not secret but stay behind the login like the rest.
  routes.get('/ui/*file', { kind: 'user' }, (req, res) => {
    sendUiAsset(res, (req.params as unknown as { file: string[] }).file.join('/'));
  });
  return router;
}
