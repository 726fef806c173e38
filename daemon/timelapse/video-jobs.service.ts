/**
 * The video queue: every video, scheduled or asked for, is a job in the database,
 * built one at a time (ffmpeg at low priority, so captures keep the CPU), with
 * progress, cancel, and a history that says how each one ended (STYLE §8).
 * A job running when the daemon stops is queued again and rebuilt at the next start.
 */
import type { Outbox } from '../sync/outbox';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/schema';
import { type DataLayout } from '../files/layout';
import { PHONE_SUFFIX, TEMP_PREFIX, VIDEO_LABEL } from '../domain/data-folder';
import type { Logger } from '../logger';
import { BusyError, conflict, notFound } from '../errors';
import { say } from '../i18n/say';
import type { VideoJobsRepository } from '../store/video-jobs.repository';
import { type VideoJob, FINISHED, VIDEO_KINDS, type VideoKind } from '../domain/videos';
import { type VideosRepository } from '../store/videos.repository';
import { indexVideo, type VideoBuilder } from './video-builder';
import { EncodeError, type FfmpegRunner } from './ffmpeg.runner';
import { type VideoSpec, customSpec } from './video-spec';
import { periodOfLabel } from './frames';
import { messageOf } from '../error-causes';

/** Progress is written to the database at most this often; readers of the API see it live. */
const PROGRESS_WRITE_MS = 1000;

/**
 * Custom videos queued or being built at once: per user who asked, and on the box.
 * Each takes minutes of both cores; scheduled videos are not counted (one per
 * period at most) and are never refused.
 */
export const CUSTOM_JOB_LIMITS = { perUser: 2, total: 5 } as const;
/** What a refused client is told to wait: a custom video takes a few minutes. */
const CUSTOM_RETRY_AFTER_SECONDS = 60;

export interface VideoJobsDeps {
  jobs: VideoJobsRepository;
  videos: VideosRepository;
  outbox: Pick<Outbox, 'video'>;
  builder: VideoBuilder;
  runner: FfmpegRunner;
  layout: DataLayout;
  config: () => Config;
  log: Logger;
  now?: () => number;
  /** Told of each video encoded (metrics). */
  onEncoded?: (sourceId: string, kind: string, encodeMs: number) => void;
}

export class VideoJobs {
  readonly #deps: VideoJobsDeps;
  readonly #now: () => number;
  #running: { id: number; controller: AbortController; progress: number; cancelled: boolean } | null = null;
  #loop: Promise<void> | null = null;
  #stopped = true;

  constructor(deps: VideoJobsDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Puts back jobs a stopped daemon left running, removes their temporary files,
   * reconciles the video folders with the index, checks ffmpeg, and starts the queue.
   */
  async start(): Promise<void> {
    const { jobs, log } = this.#deps;
    for (const job of jobs.running()) {
      jobs.requeue(job.id);
      log.warn({ job: job.id, source: job.sourceId, video: job.label }, 'a video was being built when the daemon stopped: it is queued again');
    }
    await this.#reconcile();
    this.#stopped = false;
    this.#deps.runner.version().then(
      (version) => log.info({ ffmpeg: version }, 'videos are built with ffmpeg'),
      (err: Error) => log.error(`${err.message}`),
    );
    this.#kick();
  }

  /** Cancels the build in flight (it is queued again for the next start) and waits for it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const running = this.#running;
    if (running) running.controller.abort();
    await this.#loop;
  }

  /**
   * Queues a custom video; the request is checked first (AppError 'invalid' with
   * field details), then the limits (BusyError when the user or the box already
   * has CUSTOM_JOB_LIMITS queued or running).
   */
  submitCustom(sourceId: string, body: unknown, requestedBy: string): VideoJob {
    const config = this.#deps.config();
    const source = config.sources.find((s) => s.id === sourceId);
    if (!source) throw notFound(`no source "${sourceId}"`);
    const { spec, request } = customSpec(body, source, config.appliance.timezone);
    // Counted and added in one synchronous stretch: no other request can slip in between.
    const active = this.#deps.jobs.activeCustom();
    const mine = active.get(requestedBy) ?? 0;
    if (mine >= CUSTOM_JOB_LIMITS.perUser) {
      throw new BusyError(
        `you already have ${mine} custom videos queued or being built (at most ${CUSTOM_JOB_LIMITS.perUser} per user); wait for one to finish or cancel one`,
        CUSTOM_RETRY_AFTER_SECONDS,
        { message: say('apiError.film.userLimit', { count: mine, max: CUSTOM_JOB_LIMITS.perUser }) },
      );
    }
    const total = [...active.values()].reduce((a, b) => a + b, 0);
    if (total >= CUSTOM_JOB_LIMITS.total) {
      throw new BusyError(`${total} custom videos are queued or being built on this box (at most ${CUSTOM_JOB_LIMITS.total}); try again when one has finished`, CUSTOM_RETRY_AFTER_SECONDS, {
        message: say('apiError.film.boxLimit', { count: total, max: CUSTOM_JOB_LIMITS.total }),
      });
    }
    const count = this.#deps.builder.count(spec);
    if (count.frames < spec.minFrames) {
      const period = { source: sourceId, from: request.from, to: request.to };
      throw conflict(
        count.frames === 0
          ? `no usable pictures of source "${sourceId}" from ${request.from} to ${request.to} with these filters`
          : `only ${count.frames} usable picture${count.frames === 1 ? '' : 's'} of source "${sourceId}" from ${request.from} to ${request.to} with these filters; a video needs at least ${spec.minFrames}`,
        { message: count.frames === 0 ? say('apiError.film.noPictures', period) : say('apiError.film.fewPictures', { ...period, count: count.frames, min: spec.minFrames }) },
      );
    }
    const id = this.#deps.jobs.add({ sourceId, kind: 'custom', label: 'custom', params: { ...request, spec }, requestedBy }, this.#now());
    this.#deps.jobs.setLabel(id, `custom-${id}`);
    this.#kick();
    return this.get(id)!;
  }

