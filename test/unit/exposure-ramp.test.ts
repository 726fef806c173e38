import { nextExposure, type Frame, type RampOptions } from '../../daemon/capture/exposure/ramp';
import { choicesOf, stopsOf, type Choices, type Settings } from '../../daemon/domain/exposure';
import { daylightStops, feedForwardStops } from '../../daemon/capture/exposure/daylight';

// A DSLR's third-stop choices.
const SHUTTERS = ['1/4000', '1/3200', '1/2500', '1/2000', '1/1600', '1/1250', '1/1000', '1/800', '1/640', '1/500', '1/400', '1/320', '1/250', '1/200', '1/160', '1/125', '1/100', '1/80', '1/60', '1/50', '1/40', '1/30', '1/25', '1/20', '1/15', '1/13', '1/10', '1/8', '1/6', '1/5', '1/4', '0.3', '0.4', '0.5', '0.6', '0.8', '1', '1.3', '1.6', '2', '2.5', '3.2', '4', '5', '6', '8', '10', '13', '15', '20', '25', '30', 'bulb'];
const ISOS = ['Auto', '100', '125', '160', '200', '250', '320', '400', '500', '640', '800', '1000', '1250', '1600', '2000', '2500', '3200', '4000', '5000', '6400'];
const APERTURES = ['f/4', 'f/4.5', 'f/5', 'f/5.6', 'f/6.3', 'f/7.1', 'f/8', 'f/9', 'f/10', 'f/11'];
const DSLR: Choices = { shutter: choicesOf('shutter', SHUTTERS), iso: choicesOf('iso', ISOS), aperture: choicesOf('aperture', APERTURES) };
const RAMP: RampOptions = { target: 0.45, maxStepStops: 1 / 3, order: ['shutter', 'iso'], limits: { shutter: { min: 1 / 4000, max: 15 }, iso: { min: 100, max: 3200 } } };

/** A simulated sensor: the scene's level in stops, the settings' light, the sRGB mean, clipped. */
function shoot(sceneStops: number, settings: Settings): number {
  const linear = 2 ** (sceneStops + stopsOf(settings));
  return Math.min(1, Math.max(0, linear)) ** (1 / 2.2);
}

/** Runs the ramp over a scene that follows `sceneAt(frame)`; returns each frame's settings and luminance. */
function run(frames: number, sceneAt: (i: number) => number, start: Settings, options = RAMP, choices = DSLR) {
  const history: Frame[] = [];
  let settings = start;
  for (let i = 0; i < frames; i++) {
    history.push({ luminance: shoot(sceneAt(i), settings), settings });
    settings = nextExposure(history, options, choices).settings;
  }
  return history;
}

const steps = (h: Frame[]) => h.slice(1).map((f, i) => Math.abs(stopsOf(f.settings) - stopsOf(h[i]!.settings)));
const within = (h: Frame[], band = 0.15) => h.filter((f) => Math.abs(f.luminance - RAMP.target) / RAMP.target <= band).length / h.length;

