/**
 * The sync against a real OpenSSH sshd on loopback: layout and checksums, a server
 * that goes away mid-batch, a changed host key, a folder it may not write, a
 * server that accepts and never answers, a link that stalls mid-upload, the cap.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { createLogger, silentLogger } from '../../daemon/logger';
import { Outbox } from '../../daemon/sync/outbox';
import { SyncService, type SyncPolicies } from '../../daemon/sync/sync.service';
import { indexVideo } from '../../daemon/timelapse/video-builder';
import type { Picture } from '../../daemon/domain/pictures';
import { tempDir, waitFor } from '../helpers/env';
import { TestSshd } from '../helpers/sshd';
import { scene, seedPictures } from '../helpers/videos';
import { stringify } from 'yaml';

const FAST: SyncPolicies = { file: { baseMs: 300, capMs: 1_000 }, target: { baseMs: 200, capMs: 800 } };
const T0 = Date.parse('2026-11-20T09:00:00Z');
const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('SyncService against OpenSSH', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sshd: TestSshd;
  let store: Repositories;
  let config: Config;
  let sync: SyncService | null;
  const watches: { close: () => void }[] = [];
  const watch = (dirs: string[]) => {
    const w = sshd.watch(dirs);
    watches.push(w);
    return w;
  };

  const configure = (targets: Record<string, unknown>[]) => {
    config = parseConfig(
      stringify({
        appliance: { id: 'box-1', timezone: 'Europe/Paris' },
        storage: { dataDir: path.join(tmp.dir, 'data') },
        sources: [{ id: 'north', camera: { driver: 'testpattern' } }],
        sync: { targets },
      }),
      path.join(tmp.dir, 'lapsebox.yaml'),
    ).config;
    return config;
  };
  const outbox = () => new Outbox({ config: () => config, repo: store.outbox, notify: (ids) => sync?.wake(ids) });
  const startSync = (policies = FAST) => {
    sync = new SyncService({ config: () => config, store, outbox: outbox(), log: process.env['SYNC_DEBUG'] ? createLogger({ levels: { level: 'debug' } }) : silentLogger(), policies });
    sync.start();
    return sync;
  };
  const seed = async (n: number, size = 320, from = T0): Promise<Picture[]> => {
    const times = Array.from({ length: n }, (_, i) => from + i * 60_000);
    return seedPictures(config, store, 'north', times, (i) => scene(size, Math.round((size * 3) / 4), 0.8 + (i % 5) * 0.1, i));
  };
  const remote = (p: string) => path.join(sshd.root, 'box-1', p);
  const pending = () => config.sync.targets.reduce((n, t) => n + store.outbox.backlog(t.id).pending, 0);

  beforeEach(async () => {
    tmp = tempDir();
    sshd = await TestSshd.start({ dir: path.join(tmp.dir, 'server') });
    sync = null;
  });

  afterEach(async () => {
    for (const w of watches.splice(0)) w.close();
    await sync?.stop();
    store?.close();
    await sshd.stop();
    tmp.cleanup();
  });

  const openWith = (targets: Record<string, unknown>[]) => {
    configure(targets);
    store = openRepositories(config.storage.dataDir);
  };

  it('sends pictures, the latest picture and videos under the layout of SPEC §3, byte for byte, once each', async () => {
    openWith([sshd.target()]);
    const uploads = watch(['box-1/north/pictures/2026-11-20', 'box-1/north/videos/daily', 'box-1/north']);
    startSync();
    const pictures = await seed(12);
    const videoFile = path.join(store.layout.videosDir('north', 'daily'), '2026-11-20.mp4');
    fs.mkdirSync(path.dirname(videoFile), { recursive: true });
    fs.writeFileSync(videoFile, crypto.randomBytes(300_000));
    // Its phone rendition goes beside it.
    const phoneFile = store.layout.video('north', 'daily', '2026-11-20').phone;
    fs.writeFileSync(phoneFile, crypto.randomBytes(100_000));
    indexVideo(store.videos, outbox(), {
      sourceId: 'north', kind: 'daily', label: '2026-11-20', path: store.layout.relative(videoFile), posterPath: null, periodFrom: T0, periodTo: T0 + 86_400_000,
      frames: 12, fps: 25, width: 320, height: 240, durationMs: 480, size: 300_000, codec: 'h264', jobId: null, createdAt: T0 + 86_400_000,
      phone: { path: store.layout.relative(phoneFile), size: 100_000, width: 160, height: 120, bitrate: 800_000 },
    });
    await waitFor('pending() === 0', () => pending() === 0, 30_000);

    for (const p of pictures) {
      const file = remote(`north/pictures/${p.localDate}/${path.basename(p.path)}`);
      expect(sha(file)).toBe(sha(store.layout.absolute(p.path)));
      expect(uploads.renamesOnto(file)).toBe(1);
    }
    expect(uploads.renamesOnto(remote('north/videos/daily/2026-11-20.mp4'))).toBe(1);
    expect(sha(remote('north/videos/daily/2026-11-20.mp4'))).toBe(sha(videoFile));
    expect(uploads.renamesOnto(remote('north/videos/daily/2026-11-20.phone.mp4'))).toBe(1);
    expect(sha(remote('north/videos/daily/2026-11-20.phone.mp4'))).toBe(sha(phoneFile));
    expect(sha(remote('north/latest.jpg'))).toBe(sha(store.layout.absolute(pictures.at(-1)!.path)));
    // Nothing else on the server: no temporary files, no stray folders.
    expect([...sshd.files().keys()].filter((f) => path.basename(f).startsWith('.tmp-'))).toEqual([]);
    expect(sshd.files().size).toBe(12 + 2 + 1);
    const [status] = sync!.status();
    expect(status).toMatchObject({ id: 'hq', activity: 'idle', backlog: { pending: 0 }, sent: { files: 15 }, lastError: null });
  });

  it('lets captures go first: no upload starts while the captures say they are running, and the backlog goes once they end', async () => {
    openWith([sshd.target('hq', { send: ['pictures'] })]);
    const pictures = await seed(6);
    // A capture runs until the test ends it.
    let endCapture!: () => void;
    let capturing = true;
    const capture = new Promise<void>((resolve) => (endCapture = resolve));
    let waits = 0;
    sync = new SyncService({
      config: () => config,
      store,
      outbox: outbox(),
      log: silentLogger(),
      policies: FAST,
      capturesFirst: () => {
        waits++;
        return capturing ? capture : Promise.resolve();
      },
    });
    sync.start();
    await waitFor('the worker to wait for the capture', () => waits > 0, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    // Nothing went while the capture ran.
    expect([...sshd.files().keys()].filter((f) => f.endsWith('.jpg'))).toEqual([]);
    expect(pending()).toBe(6);
    capturing = false;
    endCapture();
    await waitFor('pending() === 0', () => pending() === 0, 30_000);
    for (const p of pictures) expect(sha(remote(`north/pictures/${p.localDate}/${path.basename(p.path)}`))).toBe(sha(store.layout.absolute(p.path)));
    // Asked before each upload.
    expect(waits).toBeGreaterThanOrEqual(6);
  });

  it('counts a file already on the server as sent when an earlier attempt may have finished (crash before the database update)', async () => {
    openWith([sshd.target('hq', { send: ['pictures'] })]);
    const [done, fresh] = await seed(2);
    // The first picture was renamed into place by a process that died before marking it sent.
    const there = remote(`north/pictures/${done!.localDate}/${path.basename(done!.path)}`);
    fs.mkdirSync(path.dirname(there), { recursive: true });
    fs.copyFileSync(store.layout.absolute(done!.path), there);
    const uploads = watch([path.relative(sshd.root, path.dirname(there))]);
    const row = store.outbox.due('hq', Date.now(), 10).find((i) => i.itemId === done!.id)!;
    store.outbox.markTried(row, Date.now() - 1000);
    startSync();
    await waitFor('both sent', () => pending() === 0, 20_000);
    expect(uploads.renamesOnto(there)).toBe(0);
    expect(uploads.renamesOnto(remote(`north/pictures/${fresh!.localDate}/${path.basename(fresh!.path)}`))).toBe(1);
    expect(store.outbox.get(row.id)).toMatchObject({ state: 'sent' });
  });

  it('sends nothing reached through a link inside the data folder: the file counts as gone', async () => {
    openWith([sshd.target('hq', { send: ['pictures'] })]);
    const [linked] = await seed(1, 320, T0 - 2 * 86_400_000);
    const [real] = await seed(1);
    // The day folder of the first picture is swapped for a link to a folder elsewhere with a file of the same name.
    const day = path.dirname(store.layout.absolute(linked!.path));
    const elsewhere = path.join(tmp.dir, 'elsewhere');
    fs.renameSync(day, elsewhere);
    fs.symlinkSync(elsewhere, day);
    startSync();
    await waitFor('nothing pending', () => pending() === 0, 20_000);
    expect(fs.existsSync(remote(`north/pictures/${linked!.localDate}/${path.basename(linked!.path)}`))).toBe(false);
    expect(fs.existsSync(remote(`north/pictures/${real!.localDate}/${path.basename(real!.path)}`))).toBe(true);
    expect(store.outbox.rowsOfPicture(linked!.id)).toEqual([{ kind: 'picture', targetId: 'hq', state: 'gone' }]);
  });

  it('holds uploads to maxRate', async () => {
    openWith([sshd.target('hq', { send: ['pictures'], maxRate: '100KB/s' })]);
    const pictures = await seed(4, 640);
    const bytes = pictures.reduce((n, p) => n + p.size, 0);
    const started = Date.now();
    startSync();
    await waitFor('all sent', () => pending() === 0, 30_000);
    const seconds = (Date.now() - started) / 1000;
    // The bucket lets a quarter second through at once; the rest waits for the rate.
    expect(seconds).toBeGreaterThan((bytes - 25_000) / 100_000 - 0.5);
    for (const p of pictures) expect(sha(remote(`north/pictures/${p.localDate}/${path.basename(p.path)}`))).toBe(sha(store.layout.absolute(p.path)));
  });

  it('keeps the queue through a server that goes away mid-batch: everything arrives, nothing twice', async () => {
    // Capped, so that the batch is still under way when the server goes.
    openWith([sshd.target('hq', { timeout: '3s', maxRate: '400KB/s' })]);
    const pictures = await seed(30, 640);
    const uploads = watch(['box-1/north/pictures/2026-11-20']);
    startSync();
    await waitFor('three pictures on the server', () => [...sshd.files().keys()].filter((f) => f.includes('/pictures/')).length >= 3, 20_000);
    await sshd.stop();
    await waitFor('sync!.status()[0]!.failingSince !== null', () => sync!.status()[0]!.failingSince !== null, 20_000);
    const during = sync!.status()[0]!;
    expect(during.backlog.pending).toBeGreaterThan(0);
    expect(during.lastError!.message).toMatch(/refused the connection|broke|lost|stopped answering/);
    await new Promise((r) => setTimeout(r, 1000)); // a few retries against the closed port
    await sshd.startAgain();
    await waitFor('pending() === 0', () => pending() === 0, 30_000);

    for (const p of pictures) {
      const file = remote(`north/pictures/${p.localDate}/${path.basename(p.path)}`);
      expect(sha(file)).toBe(sha(store.layout.absolute(p.path)));
      expect(uploads.renamesOnto(file)).toBe(1);
    }
    // The file cut by the outage is written again under its temporary name and renamed once.
    expect([...sshd.files().keys()].filter((f) => path.basename(f).startsWith('.tmp-'))).toEqual([]);
    expect(sync!.status()[0]).toMatchObject({ failingSince: null, backlog: { pending: 0 } });
  });

  it('raises the outage and backlog events with their start as data, and no time in their text', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r)); // nobody listens there now: connection refused
    openWith([sshd.target('down', { port, alertAfter: '1m' })]);
    await seed(2);
    let skew = 0;
    sync = new SyncService({ config: () => config, store, outbox: outbox(), log: silentLogger(), policies: FAST, now: () => Date.now() + skew });
    sync.start();
    await waitFor('the target failing', () => store.syncTargets.get('down').failingSince !== null, 10_000);
    // Two minutes later, as the service sees it: past alertAfter for the outage and the oldest file.
    skew = 2 * 60_000;
    const raised = () => store.events.recent().filter((e) => e.kind === 'sync-unreachable' || e.kind === 'sync-backlog');
    await waitFor('both events', () => raised().length === 2, 10_000);
    const unreachable = raised().find((e) => e.kind === 'sync-unreachable')!;
    const backlog = raised().find((e) => e.kind === 'sync-backlog')!;
    expect(unreachable.since).toBe(store.syncTargets.get('down').failingSince);
    expect(unreachable.message).toMatch(/^sync target "down" keeps failing: .*refused the connection/);
    expect(backlog.since).toBe(store.outbox.backlog('down').oldestAt);
    expect(backlog.message).toBe('3 files wait for sync target "down"');
    for (const e of [unreachable, backlog]) expect(e.message).not.toMatch(/\d{4}-\d\d-\d\d/);
  });

  it('refuses a server whose host key changed: nothing is sent, the error says both keys, an event is raised', async () => {
    openWith([sshd.target()]);
    const pinned = sshd.hostKey;
    await sshd.stop();
    sshd.replaceHostKey();
    await sshd.startAgain();
    await seed(3);
    startSync();
    await waitFor('the host key refused', () => sync!.status()[0]!.activity === 'host-key-mismatch', 20_000);
    const status = sync!.status()[0]!;
    expect(status.lastError!.message).toContain(`presented the host key ${sshd.hostKey}`);
    expect(status.lastError!.message).toContain(`pins ${pinned}`);
    expect(sshd.files().size).toBe(0);
    expect(status.backlog.pending).toBe(4); // 3 pictures and the latest
    expect(store.events.recent().filter((e) => e.kind === 'sync-host-key-mismatch')).toHaveLength(1);
    expect(store.syncTargets.get('hq').hostKeySeen).toBe(sshd.hostKey);
  });

  it('says clearly when it may not write in the remote folder, tries again later, and sends once it may', async () => {
    openWith([sshd.target('hq', { send: ['pictures'] })]);
    fs.chmodSync(sshd.root, 0o555);
    const pictures = await seed(3);
    startSync();
    await waitFor('sync!.status()[0]!.failing.length > 0', () => sync!.status()[0]!.failing.length > 0, 20_000);
    const status = sync!.status()[0]!;
    expect(status.failing[0]!.error).toMatch(/permission denied.*check that \S+ may write in/);
    expect(status.failingSince).toBeNull(); // the server answers: this is about files, not an outage
    expect(sshd.files().size).toBe(0);
    fs.chmodSync(sshd.root, 0o755);
    await waitFor('pending() === 0', () => pending() === 0, 30_000);
    for (const p of pictures) expect(sha(remote(`north/pictures/${p.localDate}/${path.basename(p.path)}`))).toBe(sha(store.layout.absolute(p.path)));
    expect(store.outbox.get(1)!.attempts).toBeGreaterThan(0);
  });

  it('gives up on a server that accepts the connection and never answers after the timeout, and the other target is not held up', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as net.AddressInfo).port;
    try {
      openWith([sshd.target('hq'), sshd.target('mute', { port: silentPort, timeout: '2s' })]);
      await seed(4);
      const started = Date.now();
      startSync();
      await waitFor('hq emptied', () => store.outbox.backlog('hq').pending === 0, 20_000);
      await waitFor('the mute target failed', () => sync!.status().find((t) => t.id === 'mute')!.lastError !== null, 10_000);
      const mute = sync!.status().find((t) => t.id === 'mute')!;
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(mute.lastError!.message).toMatch(/stopped answering for 2 s while connecting|Timed out while waiting for handshake/);
      expect(mute.activity).toBe('retrying');
      expect(mute.backlog.pending).toBe(5);
    } finally {
      silent.close();
    }
  });

  it('stops at once while connecting, and answers a send now cut by the stop with what is left and why (`sync run` exits 1)', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      openWith([sshd.target('hq', { port: (silent.address() as net.AddressInfo).port, timeout: '30s' })]);
      await seed(1);
      startSync();
      await waitFor('connecting', () => sync!.status()[0]!.activity === 'connecting', 5_000);
      const run = sync!.sendNow();
      const stopping = Date.now();
      await sync!.stop();
      // At once, not after the 30 s timeout of the connection being opened (the daemon gives its services 5 s).
      expect(Date.now() - stopping).toBeLessThan(2_000);
      sync = null;
      expect(await run).toEqual([expect.objectContaining({ target: 'hq', sent: 0, pending: 2, error: expect.stringMatching(/^the sync stopped .* before the queue was sent$/) })]);
      // Cut by the stop, not a failure of the target: nothing recorded against it.
      expect(store.syncTargets.get('hq')).toMatchObject({ lastError: null, failingSince: null });
    } finally {
      silent.close();
    }
  });

  it('records each failure of a target that logs in and then stalls every upload: newest error, a next try ahead, and send now returns', async () => {
    // A link that carries the SSH login and then stops forwarding (a saturated or dying uplink): connecting works, every upload times out.
    const links = new Set<net.Socket>();
    const link = net.createServer((box) => {
      const server = net.connect(sshd.port, '127.0.0.1');
      links.add(box).add(server);
      let sent = 0;
      box.on('data', (chunk: Buffer) => {
        sent += chunk.length;
        if (sent < 16_000) server.write(chunk);
      });
      server.pipe(box);
      box.on('error', () => server.destroy());
      server.on('error', () => box.destroy());
    });
    await new Promise<void>((r) => link.listen(0, '127.0.0.1', r));
    try {
      openWith([sshd.target('hq', { port: (link.address() as net.AddressInfo).port, timeout: '1s' })]);
      await seed(2, 640);
      startSync();
      const errorTimes: number[] = [];
      await waitFor('three failures, each recorded when it happens', () => {
        const before = Date.now();
        const [t] = sync!.status();
        if (t!.activity === 'retrying') expect(Date.parse(t!.nextAttemptAt!)).toBeGreaterThanOrEqual(before);
        else expect(t!.nextAttemptAt).toBeNull();
        if (t!.lastError) {
          expect(t!.lastError.message).toMatch(/stopped answering for 1 s while (uploading|creating|checking)/);
          const at = Date.parse(t!.lastError.at);
          if (at !== errorTimes.at(-1)) errorTimes.push(at);
        }
        return errorTimes.length >= 3;
      }, 20_000);
      expect(errorTimes).toEqual([...errorTimes].sort((a, b) => a - b));
      // Send now: one more try, and the answer once it failed (not a wait for ever).
      const started = Date.now();
      const [pass] = await sync!.sendNow();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(pass).toMatchObject({ target: 'hq', sent: 0, pending: 3, error: expect.stringMatching(/stopped answering/) });
      expect(Date.parse(sync!.status()[0]!.lastError!.at)).toBeGreaterThan(errorTimes.at(-1)!);
    } finally {
      for (const s of links) s.destroy();
      link.close();
    }
  });
});
