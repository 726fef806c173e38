/**
 * The services a capture goes through (camera, pipeline, picture store), built one
 * way for the daemon and for `lapsebox capture` on a stopped box.
 */
import type { Config } from '../config/schema';
import type { Logger } from '../logger';
import type { Repositories } from '../store/repositories';
import { PictureStore } from '../storage/picture.store';
import { PicturePipeline } from '../pipeline/picture.pipeline';
import { PictureSizes } from '../storage/picture-sizes';
import type { Relay, RelayConfig } from '../hardware/relay';
import { CaptureService, type CaptureObserver, type Handover, type StorageGate } from './capture.service';
import { Outbox } from '../sync/outbox';
import type { CameraFactory } from './drivers';

export interface CaptureStack {
  pipeline: PicturePipeline;
  pictureStore: PictureStore;
  capture: CaptureService;
}

export function buildCaptureStack(deps: {
  config: Config;
  store: Repositories;
  log: Logger;
  createCamera: CameraFactory;
  openRelay: (config: RelayConfig, sourceId: string) => Relay;
  /** The daemon's one pipeline, kept across reloads (its watermark cache and its one-at-a-time limit). */
  pipeline?: PicturePipeline;
  /** The daemon's outbox (it wakes the sync); by default one that only writes rows. */
  outbox?: Outbox;
  now?: () => number;
  storage?: StorageGate;
  observe?: CaptureObserver;
  /** From the capture service this stack replaces (a reload). */
  handover?: ReadonlyMap<string, Handover>;
}): CaptureStack {
  const { config, store, log } = deps;
  const pipeline = deps.pipeline ?? new PicturePipeline({ appliance: () => config.appliance, log: log.child({ module: 'pipeline' }) });
  const pictureStore = buildPictureStore({ config, store, log, pipeline, ...(deps.outbox ? { outbox: deps.outbox } : {}) });
  const capture = new CaptureService({
    config,
    createCamera: deps.createCamera,
    store: pictureStore,
    pipeline,
    state: store.state,
    events: store.events,
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

/** Pipeline, store and sizes without a camera: for building videos on a stopped box. */
export function buildPictureServices(deps: { config: Config; store: Repositories; log: Logger }): { pipeline: PicturePipeline; pictureStore: PictureStore; sizes: PictureSizes } {
  const { config, store, log } = deps;
  const pipeline = new PicturePipeline({ appliance: () => config.appliance, log: log.child({ module: 'pipeline' }) });
  const pictureStore = buildPictureStore({ config, store, log, pipeline });
  const sizes = new PictureSizes({ layout: store.layout, pictures: store.pictures, store: pictureStore, pipeline, log: log.child({ module: 'pipeline' }) });
  return { pipeline, pictureStore, sizes };
}
