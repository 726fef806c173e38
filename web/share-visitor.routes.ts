/**
 * What a share link opens (SPEC §4, §5), under `/s/<token>`, without an account: the
 * UI's page and assets, and a small API that answers only inside the link's scope:
 * the live picture (`latest`), a source's pictures and films within an optional period
 * (`gallery`), one picture, one film, or the two pictures of a comparison. Everything
 * is watermarked like a customer sees it; downloads need a `download` link. A revoked
 * or expired link answers 410, an unknown token 404, and an address that keeps trying
 * tokens is throttled (429) like failed logins. Nothing else of the box answers here:
 * every route is declared with the scopes it serves, and the handlers check that the
 * picture, film, day or source asked for is inside the link.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { DateTime } from 'luxon';
import type { SourceConfig } from '../daemon/config/schema';
import type { Picture } from '../daemon/domain/pictures';
import type { Video } from '../daemon/domain/videos';
import type { Share, ShareLevel, ShareScope } from '../daemon/domain/shares';
import { localDate } from '../daemon/domain/data-folder';
import { escapeMarkup } from '../daemon/markup';
import type { WebDeps } from './deps';
import { HttpError, sendError } from './errors';
import { pictureJson, videoJson } from './json';
import { streamDayZip } from './day-zip';
import type { DownloadSlots } from './download-slots';
import { shareJson } from '../daemon/shares/share.service';
import { checkDate, heavyIn, sendOriginal, sendSmaller, SHOWN_SIZES, type Found, type ShownSize } from './pictures.routes';
import { clientAddress, param, Routes, type DeclaredRoute } from './routes';
import { sendPoster, sendVideoFile } from './videos.routes';
import { UI_CSP, readerLanguage, sendUiAsset, type UiPage } from './ui.routes';
import type { Catalogs, Translate } from '../daemon/i18n/catalogs';
import { visitorTranslator } from './public.routes';

/** Revalidated on every use, so a revoked link stops showing pictures at once (a 304 costs little). */
const SHARED_CACHE = 'private, no-cache';
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

const ALL: readonly ShareScope[] = ['latest', 'gallery', 'picture', 'video', 'compare'];
const GALLERY: readonly ShareScope[] = ['gallery'];
const PICTURES: readonly ShareScope[] = ['gallery', 'picture', 'compare'];
const FILMS: readonly ShareScope[] = ['gallery', 'video'];

const rule = (scopes: readonly ShareScope[]) => ({ kind: 'share', scopes }) as const;

