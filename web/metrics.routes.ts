/**
 * GET /metrics for Prometheus (issue 8): maintainers only (SPEC), as the
 * numbers tell the box's state and its sources' names. A Prometheus job scrapes it
 * with `basic_auth` as a maintainer user. Served at the root, not under `/api`,
 * where scrapers look for it.
 */
import express, { type Router } from 'express';
import type { WebDeps } from './deps';
import { basicAuth } from './auth.middleware';
import { HttpError } from './errors';
import { Routes, type Access, type DeclaredRoute } from './routes';

export function metricsRoutes(deps: WebDeps, access: Access, declared: DeclaredRoute[]): Router {
  const router = express.Router();
  const routes = new Routes(router, '', declared, access, [basicAuth(deps.authenticator)]);
  routes.get('/metrics', { kind: 'profile', profiles: ['maintainer'] }, async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    // 503 rather than 404: the route exists, and a scraper's "down" says the right thing.
    const metrics = deps.metrics;
    if (!metrics) throw new HttpError(503, 'metrics are not available');
    const text = await metrics.text();
    res.type(metrics.contentType).send(text);
  });
  return router;
}
