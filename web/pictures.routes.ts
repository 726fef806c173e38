/**
 * The pictures of a source (SPEC §5): its days, pages of pictures, a picture and
 * its sizes, and a whole day as a zip. A source or picture the user may not see is
 * 404, a level too low is 403; heavy downloads (watermarked originals, day zips)
 * wait for one of the user's download slots.
 */
import fs from 'node:fs/promises';
import { DateTime } from 'luxon';
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { seesWithoutWatermark, atLeast, type Level } from '../daemon/auth/permissions';
import { isCameraFault, type DerivativeKind, type Picture } from '../daemon/domain/pictures';
import type { SourceConfig } from '../daemon/config/schema';
import type { WebDeps } from './deps';
import { userOf } from './auth.middleware';
import { HttpError } from './errors';
import { say } from '../daemon/i18n/say';
import { notModified, sendCachedFile, setCacheHeaders } from './http-cache';
import { coverageDayJson, pictureJson } from './json';
import { downloadName, streamDayZip } from './day-zip';
import type { DownloadSlots } from './download-slots';
import { localDate } from '../daemon/domain/data-folder';
import { param, sourceOf, type Access, type Routes } from './routes';

/** The sizes a viewer may ask for (the original needs the download level). */
export const SHOWN_SIZES = ['thumb', 'small', 'preview'] as const;
export type ShownSize = (typeof SHOWN_SIZES)[number];
const PICTURE_SIZES = [...SHOWN_SIZES, 'original'] as const;
/** Pictures never change under their id: browsers keep them a day, privately (they are behind a login). */
const PICTURE_CACHE = 'private, max-age=86400';
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const PAGE_DEFAULT = 500;
const PAGE_MAX = 2000;

const viewer = { kind: 'source', level: 'view' } as const;
const editor = { kind: 'source', level: 'edit' } as const;
/** A day at one picture a second. */
const EXPOSURE_POINTS_MAX = 86_400;
const pictureRule = { kind: 'object', of: 'picture', level: 'view' } as const;

/** A picture the user may see, its source and the user's level on it. */
export interface Found {
  picture: Picture;
  source: SourceConfig;
  level: Level;
}

/** Runs a heavy download in one of the caller's slots (429 when none is free). */
export type Heavy = (res: Response, work: () => Promise<unknown>) => Promise<unknown>;

/** A heavy download in a slot of the caller `who(res)` names; skipped if the client left while it waited. */
export function heavyIn(slots: DownloadSlots, who: (res: Response) => string): Heavy {
  return (res, work) => {
    let gone = false;
    res.once('close', () => (gone = true));
    return slots.run(who(res), () => (gone ? Promise.resolve() : work()));
  };
}

