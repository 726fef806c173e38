/** What the outbox sends to each sync target: pictures, films and the source's latest picture. */
export const OUTBOX_KINDS = ['picture', 'video', 'latest'] as const;
export type OutboxKind = (typeof OUTBOX_KINDS)[number];

/** One part of a multipart upload the server confirmed (S3). */
export interface MultipartPart {
  partNumber: number;
  etag: string;
  size: number;
}

/** A multipart upload in progress on a target: what is needed to resume it after a restart. */
export interface MultipartRecord {
  /** The object key. */
  key: string;
  /** The outbox's remote path it sends (relative to the box's folder). */
  remotePath: string;
  uploadId: string;
  /** The local file it was started for: its size and SHA-256 (a changed file starts over). */
  size: number;
  sha256: string;
  partSize: number;
  createdAt: number;
  /** Parts confirmed by the server, by part number. */
  parts: MultipartPart[];
}
