/**
 * What the box says about a sync target is what its worker is doing now (issue 18,
 * point 11): a real daemon and a real OpenSSH server that is down at start-up, comes
 * up, and goes down again in the middle of a run. At each step `lapsebox sync status`,
 * `GET /api/system`, `/metrics` and the System page agree on the state, the next try
 * (in the future while waiting), the newest error and its time, and the backlog, and
 * `lapsebox sync run` returns: exit 1 with the backlog while the server is down, 0
 * once everything is sent.
 */
import path from 'node:path';
import { DateTime } from 'luxon';
import type { Browser } from 'playwright-core';
import { cli, freePort, tempDir, waitFor, writeConfig, type CliResult } from '../helpers/env';
import { DaemonProcess, basic, initialPassword } from '../helpers/daemon';
import { TestSshd } from '../helpers/sshd';
import { eventually, launchBrowser, openAs, visit, type UserPage } from '../helpers/browser';
import type { PassSummary, TargetStatus } from '../../daemon/sync/sync.service';

jest.setTimeout(150_000);

/** Longer than a target's first backoff (2.5 to 5 s) and its connect timeout here, far shorter than a hang. */
const RUN_BOUND_MS = 20_000;

interface Look {
  /** When the reading started: anything "in the future" must be later than this. */
  before: number;
  cli: TargetStatus;
  api: TargetStatus;
  waitingForSync: number;
  metricPending: number;
}

