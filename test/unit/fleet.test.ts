import type { BoxState, SourceState } from '../../daemon/mqtt/payloads';
import { exitCode, fleetCells, fleetSummary, FleetView, isLate, noBoxMessage } from '../../daemon/mqtt/fleet';
import { renderFleet, watchFrame } from '../../daemon/cli/fleet.command';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const iso = (msAgo: number) => new Date(NOW - msAgo).toISOString();
const MIN = 60_000;

function box(id: string, over: Partial<BoxState> = {}): BoxState {
  return {
    box: id,
    name: `Box ${id}`,
    version: '1.0.0',
    at: iso(10_000),
    onlineSince: iso(3 * 3_600_000),
    uptimeSeconds: 10_800,
    intervalSeconds: 60,
    url: null,
    disk: { freeBytes: 20e9, totalBytes: 32e9, freePercent: 62 },
    temperatureC: 48,
    power: null,
    clockSynchronized: true,
    capturePaused: false,
    problem: false,
    alerts: { open: 0, errors: 0, warnings: 0, list: [] },
    sync: { files: 0, bytes: 0, oldest: null, targets: [] },
    sources: ['north'],
    ...over,
  };
}

function source(id: string, over: Partial<SourceState> = {}): SourceState {
  return {
    source: id,
    name: id,
    at: iso(10_000),
    enabled: true,
    camera: 'ok',
    lastCapture: iso(2 * MIN),
    lastPictureId: 7,
    nextSlot: iso(-3 * MIN),
    every: '5m',
    failuresInRow: 0,
    picturesToday: 40,
    late: false,
    lastError: null,
    publicUrl: null,
    ...over,
  };
}

/** A view fed one box: availability, state and source states. */
function feed(sut: FleetView, id: string, parts: { availability?: string; state?: BoxState; sources?: SourceState[] }): void {
  if (parts.availability !== undefined) sut.take({ topic: `lapsebox/${id}/availability`, payload: parts.availability });
  if (parts.state) sut.take({ topic: `lapsebox/${id}/state`, payload: JSON.stringify(parts.state) });
  for (const s of parts.sources ?? []) sut.take({ topic: `lapsebox/${id}/${s.source}/state`, payload: JSON.stringify(s) });
}

function healthy(sut: FleetView, id: string): void {
  feed(sut, id, { availability: 'online', state: box(id), sources: [source('north')] });
}

