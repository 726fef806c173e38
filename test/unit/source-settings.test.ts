/**
 * SourceSettings on real config files in a temporary folder: merge-patch
 * semantics, validation identical to the file's, write-back that keeps the
 * file's comments and layout, permissions, failures, serialisation and audit.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfig, type LoadedConfig } from '../../daemon/config/load';
import { SETTABLE, SourceSettings, settableBy, type SettingsEditor } from '../../daemon/settings/source-settings';
import { jsonSchema } from '../../daemon/config/schema';
import { AppError } from '../../daemon/errors';
import type { AuditEntry } from '../../daemon/store/audit.repository';
import { ROOT, tempDir } from '../helpers/env';

/** A hand-written file: aligned comments, flow maps, quoted times, blank lines, two sources. */
const HAND_WRITTEN = `# lapsebox on the bridge
appliance:
  id: test-box
  timezone: Europe/Paris
  location: { latitude: 48.85, longitude: 2.35 }

storage:
  dataDir: data            # next to this file

web: { host: 127.0.0.1, port: 8080 }

sources:
  # the north tower
  - id: north              # do not rename
    name: North tower      # shown in the UI
    camera:
      driver: http
      url: http://192.168.1.20/snapshot.jpg
      username: cam
      password: "s3cret"   # the camera's own
    schedule:
      every: 5m            # aligned to the clock
      windows:             # weekdays only
        - { days: [mon, tue, wed, thu, fri], from: "07:00", to: "19:00" }
    public:
      enabled: false
      delay: 10m           # a little late

  - id: south
    camera: { driver: testpattern }
`;

const maintainer: SettingsEditor = { actor: 'user:mia', address: '192.0.2.7', profile: 'maintainer' };
const director: SettingsEditor = { actor: 'user:dan', address: '192.0.2.8', profile: 'director' };

