/**
 * The picture shown to the public: the newest usable picture at least
 * `public.delay` old, at `public.width` (or one of `public.sizes`), legend and
 * watermark on. The `public.width` size is made at capture time (or once, later,
 * from the stored picture); the other widths when first asked for (see
 * `PictureSizes.publicWidth`). Answers are kept until a newer picture is the public
 * one: a website polling every few seconds costs one indexed query, not a resize
 * or a file stat.
 */
import fs from 'node:fs/promises';
import type { SourceConfig } from '../config/schema';
import type { PicturesRepository } from '../store/pictures.repository';
import type { Picture } from '../domain/pictures';
import { scaledTo } from '../pipeline/plan';
import type { PictureSizes } from './picture-sizes';

export interface PublicImage {
  picture: Picture;
  /** Strong validator: changes when the picture or its public file changes. */
  etag: string;
  file: string;
  size: number;
}

/** The answers made for the current public picture of a source. */
interface Current {
  picture: Picture;
  /** At `public.width`. */
  main?: PublicImage;
  /** By width asked for (one of `public.sizes`). */
  widths: Map<number, PublicImage>;
}

export class PublicImages {
  readonly #pictures: PicturesRepository;
  readonly #sizes: Pick<PictureSizes, 'file' | 'publicWidth'>;
  readonly #now: () => number;
  /** Per source; dropped whole when another picture becomes the public one. */
  readonly #current = new Map<string, Current>();

  constructor(deps: { pictures: PicturesRepository; sizes: Pick<PictureSizes, 'file' | 'publicWidth'>; now?: () => number }) {
    this.#pictures = deps.pictures;
    this.#sizes = deps.sizes;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * The public picture of a public source, or null when it has none yet. `width`, one
   * of `public.sizes` (the caller checks it is listed), asks for that width, capped to
   * the stored picture's; a width that comes out as `public.width` does is the
   * `public.width` picture itself, same file and ETag.
   */
  async get(source: SourceConfig, width?: number): Promise<PublicImage | null> {
    const picture = this.#pictures.latest(source.id, this.#now() - source.public.delay);
    if (!picture) {
      this.#current.delete(source.id);
      return null;
    }
    let current = this.#current.get(source.id);
    if (!current || current.picture.id !== picture.id) {
      current = { picture, widths: new Map() };
      this.#current.set(source.id, current);
    }
    const capped = width === undefined ? undefined : scaledTo(picture, width).width;
    if (capped === undefined || capped === scaledTo(picture, source.public.width).width) {
      current.main ??= await this.#image(picture, await this.#sizes.file(picture, source, 'public'), '');
      return current.main;
    }
    let image = current.widths.get(capped);
    if (!image) {
      image = await this.#image(picture, await this.#sizes.publicWidth(picture, source, capped), `-w${capped}`);
      current.widths.set(capped, image);
    }
    return image;
  }

  async #image(picture: Picture, file: string, tag: string): Promise<PublicImage> {
    const st = await fs.stat(file);
    return { picture, file, size: st.size, etag: `"p${picture.id}${tag}-${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"` };
  }
}
