import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DateTime } from 'luxon';
import { cli, freePort, tempDir, waitFor, writeConfig, type TestConfigOptions } from '../helpers/env';
import { DaemonProcess } from '../helpers/daemon';
import { probeVideo } from '../helpers/videos';

describe('lapsebox CLI', () => {
  let tmp: ReturnType<typeof tempDir>;
  let configFile: string;
  let dataDir: string;
  const run = (args: string[], input?: string) => cli([...args, '--config', configFile], input === undefined ? {} : { input });

  beforeAll(() => {
    tmp = tempDir();
    configFile = writeConfig({ dir: tmp.dir, port: 1 });
    dataDir = path.join(tmp.dir, 'data');
  });

  afterAll(() => tmp.cleanup());

  it.each([[[]], [['run']], [['config', 'check']], [['status']], [['capture']], [['users']], [['users', 'add']], [['users', 'email']], [['users', 'passwd']], [['users', 'remove']], [['users', 'list']], [['users', 'grant']], [['groups']], [['groups', 'member']], [['timelapse']], [['doctor']]])(
    'prints help for %j --help and exits 0',
    async (args) => {
      const result = await cli([...args, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: lapsebox/);
    },
  );

  it('exits 2 on an unknown command or option', async () => {
    expect((await cli(['fly'])).code).toBe(2);
    expect((await cli(['status', '--colour'])).code).toBe(2);
    expect((await cli(['users', 'add', 'x'])).code).toBe(2); // --profile is required
  });

  describe('doctor', () => {
    it('passes with the tools installed', async () => {
      const result = await run(['doctor', '--json']);
      const { checks } = JSON.parse(result.stdout) as { checks: { name: string; verdict: string; detail: string }[] };
      expect(result.code).toBe(0);
      expect(checks.find((c) => c.name === 'ffmpeg')).toMatchObject({ verdict: 'ok', detail: expect.stringMatching(/^ffmpeg version /) });
      expect(checks.find((c) => c.name === 'h264 encoder')!.detail).toMatch(/libx264|h264_v4l2m2m/);
      // No hardware encoder here: every film says libx264, each kind of each source with its width.
      expect(checks.find((c) => c.name === 'film encoders')!.detail).toMatch(/^libx264: ([a-z0-9-]+ (daily|weekly|monthly) \(\d+ px\)(, )?)+$/);
    });

    it('fails and says what to install when ffmpeg is missing', async () => {
      // A PATH without ffmpeg: only a folder with nothing in it.
      const empty = path.join(tmp.dir, 'empty-bin');
      fs.mkdirSync(empty, { recursive: true });
      const result = await cli(['doctor', '--config', configFile], { env: { PATH: empty } });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/ffmpeg\s+fail\s+ffmpeg is not installed \(cannot run "ffmpeg"\): videos cannot be built; install it with "apt install ffmpeg" → sudo apt-get install -y ffmpeg/);
    });
  });

  describe('config check', () => {
    it('exits 0 on a valid file', async () => {
      const result = await run(['config', 'check']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('valid (1 source: cam)');
    });

    it('prints every error with its key path and exits 2', async () => {
      const bad = path.join(tmp.dir, 'bad.yaml');
      fs.writeFileSync(bad, 'appliance: { id: box, timezone: Moon/Base }\nsources:\n  - id: a\n    camera: { driver: testpattern }\n    schedule: { every: soon }\n');
      const result = await cli(['config', 'check', '--config', bad]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${bad}: 2 configuration errors`);
      expect(result.stderr).toContain('line 1: appliance.timezone: expected an IANA time zone name');
      expect(result.stderr).toContain('line 5: sources[0].schedule.every: expected a duration');
      const json = await cli(['config', 'check', '--json', '--config', bad]);
      expect(json.code).toBe(2);
      expect((JSON.parse(json.stdout) as { valid: boolean; errors: string[] }).errors).toHaveLength(2);
    });

    it('takes the file from LAPSEBOX_CONFIG and names a missing one', async () => {
      expect((await cli(['config', 'check'], { env: { LAPSEBOX_CONFIG: configFile } })).code).toBe(0);
      const missing = await cli(['config', 'check'], { env: { LAPSEBOX_CONFIG: path.join(tmp.dir, 'nope.yaml') } });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('nope.yaml: 1 configuration error');
      expect(missing.stderr).toContain('the file does not exist');
    });

    it('refuses to run the daemon on a bad file, exit 2', async () => {
      const bad = path.join(tmp.dir, 'bad-run.yaml');
      fs.writeFileSync(bad, 'appliance: { id: box }\nweb: { port: 0 }\n');
      const result = await cli(['run', '--config', bad]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('web.port');
    });
  });

  describe('users', () => {
    it('adds a user with a password from stdin, never echoing it', async () => {
      const result = await run(['users', 'add', 'alice', '--profile', 'director', '--password-stdin'], 'correct horse battery\n');
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('added director "alice"\n');
      const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true });
      const row = db.prepare(`SELECT password_hash FROM users WHERE username = 'alice'`).get() as { password_hash: string };
      const audit = db.prepare(`SELECT actor, action, target, new_value FROM audit WHERE target = 'alice'`).get() as Record<string, string>;
      db.close();
      expect(row.password_hash).toMatch(/^scrypt\$15\$8\$1\$/);
      expect(row.password_hash).not.toContain('correct horse');
      expect(audit).toMatchObject({ action: 'user.add', target: 'alice', new_value: '{"profile":"director"}' });
      expect(audit['actor']).toMatch(/^cli:/);
    });

    it('generates and prints a password when none is given', async () => {
      const result = await run(['users', 'add', 'bob', '--profile', 'customer', '--json']);
      expect(result.code).toBe(0);
      const out = JSON.parse(result.stdout) as { username: string; profile: string; password: string };
      expect(out).toMatchObject({ username: 'bob', profile: 'customer' });
      expect(out.password).toMatch(/^[A-Za-z0-9]{20}$/);
    });

    it('rejects bad names, profiles, short passwords and duplicates with the right exit code', async () => {
      const badProfile = await run(['users', 'add', 'carol', '--profile', 'admin']);
      expect([badProfile.code, badProfile.stderr]).toEqual([2, 'lapsebox: invalid profile "admin": expected one of maintainer, director, customer\n']);
      const badName = await run(['users', 'add', '../etc', '--profile', 'customer']);
      expect(badName.code).toBe(2);
      expect(badName.stderr).toContain('invalid user name "../etc"');
      const short = await run(['users', 'add', 'carol', '--profile', 'customer', '--password-stdin'], 'short');
      expect([short.code, short.stderr]).toEqual([2, 'lapsebox: the password is too short: at least 10 characters are needed\n']);
      const duplicate = await run(['users', 'add', 'ALICE', '--profile', 'customer']);
      expect([duplicate.code, duplicate.stderr]).toEqual([1, 'lapsebox: user "ALICE" already exists\n']);
    });

    it('lists users without their hashes', async () => {
      const result = await run(['users', 'list', '--json']);
      expect(result.code).toBe(0);
      const list = JSON.parse(result.stdout) as Record<string, unknown>[];
      expect(list.map((u) => [u['username'], u['profile']])).toEqual([
        ['alice', 'director'],
        ['bob', 'customer'],
      ]);
      expect(result.stdout).not.toContain('scrypt');
      const text = await run(['users', 'list']);
      expect(text.stdout).toMatch(/^USER\s+PROFILE\s+E-MAIL\s+GROUPS\s+GRANTS\s+CREATED\nalice\s+director\s+-\s+-\s+all sources/);
    });

    it('gives users an e-mail address, changes and clears it, and audits each change', async () => {
      const added = await run(['users', 'add', 'erin', '--profile', 'customer', '--email', ' erin@client.example ', '--json']);
      expect(added.code).toBe(0);
      expect(JSON.parse(added.stdout)).toMatchObject({ username: 'erin', email: 'erin@client.example' });
      const changed = await run(['users', 'email', 'erin', 'erin@example.org']);
      expect([changed.code, changed.stdout]).toEqual([0, 'e-mail address of "erin": erin@example.org\n']);
      expect((await run(['users', 'list'])).stdout).toMatch(/^erin\s+customer\s+erin@example\.org\s+-/m);
      const bad = await run(['users', 'email', 'erin', 'erin at example']);
      expect([bad.code, bad.stderr]).toEqual([2, 'lapsebox: invalid e-mail address "erin at example": expected an address such as anna@example.com\n']);
      expect((await run(['users', 'add', 'fred', '--profile', 'customer', '--email', 'nope'])).code).toBe(2);
      const neither = await run(['users', 'email', 'erin']);
      expect([neither.code, neither.stderr]).toEqual([2, 'lapsebox: give either an e-mail address or --clear, such as "lapsebox users email anna anna@example.com"\n']);
      expect((await run(['users', 'email', 'erin', 'a@example.com', '--clear'])).code).toBe(2);
      const cleared = await run(['users', 'email', 'erin', '--clear', '--json']);
      expect(JSON.parse(cleared.stdout)).toMatchObject({ username: 'erin', email: null });
      const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true });
      const audit = db.prepare(`SELECT action, old_value, new_value FROM audit WHERE target = 'erin' ORDER BY id`).all();
      db.close();
      expect(audit).toEqual([
        { action: 'user.add', old_value: null, new_value: '{"profile":"customer","email":"erin@client.example"}' },
        { action: 'user.email', old_value: '{"email":"erin@client.example"}', new_value: '{"email":"erin@example.org"}' },
        { action: 'user.email', old_value: '{"email":"erin@example.org"}', new_value: '{"email":null}' },
      ]);
      expect((await run(['users', 'remove', 'erin'])).code).toBe(0);
    });

    it('changes a password and removes users, but never the last maintainer', async () => {
      const passwd = await run(['users', 'passwd', 'alice', '--password-stdin'], 'another long password');
      expect([passwd.code, passwd.stdout]).toEqual([0, 'password of "alice" changed\n']);
      expect((await run(['users', 'passwd', 'nobody'])).code).toBe(2);
      expect((await run(['users', 'add', 'root', '--profile', 'maintainer'])).code).toBe(0);
      const last = await run(['users', 'remove', 'root']);
      expect([last.code, last.stderr]).toEqual([1, 'lapsebox: "root" is the last maintainer; add another maintainer before removing it\n']);
      expect((await run(['users', 'remove', 'bob'])).code).toBe(0);
      expect((await run(['users', 'remove', 'bob'])).code).toBe(2);
    });

    it('grants customers sources, directly and through groups, and audits each change', async () => {
      expect((await run(['users', 'add', 'carla', '--profile', 'customer'])).code).toBe(0);
      const grant = await run(['users', 'grant', 'carla', 'cam']);
      expect([grant.code, grant.stdout]).toEqual([0, '"carla" may now see source "cam"\n']);
      const json = JSON.parse((await run(['users', 'grant', 'carla', 'cam', '--level', 'download', '--json'])).stdout) as { grants: unknown; effective: unknown };
      expect(json.grants).toEqual([{ source: 'cam', level: 'download' }]);
      // Bad input: unknown source, level or user; a grant to a director.
      const unknownSource = await run(['users', 'grant', 'carla', 'nowhere']);
      expect([unknownSource.code, unknownSource.stderr]).toEqual([2, 'lapsebox: no source "nowhere" in the configuration; sources: cam\n']);
      expect((await run(['users', 'grant', 'carla', 'cam', '--level', 'admin'])).stderr).toBe('lapsebox: invalid level "admin": expected view or download\n');
      expect((await run(['users', 'grant', 'nobody', 'cam'])).code).toBe(2);
      expect((await run(['users', 'grant', 'alice', 'cam'])).stderr).toContain('"alice" is a director, who sees every source already');

      for (const args of [['groups', 'add', 'site-team'], ['groups', 'member', 'site-team', 'carla'], ['groups', 'grant', 'site-team', 'cam', '--level', 'view']]) {
        expect((await run(args)).code).toBe(0);
      }
      expect((await run(['groups', 'add', 'SITE-team'])).stderr).toBe('lapsebox: group "SITE-team" already exists\n');
      expect((await run(['groups', 'list'])).stdout).toMatch(/^GROUP\s+MEMBERS\s+GRANTS\nsite-team\s+carla\s+cam:view$/m);
      // Her own grant revoked, she keeps the group's view level.
      const revoke = await run(['users', 'revoke', 'carla', 'cam']);
      expect(revoke.stdout).toBe('revoked "carla" on "cam"; still view through a group (site-team)\n');
      const listed = (JSON.parse((await run(['users', 'list', '--json'])).stdout) as { username: string; groups: string[]; effective: unknown }[]).find((u) => u.username === 'carla');
      expect(listed).toMatchObject({ groups: ['site-team'], effective: [{ source: 'cam', level: 'view' }] });
      expect((await run(['users', 'revoke', 'carla', 'cam'])).code).toBe(2);
      expect((await run(['groups', 'member', 'site-team', 'carla', '--remove'])).code).toBe(0);
      expect((await run(['groups', 'revoke', 'site-team', 'cam'])).code).toBe(0);
      expect((await run(['groups', 'remove', 'site-team'])).stdout).toBe('removed group "site-team"\n');
      expect((await run(['groups', 'list'])).stdout).toBe('no groups\n');

      const db = new Database(path.join(dataDir, 'lapsebox.db'), { readonly: true });
      const actions = db.prepare(`SELECT action, target, address FROM audit WHERE action LIKE 'group.%' OR action LIKE 'user.grant' OR action = 'user.revoke' ORDER BY id`).all();
      db.close();
      expect(actions).toEqual([
        { action: 'user.grant', target: 'carla', address: 'cli' },
        { action: 'user.grant', target: 'carla', address: 'cli' },
        { action: 'group.add', target: 'site-team', address: 'cli' },
        { action: 'group.member.add', target: 'site-team', address: 'cli' },
        { action: 'group.grant', target: 'site-team', address: 'cli' },
        { action: 'user.revoke', target: 'carla', address: 'cli' },
        { action: 'group.member.remove', target: 'site-team', address: 'cli' },
        { action: 'group.revoke', target: 'site-team', address: 'cli' },
        { action: 'group.remove', target: 'site-team', address: 'cli' },
      ]);
    });
  });

  describe('capture and status without a daemon', () => {
    it('captures directly into the data folder', async () => {
      const result = await run(['capture', 'cam', '--json']);
      expect(result.code).toBe(0);
      const { picture } = JSON.parse(result.stdout) as { picture: { path: string; width: number } };
      expect(picture.width).toBe(320);
      expect(fs.existsSync(path.join(dataDir, picture.path))).toBe(true);
      expect(fs.existsSync(path.join(dataDir, 'sources', 'cam', 'live', 'latest.jpg'))).toBe(true);
    });

    it('exits 2 for an unknown source', async () => {
      const result = await run(['capture', 'nope']);
      expect([result.code, result.stderr]).toEqual([2, 'lapsebox: no source "nope" in the configuration (sources: cam)\n']);
    });

    it('builds a video without a daemon, copies it with --out, and exits 2 on bad options', async () => {
      await run(['capture', 'cam']);
      const today = DateTime.now().setZone('Europe/Paris');
      const [from, to] = [today.minus({ days: 1 }).toISODate()!, today.toISODate()!];
      const out = path.join(tmp.dir, 'film.mp4');
      const result = await run(['timelapse', 'cam', '--from', from, '--to', to, '--out', out, '--fps', '10']);
      expect([result.code, result.stderr]).toEqual([0, '']);
      expect(result.stdout).toMatch(new RegExp(`^video built: ${out} \\(2 frames, 0\\.2 s at 10 fps, 320x240`));
      expect(probeVideo(out)).toMatchObject({ frames: 2, width: 320, height: 240 });
      const json = JSON.parse((await run(['timelapse', 'cam', '--from', from, '--to', to, '--json'])).stdout) as { job: { status: string; requestedBy: string }; file: string };
      expect(json.job).toMatchObject({ status: 'succeeded', requestedBy: 'cli' });
      expect(fs.existsSync(json.file)).toBe(true);

      const backwards = await run(['timelapse', 'cam', '--from', to, '--to', from]);
      expect(backwards.code).toBe(2);
      expect(backwards.stderr).toMatch(/to: "to" \(\d{4}-\d\d-\d\d\) must come after "from"/);
      expect((await run(['timelapse', 'cam', '--from', from, '--to', to, '--fps', '0'])).stderr).toMatch(/fps: expected at least 1 frame per second/);
      const empty = await run(['timelapse', 'cam', '--from', '2020-01-01', '--to', '2020-01-02']);
      expect([empty.code, empty.stderr]).toEqual([1, 'lapsebox: no usable pictures of source "cam" from 2020-01-01 to 2020-01-02 with these filters\n']);
    });

    it('reports status from the database, with the next slot from the schedule', async () => {
      const result = await run(['status', '--json']);
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as { daemon: { running: boolean }; disk: { freeBytes: number }; sources: { id: string; counts: { pictures: number }; nextSlot: string }[] };
      expect(report.daemon.running).toBe(false);
      expect(report.disk.freeBytes).toBeGreaterThan(0);
      expect(report.sources[0]).toMatchObject({ id: 'cam', counts: { pictures: 2 } });
      expect(new Date(report.sources[0]!.nextSlot).getTime()).toBeGreaterThan(Date.now() - 1000);
      // What only a running daemon knows is there, empty.
      expect(report).toMatchObject({ health: null, storage: null, alerts: [], notifications: null });
      const text = await run(['status']);
      expect(text.stdout).toContain('daemon: not running');
      expect(text.stdout).toMatch(/SOURCE\s+DRIVER\s+CAMERA\s+EVERY/);
      expect(text.stdout).toMatch(/^cam .*\n\ndaemon not running: no live health\n$/m);
      expect(text.stdout).not.toMatch(/^(health|storage|alerts|alert channels)\b/m);
    });
  });

  describe('status with a running daemon', () => {
    let live: ReturnType<typeof tempDir>;
    let liveConfig: string;
    let liveOptions: TestConfigOptions;
    let daemon: DaemonProcess;

    interface LiveReport {
      daemon: { running: boolean };
      health: { at: number; cpuTempC: number | null; load: number[]; cpus: number; memory: { totalBytes: number; availableBytes: number }; power: unknown; clock: { synchronized: boolean | null; via: string | null } } | null;
      storage: { disk: { freePercent: number } | null; retention: Record<string, number>; paused: unknown; waitingForSync: number; lastPurge: unknown } | null;
      alerts: { key: string; kind: string; severity: string; sourceId: string | null; message: string; since: string }[];
      notifications: { webhook: { configured: boolean; pending: number; lastError: string | null } | null; email: unknown } | null;
    }

    beforeAll(async () => {
      live = tempDir('lapsebox-cli-live-');
      const port = await freePort();
      // A camera and a webhook nobody answers: a "camera down" alert, and its delivery waiting.
      const [deadCamera, deadHook] = [await freePort(), await freePort()];
      liveOptions = {
        dir: live.dir,
        port,
        sources: [
          { id: 'cam', camera: { driver: 'testpattern', width: 160, height: 120 }, schedule: { every: '1h' } },
          { id: 'gate', camera: { driver: 'http', url: `http://127.0.0.1:${deadCamera}/snapshot.jpg`, timeout: '2s' }, schedule: { every: '2s' }, recovery: { retries: 0 } },
        ],
        extra: { alerts: { lateAfter: '10s', webhook: { url: `http://127.0.0.1:${deadHook}/alerts` } } },
      };
      liveConfig = writeConfig(liveOptions);
      daemon = new DaemonProcess(liveConfig, port);
      await daemon.start();
    });

    afterAll(async () => {
      await daemon?.kill();
      live?.cleanup();
    });

    it('prints health, storage, alerts and alert channel backlogs after the sources, and puts them in --json', async () => {
      const report = await waitFor('the camera-down alert and the failed webhook delivery', async () => {
        const result = await cli(['status', '--json', '--config', liveConfig]);
        const json = JSON.parse(result.stdout) as LiveReport;
        return json.health && json.alerts.some((a) => a.key === 'camera-down:gate') && json.notifications?.webhook?.lastError ? json : undefined;
      }, 30_000);
      expect(report.daemon.running).toBe(true);
      const h = report.health!;
      expect(h.load).toHaveLength(3);
      expect(h.cpus).toBeGreaterThan(0);
      expect(h.memory.availableBytes).toBeGreaterThan(0);
      expect(h.memory.totalBytes).toBeGreaterThanOrEqual(h.memory.availableBytes);
      expect(report.storage).toMatchObject({ retention: { maxAgeDays: 0, minFreePercent: 10, reserveMB: 300 }, paused: null, waitingForSync: 0, lastPurge: null });
      expect(report.storage!.disk!.freePercent).toBeGreaterThan(0);
      expect(report.alerts.find((a) => a.key === 'camera-down:gate')).toMatchObject({ kind: 'camera-down', severity: 'error', sourceId: 'gate', message: expect.stringContaining('camera gate is down since') });
      expect(report.notifications!.webhook).toMatchObject({ configured: true, lastError: expect.stringContaining('refused the connection') });
      expect(report.notifications!.webhook!.pending).toBeGreaterThanOrEqual(1);
      expect(report.notifications!.email).toBeNull();

      const result = await cli(['status', '--config', liveConfig]);
      expect([result.code, result.stderr]).toEqual([0, '']);
      const out = result.stdout;
      // After the sources' table and their errors.
      expect(out.indexOf('health (measured ')).toBeGreaterThan(out.indexOf('last errors:'));
      expect(out).toMatch(/^health \(measured \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\):$/m);
      expect(out).toMatch(/^ {2}temperature: (\d+\.\d °C|unknown \(the system does not report it\))$/m);
      expect(out).toMatch(new RegExp(`^  load: \\d+\\.\\d\\d \\d+\\.\\d\\d \\d+\\.\\d\\d on ${h.cpus} cores?`, 'm'));
      expect(out).toMatch(/^ {2}memory: [\d.]+ [KMG]B available of [\d.]+ [KMG]B, lapsebox uses [\d.]+ [KMG]B$/m);
      // Off a Pi (here) no firmware flags; on a Pi, a sentence per flag or "ok".
      expect(out).toMatch(h.power === null ? /^ {2}power: no Raspberry Pi firmware flags \(vcgencmd not available\)$/m : /^ {2}power: /m);
      expect(out).toMatch(h.clock.synchronized === null ? /^ {2}clock: synchronisation unknown/m : h.clock.synchronized ? /^ {2}clock: synchronised \(/m : /^ {2}clock: NOT synchronised/m);
      expect(out).toMatch(/^storage:\n {2}free: [\d.]+ [KMG]B of [\d.]+ [KMG]B \([\d.]+%\)$/m);
      expect(out).not.toContain('CAPTURE PAUSED');
      expect(out).toContain('  retention: pictures kept until space is needed; oldest sent first below 10% free; capture pauses below 300 MB\n');
      expect(out).toContain('  waiting for sync: 0 pictures before they may be deleted\n');
      expect(out).toMatch(/^alerts: \d+ active\n(  .*\n)*  ERROR since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: camera gate is down since /m);
      expect(out).toMatch(/^alert channels:\n {2}webhook: http:\/\/127\.0\.0\.1:\d+, \w+, \d+ waiting \(oldest [^)]+\).*, last error: webhook .*refused the connection.*\n {2}email: not configured$/m);
      expect(out).not.toContain('no live health');
      // A webhook's path may hold its token (Slack, Teams): only the origin is shown.
      expect(out).not.toMatch(/127\.0\.0\.1:\d+\/alerts/);
    });

    it('says when capture is paused for lack of space, and why', async () => {
      // A reserve of 1 TB (the most the schema allows) is more than this disk has free:
      // the storage guard pauses capture at start-up. A box with more free space cannot show it.
      const reserveMB = 1_000_000;
      const stat = fs.statfsSync(live.dir);
      if (stat.bavail * stat.bsize >= reserveMB * 1024 * 1024) return console.warn('more than 1 TB free here: the paused state cannot be shown');
      await daemon.stop();
      writeConfig({ ...liveOptions, extra: { ...liveOptions.extra, storage: { dataDir: 'data', retention: { reserveMB } } } });
      await daemon.start();
      const report = await waitFor('the capture-paused alert', async () => {
        const json = JSON.parse((await cli(['status', '--json', '--config', liveConfig])).stdout) as LiveReport & { storage: { paused: { since: string; reason: string } | null } };
        return json.alerts.some((a) => a.key === 'capture-paused') ? json : undefined;
      }, 20_000);
      expect(report.storage!.paused!.reason).toMatch(/^capture paused: the data disk has \d+ MB free, below storage\.retention\.reserveMB \(1000000 MB\)/);
      expect(report.alerts.find((a) => a.key === 'capture-paused')).toMatchObject({ severity: 'error', message: report.storage!.paused!.reason });
      const out = (await cli(['status', '--config', liveConfig])).stdout;
      // First under "storage", said once.
      expect(out).toMatch(/^storage:\n {2}CAPTURE PAUSED since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: the data disk has \d+ MB free, below storage\.retention\.reserveMB \(1000000 MB\).*It resumes by itself when space comes back$/m);
      expect(out).toMatch(/^ {2}ERROR since .*: capture paused: the data disk has/m);
    });
  });
});
