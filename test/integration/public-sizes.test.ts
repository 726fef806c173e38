/**
 * The public picture at the widths of `public.sizes` (`/public/<source>/latest-<width>.jpg`)
 * and `public.delay`, in front of the real pipeline, store and database: real sharp on
 * real pictures, the web app on a loopback port, the clock injected.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { PublicImages } from '../../daemon/storage/public-image';
import type { Picture } from '../../daemon/domain/pictures';
import type { Listener } from '../../web/server';
import { startWeb } from '../helpers/web';
import { tempDir } from '../helpers/env';
import { region } from '../helpers/images';
import { pictureServices, scene, seedPictures } from '../helpers/videos';

const MINUTE = 60_000;
/** The stored pictures are this wide (and 900 high). */
const STORED = 1600;

describe('GET /public/<source>/latest-<width>.jpg', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Repositories;
  let config: Config;
  let server: Listener;
  let base: string;
  let now: number;
  const t0 = Date.parse('2026-11-20T10:00:00Z');

  const get = (url: string, headers: Record<string, string> = {}) => fetch(`${base}${url}`, { headers });
  const jpeg = async (url: string) => {
    const res = await get(url);
    expect([url, res.status, res.headers.get('content-type')]).toEqual([url, 200, 'image/jpeg']);
    const body = Buffer.from(await res.arrayBuffer());
    return { res, body, meta: await sharp(body).metadata() };
  };
  const seed = (sourceId: string, times: number[]): Promise<Picture[]> => seedPictures(config, store, sourceId, times, () => scene(STORED, 900, 1));
  /** The red watermark in the top-right corner. */
  const watermarked = async (body: Buffer) => {
    const { width, height } = await sharp(body).metadata();
    const corner = await region(body, { left: Math.round(width * 0.82), top: Math.round(height * 0.03), width: Math.round(width * 0.12), height: Math.round(height * 0.04) });
    return corner.mean[0]! > 200 && corner.mean[1]! < 80;
  };
  /** White legend text in the bottom-left corner: the scene itself is never brighter than 185. */
  const legended = async (body: Buffer) => {
    const { width, height } = await sharp(body).metadata();
    const top = Math.floor(height * 0.85);
    return (await region(body, { left: 0, top, width: Math.round(width * 0.4), height: height - top })).max > 235;
  };

  beforeAll(async () => {
    tmp = tempDir();
    const logo = path.join(tmp.dir, 'logo.png');
    await sharp({ create: { width: 300, height: 100, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } }).png().toFile(logo);
    const image = ['    image:', '      legend: { position: bottom-left }', `      watermark: { file: ${logo}, position: top-right, opacity: 1 }`];
    ({ config } = parseConfig(
      [
        'appliance: { id: box, timezone: Europe/Paris }',
        `storage: { dataDir: ${path.join(tmp.dir, 'data')} }`,
        'sources:',
        '  - id: north',
        '    camera: { driver: testpattern }',
        ...image,
        '    public: { enabled: true, width: 800, sizes: [320, 640, 800, 2400] }',
        '  - id: late',
        '    camera: { driver: testpattern }',
        ...image,
        '    public: { enabled: true, width: 800, delay: 1m, sizes: [640, 320] }',
        '  - id: plain',
        '    camera: { driver: testpattern }',
        '    public: { enabled: true, width: 800 }',
        '  - id: private',
        '    camera: { driver: testpattern }',
        '    public: { enabled: false, sizes: [640] }',
        '',
      ].join('\n'),
      path.join(tmp.dir, 'lapsebox.yaml'),
    ));
    store = openRepositories(config.storage.dataDir);
    now = t0 + 60 * MINUTE;
    const { sizes } = pictureServices(config, store);
    ({ server, base } = await startWeb(() => config, store, {
      capture: { capture: async () => ({ status: 'skipped', reason: 'none' }), isBusy: () => false },
      sizes,
      publicImages: new PublicImages({ pictures: store.pictures, sizes, now: () => now }),
    }));
    await seed('north', [t0]);
    await seed('plain', [t0]);
    await seed('private', [t0]);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    store?.close();
    tmp?.cleanup();
  });

  it('answers each width with a JPEG that wide, the aspect ratio kept', async () => {
    for (const width of [320, 640]) {
      const { meta } = await jpeg(`/public/north/latest-${width}.jpg`);
      expect([width, meta.format, meta.width, meta.height]).toEqual([width, 'jpeg', width, Math.round((900 * width) / STORED)]);
    }
  });

  it('caps a width larger than the stored picture to the stored width', async () => {
    const { meta } = await jpeg('/public/north/latest-2400.jpg');
    expect([meta.width, meta.height]).toEqual([STORED, 900]);
  });

  it('serves latest.jpg itself for a width equal to public.width', async () => {
    const main = await jpeg('/public/north/latest.jpg');
    const same = await jpeg('/public/north/latest-800.jpg');
    expect(same.meta.width).toBe(800);
    expect(same.res.headers.get('etag')).toBe(main.res.headers.get('etag'));
    expect(same.body.equals(main.body)).toBe(true);
  });

  it('carries the legend and the watermark like latest.jpg, laid on at its own width', async () => {
    const main = await jpeg('/public/north/latest.jpg');
    expect([await legended(main.body), await watermarked(main.body)]).toEqual([true, true]);
    for (const width of [320, 640, 2400]) {
      const { body } = await jpeg(`/public/north/latest-${width}.jpg`);
      expect([width, await legended(body), await watermarked(body)]).toEqual([width, true, true]);
    }
    // Byte for byte what latest.jpg would be with public.width 640: the `public` size made by the
    // same pipeline from the same stored picture, legend and watermark laid on at that width.
    const { body: small } = await jpeg('/public/north/latest-640.jpg');
    const source = config.sources.find((s) => s.id === 'north')!;
    const picture = store.pictures.latest('north')!;
    const reference = await pictureServices(config, store).pipeline.render(
      store.layout.absolute(picture.path),
      { source: { ...source, public: { ...source.public, width: 640 } }, takenAt: picture.takenAt, size: picture },
      'public',
    );
    expect(small.equals(reference)).toBe(true);
    // And the plain source (no legend, no watermark) gets neither.
    const plain = await jpeg('/public/plain/latest.jpg');
    expect([await legended(plain.body), await watermarked(plain.body)]).toEqual([false, false]);
  });

  it('sends the same caching headers as latest.jpg, and 304 for the ETag it gave', async () => {
    const main = await get('/public/north/latest.jpg');
    const sized = await get('/public/north/latest-640.jpg');
    const headers = (res: Response) => ['cache-control', 'access-control-allow-origin', 'last-modified'].map((h) => res.headers.get(h));
    expect(headers(sized)).toEqual(headers(main));
    expect(headers(sized)[0]).toMatch(/^public, max-age=\d+$/);
    const etag = sized.headers.get('etag')!;
    expect(etag).toMatch(/^"p\d+-w640-/);
    expect(etag).not.toBe(main.headers.get('etag'));
    // Made once: asked again, the same file answers.
    expect((await get('/public/north/latest-640.jpg')).headers.get('etag')).toBe(etag);
    const again = await get('/public/north/latest-640.jpg', { 'if-none-match': etag });
    expect([again.status, again.headers.get('etag'), (await again.arrayBuffer()).byteLength]).toEqual([304, etag, 0]);
    expect((await get('/public/north/latest-640.jpg', { 'if-none-match': main.headers.get('etag')! })).status).toBe(200);
  });

  it('answers 404 for a width not listed or malformed, a source not public, and a source without sizes', async () => {
    const error = async (url: string) => {
      const res = await get(url);
      return [url, res.status, ((await res.json()) as { error: string }).error];
    };
    expect(await error('/public/north/latest-1024.jpg')).toEqual(['/public/north/latest-1024.jpg', 404, 'this source has no latest-1024.jpg (its widths: 320, 640, 800, 2400)']);
    expect(await error('/public/north/latest-0640.jpg')).toEqual(['/public/north/latest-0640.jpg', 404, 'this source has no latest-0640.jpg (its widths: 320, 640, 800, 2400)']);
    expect(await error('/public/north/latest-abc.jpg')).toEqual(['/public/north/latest-abc.jpg', 404, 'this source has no latest-abc.jpg (its widths: 320, 640, 800, 2400)']);
    expect(await error('/public/north/latest-640.5.jpg')).toEqual(['/public/north/latest-640.5.jpg', 404, 'this source has no latest-640.5.jpg (its widths: 320, 640, 800, 2400)']);
    expect(await error('/public/plain/latest-640.jpg')).toEqual(['/public/plain/latest-640.jpg', 404, 'this source has no latest-640.jpg (it publishes latest.jpg only)']);
    expect(await error('/public/private/latest-640.jpg')).toEqual(['/public/private/latest-640.jpg', 404, 'no public source with this name']);
    expect(await error('/public/nowhere/latest-640.jpg')).toEqual(['/public/nowhere/latest-640.jpg', 404, 'no public source with this name']);
  });

  it('answers the page of a source that is not public, or of no source, with a small page that says so, the same for both', async () => {
    const pages = await Promise.all(['/public/private', '/public/nowhere'].map(async (url) => {
      const res = await get(url);
      return { status: res.status, type: res.headers.get('content-type'), store: res.headers.get('cache-control'), body: await res.text() };
    }));
    for (const page of pages) {
      expect(page).toMatchObject({ status: 404, type: expect.stringMatching(/^text\/html/), store: 'no-store' });
      expect(page.body).toContain('There is no public picture here: this camera is not public, or the address is wrong.');
      expect(page.body).not.toMatch(/<script|private|nowhere/);
    }
    expect(pages[0]!.body).toBe(pages[1]!.body);
  });

  describe('public.delay', () => {
    const routes = ['/public/late/latest.jpg', '/public/late/latest-640.jpg', '/public/late/latest-320.jpg'];
    /** The id of the picture each route serves (from its ETag), or its status when it serves none. */
    const served = () =>
      Promise.all(
        routes.map(async (url) => {
          const res = await get(url);
          await res.arrayBuffer();
          return res.status === 200 ? Number(/^"p(\d+)/.exec(res.headers.get('etag')!)![1]) : res.status;
        }),
      );
    const publicFiles = () => fs.readdirSync(store.layout.publicSizesDir('late')).sort();

    it('serves the newest picture only once it is public.delay old, at every width', async () => {
      const first = t0 + 10 * MINUTE;
      const second = first + 5 * MINUTE;
      now = first + 30_000;
      const [older] = await seed('late', [first]);
      // Nothing is a minute old yet.
      expect(await served()).toEqual([404, 404, 404]);
      now = first + MINUTE;
      expect(await served()).toEqual([older!.id, older!.id, older!.id]);
      const [newer] = await seed('late', [second]);
      // Taken 59.999 s ago: the older picture is still the public one...
      now = second + MINUTE - 1;
      expect(await served()).toEqual([older!.id, older!.id, older!.id]);
      // ...until the newer one is a minute old.
      now = second + MINUTE;
      expect(await served()).toEqual([newer!.id, newer!.id, newer!.id]);
      const res = await get('/public/late/latest-640.jpg');
      expect(res.headers.get('last-modified')).toBe(new Date(second).toUTCString());
      expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width).toBe(640);
      // The files of the older picture are gone: one file per width.
      expect(publicFiles()).toEqual([`320-${newer!.id}.jpg`, `640-${newer!.id}.jpg`]);
    });
  });
});
