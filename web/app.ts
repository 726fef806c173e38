/**
 * The HTTP face of the box (SPEC §5): health, public pictures, the JSON API and
 * the UI behind Basic auth. Every route is declared with its rule (web/routes.ts);
 * the declared rules are kept in `app.locals.routes` for the permission-table test.
 */
import express, { type Express, type RequestHandler, type Router } from 'express';
import compression from 'compression';
import { basicAuth, sameOriginJson } from './auth.middleware';
import { errorHandler, sendError } from './errors';
import { jsonBody } from './json-body';
import type { WebDeps } from './deps';
import { publicRoutes } from './public.routes';
import { systemRoutes } from './system.routes';
import { publicSwitchRoutes } from './public-switch.routes';
import { sourceRoutes } from './sources.routes';
import { pictureRoutes } from './pictures.routes';
import { jobRoutes, videoRoutes } from './videos.routes';
import { groupRoutes, journalRoutes, userRoutes } from './admin.routes';
import { UiPage, uiRoutes } from './ui.routes';
import { shareRoutes } from './shares.routes';
import { shareVisitorRoutes } from './share-visitor.routes';
import { metricsRoutes } from './metrics.routes';
import { Access, Routes, type DeclaredRoute } from './routes';
import { DownloadSlots } from './download-slots';

/** The tests and the benchmarks build their deps from here, as before web/deps.ts. */
export type { SettingsEditor, WebDeps } from './deps';

/** Request bodies are small JSON objects; anything bigger is refused with 413. */
const BODY_LIMIT = '64kb';

export function createWebApp(deps: WebDeps): Express {
  const app = express();
  const declared: DeclaredRoute[] = [];
  app.locals['routes'] = declared;
  app.disable('x-powered-by');
  app.set('etag', false); // picture routes set their own validators
  app.set('query parser', 'simple');
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });

  const access = new Access(
    () => deps.config().sources,
    (user) => deps.accessAdmin.grantsFor(user),
  );
  const auth = basicAuth(deps.authenticator);

  const root = express.Router();
  const anyone = new Routes(root, '', declared, null);
  anyone.get('/healthz', { kind: 'anyone' }, async (_req, res) => {
    const health = await deps.health();
    res.setHeader('Cache-Control', 'no-store');
    if (health.ok) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable', reason: health.reason });
  });
  app.use(root);

  app.use('/public', publicRoutes(deps, declared));

  // JSON, scripts and styles shrink five to tenfold over a 4G link; pictures, videos and zips are
  // left alone (they are not compressible), so Range requests and file streams stay as they are.
  // Mounted after the public routes: websites polling the latest picture skip it altogether.
  app.use(compression({ threshold: 2048 }));

  // Heavy downloads (day zips, watermarked originals) share one queue, for users and share links alike.
  const slots = new DownloadSlots(deps.downloadLimits);
  // What share links open, without an account (the token is the key; nothing else answers there).
  // The UI's page in its reader's language, for users and share links alike.
  const page = new UiPage(deps.catalogs);
  const ui = { page, catalogs: deps.catalogs, locale: () => deps.config().appliance.locale };
  app.use('/s', shareVisitorRoutes(deps, declared, slots, ui));
  app.use('/api', apiRouter(deps, auth, access, declared, slots));

  app.use(metricsRoutes(deps, access, declared));
  app.use(uiRoutes(auth, access, declared, ui));

  app.use((_req, res) => {
    res.setHeader('X-Frame-Options', 'DENY');
    sendError(res, 404, 'not found');
  });
  app.use(errorHandler(deps.log, deps.catalogs));
  return app;
}

/**
 * The JSON API behind Basic auth, every resource's routes mounted here in the order
 * they match (express tries routes in the order they were added).
 */
function apiRouter(deps: WebDeps, auth: RequestHandler, access: Access, declared: DeclaredRoute[], slots: DownloadSlots): Router {
  const api = express.Router();
  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    // Every API answer depends on who asks (pictures, videos and zips differ for customers):
    // a cache that keeps one (the pictures and videos are privately cacheable) must key it by the credentials.
    res.setHeader('Vary', 'Authorization');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    next();
  });
  api.use(auth);
  api.use(sameOriginJson());
  api.use(jsonBody(BODY_LIMIT));
  const resources = express.Router();
  const routes = new Routes(resources, '/api', declared, access);
  systemRoutes(routes, deps, access);
  publicSwitchRoutes(routes, deps);
  sourceRoutes(routes, deps, access);
  pictureRoutes(routes, deps, access, slots);
  videoRoutes(routes, deps, access);
  jobRoutes(routes, deps, access);
  shareRoutes(routes, deps, access);
  userRoutes(routes, deps);
  groupRoutes(routes, deps);
  journalRoutes(routes, deps);
  api.use(resources);
  api.use((req, res) => sendError(res, 404, `no such API route: ${req.method} ${req.baseUrl}${req.path}`));
  return api;
}
