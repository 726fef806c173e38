/**
 * The pure parts of the sync (remote paths, routing, backoff, rates, the throttle)
 * and the outbox on a real SQLite file: order, versions, backfill.
 */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'yaml';
import { parseConfig, ConfigError } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { parseRate } from '../../daemon/config/rate';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { Outbox } from '../../daemon/sync/outbox';
import { backoffDelay } from '../../daemon/sync/backoff';
import { boxLocation, endpointOf, objectKey, remoteFile, remotePathOf, remoteTempFile, serverOf } from '../../daemon/sync/remote-paths';
import { contentTypeOf, partSizeFor, PART_SIZE } from '../../daemon/sync/s3.transport';
import { maskSecrets, REDACTED } from '../../daemon/secrets';
import { createLogger } from '../../daemon/logger';
import { targetsFor } from '../../daemon/config/sync-targets';
import { fingerprint } from '../../daemon/sync/sftp.transport';
import { Throttle, TokenBucket } from '../../daemon/sync/throttle';
import { tempDir } from '../helpers/env';

const KEY = 'SHA256:' + 'A'.repeat(43);
const target = (extra: Record<string, unknown> = {}) => ({ id: 'hq', type: 'sftp', host: 'h', username: 'u', privateKey: '/k', hostKey: KEY, remoteDir: '/srv', ...extra });

function load(targets: Record<string, unknown>[], dir = '/tmp/x'): Config {
  return parseConfig(
    stringify({ appliance: { id: 'box' }, storage: { dataDir: path.join(dir, 'data') }, sources: [{ id: 'north', camera: { driver: 'testpattern' } }, { id: 'south', camera: { driver: 'testpattern' } }], sync: { targets } }),
    path.join(dir, 'lapsebox.yaml'),
  ).config;
}

describe('remote paths', () => {
  it('mirror the data folder under <remoteDir>/<appliance.id> (SPEC §3)', () => {
    expect(remotePathOf('picture', 'north', 'sources/north/pictures/2026-11-20/20261120T090000000Z.jpg')).toBe('north/pictures/2026-11-20/20261120T090000000Z.jpg');
    expect(remotePathOf('video', 'north', 'sources/north/videos/daily/2026-11-20.mp4')).toBe('north/videos/daily/2026-11-20.mp4');
    expect(remotePathOf('latest', 'north', 'sources/north/pictures/2026-11-20/x.jpg')).toBe('north/latest.jpg');
    expect(remoteFile({ remoteDir: '/srv/timelapse/' }, 'box', 'north/latest.jpg')).toBe('/srv/timelapse/box/north/latest.jpg');
    expect(remoteTempFile('/srv/box/north/latest.jpg')).toBe('/srv/box/north/.tmp-latest.jpg');
  });

  it('refuse paths outside the source', () => {
    expect(() => remotePathOf('picture', 'north', 'sources/south/pictures/d/x.jpg')).toThrow(/not a file of source "north"/);
    expect(() => remotePathOf('picture', 'north', 'sources/north/../../etc/passwd')).toThrow();
    expect(() => remotePathOf('picture', 'north', '/etc/passwd')).toThrow();
  });

  it('go to the targets whose send and sources want them', () => {
    const config = load([target(), target({ id: 'pics', send: ['pictures'], sources: ['south'] })]);
    expect(targetsFor(config.sync.targets, 'north', 'picture').map((t) => t.id)).toEqual(['hq']);
    expect(targetsFor(config.sync.targets, 'south', 'picture').map((t) => t.id)).toEqual(['hq', 'pics']);
    expect(targetsFor(config.sync.targets, 'south', 'latest').map((t) => t.id)).toEqual(['hq']);
  });
});

describe('sync configuration', () => {
  it('reads timeout, maxRate and alertAfter, with defaults', () => {
    const [t] = load([target({ maxRate: '4Mbit/s' })]).sync.targets;
    expect(t).toMatchObject({ port: 22, timeout: 30_000, alertAfter: 3_600_000, maxRate: 500_000, send: ['pictures', 'videos', 'latest'] });
  });

  it('needs a key or a password', () => {
    expect(() => load([target({ privateKey: undefined })])).toThrow(/sync\.targets\[0\]\.privateKey: expected privateKey \(or password\)/);
    expect(load([target({ privateKey: undefined, password: 'secret' })]).sync.targets[0]).toMatchObject({ password: 'secret' });
  });

  it('names each bad key', () => {
    let error: ConfigError | null = null;
    try {
      load([target({ maxRate: 'fast', timeout: '0s', hostKey: 'abc' })]);
    } catch (err) {
      error = err as ConfigError;
    }
    const text = error!.problems.join('\n');
    expect(text).toMatch(/sync\.targets\[0\]\.maxRate.*expected a rate of at least 1KB\/s/);
    expect(text).toMatch(/sync\.targets\[0\]\.timeout.*between 1s and 10m/);
    expect(text).toMatch(/sync\.targets\[0\]\.hostKey.*SHA256/);
  });

  it('parses rates in bytes and bits', () => {
    expect(parseRate('500KB/s')).toBe(500_000);
    expect(parseRate('2MB/s')).toBe(2_000_000);
    expect(parseRate('800kbit/s')).toBe(100_000);
    expect(parseRate('1.5 Mbit/s')).toBe(187_500);
    for (const bad of ['', '5', '5 MB', '0KB/s', '2GB/s', '-1KB/s']) expect(parseRate(bad)).toBeNull();
  });
});

