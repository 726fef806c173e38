/**
 * The picture routes in front of the real pipeline, store and database: who gets
 * which size, with or without the watermark, validators and caching, sizes made
 * again when missing, and the failures a customer may meet.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { buildCaptureStack, type CaptureStack } from '../../daemon/compose/stacks';
import type { Camera, CaptureRequest, CaptureResult } from '../../daemon/capture/camera';
import { PictureSizes } from '../../daemon/storage/picture-sizes';
import type { Picture } from '../../daemon/domain/pictures';
import { silentLogger } from '../../daemon/logger';
import type { Listener } from '../../web/server';
import { addUsers, startWeb } from '../helpers/web';
import { tempDir, waitFor } from '../helpers/env';
import { jpegOf, noise, region } from '../helpers/images';

const PASSWORD = 'correct horse battery staple';

/** A camera that hands over a given JPEG, or a truncated one. */
class FileCamera implements Camera {
  readonly driver = 'file';
  constructor(private readonly next: () => Buffer) {}
  async capture(req: CaptureRequest): Promise<CaptureResult> {
    const data = this.next();
    fs.writeFileSync(req.destination, data);
    return { width: 1600, height: 1200, size: data.length };
  }
}

describe('GET /api/pictures/<id>/<size>', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Repositories;
  let stack: CaptureStack;
  let server: Listener;
  let base: string;
  let logo: string;
  let jpeg: Buffer;
  let truncate = false;
  let config: Config;
  let sizes: PictureSizes;

  const get = (url: string, user: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${url}`, { headers: { authorization: `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`, ...headers } });
  const capture = async (sourceId: string): Promise<Picture> => {
    const outcome = await stack.capture.capture(sourceId, 'manual');
    if (outcome.status !== 'captured') throw new Error(`capture ${outcome.status}`);
    return outcome.picture;
  };
  /** Whether the red watermark sits in the top-right corner of a served JPEG. */
  const watermarked = async (body: Buffer) => {
    const { width, height } = await sharp(body).metadata();
    const corner = await region(body, { left: Math.round(width * 0.8), top: Math.round(height * 0.02), width: Math.round(width * 0.15), height: Math.round(height * 0.05) });
    return corner.mean[0]! > 200 && corner.mean[1]! < 80;
  };

  beforeAll(async () => {
    jpeg = await jpegOf(noise(1600, 1200), 1600, 1200);
    tmp = tempDir();
    logo = path.join(tmp.dir, 'logo.png');
    await sharp({ create: { width: 300, height: 100, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } }).png().toFile(logo);
    ({ config } = parseConfig(
      [
        'appliance: { id: box, timezone: Europe/Paris }',
        `storage: { dataDir: ${path.join(tmp.dir, 'data')} }`,
        'sources:',
        '  - id: north',
        '    camera: { driver: testpattern }',
        '    image:',
        '      privacyMasks: [ { left: 0, top: 600, width: 400, height: 300 } ]',
        '      legend: { position: bottom-left }',
        `      watermark: { file: ${logo}, position: top-right, opacity: 1 }`,
        '    public: { enabled: true, width: 800 }',
        '  - id: south',
        '    camera: { driver: testpattern }',
        '    recovery: { retries: 0 }',
        '',
      ].join('\n'),
      path.join(tmp.dir, 'lapsebox.yaml'),
    ));
    store = openRepositories(config.storage.dataDir);
    const log = silentLogger();
    stack = buildCaptureStack({
      config,
      store,
      log,
      createCamera: () => new FileCamera(() => (truncate ? jpeg.subarray(0, jpeg.length >> 1) : jpeg)),
      openRelay: () => {
        throw new Error('no relay in this test');
      },
    });
    await addUsers(store, () => config, PASSWORD, {
      maintainer: ['maintainer'],
      director: ['director'],
      viewer: ['customer', { north: 'view', south: 'view' }],
      buyer: ['customer', { north: 'download', south: 'download' }],
      stranger: ['customer'],
    });
    sizes = new PictureSizes({ layout: store.layout, pictures: store.pictures, store: stack.pictureStore, pipeline: stack.pipeline, log });
    ({ server, base } = await startWeb(() => config, store, {
      capture: stack.capture,
      sizes,
    }));
  });

  afterAll(async () => {
    await server.close();
    store.close();
    tmp.cleanup();
  });

  it('serves directors and maintainers the clean sizes, customers the watermarked ones', async () => {
    const picture = await capture('north');
    for (const [user, expectWatermark] of [
      ['maintainer', false],
      ['director', false],
      ['viewer', true],
      ['buyer', true],
    ] as const) {
      for (const size of ['thumb', 'small', 'preview'] as const) {
        const res = await get(`/api/pictures/${picture.id}/${size}`, user);
        expect([user, size, res.status, res.headers.get('content-type')]).toEqual([user, size, 200, 'image/jpeg']);
        const body = Buffer.from(await res.arrayBuffer());
        expect((await sharp(body).metadata()).width).toBe({ thumb: 320, small: 640, preview: 1280 }[size]);
        expect([user, size, await watermarked(body)]).toEqual([user, size, expectWatermark]);
      }
    }
  });

  it('gives the original only with the download level: clean to directors, watermarked to customers', async () => {
    const picture = await capture('north');
    expect((await get(`/api/pictures/${picture.id}/original`, 'viewer')).status).toBe(403);

    const clean = await get(`/api/pictures/${picture.id}/original?download=1`, 'director');
    expect(clean.status).toBe(200);
    const stored = fs.readFileSync(store.layout.absolute(picture.path));
    expect(Buffer.from(await clean.arrayBuffer()).equals(stored)).toBe(true);
    expect(clean.headers.get('content-disposition')).toMatch(/^attachment; filename="north-\d{8}-\d{6}\.jpg"$/);

    const customer = await get(`/api/pictures/${picture.id}/original`, 'buyer');
    expect(customer.status).toBe(200);
    const body = Buffer.from(await customer.arrayBuffer());
    expect(await sharp(body).metadata()).toMatchObject({ width: 1600, height: 1200 });
    expect(await watermarked(body)).toBe(true);
    // The mask is in every copy that leaves the box.
    expect((await region(body, { left: 8, top: 608, width: 384, height: 284 })).stdev).toBeLessThan(3);
  });

  it('answers 404 for a picture of a source the user may not see, as for one that does not exist', async () => {
    const picture = await capture('north');
    for (const url of [`/api/pictures/${picture.id}/thumb`, `/api/pictures/${picture.id}/original`, `/api/pictures/${picture.id}/nonsense`]) {
      const res = await get(url, 'stranger');
      expect([url, res.status, (await res.json()) as unknown]).toEqual([url, 404, { error: `no picture ${picture.id}` }]);
    }
    for (const url of ['/api/pictures/999999/thumb', '/api/pictures/abc/thumb', '/api/pictures/0/thumb', '/api/pictures/1e3/thumb']) {
      expect([url, (await get(url, 'maintainer')).status]).toEqual([url, 404]);
    }
    const bad = await get(`/api/pictures/${picture.id}/huge`, 'viewer');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'no size "huge" for a picture', details: { size: 'expected one of: thumb, small, preview, original' } });
    expect((await get(`/api/pictures/${picture.id}/thumb`, 'viewer', { authorization: 'Basic bm9ib2R5Om5vcGU=' })).status).toBe(401);
  });

  it('sends validators, answers 304, and keeps pictures in the private cache only', async () => {
    const picture = await capture('north');
    const first = await get(`/api/pictures/${picture.id}/preview`, 'viewer');
    await first.arrayBuffer();
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"preview-wm\d+-[0-9a-z]+-[0-9a-z]+"$/);
    expect(first.headers.get('cache-control')).toBe('private, max-age=86400');
    expect(first.headers.get('vary')).toMatch(/Authorization/);
    expect(first.headers.get('last-modified')).toBe(new Date(Math.floor(picture.takenAt / 1000) * 1000).toUTCString());
    expect((await get(`/api/pictures/${picture.id}/preview`, 'viewer', { 'if-none-match': etag })).status).toBe(304);
    // A director's clean preview is another representation, with another tag.
    const director = await get(`/api/pictures/${picture.id}/preview`, 'director', { 'if-none-match': etag });
    expect(director.status).toBe(200);
    expect(director.headers.get('etag')).not.toBe(etag);
    const original = await get(`/api/pictures/${picture.id}/original`, 'buyer');
    await original.arrayBuffer();
    expect((await get(`/api/pictures/${picture.id}/original`, 'buyer', { 'if-none-match': original.headers.get('etag')! })).status).toBe(304);
    const range = await get(`/api/pictures/${picture.id}/original`, 'director', { range: 'bytes=0-99' });
    expect([range.status, (await range.arrayBuffer()).byteLength]).toEqual([206, 100]);
  });

  it('answers a range that starts past the end with 416 and Content-Range: bytes */size, and varies every size by Authorization', async () => {
    const picture = await capture('north');
    for (const [size, user] of [['original', 'director'], ['thumb', 'viewer'], ['preview', 'director']] as const) {
      const whole = await get(`/api/pictures/${picture.id}/${size}`, user);
      const length = (await whole.arrayBuffer()).byteLength;
      expect([size, whole.headers.get('vary')?.split(/\s*,\s*/)]).toEqual([size, expect.arrayContaining(['Authorization'])]);
      const past = await get(`/api/pictures/${picture.id}/${size}`, user, { range: `bytes=${length}-` });
      expect([size, past.status, past.headers.get('content-range')]).toEqual([size, 416, `bytes */${length}`]);
      expect(await past.json()).toEqual({ error: 'the requested range starts past the end of the file' });
      expect(past.headers.get('etag')).toBe(whole.headers.get('etag'));
    }
    // A watermarked original is made whole on request: it takes no Range, and says so by sending no Accept-Ranges.
    const made = await get(`/api/pictures/${picture.id}/original`, 'buyer', { range: 'bytes=0-99' });
    expect([made.status, made.headers.get('accept-ranges'), made.headers.get('vary')?.split(/\s*,\s*/)]).toEqual([200, null, expect.arrayContaining(['Authorization'])]);
    await made.arrayBuffer();
  });

  it('makes day zips and watermarked originals in their own bounded slots: beyond them 429 with Retry-After, and the slot is free again when the download ends', async () => {
    // Enough pictures that an unread zip cannot fit in the socket buffers: it holds its slot.
    let day = '';
    for (let i = 0; i < 12; i++) day = (await capture('north')).localDate;
    const picture = await capture('north');
    const limited = await startWeb(() => config, store, { capture: stack.capture, sizes, downloadLimits: { running: 1, waiting: 0, perUser: 1 } });
    const open = (url: string, user: string) =>
      new Promise<{ res: http.IncomingMessage; req: http.ClientRequest }>((resolve, reject) => {
        const req = http.get(`${limited.base}${url}`, { headers: { authorization: `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}` } }, (res) => resolve({ res, req }));
        req.on('error', reject);
      });
    const call = (url: string, user: string) => fetch(`${limited.base}${url}`, { headers: { authorization: `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}` } });
    try {
      const zip = await open(`/api/sources/north/days/${day}/zip`, 'buyer');
      expect(zip.res.statusCode).toBe(200);
      zip.res.pause(); // a slow customer: the zip stays in its slot

      const mine = await call(`/api/pictures/${picture.id}/original`, 'buyer');
      expect([mine.status, mine.headers.get('retry-after')]).toEqual([429, '10']);
      expect(((await mine.json()) as { error: string }).error).toBe('you already have 1 downloads of zips or watermarked originals under way; try again when one has finished');
      const other = await call(`/api/sources/north/days/${day}/zip`, 'director');
      expect([other.status, other.headers.get('retry-after')]).toEqual([429, '10']);
      expect(((await other.json()) as { error: string }).error).toBe('the box is busy with 1 downloads of zips or watermarked originals and 0 waiting; try again in a moment');
      // Plain files need no slot: the director's clean original and the customer's thumbnail still come.
      expect((await call(`/api/pictures/${picture.id}/original`, 'director')).status).toBe(200);
      expect((await call(`/api/pictures/${picture.id}/thumb`, 'buyer')).status).toBe(200);

      // The customer gives up: the slot is free for the next one.
      zip.req.destroy();
      const after = await waitFor('the slot freed', async () => {
        const res = await call(`/api/pictures/${picture.id}/original`, 'buyer');
        await res.arrayBuffer();
        return res.status === 200 ? res : undefined;
      }, 5_000);
      expect(after.headers.get('content-type')).toBe('image/jpeg');
    } finally {
      await limited.server.close();
    }
  });

  it('makes a size again when its file is gone', async () => {
    const picture = await capture('north');
    const file = store.layout.derivative(picture.path, 'thumb-wm');
    expect(fs.existsSync(file)).toBe(true);
    fs.rmSync(file);
    const res = await get(`/api/pictures/${picture.id}/thumb`, 'viewer');
    expect(res.status).toBe(200);
    expect(await watermarked(Buffer.from(await res.arrayBuffer()))).toBe(true);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('serves no unwatermarked picture to a customer when the watermark file is missing', async () => {
    const picture = await capture('north');
    fs.rmSync(store.layout.derivative(picture.path, 'preview-wm'));
    const saved = fs.readFileSync(logo);
    fs.rmSync(logo);
    try {
      const res = await get(`/api/pictures/${picture.id}/preview`, 'viewer');
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: string };
      expect(body.error).toBe('the watermark of this source is not available; the maintainer has been told in the daemon log');
      expect(body.error).not.toContain(tmp.dir);
      expect((await get(`/api/pictures/${picture.id}/preview`, 'director')).status).toBe(200);
    } finally {
      fs.writeFileSync(logo, saved);
    }
  });

  it('serves customers the plain sizes of a source without a watermark', async () => {
    const picture = await capture('south');
    expect(picture.derivatives).toEqual(['thumb', 'small', 'preview', 'frame']);
    const res = await get(`/api/pictures/${picture.id}/preview`, 'viewer');
    expect(res.status).toBe(200);
    expect(await watermarked(Buffer.from(await res.arrayBuffer()))).toBe(false);
    const original = await get(`/api/pictures/${picture.id}/original`, 'buyer');
    expect(Buffer.from(await original.arrayBuffer()).equals(fs.readFileSync(store.layout.absolute(picture.path)))).toBe(true);
  });

  it('keeps a corrupt picture from everyone but the maintainer', async () => {
    truncate = true;
    let outcome;
    try {
      outcome = await stack.capture.capture('south', 'manual');
    } finally {
      truncate = false;
    }
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'bad-output' } });
    const id = Number(store.db.prepare<[], { id: number }>("SELECT max(id) AS id FROM pictures WHERE rejection = 'corrupt'").get()!.id);
    const thumb = await get(`/api/pictures/${id}/thumb`, 'maintainer');
    expect([thumb.status, ((await thumb.json()) as { error: string }).error]).toEqual([404, `picture ${id} has no thumb: it was rejected (corrupt)`]);
    expect((await get(`/api/pictures/${id}/original`, 'director')).status).toBe(404);
    expect((await get(`/api/pictures/${id}/original`, 'maintainer')).status).toBe(200);
  });

  it('publishes the public size, watermarked and at public.width', async () => {
    await capture('north');
    const res = await fetch(`${base}/public/north/latest.jpg`);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect((await sharp(body).metadata()).width).toBe(800);
    expect(await watermarked(body)).toBe(true);
  });
});
