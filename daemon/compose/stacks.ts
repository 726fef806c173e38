/**
 * The stacks the services are built from, each wired one way: a capture service
 * with its pipeline and picture store, a picture store, pipeline and sizes without
 * a camera, the video jobs with their runner and builder. `Services` (services.ts)
 * builds the daemon's and a stopped box's from these; tests and benchmarks build
 * one stack on its own.
 */
import { CoverageCalculator } from '../schedule/coverage';
import type { Config } from '../config/schema';
import type { Logger } from '../logger';
import type { Repositories } from '../store/repositories';
import { PictureStore } from '../storage/picture.store';
import { PictureSizes } from '../storage/picture-sizes';
import { PicturePipeline } from '../pipeline/picture.pipeline';
import { CaptureService, type CaptureObserver, type Handover, type StorageGate } from '../capture/capture.service';
import type { CameraFactory } from '../capture/drivers';
import type { Relay, RelayConfig } from '../hardware/relay';
import { FfmpegRunner, type FfmpegRunnerOptions } from '../timelapse/ffmpeg.runner';
import { VideoBuilder } from '../timelapse/video-builder';
import { VideoJobs } from '../timelapse/video-jobs.service';
import { Outbox } from '../sync/outbox';
import { ShareService } from '../shares/share.service';
import type { Grants, Principal } from '../auth/permissions';

/** The capture service and what a capture goes through (pipeline, picture store). */
export interface CaptureStack {
  pipeline: PicturePipeline;
  pictureStore: PictureStore;
  capture: CaptureService;
}

/** A capture service and what it needs; `Services` passes the daemon's pipeline and picture store. */
export function buildCaptureStack(deps: {
  config: Config;
  store: Repositories;
  log: Logger;
  createCamera: CameraFactory;
  openRelay: (config: RelayConfig, sourceId: string) => Relay;
  /** The daemon's one pipeline, kept across reloads (its watermark cache and its one-at-a-time limit). */
  pipeline?: PicturePipeline;
  /** By default one of this configuration, whose outbox only writes rows. */
  pictureStore?: PictureStore;
  now?: () => number;
  storage?: StorageGate;
  observe?: CaptureObserver;
  /** From the capture service this one replaces (a reload). */
  handover?: ReadonlyMap<string, Handover>;
}): CaptureStack {
  const { config, store, log } = deps;
  const pipeline = deps.pipeline ?? buildPipeline(() => config.appliance, log);
  const pictureStore = deps.pictureStore ?? buildPictureStore({ config, store, log, pipeline });
  const capture = new CaptureService({
    config,
    createCamera: deps.createCamera,
    store: pictureStore,
    pipeline,
    state: store.state,
    events: store.events,
    gaps: store.coverage,
    openRelay: deps.openRelay,
    log: log.child({ module: 'capture' }),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.storage ? { storage: deps.storage } : {}),
    ...(deps.observe ? { observe: deps.observe } : {}),
    ...(deps.handover ? { handover: deps.handover } : {}),
  });
  return { pipeline, pictureStore, capture };
}

/** The picture store of a data folder; found pictures are measured with the pipeline. */
export function buildPictureStore(deps: { config: Config; store: Repositories; log: Logger; pipeline: PicturePipeline; outbox?: Outbox }): PictureStore {
  const { config, store, log, pipeline } = deps;
  const outbox = deps.outbox ?? new Outbox({ config: () => config, repo: store.outbox });
  return new PictureStore({
    indexed: (picture, options) => outbox.picture(picture, options),
    layout: store.layout,
    pictures: store.pictures,
    state: store.state,
    timezone: config.appliance.timezone,
    log: log.child({ module: 'store' }),
    measure: (file, sourceId) => pipeline.measure(file, config.sources.find((s) => s.id === sourceId)?.image.reject),
  });
}

/** The picture pipeline; `appliance` is read at each picture (the daemon's follows reloads). */
export function buildPipeline(appliance: () => Config['appliance'], log: Logger): PicturePipeline {
  return new PicturePipeline({ appliance, log: log.child({ module: 'pipeline' }) });
}

/** The sizes of stored pictures (thumbnails, frames), made from the picture store's files. */
export function buildSizes(deps: { store: Repositories; pictureStore: PictureStore; pipeline: PicturePipeline; log: Logger }): PictureSizes {
  const { store, log } = deps;
  return new PictureSizes({ layout: store.layout, pictures: store.pictures, store: deps.pictureStore, pipeline: deps.pipeline, log: log.child({ module: 'pipeline' }) });
}

/** Pipeline, store and sizes without a camera (tests and benchmarks). */
export function buildPictureServices(deps: { config: Config; store: Repositories; log: Logger }): { pipeline: PicturePipeline; pictureStore: PictureStore; sizes: PictureSizes } {
  const { config, store, log } = deps;
  const pipeline = buildPipeline(() => config.appliance, log);
  const pictureStore = buildPictureStore({ config, store, log, pipeline });
  return { pipeline, pictureStore, sizes: buildSizes({ store, pictureStore, pipeline, log }) };
}

/** The services a video goes through (ffmpeg runner, builder, job queue). */
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

/** Share links over the store, as the daemon, the web tests and the web benchmark build them. */
export function buildShares(deps: { config: () => Config; store: Repositories; grantsFor: (user: Principal) => Grants; now?: () => number }): ShareService {
  const { store } = deps;
  return new ShareService({
    shares: store.shares,
    pictures: store.pictures,
    videos: store.videos,
    audit: store.audit,
    sources: () => deps.config().sources,
    users: store.users,
    grantsFor: deps.grantsFor,
    ...(deps.now ? { now: deps.now } : {}),
  });
}

/** The coverage calendar of a data folder; `runStartedAt`: when the running daemon started (null on a stopped box). */
export function buildCoverage(store: Repositories, runStartedAt: () => number | null = () => null): CoverageCalculator {
  return new CoverageCalculator({
    coverage: store.coverage,
    pictureDays: (id) => store.pictures.days(id),
    rejectedDays: (id, from, to) => store.pictures.rejectedDays(id, from, to),
    firstPictureAt: (id) => store.pictures.firstTakenAt(id),
    purged: (id, date) => store.state.day(id, date).purged,
    runStartedAt,
  });
}
