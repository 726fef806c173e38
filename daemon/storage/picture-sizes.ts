/**
 * The files the web serves for a picture: each size is made at capture time, and
 * made again from the stored picture when it is missing (pictures stored before
 * a size existed, a size switched on later, a file lost), so a request never
 * fails for want of a thumbnail.
 */
import path from 'node:path';
import type { SourceConfig } from '../config/schema';
import { listFolder, type DataLayout } from '../files/layout';
import { removeIfExists } from '../files/atomic';
import type { PictureStore } from './picture.store';
import type { Logger } from '../logger';
import type { PicturesRepository } from '../store/pictures.repository';
import { type Picture, isCameraFault, type DerivativeKind } from '../domain/pictures';
import { AppError, notFound } from '../errors';
import { PicturePipeline, WatermarkUnavailableError } from '../pipeline/picture.pipeline';
import { scaledTo } from '../pipeline/plan';

export class PictureSizes {
  readonly #layout: DataLayout;
  readonly #pictures: PicturesRepository;
  readonly #store: Pick<PictureStore, 'writeDerivative' | 'writeSize'>;
  readonly #pipeline: PicturePipeline;
  readonly #log: Logger;
  readonly #making = new Map<string, Promise<string>>();

  constructor(deps: { layout: DataLayout; pictures: PicturesRepository; store: Pick<PictureStore, 'writeDerivative' | 'writeSize'>; pipeline: PicturePipeline; log: Logger }) {
    this.#layout = deps.layout;
    this.#pictures = deps.pictures;
    this.#store = deps.store;
    this.#pipeline = deps.pipeline;
    this.#log = deps.log;
  }

  /** The stored picture's file; AppError not-found when it is gone. */
  async original(picture: Picture): Promise<string> {
    // `inside`: a file reached through a link (a day folder linked to elsewhere) is as good as missing.
    const file = await this.#layout.inside(this.#layout.absolute(picture.path));
    if (!file) throw notFound(`the file of picture ${picture.id} is missing`);
    return file;
  }

