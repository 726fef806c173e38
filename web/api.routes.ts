/**
 * The JSON API of sources and pictures (SPEC §5). Each route declares its rule
 * (web/routes.ts); a source or picture the user may not see is 404, a level too
 * low is 403.
 */
import express, { type Request, type Response, type Router } from 'express';
import fs from 'node:fs/promises';
import { createHash } from 'node:crypto';
import archiver from 'archiver';
import { seesWithoutWatermark, visibleSources, atLeast, type Level } from '../daemon/auth/permissions';
import { isCameraFault, type DerivativeKind, type Picture } from '../daemon/domain/pictures';
import type { SourceConfig } from '../daemon/config/schema';
import type { WebDeps } from './app';
import { userOf } from './auth.middleware';
import { HttpError } from './errors';
import { notModified, sendCachedFile, setCacheHeaders } from './http-cache';
import { clientAddress, param, sourceOf, type Access, type DeclaredRoute, Routes } from './routes';
import { videoRoutes } from './videos.routes';
import { DownloadSlots } from './download-slots';
import { adminRoutes } from './admin.routes';

const PICTURE_SIZES = ['thumb', 'preview', 'original'] as const;
/** Pictures never change under their id: browsers keep them a day, privately (they are behind a login). */
const PICTURE_CACHE = 'private, max-age=86400';
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const PAGE_DEFAULT = 500;
const PAGE_MAX = 2000;

