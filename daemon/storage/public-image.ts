/**
 * The picture shown to the public: the newest usable picture at least
 * `public.delay` old, at `public.width`, legend and watermark on. The size is
 * made at capture time (or once, later, from the stored picture), and the answer
 * is kept until a newer picture is the public one: a website polling every few
 * seconds costs one indexed query, not a resize or a file stat.
 */
import fs from 'node:fs/promises';
import type { SourceConfig } from '../config/schema';
import type { PicturesRepository } from '../store/pictures.repository';
import type { Picture } from '../domain/pictures';
import type { PictureSizes } from './picture-sizes';

export interface PublicImage {
  picture: Picture;
  /** Strong validator: changes when the picture or its public file changes. */
  etag: string;
  file: string;
  size: number;
}

export class PublicImages {
  readonly #pictures: PicturesRepository;
  readonly #sizes: Pick<PictureSizes, 'file'>;
  readonly #now: () => number;
  /** The last answer per source; valid while the same picture is the public one. */
  readonly #last = new Map<string, PublicImage>();

  constructor(deps: { pictures: PicturesRepository; sizes: Pick<PictureSizes, 'file'>; now?: () => number }) {
    this.#pictures = deps.pictures;
    this.#sizes = deps.sizes;
    this.#now = deps.now ?? Date.now;
  }

  /** The public picture of a public source, or null when it has none yet. */
  async get(source: SourceConfig): Promise<PublicImage | null> {
    const picture = this.#pictures.latest(source.id, this.#now() - source.public.delay);
    if (!picture) {
      this.#last.delete(source.id);
      return null;
    }
    const last = this.#last.get(source.id);
    if (last && last.picture.id === picture.id) return last;
    const file = await this.#sizes.file(picture, source, 'public');
    const st = await fs.stat(file);
    const image = { picture, file, size: st.size, etag: `"p${picture.id}-${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"` };
    this.#last.set(source.id, image);
    return image;
  }
}