describe('the sync status of a target that goes down and up', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sshd: TestSshd;
  let daemon: DaemonProcess | null = null;
  let browser: Browser | null = null;
  let admin: UserPage | null = null;

  beforeAll(async () => {
    tmp = tempDir();
    sshd = await TestSshd.start({ dir: path.join(tmp.dir, 'server') });
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.kill();
    await sshd.stop();
    tmp.cleanup();
  });

  it('reports the state, next try, newest error and backlog at each step, and `sync run` returns', async () => {
    const port = await freePort();
    const configFile = writeConfig({
      dir: tmp.dir,
      port,
      // One capture a day: the pictures are the ones taken below. Large ones under a cap, so a run lasts long enough to be cut.
      sources: [{ id: 'cam', camera: { driver: 'testpattern', width: 1920, height: 1080 }, schedule: { every: '1d' } }],
      extra: { sync: { targets: [sshd.target('hq', { maxRate: '400KB/s', send: ['pictures', 'latest'], timeout: '5s' })] } },
    });
    const run = (args: string[]) => cli([...args, '--config', configFile]);
    const syncRun = async (): Promise<CliResult & { ms: number; json: { passes: PassSummary[]; targets: TargetStatus[] } | null }> => {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        run(['sync', 'run', '--json']),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`lapsebox sync run did not return within ${RUN_BOUND_MS} ms`)), RUN_BOUND_MS))),
      ]).finally(() => clearTimeout(timer));
      return { ...result, ms: Date.now() - started, json: result.stdout ? (JSON.parse(result.stdout) as { passes: PassSummary[]; targets: TargetStatus[] }) : null };
    };

    for (let i = 0; i < 3; i++) expect((await run(['capture', 'cam'])).code).toBe(0);
    await sshd.stop();
    daemon = new DaemonProcess(configFile, port);
    await daemon.start();
    const auth = basic('admin', initialPassword(path.join(tmp.dir, 'data')));
    const look = async (): Promise<Look> => {
      const before = Date.now();
      const status = await run(['sync', 'status', '--json']);
      expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: '' });
      const system = (await (await fetch(`${daemon!.baseUrl}/api/system`, { headers: auth })).json()) as { sync: { targets: TargetStatus[] }; storage: { waitingForSync: number } };
      const metrics = await (await fetch(`${daemon!.baseUrl}/metrics`, { headers: auth })).text();
      const pending = /^lapsebox_outbox_pending_files\{target="hq"\} (\d+)$/m.exec(metrics);
      return {
        before,
        cli: (JSON.parse(status.stdout) as { targets: TargetStatus[] }).targets[0]!,
        api: system.sync.targets[0]!,
        waitingForSync: system.storage.waitingForSync,
        metricPending: Number(pending?.[1]),
      };
    };
    /** What every reading must say while the server is down. */
    const expectDown = (l: Look, pending: number) => {
      for (const t of [l.cli, l.api]) {
        expect(['connecting', 'retrying']).toContain(t.activity);
        expect(t.failingSince).not.toBeNull();
        expect(t.lastError).not.toBeNull();
        // Waiting: the next try is ahead; while connecting there is none.
        if (t.activity === 'retrying') expect(Date.parse(t.nextAttemptAt!)).toBeGreaterThan(l.before);
        else expect(t.nextAttemptAt).toBeNull();
        expect(t.backlog.pending).toBe(pending);
      }
      expect(l.waitingForSync).toBe(l.cli.backlog.byKind.picture);
      expect(l.metricPending).toBe(l.cli.backlog.pending);
    };

    // 1. Down at start-up: the worker fails, waits, fails again; each failure is the newest error, with its time.
    const errorTimes: number[] = [];
    await waitFor('three failed connections, each reported with its own time', async () => {
      const l = await look();
      expectDown(l, 4);
      expect(l.cli.lastError!.message).toMatch(/127\.0\.0\.1:\d+ refused the connection/);
      const at = Date.parse(l.cli.lastError!.at);
      if (errorTimes.length > 0) expect(at).toBeGreaterThanOrEqual(errorTimes.at(-1)!);
      if (at !== errorTimes.at(-1)) errorTimes.push(at);
      return errorTimes.length >= 3;
    }, 60_000);

    // `sync run` tries at once, and returns with the backlog and the error.
    const down = await syncRun();
    expect(down.code).toBe(1);
    expect(down.json!.passes).toEqual([expect.objectContaining({ target: 'hq', sent: 0, pending: 4, error: expect.stringMatching(/refused the connection/) })]);
    // The run was a try of its own: the newest error is its, and the next one is planned.
    const afterRun = await look();
    expectDown(afterRun, 4);
    expect(Date.parse(afterRun.cli.lastError!.at)).toBeGreaterThan(errorTimes.at(-1)!);
    // One state everywhere (read within the backoff, so nothing moved between the readings).
    expect(afterRun.api).toEqual({ ...afterRun.cli, backlog: { ...afterRun.cli.backlog, oldestAgeSeconds: expect.any(Number) } });
    expect(afterRun.waitingForSync).toBe(3);
    // The text says it too, in the box's time zone (Europe/Paris).
    const paris = (iso: string) => DateTime.fromISO(iso, { zone: 'Europe/Paris' }).toFormat('yyyy-LL-dd HH:mm:ss');
    const text = (await run(['sync', 'status'])).stdout;
    expect(text).toMatch(/^hq\s+127\.0\.0\.1:\d+\S+\s+(retrying|connecting)\s+4 files/m);
    // The outage began at start-up; it is one outage however many tries failed since.
    expect(text).toContain(`hq: failing since ${paris(afterRun.cli.failingSince!)}, `);
    expect(text).toMatch(/^ {2}hq: failing since [\d-]+ [\d:]+, (next try [\d-]+ [\d:]+|now connecting)$/m);
    expect(text).toMatch(/^ {2}hq: last error [\d-]+ [\d:]+: 127\.0\.0\.1:\d+ refused the connection/m);

    // The System page says the same: the worker's state, the next try, the error; the storage card the pictures waiting.
    browser = await launchBrowser();
    admin = await openAs(browser, daemon.baseUrl, 'admin', initialPassword(path.join(tmp.dir, 'data')));
    await eventually(async () => {
      await visit(admin!.page, '#/system');
      const card = admin!.page.locator('.target[data-target="hq"]');
      expect(await card.locator('.badge').innerText()).toMatch(/^(retrying|connecting)$/);
      expect(await card.innerText()).toMatch(/Waiting\s+4 files/);
      expect(await card.innerText()).toMatch(/Last error\s+127\.0\.0\.1:\d+ refused the connection/);
      expect(await admin!.page.locator('.card.storage').innerText()).toMatch(/Waiting for sync\s+3 pictures must reach a target/);
    }, 15_000);

    // 2. The server comes back: the worker reconnects by itself and sends everything.
    await sshd.startAgain();
    const up = await waitFor('the worker to send the backlog by itself', async () => {
      const l = await look();
      return l.cli.backlog.pending === 0 && l.cli.activity === 'idle' && l;
    }, 30_000);
    for (const t of [up.cli, up.api]) {
      expect(t).toMatchObject({ activity: 'idle', failingSince: null, nextAttemptAt: null, backlog: { pending: 0 }, sent: { files: 4 } });
      expect(Date.parse(t.lastOk!)).toBeGreaterThan(Date.parse(afterRun.cli.lastError!.at));
    }
    expect(up.waitingForSync).toBe(0);
    expect(up.metricPending).toBe(0);
    await eventually(async () => {
      await visit(admin!.page, '#/system');
      expect(await admin!.page.locator('.target[data-target="hq"] .badge').innerText()).toBe('idle');
      expect(await admin!.page.locator('.target[data-target="hq"]').innerText()).not.toContain('Next try');
      expect(await admin!.page.locator('.card.storage').innerText()).toMatch(/Waiting for sync\s+none/);
    }, 15_000);
    const nothing = await syncRun();
    expect(nothing.code).toBe(0);
    expect(nothing.json!.passes).toEqual([{ target: 'hq', sent: 0, alreadyThere: 0, failed: 0, pending: 0, error: null }]);

    // 3. Down again in the middle of a run: the run returns 1 with what is left, the state follows.
    for (let i = 0; i < 3; i++) expect((await run(['capture', 'cam'])).code).toBe(0);
    const cut = syncRun();
    await waitFor('an upload under way', () => [...sshd.files().keys()].some((f) => path.basename(f).startsWith('.tmp-') && sshd.files().get(f)! > 0), 20_000);
    await sshd.stop();
    const midRun = await cut;
    expect(midRun.code).toBe(1);
    const pass = midRun.json!.passes[0]!;
    expect(pass.error).toMatch(/127\.0\.0\.1:\d+/);
    expect(pass.pending).toBeGreaterThan(0);
    const afterCut = await waitFor('the cut reported', async () => {
      const l = await look();
      return l.cli.activity === 'retrying' && l.api.activity === 'retrying' && l;
    }, 15_000);
    expectDown(afterCut, afterCut.cli.backlog.pending);
    expect(afterCut.cli.backlog.pending).toBeGreaterThan(0);
    expect(Date.parse(afterCut.cli.lastError!.at)).toBeGreaterThan(Date.parse(up.cli.lastOk!));
    expect(Date.parse(afterCut.cli.failingSince!)).toBeGreaterThan(Date.parse(up.cli.lastOk!));
    const again = await syncRun();
    expect(again.code).toBe(1);
    expect(again.json!.passes[0]).toMatchObject({ sent: 0, pending: afterCut.cli.backlog.pending, error: expect.stringMatching(/refused the connection/) });
    expect(admin.problems).toEqual([]);
  });
});
