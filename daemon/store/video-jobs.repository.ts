import type { Db } from './database';
import type { VideoKind, JobStatus, VideoJob } from '../domain/videos';

interface Row {
  id: number;
  source_id: string;
  kind: VideoKind;
  label: string;
  params: string;
  status: JobStatus;
  progress: number;
  requested_by: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  message: string | null;
  result: string | null;
  video_id: number | null;
}

const toJob = (r: Row): VideoJob => ({
  id: r.id,
  sourceId: r.source_id,
  kind: r.kind,
  label: r.label,
  params: JSON.parse(r.params) as Record<string, unknown>,
  status: r.status,
  progress: r.progress,
  requestedBy: r.requested_by,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  message: r.message,
  result: r.result === null ? null : (JSON.parse(r.result) as Record<string, unknown>),
  videoId: r.video_id,
});

export class VideoJobsRepository {
  readonly #insert;
  readonly #setLabel;
  readonly #byId;
  readonly #next;
  readonly #start;
  readonly #progress;
  readonly #finish;
  readonly #requeue;
  readonly #running;
  readonly #forPeriod;
  readonly #list;
  readonly #activeCustom;

  constructor(db: Db) {
    this.#insert = db.prepare<[string, string, string, string, string, number]>(
      `INSERT INTO video_jobs (source_id, kind, label, params, status, requested_by, created_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)`,
    );
    this.#setLabel = db.prepare<[string, number]>(`UPDATE video_jobs SET label = ? WHERE id = ?`);
    this.#byId = db.prepare<[number], Row>(`SELECT * FROM video_jobs WHERE id = ?`);
    this.#next = db.prepare<[], Row>(`SELECT * FROM video_jobs WHERE status = 'queued' ORDER BY id LIMIT 1`);
    this.#start = db.prepare<[number, number]>(`UPDATE video_jobs SET status = 'running', started_at = ?, progress = 0 WHERE id = ? AND status = 'queued'`);
    this.#progress = db.prepare<[number, number]>(`UPDATE video_jobs SET progress = ? WHERE id = ?`);
    this.#finish = db.prepare<[JobStatus, number, string | null, string | null, number | null, number, number]>(
      `UPDATE video_jobs SET status = ?, finished_at = ?, message = ?, result = ?, video_id = ?, progress = ? WHERE id = ?`,
    );
    this.#requeue = db.prepare<[number]>(`UPDATE video_jobs SET status = 'queued', started_at = NULL, progress = 0 WHERE id = ?`);
    this.#running = db.prepare<[], Row>(`SELECT * FROM video_jobs WHERE status = 'running'`);
    this.#forPeriod = db.prepare<[string, string, string], Row>(`SELECT * FROM video_jobs WHERE source_id = ? AND kind = ? AND label = ? ORDER BY id`);
    this.#list = db.prepare<[{ source: string | null; by: string | null; limit: number }], Row>(
      `SELECT * FROM video_jobs WHERE (@source IS NULL OR source_id = @source) AND (@by IS NULL OR requested_by = @by) ORDER BY id DESC LIMIT @limit`,
    );
    this.#activeCustom = db.prepare<[], { requestedBy: string; count: number }>(
      `SELECT requested_by AS requestedBy, count(*) AS count FROM video_jobs WHERE kind = 'custom' AND status IN ('queued', 'running') GROUP BY requested_by`,
    );
  }

  add(job: { sourceId: string; kind: VideoKind; label: string; params: Record<string, unknown>; requestedBy: string }, now: number): number {
    return Number(this.#insert.run(job.sourceId, job.kind, job.label, JSON.stringify(job.params), job.requestedBy, now).lastInsertRowid);
  }

  /** Custom jobs are named after their id, known only once inserted. */
  setLabel(id: number, label: string): void {
    this.#setLabel.run(label, id);
  }

  get(id: number): VideoJob | undefined {
    const row = this.#byId.get(id);
    return row && toJob(row);
  }

  /** The oldest queued job. */
  next(): VideoJob | undefined {
    const row = this.#next.get();
    return row && toJob(row);
  }

  /** Marks a queued job running; false when it is no longer queued (cancelled meanwhile). */
  start(id: number, now: number): boolean {
    return this.#start.run(now, id).changes === 1;
  }

  setProgress(id: number, percent: number): void {
    this.#progress.run(Math.round(percent * 10) / 10, id);
  }

  finish(id: number, end: { status: JobStatus; message?: string | null; result?: Record<string, unknown> | null; videoId?: number | null }, now: number): void {
    const job = this.get(id);
    this.#finish.run(
      end.status,
      now,
      end.message ?? null,
      end.result ? JSON.stringify(end.result) : null,
      end.videoId ?? null,
      end.status === 'succeeded' ? 100 : (job?.progress ?? 0),
      id,
    );
  }

  requeue(id: number): void {
    this.#requeue.run(id);
  }

  running(): VideoJob[] {
    return this.#running.all().map(toJob);
  }

  /** Every job ever made for one period of one kind, oldest first. */
  forPeriod(sourceId: string, kind: VideoKind, label: string): VideoJob[] {
    return this.#forPeriod.all(sourceId, kind, label).map(toJob);
  }

  /** Custom jobs queued or being built, per user who asked. */
  activeCustom(): Map<string, number> {
    return new Map(this.#activeCustom.all().map((r) => [r.requestedBy, r.count]));
  }

  list(filter: { sourceId?: string | undefined; requestedBy?: string | undefined; limit?: number | undefined } = {}): VideoJob[] {
    return this.#list.all({ source: filter.sourceId ?? null, by: filter.requestedBy ?? null, limit: filter.limit ?? 100 }).map(toJob);
  }
}
