import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DateTime } from 'luxon';
import { cli, tempDir, writeConfig } from '../helpers/env';
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

  it.each([[[]], [['run']], [['config', 'check']], [['status']], [['capture']], [['users']], [['users', 'add']], [['users', 'passwd']], [['users', 'remove']], [['users', 'list']], [['users', 'grant']], [['groups']], [['groups', 'member']], [['timelapse']], [['doctor']]])(
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
      expect(text.stdout).toMatch(/^USER\s+PROFILE\s+GROUPS\s+GRANTS\s+CREATED\nalice\s+director\s+-\s+all sources/);
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
      const text = await run(['status']);
      expect(text.stdout).toContain('daemon: not running');
      expect(text.stdout).toMatch(/SOURCE\s+DRIVER\s+CAMERA\s+EVERY/);
    });
  });
});
