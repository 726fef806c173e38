/**
 * The picture shown to the public: the newest picture at least `public.delay` old,
 * scaled down to `public.width`. Renders once per picture and keeps the result,
 * so a website polling every few seconds costs a file stat, not a resize.
 */
import sharp from 'sharp';
import type { SourceConfig } from '../config/schema';
import type { DataLayout } from '../files/layout';
import type { Picture, PicturesRepository } from '../store/pictures.repository';

export interface PublicImage {
  picture: Picture;
  /** Strong validator: changes when the picture or the public width changes. */
  etag: string;
  /** Either a file to send as is, or the scaled JPEG. */
  file?: string;
  body?: Buffer;
}

export class PublicImages {
  readonly #pictures: PicturesRepository;
  readonly #layout: DataLayout;
  readonly #now: () => number;
  readonly #cache = new Map<string, { etag: string; body: Promise<Buffer> }>();

  constructor(deps: { pictures: PicturesRepository; layout: DataLayout; now?: () => number }) {
    this.#pictures = deps.pictures;
    this.#layout = deps.layout;
    this.#now = deps.now ?? Date.now;
  }

  /** The public picture of a public source, or null when it has none yet. */
  async get(source: SourceConfig): Promise<PublicImage | null> {
    const picture = this.#pictures.latest(source.id, this.#now() - source.public.delay);
    if (!picture) return null;
    const file = this.#layout.absolute(picture.path);
    const width = source.public.width;
    if (width === undefined || width >= picture.width) {
      return { picture, etag: `"p${picture.id}"`, file };
    }
    const etag = `"p${picture.id}-w${width}"`;
    let cached = this.#cache.get(source.id);
    if (!cached || cached.etag !== etag) {
      const entry = { etag, body: sharp(file).resize({ width, withoutEnlargement: true }).jpeg({ quality: 85 }).toBuffer() };
      this.#cache.set(source.id, entry);
      // A failed render is not kept, so the next request tries again.
      entry.body.catch(() => this.#cache.get(source.id) === entry && this.#cache.delete(source.id));
      cached = entry;
    }
    return { picture, etag, body: await cached.body };
  }
}
