/**
 * Links inside the data folder are never followed: a day folder (or a picture file)
 * linked to elsewhere on the box is not indexed at start-up, not served, not zipped
 * and not deleted through, whoever put the link there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { DateTime } from 'luxon';
import type { LoadedConfig } from '../../daemon/config/load';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { StorageGuard } from '../../daemon/storage/retention';
import { silentLogger } from '../../daemon/logger';
import type { Picture } from '../../daemon/domain/pictures';
import type { Listener } from '../../web/server';
import { freePort, tempDir, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { plain } from '../helpers/images';
import { pictureServices, seedPictures } from '../helpers/videos';
import { addUsers, startWeb, writeYamlConfig } from '../helpers/web';

const PASSWORD = 'links-test-password';
const TZ = 'Europe/Paris';

describe('links inside the data folder', () => {
  let tmp: ReturnType<typeof tempDir>;
  let outside: string;

  beforeEach(() => {
    tmp = tempDir();
    // Somewhere else on the box, with a private picture in it.
    outside = path.join(tmp.dir, 'elsewhere');
    fs.mkdirSync(outside, { mode: 0o700 });
  });

  afterEach(() => tmp.cleanup());

  it('are not followed by the start-up reconciliation: nothing behind them is indexed, and the report names them', async () => {
    const port = await freePort();
    const configFile = writeConfig({ dir: tmp.dir, port, sources: [{ id: 'cam', camera: { driver: 'testpattern' }, schedule: { every: '1h' } }] });
    const dataDir = path.join(tmp.dir, 'data');
    const picturesDir = path.join(dataDir, 'sources', 'cam', 'pictures');
    const secret = await plain(320, 240, '#203040');
    fs.writeFileSync(path.join(outside, '20200101T120000000Z.jpg'), secret, { mode: 0o600 });
    fs.writeFileSync(path.join(outside, 'secret.jpg'), secret, { mode: 0o600 });
    fs.mkdirSync(path.join(picturesDir, '2020-01-02'), { recursive: true });
    // A day folder that is a link, and a picture-named link inside a real day folder.
    fs.symlinkSync(outside, path.join(picturesDir, '2020-01-01'));
    fs.symlinkSync(path.join(outside, 'secret.jpg'), path.join(picturesDir, '2020-01-02', '20200102T120000000Z.jpg'));

    const sut = new DaemonProcess(configFile, port);
    try {
      await sut.start();
      const report = sut.logs('data folder reconciled with the database')[0]!;
      expect(report).toMatchObject({ indexed: 0 });
      expect(report['ignored']).toEqual(['sources/cam/pictures/2020-01-01', 'sources/cam/pictures/2020-01-02/20200102T120000000Z.jpg']);
    } finally {
      await sut.kill();
    }
    const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true });
    try {
      expect(db.prepare(`SELECT path FROM pictures WHERE path LIKE '%2020-01-0%'`).all()).toEqual([]);
    } finally {
      db.close();
    }
  });

  describe('once pictures are indexed and their day folder is swapped for a link', () => {
    let loaded: LoadedConfig;
    let store: Repositories;
    let server: Listener | undefined;
    let swapped: Picture;
    let kept: Picture;

    beforeEach(async () => {
      loaded = writeYamlConfig(tmp.dir, TZ, ['sources:', '  - id: north', '    camera: { driver: testpattern }', '    retention: { maxAgeDays: 2 }']);
      store = openRepositories(loaded.config.storage.dataDir);
      const old = DateTime.fromISO('2026-11-10T10:00', { zone: TZ }).toMillis();
      const recent = DateTime.fromISO('2026-11-19T10:00', { zone: TZ }).toMillis();
      [swapped, kept] = (await seedPictures(loaded.config, store, 'north', [old, recent], () => plain(320, 240, '#778899'))) as [Picture, Picture];
      // Someone moves the day folder away and leaves a link to a folder of theirs with the same names.
      const day = path.dirname(store.layout.absolute(swapped.path));
      fs.renameSync(day, path.join(tmp.dir, 'moved'));
      fs.mkdirSync(path.join(outside, 'day'));
      fs.copyFileSync(path.join(tmp.dir, 'moved', path.basename(swapped.path)), path.join(outside, 'day', path.basename(swapped.path)));
      fs.symlinkSync(path.join(outside, 'day'), day);
    });

    afterEach(async () => {
      await server?.close();
      server = undefined;
      store.close();
    });

    it('serve nothing through it: the original is missing, the day zip leaves it out', async () => {
      const { sizes } = pictureServices(loaded.config, store);
      await expect(sizes.original(swapped)).rejects.toThrow(/missing/);
      await expect(sizes.original(kept)).resolves.toBe(store.layout.absolute(kept.path));

      await addUsers(store, () => loaded.config, PASSWORD, { maintainer: ['maintainer'] });
      const web = await startWeb(() => loaded.config, store, { sizes, capture: { capture: async () => ({ status: 'skipped', reason: 'none' }), isBusy: () => false } });
      server = web.server;
      const auth = { authorization: `Basic ${Buffer.from(`maintainer:${PASSWORD}`).toString('base64')}` };
      expect((await fetch(`${web.base}/api/pictures/${swapped.id}/original`, { headers: auth })).status).toBe(404);
      const zip = await fetch(`${web.base}/api/sources/north/days/${swapped.localDate}/zip`, { headers: auth });
      expect(zip.status).toBe(200);
      const file = path.join(tmp.dir, 'day.zip');
      fs.writeFileSync(file, Buffer.from(await zip.arrayBuffer()));
      const names = execFileSync('python3', ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', file], { encoding: 'utf8' }).trim();
      expect(names).toBe('');
    });

    it('retention drops the rows but deletes nothing through the link', async () => {
      const target = path.join(outside, 'day', path.basename(swapped.path));
      const sut = new StorageGuard({ config: () => loaded.config, store, log: silentLogger(), now: () => DateTime.fromISO('2026-11-20T12:00', { zone: TZ }).toMillis(), batchPauseMs: 0 });
      expect(await sut.purgeByAge()).toBe(1);
      expect(store.pictures.get(swapped.id)).toBeUndefined();
      expect(fs.existsSync(target)).toBe(true);
      expect(fs.lstatSync(path.dirname(store.layout.absolute(swapped.path))).isSymbolicLink()).toBe(true);
      expect(store.pictures.get(kept.id)).toBeDefined();
    });
  });
});