export function apiRoutes(deps: WebDeps, access: Access, declared: DeclaredRoute[]): Router {
  const router = express.Router();
  const slots = new DownloadSlots(deps.downloadLimits);
  /** A heavy download in one of the user's slots (429 when none is free); skipped if the client left while it waited. */
  const heavy = (res: Response, work: () => Promise<unknown>): Promise<unknown> => {
    let gone = false;
    res.once('close', () => (gone = true));
    return slots.run(userOf(res).username, () => (gone ? Promise.resolve() : work()));
  };
  const routes = new Routes(router, '/api', declared, access);
  const viewer = { kind: 'source', level: 'view' } as const;
  const editor = { kind: 'source', level: 'edit' } as const;

  routes.get('/me', { kind: 'user' }, (_req, res) => {
    const user = userOf(res);
    const config = deps.config();
    res.json({
      username: user.username,
      profile: user.profile,
      appliance: { name: config.appliance.name ?? config.appliance.id, timezone: config.appliance.timezone },
      sources: visibleSources(user, config.sources.map((s) => s.id), access.grantsOf(res)),
    });
  });

  // The box's health and sync backlog: maintainers, and directors read-only (SPEC §5).
  routes.get('/system', { kind: 'profile', profiles: ['maintainer', 'director'] }, async (_req, res) => {
    res.json(await deps.status.system());
  });

  // Charts of the box's vital signs: minute rows cover two days, hour rows 90 days, day rows all time.
  routes.get('/system/history', { kind: 'profile', profiles: ['maintainer', 'director'] }, (req, res) => {
    if (!deps.history) throw new HttpError(503, 'health history is not available');
    const resolution = req.query['resolution'] ?? 'hour';
    if (resolution !== 'minute' && resolution !== 'hour' && resolution !== 'day') throw new HttpError(400, 'resolution must be minute, hour or day', { resolution: 'expected minute, hour or day' });
    const span = { minute: 2 * 86_400_000, hour: 7 * 86_400_000, day: 365 * 86_400_000 }[resolution];
    const instant = (name: 'from' | 'to', fallback: number) => {
      const text = req.query[name];
      if (text === undefined) return fallback;
      const ms = typeof text === 'string' ? Date.parse(text) : NaN;
      if (!Number.isFinite(ms)) throw new HttpError(400, `${name} must be an ISO date or time`, { [name]: 'expected an ISO date or time such as 2026-11-23T10:00:00Z' });
      return ms;
    };
    const to = instant('to', Date.now());
    const from = instant('from', to - span);
    if (from >= to) throw new HttpError(400, 'from must be before to', { from: 'must be before to' });
    const points = deps.history(resolution, from, to);
    res.json({ resolution, from: new Date(from).toISOString(), to: new Date(to).toISOString(), points: points.map((p) => ({ ...p, at: new Date(p.at).toISOString() })) });
  });

  const sourceJson = (res: Response, source: SourceConfig) => {
    const latest = deps.pictures.latest(source.id);
    const level = access.levelFor(res, source, 'view', `no source "${source.id}"`);
    return { ...deps.status.source(source), level, latest: latest ? { id: latest.id, takenAt: new Date(latest.takenAt).toISOString(), date: latest.localDate } : null };
  };

  routes.get('/sources', { kind: 'user' }, (_req, res) => {
    const visible = new Set(visibleSources(userOf(res), deps.config().sources.map((s) => s.id), access.grantsOf(res)).map((s) => s.id));
    res.json({ sources: deps.config().sources.filter((s) => visible.has(s.id)).map((s) => sourceJson(res, s)) });
  });

  routes.get('/sources/:id', viewer, (_req, res) => {
    res.json(sourceJson(res, sourceOf(res)));
  });

  // Settings as in the config file, for the director's form; PATCH writes them back.
  routes.get('/sources/:id/settings', editor, (_req, res) => {
    const settings = deps.settings;
    if (!settings) throw new HttpError(404, 'settings cannot be edited here');
    res.json(settings.get(sourceOf(res).id, userOf(res).profile));
  });

  routes.patch('/sources/:id', editor, async (req, res) => {
    const settings = deps.settings;
    if (!settings) throw new HttpError(404, 'settings cannot be edited here');
    if (req.body === undefined || req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
      throw new HttpError(400, 'expected a JSON object with the settings to change', { body: 'a JSON object' });
    }
    const user = userOf(res);
    res.json(await settings.patch(sourceOf(res).id, req.body, { actor: `user:${user.username}`, address: clientAddress(req), profile: user.profile }));
  });

  routes.post('/sources/:id/capture', editor, async (req, res) => {
    const source = sourceOf(res);
    if (!source.enabled) throw new HttpError(409, `source "${source.id}" is disabled`);
    const outcome = await deps.capture.capture(source.id, 'manual');
    if (outcome.status === 'skipped') throw new HttpError(outcome.storage ? 507 : 409, outcome.reason);
    if (outcome.status === 'failed') {
      throw new HttpError(502, outcome.error.message, { code: outcome.error.code, ...(outcome.error.advice ? { advice: outcome.error.advice } : {}) });
    }
    const picture = outcome.picture;
    if (req.accepts(['application/json', 'image/jpeg']) === 'image/jpeg') {
      res.status(201).type('image/jpeg');
      return res.sendFile(deps.layout.absolute(picture.path), { headers: { 'Cache-Control': 'no-store' } });
    }
    res.status(201).json({ picture: pictureJson(picture, 'manage'), durationMs: outcome.durationMs });
  });

  routes.get('/sources/:id/days', viewer, (_req, res) => {
    res.json({ days: deps.pictures.days(sourceOf(res).id) });
  });

  routes.get('/sources/:id/pictures', viewer, (req, res) => {
    const source = sourceOf(res);
    const level = access.levelFor(res, source, 'view', `no source "${source.id}"`);
    const q = queryStrings(req, ['date', 'from', 'to', 'at', 'limit', 'cursor']);
    if (q.at !== undefined) {
      const at = instant(q.at, 'at');
      const picture = deps.pictures.nearest(source.id, at);
      return res.json({ pictures: picture ? [pictureJson(picture, level)] : [], next: null });
    }
    const limit = q.limit === undefined ? PAGE_DEFAULT : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) throw new HttpError(400, `bad limit "${q.limit}"`, { limit: `a whole number from 1 to ${PAGE_MAX}` });
    let after: { takenAt: number; id: number } | undefined;
    if (q.cursor !== undefined) {
      const m = /^(\d{1,15})-(\d{1,15})$/.exec(q.cursor);
      if (!m) throw new HttpError(400, 'bad cursor', { cursor: 'the "next" value of the previous page' });
      after = { takenAt: Number(m[1]), id: Number(m[2]) };
    }
    let range: { date: string } | { from: number; to: number };
    if (q.date !== undefined) {
      range = { date: checkDate(q.date, 'date') };
    } else if (q.from !== undefined || q.to !== undefined) {
      if (q.from === undefined || q.to === undefined) throw new HttpError(400, 'from and to go together', { [q.from === undefined ? 'from' : 'to']: 'required with the other' });
      range = { from: instant(q.from, 'from'), to: instant(q.to, 'to') };
      if (range.to <= range.from) throw new HttpError(400, 'to must be after from', { to: 'after from' });
    } else {
      throw new HttpError(400, 'say which pictures: date=YYYY-MM-DD, from and to, or at', { date: 'required unless from/to or at is given' });
    }
    const page = deps.pictures.page(source.id, range, limit + 1, after);
    const more = page.length > limit;
    const shown = more ? page.slice(0, limit) : page;
    const last = shown[shown.length - 1];
    res.json({ pictures: shown.map((p) => pictureJson(p, level)), next: more && last ? `${last.takenAt}-${last.id}` : null });
  });

  /** A picture the user may see, with its level; 404 for an unknown or invisible one. */
  const pictureFor = (res: Response, idText: string, wanted: Level): { picture: Picture; source: SourceConfig; level: Level } => {
    const id = /^[1-9]\d{0,15}$/.test(idText) ? Number(idText) : null;
    const picture = id === null ? undefined : deps.pictures.get(id);
    const source = picture ? deps.config().sources.find((s) => s.id === picture.sourceId) : undefined;
    const level = access.levelFor(res, source, wanted, `no picture ${idText}`);
    // Rejected pictures are not part of the gallery; only the box's people may look at them.
    if (picture!.rejection && !atLeast(level, 'edit')) throw new HttpError(404, `no picture ${idText}`);
    return { picture: picture!, source: source!, level };
  };

  routes.get('/pictures/:id', { kind: 'object', of: 'picture', level: 'view' }, (req, res) => {
    const { picture, level } = pictureFor(res, param(req, 'id'), 'view');
    const prev = deps.pictures.neighbour(picture.sourceId, picture, 'before');
    const next = deps.pictures.neighbour(picture.sourceId, picture, 'after');
    res.json({ picture: pictureJson(picture, level), prev: prev?.id ?? null, next: next?.id ?? null });
  });

  /**
   * A size of a picture (SPEC §4, §5): thumb and preview for viewers, the original
   * for the download level. Customers get the watermarked sizes; directors and
   * maintainers the clean ones.
   */
  routes.get('/pictures/:id/:size', { kind: 'object', of: 'picture', level: 'view' }, async (req, res) => {
    const size = param(req, 'size');
    if (!(PICTURE_SIZES as readonly string[]).includes(size)) {
      pictureFor(res, param(req, 'id'), 'view');
      throw new HttpError(400, `no size "${size}" for a picture`, { size: `expected one of: ${PICTURE_SIZES.join(', ')}` });
    }
    const { picture: p, source, level } = pictureFor(res, param(req, 'id'), size === 'original' ? 'download' : 'view');
    const clean = seesWithoutWatermark(level) || source.image.watermark === undefined;
    const headers = { lastModified: new Date(p.takenAt), cacheControl: PICTURE_CACHE, contentType: 'image/jpeg' };
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
      const watermark = source.image.watermark!;
      const etag = `"w${p.id}-${(p.sha256 ?? String(p.size)).slice(0, 12)}-${shortHash(JSON.stringify(watermark))}"`;
      setCacheHeaders(res, { ...headers, etag, ...(disposition ? { disposition } : {}) });
      if (notModified(req, etag, headers.lastModified)) return res.status(304).end();
      // Made on request, whole: no Range (a download manager's parallel ranges would each cost a render).
      return heavy(res, async () => res.send(await deps.sizes.watermarkedOriginal(p, source)));
    }
    const kind: DerivativeKind = clean ? (size as 'thumb' | 'preview') : (`${size as 'thumb' | 'preview'}-wm` as const);
    const file = await deps.sizes.file(p, source, kind);
    const st = await fs.stat(file);
    const etag = `"${kind}${p.id}-${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`;
    await sendCachedFile(req, res, file, { ...headers, etag });
  });

  // A whole day as a zip, streamed as it is made (JPEGs are stored, not compressed again).
  routes.get('/sources/:id/days/:date/zip', { kind: 'source', level: 'download' }, async (req, res) => {
    const source = sourceOf(res);
    const level = access.levelFor(res, source, 'download', `no source "${source.id}"`);
    const date = checkDate(param(req, 'date'), 'date');
    const first = deps.pictures.page(source.id, { date }, 1);
    if (first.length === 0) throw new HttpError(404, `no pictures of source "${source.id}" on ${date}`);
    const clean = seesWithoutWatermark(level) || source.image.watermark === undefined;
    await heavy(res, () => streamDayZip(res, deps, source, date, clean));
  });

  videoRoutes(routes, deps, access);
  adminRoutes(routes, deps);
  return router;
}

