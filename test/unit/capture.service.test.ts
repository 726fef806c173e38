import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { parseConfig } from '../../daemon/config/load';
import { buildCaptureStack, buildPipeline } from '../../daemon/compose/stacks';
import { CameraError, type Camera, type CaptureRequest, type CaptureResult } from '../../daemon/capture/camera';
import { MAX_CAPTURES_IN_FLIGHT, SKIPPED_BUSY, SKIPPED_PROCESSING, type Handover } from '../../daemon/capture/capture.service';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { silentLogger } from '../../daemon/logger';
import { SimulatedRelay } from '../../daemon/hardware/relay';
import { tempDir } from '../helpers/env';

let jpeg: Buffer;

/** A camera scripted per call: each entry says what the next capture does. */
class ScriptedCamera implements Camera {
  readonly driver = 'scripted';
  calls = 0;
  readonly log: string[] = [];
  /** What a 'wait' step waits for. */
  gate: Promise<void> = Promise.resolve();
  closed = 0;
  constructor(public script: Array<'ok' | 'slow' | 'hang' | 'throw' | 'garbage' | 'wait'>) {}

  close(): Promise<void> {
    this.closed += 1;
    return Promise.resolve();
  }

  async capture(req: CaptureRequest): Promise<CaptureResult> {
    const step = this.script[Math.min(this.calls++, this.script.length - 1)];
    this.log.push(`capture:${step}`);
    switch (step) {
      case 'throw':
        throw new CameraError('busy', 'camera cam: PTP Device Busy', 'wait, it usually passes');
      case 'hang':
        return new Promise(() => undefined); // ignores the signal, like a wedged USB transfer
      case 'garbage':
        fs.writeFileSync(req.destination, jpeg.subarray(0, jpeg.length - 100));
        return { width: 96, height: 64, size: jpeg.length - 100 };
      case 'slow':
        await new Promise((r) => setTimeout(r, 300));
        break;
      case 'wait':
        await this.gate;
    }
    fs.writeFileSync(req.destination, jpeg);
    return { width: 96, height: 64, size: jpeg.length };
  }
}

/** A camera with a reset step, like gphoto2's USB reset. */
class ResettableCamera extends ScriptedCamera {
  reset(): Promise<void> {
    this.log.push('reset');
    return Promise.resolve();
  }
}

