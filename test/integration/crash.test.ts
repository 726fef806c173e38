import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { isCompleteJpeg } from '../../daemon/files/jpeg';
import { freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';

interface Row {
  id: number;
  path: string;
  size: number;
  missing: number;
}

function rows(dataDir: string): Row[] {
  const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT id, path, size, missing FROM pictures ORDER BY id`).all() as Row[];
  } finally {
    db.close();
  }
}

/** Every file under the picture folders, relative to the data folder. */
function filesOnDisk(dataDir: string): string[] {
  const root = path.join(dataDir, 'sources');
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(dataDir, full));
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out.sort();
}

describe('crash safety (SIGKILL and restart)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let dataDir: string;
  let configFile: string;
  let port: number;
  let sut: DaemonProcess | null = null;

  beforeAll(async () => {
    tmp = tempDir();
    port = await freePort();
    // Full-HD pictures every second: a capture is in flight a good part of the time, so kills land mid-write.
    configFile = writeConfig({
      dir: tmp.dir,
      port,
      sources: [{ id: 'cam', camera: { driver: 'testpattern', width: 1920, height: 1080 }, schedule: { every: '1s' }, public: { enabled: true } }],
    });
    dataDir = path.join(tmp.dir, 'data');
  });

  afterEach(async () => {
    await sut?.kill();
    sut = null;
  });

  afterAll(() => tmp.cleanup());

  it('loses no indexed picture and leaves no partial file under a final name', async () => {
    let indexedBefore: Row[] = [];
    for (let round = 0; round < 4; round++) {
      sut = new DaemonProcess(configFile, port);
      await sut.start();
      const target = indexedBefore.length + 2;
      await waitFor('new pictures', () => rows(dataDir).length >= target);
      // Kill at a different point of the capture cycle each round.
      await new Promise((r) => setTimeout(r, 130 * round + 40));
      indexedBefore = rows(dataDir);
      await sut.stop('SIGKILL');
      sut = null;

      // What the database held at the kill is still there, file and all.
      const files = filesOnDisk(dataDir);
      for (const row of indexedBefore) {
        expect(files).toContain(row.path);
        expect(fs.statSync(path.join(dataDir, row.path)).size).toBe(row.size);
      }
      // Under a final name there are only complete pictures; anything partial is a temporary name.
      for (const file of files.filter((f) => f.endsWith('.jpg') && !path.basename(f).startsWith('.tmp-'))) {
        expect([file, await isCompleteJpeg(path.join(dataDir, file))]).toEqual([file, true]);
      }
    }

    // After a restart, the reconciliation has indexed every complete file and removed temporary ones.
    sut = new DaemonProcess(configFile, port);
    await sut.start();
    const after = rows(dataDir);
    const pictures = filesOnDisk(dataDir).filter((f) => f.includes('/pictures/'));
    expect(pictures.filter((f) => path.basename(f).startsWith('.tmp-'))).toEqual([]);
    const indexedPaths = new Set(after.map((r) => r.path));
    for (const file of pictures) expect([file, indexedPaths.has(file)]).toEqual([file, true]);
    for (const row of indexedBefore) expect(after.find((r) => r.id === row.id)).toMatchObject({ path: row.path, missing: 0 });
  });

  it('indexes a complete file the database missed and flags a row whose file is gone', async () => {
    const before = rows(dataDir);
    const gone = before[0]!;
    const source = path.join(dataDir, before[1]!.path);
    // A picture written just before a crash that hit between the rename and the transaction.
    const day = path.dirname(source);
    const orphan = path.join(day, '20200101T000000000Z.jpg');
    fs.copyFileSync(source, orphan);
    // A truncated file under a picture-like name (not written by lapsebox) is left alone, not indexed.
    fs.writeFileSync(path.join(day, '20200101T000001000Z.jpg'), fs.readFileSync(source).subarray(0, 1000));
    fs.unlinkSync(path.join(dataDir, gone.path));

    sut = new DaemonProcess(configFile, port);
    await sut.start();
    const report = sut.logs('data folder reconciled with the database')[0]!;
    expect(report).toMatchObject({ indexed: 1, flaggedMissing: 1 });
    expect(report['ignored']).toEqual([path.relative(dataDir, path.join(day, '20200101T000001000Z.jpg'))]);
    const after = rows(dataDir);
    expect(after.find((r) => r.id === gone.id)).toMatchObject({ missing: 1 });
    expect(after.find((r) => r.path === path.relative(dataDir, orphan))).toMatchObject({ missing: 0, size: fs.statSync(orphan).size });
  });
});
