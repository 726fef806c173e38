/**
 * The video routes in front of the real job queue, ffmpeg and database: who may
 * queue, follow, cancel, list, stream and download; Range requests; bad requests.
 */
import path from 'node:path';
import { DateTime } from 'luxon';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { buildVideoStack } from '../../daemon/compose/stacks';
import type { VideoJobs } from '../../daemon/timelapse/video-jobs.service';
import { silentLogger } from '../../daemon/logger';
import type { Listener } from '../../web/server';
import { addUsers, startWeb } from '../helpers/web';
import { tempDir } from '../helpers/env';
import { pictureServices, probeVideo, scene, seedPictures } from '../helpers/videos';

const PASSWORD = 'correct horse battery staple';
const TZ = 'Europe/Paris';

describe('video routes', () => {
  let tmp: ReturnType<typeof tempDir>;
  let config: Config;
  let store: Repositories;
  let jobs: VideoJobs;
  let server: Listener;
  let base: string;

  const call = (method: string, url: string, user: string | null, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${url}`, {
      method,
      headers: {
        ...(user ? { authorization: `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}` } : {}),
        // State changes say they are JSON, body or not (the cross-site guard).
        ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const queue = async (user: string, body: unknown) => {
    const res = await call('POST', '/api/sources/north/videos', user, body);
    return { res, json: (await res.json()) as { job: { id: number; status: string; progress: number; video: string | null }; error?: string; details?: Record<string, string> } };
  };

  beforeAll(async () => {
    tmp = tempDir();
    config = parseConfig(
      [
        `appliance: { id: box, timezone: ${TZ} }`,
        `storage: { dataDir: ${path.join(tmp.dir, 'data')} }`,
        'sources:',
        '  - id: north',
        '    camera: { driver: testpattern }',
        '    timelapse: { daily: { width: 320, fps: 25, preset: ultrafast, deflicker: false } }',
        '  - id: south',
        '    camera: { driver: testpattern }',
        '',
      ].join('\n'),
      path.join(tmp.dir, 'lapsebox.yaml'),
    ).config;
    store = openRepositories(config.storage.dataDir);
    const start = DateTime.fromISO('2026-11-20T10:00', { zone: TZ }).toMillis();
    await seedPictures(config, store, 'north', Array.from({ length: 40 }, (_, i) => start + i * 60_000), (i) => scene(320, 180, 1, i * 4));
    await addUsers(store, () => config, PASSWORD, {
      maintainer: ['maintainer'],
      director: ['director'],
      director2: ['director'],
      viewer: ['customer', { north: 'view' }],
      buyer: ['customer', { north: 'download' }],
      stranger: ['customer'],
    });
    const { sizes } = pictureServices(config, store);
    jobs = buildVideoStack({ config: () => config, store, sizes, log: silentLogger() }).jobs;
    await jobs.start();
    ({ server, base } = await startWeb(() => config, store, {
      capture: { capture: async () => ({ status: 'skipped', reason: 'not in this test' }), isBusy: () => false },
      sizes,
      videos: store.videos,
      videoJobs: jobs,
    }));
  }, 60_000);

  afterAll(async () => {
    await server.close();
    await jobs.stop();
    store.close();
    tmp.cleanup();
  });

  it('queues a custom video for a director, follows it to the end, lists and streams it with Range', async () => {
    const { res, json } = await queue('director', { from: '2026-11-20', to: '2026-11-20', keepFrom: '10:00', keepTo: '10:30' });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/api/jobs/${json.job.id}`);
    expect(['queued', 'running']).toContain(json.job.status);
    expect(json.job).toMatchObject({ source: 'north', kind: 'custom', params: { from: '2026-11-20', keepFrom: '10:00' }, settings: { fps: 25, width: 320 } });
    await jobs.idle();
    const job = (await (await call('GET', `/api/jobs/${json.job.id}`, 'director')).json()) as { job: { status: string; progress: number; video: string; result: { frames: number } } };
    expect(job.job).toMatchObject({ status: 'succeeded', progress: 100, result: { frames: 30 } });

    const list = (await (await call('GET', '/api/sources/north/videos', 'viewer')).json()) as { videos: { id: number; frames: number; durationMs: number; file: string; poster: string }[] };
    expect(list.videos).toHaveLength(1);
    const video = list.videos[0]!;
    expect(video).toMatchObject({ frames: 30, durationMs: 1200, file: `/api/videos/${video.id}/file`, poster: `/api/videos/${video.id}/poster` });
    expect(job.job.video).toBe(`/api/videos/${video.id}`);

    const whole = await call('GET', video.file, 'viewer');
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    const body = Buffer.from(await whole.arrayBuffer());
    const range = await call('GET', video.file, 'viewer', undefined, { range: 'bytes=100-199' });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe(`bytes 100-199/${body.length}`);
    expect(Buffer.from(await range.arrayBuffer())).toEqual(body.subarray(100, 200));
    const etag = whole.headers.get('etag')!;
    expect((await call('GET', video.file, 'viewer', undefined, { 'if-none-match': etag })).status).toBe(304);
    expect((await call('GET', video.poster, 'viewer')).headers.get('content-type')).toBe('image/jpeg');
    // What a customer may see differs from a director's: a shared cache must key both by the credentials.
    for (const url of [video.file, video.poster, `${video.file}?download=1`]) {
      const res = await call('GET', url, url.includes('download') ? 'buyer' : 'viewer');
      await res.arrayBuffer();
      expect([url, res.headers.get('vary')?.split(/\s*,\s*/)]).toEqual([url, expect.arrayContaining(['Authorization'])]);
    }
    // A range that starts past the end is not satisfiable: 416 with the size, not 404.
    const past = await call('GET', video.file, 'viewer', undefined, { range: `bytes=${body.length}-` });
    expect([past.status, past.headers.get('content-range')]).toEqual([416, `bytes */${body.length}`]);
    expect(((await past.json()) as { error: string }).error).toBe('the requested range starts past the end of the file');
    expect((await call('GET', video.file, 'viewer', undefined, { range: `bytes=${body.length - 1}-` })).status).toBe(206);

    // Downloads need the download level.
    expect((await call('GET', `${video.file}?download=1`, 'viewer')).status).toBe(403);
    const download = await call('GET', `${video.file}?download=1`, 'buyer');
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename="north-custom-custom-\d+\.mp4"$/);
    // A customer without a grant does not know the video exists.
    expect((await call('GET', video.file, 'stranger')).status).toBe(404);
    expect((await call('GET', '/api/sources/north/videos', 'stranger')).status).toBe(404);
    expect((await call('GET', video.file, null)).status).toBe(401);
  });

  it('keeps jobs to who started them and maintainers', async () => {
    const { json } = await queue('director', { from: '2026-11-20', to: '2026-11-20' });
    await jobs.idle();
    const url = `/api/jobs/${json.job.id}`;
    expect((await call('GET', url, 'director')).status).toBe(200);
    expect((await call('GET', url, 'maintainer')).status).toBe(200);
    expect((await call('GET', url, 'director2')).status).toBe(404);
    expect((await call('GET', url, 'buyer')).status).toBe(404);
    expect((await call('DELETE', url, 'director2')).status).toBe(404);
    const history = (await (await call('GET', '/api/jobs', 'director')).json()) as { jobs: { id: number; requestedBy: string }[] };
    expect(history.jobs.every((j) => j.requestedBy === 'director')).toBe(true);
    expect(((await (await call('GET', '/api/jobs', 'director2')).json()) as { jobs: unknown[] }).jobs).toEqual([]);
    // A job that has ended cannot be cancelled.
    const late = await call('DELETE', url, 'director');
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: string }).error).toMatch(/has already ended \(succeeded\)/);
  });

  it('cancels a queued job', async () => {
    // Two jobs queued back to back: the second waits while the first runs.
    const first = await queue('director', { from: '2026-11-20', to: '2026-11-20' });
    const second = await queue('director', { from: '2026-11-20', to: '2026-11-20' });
    const res = await call('DELETE', `/api/jobs/${second.json.job.id}`, 'director');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { job: { status: string; message: string } }).job).toMatchObject({ status: 'cancelled', message: 'cancelled by director before it started' });
    await jobs.idle();
    expect(jobs.get(first.json.job.id)!.status).toBe('succeeded');
    expect(jobs.get(second.json.job.id)!.videoId).toBeNull();
  });

  it('queues at most 2 custom videos per user and 5 on the box (queued or being built): beyond, 429 with the reason and Retry-After', async () => {
    await jobs.stop(); // nothing is built meanwhile: every job stays queued
    const queued: number[] = [];
    const period = { from: '2026-11-20', to: '2026-11-20' };
    try {
      for (const user of ['director', 'director']) queued.push((await queue(user, period)).json.job.id);
      const third = await queue('director', period);
      expect([third.res.status, third.res.headers.get('retry-after')]).toEqual([429, '60']);
      expect(third.json.error).toBe('you already have 2 custom videos queued or being built (at most 2 per user); wait for one to finish or cancel one');
      // Bad input is still named first: the limit is no excuse for a vague answer.
      expect((await queue('director', { ...period, fps: 0 })).res.status).toBe(400);

      for (const user of ['director2', 'director2', 'maintainer']) {
        const { res, json } = await queue(user, period);
        expect([user, res.status]).toEqual([user, 202]);
        queued.push(json.job.id);
      }
      const sixth = await queue('maintainer', period);
      expect([sixth.res.status, sixth.res.headers.get('retry-after')]).toEqual([429, '60']);
      expect(sixth.json.error).toBe('5 custom videos are queued or being built on this box (at most 5); try again when one has finished');
      expect(jobs.list({}).filter((j) => j.status === 'queued')).toHaveLength(5);

      // A cancelled job frees its place at once.
      expect((await call('DELETE', `/api/jobs/${queued.shift()!}`, 'director')).status).toBe(200);
      const again = await queue('director', period);
      expect(again.res.status).toBe(202);
      queued.push(again.json.job.id);
    } finally {
      for (const id of queued) await jobs.cancel(id, 'test');
      await jobs.start();
    }
  });

  it('lets only directors and maintainers queue videos', async () => {
    expect((await queue('buyer', { from: '2026-11-20', to: '2026-11-20' })).res.status).toBe(403);
    expect((await queue('stranger', { from: '2026-11-20', to: '2026-11-20' })).res.status).toBe(404);
    expect((await queue('maintainer', { from: '2026-11-20', to: '2026-11-20' })).res.status).toBe(202);
    await jobs.idle();
  });

  it.each([
    [{ from: '2026-11-20', to: '2026-11-20', fps: 0 }, 400, 'fps'],
    [{ from: '2026-11-20', to: '2026-11-20', width: 7 }, 400, 'width'],
    [{ from: '2026-11-21', to: '2026-11-20' }, 400, 'to'],
    [{ from: '2016-01-01', to: '2025-12-31' }, 400, 'to'],
    [{ from: '2026-11-20' }, 400, 'to'],
    [{ from: '2026-11-20', to: '2026-11-20', path: '../../etc' }, 400, 'path'],
  ])('answers %j with %i naming %s', async (body, status, field) => {
    const { res, json } = await queue('director', body);
    expect(res.status).toBe(status);
    expect(Object.keys(json.details ?? {})).toContain(field);
  });

  it('answers 409 when the period has too few pictures, 404 for unknown videos and jobs, 400 for an unknown kind', async () => {
    const none = await queue('director', { from: '2026-01-01', to: '2026-01-02' });
    expect(none.res.status).toBe(409);
    expect(none.json.error).toMatch(/no usable pictures of source "north" from 2026-01-01 to 2026-01-02/);
    expect((await call('GET', '/api/videos/999999/file', 'maintainer')).status).toBe(404);
    expect((await call('GET', '/api/videos/..%2F..%2Fetc/file', 'maintainer')).status).toBe(404);
    expect((await call('GET', '/api/jobs/abc', 'maintainer')).status).toBe(404);
    const kind = await call('GET', '/api/sources/north/videos?kind=yearly', 'director');
    expect(kind.status).toBe(400);
    // Not JSON: refused before anything is queued.
    const text = await fetch(`${base}/api/sources/north/videos`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`director:${PASSWORD}`).toString('base64')}`, 'content-type': 'text/plain' },
      body: 'from=2026-11-20',
    });
    expect(text.status).toBe(415);
  });

  it('streams the file that ffprobe reads as the video the index describes', async () => {
    const list = (await (await call('GET', '/api/sources/north/videos?kind=custom', 'maintainer')).json()) as { videos: { id: number; frames: number; width: number; height: number }[] };
    const v = store.videos.get(list.videos[0]!.id)!;
    expect(probeVideo(store.layout.absolute(v.path))).toMatchObject({ frames: v.frames, width: v.width, height: v.height });
  });
});
