import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { parseConfig } from '../../daemon/config/load';
import { Scheduler } from '../../daemon/schedule/scheduler';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { createLogger, silentLogger } from '../../daemon/logger';
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
  let store: Repositories;
  let now: number;
  let captures: string[];
  const capture = { capture: (id: string) => (captures.push(id), Promise.resolve({ status: 'skipped', reason: 'test' })) } as unknown as CaptureService;
  const make = () => new Scheduler({ config, capture, state: store.state, coverage: store.coverage, log: silentLogger(), now: () => now });

  beforeEach(() => {
    tmp = tempDir();
    store = openRepositories(path.join(tmp.dir, 'data'));
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
    // The coverage calendar's record: the schedule in force from the start, and one run of three late slots.
    expect(store.coverage.schedules('cam', Date.parse('2026-06-01T00:00:00Z'), Date.parse('2026-06-02T00:00:00Z'))).toEqual([{ since: Date.parse('2026-06-01T10:04:00Z'), schedule: { everyMs: 300_000, windows: [] } }]);
    expect(store.coverage.gaps('cam', 0, now + 1).map((g) => [g.kind, g.slots, new Date(g.firstAt).toISOString(), new Date(g.lastAt).toISOString()])).toEqual([['late', 3, '2026-06-01T10:15:20.000Z', '2026-06-01T10:20:31.000Z']]);
  });

  it('logs one line that says which slot failed, why and what comes next when the database is full, and starts the other sources', () => {
    const two = parseConfig(
      `
appliance: { id: box, timezone: Europe/Paris }
sources:
  - id: cam
    camera: { driver: testpattern }
    schedule: { every: 5m }
  - id: gate
    camera: { driver: testpattern }
    schedule: { every: 5m }
`,
      '/etc/lapsebox/lapsebox.yaml',
    ).config;
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
        done();
      },
    });
    // The state repository as it fails when the disk is full: better-sqlite3's own error.
    let full = true;
    const state = new Proxy(store.state, {
      get: (target, key) => {
        if (key === 'markSlot') {
          return (id: string, slot: number) => {
            if (full && id === 'cam') throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
            target.markSlot(id, slot);
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    now = Date.parse('2026-06-01T10:04:00Z');
    const sut = new Scheduler({ config: two, capture, state, log: createLogger({ destination, journal: false }), now: () => now });
    sut.start({ tick: false });
    now = Date.parse('2026-06-01T10:05:00.200Z');
    expect(sut.tick()).toEqual(['gate']);
    expect(captures).toEqual(['gate']);
    const errors = lines.filter((l) => l['level'] === 'error');
    expect(errors).toHaveLength(1);
    // Local times (Paris, UTC+2 in June), the reason, and what happens next.
    expect(errors[0]).toMatchObject({
      source: 'cam',
      slot: '2026-06-01T10:05:00.000Z',
      next: '2026-06-01T10:10:00.000Z',
      code: 'SQLITE_FULL',
      msg: 'source cam: the slot of 2026-06-01 12:05:00 was not started: database or disk is full (the data disk is full); the next slot, 2026-06-01 12:10:00, is tried as usual, and fails like this one until the data disk has space again',
    });
    expect(lines.map((l) => l['msg'])).not.toContain('node-cron');
    // Given up, not retried every second; the next slot runs once the disk has room.
    expect(sut.tick()).toEqual([]);
    expect(lines.filter((l) => l['level'] === 'error')).toHaveLength(1);
    full = false;
    now = Date.parse('2026-06-01T10:10:00.100Z');
    expect(sut.tick()).toEqual(['cam', 'gate']);
  });
});
