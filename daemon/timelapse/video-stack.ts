/**
 * The services a video goes through (ffmpeg runner, builder, job queue), built one
 * way for the daemon and for `lapsebox timelapse` on a stopped box.
 */
import type { Config } from '../config/schema';
import type { Logger } from '../logger';
import type { Repositories } from '../store/repositories';
import type { PictureSizes } from '../storage/picture-sizes';
import { FfmpegRunner, type FfmpegRunnerOptions } from './ffmpeg.runner';
import { VideoBuilder } from './video-builder';
import { VideoJobs } from './video-jobs.service';
import { Outbox } from '../sync/outbox';

export function buildVideoStack(deps: {
  config: () => Config;
  store: Repositories;
  sizes: Pick<PictureSizes, 'file'>;
  log: Logger;
  ffmpeg?: FfmpegRunnerOptions | undefined;
  now?: () => number;
  /** The daemon's outbox (it wakes the sync); by default one that only writes rows. */
  outbox?: Outbox;
  onEncoded?: (sourceId: string, kind: string, encodeMs: number) => void;
}): { runner: FfmpegRunner; builder: VideoBuilder; jobs: VideoJobs } {
  const { store, config, sizes, now } = deps;
  const log = deps.log.child({ module: 'timelapse' });
  const runner = new FfmpegRunner(deps.ffmpeg ?? {});
  const outbox = deps.outbox ?? new Outbox({ config, repo: store.outbox, ...(now ? { now } : {}) });
  const builder = new VideoBuilder({ layout: store.layout, pictures: store.pictures, videos: store.videos, outbox, sizes, runner, config, log, ...(now ? { now } : {}) });
  const jobs = new VideoJobs({ jobs: store.jobs, videos: store.videos, outbox, builder, runner, layout: store.layout, config, log, ...(now ? { now } : {}), ...(deps.onEncoded ? { onEncoded: deps.onEncoded } : {}) });
  return { runner, builder, jobs };
}
