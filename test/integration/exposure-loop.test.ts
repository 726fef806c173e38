/**
 * The exposure ramp's loop without a camera (issue 27): the test pattern's simulated sensor
 * under a fast clock, through the real capture service, pipeline and picture store. A whole
 * dusk in Paris passes in seconds; each frame's luminance is what the pipeline measured.
 */
import path from 'node:path';
import { parseConfig } from '../../daemon/config/load';
import { buildCaptureStack, buildVideoStack } from '../../daemon/compose/stacks';
import { createCamera } from '../../daemon/capture/drivers';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { silentLogger } from '../../daemon/logger';
import { SimulatedRelay } from '../../daemon/hardware/relay';
import { stopsOf, settingsOf } from '../../daemon/domain/exposure';
import { customSpec } from '../../daemon/timelapse/video-spec';
import { tempDir } from '../helpers/env';
import { frameLuminance, meanStep, pictureServices } from '../helpers/videos';

/** Sunset in Paris on 7 December 2026 is at 15:54 UTC: from 35 minutes before to 85 after. */
const FROM = Date.parse('2026-12-07T15:20:00Z');
const TO = Date.parse('2026-12-07T17:20:00Z');
const EVERY = 30_000;

describe('exposure ramp on the test pattern (a fast dusk)', () => {
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

  /** Every frame of the dusk taken through the capture service with `exposure`, read back from the database. */
  async function dusk(exposure: string, from = FROM, to = TO, every = EVERY, timelapse = 'daily: { enabled: false }') {
    const { config } = parseConfig(
      `appliance: { id: box, timezone: Europe/Paris, location: { latitude: 48.86, longitude: 2.35 } }
storage: { dataDir: ${path.join(tmp.dir, 'data')} }
sources:
  - id: cam
    camera: { driver: testpattern, width: 320, height: 180, exposure: ${exposure} }
    timelapse: { ${timelapse} }
`,
      path.join(tmp.dir, 'lapsebox.yaml'),
    );
    let now = from;
    const { capture } = buildCaptureStack({ config, store, log: silentLogger(), createCamera, openRelay: (r) => new SimulatedRelay(r.gpio, silentLogger()), now: () => now });
    capture.start();
    for (; now <= to; now += every) expect((await capture.capture('cam', 'slot')).status).toBe('captured');
    const view = capture.exposureView('cam');
    await capture.stop(1000);
    const frames = store.pictures.exposed('cam', from, to + 1, { limit: 10_000 });
    return { frames, view, config };
  }

  it('keeps the frames at the target through a dusk, one third of a stop at most between two frames', async () => {
    const { frames, view } = await dusk('{ mode: ramp, target: 115, maxStep: 1/3 }');
    expect(frames).toHaveLength((TO - FROM) / EVERY + 1);
    const stops = frames.map((f) => stopsOf(settingsOf(f.exposure!)!));
    const steps = stops.slice(1).map((s, i) => Math.abs(s - stops[i]!));
    expect(Math.max(...steps)).toBeLessThanOrEqual(1 / 3 + 1e-6);
    // The light falls by more than 15 stops, and the settings follow it.
    expect(stops.at(-1)! - stops[0]!).toBeGreaterThan(12);
    // From the first settings (1/250 s at f/8, under-exposed by two stops) the ramp reaches the target within 15 frames; then stays in the band.
    const settled = frames.slice(15).map((f) => f.luminance!);
    const inBand = settled.filter((l) => Math.abs(l - 115) <= 0.15 * 115).length / settled.length;
    expect(inBand).toBeGreaterThanOrEqual(0.9);
    expect(view).toMatchObject({ target: 115, sun: true, atLimit: false });
    expect(view!.ev).toBeCloseTo(frames.at(-1)!.exposure!.ev, 1);
  });

  it('with fixed settings the evening goes dark (the simulated sensor follows the light)', async () => {
    const { frames } = await dusk('{ mode: manual, start: { shutter: 1/15, iso: 100, aperture: 8 } }', FROM, FROM + 60 * 60_000);
    expect(frames.every((f) => f.exposure?.shutter === '1/15' && f.exposure.iso === '100' && f.exposure.aperture === 'f/8')).toBe(true);
    expect(frames[0]!.luminance!).toBeGreaterThan(80);
    expect(frames.at(-1)!.luminance!).toBeLessThan(frames[0]!.luminance! / 4);
  });

  it('says when its limits are reached, and the frames drift from the target rather than jump', async () => {
    // ISO held at 100 and the shutter at 1/8 s at most: the night cannot be reached.
    const { frames, view } = await dusk('{ mode: ramp, order: [shutter], shutter: { min: 1/4000, max: 1/8 } }');
    expect(view!.atLimit).toBe(true);
    expect(frames.at(-1)!.exposure!.shutter).toBe('1/8');
    expect(frames.at(-1)!.luminance!).toBeLessThan(115 * 0.85);
  });

  it("evens out the ramp's steps in the film: the frame-to-frame jitter of the built film falls", async () => {
    // The steepest of the dusk (the sun from −1° to −7°), a frame every 10 s: the ramp steps every few frames.
    const from = Date.parse('2026-12-07T16:00:00Z');
    const { config } = await dusk('{ mode: ramp }', from, from + 40 * 60_000, 10_000, 'daily: { enabled: true, width: 320, fps: 25, crf: 18, preset: veryfast, deflicker: false, minFrames: 5 }');
    const { builder } = buildVideoStack({ config: () => config, store, sizes: pictureServices(config, store).sizes, log: silentLogger() });
    const source = config.sources[0]!;
    const { spec } = customSpec({ from: '2026-12-07T17:00', to: '2026-12-07T17:40' }, source, 'Europe/Paris');
    const film = async (label: string, evenOut: boolean) => {
      const outcome = await builder.build(spec, { label, evenOut });
      expect(outcome.status).toBe('built');
      return frameLuminance(store.layout.absolute(store.videos.list('cam').find((v) => v.path.includes(label))!.path));
    };
    const plain = await film('plain', false);
    const evened = await film('evened', true);
    expect(plain.length).toBeGreaterThanOrEqual(240);
    // Once the ramp has caught up with the light (from 1/250 s, far too dark at sunset), its steps show in
    // the plain film as a sawtooth: the level drifts down between two steps, then jumps a third of a stop.
    const settled = (v: number[]) => v.slice(60);
    const before = meanStep(settled(plain));
    const after = meanStep(settled(evened));
    const largest = (v: number[]) => Math.max(...settled(v).slice(1).map((l, i) => Math.abs(l - settled(v)[i]!)));
    expect(largest(plain)).toBeGreaterThan(6);
    expect(after).toBeLessThan(before * 0.5);
    expect(largest(evened)).toBeLessThan(largest(plain) / 2);
    // The level is kept: the gains even out, they do not brighten or darken the film.
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(Math.abs(mean(evened) - mean(plain))).toBeLessThan(3);
  });
});