  /** Queues a scheduled video of one period. */
  submitScheduled(spec: VideoSpec, label: string): VideoJob {
    const id = this.#deps.jobs.add({ sourceId: spec.sourceId, kind: spec.kind, label, params: { spec }, requestedBy: 'schedule' }, this.#now());
    this.#kick();
    return this.get(id)!;
  }

  /** A job with its live progress. */
  get(id: number): VideoJob | undefined {
    const job = this.#deps.jobs.get(id);
    if (job && this.#running?.id === id) job.progress = Math.round(this.#running.progress * 10) / 10;
    return job;
  }

  list(filter: { sourceId?: string; requestedBy?: string; limit?: number }): VideoJob[] {
    return this.#deps.jobs.list(filter).map((j) => (this.#running?.id === j.id ? { ...j, progress: Math.round(this.#running.progress * 10) / 10 } : j));
  }

  forPeriod(sourceId: string, kind: VideoKind, label: string): VideoJob[] {
    return this.#deps.jobs.forPeriod(sourceId, kind, label);
  }

  /** Cancels a queued job at once, or stops ffmpeg for a running one; a finished job is a conflict. */
  async cancel(id: number, by: string): Promise<VideoJob> {
    const job = this.#deps.jobs.get(id);
    if (!job) throw notFound(`no job ${id}`);
    if (FINISHED.has(job.status)) throw conflict(`job ${id} has already ended (${job.status})`, { message: say('apiError.job.ended', { id, status: job.status }) });
    const running = this.#running;
    if (running?.id === id) {
      running.cancelled = true;
      running.controller.abort();
      // The loop records the end once ffmpeg is gone and the partial file removed.
      await this.#loop;
    } else {
      this.#deps.jobs.finish(id, { status: 'cancelled', message: `cancelled by ${by} before it started` }, this.#now());
    }
    this.#deps.log.info({ job: id, source: job.sourceId, by }, 'video job cancelled');
    return this.get(id)!;
  }

  /**
   * Builds one queued job here and now, outside the queue: for `lapsebox timelapse`
   * on a box whose daemon is stopped. Resolves with the job as it ended.
   */
  async runOne(id: number): Promise<VideoJob> {
    if (!this.#deps.jobs.start(id, this.#now())) throw conflict(`job ${id} is not queued`);
    const job = this.#deps.jobs.get(id)!;
    this.#loop = this.#run(job);
    try {
      await this.#loop;
    } finally {
      this.#loop = null;
    }
    return this.get(id)!;
  }

  /** Resolves when the queue is empty (tests, the CLI). */
  async idle(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  #kick(): void {
    if (this.#stopped || this.#loop) return;
    this.#loop = this.#drain().finally(() => {
      this.#loop = null;
      // A job queued while the last one was ending.
      if (!this.#stopped && this.#deps.jobs.next()) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    for (let job = this.#deps.jobs.next(); job && !this.#stopped; job = this.#deps.jobs.next()) {
      if (!this.#deps.jobs.start(job.id, this.#now())) continue;
      await this.#run(job);
    }
  }

  async #run(job: VideoJob): Promise<void> {
    const { jobs, builder, log } = this.#deps;
    const controller = new AbortController();
    const running = { id: job.id, controller, progress: 0, cancelled: false };
    this.#running = running;
    const spec = (job.params as { spec: VideoSpec }).spec;
    const context = { job: job.id, source: job.sourceId, kind: job.kind, video: job.label };
    let lastWrite = 0;
    log.info(context, 'building a video');
    try {
      const outcome = await builder.build(spec, {
        label: job.label,
        jobId: job.id,
        signal: controller.signal,
        onProgress: (percent) => {
          running.progress = percent;
          if (Date.now() - lastWrite >= PROGRESS_WRITE_MS) {
            lastWrite = Date.now();
            jobs.setProgress(job.id, percent);
          }
        },
      });
      if (outcome.status === 'skipped') {
        jobs.finish(job.id, { status: 'skipped', message: outcome.reason, result: { matched: outcome.matched } }, this.#now());
        log.info({ ...context, reason: outcome.reason }, 'video skipped');
        return;
      }
      const v = outcome.video;
      const result = { frames: v.frames, matched: outcome.matched, skipped: outcome.skipped, remade: outcome.remade, encoder: outcome.encoder, encodeMs: outcome.encodeMs, durationMs: v.durationMs, size: v.size };
      jobs.finish(job.id, { status: 'succeeded', result, videoId: v.id }, this.#now());
      this.#deps.onEncoded?.(job.sourceId, job.kind, outcome.encodeMs);
      log.info({ ...context, frames: v.frames, durationMs: v.durationMs, size: v.size, encodeMs: outcome.encodeMs, encoder: outcome.encoder, skippedFrames: outcome.skipped.length }, 'video built');
    } catch (err) {
      if (err instanceof EncodeError && err.code === 'cancelled') {
        if (running.cancelled) jobs.finish(job.id, { status: 'cancelled', message: 'cancelled while it was being built; the partial file was removed' }, this.#now());
        else jobs.requeue(job.id); // the daemon is stopping: build it again at the next start
        return;
      }
      const message = messageOf(err);
      jobs.finish(job.id, { status: 'failed', message }, this.#now());
      log.error({ ...context, code: err instanceof EncodeError ? err.code : undefined }, `video not built: ${message}`);
    } finally {
      this.#running = null;
    }
  }

  /**
   * Removes temporary files a crash left in the video folders, forgets videos whose
   * file is gone, and indexes complete videos the database missed (a crash between
   * the rename and the index update).
   */
  async #reconcile(): Promise<void> {
    const { layout, videos, outbox, runner, config, log } = this.#deps;
    const known = new Map(videos.all().map((v) => [v.path, v]));
    for (const v of known.values()) {
      if (!(await fs.stat(layout.absolute(v.path)).catch(() => null))) {
        videos.remove(v.id);
        log.warn({ source: v.sourceId, video: v.path }, 'a video file is gone: removed from the index');
      } else if (v.phone && !(await fs.stat(layout.absolute(v.phone.path)).catch(() => null))) {
        videos.dropPhone(v.id);
        log.warn({ source: v.sourceId, video: v.phone.path }, 'the phone rendition of a film is gone: the film is played as it is');
      }
    }
    for (const source of config().sources) {
      for (const kind of VIDEO_KINDS) {
        const dir = layout.videosDir(source.id, kind);
        const names = await fs.readdir(dir).catch(() => [] as string[]);
        for (const name of names) {
          const file = path.join(dir, name);
          if (name.startsWith(TEMP_PREFIX)) {
            await fs.rm(file, { force: true });
            continue;
          }
          const label = name.replace(/\.mp4$/, '');
          // A phone rendition is found with its film.
          if (!name.endsWith('.mp4') || label.endsWith(PHONE_SUFFIX) || !VIDEO_LABEL.test(label) || known.has(layout.relative(file))) continue;
          try {
            const probe = await runner.probe(file);
            const { poster, phone: phoneFile } = layout.video(source.id, kind, label);
            const phone = await runner.probe(phoneFile).catch(() => null);
            const hasPoster = await fs.stat(poster).then(() => true, () => false);
            const stat = await fs.stat(file);
            // Custom videos do not say their period in their name; the file's time stands in.
            const period = kind === 'custom' ? null : periodOfLabel(kind, label, config().appliance.timezone);
            indexVideo(videos, outbox, {
              sourceId: source.id, kind, label, path: layout.relative(file), posterPath: hasPoster ? layout.relative(poster) : null,
              periodFrom: period?.from ?? Math.round(stat.mtimeMs), periodTo: period?.to ?? Math.round(stat.mtimeMs), frames: probe.frames, fps: probe.durationMs > 0 ? Math.round((probe.frames * 1000) / probe.durationMs) : 0,
              width: probe.width, height: probe.height, durationMs: probe.durationMs, size: probe.size, codec: probe.codec, jobId: null, createdAt: Math.round(stat.mtimeMs),
              phone: phone ? { path: layout.relative(phoneFile), size: phone.size, width: phone.width, height: phone.height, bitrate: phone.bitrate } : null,
            });
            log.info({ source: source.id, video: layout.relative(file) }, 'a video file the index missed was found again');
          } catch (err) {
            log.warn({ source: source.id, file, err: messageOf(err) }, 'a file in the video folder is not a readable video; left alone');
          }
        }
      }
    }
  }
}
