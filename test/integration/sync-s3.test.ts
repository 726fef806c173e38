/**
 * The sync against a real S3 server on loopback (OpenStack Swift with its s3api
 * middleware, from Debian's packages): the key layout of SPEC §3 with checksums,
 * Content-Type and SHA-256 metadata; a multipart video; the server stopped
 * mid-batch (everything arrives, nothing twice, the multipart upload resumed, not
 * restarted); abandoned uploads aborted; a wrong secret and a missing bucket (a
 * clear error, no retry storm); an SFTP and an S3 target side by side.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListMultipartUploadsCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { createLogger, silentLogger } from '../../daemon/logger';
import { Outbox } from '../../daemon/sync/outbox';
import { DEFAULT_POLICIES, SyncService, type SyncPolicies } from '../../daemon/sync/sync.service';
import { indexVideo } from '../../daemon/timelapse/video-builder';
import type { Picture } from '../../daemon/domain/pictures';
import { tempDir, waitFor } from '../helpers/env';
import { TestS3, type S3Request } from '../helpers/s3';
import { TestSshd } from '../helpers/sshd';
import { scene, seedPictures } from '../helpers/videos';

const FAST: SyncPolicies = { file: { baseMs: 300, capMs: 1_000 }, target: { baseMs: 200, capMs: 800 } };
const T0 = Date.parse('2026-11-20T09:00:00Z');
const MiB = 1024 * 1024;
const BUCKET = 'timelapse';
const PREFIX = 'sites/box-1/';
const sha = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

describe('SyncService against a real S3 server (Swift s3api)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let s3: TestS3;
  let client: S3Client;
  let store: Repositories;
  let config: Config;
  let sync: SyncService | null;

  beforeAll(async () => {
    tmp = tempDir();
    s3 = await TestS3.start({ dir: path.join(tmp.dir, 's3') });
    client = s3.client();
    await s3.createBucket(BUCKET);
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.stop();
    tmp?.cleanup();
  });

  let data: string;
  beforeEach(() => {
    data = fs.mkdtempSync(path.join(tmp.dir, 'box-'));
    sync = null;
  });

  afterEach(async () => {
    await sync?.stop();
    store?.close();
    // Each test starts from an empty bucket, and the server up.
    if (!s3.running) await s3.startAgain();
    await emptyBucket();
  });

  const s3Target = (id = 'cloud', extra: Record<string, unknown> = {}) => ({
    id,
    type: 's3',
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: BUCKET,
    prefix: 'sites',
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
    timeout: '5s',
    ...extra,
  });

  const openWith = (targets: Record<string, unknown>[]) => {
    config = parseConfig(
      stringify({
        appliance: { id: 'box-1', timezone: 'Europe/Paris' },
        storage: { dataDir: path.join(data, 'data') },
        sources: [{ id: 'north', camera: { driver: 'testpattern' } }],
        sync: { targets },
      }),
      path.join(data, 'lapsebox.yaml'),
    ).config;
    store = openRepositories(config.storage.dataDir);
  };
  const outbox = () => new Outbox({ config: () => config, repo: store.outbox, notify: (ids) => sync?.wake(ids) });
  const startSync = (policies = FAST) => {
    sync = new SyncService({ config: () => config, store, outbox: outbox(), log: process.env['SYNC_DEBUG'] ? createLogger({ levels: { level: 'debug' } }) : silentLogger(), policies });
    sync.start();
    return sync;
  };
  const seed = (n: number, size = 320): Promise<Picture[]> =>
    seedPictures(config, store, 'north', Array.from({ length: n }, (_, i) => T0 + i * 60_000), (i) => scene(size, Math.round((size * 3) / 4), 0.8 + (i % 5) * 0.1, i));
  const addVideo = (bytes: number, label = '2026-11-20'): string => {
    const file = path.join(store.layout.videosDir('north', 'daily'), `${label}.mp4`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(bytes));
    indexVideo(store.videos, outbox(), {
      sourceId: 'north', kind: 'daily', label, path: store.layout.relative(file), posterPath: null, periodFrom: T0, periodTo: T0 + 86_400_000,
      frames: 12, fps: 25, width: 320, height: 240, durationMs: 480, size: bytes, codec: 'h264', jobId: null, createdAt: T0 + 86_400_000, phone: null,
    });
    return file;
  };
  const pending = () => config.sync.targets.reduce((n, t) => n + store.outbox.backlog(t.id).pending, 0);

  async function keys(prefix = ''): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
      out.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }
  async function object(key: string): Promise<{ body: Buffer; contentType: string | undefined; metadata: Record<string, string> | undefined }> {
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return { body: Buffer.from(await got.Body!.transformToByteArray()), contentType: got.ContentType, metadata: got.Metadata };
  }
  async function unfinishedUploads(prefix = ''): Promise<{ key: string; uploadId: string }[]> {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
    return (page.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
  }
  async function emptyBucket(): Promise<void> {
    for (const u of await unfinishedUploads()) await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: u.key, UploadId: u.uploadId }));
    for (const key of await keys()) await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  }
  /** Successful single PUTs of a key (not parts), from the server's access log. */
  const putsOf = (key: string, requests: S3Request[] = s3.requests()) =>
    requests.filter((r) => r.method === 'PUT' && r.bucket === BUCKET && r.key === key && !r.params.has('partNumber') && r.status === 200).length;
  const pictureKey = (p: Picture) => `${PREFIX}north/pictures/${p.localDate}/${path.basename(p.path)}`;

  it('sends pictures, the latest picture and a multipart video under the keys of SPEC §3, byte for byte, with Content-Type and SHA-256, once each', async () => {
    openWith([s3Target()]);
    const before = s3.requests().length;
    startSync();
    const pictures = await seed(12);
    const videoFile = addVideo(20 * MiB + 12_345);
    await waitFor('pending() === 0', () => pending() === 0, 60_000);
    const requests = s3.requests().slice(before);

    const videoKey = `${PREFIX}north/videos/daily/2026-11-20.mp4`;
    expect(await keys()).toEqual([...pictures.map(pictureKey), `${PREFIX}north/latest.jpg`, videoKey].sort());
    for (const p of pictures) {
      const local = fs.readFileSync(store.layout.absolute(p.path));
      const remote = await object(pictureKey(p));
      expect(sha(remote.body)).toBe(sha(local));
      expect(remote).toMatchObject({ contentType: 'image/jpeg', metadata: { sha256: sha(local) } });
      expect(putsOf(pictureKey(p), requests)).toBe(1);
    }
    const latest = await object(`${PREFIX}north/latest.jpg`);
    expect(sha(latest.body)).toBe(sha(fs.readFileSync(store.layout.absolute(pictures.at(-1)!.path))));
    const video = await object(videoKey);
    const videoSha = sha(fs.readFileSync(videoFile));
    expect(sha(video.body)).toBe(videoSha);
    expect(video).toMatchObject({ contentType: 'video/mp4', metadata: { sha256: videoSha } });
    // 20 MiB in parts of 8 MiB: three parts, one upload started and completed, no single PUT.
    const ofVideo = requests.filter((r) => r.key === videoKey && r.status === 200);
    expect(ofVideo.filter((r) => r.method === 'POST' && r.params.has('uploads'))).toHaveLength(1);
    expect(ofVideo.filter((r) => r.method === 'PUT' && r.params.has('partNumber')).map((r) => r.params.get('partNumber')).sort()).toEqual(['1', '2', '3']);
    expect(ofVideo.filter((r) => r.method === 'POST' && r.params.has('uploadId'))).toHaveLength(1);
    expect(putsOf(videoKey, requests)).toBe(0);
    // Nothing left behind: no unfinished upload on the server, none in the database.
    expect(await unfinishedUploads()).toEqual([]);
    expect(store.multipart.all('cloud')).toEqual([]);

    const [status] = sync!.status();
    expect(status).toMatchObject({ id: 'cloud', type: 's3', host: '127.0.0.1', port: s3.port, remoteDir: `s3://${BUCKET}/${PREFIX}`, activity: 'idle', backlog: { pending: 0 }, sent: { files: 14 }, lastError: null });
  });

  it('replaces latest.jpg and a rebuilt video, and counts a file already there with the same SHA-256 as sent without uploading it again', async () => {
    openWith([s3Target('cloud', { send: ['pictures', 'latest', 'videos'] })]);
    const [first] = await seed(1);
    // An earlier process sent the picture and died before marking it sent.
    const key = pictureKey(first!);
    const body = fs.readFileSync(store.layout.absolute(first!.path));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, Metadata: { sha256: sha(body) } }));
    const row = store.outbox.due('cloud', Date.now(), 10).find((r) => r.kind === 'picture')!;
    store.outbox.markTried(row, Date.now());
    const before = s3.requests().length;
    startSync();
    await waitFor('pending() === 0', () => pending() === 0, 20_000);
    expect(putsOf(key, s3.requests().slice(before))).toBe(0);
    expect(store.syncTargets.get('cloud').sentFiles).toBe(2);

    const [second] = await seedPictures(config, store, 'north', [T0 + 60_000], () => scene(400, 300, 1.1, 9));
    sync!.wake(['cloud']);
    await waitFor('pending() === 0', () => pending() === 0, 20_000);
    const latest = await object(`${PREFIX}north/latest.jpg`);
    expect(sha(latest.body)).toBe(sha(fs.readFileSync(store.layout.absolute(second!.path))));

    const videoFile = addVideo(300_000);
    await waitFor('pending() === 0', () => pending() === 0, 20_000);
    const firstVideo = sha(fs.readFileSync(videoFile));
    // Rebuilt: new bytes under the same name, indexed again.
    addVideo(310_000);
    expect(sha(fs.readFileSync(videoFile))).not.toBe(firstVideo);
    await waitFor('pending() === 0', () => pending() === 0, 20_000);
    const video = await object(`${PREFIX}north/videos/daily/2026-11-20.mp4`);
    expect(sha(video.body)).toBe(sha(fs.readFileSync(videoFile)));
  });

  it('loses nothing and sends nothing twice when the server stops mid-batch, and resumes the multipart upload it was in', async () => {
    openWith([s3Target('cloud', { maxRate: '8MB/s' })]);
    const pictures = await seed(20, 480);
    const videoFile = addVideo(40 * MiB);
    const videoKey = `${PREFIX}north/videos/daily/2026-11-20.mp4`;
    const before = s3.requests().length;
    startSync();
    // The pictures go first (oldest first, the video is the newest); stop once parts of the video are on the server.
    await waitFor('a part of the video on the server', () => (store.multipart.get('cloud', videoKey)?.parts.length ?? 0) > 0, 60_000);
    const uploadId = store.multipart.get('cloud', videoKey)!.uploadId;
    await s3.stop();
    const down = await waitFor('the target failing', () => sync!.status().find((s) => s.failingSince !== null), 20_000);
    expect(down!.lastError?.message).toMatch(/127\.0\.0\.1:\d+ refused the connection/);
    expect(down!.activity).toMatch(/retrying|connecting/);
    const partsBefore = store.multipart.get('cloud', videoKey)!.parts.map((p) => p.partNumber);
    expect(partsBefore.length).toBeGreaterThan(0);

    const restart = s3.requests().length;
    await s3.startAgain();
    await waitFor('pending() === 0', () => pending() === 0, 90_000);
    const all = s3.requests().slice(before);
    const after = s3.requests().slice(restart);

    expect(await keys()).toEqual([...pictures.map(pictureKey), `${PREFIX}north/latest.jpg`, videoKey].sort());
    for (const p of pictures) {
      expect(sha((await object(pictureKey(p))).body)).toBe(sha(fs.readFileSync(store.layout.absolute(p.path))));
      expect(putsOf(pictureKey(p), all)).toBe(1);
    }
    expect(sha((await object(videoKey)).body)).toBe(sha(fs.readFileSync(videoFile)));
    // The same upload was completed: started once, its parts sent before the outage not sent again.
    expect(all.filter((r) => r.key === videoKey && r.method === 'POST' && r.params.has('uploads') && r.status === 200)).toHaveLength(1);
    const complete = all.filter((r) => r.key === videoKey && r.method === 'POST' && r.params.has('uploadId') && r.status === 200);
    expect(complete.map((r) => r.params.get('uploadId'))).toEqual([uploadId]);
    const resent = after.filter((r) => r.key === videoKey && r.method === 'PUT' && r.params.has('partNumber') && r.status === 200).map((r) => Number(r.params.get('partNumber')));
    expect(resent.filter((n) => partsBefore.includes(n))).toEqual([]);
    expect([...partsBefore, ...resent].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(await unfinishedUploads()).toEqual([]);
    expect(sync!.status()[0]).toMatchObject({ failingSince: null, activity: 'idle' });
    // An outage, a restart of the server and 40 MB at 8 MB/s: more than jest's default minute on a loaded machine.
  }, 150_000);

  it('aborts uploads nobody waits for any more, and leaves those of other boxes alone', async () => {
    openWith([s3Target('cloud', { send: ['pictures'] })]);
    const started = async (key: string) => {
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: crypto.randomBytes(5 * MiB) }));
      return UploadId!;
    };
    // One the server has but the database never recorded (a crash right after it started), one the database
    // records for a file that is no longer queued (deleted since), and another box's.
    await started(`${PREFIX}north/videos/daily/2026-11-01.mp4`);
    const stale = await started(`${PREFIX}north/videos/daily/2026-11-02.mp4`);
    store.multipart.begin('cloud', { key: `${PREFIX}north/videos/daily/2026-11-02.mp4`, remotePath: 'north/videos/daily/2026-11-02.mp4', uploadId: stale, size: 6 * MiB, sha256: 'x'.repeat(64), partSize: 8 * MiB, createdAt: T0 });
    const other = await started('sites/box-2/north/videos/daily/2026-11-01.mp4');
    await seed(1);
    startSync();
    await waitFor('pending() === 0', () => pending() === 0, 20_000);
    await waitFor('the abandoned uploads aborted', async () => (await unfinishedUploads()).length === 1, 10_000);
    expect(await unfinishedUploads()).toEqual([{ key: 'sites/box-2/north/videos/daily/2026-11-01.mp4', uploadId: other }]);
    expect(store.multipart.all('cloud')).toEqual([]);
  });

  it('a wrong secret: a clear error naming the target and the key, the target backs off (no retry storm), nothing is lost; the fixed secret file is read again', async () => {
    const secretFile = path.join(data, 's3-secret');
    fs.writeFileSync(secretFile, 'not-the-secret\n', { mode: 0o600 });
    openWith([s3Target('cloud', { secretAccessKey: undefined, secretAccessKeyFile: secretFile })]);
    await seed(3);
    const before = s3.requests().length;
    startSync(DEFAULT_POLICIES);
    const status = await waitFor('the error', () => sync!.status().find((s) => s.lastError !== null), 10_000);
    expect(status!.lastError!.message).toBe(`127.0.0.1:${s3.port} refused the credentials of "cloud" (access key ${s3.accessKeyId}: 403 SignatureDoesNotMatch); check accessKeyId and the secret key`);
    expect(status!.activity).toBe('retrying');
    expect(Date.parse(status!.nextAttemptAt!) - Date.now()).toBeGreaterThan(2_000);
    await new Promise((r) => setTimeout(r, 3_000));
    // One look at the bucket per try (a HEAD, and a GET to learn why it was refused), 5 s apart
    // and growing: not a request per file, not a storm.
    const tried = s3.requests().slice(before);
    expect(tried.filter((r) => r.method === 'HEAD').length).toBeLessThanOrEqual(2);
    expect(tried.length).toBeLessThanOrEqual(4);
    expect(tried.every((r) => (r.method === 'HEAD' || r.method === 'GET') && r.status === 403)).toBe(true);
    expect(pending()).toBe(4);
    expect(await keys()).toEqual([]);
    // The operator fixes the file: the next try reads it again, without a restart.
    fs.writeFileSync(secretFile, `${s3.secretAccessKey}\n`);
    let [pass] = await sync!.sendNow('cloud');
    // On a loaded machine the backoff's own try can start just before the file changed, and
    // sendNow waits for it: that one had the old key; the one after reads the new.
    if (pass!.error !== null) [pass] = await sync!.sendNow('cloud');
    expect(pass).toMatchObject({ sent: 4, pending: 0, error: null });
    expect(await keys()).toHaveLength(4);
  });

  it('a bucket that does not exist: a clear error naming it, nothing sent, nothing lost', async () => {
    openWith([s3Target('cloud', { bucket: 'no-such-bucket' })]);
    await seed(2);
    startSync(DEFAULT_POLICIES);
    const status = await waitFor('the error', () => sync!.status().find((s) => s.lastError !== null), 10_000);
    expect(status!.lastError!.message).toBe(`the bucket "no-such-bucket" does not exist on 127.0.0.1:${s3.port} (HTTP 404); create it, or fix bucket in sync target "cloud"`);
    expect(status!.activity).toBe('retrying');
    expect(pending()).toBe(3);
  });

  it('a self-hosted server without forcePathStyle: the error names the host name the box looked up, and the fix', async () => {
    openWith([s3Target('cloud', { endpoint: 'http://minio.invalid:9000', forcePathStyle: false })]);
    await seed(1);
    startSync(DEFAULT_POLICIES);
    const status = await waitFor('the error', () => sync!.status().find((s) => s.lastError !== null), 10_000);
    expect(status!.lastError!.message).toBe(`${BUCKET}.minio.invalid:9000 is not a known host name (check endpoint, and the box's DNS) (self-hosted servers usually need forcePathStyle: true)`);
    expect(status).toMatchObject({ host: 'minio.invalid', port: 9000, activity: 'retrying' });
  });

  it('an SFTP and an S3 target side by side each get every file once', async () => {
    const sshd = await TestSshd.start({ dir: path.join(data, 'sshd') });
    try {
      openWith([sshd.target('hq'), s3Target('cloud')]);
      const uploads = sshd.watch(['box-1/north/pictures/2026-11-20', 'box-1/north/videos/daily']);
      const before = s3.requests().length;
      startSync();
      const pictures = await seed(8);
      const videoFile = addVideo(17 * MiB);
      await waitFor('pending() === 0', () => pending() === 0, 60_000);
      const requests = s3.requests().slice(before);
      for (const p of pictures) {
        const local = sha(fs.readFileSync(store.layout.absolute(p.path)));
        const onSftp = path.join(sshd.root, 'box-1', `north/pictures/${p.localDate}/${path.basename(p.path)}`);
        expect(sha(fs.readFileSync(onSftp))).toBe(local);
        expect(uploads.renamesOnto(onSftp)).toBe(1);
        expect(sha((await object(pictureKey(p))).body)).toBe(local);
        expect(putsOf(pictureKey(p), requests)).toBe(1);
      }
      const videoSha = sha(fs.readFileSync(videoFile));
      expect(sha(fs.readFileSync(path.join(sshd.root, 'box-1/north/videos/daily/2026-11-20.mp4')))).toBe(videoSha);
      expect(sha((await object(`${PREFIX}north/videos/daily/2026-11-20.mp4`)).body)).toBe(videoSha);
      expect(sync!.status().map((s) => [s.id, s.type, s.sent.files])).toEqual([
        ['hq', 'sftp', 10],
        ['cloud', 's3', 10],
      ]);
    } finally {
      await sync?.stop();
      sync = null;
      await sshd.stop();
    }
  });

  it('a multipart upload never shows an object before it is complete', async () => {
    // Eight parts, four at a time, sharing 8 MB/s: the first part is recorded seconds before the last
    // (with three parts all in flight at once, they ended together and the object was complete before the HEAD).
    openWith([s3Target('cloud', { maxRate: '8MB/s', send: ['videos'] })]);
    addVideo(64 * MiB);
    const videoKey = `${PREFIX}north/videos/daily/2026-11-20.mp4`;
    startSync();
    await waitFor('a part of the video on the server', () => (store.multipart.get('cloud', videoKey)?.parts.length ?? 0) > 0, 60_000);
    await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: videoKey }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    expect(await keys()).toEqual([]);
    await waitFor('pending() === 0', () => pending() === 0, 60_000);
    expect(await keys()).toEqual([videoKey]);
  }, 150_000);
});