  /** The file of one size of a picture, made now when it is not on disk. */
  async file(picture: Picture, source: SourceConfig, kind: DerivativeKind): Promise<string> {
    if (picture.rejection && isCameraFault(picture.rejection)) {
      throw notFound(`picture ${picture.id} has no ${kind}: it was rejected (${picture.rejection.code})`);
    }
    const file = this.#layout.derivative(picture.path, kind);
    if (picture.derivatives.includes(kind) && (await this.#layout.inside(file))) return file;
    const key = `${picture.id}:${kind}`;
    let making = this.#making.get(key);
    if (!making) {
      making = this.#make(picture, source, kind, file).finally(() => this.#making.delete(key));
      this.#making.set(key, making);
    }
    return making;
  }

  /**
   * The public picture at one of `public.sizes` (`width` already capped to the stored
   * picture's), made now when it is not on disk. Made on the first request, not at
   * capture time: a source captures every few minutes all day, while a website asks
   * for a width of the one public picture at a time, and with `public.delay` that is
   * not even the picture just taken; so each public picture costs at most one
   * render per width that someone asked for, and nothing for widths nobody uses.
   * Writing the file of a width removes that width's file of older pictures (and
   * files of widths no longer listed): the folder holds one file per width.
   */
  async publicWidth(picture: Picture, source: SourceConfig, width: number): Promise<string> {
    if (picture.rejection && isCameraFault(picture.rejection)) {
      throw notFound(`picture ${picture.id} has no public size: it was rejected (${picture.rejection.code})`);
    }
    const file = this.#layout.publicSize(source.id, width, picture.id);
    if (await this.#layout.inside(file)) return file;
    const key = `${picture.id}:public@${width}`;
    let making = this.#making.get(key);
    if (!making) {
      making = this.#makePublicWidth(picture, source, width, file).finally(() => this.#making.delete(key));
      this.#making.set(key, making);
    }
    return making;
  }

  /**
   * A picture at `width` (never wider than stored) with the legend and the watermark, as
   * customers see it, for progress e-mails. Made in memory and not kept: one e-mail a day
   * or a week costs one render, and nobody asks for that width again.
   */
  async watermarkedWidth(picture: Picture, source: SourceConfig, width: number): Promise<Buffer> {
    if (picture.rejection && isCameraFault(picture.rejection)) {
      throw notFound(`picture ${picture.id} cannot be shown: it was rejected (${picture.rejection.code})`);
    }
    const original = await this.original(picture);
    try {
      return await this.#pipeline.renderPublicWidth(original, { source, takenAt: picture.takenAt, size: picture }, width);
    } catch (err) {
      throw this.#explain(err, source);
    }
  }

  /** The stored picture at full size under the watermark, for customers' downloads. */
  async watermarkedOriginal(picture: Picture, source: SourceConfig): Promise<Buffer> {
    const original = await this.original(picture);
    try {
      return await this.#pipeline.renderWatermarkedOriginal(original, { source, takenAt: picture.takenAt, size: picture });
    } catch (err) {
      throw this.#explain(err, source);
    }
  }

  async #make(picture: Picture, source: SourceConfig, kind: DerivativeKind, file: string): Promise<string> {
    const original = await this.original(picture);
    let data: Buffer;
    try {
      data = await this.#pipeline.render(original, { source, takenAt: picture.takenAt, size: picture }, kind);
    } catch (err) {
      throw this.#explain(err, source);
    }
    if (!(await this.#store.writeDerivative(source.id, picture.path, kind, data))) {
      throw new AppError('unavailable', `the ${kind} of picture ${picture.id} could not be written; the daemon log says why`);
    }
    const current = this.#pictures.get(picture.id);
    if (current) this.#pictures.setDerivatives(picture.id, [...current.derivatives, kind]);
    this.#log.info({ source: source.id, picture: picture.id, kind }, 'size made again from the stored picture');
    return file;
  }

  async #makePublicWidth(picture: Picture, source: SourceConfig, width: number, file: string): Promise<string> {
    const original = await this.original(picture);
    let data: Buffer;
    try {
      data = await this.#pipeline.renderPublicWidth(original, { source, takenAt: picture.takenAt, size: picture }, width);
    } catch (err) {
      throw this.#explain(err, source);
    }
    if (!(await this.#store.writeSize(source.id, file, `the public picture ${width} pixels wide`, data))) {
      throw new AppError('unavailable', `the public picture ${width} pixels wide could not be written; the daemon log says why`);
    }
    await this.#prunePublicWidths(source, picture, width, path.dirname(file));
    this.#log.debug({ source: source.id, picture: picture.id, width }, 'public picture made at another width');
    return file;
  }

  /**
   * Removes the files of `width` of other pictures, and of widths the current list no
   * longer gives for this picture; temporary files are left to the start-up repair
   * (another width may be being written).
   */
  async #prunePublicWidths(source: SourceConfig, picture: Picture, width: number, dir: string): Promise<void> {
    const wanted = new Set(source.public.sizes.map((w) => scaledTo(picture, w).width));
    for (const name of (await listFolder(dir)).files) {
      const m = /^(\d+)-(\d+)\.jpg$/.exec(name);
      if (!m) continue;
      const [w, id] = [Number(m[1]), Number(m[2])];
      if ((w === width && id !== picture.id) || !wanted.has(w)) await removeIfExists(path.join(dir, name)).catch((err: unknown) => this.#log.warn({ source: source.id, err }, `could not remove ${name}`));
    }
  }

  /** Whoever asked (a customer, a website) is told the watermark is missing, not where the file should be. */
  #explain(err: unknown, source: SourceConfig): Error {
    if (err instanceof WatermarkUnavailableError) {
      this.#log.error({ source: source.id }, `${err.message}: pictures that carry the watermark cannot be made`);
      return new AppError('unavailable', 'the watermark of this source is not available; the maintainer has been told in the daemon log');
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}
