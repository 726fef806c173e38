/**
 * Videos and video jobs (SPEC §5): viewers list and stream a source's videos
 * (Range requests work; `?download=1` needs the download level); directors and
 * maintainers queue custom videos; a job is seen and cancelled by whoever started
 * it and by maintainers, and is 404 to everyone else.
 */
import type { Request, Response } from 'express';
import type { Level } from '../daemon/auth/permissions';
import type { SourceConfig } from '../daemon/config/schema';
import { type Video, VIDEO_KINDS, type VideoKind, type VideoJob } from '../daemon/domain/videos';
import type { WebDeps } from './deps';
import { userOf } from './auth.middleware';
import { HttpError } from './errors';
import { say } from '../daemon/i18n/say';
import { sendCachedFile } from './http-cache';
import { jobJson, videoJson } from './json';
import { param, sourceOf, type Access, type Routes } from './routes';

/** A video is rebuilt under the same id; its ETag changes with it. */
const VIDEO_CACHE = 'private, max-age=3600';

const idOf = (text: string): number | null => (/^[1-9]\d{0,15}$/.test(text) ? Number(text) : null);

/** A source's videos, their files and posters, and custom videos queued; nothing without videos and jobs. */
export function videoRoutes(routes: Routes, deps: WebDeps, access: Access): void {
  const { videos, videoJobs } = deps;
  if (!videos || !videoJobs) return;

  /** The video if the user may see its source at `wanted` level; 404 otherwise. */
  const videoFor = (res: Response, idText: string, wanted: Level): { video: Video; source: SourceConfig } => {
    const id = idOf(idText);
    const video = id === null ? undefined : videos.get(id);
    const source = video ? deps.config().sources.find((s) => s.id === video.sourceId) : undefined;
    access.levelFor(res, source, wanted, `no video ${idText}`, say('apiError.film.notFound', { id: idText.slice(0, 20) }));
    return { video: video!, source: source! };
  };

  routes.get('/sources/:id/videos', { kind: 'source', level: 'view' }, (req, res) => {
    const source = sourceOf(res);
    const kind = req.query['kind'];
    if (kind !== undefined && !(VIDEO_KINDS as readonly unknown[]).includes(kind)) {
      throw new HttpError(400, `no video kind ${JSON.stringify(kind)}`, { kind: `expected one of: ${VIDEO_KINDS.join(', ')}` });
    }
    res.json({ videos: videos.list(source.id, (kind as VideoKind | undefined) ?? null).map((v) => videoJson(v)) });
  });

  routes.post('/sources/:id/videos', { kind: 'source', level: 'edit' }, (req, res) => {
    const source = sourceOf(res);
    const job = videoJobs.submitCustom(source.id, req.body, userOf(res).username);
    res.status(202).location(`/api/jobs/${job.id}`).json({ job: jobJson(job) });
  });

  const videoRule = { kind: 'object', of: 'video', level: 'view' } as const;

  routes.get('/videos/:id', videoRule, (req, res) => {
    res.json(videoJson(videoFor(res, param(req, 'id'), 'view').video));
  });

  routes.get('/videos/:id/file', videoRule, async (req, res) => {
    const download = req.query['download'] !== undefined;
    const { video } = videoFor(res, param(req, 'id'), download ? 'download' : 'view');
    await sendVideoFile(req, res, deps, video, { download, cacheControl: VIDEO_CACHE });
  });

  routes.get('/videos/:id/poster', videoRule, async (req, res) => {
    await sendPoster(req, res, deps, videoFor(res, param(req, 'id'), 'view').video, VIDEO_CACHE);
  });
}

const RENDITIONS = ['full', 'phone'] as const;

/**
 * A film's file, Range requests and all; an attachment with `download`. `?rendition=phone`
 * gives its phone rendition, or the film itself when it is small enough to be its own
 * (or was made before renditions). Also for share links.
 */
export async function sendVideoFile(req: Request, res: Response, deps: Pick<WebDeps, 'layout'>, video: Video, options: { download: boolean; cacheControl: string }): Promise<void> {
  const asked = req.query['rendition'] ?? 'full';
  if (typeof asked !== 'string' || !(RENDITIONS as readonly string[]).includes(asked)) {
    throw new HttpError(400, `no rendition ${JSON.stringify(asked)} of a film`, { rendition: `expected one of: ${RENDITIONS.join(', ')}` });
  }
  const phone = asked === 'phone' ? video.phone : null;
  const stored = phone ?? { path: video.path, size: video.size };
  // Never through a link inside the data folder.
  const file = await deps.layout.inside(deps.layout.absolute(stored.path));
  if (!file) throw new HttpError(404, `the file of video ${video.id} is missing`);
  await sendCachedFile(req, res, file, {
    etag: `"v${video.id}${phone ? 'p' : ''}-${stored.size.toString(36)}-${video.createdAt.toString(36)}"`,
    lastModified: new Date(video.createdAt),
    cacheControl: options.cacheControl,
    contentType: 'video/mp4',
    ...(options.download ? { disposition: `attachment; filename="${video.sourceId}-${video.kind}-${video.label}${phone ? '-phone' : ''}.mp4"` } : {}),
  });
}

/** A film's poster (its last frame). Also for share links. */
export async function sendPoster(req: Request, res: Response, deps: Pick<WebDeps, 'layout'>, video: Video, cacheControl: string): Promise<void> {
  if (!video.posterPath) throw new HttpError(404, `video ${video.id} has no poster`);
  const poster = await deps.layout.inside(deps.layout.absolute(video.posterPath));
  if (!poster) throw new HttpError(404, `the poster of video ${video.id} is missing`);
  await sendCachedFile(req, res, poster, { etag: `"p${video.id}-${video.createdAt.toString(36)}"`, lastModified: new Date(video.createdAt), cacheControl, contentType: 'image/jpeg' });
}

/** Video jobs: seen and cancelled by whoever started them and by maintainers; nothing without videos and jobs. */
export function jobRoutes(routes: Routes, deps: WebDeps, access: Access): void {
  const { videoJobs } = deps;
  if (!deps.videos || !videoJobs) return;
  const jobRule = { kind: 'object', of: 'job', level: 'view' } as const;

  /** Jobs belong to who started them; maintainers see all. Anyone else gets 404. */
  const jobFor = (res: Response, idText: string): VideoJob => {
    const user = userOf(res);
    const id = idOf(idText);
    const job = id === null ? undefined : videoJobs.get(id);
    if (!job || (user.profile !== 'maintainer' && job.requestedBy !== user.username)) throw new HttpError(404, `no job ${idText}`);
    return job;
  };

  /** The history: a maintainer's is every job (optionally of one source); anyone else's is their own. */
  routes.get('/jobs', { kind: 'user' }, (req, res) => {
    const user = userOf(res);
    const sourceId = typeof req.query['source'] === 'string' ? req.query['source'] : undefined;
    if (sourceId !== undefined) access.sourceFor(res, sourceId, 'view');
    const jobs = videoJobs.list({ ...(sourceId ? { sourceId } : {}), ...(user.profile === 'maintainer' ? {} : { requestedBy: user.username }) });
    res.json({ jobs: jobs.map(jobJson) });
  });

  routes.get('/jobs/:id', jobRule, (req, res) => {
    res.json({ job: jobJson(jobFor(res, param(req, 'id'))) });
  });

  routes.delete('/jobs/:id', jobRule, async (req, res) => {
    const found = jobFor(res, param(req, 'id'));
    res.json({ job: jobJson(await videoJobs.cancel(found.id, userOf(res).username)) });
  });
}
