/**
 * The JSON API (SPEC §5). Each route finds the user's level on the source first;
 * no level means 404, too low a level means 403.
 */
import express, { type Response, type Router } from 'express';
import fs from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { atLeast, levelOn, seesWithoutWatermark, visibleSources, type Grants, type Level } from '../daemon/auth/permissions';
import { isCameraFault } from '../daemon/pipeline/picture.pipeline';
import type { DerivativeKind } from '../daemon/pipeline/plan';
import type { SourceConfig } from '../daemon/config/schema';
import type { Picture } from '../daemon/store/pictures.repository';
import type { WebDeps } from './app';
import { userOf } from './auth.middleware';
import { HttpError } from './errors';
import { notModified, sendCachedFile, setCacheHeaders } from './http-cache';
import { videoRoutes } from './videos.routes';

/** Customer grants arrive with groups and grants (issue 7); until then customers see no source. */
const NO_GRANTS: Grants = new Map();
const PICTURE_SIZES = ['thumb', 'preview', 'original'] as const;
/** Pictures never change under their id: browsers keep them a day, privately (they are behind a login). */
const PICTURE_CACHE = 'private, max-age=86400';

export function apiRoutes(deps: WebDeps): Router {
  const router = express.Router();
  const grantsOf = (res: Response): Grants => deps.grants?.(userOf(res)) ?? NO_GRANTS;

  /** The user's level on a source, or a 404 as if it did not exist; 403 if visible but not enough. */
  const levelFor = (res: Response, source: SourceConfig | undefined, wanted: Level, notFoundMessage: string): Level => {
    const level = source ? levelOn(userOf(res), source.id, grantsOf(res)) : null;
    if (!source || level === null) throw new HttpError(404, notFoundMessage);
    if (!atLeast(level, wanted)) throw new HttpError(403, `your profile may not do this on source "${source.id}"`);
    return level;
  };

  /** The source if the user may see it at `wanted` level. */
  const sourceFor = (res: Response, id: string, wanted: Level): SourceConfig => {
    const source = deps.config().sources.find((s) => s.id === id);
    levelFor(res, source, wanted, `no source "${id}"`);
    return source!;
  };

  router.get('/me', (_req, res) => {
    const user = userOf(res);
    const ids = deps.config().sources.map((s) => s.id);
    res.json({ username: user.username, profile: user.profile, sources: visibleSources(user, ids, grantsOf(res)) });
  });

  // The box's health and sync backlog: maintainers, and directors read-only (SPEC §5).
  router.get('/system', async (_req, res) => {
    const { profile } = userOf(res);
    if (profile !== 'maintainer' && profile !== 'director') throw new HttpError(403, 'only maintainers and directors may see the system status');
    res.json(await deps.status.system());
  });

  router.get('/sources', (_req, res) => {
    const user = userOf(res);
    const visible = new Set(visibleSources(user, deps.config().sources.map((s) => s.id), grantsOf(res)).map((s) => s.id));
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

  /**
   * A size of a picture (SPEC §4, §5): thumb and preview for viewers, the original
   * for the download level. Customers get the watermarked sizes; directors and
   * maintainers the clean ones. A picture of a source the user may not see is 404.
   */
  router.get('/pictures/:id/:size', async (req, res) => {
    const id = /^[1-9]\d{0,15}$/.test(req.params.id) ? Number(req.params.id) : null;
    const picture = id === null ? undefined : deps.pictures.get(id);
    const source = picture ? deps.config().sources.find((s) => s.id === picture.sourceId) : undefined;
    const notFound = `no picture ${req.params.id}`;
    const size = req.params.size;
    if (!(PICTURE_SIZES as readonly string[]).includes(size)) {
      levelFor(res, source, 'view', notFound);
      throw new HttpError(400, `no size "${size}" for a picture`, { size: `expected one of: ${PICTURE_SIZES.join(', ')}` });
    }
    const level = levelFor(res, source, size === 'original' ? 'download' : 'view', notFound);
    const clean = seesWithoutWatermark(level) || source!.image.watermark === undefined;
    const p = picture!;
    const headers = { lastModified: new Date(p.takenAt), cacheControl: PICTURE_CACHE, contentType: 'image/jpeg' };
    res.setHeader('Vary', 'Authorization');
    if (size === 'original') {
      const disposition = req.query['download'] !== undefined ? `attachment; filename="${downloadName(p)}"` : undefined;
      if (p.rejection && isCameraFault(p.rejection) && level !== 'manage') {
        throw new HttpError(404, `picture ${p.id} was rejected (${p.rejection.code}); only a maintainer may fetch it`);
      }
      if (clean) {
        const file = await deps.sizes.original(p);
        const etag = `"o${p.id}-${(p.sha256 ?? String(p.size)).slice(0, 16)}"`;
        return sendCachedFile(req, res, file, { ...headers, etag, ...(disposition ? { disposition } : {}) });
      }
      const watermark = source!.image.watermark!;
      const etag = `"w${p.id}-${(p.sha256 ?? String(p.size)).slice(0, 12)}-${shortHash(JSON.stringify(watermark))}"`;
      setCacheHeaders(res, { ...headers, etag, ...(disposition ? { disposition } : {}) });
      if (notModified(req, etag, headers.lastModified)) return res.status(304).end();
      return res.send(await deps.sizes.watermarkedOriginal(p, source!));
    }
    const kind: DerivativeKind = clean ? (size as 'thumb' | 'preview') : (`${size as 'thumb' | 'preview'}-wm` as const);
    const file = await deps.sizes.file(p, source!, kind);
    const st = await fs.stat(file);
    const etag = `"${kind}${p.id}-${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`;
    await sendCachedFile(req, res, file, { ...headers, etag });
  });

  videoRoutes(router, deps, { levelFor, sourceFor });
  return router;
}

/** `north-20261123-101500.jpg`: says what it is once saved on someone's disk. */
function downloadName(p: Picture): string {
  return `${p.sourceId}-${new Date(p.takenAt).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}.jpg`;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

export function pictureJson(p: Picture) {
  return {
    id: p.id,
    source: p.sourceId,
    takenAt: new Date(p.takenAt).toISOString(),
    date: p.localDate,
    width: p.width,
    height: p.height,
    size: p.size,
    sha256: p.sha256,
    exifTakenAt: p.exifTakenAt === null ? null : new Date(p.exifTakenAt).toISOString(),
    luminance: p.luminance === null ? null : Math.round(p.luminance * 10) / 10,
    rejection: p.rejection,
  };
}