export function shareVisitorRoutes(deps: WebDeps, declared: DeclaredRoute[], slots: DownloadSlots, ui: { page: UiPage; catalogs: Catalogs; locale: () => string }): Router {
  const router = express.Router();
  const heavy = heavyIn(slots, (res) => `share:${opened(res).share.id}`);

  /** Resolves the token before any rule or handler; the page itself counts as a use. */
  const resolve =
    (kind: 'page' | 'api' | 'asset'): RequestHandler =>
    (req, res, next) => {
      res.setHeader('X-Frame-Options', 'DENY');
      res.setHeader('X-Robots-Tag', 'noindex, nofollow');
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Content-Security-Policy', kind === 'page' ? UI_CSP : API_CSP);
      const found = deps.shares.resolve(param(req, 'token'), clientAddress(req), { open: kind === 'page' });
      if (found.kind === 'open') {
        res.locals.share = { share: found.share, level: found.level };
        return next();
      }
      const answer = refusal(found);
      if (found.kind === 'throttled') res.setHeader('Retry-After', String(found.retryAfterSeconds));
      if (kind !== 'page') return sendError(res, answer.status, answer.error);
      res.setHeader('Content-Security-Policy', PAGE_CSP);
      // A person opened it: the page in their browser's language, else the box's.
      const t = visitorTranslator(deps, req, res);
      const { title, text } = answer.page(t);
      res.status(answer.status).type('html').send(messagePage(t, title, text));
    };

  const pages = new Routes(router, '/s', declared, null, [resolve('page')]);
  const assets = new Routes(router, '/s', declared, null, [resolve('asset')]);
  const api = new Routes(router, '/s', declared, null, [resolve('api')]);

  pages.get('/:token', rule(ALL), (req, res) => {
    // The same UI in the visitor's browser's language, its assets under the link (the token matched [A-Za-z0-9_-] to get here).
    const language = readerLanguage(ui.catalogs, req, null, ui.locale());
    res.setHeader('Vary', 'Accept-Language');
    ui.page.send(req, res, language, `/s/${param(req, 'token')}`);
  });

  assets.get('/:token/ui/*file', rule(ALL), (req, res) => {
    res.setHeader('Content-Security-Policy', UI_CSP);
    sendUiAsset(res, (req.params as unknown as { file: string[] }).file.join('/'));
  });

  api.get('/:token/api/me', rule(ALL), (_req, res) => {
    const { share, level } = opened(res);
    const config = deps.config();
    const source = sourceOf(res);
    res.json({
      username: null,
      profile: 'visitor',
      appliance: { name: config.appliance.name ?? config.appliance.id, timezone: config.appliance.timezone },
      sources: [{ id: source.id, name: source.name ?? source.id, level }],
      share: visitorShareJson(share, level),
    });
  });

  api.get('/:token/api/sources/:id', rule(ALL), (req, res) => {
    const { share, level } = opened(res);
    const source = sharedSource(req, res);
    const latest = share.scope === 'latest' ? deps.pictures.latest(source.id) : share.scope === 'gallery' ? latestIn(share) : undefined;
    res.json({ id: source.id, name: source.name ?? source.id, level, latest: latest ? { id: latest.id, takenAt: new Date(latest.takenAt).toISOString(), date: latest.localDate } : null });
  });

  api.get('/:token/api/sources/:id/days', rule(GALLERY), (req, res) => {
    const { share } = opened(res);
    const source = sharedSource(req, res);
    res.json({ days: deps.pictures.days(source.id).filter((d) => inPeriod(share, d.date)) });
  });

  api.get('/:token/api/sources/:id/pictures', rule(GALLERY), (req, res) => {
    const { share, level } = opened(res);
    const source = sharedSource(req, res);
    const date = typeof req.query['date'] === 'string' ? checkDate(req.query['date'], 'date') : null;
    if (date === null) throw new HttpError(400, 'say which day: date=YYYY-MM-DD', { date: 'required: a day of the shared period' });
    if (!inPeriod(share, date)) throw new HttpError(404, `${date} is outside the shared period`);
    const limit = 2000;
    const cursor = typeof req.query['cursor'] === 'string' ? /^(\d{1,15})-(\d{1,15})$/.exec(req.query['cursor']) : null;
    if (req.query['cursor'] !== undefined && !cursor) throw new HttpError(400, 'bad cursor', { cursor: 'the "next" value of the previous page' });
    const after = cursor ? { takenAt: Number(cursor[1]), id: Number(cursor[2]) } : undefined;
    const page = deps.pictures.page(source.id, { date }, limit + 1, after);
    const more = page.length > limit;
    const shown = more ? page.slice(0, limit) : page;
    const last = shown[shown.length - 1];
    res.json({ pictures: shown.map((p) => pictureJson(p, level, base(req))), next: more && last ? `${last.takenAt}-${last.id}` : null });
  });

  api.get('/:token/api/sources/:id/days/:date/zip', rule(GALLERY), async (req, res) => {
    const { share, level } = opened(res);
    const source = sharedSource(req, res);
    if (level !== 'download') throw new HttpError(403, 'this link lets you look, not download');
    const date = checkDate(param(req, 'date'), 'date');
    if (!inPeriod(share, date) || deps.pictures.page(source.id, { date }, 1).length === 0) throw new HttpError(404, `no shared pictures on ${date}`);
    await heavy(res, () => streamDayZip(res, deps, source, date, source.image.watermark === undefined));
  });

  api.get('/:token/api/pictures/:id', rule(PICTURES), (req, res) => {
    const { share, level } = opened(res);
    const { picture } = pictureIn(req, res);
    // Only a gallery goes from picture to picture, and only within its period.
    const neighbour = (direction: 'before' | 'after') => {
      if (share.scope !== 'gallery') return null;
      const p = deps.pictures.neighbour(picture.sourceId, picture, direction);
      return p && inPeriod(share, p.localDate) ? p.id : null;
    };
    res.json({ picture: pictureJson(picture, level, base(req)), prev: neighbour('before'), next: neighbour('after') });
  });

  api.get('/:token/api/pictures/:id/:size', rule(PICTURES), async (req, res) => {
    const found = pictureIn(req, res);
    const size = param(req, 'size');
    if (size === 'original') {
      if (found.level !== 'download') throw new HttpError(403, 'this link lets you look, not download');
      return sendOriginal(req, res, found, deps, heavy, SHARED_CACHE);
    }
    if (!(SHOWN_SIZES as readonly string[]).includes(size)) throw new HttpError(400, `no size "${size.slice(0, 40)}" for a picture`, { size: `expected one of: ${SHOWN_SIZES.join(', ')}, original` });
    await sendSmaller(req, res, found, size as ShownSize, deps, SHARED_CACHE);
  });

  api.get('/:token/api/sources/:id/videos', rule(FILMS), (req, res) => {
    const source = sharedSource(req, res);
    const videos = deps.videos?.list(source.id, null) ?? [];
    res.json({ videos: videos.filter((v) => videoInScope(opened(res).share, v)).map((v) => videoJson(v, base(req))) });
  });

  api.get('/:token/api/videos/:id/file', rule(FILMS), async (req, res) => {
    const video = videoIn(req, res);
    const download = req.query['download'] !== undefined;
    if (download && opened(res).level !== 'download') throw new HttpError(403, 'this link lets you watch, not download');
    await sendVideoFile(req, res, deps, video, { download, cacheControl: SHARED_CACHE });
  });

  api.get('/:token/api/videos/:id/poster', rule(FILMS), async (req, res) => {
    await sendPoster(req, res, deps, videoIn(req, res), SHARED_CACHE);
  });

  // The live picture of a `latest` link: the newest one, watermarked, asked again at each refresh.
  api.get('/:token/latest.jpg', rule(['latest']), async (req, res) => {
    const source = sourceOf(res);
    const picture = deps.pictures.latest(source.id);
    if (!picture) throw new HttpError(404, 'this camera has no picture yet');
    await sendSmaller(req, res, { picture, source, level: opened(res).level }, 'preview', deps, SHARED_CACHE);
  });

  // Anything else under a link: nothing, whatever the token.
  router.use('/:token', (_req, res) => sendError(res, 404, 'not found'));

  /** The link's source, from the configuration of now (the service answered 410 if it left). */
  function sourceOf(res: Response): SourceConfig {
    const source = deps.config().sources.find((s) => s.id === opened(res).share.sourceId);
    if (!source) throw new HttpError(410, 'this link is no longer available');
    return source;
  }

  /** `:id` must name the link's source. */
  function sharedSource(req: Request, res: Response): SourceConfig {
    const source = sourceOf(res);
    if (param(req, 'id') !== source.id) throw new HttpError(404, 'not part of this share link');
    return source;
  }

  /** The picture `:id` if the link opens it. */
  function pictureIn(req: Request, res: Response): Found {
    const { share, level } = opened(res);
    const text = param(req, 'id');
    const picture = /^[1-9]\d{0,15}$/.test(text) ? deps.pictures.get(Number(text)) : undefined;
    const inScope =
      picture !== undefined &&
      picture.sourceId === share.sourceId &&
      !picture.rejection &&
      !picture.missing &&
      (share.scope === 'gallery' ? inPeriod(share, picture.localDate) : picture.id === share.pictureId || (share.scope === 'compare' && picture.id === share.picture2Id));
    if (!inScope) throw new HttpError(404, `no picture ${text.slice(0, 40)} in this share link`);
    return { picture: picture!, source: sourceOf(res), level };
  }

  /** The film `:id` if the link opens it. */
  function videoIn(req: Request, res: Response): Video {
    const text = param(req, 'id');
    const video = /^[1-9]\d{0,15}$/.test(text) ? deps.videos?.get(Number(text)) : undefined;
    if (!video || !videoInScope(opened(res).share, video)) throw new HttpError(404, `no video ${text.slice(0, 40)} in this share link`);
    return video;
  }

  function videoInScope(share: Share, video: Video): boolean {
    if (video.sourceId !== share.sourceId) return false;
    if (share.scope === 'video') return video.id === share.videoId;
    // A gallery's film must lie inside its period: its first and last moments, as local days.
    const tz = deps.config().appliance.timezone;
    return inPeriod(share, localDate(video.periodFrom, tz)) && inPeriod(share, localDate(Math.max(video.periodFrom, video.periodTo - 1), tz));
  }

  /** The newest picture of a gallery's period. */
  function latestIn(share: Share): Picture | undefined {
    if (share.toDate === null) return deps.pictures.latest(share.sourceId);
    const end = DateTime.fromISO(share.toDate, { zone: deps.config().appliance.timezone }).plus({ days: 1 }).startOf('day').toMillis() - 1;
    const picture = deps.pictures.latest(share.sourceId, end);
    return picture && inPeriod(share, picture.localDate) ? picture : undefined;
  }

  return router;
}