describe('CaptureService', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Repositories;
  let relays: SimulatedRelay[];
  let relayFails = false;

  const make = (camera: Camera, timeout = '2s', extra = 'recovery: { retries: 0 }', handover?: ReadonlyMap<string, Handover>, pipeline?: ReturnType<typeof buildPipeline>) => {
    const { config } = parseConfig(
      `appliance: { id: box, timezone: Europe/Paris }\nsources:\n  - id: cam\n    camera: { driver: testpattern, timeout: ${timeout} }\n    ${extra}\n`,
      path.join(tmp.dir, 'lapsebox.yaml'),
    );
    const { capture: service } = buildCaptureStack({
      config,
      store,
      log: silentLogger(),
      createCamera: () => camera,
      openRelay: (relay) => {
        if (relayFails) throw new Error(`GPIO ${relay.gpio} is busy`);
        const simulated = new SimulatedRelay(relay.gpio, silentLogger());
        relays.push(simulated);
        return simulated;
      },
      ...(handover ? { handover } : {}),
      ...(pipeline ? { pipeline } : {}),
    });
    service.start();
    return service;
  };

  /** The real pipeline, each picture held until the test lets it through (a 24 MP picture ahead, on a slow box). */
  const heldPipeline = () => {
    const pipeline = buildPipeline(() => parseConfig('appliance: { id: box, timezone: Europe/Paris }\nsources: []\n', path.join(tmp.dir, 'p.yaml')).config.appliance, silentLogger());
    const process = pipeline.process.bind(pipeline);
    const held: (() => void)[] = [];
    pipeline.process = async (...args) => {
      await new Promise<void>((resolve) => held.push(resolve));
      return process(...args);
    };
    /** Until a picture is held. */
    const holding = async () => {
      for (let i = 0; held.length === 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
      expect(held.length).toBeGreaterThan(0);
    };
    /** Lets the oldest held picture through, once one is held. */
    const release = async () => {
      await holding();
      held.shift()!();
    };
    return { pipeline, held, holding, release };
  };

  /** Every file under sources/, so a test can see that nothing was left behind. */
  const files = (): string[] => {
    const root = path.join(store.layout.dataDir, 'sources');
    return fs.existsSync(root) ? (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, f)).isFile()).sort() : [];
  };

  beforeAll(async () => {
    jpeg = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#468' } }).jpeg().toBuffer();
  });

  beforeEach(() => {
    tmp = tempDir();
    store = openRepositories(path.join(tmp.dir, 'data'));
    relays = [];
    relayFails = false;
  });

  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('leaves nothing hooked to the signal a capture was given (an AbortSignal with a listener left can live as long as the daemon)', async () => {
    const signals: AbortSignal[] = [];
    const camera = new ScriptedCamera(['ok']);
    const capture = camera.capture.bind(camera);
    camera.capture = (req) => {
      signals.push(req.signal);
      return capture(req);
    };
    const service = make(camera);
    for (let i = 0; i < 3; i++) expect((await service.capture('cam', 'manual')).status).toBe('captured');
    expect(signals).toHaveLength(3);
    for (const signal of signals) {
      expect(signal.aborted).toBe(false);
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    }
    await service.stop(100);
  });

  it('quiet(): resolves once the captures running have ended, or after its bound (a hung camera does not hold others up)', async () => {
    const camera = new ScriptedCamera(['wait', 'hang']);
    let open!: () => void;
    camera.gate = new Promise<void>((resolve) => (open = resolve));
    const service = make(camera, '5s');
    // Nothing running: at once.
    let t = Date.now();
    await service.quiet(1000);
    expect(Date.now() - t).toBeLessThan(50);
    const first = service.capture('cam', 'slot');
    let quietAt = 0;
    const waited = service.quiet(3000).then(() => (quietAt = Date.now()));
    await new Promise((r) => setTimeout(r, 200));
    expect(quietAt).toBe(0);
    const endedAt = Date.now();
    open();
    expect((await first).status).toBe('captured');
    await waited;
    expect(quietAt).toBeGreaterThanOrEqual(endedAt);
    expect(quietAt - endedAt).toBeLessThan(500);
    // A hung camera: quiet() gives up after its bound.
    const hung = service.capture('cam', 'slot');
    t = Date.now();
    await service.quiet(300);
    expect(Date.now() - t).toBeGreaterThanOrEqual(280);
    expect(Date.now() - t).toBeLessThan(1000);
    await service.stop(100);
    await hung;
  });

  it('stores, indexes and publishes a picture', async () => {
    const sut = make(new ScriptedCamera(['ok']));
    const outcome = await sut.capture('cam', 'slot');
    expect(outcome.status).toBe('captured');
    if (outcome.status !== 'captured') return;
    expect(outcome.picture).toMatchObject({ sourceId: 'cam', width: 96, height: 64, size: jpeg.length, rejection: null, derivatives: ['thumb', 'small', 'preview', 'frame'] });
    expect(fs.readFileSync(store.layout.absolute(outcome.picture.path))).toEqual(jpeg);
    expect(fs.readFileSync(store.layout.latest('cam'))).toEqual(jpeg);
    expect(store.state.get('cam')).toMatchObject({ captures: 1, consecutiveFailures: 0, lastPictureId: outcome.picture.id });
  });

  it('counts a failure with its message, and the next capture still runs', async () => {
    const sut = make(new ScriptedCamera(['throw', 'throw', 'ok']));
    expect(await sut.capture('cam', 'slot')).toMatchObject({ status: 'failed', error: { code: 'busy' } });
    await sut.capture('cam', 'slot');
    expect(store.state.get('cam')).toMatchObject({ failures: 2, consecutiveFailures: 2, lastError: 'camera cam: PTP Device Busy (wait, it usually passes)' });
    expect((await sut.capture('cam', 'slot')).status).toBe('captured');
    expect(store.state.get('cam').consecutiveFailures).toBe(0);
    expect(files().filter((f) => f.includes('.tmp-'))).toEqual([]);
    // The coverage calendar's record: one run of two failed slots, with the error; a failed "capture now" is no slot.
    expect(store.coverage.gaps('cam', 0, Date.now() + 1)).toEqual([
      { id: 1, sourceId: 'cam', kind: 'camera', firstAt: expect.any(Number), lastAt: expect.any(Number), slots: 2, message: 'camera cam: PTP Device Busy (wait, it usually passes)' },
    ]);
  });

  it('notes the slots a full disk or a capture still running took, for the coverage calendar (not a "capture now")', async () => {
    let full: string | null = 'the data disk is full';
    const { config } = parseConfig(`appliance: { id: box, timezone: Europe/Paris }\nsources:\n  - id: cam\n    camera: { driver: testpattern }\n    schedule: { every: 10s }\n`, path.join(tmp.dir, 'lapsebox.yaml'));
    const camera = new ScriptedCamera(['slow', 'ok']);
    const { capture: sut } = buildCaptureStack({
      config,
      store,
      log: silentLogger(),
      createCamera: () => camera,
      openRelay: () => new SimulatedRelay(1, silentLogger()),
      storage: { blocked: () => full, diskTrouble: async () => full },
    });
    expect(await sut.capture('cam', 'slot')).toMatchObject({ status: 'skipped', storage: true });
    expect(await sut.capture('cam', 'manual')).toMatchObject({ status: 'skipped', storage: true });
    expect(await sut.capture('cam', 'slot')).toMatchObject({ status: 'skipped', storage: true });
    full = null;
    const running = sut.capture('cam', 'slot');
    expect(await sut.capture('cam', 'slot')).toMatchObject({ status: 'skipped', reason: 'the previous capture is still running' });
    expect((await running).status).toBe('captured');
    expect(store.coverage.gaps('cam', 0, Date.now() + 1).map((g) => [g.kind, g.slots, g.message])).toEqual([
      ['disk', 2, null],
      ['busy', 1, null],
    ]);
    await sut.stop(0);
  });

  it('abandons a camera that hangs after camera.timeout, leaving nothing behind', async () => {
    const sut = make(new ScriptedCamera(['hang', 'ok']), '1s');
    const started = Date.now();
    const outcome = await sut.capture('cam', 'slot');
    expect(Date.now() - started).toBeLessThan(1_900);
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'timeout', message: 'camera cam: no picture within 1s' } });
    expect(files()).toEqual([]);
    expect(sut.isBusy('cam')).toBe(false);
    expect((await sut.capture('cam', 'slot')).status).toBe('captured');
  });

  it('fails the capture on a truncated JPEG, and keeps it as a rejected picture', async () => {
    const sut = make(new ScriptedCamera(['garbage']));
    const outcome = await sut.capture('cam', 'slot');
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'bad-output' } });
    if (outcome.status !== 'failed') return;
    expect(outcome.error.message).toMatch(/unusable \(corrupt: the picture cannot be decoded: .*premature end of JPEG image.*\); it is kept as sources\/cam\/pictures\//);
    expect(files()).toEqual([expect.stringMatching(/^cam\/pictures\/\d{4}-\d{2}-\d{2}\/\d{8}T\d{9}Z\.jpg$/)]);
    const kept = store.pictures.get(1)!;
    expect(kept.rejection).toMatchObject({ code: 'corrupt' });
    expect(store.pictures.latest('cam')).toBeUndefined();
    expect(store.state.get('cam')).toMatchObject({ captures: 0, failures: 1, lastPictureId: null });
  });

  it('never overlaps captures on one camera: a slot is skipped, "capture now" shares the one in flight', async () => {
    const camera = new ScriptedCamera(['slow', 'ok']);
    const sut = make(camera);
    const first = sut.capture('cam', 'slot');
    const manual = sut.capture('cam', 'manual');
    const slot = await sut.capture('cam', 'slot');
    expect(slot).toEqual({ status: 'skipped', reason: 'the previous capture is still running' });
    expect(await manual).toBe(await first);
    expect(camera.calls).toBe(1);
    expect(store.state.get('cam')).toMatchObject({ captures: 1, skipped: 1 });
  });

  it('lets the camera go once its file is written: the next slots take their pictures while the previous one is processed, and the outcomes come in order', async () => {
    const camera = new ScriptedCamera(['ok']);
    const { pipeline, held, holding, release } = heldPipeline();
    const sut = make(camera, '2s', 'recovery: { retries: 0 }', undefined, pipeline);
    const runs = [sut.capture('cam', 'slot')];
    // The first picture waits for the pipeline; the camera is free.
    await holding();
    expect(sut.isBusy('cam')).toBe(true);
    // The next slots take their pictures, up to MAX_CAPTURES_IN_FLIGHT in flight.
    while (runs.length < MAX_CAPTURES_IN_FLIGHT) {
      runs.push(sut.capture('cam', 'slot'));
      for (let i = 0; camera.calls < runs.length && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
      expect(camera.calls).toBe(runs.length);
      await new Promise((r) => setTimeout(r, 20));
    }
    // One more slot: skipped, with why; the camera is not touched.
    expect(await sut.capture('cam', 'slot')).toEqual({ status: 'skipped', reason: SKIPPED_PROCESSING });
    expect(camera.calls).toBe(MAX_CAPTURES_IN_FLIGHT);
    // "Capture now" shares the latest.
    const manual = sut.capture('cam', 'manual');
    // The later pictures wait for the first: one at a time, in order.
    expect(held).toHaveLength(1);
    const outcomes = [];
    for (const run of runs) {
      await release();
      outcomes.push(await run);
      expect(held.length).toBeLessThanOrEqual(1);
    }
    expect(await manual).toBe(outcomes.at(-1));
    const ids = outcomes.map((o) => (o.status === 'captured' ? o.picture.id : -1));
    expect(ids.every((id) => id > 0)).toBe(true);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    expect(store.state.get('cam')).toMatchObject({ captures: MAX_CAPTURES_IN_FLIGHT, skipped: 1, lastPictureId: ids.at(-1), consecutiveFailures: 0 });
    expect(sut.isBusy('cam')).toBe(false);
    await sut.stop(100);
  });

  it('counts a failure of the next slot after the success before it, however the processing and the camera end', async () => {
    // The second slot's camera fails while the first picture is still processed.
    const camera = new ScriptedCamera(['ok', 'throw']);
    const { pipeline, holding, release } = heldPipeline();
    const sut = make(camera, '2s', 'recovery: { retries: 0 }', undefined, pipeline);
    const first = sut.capture('cam', 'slot');
    await holding();
    const second = sut.capture('cam', 'slot');
    for (let i = 0; camera.calls < 2 && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    // The failure waits for the first picture's outcome: nothing counted yet, and the camera is still the failing slot's.
    expect(store.state.get('cam')).toMatchObject({ captures: 0, failures: 0 });
    expect(await sut.capture('cam', 'slot')).toEqual({ status: 'skipped', reason: SKIPPED_BUSY });
    await release();
    expect((await first).status).toBe('captured');
    expect(await second).toMatchObject({ status: 'failed', error: { code: 'busy' } });
    expect(store.state.get('cam')).toMatchObject({ captures: 1, failures: 1, consecutiveFailures: 1 });
    await sut.stop(100);
  });

  it('on stop, lets a capture finish within the grace period', async () => {
    const sut = make(new ScriptedCamera(['slow']));
    const pending = sut.capture('cam', 'slot');
    await sut.stop(2_000);
    expect((await pending).status).toBe('captured');
    expect(await sut.capture('cam', 'manual')).toEqual({ status: 'skipped', reason: 'the daemon is stopping' });
  });

  it('on stop, discards a capture that outlives the grace period whole', async () => {
    const sut = make(new ScriptedCamera(['hang']), '30s');
    const pending = sut.capture('cam', 'slot');
    await sut.stop(100);
    expect(await pending).toMatchObject({ status: 'failed', error: { code: 'aborted' } });
    expect(files()).toEqual([]);
    expect(store.pictures.count('cam')).toBe(0);
    // Stopping is not the camera's fault.
    expect(store.state.get('cam').failures).toBe(0);
  });

  describe('handing the cameras over to the service of a new configuration (a reload)', () => {
    it('lets the capture in flight end and be stored however long it takes; the new service waits for the camera', async () => {
      let finish!: () => void;
      const camera = new ScriptedCamera(['wait']);
      camera.gate = new Promise((resolve) => (finish = resolve));
      const old = make(camera, '30s');
      const first = old.capture('cam', 'slot');
      const handover = old.release();
      const fresh = new ScriptedCamera(['ok']);
      const next = make(fresh, '30s', 'recovery: { retries: 0 }', handover);
      expect(next.isBusy('cam')).toBe(true);
      // A slot meanwhile is skipped, as with any capture still running; "capture now" shares it.
      expect(await next.capture('cam', 'slot')).toEqual({ status: 'skipped', reason: 'the previous capture is still running' });
      const manual = next.capture('cam', 'manual');
      await new Promise((r) => setTimeout(r, 300));
      expect(camera.closed).toBe(0);
      finish();
      const outcome = await first;
      expect(outcome.status).toBe('captured');
      expect(await manual).toBe(outcome);
      await handover.get('cam')!.released;
      expect(camera.closed).toBe(1);
      expect(next.isBusy('cam')).toBe(false);
      expect((await next.capture('cam', 'slot')).status).toBe('captured');
      expect(fresh.calls).toBe(1);
      expect(store.pictures.count('cam')).toBe(2);
      expect(store.state.get('cam')).toMatchObject({ captures: 2, skipped: 1, failures: 0 });
      // The old service takes nothing new.
      expect(await old.capture('cam', 'manual')).toEqual({ status: 'skipped', reason: 'the daemon is stopping' });
    });

    it('opens the new relay only once the old one is back at rest, and chains through two reloads in a row', async () => {
      const recovery = 'recovery: { retries: 0, powerCycle: { gpio: 17, afterFailures: 3, off: 1s, settle: 0s } }';
      let finish!: () => void;
      const camera = new ScriptedCamera(['wait']);
      camera.gate = new Promise((resolve) => (finish = resolve));
      const first = make(camera, '30s', recovery);
      const pending = first.capture('cam', 'slot');
      const second = make(new ScriptedCamera(['ok']), '30s', recovery, first.release());
      const thirdCamera = new ScriptedCamera(['ok']);
      const handover = second.release();
      const third = make(thirdCamera, '30s', recovery, handover);
      expect(relays).toHaveLength(1);
      // A manual capture on the newest service still shares the one in flight in the oldest.
      const manual = third.capture('cam', 'manual');
      finish();
      expect(await manual).toBe(await pending);
      await handover.get('cam')!.released;
      await new Promise((r) => setImmediate(r));
      expect(relays).toHaveLength(2);
      expect(relays[1]!.cameraPower).toBe(true);
      expect((await third.capture('cam', 'slot')).status).toBe('captured');
      expect(thirdCamera.calls).toBe(1);
      await third.stop(100);
    });

    it('when the daemon stops during a handover, the old capture gets the grace period, then is discarded', async () => {
      const old = make(new ScriptedCamera(['hang']), '30s');
      const pending = old.capture('cam', 'slot');
      const next = make(new ScriptedCamera(['ok']), '30s', 'recovery: { retries: 0 }', old.release());
      const started = Date.now();
      await Promise.all([next.stop(200), old.stop(200)]);
      // The grace, then 2.5 s at most for a driver that ignores the signal to clean up.
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(await pending).toMatchObject({ status: 'failed', error: { code: 'aborted' } });
      expect(files()).toEqual([]);
    });
  });

  it('captures without a power cycle when the relay cannot be opened, instead of not at all', async () => {
    relayFails = true;
    const sut = make(new ScriptedCamera(['ok']), '2s', 'recovery: { retries: 0, powerCycle: { gpio: 17, afterFailures: 1, off: 1s, settle: 0s } }');
    expect((await sut.capture('cam', 'slot')).status).toBe('captured');
    await sut.stop(100);
  });

  it('says which relay cannot be opened and since when, still so during a handover, and clears it once the new service opens the relay', async () => {
    const recovery = 'recovery: { retries: 0, powerCycle: { gpio: 17, afterFailures: 1, off: 1s, settle: 0s } }';
    relayFails = true;
    let finish!: () => void;
    const camera = new ScriptedCamera(['wait']);
    camera.gate = new Promise((resolve) => (finish = resolve));
    const old = make(camera, '30s', recovery);
    const fault = { config: expect.objectContaining({ gpio: 17 }), line: 17, reason: 'GPIO 17 is busy', fix: 'check recovery.powerCycle and run "lapsebox doctor"', since: expect.any(Number) };
    expect(old.relays()).toEqual([{ sourceId: 'cam', gpio: 17, state: 'unavailable', fault }]);
    const since = old.relays()[0]!.fault!.since;
    const pending = old.capture('cam', 'slot');
    // The same relay: still a fault while the old capture holds the source (no alert flapping to "recovered").
    relayFails = false;
    const handover = old.release();
    const next = make(new ScriptedCamera(['ok']), '30s', recovery, handover);
    expect(next.relays()).toEqual([{ sourceId: 'cam', gpio: 17, state: 'unavailable', fault: { ...fault, since } }]);
    // Another relay is not judged by the old one's fault: not opened yet.
    const other = make(new ScriptedCamera(['ok']), '30s', recovery.replace('gpio: 17', 'gpio: 27'), handover);
    expect(other.relays()).toEqual([{ sourceId: 'cam', gpio: 27, state: 'waiting', fault: null }]);
    finish();
    await pending;
    await handover.get('cam')!.released;
    await new Promise((r) => setImmediate(r));
    expect(next.relays()).toEqual([{ sourceId: 'cam', gpio: 17, state: 'simulated', fault: null }]);
    await Promise.all([next.stop(100), other.stop(100)]);
  });

  describe('recovery ladder', () => {
    const kinds = () => store.events.recent().map((e) => e.kind).reverse();

    it('retries within the slot, the last retry after a reset of the camera', async () => {
      const camera = new ResettableCamera(['throw', 'throw', 'ok']);
      const sut = make(camera, '1s', 'recovery: { retries: 2 }\n    schedule: { every: 1m }');
      expect((await sut.capture('cam', 'slot')).status).toBe('captured');
      expect(camera.log).toEqual(['capture:throw', 'capture:throw', 'reset', 'capture:ok']);
      expect(store.state.get('cam')).toMatchObject({ consecutiveFailures: 0, failures: 0, captures: 1 });
    });

    it('does not retry when the retry could not end before the next slot', async () => {
      const camera = new ResettableCamera(['throw', 'ok']);
      const sut = make(camera, '2s', 'recovery: { retries: 2 }\n    schedule: { every: 2s }');
      expect((await sut.capture('cam', 'slot')).status).toBe('failed');
      expect(camera.log).toEqual(['capture:throw']);
    });

    it('escalates to a power cycle, then marks the camera down, and recovers when it answers again', async () => {
      const camera = new ResettableCamera(['throw']);
      const sut = make(camera, '1s', 'recovery: { retries: 1, powerCycle: { gpio: 17, afterFailures: 2, off: 1s, settle: 0s, maxPerDay: 3 } }\n    schedule: { every: 1m }');
      expect(relays.map((r) => r.history.map((h) => h.cameraPower))).toEqual([[true]]);

      expect(await sut.capture('cam', 'slot')).toMatchObject({ status: 'failed', error: { code: 'busy' } });
      expect(camera.log).toEqual(['capture:throw', 'reset', 'capture:throw']);
      expect(relays[0]!.history).toHaveLength(1);

      camera.log.length = 0;
      const started = Date.now();
      expect((await sut.capture('cam', 'slot')).status).toBe('failed');
      // retry after reset, then the power cycle (off for 1 s, back on), a fresh detection, one last try.
      expect(camera.log).toEqual(['capture:throw', 'reset', 'capture:throw', 'reset', 'capture:throw']);
      expect(relays[0]!.history.map((h) => h.cameraPower)).toEqual([true, false, true]);
      const [, off, on] = relays[0]!.history;
      expect(on!.at - off!.at).toBeGreaterThanOrEqual(990);
      expect(Date.now() - started).toBeGreaterThanOrEqual(990);
      expect(kinds()).toEqual(['camera-power-cycle', 'camera-down']);
      const state = store.state.get('cam');
      expect(state.downSince).not.toBeNull();
      expect(state.powerCyclesToday).toBe(1);
      expect(store.events.recent()[0]!.message).toMatch(/^camera cam is down after 3 failed captures in a row \(a power cycle did not bring it back\): camera cam: PTP Device Busy/);

      // Down: one try per slot, no retries, no reset, no power cycle.
      camera.log.length = 0;
      expect((await sut.capture('cam', 'slot')).status).toBe('failed');
      expect(camera.log).toEqual(['capture:throw']);
      expect(relays[0]!.history).toHaveLength(3);

      camera.script = ['ok'];
      expect((await sut.capture('cam', 'slot')).status).toBe('captured');
      expect(store.state.get('cam')).toMatchObject({ downSince: null, consecutiveFailures: 0 });
      expect(kinds()).toEqual(['camera-power-cycle', 'camera-down', 'camera-up']);
      expect(store.events.recent()[0]!.message).toMatch(/^camera cam is back after \d+s down$/);
    });

    it('keeps to powerCycle.maxPerDay, counted in the database across restarts', async () => {
      const extra = 'recovery: { retries: 0, powerCycle: { gpio: 4, afterFailures: 1, off: 1s, settle: 0s, maxPerDay: 1 } }';
      const first = make(new ScriptedCamera(['throw']), '1s', extra);
      await first.capture('cam', 'slot');
      await first.stop(0);
      expect(relays[0]!.history.map((h) => h.cameraPower)).toEqual([true, false, true]);
      store.state.setDown('cam', null);

      const second = make(new ScriptedCamera(['throw']), '1s', extra);
      await second.capture('cam', 'slot');
      expect(relays[1]!.history.map((h) => h.cameraPower)).toEqual([true]);
      expect(kinds()).toEqual(['camera-power-cycle', 'camera-down', 'camera-down']);
      expect(store.events.recent()[0]!.message).toContain('the daily limit of 1 power cycles is reached');
    });

    it('without a relay, marks the camera down after 3 failed slots in a row', async () => {
      const sut = make(new ScriptedCamera(['throw']), '1s');
      for (let i = 0; i < 2; i++) await sut.capture('cam', 'slot');
      expect(store.state.get('cam').downSince).toBeNull();
      await sut.capture('cam', 'slot');
      expect(store.state.get('cam').downSince).not.toBeNull();
      expect(kinds()).toEqual(['camera-down']);
    });

    it('puts the relay back to rest (camera powered) on stop, even in the middle of a power cycle', async () => {
      const sut = make(new ScriptedCamera(['throw']), '1s', 'recovery: { retries: 0, powerCycle: { gpio: 17, afterFailures: 1, off: 60s, settle: 0s } }');
      const pending = sut.capture('cam', 'slot');
      await new Promise((r) => setTimeout(r, 300));
      expect(relays[0]!.cameraPower).toBe(false);
      await sut.stop(100);
      await pending;
      expect(relays[0]!.cameraPower).toBe(true);
      // The try after the interrupted power cycle was abandoned by the stop, not failed by the camera.
      expect(store.state.get('cam').failures).toBe(1);
    });
  });
});
