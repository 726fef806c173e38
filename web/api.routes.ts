/**
 * The JSON API (SPEC §5). Each route finds the user's level on the source first;
 * no level means 404, too low a level means 403.
 */
import express, { type Response, type Router } from 'express';
import { atLeast, levelOn, visibleSources, type Grants, type Level } from '../daemon/auth/permissions';
import type { SourceConfig } from '../daemon/config/schema';
import type { Picture } from '../daemon/store/pictures.repository';
import type { WebDeps } from './app';
import { userOf } from './auth.middleware';
import { HttpError } from './errors';

/** Customer grants arrive with groups and grants; until then customers see no source. */
const NO_GRANTS: Grants = new Map();

export function apiRoutes(deps: WebDeps): Router {
  const router = express.Router();

  /** The source if the user may see it at `wanted` level; 404 if not visible, 403 if visible but not enough. */
  const sourceFor = (res: Response, id: string, wanted: Level): SourceConfig => {
    const source = deps.config().sources.find((s) => s.id === id);
    const level = source ? levelOn(userOf(res), source.id, NO_GRANTS) : null;
    if (!source || level === null) throw new HttpError(404, `no source "${id}"`);
    if (!atLeast(level, wanted)) throw new HttpError(403, `your profile may not do this on source "${id}"`);
    return source;
  };

  router.get('/me', (_req, res) => {
    const user = userOf(res);
    const ids = deps.config().sources.map((s) => s.id);
    res.json({ username: user.username, profile: user.profile, sources: visibleSources(user, ids, NO_GRANTS) });
  });

  router.get('/sources', (_req, res) => {
    const user = userOf(res);
    const visible = new Set(visibleSources(user, deps.config().sources.map((s) => s.id), NO_GRANTS).map((s) => s.id));
    res.json({ sources: deps.status.sources().filter((s) => visible.has(s.id)) });
  });

  router.get('/sources/:id', (req, res) => {
    res.json(deps.status.source(sourceFor(res, req.params.id, 'view')));
  });

  router.post('/sources/:id/capture', async (req, res) => {
    const source = sourceFor(res, req.params.id, 'edit');
    if (!source.enabled) throw new HttpError(409, `source "${source.id}" is disabled`);
    const outcome = await deps.capture.capture(source.id, 'manual');
    if (outcome.status === 'skipped') throw new HttpError(409, outcome.reason);
    if (outcome.status === 'failed') {
      throw new HttpError(502, outcome.error.message, { code: outcome.error.code, ...(outcome.error.advice ? { advice: outcome.error.advice } : {}) });
    }
    const picture = outcome.picture;
    if (req.accepts(['application/json', 'image/jpeg']) === 'image/jpeg') {
      res.status(201).type('image/jpeg');
      return res.sendFile(deps.layout.absolute(picture.path), { headers: { 'Cache-Control': 'no-store' } });
    }
    res.status(201).json({ picture: pictureJson(picture), durationMs: outcome.durationMs });
  });

  return router;
}

export function pictureJson(p: Picture) {
  return { id: p.id, source: p.sourceId, takenAt: new Date(p.takenAt).toISOString(), date: p.localDate, width: p.width, height: p.height, size: p.size };
}
