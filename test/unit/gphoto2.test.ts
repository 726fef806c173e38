import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { captureArgs, checkedSettings, classifyGphoto2Error, parseAutoDetect, parseSerial } from '../../daemon/capture/gphoto2-args';
import { settingProblem } from '../../daemon/config/gphoto2-values';
import { GPhoto2Camera, detectCameras } from '../../daemon/capture/gphoto2.camera';
import { CameraError } from '../../daemon/capture/camera';
import { parseConfig, ConfigError } from '../../daemon/config/load';
import { installFakeGphoto2 } from '../helpers/fake-gphoto2';
import { isAlive, isGone } from '../helpers/processes';
import { tempDir } from '../helpers/env';

const CANON = { model: 'Canon EOS 550D', port: 'usb:001,005', serial: '0270117385' };
const NIKON = { model: 'Nikon DSC D750', port: 'usb:001,007', serial: '6004423' };

describe('gphoto2 command line', () => {
  it('parses --auto-detect, model names with spaces included', () => {
    const out = `Model                          Port            \n----------------------------------------------------------\nCanon EOS 550D                 usb:001,005     \nNikon DSC D750                 usb:002,003     \n`;
    expect(parseAutoDetect(out)).toEqual([
      { model: 'Canon EOS 550D', port: 'usb:001,005' },
      { model: 'Nikon DSC D750', port: 'usb:002,003' },
    ]);
  });

  it('parses what the real gphoto2 prints on this machine (no camera attached)', () => {
    const real = execFileSync('gphoto2', ['--auto-detect'], { encoding: 'utf8', env: { ...process.env, LANG: 'C' } });
    expect(real).toMatch(/^Model\s+Port/);
    expect(parseAutoDetect(real)).toEqual([]);
  });

  it('classifies the real gphoto2 error when no camera is there', () => {
    let stderr = '';
    try {
      execFileSync('gphoto2', ['--port', 'usb:001,004', '--capture-image-and-download'], { encoding: 'utf8', env: { ...process.env, LANG: 'C' }, stdio: 'pipe' });
    } catch (err) {
      stderr = String((err as { stderr: string }).stderr);
    }
    expect(stderr).toContain('*** Error');
    const error = classifyGphoto2Error(stderr, { sourceId: 'north', port: 'usb:001,004' });
    expect(error.code).toBe('not-found');
    expect(error.describe()).toBe('camera north: no camera found at usb:001,004 (is it switched on, awake and plugged in? "lapsebox cameras" lists what the box can see)');
  });

  it('reads the serial number from --summary, ignoring a serial of zeros', () => {
    expect(parseSerial('Camera summary:\nManufacturer: Canon Inc.\nModel: Canon EOS 550D\n  Version: 3-1.0.9\n  Serial Number: 0270117385\n')).toBe('0270117385');
    expect(parseSerial('  Serial Number: 00000000000000000000000000000000\n')).toBeUndefined();
    expect(parseSerial('Model: X\n')).toBeUndefined();
  });

  it('builds the capture argv, settings first, download into our own folder', () => {
    expect(captureArgs({ port: 'usb:001,005', settings: checkedSettings({ iso: 100, aperture: 8, exposurecompensation: '-0.7', imageformat: 'RAW + Large Fine JPEG' }), folder: '/data/x/.tmp-gphoto2-ab' })).toEqual([
      '--port', 'usb:001,005',
      '--set-config', 'iso=100',
      '--set-config', 'aperture=8',
      '--set-config', 'exposurecompensation=-0.7',
      '--set-config', 'imageformat=RAW + Large Fine JPEG',
      '--capture-image-and-download', '--no-keep', '--force-overwrite', '--filename', '/data/x/.tmp-gphoto2-ab/capture.%C',
    ]);
  });

  it.each([
    ['iso', '$(reboot)'],
    ['iso', '100; rm -rf /'],
    ['iso', '`id`'],
    ['iso', '100\n--reset'],
    ['iso', '--help'],
    ['-iso', '100'],
    ['--filename=/etc/passwd', '1'],
    ['iso|x', '1'],
    ['shutterspeed', "1/250' && x"],
  ])('refuses the setting %j = %j', (name, value) => {
    expect(settingProblem(name, value)).toMatch(/is not allowed/);
    expect(() => checkedSettings({ [name]: value })).toThrow(CameraError);
  });

  it.each([
    ['iso', 100],
    ['f-number', 'f/8'],
    ['shutterspeed', '1/250'],
    ['/main/imgsettings/whitebalance', 'Daylight'],
    ['capturetarget', 1],
    ['autopoweroff', false],
  ])('accepts the setting %j = %j', (name, value) => {
    expect(settingProblem(name, value)).toBeNull();
  });

  it('refuses hostile settings in the configuration file, naming the key', () => {
    const yaml = `appliance: { id: box }\nsources:\n  - id: north\n    camera:\n      driver: gphoto2\n      settings: { iso: "$(reboot)", "-x": 1 }\n`;
    let error: unknown;
    try {
      parseConfig(yaml, '/etc/lapsebox/lapsebox.yaml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('sources[0].camera.settings.iso: setting iso: value "$(reboot)" is not allowed');
    expect(problems).toContain('sources[0].camera.settings.-x: setting name "-x" is not allowed');
  });

  it.each([
    ["*** Error ***\nAn error occurred in the io-library ('Could not claim the USB device'): Could not claim interface 0 (Device or resource busy). Make sure no other program (gvfs-gphoto2-volume-monitor) or kernel module (such as sdc2xx, stv680, spca50x) is using the device and you have read/write access to the device.\n*** Error (-53: 'Could not claim the USB device') ***", 'claimed', /gvfs-gphoto2/],
    ["*** Error ***\nPTP Device Busy\n*** Error (-110: 'I/O in progress') ***", 'busy', /still be saving/],
    ["*** Error ***\nPTP I/O Error\n*** Error (-7: 'I/O problem') ***", 'io', /USB cable/],
    ["*** Error (-10: 'Timeout reading from or writing to the port') ***", 'timeout', /power cycle/],
    ['*** Error: No camera found. ***', 'not-found', /plugged in/],
    ["*** Error ***\nCould not find the requested device on the USB port\n*** Error (-52: 'Could not find the requested device on the USB port') ***", 'not-found', /plugged in/],
    ["Canon EOS Capture failed to release: Perhaps no focus?\n*** Error (-1: 'Unspecified error') ***", 'failed', /manual focus/],
    ["isox not found in configuration tree.\n*** Error (-1: 'Unspecified error') ***", 'failed', /--list-config/],
    ["*** Error (-60: 'Could not lock the device') ***", 'claimed', /plugdev/],
  ])('maps gphoto2 errors to a code and advice (%#)', (stderr, code, advice) => {
    const error = classifyGphoto2Error(stderr, { sourceId: 'north', port: 'usb:001,005' });
    expect(error.code).toBe(code);
    expect(error.message).toMatch(/^camera north: /);
    expect(error.advice).toMatch(advice);
  });
});

describe('GPhoto2Camera with a fake gphoto2', () => {
  let tmp: ReturnType<typeof tempDir>;
  let fake: Awaited<ReturnType<typeof installFakeGphoto2>>;
  let out: string;

  const camera = (options: Partial<ConstructorParameters<typeof GPhoto2Camera>[0]> = {}) =>
    new GPhoto2Camera({ sourceId: 'north', settings: {}, keepRaw: false, program: fake.program, settleMs: 10, ...options });
  const destination = () => path.join(out, '.tmp-abc-20261123T101500000Z.jpg');
  const signal = () => AbortSignal.timeout(10_000);
  const leftovers = () => fs.readdirSync(out).filter((f) => f !== path.basename(destination()));

  beforeEach(async () => {
    tmp = tempDir();
    out = path.join(tmp.dir, 'out');
    fs.mkdirSync(out);
    fake = await installFakeGphoto2(tmp.dir, { cameras: [CANON], captures: ['ok'] }, { width: 600, height: 400 });
  });

  afterEach(() => tmp.cleanup());

  it('finds the camera, applies the settings, captures and downloads a JPEG', async () => {
    const result = await camera({ model: 'canon eos 550d', settings: { iso: 200 } }).capture({ destination: destination(), takenAt: new Date(), signal: signal() });
    expect(result).toMatchObject({ width: 600, height: 400 });
    expect(result.companions).toBeUndefined();
    expect((await sharp(destination()).metadata()).width).toBe(600);
    expect(leftovers()).toEqual([]);
    const [detect, capture] = fake.calls();
    expect(detect!.args).toEqual(['--auto-detect']);
    expect(capture!.args.slice(0, 4)).toEqual(['--port', 'usb:001,005', '--set-config', 'iso=200']);
  });

  it('keeps the RAW file beside the JPEG when keepRaw is on, and drops it when off', async () => {
    fake.setScenario({ cameras: [CANON], captures: ['ok'], raw: true });
    const kept = await camera({ keepRaw: true }).capture({ destination: destination(), takenAt: new Date(), signal: signal() });
    expect(kept.companions).toHaveLength(1);
    expect(kept.companions![0]!.extension).toBe('cr2');
    expect(fs.readFileSync(kept.companions![0]!.path).subarray(0, 4).toString('latin1')).toBe('II*\0');
    fs.rmSync(kept.companions![0]!.path);
    const dropped = await camera({ keepRaw: false }).capture({ destination: destination(), takenAt: new Date(), signal: signal() });
    expect(dropped.companions).toBeUndefined();
    expect(leftovers()).toEqual([]);
  });

  it('picks the camera by serial among several, and says what it saw when none matches', async () => {
    fake.setScenario({ cameras: [NIKON, CANON], captures: ['ok'] });
    await camera({ serial: CANON.serial }).capture({ destination: destination(), takenAt: new Date(), signal: signal() });
    expect(fake.captures()[0]!.args.slice(0, 2)).toEqual(['--port', CANON.port]);

    const missing = camera({ serial: '999' }).capture({ destination: destination(), takenAt: new Date(), signal: signal() });
    await expect(missing).rejects.toMatchObject({
      code: 'not-found',
      message: `camera north: no camera matching serial 999 (gphoto2 sees: Nikon DSC D750 at usb:001,007 serial 6004423; Canon EOS 550D at usb:001,005 serial 0270117385)`,
    });
    await expect(camera().capture({ destination: destination(), takenAt: new Date(), signal: signal() })).rejects.toMatchObject({ code: 'failed', message: expect.stringContaining('2 cameras match') as string });
  });

  it('finds the camera again at its new port after a USB reset', async () => {
    const cam = camera({ model: CANON.model });
    await cam.capture({ destination: destination(), takenAt: new Date(), signal: signal() });
    expect(cam.port).toBe('usb:001,005');
    await cam.reset(signal());
    expect(cam.port).toBe('usb:001,006');
    await cam.capture({ destination: destination(), takenAt: new Date(), signal: signal() });
    expect(fake.captures().map((c) => c.args[1])).toEqual(['usb:001,005', 'usb:001,006']);
    expect(fake.calls().some((c) => c.outcome === 'reset' && c.args.join(' ') === '--port usb:001,005 --reset')).toBe(true);
  });

  it('after "not found" at a stale port, looks for the camera again on the next capture', async () => {
    const cam = camera();
    await cam.capture({ destination: destination(), takenAt: new Date(), signal: signal() });
    // The camera re-enumerates behind our back (a loose cable): its port number moves on.
    fs.writeFileSync(path.join(fake.binDir, 'state.json'), JSON.stringify({ captures: 1, resets: 3 }));
    await expect(cam.capture({ destination: destination(), takenAt: new Date(), signal: signal() })).rejects.toMatchObject({ code: 'not-found' });
    await cam.capture({ destination: destination(), takenAt: new Date(), signal: signal() });
    expect(cam.port).toBe('usb:001,008');
  });

  it.each([
    ['busy', 'busy'],
    ['claimed', 'claimed'],
    ['io', 'io'],
    ['timeout', 'timeout'],
    ['truncated', 'bad-output'],
    ['small', 'bad-output'],
    ['rawonly', 'bad-output'],
    ['nofile', 'bad-output'],
  ])('a capture that ends "%s" fails with code %s and leaves no file', async (outcome, code) => {
    fake.setScenario({ cameras: [CANON], captures: [outcome] });
    await expect(camera().capture({ destination: destination(), takenAt: new Date(), signal: signal() })).rejects.toMatchObject({ code });
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('fails with bad-output, naming the header, when a complete JPEG has no readable header, and leaves no file', async () => {
    // Start and end markers in place (it passes the completeness check), nothing libvips can read between them.
    const damaged = path.join(fake.binDir, 'damaged.jpg');
    fs.writeFileSync(damaged, Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(20_000), Buffer.from([0xff, 0xd9])]));
    fake.setScenario({ cameras: [CANON], captures: ['ok'], jpeg: damaged });
    await expect(camera().capture({ destination: destination(), takenAt: new Date(), signal: signal() })).rejects.toMatchObject({
      code: 'bad-output',
      message: expect.stringMatching(/^camera north: the picture's JPEG header cannot be read \(.+\)$/),
    });
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('says when no camera is plugged in', async () => {
    fake.setScenario({ cameras: [CANON], plugged: false });
    await expect(camera().capture({ destination: destination(), takenAt: new Date(), signal: signal() })).rejects.toMatchObject({
      code: 'not-found',
      message: 'camera north: no camera found (gphoto2 sees: none)',
    });
  });

  it('kills a capture that never returns, its whole process group, and leaves no zombie', async () => {
    fake.setScenario({ cameras: [CANON], captures: ['hang'] });
    const controller = new AbortController();
    const reason = new CameraError('timeout', 'camera north: no picture within 1s');
    setTimeout(() => controller.abort(reason), 1000);
    const started = Date.now();
    await expect(camera().capture({ destination: destination(), takenAt: new Date(), signal: controller.signal })).rejects.toBe(reason);
    // The fake ignores SIGTERM, as a wedged gphoto2 does: SIGKILL follows after the grace period.
    expect(Date.now() - started).toBeLessThan(5_000);
    const hung = fake.captures()[0]!;
    expect(isGone(hung.pid)).toBe(true);
    expect(isAlive(hung.childPid!)).toBe(false);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('refuses hostile settings before any process starts', () => {
    expect(() => camera({ settings: { iso: '$(touch /tmp/owned)' } })).toThrow(/is not allowed/);
    expect(() => camera({ settings: { 'iso;reboot': 1 } })).toThrow(/is not allowed/);
    expect(fake.calls()).toEqual([]);
  });

  it('lists the cameras with their serial numbers', async () => {
    fake.setScenario({ cameras: [CANON, NIKON] });
    expect(await detectCameras({ program: fake.program, serials: true })).toEqual([CANON, NIKON]);
  });
});
