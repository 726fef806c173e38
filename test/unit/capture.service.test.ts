import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { parseConfig } from '../../daemon/config/load';
import { CaptureService } from '../../daemon/capture/capture.service';
import { CameraError, type Camera, type CaptureRequest, type CaptureResult } from '../../daemon/capture/camera';
import { PictureStore } from '../../daemon/files/picture.store';
import { openStore, type Store } from '../../daemon/store/store';
import { silentLogger } from '../../daemon/logger';
import { tempDir } from '../helpers/env';

let jpeg: Buffer;

/** A camera scripted per call: each entry says what the next capture does. */
class ScriptedCamera implements Camera {
  readonly driver = 'scripted';
  calls = 0;
  constructor(readonly script: Array<'ok' | 'slow' | 'hang' | 'throw' | 'garbage'>) {}

  async capture(req: CaptureRequest): Promise<CaptureResult> {
    const step = this.script[Math.min(this.calls++, this.script.length - 1)];
    switch (step) {
      case 'throw':
        throw new CameraError('busy', 'camera cam: PTP Device Busy', 'wait, it usually passes');
      case 'hang':
        return new Promise(() => undefined); // ignores the signal, like a wedged USB transfer
      case 'garbage':
        fs.writeFileSync(req.destination, jpeg.subarray(0, jpeg.length - 100));
        return { width: 64, height: 48, size: jpeg.length - 100 };
      case 'slow':
        await new Promise((r) => setTimeout(r, 300));
    }
    fs.writeFileSync(req.destination, jpeg);
    return { width: 64, height: 48, size: jpeg.length };
  }
}

describe('CaptureService', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;

  const make = (camera: Camera, timeout = '2s') => {
    const { config } = parseConfig(
      `appliance: { id: box, timezone: Europe/Paris }\nsources:\n  - id: cam\n    camera: { driver: testpattern, timeout: ${timeout} }\n`,
      path.join(tmp.dir, 'lapsebox.yaml'),
    );
    const pictureStore = new PictureStore({ layout: store.layout, pictures: store.pictures, state: store.state, timezone: 'Europe/Paris', log: silentLogger() });
    return new CaptureService({ config, createCamera: () => camera, store: pictureStore, state: store.state, log: silentLogger() });
  };

  /** Every file under sources/, so a test can see that nothing was left behind. */
  const files = (): string[] => {
    const root = path.join(store.layout.dataDir, 'sources');
    return fs.existsSync(root) ? (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, f)).isFile()).sort() : [];
  };

  beforeAll(async () => {
    jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#468' } }).jpeg().toBuffer();
  });

  beforeEach(() => {
    tmp = tempDir();
    store = openStore(path.join(tmp.dir, 'data'));
  });

  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('stores, indexes and publishes a picture', async () => {
    const sut = make(new ScriptedCamera(['ok']));
    const outcome = await sut.capture('cam', 'slot');
    expect(outcome.status).toBe('captured');
    if (outcome.status !== 'captured') return;
    expect(outcome.picture).toMatchObject({ sourceId: 'cam', width: 64, height: 48, size: jpeg.length });
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

  it('rejects a truncated JPEG', async () => {
    const sut = make(new ScriptedCamera(['garbage']));
    expect(await sut.capture('cam', 'slot')).toMatchObject({ status: 'failed', error: { code: 'bad-output' } });
    expect(files()).toEqual([]);
    expect(store.pictures.count('cam')).toBe(0);
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
  });
});
