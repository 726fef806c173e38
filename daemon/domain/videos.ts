/** Films and the jobs that build them (SPEC §1, §5). */
export const VIDEO_KINDS = ['daily', 'weekly', 'monthly', 'custom'] as const;
export type VideoKind = (typeof VIDEO_KINDS)[number];

/** A built video as the rest of the daemon sees it. */
export interface Video {
  id: number;
  sourceId: string;
  kind: VideoKind;
  label: string;
  /** Relative to the data folder. */
  path: string;
  posterPath: string | null;
  periodFrom: number;
  periodTo: number;
  frames: number;
  fps: number;
  width: number;
  height: number;
  durationMs: number;
  size: number;
  codec: string;
  jobId: number | null;
  createdAt: number;
  /** The rendition for phones and slow links, stored beside the film; null when the film is small enough itself, or was made before renditions. */
  phone: VideoRendition | null;
}

/** Another encoding of a film (issue 25): smaller, with a bit rate ceiling, its index first. */
export interface VideoRendition {
  /** Relative to the data folder: `<label>.phone.mp4` beside `<label>.mp4`. */
  path: string;
  size: number;
  width: number;
  height: number;
  /** Bits per second over the whole file. */
  bitrate: number;
}

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'skipped', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINISHED: ReadonlySet<JobStatus> = new Set(['succeeded', 'skipped', 'failed', 'cancelled']);

/** One video to build, queued or done: the history a person reads. */
export interface VideoJob {
  id: number;
  sourceId: string;
  kind: VideoKind;
  label: string;
  /** What was asked, as given (custom jobs) or taken from the config (scheduled ones). */
  params: Record<string, unknown>;
  status: JobStatus;
  progress: number;
  requestedBy: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Why it was skipped, failed or cancelled. */
  message: string | null;
  result: Record<string, unknown> | null;
  videoId: number | null;
}