async function streamDayZip(res: Response, deps: WebDeps, source: SourceConfig, date: string, clean: boolean): Promise<void> {
  const archive = archiver('zip', { store: true });
  res.status(200);
  res.type('application/zip');
  res.setHeader('Content-Disposition', `attachment; filename="${source.id}-${date}.zip"`);
  res.setHeader('Cache-Control', 'private, no-store');
  let aborted = false;
  res.on('close', () => {
    if (!res.writableFinished) {
      aborted = true;
      archive.abort();
    }
  });
  archive.on('warning', (err) => deps.log.warn({ err, source: source.id, date }, 'a picture was left out of a day zip'));
  archive.on('error', (err) => {
    deps.log.error({ err, source: source.id, date }, 'day zip failed');
    res.destroy(err);
  });
  archive.pipe(res);
  let after: { takenAt: number; id: number } | undefined;
  // One page at a time, and each file waits for the archive to drain: memory stays flat for any day.
  for (;;) {
    const page = deps.pictures.page(source.id, { date }, 200, after);
    for (const p of page) {
      if (aborted) return;
      const name = downloadName(p);
      if (clean) {
        // Through `original`: a file reached through a link inside the data folder is left out, as a missing one is.
        const file = await deps.sizes.original(p).catch((err: unknown) => void deps.log.warn({ err, source: source.id, date }, `picture ${p.id} was left out of a day zip`));
        if (!file) continue;
        const written = entryWritten(archive);
        archive.file(file, { name, date: new Date(p.takenAt) });
        await written;
      } else {
        const data = await deps.sizes.watermarkedOriginal(p, source);
        const written = entryWritten(archive);
        archive.append(data, { name, date: new Date(p.takenAt) });
        await written;
      }
    }
    if (page.length < 200) break;
    after = page[page.length - 1]!;
  }
  if (!aborted) await archive.finalize();
}