export function pictureRoutes(routes: Routes, deps: WebDeps, access: Access, slots: DownloadSlots): void {
  const heavy = heavyIn(slots, (res) => userOf(res).username);

  /** A picture the user may see, with its level; 404 for an unknown or invisible one. */
  const pictureFor = (res: Response, idText: string, wanted: Level): Found => {
    const id = /^[1-9]\d{0,15}$/.test(idText) ? Number(idText) : null;
    const picture = id === null ? undefined : deps.pictures.get(id);
    const source = picture ? deps.config().sources.find((s) => s.id === picture.sourceId) : undefined;
    // A picture deleted while its page was open (retention, a maintainer) is said in the reader's words.
    const gone = say('apiError.picture.notFound', { id: idText.slice(0, 20) });
    const level = access.levelFor(res, source, wanted, `no picture ${idText}`, gone);
    // Rejected pictures are not part of the gallery; only the box's people may look at them.
    if (picture!.rejection && !atLeast(level, 'edit')) throw new HttpError(404, `no picture ${idText}`, undefined, { message: gone });
    return { picture: picture!, source: source!, level };
  };

  routes.get('/sources/:id/days', viewer, (_req, res) => {
    res.json({ days: deps.pictures.days(sourceOf(res).id) });
  });

  /**
   * The coverage calendar (issue 25): each day's pictures against the slots the schedule
   * planned, and why slots got none. The camera's error messages are for the box's people
   * (edit level); others read the reason.
   */
  routes.get('/sources/:id/coverage', viewer, (req, res) => {
    if (!deps.coverage) throw new HttpError(404, 'no coverage on this box');
    const source = sourceOf(res);
    const level = access.levelFor(res, source, 'view', `no source "${source.id}"`);
    const cfg = deps.config();
    const zone = cfg.appliance.timezone;
    const now = Date.now();
    const today = localDate(now, zone);
    const { from, to } = coveragePeriod(queryStrings(req, ['month', 'from', 'to']), today);
    const ctx = { timezone: zone, ...(cfg.appliance.location ? { location: cfg.appliance.location } : {}) };
    const days = deps.coverage.days(source.id, from, to, ctx, now);
    const first = deps.pictures.days(source.id)[0]?.date ?? null;
    res.json({ timezone: zone, today, firstDay: first, from, to, days: days.map((d) => coverageDayJson(d, atLeast(level, 'edit'))) });
  });

  /**
   * The exposure of a day (issue 27): each picture's luminance and settings, rejected ones
   * included (a frame too dark is what the ramp answered), for the source page's chart. The
   * settings are the photographer's: edit level.
   */
  routes.get('/sources/:id/exposure', editor, (req, res) => {
    const source = sourceOf(res);
    const zone = deps.config().appliance.timezone;
    const { date = localDate(Date.now(), zone) } = queryStrings(req, ['date']);
    const day = DATE.test(date) ? DateTime.fromISO(date, { zone }) : null;
    if (!day?.isValid) throw new HttpError(400, `bad date "${date.slice(0, 20)}"`, { date: 'expected YYYY-MM-DD' });
    const from = day.startOf('day').toMillis();
    const to = day.plus({ days: 1 }).startOf('day').toMillis();
    const camera = source.camera;
    const exposure = camera.driver === 'gphoto2' || camera.driver === 'testpattern' ? (camera.exposure ?? null) : null;
    const points = deps.pictures.exposed(source.id, from, to, { limit: EXPOSURE_POINTS_MAX });
    res.json({
      date,
      timezone: zone,
      mode: exposure?.mode ?? null,
      target: exposure?.target ?? null,
      points: points.map((p) => ({
        at: new Date(p.takenAt).toISOString(),
        luminance: p.luminance === null ? null : Math.round(p.luminance * 10) / 10,
        ev: p.exposure?.ev ?? null,
        shutter: p.exposure?.shutter ?? null,
        iso: p.exposure?.iso ?? null,
        aperture: p.exposure?.aperture ?? null,
        rejected: p.rejected,
      })),
    });
  });

  routes.get('/sources/:id/pictures', viewer, (req, res) => {
    const source = sourceOf(res);
    const level = access.levelFor(res, source, 'view', `no source "${source.id}"`);
    const q = pageQuery(req);
    if ('at' in q) {
      const picture = deps.pictures.nearest(source.id, q.at);
      return res.json({ pictures: picture ? [pictureJson(picture, level)] : [], next: null });
    }
    const page = deps.pictures.page(source.id, q.range, q.limit + 1, q.after);
    const more = page.length > q.limit;
    const shown = more ? page.slice(0, q.limit) : page;
    const last = shown[shown.length - 1];
    res.json({ pictures: shown.map((p) => pictureJson(p, level)), next: more && last ? `${last.takenAt}-${last.id}` : null });
  });

  routes.get('/pictures/:id', pictureRule, (req, res) => {
    const { picture, level } = pictureFor(res, param(req, 'id'), 'view');
    const prev = deps.pictures.neighbour(picture.sourceId, picture, 'before');
    const next = deps.pictures.neighbour(picture.sourceId, picture, 'after');
    res.json({ picture: pictureJson(picture, level), prev: prev?.id ?? null, next: next?.id ?? null });
  });

  /**
   * A size of a picture (SPEC §4, §5): thumb, small and preview for viewers, the original
   * for the download level. Customers get the watermarked sizes; directors and
   * maintainers the clean ones.
   */
  routes.get('/pictures/:id/:size', pictureRule, async (req, res) => {
    const size = param(req, 'size');
    if (!(PICTURE_SIZES as readonly string[]).includes(size)) {
      pictureFor(res, param(req, 'id'), 'view');
      throw new HttpError(400, `no size "${size}" for a picture`, { size: `expected one of: ${PICTURE_SIZES.join(', ')}` });
    }
    const found = pictureFor(res, param(req, 'id'), size === 'original' ? 'download' : 'view');
    if (size === 'original') return sendOriginal(req, res, found, deps, heavy);
    await sendSmaller(req, res, found, size as ShownSize, deps);
  });

  // A whole day as a zip, streamed as it is made (JPEGs are stored, not compressed again).
  routes.get('/sources/:id/days/:date/zip', { kind: 'source', level: 'download' }, async (req, res) => {
    const source = sourceOf(res);
    const level = access.levelFor(res, source, 'download', `no source "${source.id}"`);
    const date = checkDate(param(req, 'date'), 'date');
    const first = deps.pictures.page(source.id, { date }, 1);
    if (first.length === 0) throw new HttpError(404, `no pictures of source "${source.id}" on ${date}`, undefined, { message: say('apiError.picture.noneOnDay', { source: source.id, date }) });
    const clean = seesWithoutWatermark(level) || source.image.watermark === undefined;
    await heavy(res, () => streamDayZip(res, deps, source, date, clean));
  });
}

