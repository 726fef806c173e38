/**
 * The files the web serves for a picture: each size is made at capture time, and
 * made again from the stored picture when it is missing (pictures stored before
 * a size existed, a size switched on later, a file lost), so a request never
 * fails for want of a thumbnail.
 */
import type { SourceConfig } from '../config/schema';
import type { DataLayout } from '../files/layout';
import type { PictureStore } from './picture.store';
import type { Logger } from '../logger';
import type { PicturesRepository } from '../store/pictures.repository';
import { type Picture, isCameraFault, type DerivativeKind } from '../domain/pictures';
import { AppError, notFound } from '../errors';
import { PicturePipeline, WatermarkUnavailableError } from '../pipeline/picture.pipeline';

export class PictureSizes {
  readonly #layout: DataLayout;
  readonly #pictures: PicturesRepository;
  readonly #store: Pick<PictureStore, 'writeDerivative'>;
  readonly #pipeline: PicturePipeline;
  readonly #log: Logger;
  readonly #making = new Map<string, Promise<string>>();

  constructor(deps: { layout: DataLayout; pictures: PicturesRepository; store: Pick<PictureStore, 'writeDerivative'>; pipeline: PicturePipeline; log: Logger }) {
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

  /** Whoever asked (a customer, a website) is told the watermark is missing, not where the file should be. */
  #explain(err: unknown, source: SourceConfig): Error {
    if (err instanceof WatermarkUnavailableError) {
      this.#log.error({ source: source.id }, `${err.message}: pictures that carry the watermark cannot be made`);
      return new AppError('unavailable', 'the watermark of this source is not available; the maintainer has been told in the daemon log');
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}