/** The link of this request, resolved by the middleware. */
function opened(res: Response): { share: Share; level: ShareLevel } {
  const open = res.locals.share;
  if (!open) throw new Error('share route without the share link middleware');
  return open;
}

/** Where this link's API answers, for the URLs in its JSON. */
function base(req: Request): string {
  return `/s/${param(req, 'token')}/api`;
}

function inPeriod(share: Share, date: string): boolean {
  return (share.fromDate === null || date >= share.fromDate) && (share.toDate === null || date <= share.toDate);
}

/** What a visitor is told about the link: what it opens, at the level it gives now; never who made it or its uses. */
function visitorShareJson(share: Share, level: ShareLevel) {
  const { id, scope, label, source, from, to, picture, pictures, video, expiresAt } = shareJson(share, Date.now());
  return { id, scope, level, label, source, from, to, picture, pictures, video, expiresAt };
}

/** Why a link opens nothing: the API's answer (English, a machine field) and the page a person reads, in their language. */
function refusal(found: { kind: 'gone'; reason: 'revoked' | 'expired' | 'withdrawn' } | { kind: 'unknown' } | { kind: 'throttled'; retryAfterSeconds: number }): {
  status: number;
  error: string;
  page: (t: Translate) => { title: string; text: string };
} {
  switch (found.kind) {
    case 'gone':
      return found.reason === 'expired'
        ? { status: 410, error: 'this share link has expired', page: (t) => ({ title: t('page.share.expiredTitle'), text: t('page.share.expired') }) }
        : found.reason === 'revoked'
          ? { status: 410, error: 'this share link was revoked', page: (t) => ({ title: t('page.share.revokedTitle'), text: t('page.share.revoked') }) }
          : { status: 410, error: 'this share link is no longer available', page: (t) => ({ title: t('page.share.withdrawnTitle'), text: t('page.share.withdrawn') }) };
    case 'unknown':
      return { status: 404, error: 'no such share link', page: (t) => ({ title: t('page.share.unknownTitle'), text: t('page.share.unknown') }) };
    case 'throttled':
      return {
        status: 429,
        error: 'too many links that open nothing from this address; try again later',
        page: (t) => ({ title: t('page.share.throttledTitle'), text: t('page.share.throttled', { minutes: Math.ceil(found.retryAfterSeconds / 60) }) }),
      };
  }
}

/** A page a person reads instead of the shared view: what happened and what to do. */
function messagePage(t: Translate, title: string, text: string): string {
  return `<!doctype html>
<html lang="${escapeMarkup(t.lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeMarkup(title)}</title>
<style>body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f5f7;color:#1d2733;font:1rem/1.5 system-ui,sans-serif}main{max-width:28rem;margin:1rem;padding:1.5rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}h1{font-size:1.3rem;margin:0 0 .5rem}p{margin:0}</style>
</head><body><main><h1>${escapeMarkup(title)}</h1><p>${escapeMarkup(text)}</p></main></body></html>
`;
}
