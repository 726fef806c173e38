/**
 * Retention and the storage guard on real files and a real SQLite database:
 * exactly the right pictures go (old enough, or oldest first for space, and
 * only those every target has), and on a small disk capture pauses before the
 * disk is full, loses nothing unsent, and resumes by itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { StorageGuard } from '../../daemon/storage/retention';
import { buildCaptureStack } from '../../daemon/compose/stacks';
import { createCamera } from '../../daemon/capture/drivers';
import { openRelay } from '../../daemon/hardware/relay';
import { createLogger, silentLogger } from '../../daemon/logger';
import { App } from '../../daemon/app';
import { TEMP_PREFIX } from '../../daemon/domain/data-folder';
import type { Picture } from '../../daemon/domain/pictures';
import { tempDir, freePort, waitFor } from '../helpers/env';
import { seedPictures } from '../helpers/videos';
import { plain } from '../helpers/images';
import { smallDisk, type SmallDisk } from '../helpers/small-disk';
import { initialPassword, basic } from '../helpers/daemon';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-20T12:00:00Z');
const KEY = `SHA256:${'A'.repeat(43)}`;

function configText(dataDir: string, extra = ''): string {
  return `
appliance: { id: box, timezone: Europe/Paris }
storage: { dataDir: ${dataDir}, retention: { maxAgeDays: 5 } }
sources:
  - id: north
    camera: { driver: testpattern }
    retention: { maxAgeDays: 2 }
  - id: south
    camera: { driver: testpattern }
  - id: east
    camera: { driver: testpattern }
sync:
  targets:
    - { id: hq, type: sftp, host: 127.0.0.1, username: u, password: p, hostKey: "${KEY}", remoteDir: /srv, sources: [north, south] }
    - { id: films, type: sftp, host: 127.0.0.1, username: u, password: p, hostKey: "${KEY}", remoteDir: /srv, send: [videos] }
${extra}`;
}

function markSent(store: Repositories, picture: Picture): void {
  store.db.prepare(`UPDATE outbox SET state = 'sent', sent_at = 1 WHERE kind = 'picture' AND item_id = ?`).run(picture.id);
}

function exists(store: Repositories, relative: string): boolean {
  return fs.existsSync(store.layout.absolute(relative));
}

describe('StorageGuard retention by age', () => {
  let dir: { dir: string; cleanup: () => void };
  let store: Repositories;
  let config: Config;

  beforeEach(() => {
    dir = tempDir();
    config = parseConfig(configText(path.join(dir.dir, 'data')), path.join(dir.dir, 'lapsebox.yaml')).config;
    fs.mkdirSync(config.storage.dataDir, { recursive: true });
    store = openRepositories(config.storage.dataDir);
  });

  afterEach(() => {
    store.close();
    dir.cleanup();
  });

  it('deletes exactly the pictures past their age that every target has, with their sizes and RAW files', async () => {
    const jpeg = () => plain(160, 120, '#778899');
    const [n4, n3a, n3b, n1, nNow] = await seedPictures(config, store, 'north', [NOW - 4 * DAY, NOW - 3 * DAY, NOW - 3 * DAY + 60_000, NOW - DAY, NOW - 3_600_000], jpeg);
    const [s6, s4, sNow] = await seedPictures(config, store, 'south', [NOW - 6 * DAY, NOW - 4 * DAY, NOW - 3_600_000], jpeg);
    // east: wanted by no target, and only old pictures: all go but the newest.
    const [e10, e9] = await seedPictures(config, store, 'east', [NOW - 10 * DAY, NOW - 9 * DAY], jpeg);
    for (const p of [n4!, n3a!, n1!, s6!, s4!]) markSent(store, p);
    // A RAW file beside the oldest north picture, and a picture the camera spoiled (never sent, so no target waits for it).
    const raw = n4!.path.replace(/\.jpg$/, '.cr2');
    fs.writeFileSync(store.layout.absolute(raw), 'raw');
    const spoiledPath = path.join(path.dirname(path.dirname(n4!.path)), '2026-11-15', '20261115T120000000Z.jpg');
    fs.mkdirSync(path.dirname(store.layout.absolute(spoiledPath)));
    fs.writeFileSync(store.layout.absolute(spoiledPath), 'not a jpeg');
    const spoiled = store.pictures.insert({ sourceId: 'north', takenAt: NOW - 5 * DAY, localDate: '2026-11-15', path: spoiledPath, size: 10, width: 0, height: 0, rejection: { code: 'corrupt', detail: 'x' } });
    const derived = (p: Picture) => p.derivatives.map((k) => store.layout.relative(store.layout.derivative(p.path, k)));
    expect(derived(n4!).length).toBeGreaterThan(0);
    const before = { n4: derived(n4!), n3a: derived(n3a!) };

    const sut = new StorageGuard({ config: () => config, store, log: silentLogger(), now: () => NOW, batchPauseMs: 0 });
    const deleted = await sut.purgeByAge();

    const gone = [n4!, n3a!, s6!, e10!].map((p) => p.id).concat(spoiled);
    const kept = [n3b!, n1!, nNow!, s4!, sNow!, e9!].map((p) => p.id);
    expect(deleted).toBe(gone.length);
    for (const id of gone) expect(store.pictures.get(id)).toBeUndefined();
    for (const id of kept) expect(store.pictures.get(id)).toBeDefined();
    for (const p of [n4!, n3a!, s6!, e10!]) expect(exists(store, p.path)).toBe(false);
    for (const p of [n3b!, n1!, nNow!, s4!, sNow!, e9!]) expect(exists(store, p.path)).toBe(true);
    for (const f of [...before.n4, ...before.n3a, raw, spoiledPath]) expect(exists(store, f)).toBe(false);
    for (const f of derived(n3b!)) expect(exists(store, f)).toBe(true);
    // The unsent picture keeps its pending row; the finished rows of deleted pictures are gone.
    expect(store.outbox.rowsOfPicture(n3b!.id)).toEqual([{ kind: 'picture', targetId: 'hq', state: 'pending' }]);
    expect(store.outbox.rowsOfPicture(n4!.id)).toEqual([]);
    // Empty day folders go; the calendar and the per-day counts follow.
    expect(fs.existsSync(store.layout.dayDir('south', s6!.localDate))).toBe(false);
    expect(store.pictures.days('east').map((d) => d.date)).toEqual([e9!.localDate]);
    expect(store.state.day('north', n4!.localDate).purged).toBe(1);
    expect(store.state.day('north', '2026-11-15').purged).toBe(1);
    expect(store.state.day('north', n3a!.localDate).purged).toBe(1);
    expect(sut.status().purged.pictures).toBe(gone.length);

    // What the storage card shows, with plenty of free space too: the pictures a target still waits for (n3b, nNow, sNow)...
    expect(sut.status().waitingForSync).toBe(3);
    // ...each once, however many rows wait for it (here a target since removed from the configuration: its row still keeps the picture).
    store.outbox.add({ targetId: 'old', kind: 'picture', sourceId: 'north', itemId: n3b!.id, localPath: n3b!.path, remotePath: 'x.jpg', size: 1, overwrite: false, priority: 1, orderAt: n3b!.takenAt, replaces: false }, NOW);
    expect(store.outbox.rowsOfPicture(n3b!.id)).toHaveLength(2);
    expect(sut.status().waitingForSync).toBe(3);

    // Once the target has it, the held-back picture goes too; nothing else does.
    markSent(store, n3b!);
    expect(await sut.purgeByAge()).toBe(1);
    expect(store.pictures.get(n3b!.id)).toBeUndefined();
    expect(await sut.purgeByAge()).toBe(0);
  });

  it('keeps everything when maxAgeDays is 0, and lets a source override the storage-wide age', async () => {
    const forever = parseConfig(configText(config.storage.dataDir).replace('maxAgeDays: 5', 'maxAgeDays: 0').replace('maxAgeDays: 2', 'maxAgeDays: 0'), '/x.yaml').config;
    const pictures = await seedPictures(forever, store, 'north', [NOW - 400 * DAY, NOW - 300 * DAY, NOW], () => plain(160, 120, '#123456'));
    for (const p of pictures) markSent(store, p);
    const sut = new StorageGuard({ config: () => forever, store, log: silentLogger(), now: () => NOW, batchPauseMs: 0 });
    expect(await sut.purgeByAge()).toBe(0);
  });
});

describe('StorageGuard on a small disk', () => {
  let disk: SmallDisk;
  let store: Repositories;
  let config: Config;

  beforeEach(() => {
    disk = smallDisk(16);
    // eslint-disable-next-line no-console
    console.log(`small disk: ${disk.kind === 'tmpfs' ? 'a 16 MB tmpfs mounted for the test' : 'mount not allowed here: an injected disk-usage probe over a plain folder'}`);
    const extra = '';
    config = parseConfig(configText(path.join(disk.dir, 'data'), extra).replace('retention: { maxAgeDays: 5 }', 'retention: { maxAgeDays: 0, minFreePercent: 30, reserveMB: 3 }'), '/x.yaml').config;
    fs.mkdirSync(config.storage.dataDir, { recursive: true });
    store = openRepositories(config.storage.dataDir);
  });

  afterEach(() => {
    store.close();
    disk.cleanup();
  });

  it('deletes the oldest sent pictures first for space, never an unsent one, and pauses capture when nothing may go', async () => {
    const times = Array.from({ length: 12 }, (_, i) => NOW - (12 - i) * 3_600_000);
    const north = await seedPictures(config, store, 'north', times, (i) => plain(400, 300, i % 2 ? '#335577' : '#775533'));
    // The six oldest reached hq; the rest did not.
    for (const p of north.slice(0, 6)) markSent(store, p);
    const sut = new StorageGuard({ config: () => config, store, log: silentLogger(), now: () => NOW, batchPauseMs: 0, ...(disk.probe ? { disk: disk.probe } : {}) });
    let status = await sut.check();
    expect(status.paused).toBeNull();
    expect(status.low).toBe(false);

    // Leave 28 % free: below minFreePercent (30), above the reserve (3 MB of 16).
    await disk.fillTo(4.5 * 1024 * 1024);
    status = await sut.check();
    // Everything sent went, oldest first, yet the disk is still low: the rest waits for hq.
    for (const p of north.slice(0, 6)) expect(store.pictures.get(p.id)).toBeUndefined();
    for (const p of north.slice(6)) {
      expect(store.pictures.get(p.id)).toBeDefined();
      expect(exists(store, p.path)).toBe(true);
    }
    expect(status.low).toBe(true);
    expect(status.waitingForSync).toBe(6);
    expect(status.paused).toBeNull();
    expect(status.lastPurge).toMatchObject({ why: 'space', pictures: 6 });

    // Below the reserve with nothing to delete: capture pauses, with the reason.
    const ballast = await disk.fillTo(2 * 1024 * 1024);
    status = await sut.check();
    expect(status.paused?.reason).toMatch(/^capture paused: the data disk has \d+ MB free, below storage.retention.reserveMB \(3 MB\); 6 pictures wait to be sent/);
    expect(sut.blocked()).toBe(status.paused!.reason);
    for (const p of north.slice(6)) expect(store.pictures.get(p.id)).toBeDefined();

    // Space comes back: capture resumes by itself at the next check.
    fs.rmSync(ballast);
    status = await sut.check();
    expect(status.paused).toBeNull();
    expect(sut.blocked()).toBeNull();
  });

  it('a capture that meets a full disk is not a camera failure: nothing half-written stays, and capture resumes when space returns', async () => {
    if (disk.kind !== 'tmpfs') {
      // Without a real small file system no write can fail for lack of space; the pause path is covered above.
      // eslint-disable-next-line no-console
      console.log('skipped the ENOSPC check: a tmpfs cannot be mounted here');
      return;
    }
    const lines: string[] = [];
    const log = createLogger({ levels: { level: 'debug' }, destination: { write: (line: string) => lines.push(line) } });
    const guard = new StorageGuard({ config: () => config, store, log, batchPauseMs: 0 });
    const big = { ...config, sources: config.sources.map((s) => ({ ...s, camera: { ...s.camera, width: 1920, height: 1080 } })) } as Config;
    const { capture } = buildCaptureStack({ config: big, store, log, createCamera, openRelay: (relay) => openRelay(relay, { log }), storage: guard });
    capture.start();
    await guard.check();
    expect((await capture.capture('north', 'manual')).status).toBe('captured');
    // Leave less than one picture: the next write meets ENOSPC before the guard has measured.
    const ballast = await disk.fillTo(40 * 1024);
    const outcome = await capture.capture('north', 'slot');
    expect(outcome).toMatchObject({ status: 'skipped', storage: true, reason: expect.stringMatching(/^capture paused: the data disk has 0 MB free/) });
    const state = store.state.get('north');
    expect(state.failures).toBe(0);
    expect(state.consecutiveFailures).toBe(0);
    expect(store.events.recent().filter((e) => e.kind.startsWith('camera'))).toEqual([]);
    expect(store.pictures.count('north')).toBe(1);
    const leftovers = fs.readdirSync(config.storage.dataDir, { recursive: true, encoding: 'utf8' }).filter((f) => path.basename(f).startsWith(TEMP_PREFIX));
    expect(leftovers).toEqual([]);
    // While paused, slots are skipped at once (counted), without touching the camera.
    expect(await capture.capture('north', 'slot')).toMatchObject({ status: 'skipped', storage: true });
    expect(store.state.get('north').skipped).toBe(2);

    fs.rmSync(ballast);
    await guard.check();
    expect((await capture.capture('north', 'slot')).status).toBe('captured');
    expect(store.pictures.count('north')).toBe(2);
    await capture.stop(1000);
  });
});

describe('the daemon on a full disk', () => {
  let disk: SmallDisk;
  let app: App | null = null;

  beforeEach(() => {
    disk = smallDisk(24);
  });

  afterEach(async () => {
    await app?.stop();
    app = null;
    disk.cleanup();
  });

  it('stays up, pauses capture with a 507 and a reason, and resumes by itself', async () => {
    const port = await freePort();
    const dataDir = path.join(disk.dir, 'data');
    const text = `
appliance: { id: box, timezone: Europe/Paris }
storage: { dataDir: ${dataDir}, retention: { minFreePercent: 20, reserveMB: 4 } }
web: { host: 127.0.0.1, port: ${port} }
sources:
  - id: north
    camera: { driver: testpattern, width: 640, height: 480 }
    schedule: { every: 1s }
`;
    const loaded = parseConfig(text, path.join(disk.dir, 'lapsebox.yaml'));
    app = new App(loaded, { log: silentLogger(), storageCheckMs: 200, ...(disk.probe ? { diskProbe: disk.probe } : {}) });
    await app.start();
    const auth = basic('admin', initialPassword(dataDir));
    const base = `http://127.0.0.1:${port}`;
    const system = async () => (await (await fetch(`${base}/api/system`, { headers: auth })).json()) as { storage: { paused: { reason: string } | null } };
    await waitFor('a first picture', async () => ((await (await fetch(`${base}/api/sources/north`, { headers: auth })).json()) as { counts: { pictures: number } }).counts.pictures >= 1);

    const ballast = await disk.fillTo(3 * 1024 * 1024);
    const paused = await waitFor('capture paused', async () => (await system()).storage.paused ?? undefined);
    expect(paused.reason).toMatch(/below storage.retention.reserveMB \(4 MB\)/);
    const answer = await fetch(`${base}/api/sources/north/capture`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    expect(answer.status).toBe(507);
    expect(((await answer.json()) as { error: string }).error).toBe(paused.reason);
    // The UI and the database stay up.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const count = async () => ((await (await fetch(`${base}/api/sources/north`, { headers: auth })).json()) as { counts: { pictures: number; skipped: number } }).counts;
    const during = await count();
    await waitFor('slots skipped while paused', async () => (await count()).skipped > during.skipped);

    fs.rmSync(ballast);
    await waitFor('capture resumed', async () => (await system()).storage.paused === null);
    await waitFor('new pictures', async () => (await count()).pictures > during.pictures);
  });
});
