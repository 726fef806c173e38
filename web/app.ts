/**
 * The HTTP face of the box (SPEC §5): health, public pictures, and the JSON API
 * behind Basic auth. Routes ask the permission functions who may see what; a
 * source the user may not see answers 404, as if it did not exist.
 */
import express, { type Express } from 'express';
import type { Config } from '../daemon/config/schema';
import type { Logger } from '../daemon/logger';
import type { Authenticator } from '../daemon/auth/authenticator';
import type { StatusService } from '../daemon/status.service';
import type { CaptureService } from '../daemon/capture/capture.service';
import type { PublicImages } from '../daemon/pipeline/public-image';
import type { DataLayout } from '../daemon/files/layout';
import type { PicturesRepository } from '../daemon/store/pictures.repository';
import type { PictureSizes } from '../daemon/pipeline/picture-sizes';
import type { Grants, Principal } from '../daemon/auth/permissions';
import type { VideosRepository } from '../daemon/store/videos.repository';
import type { VideoJobs } from '../daemon/timelapse/video-jobs.service';
import { basicAuth, sameOriginJson } from './auth.middleware';
import { errorHandler, sendError } from './errors';
import { publicRoutes } from './public.routes';
import { apiRoutes } from './api.routes';

export interface WebDeps {
  config: () => Config;
  layout: DataLayout;
  authenticator: Authenticator;
  status: StatusService;
  capture: Pick<CaptureService, 'capture' | 'isBusy'>;
  publicImages: PublicImages;
  pictures: Pick<PicturesRepository, 'get'>;
  sizes: Pick<PictureSizes, 'file' | 'original' | 'watermarkedOriginal'>;
  /** Videos and their jobs; without them the video routes answer 404. */
  videos?: Pick<VideosRepository, 'get' | 'list'>;
  videoJobs?: Pick<VideoJobs, 'submitCustom' | 'get' | 'list' | 'cancel'>;
  /** Customers' grants (groups and grants arrive with issue 7); none by default. */
  grants?: (user: Principal) => Grants;
  health: () => Promise<{ ok: true } | { ok: false; reason: string }>;
  log: Logger;
}

export function createWebApp(deps: WebDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // picture routes set their own validators
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });

  app.get('/healthz', async (_req, res) => {
    const health = await deps.health();
    res.setHeader('Cache-Control', 'no-store');
    if (health.ok) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable', reason: health.reason });
  });

  app.use('/public', publicRoutes(deps));

  const api = express.Router();
  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });
  api.use(basicAuth(deps.authenticator));
  api.use(sameOriginJson());
  api.use(express.json({ limit: '64kb' }));
  api.use(apiRoutes(deps));
  api.use((req, res) => sendError(res, 404, `no such API route: ${req.method} ${req.baseUrl}${req.path}`));
  app.use('/api', api);

  app.use((_req, res) => {
    res.setHeader('X-Frame-Options', 'DENY');
    sendError(res, 404, 'not found');
  });
  app.use(errorHandler(deps.log));
  return app;
}
