/**
 * The S3 sync in the real daemon, against a real S3 server (Swift s3api) on
 * loopback: SIGKILL in the middle of a multipart upload, then a restart that
 * resumes the same upload with the parts already sent, with no object under the
 * key before it is complete; `lapsebox sync status|run`, `status` and /metrics
 * report the target; a box whose clock is 25 minutes off (libfaketime) still
 * delivers, and `lapsebox doctor` says what is wrong with it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import { cli, freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess, initialPassword } from '../helpers/daemon';
import { TestS3 } from '../helpers/s3';
import { fakeClock } from '../helpers/clock';
import { loadConfig } from '../../daemon/config/load';
import { openRepositories } from '../../daemon/store/repositories';
import { readDatabase } from '../../daemon/store/database';
import { MultipartRepository } from '../../daemon/store/multipart.repository';
import { Outbox } from '../../daemon/sync/outbox';
import { indexVideo } from '../../daemon/timelapse/video-builder';
import type { TargetStatus } from '../../daemon/sync/sync.service';
import type { DoctorReport } from '../../daemon/doctor/doctor';

const MiB = 1024 * 1024;
const sha = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

describe('the daemon syncing to a real S3 server', () => {
  let tmp: ReturnType<typeof tempDir>;
  let s3: TestS3;
  let client: S3Client;
  let daemon: DaemonProcess | null = null;

  beforeAll(async () => {
    tmp = tempDir();
    s3 = await TestS3.start({ dir: path.join(tmp.dir, 's3') });
    client = s3.client();
  });

  afterAll(async () => {
    await daemon?.kill();
    client?.destroy();
    await s3?.stop();
    tmp?.cleanup();
  });

  const configure = (dir: string, port: number, bucket: string, target: Record<string, unknown> = {}) =>
    writeConfig({
      dir,
      port,
      // One capture a day: the pictures of these tests are the ones taken with `lapsebox capture`.
      sources: [{ id: 'cam', camera: { driver: 'testpattern', width: 640, height: 480 }, schedule: { every: '1d' } }],
      extra: {
        sync: {
          targets: [
            {
              id: 'cloud',
              type: 's3',
              endpoint: s3.endpoint,
              region: s3.region,
              bucket,
              prefix: 'fleet',
              accessKeyId: s3.accessKeyId,
              // From a file, as the docs advise.
              secretAccessKeyFile: 's3-secret',
              forcePathStyle: true,
              ...target,
            },
          ],
        },
      },
    });
  const writeSecret = (dir: string, secret = s3.secretAccessKey) => fs.writeFileSync(path.join(dir, 's3-secret'), `${secret}\n`, { mode: 0o600 });

  async function keys(bucket: string): Promise<string[]> {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (page.Contents ?? []).map((o) => o.Key!).sort();
  }
  async function body(bucket: string, key: string): Promise<Buffer> {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  }

  it('survives SIGKILL mid multipart upload: no object before it is complete, the same upload resumes with the parts already sent', async () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'kill-'));
    const bucket = 'kill';
    await s3.createBucket(bucket);
    writeSecret(dir);
    const port = await freePort();
    // 6 parts of 8 MiB: four go at once at 8 MB/s in all, so the kill comes with some parts sent and others not.
    const configFile = configure(dir, port, bucket, { maxRate: '8MB/s', send: ['videos'] });
    const dataDir = path.join(dir, 'data');
    const videoFile = path.join(dataDir, 'sources/cam/videos/custom/site-visit.mp4');
    fs.mkdirSync(path.dirname(videoFile), { recursive: true });
    fs.writeFileSync(videoFile, crypto.randomBytes(44 * MiB));
    const { config } = loadConfig(configFile);
    const store = openRepositories(dataDir);
    try {
      indexVideo(store.videos, new Outbox({ config: () => config, repo: store.outbox }), {
        sourceId: 'cam', kind: 'custom', label: 'site visit', path: 'sources/cam/videos/custom/site-visit.mp4', posterPath: null, periodFrom: 0, periodTo: 1,
        frames: 100, fps: 25, width: 640, height: 480, durationMs: 4000, size: 44 * MiB, codec: 'h264', jobId: null, createdAt: Date.now(), phone: null,
      });
    } finally {
      store.close();
    }
    const key = 'fleet/test-box/cam/videos/custom/site-visit.mp4';
    const recorded = () => readDatabase(path.join(dataDir, 'lapsebox.db'), (db) => new MultipartRepository(db).get('cloud', key));

    daemon = new DaemonProcess(configFile, port);
    await daemon.start();
    const before = await waitFor('parts of the video recorded', () => {
      const r = recorded();
      return r !== null && r.parts.length > 0 && r;
    }, 30_000);
    // Still uploading: nothing under the key yet.
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    await daemon.stop('SIGKILL');
    daemon = null;
    const atKill = recorded()!;
    expect(atKill.uploadId).toBe(before.uploadId);
    // What the server holds: the parts recorded, and maybe one it finished just before the kill, not yet recorded (kept too, its ETag is our MD5).
    const listed = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: atKill.uploadId }));
    const sentBefore = (listed.Parts ?? []).map((p) => p.PartNumber!);
    expect(sentBefore).toEqual(expect.arrayContaining(atKill.parts.map((p) => p.partNumber)));
    expect(sentBefore.length).toBeGreaterThan(0);
    expect(sentBefore.length).toBeLessThan(6);
    expect(await keys(bucket)).toEqual([]);
    const { Uploads } = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(Uploads?.map((u) => u.UploadId)).toEqual([atKill.uploadId]);

    const restart = s3.requests().length;
    daemon = new DaemonProcess(configFile, port);
    await daemon.start();
    const run = (args: string[]) => cli([...args, '--config', configFile]);
    const status = await waitFor('an empty queue', async () => {
      const s = JSON.parse((await run(['sync', 'status', '--json'])).stdout) as { targets: TargetStatus[] };
      return s.targets[0]!.backlog.pending === 0 && s.targets[0]!;
    }, 60_000);
    expect(status).toMatchObject({ id: 'cloud', type: 's3', activity: 'idle', remoteDir: `s3://${bucket}/fleet/test-box/`, host: '127.0.0.1', port: s3.port, sent: { files: 1 }, lastError: null });
    expect(sha(await body(bucket, key))).toBe(sha(fs.readFileSync(videoFile)));

    const after = s3.requests().slice(restart).filter((r) => r.key === key && r.status === 200);
    // No new upload: the parts the server had were listed and kept, the rest sent, and the same upload completed.
    expect(after.filter((r) => r.method === 'POST' && r.params.has('uploads'))).toEqual([]);
    expect(after.filter((r) => r.method === 'GET' && r.params.get('uploadId') === atKill.uploadId)).toHaveLength(1);
    const sentAfter = after.filter((r) => r.method === 'PUT' && r.params.has('partNumber')).map((r) => Number(r.params.get('partNumber')));
    expect(sentAfter.filter((n) => sentBefore.includes(n))).toEqual([]);
    expect(new Set([...sentBefore, ...sentAfter])).toEqual(new Set([1, 2, 3, 4, 5, 6]));
    expect(after.filter((r) => r.method === 'POST' && r.params.get('uploadId') === atKill.uploadId)).toHaveLength(1);
    expect((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual([]);
    expect(recorded()).toBeNull();

    // What people read: `lapsebox status`, and /metrics.
    const text = await run(['status']);
    expect(text.stdout).toMatch(new RegExp(`cloud\\s+s3://${bucket}/fleet/test-box/ at 127\\.0\\.0\\.1:${s3.port}\\s+idle\\s+0 files`));
    const metrics = await fetch(`${daemon.baseUrl}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`admin:${initialPassword(dataDir)}`).toString('base64')}` } });
    expect(await metrics.text()).toMatch(/lapsebox_outbox_pending_files\{target="cloud"\} 0/);
    await daemon.stop();
    daemon = null;

    // No daemon: `sync run` sends from its own process.
    expect((await run(['capture', 'cam'])).code).toBe(0);
    const sent = await run(['sync', 'run', '--json']);
    expect(JSON.parse(sent.stdout)).toMatchObject({ passes: [{ target: 'cloud', sent: 0, pending: 0, error: null }] });
    // Two daemon starts and 44 MB at 8 MB/s: more than jest's default minute on a loaded machine.
  }, 150_000);

  it('a box whose clock is 25 minutes slow still delivers (signatures follow the server\'s clock), and doctor says the clock is wrong', async () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'clock-'));
    const bucket = 'clock';
    await s3.createBucket(bucket);
    writeSecret(dir);
    const port = await freePort();
    const configFile = configure(dir, port, bucket, { send: ['pictures', 'latest'] });
    const slow = fakeClock('-25m');
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) => cli([...args, '--config', configFile], { env });
    expect((await run(['capture', 'cam'], slow)).code).toBe(0);
    const sent = await run(['sync', 'run', '--json'], slow);
    expect(JSON.parse(sent.stdout)).toMatchObject({ passes: [{ target: 'cloud', sent: 2, failed: 0, pending: 0, error: null }] });
    expect(await keys(bucket)).toHaveLength(2);

    const doctor = async (env: NodeJS.ProcessEnv) => {
      const result = await run(['doctor', '--json'], env);
      return (JSON.parse(result.stdout) as DoctorReport).checks.find((c) => c.name === 'target cloud')!;
    };
    const skewed = await doctor(slow);
    expect(skewed).toMatchObject({ verdict: 'fail', fix: expect.stringContaining('timedatectl') });
    expect(skewed.detail).toMatch(/the box's clock is 25 min behind the server's: S3 refuses requests signed more than 15 minutes off/);
    const right = await doctor({});
    expect(right).toMatchObject({ verdict: 'ok' });
    expect(right.detail).toBe(
      `s3://${bucket}/fleet/test-box/ at ${s3.endpoint}: 127.0.0.1:${s3.port} answers, credentials of ${s3.accessKeyId} accepted, bucket "${bucket}" exists, fleet/test-box/ writable; nothing waiting; clock within ${right.detail.match(/clock within (\d+) s/)?.[1] ?? '?'} s of the server's`,
    );
    // The doctor's probe object is gone again.
    expect(await keys(bucket)).toHaveLength(2);

    // A wrong secret in the file: the doctor says the credentials were refused, and where the secret comes from.
    writeSecret(dir, 'not-it');
    const refused = await doctor({});
    expect(refused).toMatchObject({ verdict: 'fail', detail: expect.stringContaining(`credentials refused: 127.0.0.1:${s3.port} refused the credentials of "cloud"`), fix: expect.stringContaining(`the first line of ${path.join(dir, 's3-secret')}`) });
    expect(JSON.stringify(refused)).not.toContain(s3.secretAccessKey);
  });
});
