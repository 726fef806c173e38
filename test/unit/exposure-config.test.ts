import path from 'node:path';
import { ConfigError, parseConfig } from '../../daemon/config/load';

const file = path.join('/etc/lapsebox', 'lapsebox.yaml');

/** A box with one camera block; `location` adds appliance.location. */
const text = (camera: string, location = false) =>
  `appliance: { id: box, timezone: Europe/Paris${location ? ', location: { latitude: 48.86, longitude: 2.35 }' : ''} }\nsources:\n  - id: cam\n    camera: ${camera}\n`;

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, file);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

describe('camera.exposure (issue 27)', () => {
  it('reads shutter speeds, ISO and f-numbers as cameras print them, and steps as fractions of a stop', () => {
    const { config } = parseConfig(text('{ driver: gphoto2, exposure: { mode: ramp, maxStep: 1/2, order: [shutter, iso, aperture], shutter: { min: 1/4000, max: "30\\"" }, iso: { min: 100, max: 3200 }, aperture: { min: f/4, max: 11 }, start: { shutter: 0.5 } } }'), file);
    const camera = config.sources[0]!.camera;
    if (camera.driver !== 'gphoto2') throw new Error('gphoto2 expected');
    expect(camera.exposure).toEqual({ mode: 'ramp', target: 115, maxStep: 0.5, order: ['shutter', 'iso', 'aperture'], shutter: { min: 0.00025, max: 30 }, iso: { min: 100, max: 3200 }, aperture: { min: 4, max: 11 }, start: { shutter: 0.5 } });
    // Without the block: no ramp, the settings as they are.
    const plain = parseConfig(text('{ driver: gphoto2 }'), file).config.sources[0]!.camera;
    expect(plain.driver === 'gphoto2' && plain.exposure).toBeUndefined();
    const tp = parseConfig(text('{ driver: testpattern, exposure: { mode: manual } }'), file).config.sources[0]!.camera;
    expect(tp.driver === 'testpattern' && tp.exposure).toEqual({ mode: 'manual', target: 115, maxStep: 1 / 3, order: ['shutter', 'iso'] });
  });

  it('names each bad value', () => {
    expect(problems(text('{ driver: gphoto2, exposure: { mode: ramp, maxStep: 1/0, shutter: { min: fast, max: 1 }, iso: { min: 6400, max: 100 } } }'))).toEqual([
      'line 4: sources[0].camera.exposure.maxStep: expected a step in stops (EV) from 1/10 to 3, such as "1/3", "1/2" or 1, got "1/0"',
      'line 4: sources[0].camera.exposure.shutter.min: expected a shutter speed in seconds, such as "1/250", 0.5 or 15, got "fast"',
      'line 4: sources[0].camera.exposure.iso.min: min is above max (the ramp uses the ISO sensitivities from min to max)',
    ]);
    expect(problems(text('{ driver: gphoto2, exposure: { mode: ramp, order: [shutter, shutter] } }'))).toEqual(['line 4: sources[0].camera.exposure.order[1]: "shutter" is listed twice']);
    expect(problems(text('{ driver: gphoto2, exposure: { mode: ramp, aperture: { min: 4, max: 8 } } }'))).toEqual([
      'line 4: sources[0].camera.exposure.aperture: limits for aperture are set but "aperture" is not in order, so the ramp never turns it: add it to order or remove the limits',
    ]);
    expect(problems(text('{ driver: gphoto2, exposure: { mode: ramp, shutter: { min: 1/1000, max: 1 }, start: { shutter: 2 } } }'))).toEqual([
      'line 4: sources[0].camera.exposure.start.shutter: the start value is outside the shutter limits (min to max)',
    ]);
  });

  it('refuses two owners of a setting, and a sun without a place for a real camera', () => {
    expect(problems(text('{ driver: gphoto2, settings: { shutterspeed: 1/250, imageformat: 1 }, exposure: { mode: ramp } }'))).toEqual([
      'line 4: sources[0].camera.settings.shutterspeed: "shutterspeed" is set by the exposure ramp for each frame: remove it from camera.settings, or set exposure.mode to manual',
    ]);
    // In manual mode camera.settings keeps them.
    expect(problems(text('{ driver: gphoto2, settings: { shutterspeed: 1/250 }, exposure: { mode: manual } }'))).toEqual([]);
    expect(problems(text('{ driver: gphoto2, exposure: { mode: ramp, sun: true } }'))).toEqual(['line 4: sources[0].camera.exposure.sun: exposure.sun needs appliance.location (latitude and longitude) to be set']);
    expect(problems(text('{ driver: gphoto2, exposure: { mode: ramp, sun: true } }', true))).toEqual([]);
    // The test pattern has a sun of its own.
    expect(problems(text('{ driver: testpattern, exposure: { mode: ramp, sun: true } }'))).toEqual([]);
    // Only the drivers whose exposure lapsebox sets take the block.
    expect(problems(text('{ driver: v4l2, exposure: { mode: ramp } }'))[0]).toMatch(/unknown key "exposure"/);
  });
});
