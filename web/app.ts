/**
 * The HTTP face of the box (SPEC §5): health, public pictures, the JSON API and
 * the UI behind Basic auth. Every route is declared with its rule (web/routes.ts);
 * the declared rules are kept in `app.locals.routes` for the permission-table test.
 */
import express, { type Express } from 'express';
import compression from 'compression';
import type { Config } from '../daemon/config/schema';
import type { HealthPoint, HealthResolution } from '../daemon/store/health.repository';
import type { Logger } from '../daemon/logger';
import type { Authenticator } from '../daemon/auth/authenticator';
import type { StatusService } from '../daemon/status.service';
import type { CaptureService } from '../daemon/capture/capture.service';
import type { PublicImages } from '../daemon/storage/public-image';
import type { DataLayout } from '../daemon/files/layout';
import type { PicturesRepository } from '../daemon/store/pictures.repository';
import type { PictureSizes } from '../daemon/storage/picture-sizes';
import type { VideosRepository } from '../daemon/store/videos.repository';
import type { VideoJobs } from '../daemon/timelapse/video-jobs.service';
import type { UsersService } from '../daemon/auth/users.service';
import type { AccessService } from '../daemon/auth/access.service';
import type { AuditRepository } from '../daemon/store/audit.repository';
import type { EventsRepository } from '../daemon/store/events.repository';
import type { Profile } from '../daemon/domain/users';
import type { Metrics } from '../daemon/health/metrics';
import { basicAuth, sameOriginJson } from './auth.middleware';
import { errorHandler, sendError } from './errors';
import { jsonBody } from './json-body';
import type { DownloadLimits } from './download-slots';
import { publicRoutes } from './public.routes';
import { apiRoutes } from './api.routes';
import { uiRoutes } from './ui.routes';
import { metricsRoutes } from './metrics.routes';
import { Access, Routes, type DeclaredRoute } from './routes';

/** Editing a source's settings in the config file (daemon/config/source-settings.ts). */
export interface SettingsEditor {
  get(sourceId: string, profile: Profile): { settings: Record<string, unknown>; editable: string[] };
  patch(sourceId: string, patch: unknown, who: { actor: string; address?: string; profile: Profile }): Promise<{ settings: Record<string, unknown> }>;
}

export interface WebDeps {
  config: () => Config;
  layout: DataLayout;
  authenticator: Authenticator;
  status: StatusService;
  capture: Pick<CaptureService, 'capture' | 'isBusy'>;
  publicImages: PublicImages;
  pictures: Pick<PicturesRepository, 'get' | 'latest' | 'days' | 'page' | 'neighbour' | 'nearest'>;
  sizes: Pick<PictureSizes, 'file' | 'original' | 'watermarkedOriginal'>;
  /** Videos and their jobs; without them the video routes answer 404. */
  videos?: Pick<VideosRepository, 'get' | 'list'>;
  videoJobs?: Pick<VideoJobs, 'submitCustom' | 'get' | 'list' | 'cancel'>;
  users: Pick<UsersService, 'list' | 'get' | 'add' | 'setProfile' | 'setPassword' | 'remove'>;
  /** Groups and grants, and each user's levels. */
  accessAdmin: Pick<AccessService, 'grantsFor' | 'userView' | 'groups' | 'group' | 'addGroup' | 'removeGroup' | 'addMember' | 'removeMember' | 'grantUser' | 'revokeUser' | 'grantGroup' | 'revokeGroup'>;
  audit: Pick<AuditRepository, 'query'>;
  events: Pick<EventsRepository, 'recent'>;
  /** Without it, settings cannot be edited over HTTP (404). */
  settings?: SettingsEditor;
  health: () => Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Prometheus metrics; without them GET /metrics answers 503. */
  metrics?: Pick<Metrics, 'text' | 'contentType'>;
  /** Bounds on day zips and watermarked originals; DOWNLOAD_LIMITS by default (tests lower them). */
  downloadLimits?: DownloadLimits;
  /** Health samples for charts (minute, hour or day rows in [from, to)); without it the history route answers 503. */
  history?: (resolution: HealthResolution, from: number, to: number) => HealthPoint[];
  log: Logger;
}

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
  api.use(apiRoutes(deps, access, declared));
  api.use((req, res) => sendError(res, 404, `no such API route: ${req.method} ${req.baseUrl}${req.path}`));
  app.use('/api', api);

  app.use(metricsRoutes(deps, access, declared));
  app.use(uiRoutes(auth, access, declared));

  app.use((_req, res) => {
    res.setHeader('X-Frame-Options', 'DENY');
    sendError(res, 404, 'not found');
  });
  app.use(errorHandler(deps.log));
  return app;
}
