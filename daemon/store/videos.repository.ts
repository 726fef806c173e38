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
});

export class VideosRepository {
  readonly #db: Db;
  readonly #upsert;
  readonly #byId;
  readonly #byPath;
  readonly #list;
  readonly #all;
  readonly #delete;

  constructor(db: Db) {
    this.#db = db;
    // A rebuilt video keeps its id (and the links to it); only what it holds changes.
    this.#upsert = db.prepare(
      `INSERT INTO videos (source_id, kind, label, path, poster_path, period_from, period_to, frames, fps, width, height, duration_ms, size, codec, job_id, created_at)
       VALUES (@sourceId, @kind, @label, @path, @posterPath, @periodFrom, @periodTo, @frames, @fps, @width, @height, @durationMs, @size, @codec, @jobId, @createdAt)
       ON CONFLICT (path) DO UPDATE SET poster_path = excluded.poster_path, period_from = excluded.period_from, period_to = excluded.period_to,
         frames = excluded.frames, fps = excluded.fps, width = excluded.width, height = excluded.height, duration_ms = excluded.duration_ms,
         size = excluded.size, codec = excluded.codec, job_id = excluded.job_id, created_at = excluded.created_at
       RETURNING id`,
    );
    this.#byId = db.prepare<[number], Row>(`SELECT * FROM videos WHERE id = ?`);
    this.#byPath = db.prepare<[string], Row>(`SELECT * FROM videos WHERE path = ?`);
    this.#list = db.prepare<[{ source: string; kind: string | null; limit: number }], Row>(
      `SELECT * FROM videos WHERE source_id = @source AND (@kind IS NULL OR kind = @kind) ORDER BY period_from DESC, id DESC LIMIT @limit`,
    );
    this.#all = db.prepare<[], Row>(`SELECT * FROM videos`);
    this.#delete = db.prepare<[number]>(`DELETE FROM videos WHERE id = ?`);
  }

  /** Inserts, or replaces what is known of the video at the same path; returns its id. */
  save(video: NewVideo): number {
    return (this.#upsert.get(video) as { id: number }).id;
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
