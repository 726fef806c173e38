/**
 * The sync in the real daemon: killed with SIGKILL in the middle of an upload and
 * started again, it leaves no partial file under a final name and completes the
 * batch; `lapsebox sync status|run` and `lapsebox status` report it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cli, freePort, tempDir, waitFor, writeConfig } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { TestSshd } from '../helpers/sshd';
import { openRepositories } from '../../daemon/store/repositories';
import type { TargetStatus } from '../../daemon/sync/sync.service';

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('the daemon syncing to OpenSSH', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sshd: TestSshd;
  let daemon: DaemonProcess | null = null;

  beforeAll(async () => {
    tmp = tempDir();
    sshd = await TestSshd.start({ dir: path.join(tmp.dir, 'server') });
  });

  afterAll(async () => {
    await daemon?.kill();
    await sshd.stop();
    tmp.cleanup();
  });

  it('survives SIGKILL mid-upload: no partial file under a final name, the batch completes after the restart, each file moved into place once', async () => {
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      // One capture a day: the pictures of this test are the four taken below.
      sources: [{ id: 'cam', camera: { driver: 'testpattern', width: 1920, height: 1080 }, schedule: { every: '1d' } }],
      extra: { sync: { targets: [sshd.target('hq', { maxRate: '300KB/s', send: ['pictures', 'latest'] })] } },
    });
    const run = (args: string[]) => cli([...args, '--config', configFile]);
    for (let i = 0; i < 4; i++) expect((await run(['capture', 'cam'])).code).toBe(0);
    const dataDir = path.join(tmp.dir, 'data');
    const local = (() => {
      const store = openRepositories(dataDir);
      try {
        return store.pictures.usableBetween('cam', 0, Date.now() + 60_000).map(({ id }) => {
          const p = store.pictures.get(id)!;
          return { path: p.path, day: p.localDate };
        });
      } finally {
        store.close();
      }
    })();
    expect(local).toHaveLength(4);
    const offline = JSON.parse((await run(['sync', 'status', '--json'])).stdout) as { targets: TargetStatus[] };
    expect(offline.targets[0]).toMatchObject({ id: 'hq', activity: 'not-running', backlog: { pending: 5, byKind: { picture: 4, latest: 1 } } });

    const dayDir = `test-box/cam/pictures/${local[0]!.day}`;
    const uploads = sshd.watch([dayDir, 'test-box/cam']);
    const remoteOf = (p: { path: string; day: string }) => path.join(sshd.root, dayDir, path.basename(p.path));
    try {
      daemon = new DaemonProcess(configFile, port);
      await daemon.start();
      // Kill it while a picture (not the first file: the latest goes first) is half-way.
      await waitFor('a picture half-way through its upload', () => [...sshd.files()].some(([f, size]) => f.startsWith(`${dayDir}/.tmp-`) && size > 0), 30_000);
      await daemon.stop('SIGKILL');
      daemon = null;
      const afterKill = sshd.files();
      expect([...afterKill.keys()].some((f) => path.basename(f).startsWith('.tmp-'))).toBe(true);
      for (const p of local) if (afterKill.has(path.relative(sshd.root, remoteOf(p)))) expect(sha(remoteOf(p))).toBe(sha(path.join(dataDir, p.path)));

      daemon = new DaemonProcess(configFile, port);
      await daemon.start();
      await waitFor('every picture on the server', () => local.every((p) => fs.existsSync(remoteOf(p))), 60_000);
      const status = await waitFor('an empty queue', async () => {
        const s = JSON.parse((await run(['sync', 'status', '--json'])).stdout) as { targets: TargetStatus[] };
        return s.targets[0]!.backlog.pending === 0 && s.targets[0]!;
      }, 20_000);
      expect(status.activity).toBe('idle');
      for (const p of local) {
        expect(sha(remoteOf(p))).toBe(sha(path.join(dataDir, p.path)));
        expect(uploads.renamesOnto(remoteOf(p))).toBe(1);
      }
      expect(sha(path.join(sshd.root, 'test-box/cam/latest.jpg'))).toBe(sha(path.join(dataDir, local.at(-1)!.path)));
      expect([...sshd.files().keys()].filter((f) => path.basename(f).startsWith('.tmp-'))).toEqual([]);
      const text = await run(['status']);
      expect(text.stdout).toMatch(/sync:\n.*TARGET[\s\S]*hq\s+127\.0\.0\.1:\d+\S*test-box\s+idle\s+0 files/);
    } finally {
      uploads.close();
      await daemon?.stop();
      daemon = null;
    }

    // No daemon: `sync run` sends from its own process and says what it did.
    expect((await run(['capture', 'cam'])).code).toBe(0);
    const sent = await run(['sync', 'run', '--json']);
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ passes: [{ target: 'hq', sent: 2, failed: 0, pending: 0, error: null }] });
    expect((await run(['sync', 'run', '--target', 'nope'])).code).toBe(2);
  });
});
