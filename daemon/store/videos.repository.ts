import type { Db } from './database';
import type { Video, VideoKind } from '../domain/videos';

export type NewVideo = Omit<Video, 'id'>;

interface Row {
  id: number;
  source_id: string;
  kind: VideoKind;
  label: string;
  path: string;
  poster_path: string | null;
  period_from: number;
  period_to: number;
  frames: number;
  fps: number;
  width: number;
  height: number;
  duration_ms: number;
  size: number;
  codec: string;
  job_id: number | null;
  created_at: number;
  phone_path: string | null;
  phone_size: number | null;
  phone_width: number | null;
  phone_height: number | null;
  phone_bitrate: number | null;
}

const toVideo = (r: Row): Video => ({
  id: r.id,
  sourceId: r.source_id,
  kind: r.kind,
  label: r.label,
  path: r.path,
  posterPath: r.poster_path,
  periodFrom: r.period_from,
  periodTo: r.period_to,
  frames: r.frames,
  fps: r.fps,
  width: r.width,
  height: r.height,
  durationMs: r.duration_ms,
  size: r.size,
  codec: r.codec,
  jobId: r.job_id,
  createdAt: r.created_at,
  phone: r.phone_path === null ? null : { path: r.phone_path, size: r.phone_size ?? 0, width: r.phone_width ?? 0, height: r.phone_height ?? 0, bitrate: r.phone_bitrate ?? 0 },
});

export class VideosRepository {
  readonly #db: Db;
  readonly #upsert;
  readonly #byId;
  readonly #byPath;
  readonly #list;
  readonly #all;
  readonly #delete;
  readonly #dropPhone;

  constructor(db: Db) {
    this.#db = db;
    // A rebuilt video keeps its id (and the links to it); only what it holds changes.
    this.#upsert = db.prepare(
      `INSERT INTO videos (source_id, kind, label, path, poster_path, period_from, period_to, frames, fps, width, height, duration_ms, size, codec, job_id, created_at,
         phone_path, phone_size, phone_width, phone_height, phone_bitrate)
       VALUES (@sourceId, @kind, @label, @path, @posterPath, @periodFrom, @periodTo, @frames, @fps, @width, @height, @durationMs, @size, @codec, @jobId, @createdAt,
         @phonePath, @phoneSize, @phoneWidth, @phoneHeight, @phoneBitrate)
       ON CONFLICT (path) DO UPDATE SET poster_path = excluded.poster_path, period_from = excluded.period_from, period_to = excluded.period_to,
         frames = excluded.frames, fps = excluded.fps, width = excluded.width, height = excluded.height, duration_ms = excluded.duration_ms,
         size = excluded.size, codec = excluded.codec, job_id = excluded.job_id, created_at = excluded.created_at,
         phone_path = excluded.phone_path, phone_size = excluded.phone_size, phone_width = excluded.phone_width, phone_height = excluded.phone_height, phone_bitrate = excluded.phone_bitrate
       RETURNING id`,
    );
    this.#byId = db.prepare<[number], Row>(`SELECT * FROM videos WHERE id = ?`);
    this.#byPath = db.prepare<[string], Row>(`SELECT * FROM videos WHERE path = ?`);
    this.#list = db.prepare<[{ source: string; kind: string | null; limit: number }], Row>(
      `SELECT * FROM videos WHERE source_id = @source AND (@kind IS NULL OR kind = @kind) ORDER BY period_from DESC, id DESC LIMIT @limit`,
    );
    this.#all = db.prepare<[], Row>(`SELECT * FROM videos`);
    this.#delete = db.prepare<[number]>(`DELETE FROM videos WHERE id = ?`);
    this.#dropPhone = db.prepare<[number]>(`UPDATE videos SET phone_path = NULL, phone_size = NULL, phone_width = NULL, phone_height = NULL, phone_bitrate = NULL WHERE id = ?`);
  }

  /** Inserts, or replaces what is known of the video at the same path; returns its id. */
  save(video: NewVideo): number {
    const { phone, ...rest } = video;
    const rendition = { phonePath: phone?.path ?? null, phoneSize: phone?.size ?? null, phoneWidth: phone?.width ?? null, phoneHeight: phone?.height ?? null, phoneBitrate: phone?.bitrate ?? null };
    return (this.#upsert.get({ ...rest, ...rendition }) as { id: number }).id;
  }

  /** Forgets a film's phone rendition (its file is gone). */
  dropPhone(id: number): void {
    this.#dropPhone.run(id);
  }

  get(id: number): Video | undefined {
    const row = this.#byId.get(id);
    return row && toVideo(row);
  }

  byPath(path: string): Video | undefined {
    const row = this.#byPath.get(path);
    return row && toVideo(row);
  }

  /** A source's videos, newest period first. */
  list(sourceId: string, kind: VideoKind | null = null, limit = 500): Video[] {
    return this.#list.all({ source: sourceId, kind, limit }).map(toVideo);
  }

  all(): Video[] {
    return this.#all.all().map(toVideo);
  }

  remove(id: number): void {
    this.#delete.run(id);
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