describe('FleetView', () => {
  let sut: FleetView;
  beforeEach(() => {
    sut = new FleetView('lapsebox');
  });

  it('reads a healthy box into one row', () => {
    healthy(sut, 'bridge');
    const [row] = sut.rows(NOW);
    expect(row).toMatchObject({
      id: 'bridge',
      name: 'Box bridge',
      online: true,
      stale: false,
      lastSeen: iso(10_000),
      onlineSince: iso(3 * 3_600_000),
      disk: { freePercent: 62, freeBytes: 20e9 },
      backlog: { files: 0, bytes: 0, oldest: null },
      alerts: { open: 0, errors: 0, messages: [] },
      sources: [{ id: 'north', camera: 'ok', lastCapture: iso(2 * MIN), ageSeconds: 120, late: false, enabled: true }],
      severity: 'ok',
      problems: [],
    });
    expect(exitCode(sut.rows(NOW))).toBe(0);
  });

  it('ignores topics outside the prefix and other topics of a box, and says when a message changes nothing', () => {
    expect(sut.take({ topic: 'other/bridge/availability', payload: 'online' })).toBe(false);
    expect(sut.take({ topic: 'lapsebox/bridge/events', payload: '{}' })).toBe(false);
    expect(sut.take({ topic: 'lapsebox/bridge/availability', payload: 'online' })).toBe(true);
    expect(sut.take({ topic: 'lapsebox/bridge/availability', payload: Buffer.from('online') })).toBe(false);
    expect(sut.size).toBe(1);
  });

  describe('late sources', () => {
    const late = (over: Partial<SourceState>, now = NOW) => isLate(source('north', over), now);

    it('is late when the box says so', () => {
      expect(late({ late: true, nextSlot: iso(-MIN) })).toBe(true);
    });

    it('is late when the next slot is more than 5 min past with a short interval', () => {
      expect(late({ every: '1m', nextSlot: iso(4 * MIN) })).toBe(false);
      expect(late({ every: '1m', nextSlot: iso(5 * MIN + 1_000) })).toBe(true);
    });

    it('allows twice a long interval', () => {
      expect(late({ every: '10m', nextSlot: iso(19 * MIN) })).toBe(false);
      expect(late({ every: '10m', nextSlot: iso(21 * MIN) })).toBe(true);
    });

    it('is never late when disabled or without a next slot', () => {
      expect(late({ enabled: false, camera: 'disabled', nextSlot: iso(3_600_000) })).toBe(false);
      expect(late({ nextSlot: null })).toBe(false);
    });

    it('flags the source and the box, and fails the exit code', () => {
      feed(sut, 'bridge', { availability: 'online', state: box('bridge'), sources: [source('north', { nextSlot: iso(40 * MIN), lastCapture: iso(45 * MIN) })] });
      const rows = sut.rows(NOW);
      expect(rows[0]!.sources[0]!.late).toBe(true);
      expect(rows[0]!.severity).toBe('error');
      expect(rows[0]!.problems).toEqual(['source north late (last picture 45 min ago)']);
      expect(exitCode(rows)).toBe(1);
    });
  });

  describe('stale boxes', () => {
    it('is stale when online but its state is older than 3 intervals', () => {
      feed(sut, 'bridge', { availability: 'online', state: box('bridge', { at: iso(3 * MIN + 1_000) }) });
      const [row] = sut.rows(NOW);
      expect(row!.stale).toBe(true);
      expect(row!.severity).toBe('down');
      expect(row!.problems[0]).toMatch(/^stale: last state 3 min ago, expected every 1m/);
      expect(exitCode([row!])).toBe(1);
    });

    it('is not stale within 3 intervals', () => {
      feed(sut, 'bridge', { availability: 'online', state: box('bridge', { at: iso(2 * MIN + 59_000), sources: [] }) });
      expect(sut.rows(NOW)[0]).toMatchObject({ stale: false, severity: 'ok' });
    });

    it('is offline rather than stale when its availability says offline', () => {
      feed(sut, 'bridge', { availability: 'offline', state: box('bridge', { at: iso(12 * MIN), sources: [] }) });
      const [row] = sut.rows(NOW);
      expect(row).toMatchObject({ online: false, stale: false, onlineSince: null, severity: 'down', problems: ['offline, last seen 12 min ago'] });
      expect(exitCode([row!])).toBe(1);
    });
  });

  describe('cleared retained messages', () => {
    it('removes a source whose state is cleared', () => {
      healthy(sut, 'bridge');
      sut.take({ topic: 'lapsebox/bridge/south/state', payload: JSON.stringify(source('south')) });
      expect(sut.rows(NOW)[0]!.sources.map((s) => s.id)).toEqual(['north', 'south']);
      expect(sut.take({ topic: 'lapsebox/bridge/south/state', payload: '' })).toBe(true);
      expect(sut.rows(NOW)[0]!.sources.map((s) => s.id)).toEqual(['north']);
    });

    it('forgets the availability when it is cleared', () => {
      healthy(sut, 'bridge');
      sut.take({ topic: 'lapsebox/bridge/availability', payload: '' });
      expect(sut.rows(NOW)[0]).toMatchObject({ online: null, severity: 'warning' });
    });

    it('forgets a box once everything of it is cleared', () => {
      healthy(sut, 'bridge');
      for (const topic of ['lapsebox/bridge/availability', 'lapsebox/bridge/state', 'lapsebox/bridge/north/state']) sut.take({ topic, payload: Buffer.alloc(0) });
      expect(sut.size).toBe(0);
      expect(sut.rows(NOW)).toEqual([]);
    });
  });

  it('names a state it cannot read instead of trusting it', () => {
    sut.take({ topic: 'lapsebox/bridge/availability', payload: 'online' });
    sut.take({ topic: 'lapsebox/bridge/state', payload: '{"at": 12}' });
    sut.take({ topic: 'lapsebox/bridge/north/state', payload: 'not json' });
    const [row] = sut.rows(NOW);
    expect(row!.problems).toEqual(['state unreadable (not the JSON lapsebox publishes)', 'source north state unreadable (not the JSON lapsebox publishes)']);
    expect(row!.sources).toEqual([]);
  });

  it('sorts offline and stale boxes first, then broken ones, then warnings, then healthy ones, ties by id', () => {
    healthy(sut, 'a-healthy');
    feed(sut, 'b-warning', { availability: 'online', state: box('b-warning', { disk: { freeBytes: 2e9, totalBytes: 32e9, freePercent: 7 } }), sources: [source('north')] });
    feed(sut, 'c-down-camera', { availability: 'online', state: box('c-down-camera'), sources: [source('north', { camera: 'down', failuresInRow: 9 })] });
    feed(sut, 'd-offline', { availability: 'offline', state: box('d-offline', { at: iso(20 * MIN) }), sources: [source('north')] });
    feed(sut, 'e-error-alert', {
      availability: 'online',
      state: box('e-error-alert', { alerts: { open: 1, errors: 1, warnings: 0, list: [{ kind: 'disk-low', severity: 'error', source: null, target: null, message: 'disk almost full', since: iso(MIN) }] } }),
      sources: [source('north')],
    });
    feed(sut, 'f-stale', { availability: 'online', state: box('f-stale', { at: iso(30 * MIN) }), sources: [source('north')] });
    feed(sut, 'a-late', { availability: 'online', state: box('a-late'), sources: [source('north', { late: true })] });
    const rows = sut.rows(NOW);
    expect(rows.map((r) => [r.id, r.severity])).toEqual([
      ['d-offline', 'down'],
      ['f-stale', 'down'],
      ['a-late', 'error'],
      ['c-down-camera', 'error'],
      ['e-error-alert', 'error'],
      ['b-warning', 'warning'],
      ['a-healthy', 'ok'],
    ]);
    expect(rows.find((r) => r.id === 'e-error-alert')!.problems).toEqual(['1 error alert: disk almost full']);
    expect(rows.find((r) => r.id === 'b-warning')!.problems).toEqual(['disk 7% free']);
    expect(rows.find((r) => r.id === 'c-down-camera')!.problems).toEqual(['camera north down']);
  });

  describe('exit code', () => {
    it('is 0 with warnings only', () => {
      feed(sut, 'bridge', { availability: 'online', state: box('bridge', { disk: { freeBytes: 2e9, totalBytes: 32e9, freePercent: 7 } }), sources: [source('north', { camera: 'failing', failuresInRow: 2 })] });
      expect(sut.rows(NOW)[0]!.severity).toBe('warning');
      expect(exitCode(sut.rows(NOW))).toBe(0);
    });

    it('is 1 with no box at all: a wrong prefix or login is not "all well"', () => {
      expect(exitCode([])).toBe(1);
    });
  });

  describe('rendering', () => {
    const mqtt = { url: 'mqtt://broker.example.com:1883', topicPrefix: 'lapsebox' };

    it('lays out the table, what needs a hand and the summary', () => {
      healthy(sut, 'bridge');
      feed(sut, 'harbour', {
        availability: 'online',
        state: box('harbour', { sources: ['north', 'south'], sync: { files: 12, bytes: 3_400_000, oldest: iso(2 * 3_600_000), targets: [] } }),
        sources: [source('north', { late: true, lastCapture: iso(3 * 3_600_000) }), source('south', { enabled: false, camera: 'disabled', lastCapture: null })],
      });
      feed(sut, 'quarry', { availability: 'offline', state: box('quarry', { at: iso(12 * MIN) }), sources: [source('north', { nextSlot: iso(11 * MIN), lastCapture: iso(16 * MIN) })] });
      const text = renderFleet(sut.rows(NOW), NOW, mqtt);
      expect(text.split('\n')).toEqual([
        'BOX      STATUS                         SOURCES                                   DISK                BACKLOG                         ALERTS',
        'quarry   OFFLINE, last seen 12 min ago  north LATE 16 min ago                     62% free (20.0 GB)  none                            none',
        'harbour  online since 3 h ago           north LATE 3 h ago, south disabled never  62% free (20.0 GB)  12 files, 3 MB, oldest 2 h ago  none',
        'bridge   online since 3 h ago           north 2 min ago                           62% free (20.0 GB)  none                            none',
        '',
        'needs a hand:',
        '  quarry: offline, last seen 12 min ago; source north late (last picture 16 min ago)',
        '  harbour: source north late (last picture 3 h ago)',
        '',
        '3 boxes: 2 online, 1 offline; 2 late sources',
      ]);
    });

    it('counts stale and unknown boxes apart in the summary', () => {
      feed(sut, 'a', { availability: 'online', state: box('a', { at: iso(30 * MIN), sources: [] }) });
      feed(sut, 'b', { state: box('b', { sources: [] }) });
      expect(fleetSummary(sut.rows(NOW))).toBe('2 boxes: 0 online, 0 offline, 1 stale, 1 unknown; no late source');
      expect(fleetCells(sut.rows(NOW), NOW).map((r) => r[1])).toEqual(['STATUS', 'STALE, last seen 30 min ago', 'unknown, last seen 10 s ago']);
    });

    it('says what to check when no box is under the prefix', () => {
      expect(renderFleet([], NOW, mqtt)).toBe(noBoxMessage('lapsebox', 'mqtt://broker.example.com:1883'));
      expect(noBoxMessage('lapsebox', 'mqtt://broker.example.com:1883')).toBe(
        'no box has published under lapsebox/ on mqtt://broker.example.com:1883: check mqtt.topicPrefix, and that this login may read lapsebox/#',
      );
    });

    it('clears the screen only on a terminal', () => {
      expect(watchFrame('view', NOW, true)).toBe('\x1b[2J\x1b[Hview');
      expect(watchFrame('view', NOW, false)).toBe('--- 2024-05-01T12:00:00.000Z ---\nview');
    });
  });
});
