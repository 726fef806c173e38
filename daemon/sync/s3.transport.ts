/**
 * The S3 side of the sync: the only code that knows the AWS SDK. Any S3-compatible
 * store (AWS, MinIO, Ceph RGW, Garage, Swift's s3api, Scaleway, OVH, B2, Wasabi).
 *
 * An object exists under its key only complete: pictures go up in one PUT (atomic
 * on every S3 server), larger files as a multipart upload that is completed last.
 * Each body carries its Content-MD5, so the server refuses one that arrived
 * damaged; each object carries its Content-Type and the file's SHA-256
 * (`x-amz-meta-sha256`), by which a file already there after a crash counts as
 * sent. A multipart upload's id and every part the server confirmed are kept in
 * the database as they happen (MultipartStore), so an upload cut by a crash or an
 * outage resumes with the parts already there; uploads nobody wants any more are
 * aborted. lib-storage's Upload is not used: it cannot resume an upload id after
 * a restart.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import {
  S3Client,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  DeleteObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
  ListPartsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type ServiceOutputTypes,
  type ServiceInputTypes,
  type S3ClientResolvedConfig,
} from '@aws-sdk/client-s3';
import type { Command } from '@smithy/types';
import type { S3TargetConfig } from '../config/schema';
import type { MultipartPart, MultipartRecord } from '../domain/sync';
import { TEMP_PREFIX } from '../domain/data-folder';
import { Throttle, TokenBucket } from './throttle';
import { endpointOf, objectKey } from './remote-paths';
import { SyncError, type ProbeReport, type Transport, type TransportOptions, type UploadOptions, type UploadOutcome } from './transport';
import { messageOf } from '../error-causes';

// The SDK warns on every start under Node 20 that its releases after January 2027 will need
// Node 22; the lockfile pins one that supports Node 20, and the warning would fill every box's journal.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const MiB = 1024 * 1024;
/** Files from this size on go up as multipart uploads: a cut one resumes instead of starting over. */
export const MULTIPART_FROM = 16 * MiB;
/** At least S3's minimum part (5 MiB); small enough that a part lost on a 4G link costs seconds, not minutes. */
export const PART_SIZE = 8 * MiB;
/** S3's limit on parts per upload: larger files get larger parts. */
const MAX_PARTS = 10_000;
/** Parts of one file in flight at once. */
const PARTS_IN_FLIGHT = 4;
/** Files in flight at once on a target: each PUT is its own request, so more overlap than over SFTP's one channel. */
const FILES_IN_FLIGHT = 8;
/** The metadata key of the file's SHA-256 (sent as `x-amz-meta-sha256`). */
export const SHA256_META = 'sha256';

const CONTENT_TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.mp4': 'video/mp4', '.json': 'application/json' };

/** The part size for a file: PART_SIZE, or more when the file would need more than S3's 10,000 parts. */
export function partSizeFor(size: number): number {
  return Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

export function contentTypeOf(file: string): string {
  const dot = file.lastIndexOf('.');
  return CONTENT_TYPES[dot < 0 ? '' : file.slice(dot).toLowerCase()] ?? 'application/octet-stream';
}

interface FileHashes {
  sha256: string;
  /** Base64 MD5 of the whole file (the Content-MD5 of a single PUT); null when not asked for. */
  md5: string | null;
}

/** Chunks read from the file: large enough that a 300 MB video is a few thousand reads, not tens of thousands. */
const READ_CHUNK = 512 * 1024;

/** One read of the file: its SHA-256, and its MD5 when it goes up in one PUT. */
async function hashFile(file: string, withMd5: boolean): Promise<FileHashes> {
  const sha = crypto.createHash('sha256');
  const md5 = withMd5 ? crypto.createHash('md5') : null;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
    sha.update(chunk);
    md5?.update(chunk);
  }
  return { sha256: sha.digest('hex'), md5: md5?.digest('base64') ?? null };
}

