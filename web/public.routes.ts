/**
 * Routes anyone may call: the latest picture of public sources (at `public.width`
 * and at each width of `public.sizes`), and a small page
 * that shows it and refreshes, for websites to embed in an iframe. The pages speak the
 * visitor's browser's language (Accept-Language), else `appliance.locale`; the JSON
 * answers of the picture routes stay English (machine fields).
 */
import express, { type Request, type Response, type Router } from 'express';
import type { SourceConfig } from '../daemon/config/schema';
import type { Translate } from '../daemon/i18n/catalogs';
import { escapeMarkup } from '../daemon/markup';
import type { WebDeps } from './deps';
import { sendError } from './errors';
import { sendCachedFile } from './http-cache';
import { param, Routes, type DeclaredRoute } from './routes';
import { readerLanguage } from './ui.routes';

const SOURCE_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** The embed page's policy; any website may frame it. */
const EMBED_CSP = "default-src 'none'; img-src 'self' blob:; connect-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors *";
/** What every public route answers while the box-wide public switch is off. */
export const SWITCHED_OFF = 'the public pictures of this box are switched off';
/** A public source before its first picture (the embed page keeps waiting for one). */
const NO_PICTURE_YET = 'this source has no picture yet';
/** `/public/<source>`: the embed page, the one public route that is a page rather than a picture. */
const EMBED_PATH = /^\/[^/]+\/?$/;

/**
 * The language of a page a person reads without an account (public and share-link pages):
 * their browser's, else the box's. The answer says it (`Content-Language`) and that it
 * depends on `Accept-Language` (`Vary`), so a cache keeps one copy per language.
 */
export function visitorTranslator(deps: Pick<WebDeps, 'catalogs' | 'config'>, req: Request, res: Response): Translate {
  const language = readerLanguage(deps.catalogs, req, null, deps.config().appliance.locale);
  res.vary('Accept-Language');
  res.setHeader('Content-Language', language.lang);
  return deps.catalogs.translator(language.lang);
}

export function publicRoutes(deps: WebDeps, declared: DeclaredRoute[]): Router {
  const router = express.Router();
  const routes = new Routes(router, '/public', declared, null);

  // The box-wide public switch (issue 22), checked here once for every public route, those added
  // later too: while it is off they all answer 404 at once, sources public or not, known or not
  // (nothing tells which exist). 404 rather than 503: a website embedding the picture should show
  // nothing, and a cache must let the old picture go, where a 503 invites it to keep serving it
  // (stale-if-error) and monitoring to call the box down. no-store: nobody keeps this answer
  // either, so switching back on works at once too.
  router.use((req, res, next) => {
    if (deps.publicSwitch.enabled()) return next();
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (!EMBED_PATH.test(req.path)) return sendError(res, 404, SWITCHED_OFF);
    res.setHeader('Content-Security-Policy', EMBED_CSP);
    res.status(404).type('html').send(switchedOffPage(visitorTranslator(deps, req, res)));
  });

  const publicSource = (id: string): SourceConfig | undefined =>
    SOURCE_ID.test(id) ? deps.config().sources.find((s) => s.id === id && s.public.enabled) : undefined;

  routes.get('/:source/latest.jpg', { kind: 'anyone' }, async (req, res) => {
    const source = publicSource(param(req, 'source'));
    if (!source) return sendError(res, 404, 'no public source with this name');
    await sendPublicImage(req, res, source);
  });

  // The same picture at another width of `public.sizes`, for `<img srcset>` on a website.
  routes.get('/:source/latest-:width.jpg', { kind: 'anyone' }, async (req, res) => {
    const source = publicSource(param(req, 'source'));
    if (!source) return sendError(res, 404, 'no public source with this name');
    const text = param(req, 'width');
    const width = /^[1-9][0-9]{0,3}$/.test(text) ? Number(text) : NaN;
    if (!source.public.sizes.includes(width)) {
      const listed = source.public.sizes.length > 0 ? `its widths: ${source.public.sizes.join(', ')}` : 'it publishes latest.jpg only';
      return sendError(res, 404, `this source has no latest-${text.slice(0, 40)}.jpg (${listed})`);
    }
    await sendPublicImage(req, res, source, width);
  });

  async function sendPublicImage(req: Request, res: Response, source: SourceConfig, width?: number): Promise<void> {
    const image = await deps.publicImages.get(source, width);
    if (!image) return sendError(res, 404, NO_PICTURE_YET);
    // Caches may keep the picture for half an interval, then must ask again (a cheap 304).
    const maxAge = Math.max(1, Math.min(300, Math.floor(source.schedule.every / 2000)));
    res.setHeader('Access-Control-Allow-Origin', '*');
    await sendCachedFile(req, res, image.file, {
      etag: image.etag,
      lastModified: new Date(image.picture.takenAt),
      cacheControl: `public, max-age=${maxAge}`,
      contentType: 'image/jpeg',
    });
  }

  routes.get('/:source', { kind: 'anyone' }, (req, res) => {
    const source = publicSource(param(req, 'source'));
    // A person (or a website's frame) opened it: a page that says so, not JSON. The same for a
    // source that exists but is not public and for no source at all: nothing tells which exist.
    if (!source) {
      res.setHeader('Content-Security-Policy', EMBED_CSP);
      res.setHeader('Cache-Control', 'no-store');
      return res.status(404).type('html').send(notPublicPage(visitorTranslator(deps, req, res)));
    }
    const refreshSeconds = Math.max(5, Math.min(300, Math.round(source.schedule.every / 1000)));
    // Everything the page loads, and nothing else: its own inline script and style, the picture
    // (first by URL, then as a blob: of what the script fetched) and that fetch (connect-src).
    res.setHeader('Content-Security-Policy', EMBED_CSP);
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.type('html').send(embedPage(source.id, source.name ?? source.id, refreshSeconds, visitorTranslator(deps, req, res)));
  });

  return router;
}