describe('S3 targets', () => {
  const s3 = (extra: Record<string, unknown> = {}) => ({ id: 'cloud', type: 's3', endpoint: 'https://s3.example.com', region: 'eu-west-3', bucket: 'timelapse', prefix: 'sites', accessKeyId: 'AKIA1', secretAccessKey: 'very-secret', ...extra });
  const problems = (targets: Record<string, unknown>[]): string => {
    try {
      load(targets);
    } catch (err) {
      return (err as ConfigError).problems.join('\n');
    }
    return '';
  };

  it('read with their defaults beside SFTP targets; keys mirror the SFTP layout under [prefix/]<appliance.id>/', () => {
    const config = load([target(), s3(), s3({ id: 'aws', endpoint: undefined, prefix: undefined, region: undefined, secretAccessKey: undefined, secretAccessKeyFile: 'aws-secret' })]);
    const [sftp, cloud, aws] = config.sync.targets;
    expect(cloud).toMatchObject({ type: 's3', forcePathStyle: false, timeout: 30_000, send: ['pictures', 'videos', 'latest'] });
    expect(aws).toMatchObject({ type: 's3', region: 'us-east-1', secretAccessKeyFile: '/tmp/x/aws-secret' });
    expect(objectKey(cloud as never, 'box', 'north/pictures/2026-11-20/x.jpg')).toBe('sites/box/north/pictures/2026-11-20/x.jpg');
    expect(objectKey(aws as never, 'box', 'north/latest.jpg')).toBe('box/north/latest.jpg');
    expect(boxLocation(cloud!, 'box')).toBe('s3://timelapse/sites/box/');
    expect(boxLocation(sftp!, 'box')).toBe('/srv/box');
    expect(serverOf(cloud!)).toEqual({ host: 's3.example.com', port: 443 });
    expect(serverOf(aws!)).toEqual({ host: 's3.us-east-1.amazonaws.com', port: 443 });
    expect(endpointOf({ endpoint: 'http://10.0.0.5:9000', region: 'x' }).host).toBe('10.0.0.5:9000');
    expect(contentTypeOf('a/b.JPG')).toBe('image/jpeg');
    expect(contentTypeOf('a/b.mp4')).toBe('video/mp4');
  });

  it('name each bad key', () => {
    expect(problems([s3({ secretAccessKey: undefined })])).toMatch(/sync\.targets\[0\]\.secretAccessKey: expected one of secretAccessKey or secretAccessKeyFile/);
    expect(problems([s3({ secretAccessKeyFile: 'f' })])).toMatch(/expected one of secretAccessKey or secretAccessKeyFile/);
    expect(problems([s3({ bucket: 'My_Bucket' })])).toMatch(/sync\.targets\[0\]\.bucket: expected a bucket name/);
    expect(problems([s3({ prefix: '/sites/' })])).toMatch(/sync\.targets\[0\]\.prefix: expected a key prefix without a leading or trailing "\/"/);
    expect(problems([s3({ prefix: 'a//b' })])).toMatch(/sync\.targets\[0\]\.prefix: expected a key prefix without empty/);
    expect(problems([s3({ endpoint: 'https://user:pw@s3.example.com/bucket' })])).toMatch(/sync\.targets\[0\]\.endpoint: expected the server's address only/);
    expect(problems([s3({ endpoint: 'ftp://s3.example.com' })])).toMatch(/sync\.targets\[0\]\.endpoint: expected an http:\/\/ or https:\/\/ URL/);
    expect(problems([s3({ host: 'h' })])).toMatch(/unknown key "host"/);
    expect(problems([s3({ type: 'ftp' })])).toMatch(/sync\.targets\[0\]\.type: expected type "sftp" or "s3"/);
  });

  it('never show or log the secret key', () => {
    const config = load([s3()]);
    expect(JSON.stringify(maskSecrets(config.sync))).not.toContain('very-secret');
    expect(maskSecrets({ secretAccessKey: 'very-secret' })).toEqual({ secretAccessKey: REDACTED });
    const lines: string[] = [];
    const log = createLogger({ levels: { level: 'info' }, destination: { write: (line: string) => lines.push(line) } } as never);
    log.info({ target: config.sync.targets[0] }, 'a target');
    log.info(config.sync.targets[0], 'the target itself');
    expect(lines.join('')).not.toContain('very-secret');
  });

  it('part sizes: 8 MiB, larger for files that would need more than 10,000 parts', () => {
    expect(partSizeFor(300 * 1024 * 1024)).toBe(PART_SIZE);
    expect(partSizeFor(200 * 1024 ** 3)).toBe(21 * 1024 * 1024);
    expect(Math.ceil((200 * 1024 ** 3) / partSizeFor(200 * 1024 ** 3))).toBeLessThanOrEqual(10_000);
  });
});

describe('backoffDelay', () => {
  const policy = { baseMs: 1000, capMs: 60_000 };
  it('doubles from the base up to the cap, with jitter between half and all of it', () => {
    expect(backoffDelay(1, policy, () => 1)).toBe(1000);
    expect(backoffDelay(1, policy, () => 0)).toBe(500);
    expect(backoffDelay(4, policy, () => 1)).toBe(8000);
    expect(backoffDelay(40, policy, () => 1)).toBe(60_000);
    expect(backoffDelay(1000, policy, () => 0)).toBe(30_000);
  });
});

describe('fingerprint', () => {
  it('is the SHA256 form ssh-keygen -lf prints', () => {
    const tmp = tempDir();
    try {
      const key = path.join(tmp.dir, 'key');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      const blob = Buffer.from(fs.readFileSync(`${key}.pub`, 'utf8').split(' ')[1]!, 'base64');
      const printed = execFileSync('ssh-keygen', ['-l', '-f', `${key}.pub`], { encoding: 'utf8' }).split(' ')[1];
      expect(fingerprint(blob)).toBe(printed);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('Throttle', () => {
  it('holds two streams sharing a bucket to the rate of the bucket', async () => {
    const bucket = new TokenBucket(200_000);
    let received = 0;
    const sink = () => new Writable({ write: (c: Buffer, _e, done) => ((received += c.length), done()) });
    const data = Buffer.alloc(150_000);
    const started = performance.now();
    await Promise.all([0, 1].map(() => pipeline(Readable.from([data.subarray(0, 75_000), data.subarray(75_000)]), new Throttle(bucket), sink())));
    const seconds = (performance.now() - started) / 1000;
    expect(received).toBe(300_000);
    // 300 KB at 200 KB/s, less the first burst of a quarter second: about 1.25 s.
    expect(seconds).toBeGreaterThan(1.0);
    expect(seconds).toBeLessThan(2.5);
  });
});

describe('Outbox', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Repositories;
  let config: Config;
  let sut: Outbox;
  const woken: string[][] = [];

  const picture = (id: number, takenAt: number, source = 'north') => {
    const file = `sources/${source}/pictures/2026-11-20/${takenAt}.jpg`;
    return { id, sourceId: source, path: file, size: 100 + id, takenAt, rejection: null };
  };

  beforeEach(() => {
    tmp = tempDir();
    config = load([target(), target({ id: 'pics', send: ['pictures'], sources: ['south'] })], tmp.dir);
    store = openRepositories(config.storage.dataDir);
    woken.length = 0;
    sut = new Outbox({ config: () => config, repo: store.outbox, now: () => 1000, notify: (ids) => woken.push([...ids]) });
  });

  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('queues the latest picture first, then pictures oldest first, and wakes the targets concerned', () => {
    sut.picture(picture(2, 5000), { latest: false });
    sut.picture(picture(1, 3000), { latest: false });
    sut.picture(picture(3, 9000), { latest: true });
    sut.picture(picture(4, 1000, 'south'), { latest: true });
    expect(store.outbox.due('hq', 1000, 10).map((i) => [i.kind, i.remotePath])).toEqual([
      ['latest', 'south/latest.jpg'],
      ['latest', 'north/latest.jpg'],
      ['picture', 'south/pictures/2026-11-20/1000.jpg'],
      ['picture', 'north/pictures/2026-11-20/3000.jpg'],
      ['picture', 'north/pictures/2026-11-20/5000.jpg'],
      ['picture', 'north/pictures/2026-11-20/9000.jpg'],
    ]);
    expect(store.outbox.due('pics', 1000, 10).map((i) => i.remotePath)).toEqual(['south/pictures/2026-11-20/1000.jpg']);
    expect(woken).toEqual([['hq'], ['hq'], ['hq'], ['hq', 'pics']]);
  });

  it('keeps only the newest latest picture, and a row being uploaded when a newer one came is not marked sent', () => {
    sut.picture(picture(1, 1000), { latest: true });
    const inFlight = store.outbox.due('hq', 1000, 10).find((i) => i.kind === 'latest')!;
    sut.picture(picture(2, 2000), { latest: true });
    expect(store.outbox.markSent(inFlight, 1500)).toBe(false);
    const latest = store.outbox.due('hq', 1000, 10).filter((i) => i.kind === 'latest');
    expect(latest).toHaveLength(1);
    expect(latest[0]).toMatchObject({ itemId: 2, version: 2, overwrite: true, state: 'pending' });
    expect(store.outbox.markSent(latest[0]!, 1600)).toBe(true);
  });

  it('does not queue a picture twice, nor pictures the camera spoiled', () => {
    sut.picture(picture(1, 1000), { latest: false });
    sut.picture(picture(1, 1000), { latest: false });
    sut.picture({ ...picture(2, 2000), rejection: { code: 'corrupt', detail: 'truncated' } }, { latest: false });
    sut.picture({ ...picture(3, 3000), rejection: { code: 'too-dark', detail: 'night' } }, { latest: false });
    expect(store.outbox.backlog('hq')).toMatchObject({ pending: 2, byKind: { picture: 2, video: 0, latest: 0 } });
  });

  it('sends a rebuilt video again, and keeps failed files pending with their error and next attempt', () => {
    const video = { id: 7, sourceId: 'north', path: 'sources/north/videos/daily/2026-11-20.mp4', size: 10, createdAt: 1 };
    sut.video(video);
    const [row] = store.outbox.due('hq', 1000, 10);
    store.outbox.markFailed(row!, 'permission denied', 60_000);
    expect(store.outbox.due('hq', 1000, 10)).toEqual([]);
    expect(store.outbox.nextDueAt('hq')).toBe(60_000);
    expect(store.outbox.failing('hq', 5)[0]).toMatchObject({ attempts: 1, lastError: 'permission denied' });
    expect(store.outbox.makeDue('hq', 2000)).toBe(1);
    store.outbox.markSent(store.outbox.due('hq', 2000, 10)[0]!, 2000);
    sut.video({ ...video, size: 11 });
    expect(store.outbox.due('hq', 2000, 10)[0]).toMatchObject({ kind: 'video', size: 11, version: 2, overwrite: true, attempts: 0 });
  });

  it('backfills the history of a target added later, once', () => {
    for (let i = 1; i <= 3; i++) store.pictures.insert({ sourceId: 'north', takenAt: i * 1000, localDate: '2026-11-20', path: `sources/north/pictures/2026-11-20/${i}.jpg`, size: 5, width: 1, height: 1 });
    const latest = (sourceId: string) => (sourceId === 'north' ? picture(3, 3000) : undefined);
    expect(sut.backfill(latest)).toBe(4);
    expect(sut.backfill(latest)).toBe(0);
    expect(store.outbox.backlog('hq')).toMatchObject({ pending: 4, byKind: { picture: 3, latest: 1 } });
  });

  it('backfills a film and its phone rendition, the film first, and the rendition a film got later', () => {
    const film = { sourceId: 'north', kind: 'daily' as const, label: '2026-11-20', path: 'sources/north/videos/daily/2026-11-20.mp4', posterPath: null, periodFrom: 0, periodTo: 1, frames: 3, fps: 25, width: 1920, height: 1080, durationMs: 10_000, size: 9, codec: 'h264', jobId: null, createdAt: 5 };
    const id = store.videos.save({ ...film, phone: null });
    expect(sut.backfill(() => undefined)).toBe(1);
    store.videos.save({ ...film, phone: { path: 'sources/north/videos/daily/2026-11-20.phone.mp4', size: 4, width: 1280, height: 720, bitrate: 900_000 } });
    expect(sut.backfill(() => undefined)).toBe(1);
    expect(sut.backfill(() => undefined)).toBe(0);
    expect(store.outbox.due('hq', 1000, 10).map((i) => [i.kind, i.itemId, i.remotePath, i.size])).toEqual([
      ['video', id, 'north/videos/daily/2026-11-20.mp4', 9],
      ['video', id, 'north/videos/daily/2026-11-20.phone.mp4', 4],
    ]);
  });
});