/** The base64 MD5 of a part of the file (its Content-MD5), read just before the part goes up. */
async function md5Of(file: string, start: number, length: number): Promise<string> {
  const md5 = crypto.createHash('md5');
  for await (const chunk of fs.createReadStream(file, { start, end: start + length - 1, highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) md5.update(chunk);
  return md5.digest('base64');
}

/** The ETag S3 gives a part or a single PUT: the hex MD5 of the body, quoted. */
function etagOfMd5(base64: string): string {
  return `"${Buffer.from(base64, 'base64').toString('hex')}"`;
}

type S3Command<I extends ServiceInputTypes, O extends ServiceOutputTypes> = Command<ServiceInputTypes, I, ServiceOutputTypes, O, S3ClientResolvedConfig>;

interface S3Failure {
  name?: string;
  Code?: string;
  code?: string;
  cause?: unknown;
  $cause?: unknown;
  message?: string;
  $metadata?: { httpStatusCode?: number; clockSkewCorrected?: boolean };
  $response?: unknown;
}

/** One target's client and the upload protocol. */
export class S3Transport implements Transport {
  readonly parallel = FILES_IN_FLIGHT;
  readonly #target: S3TargetConfig;
  readonly #options: TransportOptions;
  readonly #endpoint: URL;
  /** `[<prefix>/]<appliance.id>/`: every key of this box starts with it. */
  readonly #boxPrefix: string;
  #client: S3Client | null = null;
  #agents: (http.Agent | https.Agent)[] = [];
  #ok = false;
  #connecting: Promise<void> | null = null;
  /** Aborts every request in flight (stop, reload); replaced after each abort. */
  #abort = new AbortController();
  readonly #bucket: TokenBucket | null;
  /** CreateMultipartUpload calls in flight: an upload the server lists but the database does not know yet may be one of them. */
  #creating = 0;

  constructor(target: S3TargetConfig, options: TransportOptions) {
    this.#target = target;
    this.#options = options;
    this.#endpoint = endpointOf(target);
    this.#boxPrefix = `${objectKey(target, options.applianceId, '')}/`;
    this.#bucket = options.maxRate === undefined ? null : new TokenBucket(options.maxRate);
  }

  get connected(): boolean {
    return this.#ok;
  }

  /** The bucket answers to our credentials; then uploads nobody wants any more are aborted. Concurrent callers share one attempt. */
  connect(): Promise<void> {
    if (this.#ok) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    await this.#openBucket();
    this.#ok = true;
    await this.#abortAbandoned();
  }

  async upload(localFile: string, options: UploadOptions): Promise<UploadOutcome> {
    const stat = await fsp.stat(localFile).catch(localFailure(localFile));
    await this.connect();
    const key = objectKey(this.#target, this.#options.applianceId, options.remotePath);
    const multipart = stat.size >= MULTIPART_FROM;
    const partSize = partSizeFor(stat.size);
    const hashes = await hashFile(localFile, !multipart).catch(localFailure(localFile));
    // Only multipart uploads are recorded: a picture costs no lookup.
    const record = multipart ? (this.#options.multipart?.get(key) ?? null) : null;
    // After a crash the object may be complete already (sent, or a multipart upload completed before the database knew).
    if (options.mayBeThere || (record !== null && record.sha256 === hashes.sha256)) {
      const there = await this.#head(key);
      if (there !== null && there !== 'unknown' && there.sha256 === hashes.sha256 && there.size === stat.size) {
        if (record !== null) await this.#drop(record);
        return { status: 'already-there', bytes: stat.size };
      }
    }
    const contentType = contentTypeOf(localFile);
    if (!multipart) {
      await this.#send(`uploading ${key}`, () =>
        new PutObjectCommand({
          Bucket: this.#target.bucket,
          Key: key,
          Body: this.#body(localFile, 0, stat.size),
          ContentLength: stat.size,
          ContentMD5: hashes.md5!,
          ContentType: contentType,
          Metadata: { [SHA256_META]: hashes.sha256 },
        }),
      );
      return { status: 'uploaded', bytes: stat.size };
    }
    await this.#multipart(localFile, { key, remotePath: options.remotePath, size: stat.size, partSize, hashes, contentType }, record);
    return { status: 'uploaded', bytes: stat.size };
  }

  /**
   * HeadBucket: the server answers, takes our signature, and the bucket exists. A HEAD's
   * refusal has no body to say why, so a 403 is asked again with a GET of the box's keys:
   * a wrong secret or key id is then named as such, while a key that may write but not
   * list the bucket (s3:ListBucket, which HeadBucket needs on AWS) is let through.
   */
  async #openBucket(): Promise<'listable' | 'write-only'> {
    const bucket = this.#target.bucket;
    try {
      await this.#send(`opening bucket "${bucket}"`, () => new HeadBucketCommand({ Bucket: bucket }));
      return 'listable';
    } catch (err) {
      // Only a bodiless 403 says nothing of why; a named refusal (SignatureDoesNotMatch...) stands.
      if (!(err instanceof SyncError && err.kind === 'auth' && err.answer?.status === 403 && err.answer.code === '')) throw err;
      try {
        await this.#send(`opening bucket "${bucket}"`, () => new ListObjectsV2Command({ Bucket: bucket, Prefix: this.#boxPrefix, MaxKeys: 1 }));
        return 'listable';
      } catch (again) {
        if (again instanceof SyncError && again.kind === 'permission') return 'write-only';
        throw again;
      }
    }
  }

  async probe(): Promise<ProbeReport> {
    const steps: string[] = [];
    const failed = (err: unknown) => {
      const error = err instanceof SyncError ? err : new SyncError('remote', messageOf(err));
      error.steps = [...steps];
      return error;
    };
    try {
      const access = await this.#openBucket();
      steps.push(`${this.#endpoint.host} answers`, `credentials of ${this.#target.accessKeyId} accepted`, access === 'listable' ? `bucket "${this.#target.bucket}" exists` : `bucket "${this.#target.bucket}" not listable by this key (enough to send)`);
      const key = `${this.#boxPrefix}${TEMP_PREFIX}doctor-${crypto.randomUUID()}`;
      const body = Buffer.from('lapsebox doctor\n');
      await this.#send(`writing ${key}`, () =>
        new PutObjectCommand({ Bucket: this.#target.bucket, Key: key, Body: body, ContentLength: body.length, ContentMD5: crypto.createHash('md5').update(body).digest('base64'), ContentType: 'text/plain' }),
      );
      steps.push(`${this.#boxPrefix} writable`);
      try {
        await this.#send(`removing ${key}`, () => new DeleteObjectCommand({ Bucket: this.#target.bucket, Key: key }));
      } catch (err) {
        // The sync never deletes: a key without s3:DeleteObject is enough, only the probe stays behind.
        if (!(err instanceof SyncError && err.kind === 'permission')) throw err;
        return { steps, clockOffsetMs: this.#clockOffset(), leftBehind: key };
      }
    } catch (err) {
      throw failed(err);
    }
    return { steps, clockOffsetMs: this.#clockOffset() };
  }

  abort(): void {
    this.#ok = false;
    this.#abort.abort();
    this.#abort = new AbortController();
  }

  async close(): Promise<void> {
    this.#ok = false;
    this.#dropClient();
  }

  #dropClient(): void {
    this.#client?.destroy();
    this.#client = null;
    for (const agent of this.#agents) agent.destroy();
    this.#agents = [];
  }

  /** Server clock minus ours (from the last response's Date header, as the SDK keeps it to sign). */
  #clockOffset(): number | undefined {
    const offset = (this.#client?.config as { systemClockOffset?: number } | undefined)?.systemClockOffset;
    return typeof offset === 'number' ? offset : undefined;
  }

  async #ensureClient(): Promise<S3Client> {
    if (this.#client) return this.#client;
    const t = this.#target;
    const secret = await this.#secret();
    // Keep-alive: pictures are small, and a new TCP (and TLS) connection per file would cost more than the file.
    const agentOptions = { keepAlive: true, maxSockets: FILES_IN_FLIGHT * PARTS_IN_FLIGHT };
    const httpAgent = new http.Agent(agentOptions);
    const httpsAgent = new https.Agent(agentOptions);
    this.#agents = [httpAgent, httpsAgent];
    this.#client = new S3Client({
      region: t.region,
      ...(t.endpoint ? { endpoint: t.endpoint } : {}),
      forcePathStyle: t.forcePathStyle,
      credentials: { accessKeyId: t.accessKeyId, secretAccessKey: secret },
      // Servers that do not take the SDK's newer checksums (Swift, older MinIO and Ceph) refuse
      // streamed bodies with them; Content-MD5 checks each body instead.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // One attempt per call: the sync's backoff decides when to try again (a clock skew and a
      // reused connection the server had closed are retried once, below).
      maxAttempts: 1,
      // The SDK's own warnings (a failed streaming request cannot be retried) would go to the console; the sync logs each failure itself.
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      requestHandler: { connectionTimeout: t.timeout, socketTimeout: t.timeout, httpAgent, httpsAgent },
    });
    return this.#client;
  }

  async #secret(): Promise<string> {
    const t = this.#target;
    if (t.secretAccessKey !== undefined) return t.secretAccessKey;
    const file = t.secretAccessKeyFile!;
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      throw new SyncError('auth', `cannot read the secret key file ${file} for "${t.id}": ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`);
    }
    const secret = text.split(/\r?\n/)[0]!.trim();
    if (secret === '') throw new SyncError('auth', `the secret key file ${file} for "${t.id}" is empty`);
    return secret;
  }

  /** A body read from the file, through the target's bandwidth cap when it has one. */
  #body(file: string, start: number, length: number): Readable {
    const reader = fs.createReadStream(file, { start, end: start + length - 1, highWaterMark: this.#bucket === null ? READ_CHUNK : 64 * 1024 });
    if (this.#bucket === null) return reader;
    const throttle = new Throttle(this.#bucket);
    reader.on('error', (err) => throttle.destroy(err));
    return reader.pipe(throttle);
  }

  /**
   * What is under a key: its size and the SHA-256 it was sent with, null when nothing
   * is, 'unknown' when the key may not read objects (s3:GetObject): then a file is
   * sent rather than assumed there, and a completed upload is taken as the server's word.
   */
  async #head(key: string): Promise<{ size: number; sha256: string | null } | null | 'unknown'> {
    try {
      const head = await this.#send(`checking ${key}`, () => new HeadObjectCommand({ Bucket: this.#target.bucket, Key: key }));
      return { size: head.ContentLength ?? -1, sha256: head.Metadata?.[SHA256_META] ?? null };
    } catch (err) {
      if (err instanceof SyncError && err.answer?.status === 404) return null;
      if (err instanceof SyncError && err.kind === 'permission') return 'unknown';
      throw err;
    }
  }

  async #multipart(
    localFile: string,
    file: { key: string; remotePath: string; size: number; partSize: number; hashes: FileHashes; contentType: string },
    record: MultipartRecord | null,
  ): Promise<void> {
    const store = this.#options.multipart;
    const { key, size, partSize, hashes } = file;
    // An upload started for another version of the file (a rebuilt video) is of no use.
    if (record !== null && (record.sha256 !== hashes.sha256 || record.size !== size || record.partSize !== partSize)) {
      await this.#drop(record);
      record = null;
    }
    const count = Math.ceil(size / partSize);
    const lengthOf = (partNumber: number) => Math.min(partSize, size - (partNumber - 1) * partSize);
    const done = new Map<number, MultipartPart>();
    if (record !== null) {
      const listed = await this.#listParts(key, record.uploadId);
      if (listed === null) {
        // The server no longer knows the upload (aborted, or expired by a lifecycle rule).
        store?.forget(key);
        record = null;
      } else {
        const recorded = new Map(record.parts.map((p) => [p.partNumber, p]));
        for (const part of listed) {
          if (part.partNumber > count || part.size !== lengthOf(part.partNumber)) continue;
          // A part counts when the database recorded it, or when its ETag is the MD5 of our bytes (sent just before a crash).
          const mine = recorded.get(part.partNumber)?.etag === part.etag || part.etag === etagOfMd5(await md5Of(localFile, (part.partNumber - 1) * partSize, part.size));
          if (mine) done.set(part.partNumber, part);
        }
      }
    }
    let uploadId: string;
    if (record === null) {
      this.#creating++;
      try {
        const created = await this.#send(`starting the upload of ${key}`, () =>
          new CreateMultipartUploadCommand({ Bucket: this.#target.bucket, Key: key, ContentType: file.contentType, Metadata: { [SHA256_META]: hashes.sha256 } }),
        );
        if (!created.UploadId) throw new SyncError('remote', `the server started the upload of ${key} without an upload id`);
        uploadId = created.UploadId;
        store?.begin({ key, remotePath: file.remotePath, uploadId, size, sha256: hashes.sha256, partSize, createdAt: Date.now() });
      } finally {
        this.#creating--;
      }
    } else {
      uploadId = record.uploadId;
    }

    const todo = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !done.has(n));
    let next = 0;
    let failed = false;
    const lane = async () => {
      while (!failed && next < todo.length) {
        const partNumber = todo[next++]!;
        const start = (partNumber - 1) * partSize;
        const length = lengthOf(partNumber);
        try {
          const md5 = await md5Of(localFile, start, length).catch(localFailure(localFile));
          const sent = await this.#send(`uploading part ${partNumber}/${count} of ${key}`, () =>
            new UploadPartCommand({
              Bucket: this.#target.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: partNumber,
              Body: this.#body(localFile, start, length),
              ContentLength: length,
              ContentMD5: md5,
            }),
          );
          const part = { partNumber, etag: sent.ETag ?? etagOfMd5(md5), size: length };
          store?.addPart(key, uploadId, part);
          done.set(partNumber, part);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    const lanes = await Promise.allSettled(Array.from({ length: Math.min(PARTS_IN_FLIGHT, todo.length) }, lane));
    const rejected = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (rejected) {
      const error = rejected.reason as unknown;
      // The upload is kept (and its parts): the next attempt, after a restart too, resumes it.
      if (error instanceof SyncError && error.answer?.code === 'NoSuchUpload') store?.forget(key);
      throw error;
    }

    try {
      await this.#send(`completing the upload of ${key}`, () =>
        new CompleteMultipartUploadCommand({
          Bucket: this.#target.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: [...done.values()].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      // A part the server does not have after all: start over next time.
      if (err instanceof SyncError && ['InvalidPart', 'InvalidPartOrder', 'NoSuchUpload', 'EntityTooSmall'].includes(err.answer?.code ?? '')) {
        await this.#drop({ key, uploadId });
      }
      throw err;
    }
    store?.forget(key);
    // The object as the server now holds it: complete, and the size of ours.
    const there = await this.#head(key);
    if (there === null || (there !== 'unknown' && there.size !== size)) {
      throw new SyncError('size-mismatch', `${key} holds ${there?.size ?? 'nothing'} after the upload was completed, ${size} bytes were sent; it will be sent again`);
    }
  }

  /** The parts the server holds for an upload, or null when it does not know the upload. */
  async #listParts(key: string, uploadId: string): Promise<MultipartPart[] | null> {
    const parts: MultipartPart[] = [];
    let marker: string | undefined;
    try {
      for (;;) {
        const page = await this.#send(`listing the parts of ${key}`, () => new ListPartsCommand({ Bucket: this.#target.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
        for (const p of page.Parts ?? []) {
          if (p.PartNumber !== undefined && p.ETag !== undefined && p.Size !== undefined) parts.push({ partNumber: p.PartNumber, etag: p.ETag, size: p.Size });
        }
        if (!page.IsTruncated || page.NextPartNumberMarker === undefined) return parts;
        marker = page.NextPartNumberMarker;
      }
    } catch (err) {
      if (err instanceof SyncError && err.answer?.status === 404) return null;
      // A key that may not list parts (s3:ListMultipartUploadParts): the parts the database recorded, each confirmed by the server when sent.
      if (err instanceof SyncError && err.kind === 'permission') return this.#options.multipart?.get(key)?.parts ?? [];
      throw err;
    }
  }

  /** Aborts an upload (the server frees its parts) and forgets it; an upload the server no longer knows is forgotten too. */
  async #drop(upload: Pick<MultipartRecord, 'key' | 'uploadId'>): Promise<void> {
    try {
      await this.#send(`aborting the upload of ${upload.key}`, () => new AbortMultipartUploadCommand({ Bucket: this.#target.bucket, Key: upload.key, UploadId: upload.uploadId }));
    } catch (err) {
      // Gone already; or a key that may not abort (s3:AbortMultipartUpload): left to the bucket's lifecycle rule.
      if (!(err instanceof SyncError && (err.answer?.status === 404 || err.kind === 'permission'))) throw err;
    }
    this.#options.multipart?.forget(upload.key);
  }

  /**
   * Uploads nobody waits for any more (their file was deleted, or replaced by a newer
   * version) are aborted: the server would keep their parts, and bill them, forever.
   * Those the database records and the outbox still wants are kept; so is any other
   * box's. Never fails the connection: a key without the right to list uploads only
   * leaves them to the bucket's lifecycle rules.
   */
  async #abortAbandoned(): Promise<void> {
    const store = this.#options.multipart;
    if (!store) return;
    try {
      for (const record of store.all()) {
        if (!store.wanted(record.remotePath)) await this.#drop(record);
      }
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      for (;;) {
        const page = await this.#send('listing unfinished uploads', () =>
          new ListMultipartUploadsCommand({ Bucket: this.#target.bucket, Prefix: this.#boxPrefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
        // Read after the listing: an upload another file started meanwhile is recorded by now.
        const known = new Set(store.all().map((r) => `${r.key}\n${r.uploadId}`));
        for (const u of page.Uploads ?? []) {
          if (u.Key === undefined || u.UploadId === undefined || known.has(`${u.Key}\n${u.UploadId}`)) continue;
          // One of ours being started (its id not recorded yet) looks the same: wait for the next connection.
          if (this.#creating > 0) return;
          await this.#drop({ key: u.Key, uploadId: u.UploadId });
        }
        if (!page.IsTruncated) return;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
        if (keyMarker === undefined && uploadIdMarker === undefined) return;
      }
    } catch (err) {
      if (err instanceof SyncError && err.ofTarget) throw err;
      // Left for the next connection.
    }
  }

  /**
   * Sends one request. A refusal for a skewed clock is tried once more (the SDK has
   * then learnt the server's time from its Date header), and so is a request cut on
   * a kept-alive connection the server had just closed. Errors become SyncErrors.
   */
  async #send<I extends ServiceInputTypes, O extends ServiceOutputTypes>(what: string, make: () => S3Command<I, O>): Promise<O> {
    const client = await this.#ensureClient();
    for (let attempt = 1; ; attempt++) {
      try {
        return await client.send(make(), { abortSignal: this.#abort.signal });
      } catch (err) {
        const failure = err as S3Failure;
        const retry = attempt === 1 && !this.#abort.signal.aborted && (failure.$metadata?.clockSkewCorrected === true || isStaleSocket(failure));
        if (retry) continue;
        const error = this.#classify(failure, what);
        if (error.ofTarget) {
          this.#ok = false;
          // The next connection starts a new client: a secret file fixed meanwhile is read again.
          if (error.kind === 'auth') this.#dropClient();
        }
        throw error;
      }
    }
  }

  /** The SyncError of a failed request, with the server's answer (status and code) attached when there was one. */
  #classify(err: S3Failure, what: string): SyncError {
    const error = this.#describe(err, what);
    const status = err.$metadata?.httpStatusCode;
    if (status !== undefined) error.answer = { status, code: codeOf(err) };
    return error;
  }

  #describe(err: S3Failure, what: string): SyncError {
    const t = this.#target;
    const where = `${this.#endpoint.host}`;
    const status = err.$metadata?.httpStatusCode;
    const named = err.Code ?? err.name ?? '';
    const code = codeOf(err);
    const errno = errnoOf(err);
    if (err.name === 'AbortError' || this.#abort.signal.aborted) return new SyncError('connection', `the connection to ${where} was cut while ${what}: the sync is stopping`);
    const why: Record<string, string> = {
      ECONNREFUSED: 'refused the connection (is the server running, and is the port in endpoint right?)',
      ENOTFOUND: "is not a known host name (check endpoint, and the box's DNS)",
      EAI_AGAIN: 'could not be looked up (no DNS answer: is the network up?)',
      EHOSTUNREACH: 'cannot be reached (no route: is the network up?)',
      ENETUNREACH: 'cannot be reached (the network is down)',
    };
    if (why[errno]) {
      // Without forcePathStyle the SDK reaches the bucket as a host of its own: that is the name that failed.
      const contacted = t.forcePathStyle ? where : `${t.bucket}.${this.#endpoint.host}`;
      const hint = !t.forcePathStyle && errno !== 'ECONNREFUSED' ? ' (self-hosted servers usually need forcePathStyle: true)' : '';
      return new SyncError('unreachable', `${contacted} ${why[errno]}${hint}`);
    }
    if (err.name === 'TimeoutError' || errno === 'ETIMEDOUT' || /timed out/i.test(err.message ?? '')) {
      return new SyncError('timeout', `${where} stopped answering for ${t.timeout / 1000} s while ${what}`);
    }
    if (status === undefined) {
      return new SyncError('connection', `the connection to ${where} broke while ${what}: ${(err.message ?? code).replace(/^AWS SDK error wrapper for (Error: )?/, '')}`);
    }
    const detail = code ? `${status} ${code}` : `HTTP ${status}`;
    if (code === 'RequestTimeTooSkewed' || err.$metadata?.clockSkewCorrected) {
      return new SyncError('clock', `${where} refuses the requests of "${t.id}" because the box's clock is off (${detail}); check the clock (timedatectl, NTP)`);
    }
    if (status === 301 || code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException') {
      const headers = (err.$response as { headers?: Record<string, string> } | undefined)?.headers ?? {};
      const region = headers['x-amz-bucket-region'];
      return new SyncError('auth', `the bucket "${t.bucket}" on ${where} is not in region "${t.region}"${region ? ` but in "${region}"` : ''} (${detail}); set region${region ? `: ${region}` : ''} in sync target "${t.id}"`);
    }
    if (code === 'NoSuchBucket' || (status === 404 && what.startsWith('opening bucket'))) {
      return new SyncError('no-bucket', `the bucket "${t.bucket}" does not exist on ${where} (${detail}); create it, or fix bucket in sync target "${t.id}"`);
    }
    if (['SignatureDoesNotMatch', 'InvalidAccessKeyId', 'InvalidToken', 'ExpiredToken', 'AuthorizationHeaderMalformed', 'InvalidSecurity'].includes(code) || (status === 403 && what.startsWith('opening bucket'))) {
      return new SyncError('auth', `${where} refused the credentials of "${t.id}" (access key ${t.accessKeyId}: ${detail}); check accessKeyId and the secret key${code === 'AuthorizationHeaderMalformed' ? ', and region' : ''}`);
    }
    if (status === 403) {
      return new SyncError('permission', `${where} refused access key ${t.accessKeyId} while ${what} (${detail}); the key lacks a right the sync needs on bucket "${t.bucket}"`);
    }
    if (status === 503 || status === 429 || code === 'SlowDown') {
      return new SyncError('connection', `${where} is overloaded or unavailable (${detail}) while ${what}`);
    }
    const hint = code === 'BadDigest' || code === 'InvalidDigest' ? ' (the body arrived damaged)' : '';
    const said = err.message && err.message !== named && !/^Unknown(Error)?$/.test(err.message) ? `: ${err.message}` : '';
    return new SyncError('remote', `the server failed while ${what}: ${detail}${hint}${said}`);
  }
}

/** Our own file failed to read: gone (nothing to send any more), or unreadable (tried again later). */
function localFailure(file: string): (err: NodeJS.ErrnoException) => never {
  return (err) => {
    if (err.code === 'ENOENT') throw new SyncError('local-missing', `${file} is no longer on the box`);
    throw new SyncError('local', `cannot read ${file}: ${err.message}`);
  };
}

/** The S3 error code of an answer; '' for a HEAD's, which has no body (the SDK names it after the status: "Unknown", "Forbidden", "NotFound"). */
function codeOf(err: S3Failure): string {
  const named = err.Code ?? err.name ?? '';
  return ['Unknown', 'UnknownError', 'Forbidden', 'NotFound', 'BadRequest'].includes(named) ? '' : named;
}

/** The system error code under the SDK's wrappers ("AWS SDK error wrapper for Error: connect ECONNREFUSED ..."). */
function errnoOf(err: S3Failure): string {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    e = (e as S3Failure).cause ?? (e as S3Failure).$cause;
  }
  return /\b(E(?:CONNREFUSED|CONNRESET|PIPE|NOTFOUND|AI_AGAIN|HOSTUNREACH|NETUNREACH|TIMEDOUT))\b/.exec(err.message ?? '')?.[1] ?? '';
}

/** A request cut before any answer on a kept-alive connection (the server closed it as we reused it). */
function isStaleSocket(err: S3Failure): boolean {
  const errno = errnoOf(err);
  return err.$metadata?.httpStatusCode === undefined && (errno === 'ECONNRESET' || errno === 'EPIPE' || /socket hang up/i.test(err.message ?? ''));
}