describe('SourceSettings', () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;
  let applied: LoadedConfig[];
  let audit: AuditEntry[];
  let sut: SourceSettings;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('lapsebox-settings-'));
    file = path.join(dir, 'lapsebox.yaml');
    fs.writeFileSync(file, HAND_WRITTEN);
    applied = [];
    audit = [];
    sut = new SourceSettings({
      file: () => file,
      apply: async (next) => {
        applied.push(next);
      },
      audit: { record: (entry) => audit.push(entry) },
      now: () => 1_700_000_000_000,
    });
  });
  afterEach(() => cleanup());

  /** The AppError a promise rejects with. */
  async function failure(promise: Promise<unknown>): Promise<AppError> {
    const err = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
    return err;
  }

  /** What `lapsebox config check` says of the file once `edit` is made to it by hand. */
  function configCheck(edit: (text: string) => string): string[] {
    const other = path.join(dir, 'by-hand.yaml');
    fs.writeFileSync(other, edit(HAND_WRITTEN));
    try {
      loadConfig(other);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems;
    }
  }

  describe('get', () => {
    it('gives the entry as the file holds it, secrets hidden, and what the profile may change', () => {
      const { settings, editable } = sut.get('north', 'director');
      expect(settings).toEqual({
        id: 'north',
        name: 'North tower',
        camera: { driver: 'http', url: 'http://192.168.1.20/snapshot.jpg', username: 'cam', password: '***' },
        schedule: { every: '5m', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '19:00' }] },
        public: { enabled: false, delay: '10m' },
      });
      // The key paths of the one table (SETTABLE), which the PATCH checks too.
      expect(editable).toEqual(settableBy('director'));
      expect(editable).toEqual(expect.arrayContaining(['name', 'schedule.every', 'image.legend', 'timelapse.daily', 'public.delay']));
      expect(editable).not.toEqual(expect.arrayContaining(['camera']));
      expect(editable.filter((k) => k.startsWith('camera') || k.startsWith('recovery') || k.startsWith('retention'))).toEqual([]);
      expect(sut.get('north', 'maintainer').editable).toEqual(Object.keys(SETTABLE));
      expect(sut.get('north', 'customer').editable).toEqual([]);
    });

    it('reads the file again at each call', () => {
      fs.writeFileSync(file, HAND_WRITTEN.replace('every: 5m ', 'every: 2m '));
      expect(sut.get('north', 'director').settings['schedule']).toMatchObject({ every: '2m' });
    });

    it('answers not-found for a source the file does not hold', () => {
      expect(() => sut.get('west', 'director')).toThrow(expect.objectContaining({ kind: 'not-found' }) as Error);
    });
  });

  describe('write-back', () => {
    it('changes only the lines of the changed values: comments and the rest of the layout stay', async () => {
      await sut.patch(
        'north',
        { name: 'Nord', schedule: { every: '10m', windows: [{ from: '06:00', to: '20:00' }] }, public: { delay: null }, image: { rotate: 90 } },
        director,
      );
      const expected = HAND_WRITTEN.replace('    name: North tower      # shown in the UI\n', '    name: Nord             # shown in the UI\n')
        .replace('      every: 5m            # aligned to the clock\n', '      every: 10m           # aligned to the clock\n')
        .replace('        - { days: [mon, tue, wed, thu, fri], from: "07:00", to: "19:00" }\n', '        - from: "06:00"\n          to: "20:00"\n')
        .replace('      delay: 10m           # a little late\n', '    image:\n      rotate: 90\n');
      expect(fs.readFileSync(file, 'utf8')).toBe(expected);
    });

    it('rewrites a value inside a flow map as a flow map, in place', async () => {
      await sut.patch('south', { camera: { width: 640 } }, maintainer);
      expect(fs.readFileSync(file, 'utf8')).toBe(HAND_WRITTEN.replace('camera: { driver: testpattern }', 'camera: { driver: testpattern, width: 640 }'));
    });

    it('keeps the mode of the file and leaves no temporary file behind', async () => {
      fs.chmodSync(file, 0o640);
      await sut.patch('north', { name: 'Nord' }, director);
      expect(fs.statSync(file).mode & 0o777).toBe(0o640);
      expect(fs.readdirSync(dir)).toEqual(['lapsebox.yaml']);
    });

    it('writes through a symlinked config file, which stays a symlink', async () => {
      const link = path.join(dir, 'current.yaml');
      fs.symlinkSync(file, link);
      const viaLink = new SourceSettings({ file: () => link, apply: async () => undefined, audit: { record: () => undefined } });
      await viaLink.patch('north', { name: 'Nord' }, director);
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
      expect(fs.readFileSync(file, 'utf8')).toContain('name: Nord ');
    });

    it('edits files of any layout: sources written as one flow list', async () => {
      const flowFile = path.join(dir, 'flow.yaml');
      const text = `# flow style\nappliance: { id: box }\nsources: [ { id: a, camera: { driver: testpattern } } ]   # one camera\n`;
      fs.writeFileSync(flowFile, text);
      const flowSut = new SourceSettings({ file: () => flowFile, apply: async () => undefined, audit: { record: () => undefined } });
      await flowSut.patch('a', { name: 'A', schedule: { every: '1m' } }, director);
      const written = fs.readFileSync(flowFile, 'utf8');
      expect(written).toMatch(/^# flow style\nappliance: \{ id: box \}\n/);
      expect(written).toContain('# one camera');
      expect(loadConfig(flowFile).config.sources[0]).toMatchObject({ name: 'A', schedule: { every: 60_000 } });
    });
  });

  describe('write-back fallback', () => {
    it('prints the whole document when a change cannot be made in place, and the file is still right', async () => {
      // Removing the first key of a list item ("- name: ...") is not a whole-line edit.
      fs.writeFileSync(file, HAND_WRITTEN.replace('  - id: south\n', '  - name: South   # the other one\n    id: south\n'));
      await sut.patch('south', { name: null }, director);
      const written = fs.readFileSync(file, 'utf8');
      expect(written).toContain('# the north tower');
      expect(written).not.toContain('South');
      expect(loadConfig(file).config.sources.map((s) => [s.id, s.name])).toEqual([
        ['north', 'North tower'],
        ['south', undefined],
      ]);
    });
  });

  describe('merge patch', () => {
    it('merges objects, replaces arrays, removes keys set to null, and applies the result', async () => {
      const { settings } = await sut.patch('north', { schedule: { windows: [{ days: ['sat'], from: '08:00', to: '12:00' }] }, public: { delay: null } }, director);
      expect(settings['schedule']).toEqual({ every: '5m', windows: [{ days: ['sat'], from: '08:00', to: '12:00' }] });
      expect(settings['public']).toEqual({ enabled: false });
      expect(sut.get('north', 'director').settings['schedule']).toEqual(settings['schedule']);
      expect(applied).toHaveLength(1);
      const north = applied[0]!.config.sources.find((s) => s.id === 'north')!;
      expect(north.schedule.every).toBe(300_000);
      expect(north.schedule.windows).toEqual([{ days: ['sat'], from: { kind: 'clock', minutes: 480 }, to: { kind: 'clock', minutes: 720 } }]);
      expect(north.public.delay).toBe(0); // the default, now that the key is gone
      expect(applied[0]!.file).toBe(file);
    });

    it('keeps a password that comes back as *** (a form returns what it was shown)', async () => {
      await sut.patch('north', { camera: { username: 'admin', password: '***' } }, maintainer);
      expect(fs.readFileSync(file, 'utf8')).toContain('password: "s3cret"');
      expect(applied[0]!.config.sources[0]!.camera).toMatchObject({ username: 'admin', password: 's3cret' });
    });

    it('writes nothing, applies nothing and records nothing when nothing changes', async () => {
      const before = fs.statSync(file).mtimeMs;
      const { settings } = await sut.patch('north', { name: 'North tower', schedule: { every: '5m' }, camera: { driver: 'http' }, id: 'north' }, director);
      expect(settings['name']).toBe('North tower');
      expect(fs.readFileSync(file, 'utf8')).toBe(HAND_WRITTEN);
      expect(fs.statSync(file).mtimeMs).toBe(before);
      expect(applied).toEqual([]);
      expect(audit).toEqual([]);
    });

    it('lets two concurrent patches both land', async () => {
      await Promise.all([sut.patch('north', { name: 'Nord' }, director), sut.patch('north', { schedule: { every: '1m' } }, director)]);
      const { settings } = sut.get('north', 'director');
      expect(settings['name']).toBe('Nord');
      expect(settings['schedule']).toMatchObject({ every: '1m' });
      expect(applied).toHaveLength(2);
      expect(applied[1]!.config.sources[0]).toMatchObject({ name: 'Nord', schedule: { every: 60_000 } });
      expect(audit.map((e) => Object.keys(e.newValue as object))).toEqual([['name'], ['schedule']]);
    });
  });

  describe('validation', () => {
    it('answers with the messages of config check, by key path relative to the source', async () => {
      const err = await failure(sut.patch('north', { schedule: { every: '10x' } }, director));
      expect(err.kind).toBe('invalid');
      expect(err.message).toBe('the settings have 1 error');
      expect(err.details).toEqual({ 'schedule.every': 'expected a duration such as "10s", "5m", "2h" or "1d", got "10x"' });
      expect(configCheck((t) => t.replace('every: 5m ', 'every: 10x'))).toEqual([`line 22: sources[0].schedule.every: ${String(err.details!['schedule.every'])}`]);
      expect(fs.readFileSync(file, 'utf8')).toBe(HAND_WRITTEN);
      expect(applied).toEqual([]);
      expect(audit).toEqual([]);
    });

    it('names unknown keys with the suggestion of the file check', async () => {
      const err = await failure(sut.patch('north', { schedule: { evry: '10m' } }, director));
      expect(err.details).toEqual({ 'schedule.evry': 'unknown key "evry"; did you mean "every"? (allowed here: every, windows)' });
      expect(configCheck((t) => t.replace('      every: 5m ', '      evry: 10m\n      every: 5m '))).toEqual([
        `line 22: sources[0].schedule.evry: ${String(err.details!['schedule.evry'])}`,
      ]);
    });

    it('reports every error at once, windows and arrays included', async () => {
      const err = await failure(
        sut.patch('north', { schedule: { windows: [{ from: '10:00', to: '10:00' }] }, image: { privacyMasks: [{ left: 0, top: 0, width: 0, height: 10 }] }, colour: 'red' }, director),
      );
      expect(err.message).toBe('the settings have 3 errors');
      expect(err.details).toEqual({
        'schedule.windows[0]': 'the window is empty: "from" and "to" are both 10:00',
        'image.privacyMasks[0].width': 'expected an integer between 1 and 100000',
        colour: expect.stringMatching(/^unknown key "colour" \(allowed here: id, name, enabled, camera, /) as unknown,
      });
    });

    it('refuses a file with errors outside the source as a conflict, whatever the patch', async () => {
      fs.writeFileSync(file, HAND_WRITTEN.replace('Europe/Paris', 'Mars/Olympus'));
      const err = await failure(sut.patch('north', { name: 'Nord' }, director));
      expect(err.kind).toBe('conflict');
      expect(err.message).toMatch(/^the configuration file has errors outside this source; fix it first: .*line 4: appliance\.timezone: expected an IANA time zone name/);
      expect(applied).toEqual([]);
    });

    it('lets a patch fix an error inside the source', async () => {
      fs.writeFileSync(file, HAND_WRITTEN.replace('every: 5m ', 'every: 5x '));
      await sut.patch('north', { schedule: { every: '5m' } }, director);
      expect(applied).toHaveLength(1);
    });
  });

  describe('permissions and refusals', () => {
    it('forbids directors the camera and the recovery, naming the key path', async () => {
      const err = await failure(sut.patch('north', { camera: { url: 'http://192.168.1.99/snap.jpg' } }, director));
      expect(err.kind).toBe('forbidden');
      expect(err.message).toBe('only maintainers may change "camera.url" of a source');
      const recovery = await failure(sut.patch('north', { recovery: { retries: 5 } }, director));
      expect(recovery.message).toBe('only maintainers may change "recovery.retries" of a source');
      expect(fs.readFileSync(file, 'utf8')).toBe(HAND_WRITTEN);
      await sut.patch('north', { recovery: { retries: 5 } }, maintainer);
      expect(applied).toHaveLength(1);
    });

    it('forbids customers everything', async () => {
      const err = await failure(sut.patch('north', { name: 'Mine' }, { actor: 'user:cleo', profile: 'customer' }));
      expect(err.kind).toBe('forbidden');
    });

    it('refuses to rename a source, and a patch that is not an object', async () => {
      const rename = await failure(sut.patch('north', { id: 'east' }, maintainer));
      expect(rename.kind).toBe('invalid');
      expect(rename.details).toEqual({ id: expect.stringContaining('renaming a source is not allowed') as unknown });
      const removal = await failure(sut.patch('north', { id: null }, maintainer));
      expect(removal.details).toHaveProperty('id');
      for (const bad of [null, [], 'name', 3]) expect((await failure(sut.patch('north', bad, maintainer))).kind).toBe('invalid');
      expect(applied).toEqual([]);
    });

    it('answers not-found for an unknown source', async () => {
      expect((await failure(sut.patch('west', { name: 'W' }, director))).kind).toBe('not-found');
    });
  });

  describe('a config file that cannot be written', () => {
    it('answers unavailable, naming the file and why, and applies nothing', () => {
      fs.chmodSync(file, 0o444);
      fs.chmodSync(dir, 0o555);
      try {
        // chmod stops nobody who runs as root (as the tests do in CI), so the patch then
        // runs in a child process as the unprivileged user "nobody": the situation on a
        // box, where the daemon's user may read /etc/lapsebox but not write to it. The
        // child loads the compiled module (jest's global setup builds dist/ first).
        const script = `
          const { SourceSettings } = require(process.argv[1]);
          const calls = [];
          const sut = new SourceSettings({ file: () => process.argv[2], apply: async () => { calls.push('apply'); }, audit: { record: () => calls.push('audit') } });
          sut.patch('north', { name: 'Nord' }, { actor: 'user:dan', profile: 'director' }).then(
            () => console.log(JSON.stringify({ kind: null, calls })),
            (e) => console.log(JSON.stringify({ kind: e.kind, message: e.message, calls })),
          );`;
        const asRoot = process.getuid?.() === 0;
        const child = spawnSync(process.execPath, ['-e', script, path.join(ROOT, 'dist', 'daemon', 'settings', 'source-settings.js'), file], {
          encoding: 'utf8',
          cwd: '/',
          ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
        });
        expect(child.stderr).toBe('');
        const answer = JSON.parse(child.stdout) as { kind: string; message: string; calls: string[] };
        expect(answer.kind).toBe('unavailable');
        expect(answer.message).toBe(`cannot write the configuration file ${file}: permission denied (the user the daemon runs as needs write access to the folder ${dir}); nothing was changed`);
        expect(answer.calls).toEqual([]);
        expect(fs.readFileSync(file, 'utf8')).toBe(HAND_WRITTEN);
        expect(fs.readdirSync(dir)).toEqual(['lapsebox.yaml']);
      } finally {
        fs.chmodSync(dir, 0o755);
      }
    });
  });

  it('says so when the file was written but the change could not be made live', async () => {
    const failing = new SourceSettings({
      file: () => file,
      apply: () => Promise.reject(new Error('the relay cannot be opened')),
      audit: { record: (entry) => audit.push(entry) },
    });
    const err = await failure(failing.patch('north', { name: 'Nord' }, director));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toBe(`the settings were saved to ${file} but could not be applied: the relay cannot be opened`);
    expect(fs.readFileSync(file, 'utf8')).toContain('name: Nord');
    expect(audit).toHaveLength(1);
  });

  describe('the allow-list (SETTABLE), key path by key path', () => {
    /** A valid change for each key path of the table, for the north source of HAND_WRITTEN. */
    const CHANGES: Record<string, unknown> = {
      name: 'Nord',
      enabled: false,
      camera: { url: 'http://192.168.1.21/snapshot.jpg', password: 'typed-for-the-new-address' },
      'schedule.every': '2m',
      'schedule.windows': [],
      'recovery.retries': 5,
      'recovery.powerCycle': { gpio: 17 },
      'image.rotate': 90,
      'image.crop': { left: 0, top: 0, width: 100, height: 100 },
      'image.privacyMasks': [{ left: 0, top: 0, width: 10, height: 10 }],
      'image.legend': { text: '{source}' },
      'image.watermark': { file: 'logo.png' },
      'image.quality': 80,
      'image.reject': { darkerThan: 10 },
      'timelapse.daily': { fps: 30 },
      'timelapse.weekly': { enabled: true },
      'timelapse.monthly': { enabled: true },
      'timelapse.phone': { height: 480 },
      'public.enabled': true,
      'public.width': 640,
      'public.delay': '1m',
      'public.sizes': [640, 1920],
      // Switched off: on, it would need web.publicUrl and alerts.email, which this file has not.
      progress: { enabled: false, to: ['site@example.com'] },
      'retention.maxAgeDays': 1,
    };
    const nested = (keyPath: string, value: unknown): Record<string, unknown> =>
      keyPath.split('.').reduceRight<Record<string, unknown>>((inner, key, i, all) => ({ [key]: i === all.length - 1 ? value : inner }), {});

    it('has a change to try for every key path of the table', () => {
      expect(Object.keys(CHANGES).sort()).toEqual(Object.keys(SETTABLE).sort());
    });

    it.each(Object.keys(SETTABLE))('%s: accepted for the profile that may, refused with 403 naming it for the one that may not', async (keyPath) => {
      const patch = nested(keyPath, CHANGES[keyPath]);
      if (SETTABLE[keyPath] === 'maintainer') {
        const err = await failure(sut.patch('north', patch, director));
        expect(err.kind).toBe('forbidden');
        expect(err.message).toMatch(new RegExp(`^only maintainers may change "${keyPath.replace('.', '\\.')}(\\.[a-zA-Z]+)?"`));
        expect(fs.readFileSync(file, 'utf8')).toBe(HAND_WRITTEN);
      } else {
        await sut.patch('north', patch, director);
        expect(applied).toHaveLength(1);
        fs.writeFileSync(file, HAND_WRITTEN);
      }
      await sut.patch('north', patch, maintainer);
      expect(fs.readFileSync(file, 'utf8')).not.toBe(HAND_WRITTEN);
    });

    it('covers every key path of the source schema but the id: a new key is placed in the table on purpose', () => {
      type Node = { properties?: Record<string, Node>; anyOf?: Node[]; type?: string };
      const sources = (jsonSchema() as { properties: { sources: { items: Node } } }).properties.sources.items;
      const uncovered: string[] = [];
      const walk = (node: Node, at: string): void => {
        for (const [key, child] of Object.entries(node.properties ?? {})) {
          const keyPath = at ? `${at}.${key}` : key;
          if (keyPath === 'id' || Object.keys(SETTABLE).some((k) => keyPath === k || keyPath.startsWith(`${k}.`))) continue;
          if (child.properties) walk(child, keyPath);
          else uncovered.push(keyPath);
        }
      };
      walk(sources, '');
      expect(uncovered).toEqual([]);
    });

    it('refuses progress e-mails that the file cannot send, naming what is missing under the source\'s key', async () => {
      const err = await failure(sut.patch('north', { progress: { to: ['site@example.com'], every: 'week', day: 'mon' } }, director));
      expect(err.kind).toBe('invalid');
      expect(err.details).toEqual({
        progress:
          'progress e-mails need web.publicUrl: the address their links open from outside, such as https://bridge-north.example.com; progress e-mails are sent through the SMTP server of alerts.email: set alerts.email (smtp, from, to) first',
      });
      expect(fs.readFileSync(file, 'utf8')).toBe(HAND_WRITTEN);
    });

    it('refuses history-deleting retention to directors even when the form does not offer it', async () => {
      const err = await failure(sut.patch('north', { retention: { maxAgeDays: 1 } }, director));
      expect(err.kind).toBe('forbidden');
      expect(err.message).toBe('only maintainers may change "retention.maxAgeDays" of a source');
      expect(applied).toEqual([]);
    });

    it('lets directors send back forbidden keys unchanged (a form may send the whole entry)', async () => {
      const { settings } = sut.get('north', 'director');
      await sut.patch('north', { ...settings, name: 'Nord' }, director);
      expect(fs.readFileSync(file, 'utf8')).toContain('password: "s3cret"');
      expect(applied).toHaveLength(1);
    });
  });

  describe('secrets in URLs', () => {
    const WITH_URLS = HAND_WRITTEN.replace('url: http://192.168.1.20/snapshot.jpg', 'url: "http://admin:hunter2@192.168.1.20/snapshot.jpg?usr=admin&pwd=letmein&size=2"').replace(
      '    camera: { driver: testpattern }',
      '    camera: { driver: rtsp, url: "rtsp://viewer:rtsp-pass@192.168.1.30:554/stream1" }',
    );
    beforeEach(() => fs.writeFileSync(file, WITH_URLS));

    it('masks the password and secret query values of camera URLs in GET, for every profile', () => {
      for (const profile of ['director', 'maintainer'] as const) {
        expect(sut.get('north', profile).settings['camera']).toEqual({
          driver: 'http',
          url: 'http://admin:***@192.168.1.20/snapshot.jpg?usr=admin&pwd=***&size=2',
          username: 'cam',
          password: '***',
        });
        expect(sut.get('south', profile).settings['camera']).toEqual({ driver: 'rtsp', url: 'rtsp://viewer:***@192.168.1.30:554/stream1' });
      }
    });

    it('masks them in the PATCH reply and in the audit', async () => {
      const { settings } = await sut.patch('south', { camera: { url: 'rtsp://viewer:n3w-pass@192.168.1.31:554/stream1' } }, maintainer);
      expect(settings['camera']).toEqual({ driver: 'rtsp', url: 'rtsp://viewer:***@192.168.1.31:554/stream1' });
      expect(audit[0]).toMatchObject({
        oldValue: { camera: { url: 'rtsp://viewer:***@192.168.1.30:554/stream1' } },
        newValue: { camera: { url: 'rtsp://viewer:***@192.168.1.31:554/stream1' } },
      });
      const reply = await sut.patch('north', { name: 'Nord' }, director);
      expect(JSON.stringify([settings, reply, audit])).not.toMatch(/rtsp-pass|n3w-pass|hunter2|letmein|s3cret/);
      expect(fs.readFileSync(file, 'utf8')).toContain('rtsp://viewer:n3w-pass@192.168.1.31:554/stream1');
    });

    it('keeps the stored secrets in the file when the masked values come back', async () => {
      const shown = sut.get('north', 'maintainer').settings;
      await sut.patch('north', { ...shown, name: 'Nord' }, maintainer);
      expect(fs.readFileSync(file, 'utf8')).toBe(WITH_URLS.replace('name: North tower ', 'name: Nord        '));
      // The path changes, the host stays: the secrets stay.
      await sut.patch('north', { camera: { url: 'http://admin:***@192.168.1.20/snap2.jpg?usr=admin&pwd=***' } }, maintainer);
      expect(fs.readFileSync(file, 'utf8')).toContain('url: "http://admin:hunter2@192.168.1.20/snap2.jpg?usr=admin&pwd=letmein"');
      expect(applied.at(-1)!.config.sources[0]!.camera).toMatchObject({ url: 'http://admin:hunter2@192.168.1.20/snap2.jpg?usr=admin&pwd=letmein', password: 's3cret' });
    });

    it('refuses *** for a secret of a URL whose host changed: the secret is never sent somewhere new', async () => {
      const err = await failure(sut.patch('south', { camera: { url: 'rtsp://viewer:***@203.0.113.9:554/stream1' } }, maintainer));
      expect(err.kind).toBe('invalid');
      expect(err.details).toEqual({ 'camera.url': 'the address changed, so the password (or token) shown as *** must be typed again' });
      expect(fs.readFileSync(file, 'utf8')).toBe(WITH_URLS);
    });

    it('refuses to keep a camera password beside a url whose address changed, left out or sent as ***', async () => {
      for (const camera of [{ url: 'http://203.0.113.9/snapshot.jpg' }, { url: 'http://203.0.113.9/snapshot.jpg', password: '***' }]) {
        const err = await failure(sut.patch('north', { camera }, maintainer));
        expect(err.kind).toBe('invalid');
        expect(err.details).toMatchObject({ 'camera.password': 'the address changed, so the password (or token) shown as *** must be typed again' });
      }
      expect(fs.readFileSync(file, 'utf8')).toBe(WITH_URLS);
      // Typed again, or the same address with another path: accepted.
      await sut.patch('north', { camera: { url: 'http://203.0.113.9/snapshot.jpg', password: 'typed-again' } }, maintainer);
      await sut.patch('north', { camera: { url: 'http://203.0.113.9/other.jpg' } }, maintainer);
      expect(fs.readFileSync(file, 'utf8')).toContain('typed-again');
    });
  });

  describe('watermark files', () => {
    let logo: string;
    beforeEach(() => {
      logo = path.join(dir, 'logo.png');
      fs.writeFileSync(logo, 'a png');
    });

    it('accepts a file in the folder of the config file, relative or absolute', async () => {
      await sut.patch('north', { image: { watermark: { file: 'logo.png' } } }, director);
      await sut.patch('north', { image: { watermark: { file: logo } } }, director);
      expect(applied.map((a) => a.config.sources[0]!.image.watermark?.file)).toEqual([logo, logo]);
    });

    it('refuses with 400 a file outside that folder, naming the key', async () => {
      const outside = tempDir('lapsebox-private-');
      try {
        const secret = path.join(outside.dir, 'private.png');
        fs.writeFileSync(secret, 'a private png', { mode: 0o600 });
        for (const file of [secret, '../private.png', '/etc/passwd']) {
          const err = await failure(sut.patch('north', { image: { watermark: { file } } }, director));
          expect(err.kind).toBe('invalid');
          expect(err.details).toEqual({ 'image.watermark.file': expect.stringMatching(new RegExp(`^expected a file in the folder of the configuration file \\(${dir}\\), got /`)) as unknown });
        }
        // A link inside the folder that points out of it is refused as well, saying where it goes.
        fs.symlinkSync(secret, path.join(dir, 'innocent.png'));
        const err = await failure(sut.patch('north', { image: { watermark: { file: 'innocent.png' } } }, maintainer));
        expect(err.details).toEqual({ 'image.watermark.file': `expected a file in the folder of the configuration file (${dir}), got ${path.join(dir, 'innocent.png')} (a link to ${secret}); copy the image there` });
        expect(applied).toEqual([]);
        expect(audit).toEqual([]);
      } finally {
        outside.cleanup();
      }
    });

    it('refuses a file in the data folder (pictures of other sources are there)', async () => {
      fs.mkdirSync(path.join(dir, 'data', 'south'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'data', 'south', 'picture.jpg'), 'a private picture');
      const err = await failure(sut.patch('north', { image: { watermark: { file: 'data/south/picture.jpg' } } }, director));
      expect(err.details).toEqual({ 'image.watermark.file': expect.stringMatching(/^expected a file outside the data folder/) as unknown });
    });
  });

  describe('audit', () => {
    it('records who changed which top-level keys, before and after, with passwords hidden', async () => {
      await sut.patch('north', { camera: { password: 'n3w-s3cret', url: 'http://cam:hunter2@192.168.1.20/snapshot.jpg' }, schedule: { every: '2m' } }, maintainer);
      expect(audit).toEqual([
        {
          at: 1_700_000_000_000,
          actor: 'user:mia',
          address: '192.0.2.7',
          action: 'source.settings',
          target: 'north',
          oldValue: {
            camera: { driver: 'http', url: 'http://192.168.1.20/snapshot.jpg', username: 'cam', password: '***' },
            schedule: { every: '5m', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '19:00' }] },
          },
          newValue: {
            camera: { driver: 'http', url: 'http://cam:***@192.168.1.20/snapshot.jpg', username: 'cam', password: '***' },
            schedule: { every: '2m', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '19:00' }] },
          },
        },
      ]);
      expect(JSON.stringify(audit)).not.toMatch(/s3cret|hunter2/);
      expect(fs.readFileSync(file, 'utf8')).toContain('n3w-s3cret');
    });

    it('records a removed or added key as null on the other side', async () => {
      await sut.patch('north', { name: null, enabled: false }, director);
      expect(audit[0]).toMatchObject({ oldValue: { name: 'North tower', enabled: null }, newValue: { name: null, enabled: false } });
    });
  });
});
