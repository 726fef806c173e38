/**
 * The exposure ramp on a gphoto2 camera through the program driver (issue 27): the fake
 * gphoto2 lists its choices to --get-config and records each shot's --set-config; the
 * capture service asks the ramp before each shot and stores what the frame was taken with.
 */
import path from 'node:path';
import { parseConfig } from '../../daemon/config/load';
import { buildCaptureStack } from '../../daemon/compose/stacks';
import { GPhoto2Camera } from '../../daemon/capture/gphoto2.camera';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { silentLogger } from '../../daemon/logger';
import { SimulatedRelay } from '../../daemon/hardware/relay';
import { stopsOf, settingsOf } from '../../daemon/domain/exposure';
import { installFakeGphoto2 } from '../helpers/fake-gphoto2';
import { tempDir } from '../helpers/env';

const SHUTTERS = ['30', '15', '8', '4', '2', '1', '1/2', '1/4', '1/8', '1/15', '1/30', '1/60', '1/80', '1/100', '1/125', '1/160', '1/200', '1/250', '1/320', '1/400', '1/500', '1/1000', '1/2000', '1/4000', 'bulb'];
const ISOS = ['Auto', '100', '125', '160', '200', '250', '320', '400', '500', '640', '800'];

describe('exposure ramp on a gphoto2 camera (the program driver)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Repositories;
  beforeEach(() => {
    tmp = tempDir();
    store = openRepositories(path.join(tmp.dir, 'data'));
  });
  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it("sends each frame's settings from the camera's own choices, a third of a stop at a time, the ISO down first to lose light", async () => {
    const fake = await installFakeGphoto2(tmp.dir, {
      cameras: [{ model: 'Canon EOS 2000D', port: 'usb:001,004' }],
      config: { shutterspeed: { label: 'Shutter Speed', current: '1/125', choices: SHUTTERS }, iso: { label: 'ISO Speed', current: '400', choices: ISOS }, aperture: { label: 'Aperture', current: '8', choices: ['5.6', '6.3', '7.1', '8', '9', '10', '11'] } },
    });
    const { config } = parseConfig(
      `appliance: { id: box, timezone: Europe/Paris }
sources:
  - id: dslr
    camera: { driver: gphoto2, mode: cli, settings: { capturetarget: 1 }, exposure: { mode: ramp, target: 60, iso: { min: 100, max: 400 } } }
    timelapse: { daily: { enabled: false } }
`,
      path.join(tmp.dir, 'lapsebox.yaml'),
    );
    let now = Date.parse('2026-12-07T10:00:00Z');
    const camera = new GPhoto2Camera({ sourceId: 'dslr', settings: { capturetarget: 1 }, keepRaw: false, program: fake.program });
    const { capture } = buildCaptureStack({ config, store, log: silentLogger(), createCamera: () => camera, openRelay: (r) => new SimulatedRelay(r.gpio, silentLogger()), now: () => now });
    capture.start();
    // The fake's picture (noise, luminance about 127) is brighter than the target (60) whatever the settings: the ramp keeps taking light away.
    for (let i = 0; i < 9; i++, now += 60_000) expect((await capture.capture('dslr', 'slot')).status).toBe('captured');
    await capture.stop(1000);

    // The choices were read once, each setting with --get-config; aperture is not in the ramp's order, and is left alone.
    const reads = fake.calls().filter((c) => c.args.includes('--get-config'));
    expect(reads.map((c) => c.args.at(-1))).toEqual(['shutterspeed', 'iso', 'f-number', 'aperture']);
    const sent = fake.captures().map((c) => c.args.flatMap((a, i) => (c.args[i - 1] === '--set-config' ? [a] : [])));
    expect(sent[0]).toEqual(['capturetarget=1', 'shutterspeed=1/125', 'iso=400']);
    const pairs = sent.map((s) => `${s.find((x) => x.startsWith('shutterspeed='))!.slice(13)} ${s.find((x) => x.startsWith('iso='))!.slice(4)}`);
    expect(pairs).toEqual(['1/125 400', '1/125 320', '1/125 250', '1/125 200', '1/125 160', '1/125 125', '1/125 100', '1/160 100', '1/200 100']);

    // Stored with each picture, as sent.
    const stored = store.pictures.exposed('dslr', 0, Number.MAX_SAFE_INTEGER, { limit: 100 });
    expect(stored.map((p) => `${p.exposure!.shutter} ${p.exposure!.iso}`)).toEqual(pairs);
    expect(stored.every((p) => p.exposure!.aperture === '8')).toBe(true);
    const stops = stored.map((p) => stopsOf(settingsOf(p.exposure!)!));
    stops.slice(1).forEach((s, i) => expect(stops[i]! - s).toBeCloseTo(1 / 3, 5));
    expect(capture.exposureView('dslr')).toMatchObject({ target: 60, settings: { shutter: '1/200', iso: '100', aperture: '8' }, reason: 'stepping', sun: false });

    // A reload (a new capture service, a new camera): the ramp goes on from the stored frames, not from the camera's values.
    const again = new GPhoto2Camera({ sourceId: 'dslr', settings: { capturetarget: 1 }, keepRaw: false, program: fake.program });
    const next = buildCaptureStack({ config, store, log: silentLogger(), createCamera: () => again, openRelay: (r) => new SimulatedRelay(r.gpio, silentLogger()), now: () => now }).capture;
    next.start();
    expect(next.exposureView('dslr')).toMatchObject({ settings: { shutter: '1/200', iso: '100' } });
    expect((await next.capture('dslr', 'slot')).status).toBe('captured');
    await next.stop(1000);
    expect(fake.captures().at(-1)!.args).toEqual(expect.arrayContaining(['shutterspeed=1/250', 'iso=100']));
    // After an hour without pictures the frames are too old to go on from: the camera's values again (as the fake keeps them).
    now += 2 * 3_600_000;
    const later = buildCaptureStack({ config, store, log: silentLogger(), createCamera: () => new GPhoto2Camera({ sourceId: 'dslr', settings: {}, keepRaw: false, program: fake.program }), openRelay: (r) => new SimulatedRelay(r.gpio, silentLogger()), now: () => now }).capture;
    later.start();
    expect(later.exposureView('dslr')).toMatchObject({ settings: null, reason: null });
    expect((await later.capture('dslr', 'slot')).status).toBe('captured');
    await later.stop(1000);
    expect(fake.captures().at(-1)!.args).toEqual(expect.arrayContaining(['shutterspeed=1/250', 'iso=100']));
    expect(later.exposureView('dslr')).toMatchObject({ reason: 'first frame' });
  });
});