describe('the exposure ramp', () => {
  const day: Settings = { shutter: 1 / 250, iso: 100, aperture: 8 };
  // The scene's level that puts 1/250 s, ISO 100, f/8 on the target.
  const dayScene = Math.log2(RAMP.target ** 2.2) - stopsOf(day);

  it('follows a dusk (14 stops in two hours at a frame every 10 s) in steps of a third at most, shutter first then ISO', () => {
    const frames = 720;
    const h = run(frames, (i) => dayScene - (14 * i) / frames, day);
    expect(Math.max(...steps(h))).toBeLessThanOrEqual(1 / 3 + 1e-6);
    expect(within(h)).toBeGreaterThanOrEqual(0.95);
    // At night: the shutter at its longest allowed, then the ISO raised.
    const night = h.at(-1)!.settings;
    expect(night.shutter).toBe(15);
    expect(night.iso).toBeGreaterThan(100);
    // The ISO stays at 100 while the shutter can still give light.
    const firstIsoUp = h.findIndex((f) => f.settings.iso! > 100);
    expect(h[firstIsoUp - 1]!.settings.shutter).toBe(15);
    expect(h.every((f) => f.settings.aperture === 8)).toBe(true);
  });

  it('follows a dawn back down: the ISO comes down first', () => {
    const frames = 720;
    const h = run(frames, (i) => dayScene - 14 + (14 * i) / frames, { shutter: 15, iso: 400, aperture: 8 });
    expect(Math.max(...steps(h))).toBeLessThanOrEqual(1 / 3 + 1e-6);
    expect(within(h.slice(60))).toBeGreaterThanOrEqual(0.95);
    const isoDown = h.findIndex((f) => f.settings.iso === 100);
    expect(h.slice(0, isoDown).every((f) => f.settings.shutter === 15)).toBe(true);
  });

  it('does not answer a passing headlight (one frame four stops brighter)', () => {
    const h = run(40, (i) => (i === 20 ? dayScene + 4 : dayScene), day);
    expect(h[20]!.luminance).toBe(1);
    expect(h.every((f) => f.settings.shutter === 1 / 250 && f.settings.iso === 100)).toBe(true);
  });

  it('stops at its limits and says so, without hunting around the target', () => {
    const dark = run(200, () => dayScene - 20, day);
    const last = nextExposure(dark, RAMP, DSLR);
    expect(last.settings).toEqual({ shutter: 15, iso: 3200, aperture: 8 });
    expect(last.reason).toBe('at the limit');
    // On the target: nothing moves.
    const still = run(50, () => dayScene, day);
    expect(new Set(still.map((f) => `${f.settings.shutter} ${f.settings.iso}`)).size).toBe(1);
  });

  it('ramps a camera without an ISO setting by its shutter alone', () => {
    const noIso: Choices = { ...DSLR, iso: [] };
    const start: Settings = { shutter: 1 / 250, iso: null, aperture: 8 };
    const h = run(300, (i) => dayScene - (6 * i) / 300, start, RAMP, noIso);
    expect(h.every((f) => f.settings.iso === null)).toBe(true);
    expect(within(h)).toBeGreaterThanOrEqual(0.95);
    expect(nextExposure(h, RAMP, noIso).labels).toEqual({ shutter: expect.any(String), aperture: 'f/8' });
  });

  it('on a camera whose steps are coarser than maxStep, takes its smallest step once the target is more than half of it away', () => {
    // The libgphoto2 virtual camera's shutter speeds: whole stops and more, no ISO.
    const coarse: Choices = { shutter: choicesOf('shutter', ['1.0000s', '0.1000s', '0.0500s', '0.0200s', '0.0100s', '0.0050s', '0.0025s', '0.0012s', '0.0001s']), iso: [], aperture: choicesOf('aperture', ['f/8']) };
    const start: Settings = { shutter: 0.01, iso: null, aperture: 8 };
    const scene = Math.log2(RAMP.target ** 2.2) - stopsOf(start);
    // Two stops too dark: the next choice each time (0.01, 0.02, 0.05 s), never a jump past it, then it holds.
    const h = run(12, () => scene - 2, start, RAMP, coarse);
    const order = coarse.shutter.map((c) => c.value);
    const used = [...new Set(h.map((f) => f.settings.shutter))];
    expect(used).toEqual([0.01, 0.02, 0.05]);
    // Each change to the next choice, none skipped.
    h.slice(1).forEach((f, i) => expect(Math.abs(order.indexOf(f.settings.shutter) - order.indexOf(h[i]!.settings.shutter))).toBeLessThanOrEqual(1));
    // A third of a stop off: less than half the camera's step, so it holds.
    const held = run(12, () => scene - 1 / 3, start, RAMP, coarse);
    expect(held.every((f) => f.settings.shutter === 0.01)).toBe(true);
  });

  it('opens the aperture only when it may, and last', () => {
    const withAperture: RampOptions = { ...RAMP, order: ['shutter', 'iso', 'aperture'], limits: { ...RAMP.limits, aperture: { min: 4, max: 8 } } };
    // 19 stops: beyond what the shutter (1/250 to 15 s, 12 stops) and the ISO (100 to 3200, 5) can give.
    const h = run(400, (i) => dayScene - (19 * i) / 400, day, withAperture);
    const opened = h.findIndex((f) => f.settings.aperture! < 8);
    expect(opened).toBeGreaterThan(0);
    expect(h[opened - 1]!.settings).toMatchObject({ shutter: 15, iso: 3200 });
  });

  it('lags less behind a dusk with the sun\'s feed-forward', () => {
    // The sun from 2° to −8° over 720 frames (two hours at 10 s), the scene as bright as the sky.
    const altitude = (i: number) => 2 - (10 * i) / 720;
    const offset = dayScene - daylightStops(altitude(0));
    const error = (withSun: boolean) => {
      const history: Frame[] = [];
      let settings = day;
      let sum = 0;
      for (let i = 0; i < 720; i++) {
        const luminance = shoot(offset + daylightStops(altitude(i)), settings);
        history.push({ luminance, settings });
        sum += Math.abs(Math.log2(luminance / RAMP.target));
        settings = nextExposure(history, RAMP, DSLR, withSun ? feedForwardStops(altitude(i), altitude(i + 1)) : 0).settings;
      }
      return sum / 720;
    };
    expect(error(true)).toBeLessThan(error(false));
  });
});
