import type { Db } from './database';
import type { MultipartPart, MultipartRecord } from '../domain/sync';

interface UploadRow {
  key: string;
  remote_path: string;
  upload_id: string;
  size: number;
  sha256: string;
  part_size: number;
  created_at: number;
}

/**
 * Multipart uploads in progress per sync target (S3): the upload id and each part
 * the server confirmed, written as they are confirmed, so a restart resumes them.
 */
export class MultipartRepository {
  readonly #db: Db;
  readonly #get;
  readonly #all;
  readonly #parts;
  readonly #begin;
  readonly #dropParts;
  readonly #addPart;
  readonly #forget;

  constructor(db: Db) {
    this.#db = db;
    this.#get = db.prepare<[string, string], UploadRow>(`SELECT * FROM multipart_uploads WHERE target_id = ? AND key = ?`);
    this.#all = db.prepare<[string], UploadRow>(`SELECT * FROM multipart_uploads WHERE target_id = ? ORDER BY created_at`);
    this.#parts = db.prepare<[string, string, string], { part_number: number; etag: string; size: number }>(
      `SELECT part_number, etag, size FROM multipart_parts WHERE target_id = ? AND key = ? AND upload_id = ? ORDER BY part_number`,
    );
    this.#begin = db.prepare<[{ target: string; key: string; remotePath: string; uploadId: string; size: number; sha256: string; partSize: number; createdAt: number }]>(
      `INSERT INTO multipart_uploads (target_id, key, remote_path, upload_id, size, sha256, part_size, created_at)
       VALUES (@target, @key, @remotePath, @uploadId, @size, @sha256, @partSize, @createdAt)
       ON CONFLICT (target_id, key) DO UPDATE SET remote_path = excluded.remote_path, upload_id = excluded.upload_id, size = excluded.size,
         sha256 = excluded.sha256, part_size = excluded.part_size, created_at = excluded.created_at`,
    );
    this.#dropParts = db.prepare<[string, string]>(`DELETE FROM multipart_parts WHERE target_id = ? AND key = ?`);
    this.#addPart = db.prepare<[{ target: string; key: string; uploadId: string; partNumber: number; etag: string; size: number }]>(
      `INSERT OR REPLACE INTO multipart_parts (target_id, key, upload_id, part_number, etag, size) VALUES (@target, @key, @uploadId, @partNumber, @etag, @size)`,
    );
    this.#forget = db.prepare<[string, string]>(`DELETE FROM multipart_uploads WHERE target_id = ? AND key = ?`);
  }

  get(targetId: string, key: string): MultipartRecord | null {
    const row = this.#get.get(targetId, key);
    return row ? this.#record(targetId, row) : null;
  }

  all(targetId: string): MultipartRecord[] {
    return this.#all.all(targetId).map((row) => this.#record(targetId, row));
  }

  /** A new upload for a key: it replaces any earlier one (which the caller aborted). */
  begin(targetId: string, record: Omit<MultipartRecord, 'parts'>): void {
    this.#db.transaction(() => {
      this.#dropParts.run(targetId, record.key);
      this.#begin.run({ target: targetId, ...record });
    })();
  }

  addPart(targetId: string, key: string, uploadId: string, part: MultipartPart): void {
    this.#addPart.run({ target: targetId, key, uploadId, ...part });
  }

  forget(targetId: string, key: string): void {
    this.#db.transaction(() => {
      this.#dropParts.run(targetId, key);
      this.#forget.run(targetId, key);
    })();
  }

  #record(targetId: string, row: UploadRow): MultipartRecord {
    return {
      key: row.key,
      remotePath: row.remote_path,
      uploadId: row.upload_id,
      size: row.size,
      sha256: row.sha256,
      partSize: row.part_size,
      createdAt: row.created_at,
      parts: this.#parts.all(targetId, row.key, row.upload_id).map((p) => ({ partNumber: p.part_number, etag: p.etag, size: p.size })),
    };
  }
}