function embedPage(id: string, name: string, refreshSeconds: number, t: Translate): string {
  const title = escapeMarkup(name);
  const url = `/public/${id}/latest.jpg`; // id matched [a-z0-9-] before it got here
  return `<!doctype html>
<html lang="${escapeMarkup(t.lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>html,body{margin:0;height:100%;background:#111}img{display:block;width:100%;height:100%;object-fit:contain}${OFF_STYLE}</style>
</head><body>
<img id="latest" src="${url}" alt="${escapeMarkup(t('page.public.pictureAlt', { name }))}">
<p id="off" hidden>${escapeMarkup(t('page.public.off'))}</p>
<script>
(function () {
  var img = document.getElementById('latest');
  var off = document.getElementById('off');
  var shown = null;
  // Ask again with the cached copy's validators (a 304 when nothing is new, which fetch hands
  // back as the cached 200), and swap the picture only when its ETag says it is another one.
  setInterval(function () {
    fetch('${url}', { cache: 'no-cache' }).then(function (r) {
      // 404: the picture is public no more (the box's public switch, or the source's): the old one
      // goes too, the message takes its place. Other failures (a restart, the network) keep it.
      if (r.status === 404) return r.json().catch(function () { return {}; }).then(function (e) {
        if (e && e.error === ${JSON.stringify(NO_PICTURE_YET)}) return;
        if (img.hasAttribute('src')) {
          var gone = img.src;
          img.removeAttribute('src');
          img.removeAttribute('data-etag');
          if (gone.indexOf('blob:') === 0) URL.revokeObjectURL(gone);
        }
        img.hidden = true;
        off.hidden = false;
        shown = null;
      });
      var etag = r.headers.get('etag');
      if (!r.ok || (etag && etag === shown)) return;
      return r.blob().then(function (b) {
        var old = img.src;
        img.src = URL.createObjectURL(b);
        shown = etag;
        if (etag) img.setAttribute('data-etag', etag); // which picture is shown, for a look from outside
        if (old.indexOf('blob:') === 0) URL.revokeObjectURL(old);
        img.hidden = false;
        off.hidden = true;
      });
    }).catch(function () {});
  }, ${refreshSeconds * 1000});
})();
</script>
</body></html>
`;
}

const OFF_STYLE = '[hidden]{display:none!important}#off{margin:0;padding:1rem;height:100%;box-sizing:border-box;display:flex;align-items:center;justify-content:center;text-align:center;color:#ddd;font:1.1rem/1.4 system-ui,sans-serif}';

/**
 * The embed page while the box's public switch is off: the message alone, no name (every
 * path answers the same). It asks every 30 s whether the picture is back, and then loads
 * the real page, so a website's frame comes back by itself once the switch is on again.
 */
/** The embed page of a name that is no public source: the message alone, no script. */
function notPublicPage(t: Translate): string {
  return `<!doctype html>
<html lang="${escapeMarkup(t.lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeMarkup(t('page.public.notPublicTitle'))}</title>
<style>html,body{margin:0;height:100%;background:#111}${OFF_STYLE}</style>
</head><body>
<p id="off">${escapeMarkup(t('page.public.notPublic'))}</p>
</body></html>
`;
}

function switchedOffPage(t: Translate): string {
  return `<!doctype html>
<html lang="${escapeMarkup(t.lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeMarkup(t('page.public.offTitle'))}</title>
<style>html,body{margin:0;height:100%;background:#111}${OFF_STYLE}</style>
</head><body>
<p id="off">${escapeMarkup(t('page.public.off'))}</p>
<script>
(function () {
  var picture = location.pathname.replace(/[/]?$/, '/latest.jpg');
  setInterval(function () {
    fetch(picture, { method: 'HEAD', cache: 'no-store' }).then(function (r) {
      if (r.ok) location.reload();
    }).catch(function () {});
  }, 30000);
})();
</script>
</body></html>
`;
}
