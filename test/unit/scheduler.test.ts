import path from 'node:path';
import { parseConfig } from '../../daemon/config/load';
import { Scheduler } from '../../daemon/schedule/scheduler';
import { openStore, type Store } from '../../daemon/store/store';
import { silentLogger } from '../../daemon/logger';
import type { CaptureService } from '../../daemon/capture/capture.service';
import { tempDir } from '../helpers/env';

const config = parseConfig(
  `
appliance: { id: box, timezone: Europe/Paris }
sources:
  - id: cam
    camera: { driver: testpattern }
    schedule: { every: 5m }
  - id: off
    enabled: false
    camera: { driver: testpattern }
`,
  '/etc/lapsebox/lapsebox.yaml',
).config;

describe('Scheduler', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  let now: number;
  let captures: string[];
  const capture = { capture: (id: string) => (captures.push(id), Promise.resolve({ status: 'skipped', reason: 'test' })) } as unknown as CaptureService;
  const make = () => new Scheduler({ config, capture, state: store.state, log: silentLogger(), now: () => now });

  beforeEach(() => {
    tmp = tempDir();
    store = openStore(path.join(tmp.dir, 'data'));
    captures = [];
  });

  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('starts a slot once, on the first tick at or after it, and exposes the next one', () => {
    now = Date.parse('2026-06-01T10:03:12Z');
    const sut = make();
    sut.start({ tick: false });
    expect(sut.nextSlot('cam')!.toISOString()).toBe('2026-06-01T10:05:00.000Z');
    expect(sut.nextSlot('off')).toBeNull();
    expect(sut.tick()).toEqual([]);
    now = Date.parse('2026-06-01T10:05:00.004Z');
    expect(sut.tick()).toEqual(['cam']);
    expect(sut.tick()).toEqual([]);
    expect(captures).toEqual(['cam']);
    expect(sut.nextSlot('cam')!.toISOString()).toBe('2026-06-01T10:10:00.000Z');
  });

  it('never runs a slot twice, even after a restart within it', () => {
    now = Date.parse('2026-06-01T10:05:00.100Z');
    const first = make();
    first.start({ tick: false });
    expect(first.tick()).toEqual(['cam']);
    first.stop();
    now = Date.parse('2026-06-01T10:05:02Z');
    const second = make();
    second.start({ tick: false });
    expect(second.tick()).toEqual([]);
    expect(captures).toEqual(['cam']);
    expect(second.nextSlot('cam')!.toISOString()).toBe('2026-06-01T10:10:00.000Z');
  });

  it('runs a slot that began moments before start-up (within 30 s, at most half an interval)', () => {
    now = Date.parse('2026-06-01T10:05:25Z');
    const late = make();
    late.start({ tick: false });
    expect(late.tick()).toEqual(['cam']);
    captures = [];
    now = Date.parse('2026-06-01T10:10:31Z');
    const sut = make();
    sut.start({ tick: false });
    expect(sut.tick()).toEqual([]);
    expect(sut.nextSlot('cam')!.toISOString()).toBe('2026-06-01T10:15:00.000Z');
  });

  it('skips and counts slots that come too late instead of capturing late', () => {
    now = Date.parse('2026-06-01T10:04:00Z');
    const sut = make();
    sut.start({ tick: false });
    // The box froze for 11 minutes: 10:05 and 10:10 passed, 10:15 is 20 s late (grace 30 s).
    now = Date.parse('2026-06-01T10:15:20Z');
    expect(sut.tick()).toEqual(['cam']);
    expect(store.state.get('cam').skipped).toBe(2);
    // And one that is beyond the grace is skipped too.
    now = Date.parse('2026-06-01T10:20:31Z');
    expect(sut.tick()).toEqual([]);
    expect(store.state.get('cam').skipped).toBe(3);
    expect(sut.nextSlot('cam')!.toISOString()).toBe('2026-06-01T10:25:00.000Z');
  });
});
