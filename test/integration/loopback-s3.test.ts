/**
 * The loopback S3 server of the S3 sync tests and benchmarks (Swift + s3api from Debian's
 * python3-swift, scripts/lib/loopback-s3.ts): SigV4 round trip, a wrong secret refused, the
 * access log seen by requests(), data kept across an outage, and nothing left running.
 */
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { TestS3 } from '../../scripts/lib/loopback-s3';
import { tempDir } from '../helpers/env';

const sha = (data: Uint8Array) => crypto.createHash('sha256').update(data).digest('hex');
const BUCKET = 'lapsebox-test';

/** Which of `pids` still run (a zombie, waiting for its parent to reap it, runs no more). */
function alive(pids: number[]): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,stat='], { encoding: 'utf8' });
  const live = new Set(
    table
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([pid, stat]) => pid && stat && !stat.startsWith('Z'))
      .map(([pid]) => Number(pid)),
  );
  return pids.filter((pid) => live.has(pid));
}

describe('TestS3: Swift with s3api on loopback', () => {
  let tmp: ReturnType<typeof tempDir>;
  let s3: TestS3 | undefined;
  let client: S3Client;
  const picture = crypto.randomBytes(300_000);

  beforeAll(async () => {
    tmp = tempDir('lapsebox-s3-');
    s3 = await TestS3.start({ dir: tmp.dir });
    client = s3.client();
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.stop();
    tmp?.cleanup();
  });

  it('stores and serves an object byte for byte with the SDK (SigV4, path style)', async () => {
    expect(s3!.endpoint).toBe(`http://127.0.0.1:${s3!.port}`);
    expect(new Set(Object.values(s3!.ports)).size).toBe(5);
    await s3!.createBucket(BUCKET);
    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'north/pictures/a.jpg', Body: picture, ContentType: 'image/jpeg' }));
    expect(put.ETag).toBe(`"${crypto.createHash('md5').update(picture).digest('hex')}"`);
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'north/pictures/a.jpg' }));
    expect(sha(await got.Body!.transformToByteArray())).toBe(sha(picture));
    expect(got.ContentType).toBe('image/jpeg');
  });

  it('refuses a wrong secret with 403', async () => {
    const wrong = s3!.client({ secretAccessKey: 'not-the-secret' });
    try {
      await expect(wrong.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'north/pictures/a.jpg' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
      await expect(wrong.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'x', Body: 'x' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    } finally {
      wrong.destroy();
    }
  });

  it('lists the client-facing S3 requests from the access log, multipart parts included', async () => {
    const key = 'north/videos/daily/2026-11-20.mp4';
    const upload = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const parts = [];
    for (const PartNumber of [1, 2]) {
      const part = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: upload.UploadId, PartNumber, Body: Buffer.alloc(5 * 1024 * 1024, PartNumber) }));
      parts.push({ ETag: part.ETag, PartNumber });
    }
    await client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }));
    await s3!.waitForRequests((r) => r.method === 'POST' && r.key === key && r.params.has('uploadId'));

    const requests = s3!.requests();
    const putsOf = (k: string) => requests.filter((r) => r.method === 'PUT' && r.status === 200 && r.key === k && !r.params.has('uploadId'));
    expect(putsOf('north/pictures/a.jpg')).toHaveLength(1);
    expect(putsOf('north/pictures/a.jpg')[0]).toMatchObject({ bucket: BUCKET, path: `/${BUCKET}/north/pictures/a.jpg`, bytesReceived: picture.length });
    expect(requests.filter((r) => r.method === 'PUT' && r.status === 403 && r.key === 'x')).toHaveLength(1);
    const uploadParts = requests.filter((r) => r.method === 'PUT' && r.key === key && r.params.has('partNumber'));
    expect(uploadParts.map((r) => [r.params.get('partNumber'), r.params.get('uploadId'), r.status])).toEqual([
      ['1', upload.UploadId, 200],
      ['2', upload.UploadId, 200],
    ]);
    // Swift's own subrequests (the "+segments" container, SLO checks) are not client requests.
    expect(requests.filter((r) => r.path.startsWith('/v1/') || r.bucket.endsWith('+segments'))).toEqual([]);
    expect(s3!.logOf('proxy')).toContain('/v1/AUTH_test/');
  });

  it('keeps the data across an outage (stop, then startAgain on the same ports)', async () => {
    await s3!.stop();
    expect(s3!.running).toBe(false);
    await expect(fetch(`${s3!.endpoint}/healthcheck`)).rejects.toThrow();
    await s3!.startAgain();
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'north/pictures/a.jpg' }));
    expect(sha(await got.Body!.transformToByteArray())).toBe(sha(picture));
  });

  it('stops leaving no process behind', async () => {
    const pids = s3!.pids;
    // memcached and four Swift parents with one worker each
    expect(pids.length).toBe(9);
    expect(alive(pids)).toEqual(pids);
    await s3!.stop();
    expect(alive(pids)).toEqual([]);
    expect(s3!.pids).toEqual([]);
    await s3!.stop(); // idempotent
  });
});
