/**
 * What the sync asks of a transport, whatever the protocol: one connection to one
 * target, reused while it works, and uploads that leave a file under its final name
 * only when it is complete. The outbox, the backoff and the alerts (sync.service.ts)
 * and the doctor speak to this interface; each protocol is one file beside it
 * (sftp.transport.ts, s3.transport.ts), chosen by the target's `type` in transports.ts.
 */
import type { MultipartRecord, MultipartPart } from '../domain/sync';
export type SyncErrorKind =
  | 'host-key' // the server's key is not the pinned one
  | 'auth' // the server refused our key, password or signature, or the key cannot be read
  | 'no-bucket' // the S3 bucket does not exist
  | 'clock' // the server refuses our signatures' time: the box's clock is off
  | 'unreachable' // no TCP connection (refused, no route, unknown name)
  | 'timeout' // the server stopped answering
  | 'connection' // the connection broke
  | 'permission' // the server refused to write there
  | 'missing-folder' // the target's folder is not on the server (the doctor's probe)
  | 'remote' // the server failed the request (its disk is full, the path is a file...)
  | 'size-mismatch' // the uploaded file is not the size of ours
  | 'local-missing' // our file is gone
  | 'local'; // our file cannot be read

/** Errors of the whole target (drop the connection, wait, try again) against errors of one file. */
const TARGET_KINDS: ReadonlySet<SyncErrorKind> = new Set(['host-key', 'auth', 'no-bucket', 'clock', 'unreachable', 'timeout', 'connection']);

export class SyncError extends Error {
  override readonly name = 'SyncError';
  /** In the doctor's probe: the steps that worked before this failure. */
  steps: string[] = [];
  /** The server's answer, when it gave one (S3: the HTTP status and the error code, '' when its answer had no body). */
  answer: { status: number; code: string } | null = null;
  constructor(
    readonly kind: SyncErrorKind,
    message: string,
  ) {
    super(message);
  }

  /** True when the target cannot be used at all, false when only this file failed. */
  get ofTarget(): boolean {
    return TARGET_KINDS.has(this.kind);
  }
}

export interface UploadOptions {
  /** Where the file goes under the box's folder on the target (`<source>/pictures/<day>/<file>.jpg`). */
  remotePath: string;
  /**
   * Whether a remote file already there and equal to ours counts as sent: true
   * only when an earlier attempt may have got as far as the rename (a crash before
   * the database update); false for a file never tried (one round trip saved) and
   * for files that replace an older version (latest.jpg, a rebuilt video).
   */
  mayBeThere: boolean;
}

export type UploadOutcome = { status: 'uploaded'; bytes: number } | { status: 'already-there'; bytes: number };

/**
 * Where a transport keeps multipart uploads in progress (S3), so that an upload cut
 * by a crash or an outage resumes after a restart instead of starting over. One
 * target's rows; the sync binds it to the database.
 */
export interface MultipartStore {
  get(key: string): MultipartRecord | null;
  all(): MultipartRecord[];
  begin(record: Omit<MultipartRecord, 'parts'>): void;
  addPart(key: string, uploadId: string, part: MultipartPart): void;
  forget(key: string): void;
  /** Whether the outbox still waits to send this remote path to the target: an upload for a file nobody wants any more is abandoned. */
  wanted(remotePath: string): boolean;
}

export interface TransportOptions {
  /** `appliance.id`: the box's folder (or key prefix) on the target. */
  applianceId: string;
  /** Bytes per second; none by default. */
  maxRate?: number | undefined;
  /** Called with the fingerprint the server presented, whether or not it matched (SFTP). */
  onHostKey?: (fingerprint: string) => void;
  /** Multipart uploads in progress (S3); without it, a cut upload starts over. */
  multipart?: MultipartStore;
}

/** What the doctor learnt from a target: each step that worked, in order, and the server's clock when it tells it. */
export interface ProbeReport {
  steps: string[];
  /** Server clock minus ours, in milliseconds, from the server's Date header (S3 signs with the time). */
  clockOffsetMs?: number | undefined;
  /** A probe the key could write but not remove (S3 without s3:DeleteObject, which the sync does not need). */
  leftBehind?: string;
}

export interface Transport {
  /** Uploads this transport runs well at once (they share the connection and the bandwidth cap). */
  readonly parallel: number;
  /** True while a connection is open and no call on it has failed. */
  readonly connected: boolean;
  /** Connects if there is no working connection; after any failure the next call starts afresh. Concurrent callers share one attempt. */
  connect(): Promise<void>;
  /** Sends one file under a temporary name, checks it, then gives it its final name. Rejects with a SyncError. */
  upload(localFile: string, options: UploadOptions): Promise<UploadOutcome>;
  /**
   * The doctor's look at the target: connects, checks the place the box's files go,
   * writes and removes a probe there. Rejects with a SyncError (its `steps` say what
   * worked before).
   */
  probe(): Promise<ProbeReport>;
  /** Fails every call in flight at once and drops the connection (stop, reload). */
  abort(): void;
  /** Closes the connection politely. */
  close(): Promise<void>;
}
