/**
 * What the sync asks of a transport, whatever the protocol: one connection to one
 * target, reused while it works, and uploads that leave a file under its final name
 * only when it is complete. The outbox, the backoff and the alerts (sync.service.ts)
 * and the doctor speak to this interface; each protocol is one file beside it
 * (sftp.transport.ts), chosen by the target's `type` in transports.ts.
 */
export type SyncErrorKind =
  | 'host-key' // the server's key is not the pinned one
  | 'auth' // the server refused our key or password, or the key cannot be read
  | 'unreachable' // no TCP connection (refused, no route, unknown name)
  | 'timeout' // the server stopped answering
  | 'connection' // the connection broke
  | 'permission' // the server refused to write there
  | 'remote' // the server failed the request (its disk is full, the path is a file...)
  | 'size-mismatch' // the uploaded file is not the size of ours
  | 'local-missing' // our file is gone
  | 'local'; // our file cannot be read

/** Errors of the whole target (drop the connection, wait, try again) against errors of one file. */
const TARGET_KINDS: ReadonlySet<SyncErrorKind> = new Set(['host-key', 'auth', 'unreachable', 'timeout', 'connection']);

export class SyncError extends Error {
  override readonly name = 'SyncError';
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
  /** Absolute remote paths. */
  finalFile: string;
  tempFile: string;
  /**
   * Whether a final file already there with the right size counts as sent: true
   * only when an earlier attempt may have got as far as the rename (a crash before
   * the database update); false for a file never tried (one round trip saved) and
   * for files that replace an older version (latest.jpg, a rebuilt video).
   */
  mayBeThere: boolean;
}

export type UploadOutcome = { status: 'uploaded'; bytes: number } | { status: 'already-there'; bytes: number };

export interface TransportOptions {
  /** Bytes per second; none by default. */
  maxRate?: number | undefined;
  /** Called with the fingerprint the server presented, whether or not it matched. */
  onHostKey?: (fingerprint: string) => void;
}

export interface Transport {
  /** True while a connection is open and no call on it has failed. */
  readonly connected: boolean;
  /** Connects if there is no working connection; after any failure the next call starts afresh. Concurrent callers share one attempt. */
  connect(): Promise<void>;
  /** Sends one file under a temporary name, checks it, then gives it its final name. Rejects with a SyncError. */
  upload(localFile: string, options: UploadOptions): Promise<UploadOutcome>;
  /** What is at a remote path (the doctor's look at the target's folder). */
  remoteKind(remotePath: string): Promise<'folder' | 'other' | 'missing'>;
  /** Writes and removes a probe file in a remote folder: the doctor's proof the folder is writable. */
  probeWrite(dir: string): Promise<void>;
  /** Fails every call in flight at once and drops the connection (stop, reload). */
  abort(): void;
  /** Closes the connection politely. */
  close(): Promise<void>;
}