/** Whether the user gets the picture without its source's watermark. */
function isClean({ source, level }: Found): boolean {
  return seesWithoutWatermark(level) || source.image.watermark === undefined;
}

function pictureHeaders(p: Picture, cacheControl = PICTURE_CACHE) {
  return { lastModified: new Date(p.takenAt), cacheControl, contentType: 'image/jpeg' };
}

/** The original: the file itself for a clean one, else watermarked on request, whole, in a download slot. */
export async function sendOriginal(req: Request, res: Response, found: Found, deps: WebDeps, heavy: Heavy, cacheControl?: string): Promise<unknown> {
  const { picture: p, source, level } = found;
  const clean = isClean(found);
  const headers = pictureHeaders(p, cacheControl);
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

/** A thumb, small or preview, watermarked for those who see the watermark. */
export async function sendSmaller(req: Request, res: Response, found: Found, size: ShownSize, deps: WebDeps, cacheControl?: string): Promise<void> {
  const { picture: p, source } = found;
  const kind: DerivativeKind = isClean(found) ? size : (`${size}-wm` as const);
  const file = await deps.sizes.file(p, source, kind);
  const st = await fs.stat(file);
  const etag = `"${kind}${p.id}-${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`;
  await sendCachedFile(req, res, file, { ...pictureHeaders(p, cacheControl), etag });
}

type PageQuery =
  | { at: number }
  | { range: { date: string } | { from: number; to: number }; limit: number; after: { takenAt: number; id: number } | undefined };

/** Which pictures a listing asks for: the one nearest `at`, or a page of a day or of [from, to); 400 for a bad query. */
function pageQuery(req: Request): PageQuery {
  const q = queryStrings(req, ['date', 'from', 'to', 'at', 'limit', 'cursor']);
  if (q.at !== undefined) return { at: instant(q.at, 'at') };
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
  return { range, limit, after };
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

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const COVERAGE_DAYS_MAX = 62;

/** `month=YYYY-MM`, or `from` and `to` (days, both included, at most 62), or the current month. */
function coveragePeriod(q: Partial<Record<'month' | 'from' | 'to', string>>, today: string): { from: string; to: string } {
  const monthOf = (month: string) => {
    const m = MONTH.exec(month);
    if (!m) throw new HttpError(400, `bad month "${month}"`, { month: 'expected YYYY-MM' });
    const last = new Date(Date.UTC(Number(m[1]), Number(m[2]), 0)).getUTCDate();
    return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` };
  };
  if (q.month !== undefined) {
    if (q.from !== undefined || q.to !== undefined) throw new HttpError(400, 'month, or from and to: not both', { month: 'without from and to' });
    return monthOf(q.month);
  }
  if (q.from === undefined && q.to === undefined) return monthOf(today.slice(0, 7));
  if (q.from === undefined || q.to === undefined) throw new HttpError(400, 'from and to go together', { [q.from === undefined ? 'from' : 'to']: 'required with the other' });
  const from = checkDate(q.from, 'from');
  const to = checkDate(q.to, 'to');
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
  if (days < 1) throw new HttpError(400, 'to must not be before from', { to: 'on or after from' });
  if (days > COVERAGE_DAYS_MAX) throw new HttpError(400, `at most ${COVERAGE_DAYS_MAX} days at once`, { to: `at most ${COVERAGE_DAYS_MAX} days at once: at most ${COVERAGE_DAYS_MAX - 1} days after from` });
  return { from, to };
}

export function checkDate(text: string, field: string): string {
  const valid = DATE.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text);
  if (!valid) throw new HttpError(400, `bad date "${text.slice(0, 40)}"`, { [field]: 'a date YYYY-MM-DD' });
  return text;
}

function instant(text: string, field: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new HttpError(400, `bad time "${text.slice(0, 40)}"`, { [field]: 'an ISO 8601 date and time, e.g. 2026-11-23T10:15:00Z' });
  return ms;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}