/** Resolves once the archive has written the entry just queued, or has stopped: the queue never grows. */
function entryWritten(archive: archiver.Archiver): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      archive.off('entry', done);
      archive.off('error', done);
      archive.off('close', done);
      resolve();
    };
    archive.once('entry', done);
    archive.once('error', done);
    archive.once('close', done);
  });
}

function queryStrings<K extends string>(req: Request, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = req.query[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new HttpError(400, `give ${key} once`, { [key]: 'a single value' });
    out[key] = value;
  }
  return out;
}

function checkDate(text: string, field: string): string {
  const valid = DATE.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text);
  if (!valid) throw new HttpError(400, `bad date "${text.slice(0, 40)}"`, { [field]: 'a date YYYY-MM-DD' });
  return text;
}

function instant(text: string, field: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new HttpError(400, `bad time "${text.slice(0, 40)}"`, { [field]: 'an ISO 8601 date and time, e.g. 2026-11-23T10:15:00Z' });
  return ms;
}

/** `north-20261123-101500.jpg`: says what it is once saved on someone's disk. */
function downloadName(p: Picture): string {
  return `${p.sourceId}-${new Date(p.takenAt).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}.jpg`;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** A picture as the API shows it; with a level, the URLs of the sizes that level may fetch. */
export function pictureJson(p: Picture, level?: Level) {
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
    ...(level
      ? {
          urls: {
            thumb: `/api/pictures/${p.id}/thumb`,
            preview: `/api/pictures/${p.id}/preview`,
            ...(atLeast(level, 'download') ? { original: `/api/pictures/${p.id}/original` } : {}),
          },
        }
      : {}),
  };
}
