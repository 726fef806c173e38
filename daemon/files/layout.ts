/**
 * Where things live in the data folder (SPEC §1). Every path the daemon writes
 * under the data folder is built here, from validated ids only.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CONTROL_SOCKET, DATABASE_FILE, PHONE_SUFFIX, VIDEO_LABEL } from '../domain/data-folder';

export class DataLayout {
  #realRoot: Promise<string> | undefined;

  constructor(readonly dataDir: string) {}

  get database(): string {
    return path.join(this.dataDir, DATABASE_FILE);
  }

  get controlSocket(): string {
    return path.join(this.dataDir, CONTROL_SOCKET);
  }

  get sourcesDir(): string {
    return path.join(this.dataDir, 'sources');
  }

  picturesDir(sourceId: string): string {
    return path.join(this.sourcesDir, sourceId, 'pictures');
  }

  dayDir(sourceId: string, localDate: string): string {
    return path.join(this.picturesDir(sourceId), localDate);
  }

  /** Where the sizes of a source's pictures live: derived/<kind>/<YYYY-MM-DD>/<picture name>. */
  derivedDir(sourceId: string): string {
    return path.join(this.sourcesDir, sourceId, 'derived');
  }

  /** The file of one size of a picture, from the picture's stored path. */
  derivative(picturePath: string, kind: string): string {
    const absolute = this.absolute(picturePath);
    const day = path.basename(path.dirname(absolute));
    const sourceDir = path.dirname(path.dirname(path.dirname(absolute)));
    return path.join(sourceDir, 'derived', kind, day, path.basename(absolute));
  }

  /** Videos of one kind: sources/<id>/videos/<kind>/. */
  videosDir(sourceId: string, kind: string): string {
    return path.join(this.sourcesDir, sourceId, 'videos', kind);
  }

  /** The video file and its poster for a label (`2026-11-22`, `2026-W47`, `custom-12`). */
  /** A film's files: the film, its poster and its phone rendition (`<label>.phone.mp4`). */
  video(sourceId: string, kind: string, label: string): { file: string; poster: string; phone: string } {
    if (!VIDEO_LABEL.test(label) || label.endsWith(PHONE_SUFFIX)) throw new Error(`not a video label: ${JSON.stringify(label)}`);
    const dir = this.videosDir(sourceId, kind);
    return { file: path.join(dir, `${label}.mp4`), poster: path.join(dir, `${label}.jpg`), phone: path.join(dir, `${label}${PHONE_SUFFIX}.mp4`) };
  }

  liveDir(sourceId: string): string {
    return path.join(this.sourcesDir, sourceId, 'live');
  }

  latest(sourceId: string): string {
    return path.join(this.liveDir(sourceId), 'latest.jpg');
  }

  /**
   * The public picture at the widths of `public.sizes`: sources/<id>/public/<width>-<picture id>.jpg.
   * A cache, not a record: no row names these files, and only the current public picture's are kept.
   */
  publicSizesDir(sourceId: string): string {
    return path.join(this.sourcesDir, sourceId, 'public');
  }

  publicSize(sourceId: string, width: number, pictureId: number): string {
    if (!Number.isSafeInteger(width) || !Number.isSafeInteger(pictureId) || width <= 0 || pictureId <= 0) throw new Error(`not a public size: ${width}, picture ${pictureId}`);
    return path.join(this.publicSizesDir(sourceId), `${width}-${pictureId}.jpg`);
  }

  /** Relative path as stored in the database. */
  relative(absolute: string): string {
    return path.relative(this.dataDir, absolute);
  }

  absolute(relative: string): string {
    return path.join(this.dataDir, relative);
  }

  /**
   * The file or folder at `absolute` (a path inside the data folder) when it exists
   * and no part of it below the data folder is a symbolic link; null otherwise. Links
   * inside the data folder are never followed: a day folder linked to elsewhere on the
   * box must not be indexed, served, zipped, uploaded or deleted through. (The data
   * folder itself may be a link, to a USB disk say.)
   */
  async inside(absolute: string): Promise<string | null> {
    const relative = path.relative(this.dataDir, absolute);
    if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return null;
    this.#realRoot ??= fs.realpath(this.dataDir).catch(() => path.resolve(this.dataDir));
    const [root, real] = await Promise.all([this.#realRoot, fs.realpath(absolute).catch(() => null)]);
    return real !== null && real === path.join(root, relative) ? absolute : null;
  }
}

export interface FolderListing {
  /** Real folders, sorted. */
  dirs: string[];
  /** Regular files, sorted. */
  files: string[];
  /** Anything else (symbolic links, sockets, devices): never followed, never used. */
  others: string[];
}

/** What `dir` holds, by kind, without following a link; empty when it does not exist. */
export async function listFolder(dir: string): Promise<FolderListing> {
  const out: FolderListing = { dirs: [], files: [], others: [] };
  try {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) (e.isDirectory() ? out.dirs : e.isFile() ? out.files : out.others).push(e.name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return out;
    throw err;
  }
  out.dirs.sort();
  out.files.sort();
  out.others.sort();
  return out;
}

