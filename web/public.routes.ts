/**
 * Routes anyone may call: the latest picture of public sources, and a small page
 * that shows it and refreshes, for websites to embed in an iframe.
 */
import express, { type Router } from 'express';
import type { SourceConfig } from '../daemon/config/schema';
import { escapeMarkup } from '../daemon/markup';
import type { WebDeps } from './deps';
import { sendError } from './errors';
import { sendCachedFile } from './http-cache';
import { param, Routes, type DeclaredRoute } from './routes';

const SOURCE_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** The embed page's policy; any website may frame it. */
const EMBED_CSP = "default-src 'none'; img-src 'self' blob:; connect-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors *";

export function publicRoutes(deps: WebDeps, declared: DeclaredRoute[]): Router {
  const router = express.Router();
  const routes = new Routes(router, '/public', declared, null);

  const publicSource = (id: string): SourceConfig | undefined =>
    SOURCE_ID.test(id) ? deps.config().sources.find((s) => s.id === id && s.public.enabled) : undefined;

  routes.get('/:source/latest.jpg', { kind: 'anyone' }, async (req, res) => {
    const source = publicSource(param(req, 'source'));
    if (!source) return sendError(res, 404, 'no public source with this name');
    const image = await deps.publicImages.get(source);
    if (!image) return sendError(res, 404, 'this source has no picture yet');
    // Caches may keep the picture for half an interval, then must ask again (a cheap 304).
    const maxAge = Math.max(1, Math.min(300, Math.floor(source.schedule.every / 2000)));
    res.setHeader('Access-Control-Allow-Origin', '*');
    await sendCachedFile(req, res, image.file, {
      etag: image.etag,
      lastModified: new Date(image.picture.takenAt),
      cacheControl: `public, max-age=${maxAge}`,
      contentType: 'image/jpeg',
    });
  });

  routes.get('/:source', { kind: 'anyone' }, (req, res) => {
    const source = publicSource(param(req, 'source'));
    if (!source) return sendError(res, 404, 'no public source with this name');
    const refreshSeconds = Math.max(5, Math.min(300, Math.round(source.schedule.every / 1000)));
    // Everything the page loads, and nothing else: its own inline script and style, the picture
    // (first by URL, then as a blob: of what the script fetched) and that fetch (connect-src).
    res.setHeader('Content-Security-Policy', EMBED_CSP);
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.type('html').send(embedPage(source.id, source.name ?? source.id, refreshSeconds));
  });

  return router;
}

function embedPage(id: string, name: string, refreshSeconds: number): string {
  const title = escapeMarkup(name);
  const url = `/public/${id}/latest.jpg`; // id matched [a-z0-9-] before it got here
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>html,body{margin:0;height:100%;background:#111}img{display:block;width:100%;height:100%;object-fit:contain}</style>
</head><body>
<img id="latest" src="${url}" alt="${title}: latest picture">
<script>
(function () {
  var img = document.getElementById('latest');
  var shown = null;
  // Ask again with the cached copy's validators (a 304 when nothing is new, which fetch hands
  // back as the cached 200), and swap the picture only when its ETag says it is another one.
  setInterval(function () {
    fetch('${url}', { cache: 'no-cache' }).then(function (r) {
      var etag = r.headers.get('etag');
      if (!r.ok || (etag && etag === shown)) return;
      return r.blob().then(function (b) {
        var old = img.src;
        img.src = URL.createObjectURL(b);
        shown = etag;
        if (etag) img.setAttribute('data-etag', etag); // which picture is shown, for a look from outside
        if (old.indexOf('blob:') === 0) URL.revokeObjectURL(old);
      });
    }).catch(function () {});
  }, ${refreshSeconds * 1000});
})();
</script>
</body></html>
`;
}
