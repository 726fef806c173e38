/**
 * The pure parts of the MQTT link (SPEC §8): topic names and command topics, the
 * state payloads built from what `lapsebox status` reports, Home Assistant discovery
 * configs, and the bounded queue of what waits for the broker.
 */
import type { SourceStatus, SystemStatus } from '../../daemon/status.service';
import type { TargetStatus } from '../../daemon/sync/sync.service';
import type { ActiveAlert } from '../../daemon/health/alerts';
import { AVAILABLE, boxTopics, parseCommandTopic } from '../../daemon/mqtt/topics';
import { boxState, significant, sourceState, type BoxStateInput, type SourceStateInput } from '../../daemon/mqtt/payloads';
import { discoveryMessages, type DiscoveryInput, type DiscoveryMessage } from '../../daemon/mqtt/discovery';
import { Outgoing, type OutgoingMessage } from '../../daemon/mqtt/outgoing';

const NOW = Date.parse('2024-06-12T10:00:00.000Z');
const BOX = 'bridge-north';
const PUBLIC_URL = 'https://bridge-north.example.com';

describe('boxTopics', () => {
  it('names every topic of the box under <prefix>/<box>', () => {
    const sut = boxTopics('lapsebox', BOX);
    expect(sut.base).toBe('lapsebox/bridge-north');
    expect(sut.availability).toBe('lapsebox/bridge-north/availability');
    expect(sut.state).toBe('lapsebox/bridge-north/state');
    expect(sut.events).toBe('lapsebox/bridge-north/events');
    expect(sut.doctor).toBe('lapsebox/bridge-north/doctor');
    expect(sut.sourceState('north')).toBe('lapsebox/bridge-north/north/state');
    expect(sut.capture('north')).toBe('lapsebox/bridge-north/north/capture');
    expect(sut.enabledSet('north')).toBe('lapsebox/bridge-north/north/enabled/set');
    expect(sut.reply('lapsebox/bridge-north/north/capture')).toBe('lapsebox/bridge-north/north/capture/reply');
    expect(sut.commandFilters).toEqual(['lapsebox/bridge-north/+/capture', 'lapsebox/bridge-north/+/enabled/set']);
  });

  it('keeps a prefix of several levels as it is', () => {
    const sut = boxTopics('acme/sites', 'dam-2');
    expect(sut.base).toBe('acme/sites/dam-2');
    expect(sut.sourceState('east')).toBe('acme/sites/dam-2/east/state');
    expect(sut.commandFilters).toEqual(['acme/sites/dam-2/+/capture', 'acme/sites/dam-2/+/enabled/set']);
  });
});

describe('parseCommandTopic', () => {
  const base = 'lapsebox/bridge-north';

  it('reads a capture and an enabled command with their source', () => {
    expect(parseCommandTopic(base, 'lapsebox/bridge-north/north/capture')).toEqual({ kind: 'capture', sourceId: 'north' });
    expect(parseCommandTopic(base, 'lapsebox/bridge-north/south-2/enabled/set')).toEqual({ kind: 'enabled', sourceId: 'south-2' });
  });

  it('reads back the topics boxTopics names', () => {
    const topics = boxTopics('acme/sites', BOX);
    expect(parseCommandTopic(topics.base, topics.capture('east'))).toEqual({ kind: 'capture', sourceId: 'east' });
    expect(parseCommandTopic(topics.base, topics.enabledSet('east'))).toEqual({ kind: 'enabled', sourceId: 'east' });
  });

  it.each([
    ['a level too many', 'lapsebox/bridge-north/north/capture/now'],
    ['its own reply', 'lapsebox/bridge-north/north/capture/reply'],
    ['enabled without set', 'lapsebox/bridge-north/north/enabled'],
    ['enabled with another verb', 'lapsebox/bridge-north/north/enabled/get'],
    ['enabled/set with a level more', 'lapsebox/bridge-north/north/enabled/set/reply'],
    ['no source level', 'lapsebox/bridge-north/capture'],
    ['a state topic', 'lapsebox/bridge-north/north/state'],
    ['the box itself', 'lapsebox/bridge-north'],
  ])('refuses %s', (_what, topic) => {
    expect(parseCommandTopic(base, topic)).toBeNull();
  });

  it('refuses another box, also one whose id starts with this one', () => {
    expect(parseCommandTopic(base, 'lapsebox/bridge-south/north/capture')).toBeNull();
    expect(parseCommandTopic(base, 'lapsebox/bridge-north-2/north/capture')).toBeNull();
    // Read as if the "-" were the separator, these would name a source "2".
    expect(parseCommandTopic(base, 'lapsebox/bridge-north-2/capture')).toBeNull();
    expect(parseCommandTopic(base, 'lapsebox/bridge-north-2/enabled/set')).toBeNull();
    expect(parseCommandTopic(base, 'other/bridge-north/north/capture')).toBeNull();
  });

  it('refuses an empty source', () => {
    expect(parseCommandTopic(base, 'lapsebox/bridge-north//capture')).toBeNull();
    expect(parseCommandTopic(base, 'lapsebox/bridge-north//enabled/set')).toBeNull();
  });
});

function backlog(pending: number, bytes: number, oldest: string | null): TargetStatus['backlog'] {
  const oldestAt = oldest === null ? null : Date.parse(oldest);
  return {
    pending,
    bytes,
    oldestAt,
    byKind: { picture: pending, video: 0, latest: 0 },
    failing: 0,
    gone: 0,
    oldestAgeSeconds: oldestAt === null ? null : Math.round((NOW - oldestAt) / 1000),
  };
}

const alertList: ActiveAlert[] = [
  { key: 'camera-down:north', kind: 'camera-down', severity: 'error', sourceId: 'north', targetId: null, message: 'North tower: the camera does not answer', since: '2024-06-12T07:10:00.000Z' },
  { key: 'sync-failing:archive', kind: 'sync-failing', severity: 'error', sourceId: null, targetId: 'archive', message: 'archive: getaddrinfo ENOTFOUND s3.example.com', since: '2024-06-12T01:00:00.000Z' },
  { key: 'picture-late:south', kind: 'picture-late', severity: 'warning', sourceId: 'south', targetId: null, message: 'South: no picture since 09:30', since: '2024-06-12T09:45:00.000Z' },
  { key: 'disk-low', kind: 'disk-low', severity: 'warning', sourceId: null, targetId: null, message: 'less than 10% free on /var/lib/lapsebox', since: '2024-06-12T09:30:00.000Z' },
];

/** A box on a Pi with a full disk, two targets with a backlog (one failing), and alerts of both severities. */
const system: SystemStatus = {
  appliance: { id: BOX, name: 'Bridge North', timezone: 'Europe/Paris' },
  versions: { lapsebox: '1.4.0', node: '20.11.1' },
  disk: { path: '/var/lib/lapsebox', totalBytes: 31_000_000_000, freeBytes: 250_000_000, freePercent: 0.8 },
  storage: {
    disk: { path: '/var/lib/lapsebox', totalBytes: 31_000_000_000, freeBytes: 250_000_000, freePercent: 0.8 },
    retention: { maxAgeDays: 0, minFreePercent: 10, reserveMB: 300 },
    low: true,
    paused: { since: '2024-06-12T09:30:00.000Z', reason: 'less than 300 MB free and every picture still waits for a target' },
    waitingForSync: 15,
    lastPurge: null,
    purged: { pictures: 0, bytes: 0 },
  },
  health: {
    at: NOW - 20_000,
    disk: { path: '/var/lib/lapsebox', totalBytes: 31_000_000_000, freeBytes: 250_000_000, freePercent: 0.8 },
    cpuTempC: 61.2,
    load: [0.42, 0.38, 0.3],
    cpus: 4,
    memory: { totalBytes: 4_000_000_000, availableBytes: 2_500_000_000, processRssBytes: 120_000_000 },
    uptimeSeconds: 864_000,
    processUptimeSeconds: 3725,
    network: [{ iface: 'wlan0', rxBytes: 123_456, txBytes: 654_321, up: true }],
    power: {
      raw: 0x20002,
      underVoltage: false,
      frequencyCapped: true,
      throttled: false,
      softTempLimit: false,
      underVoltageOccurred: false,
      frequencyCappedOccurred: true,
      throttledOccurred: false,
      softTempLimitOccurred: false,
      sentences: ['the ARM frequency is capped now'],
    },
    clock: { synchronized: true, via: 'timedatectl' },
  },
  alerts: alertList,
  notifications: null,
  sync: {
    targets: [
      {
        id: 'hq',
        type: 'sftp',
        host: 'hq.example.com',
        port: 22,
        remoteDir: '/srv/lapsebox/bridge-north',
        send: ['pictures'],
        sources: null,
        maxRate: null,
        activity: 'sending',
        backlog: backlog(12, 4_800_000, '2024-06-12T08:15:00.000Z'),
        sent: { files: 3000, bytes: 1_200_000_000, last: '2024-06-12T09:59:30.000Z' },
        lastOk: '2024-06-12T09:59:30.000Z',
        // An old error of a target that works again is not told.
        lastError: { at: '2024-06-11T22:00:00.000Z', message: 'connect ETIMEDOUT 203.0.113.7:22' },
        failingSince: null,
        nextAttemptAt: null,
        failing: [],
      },
      {
        id: 'archive',
        type: 's3',
        host: 's3.example.com',
        port: 443,
        remoteDir: 's3://timelapse/bridge-north/',
        send: ['pictures', 'videos'],
        sources: ['north'],
        maxRate: 1_000_000,
        activity: 'retrying',
        backlog: backlog(3, 900_000, '2024-06-11T23:40:00.000Z'),
        sent: { files: 800, bytes: 400_000_000, last: '2024-06-11T23:39:00.000Z' },
        lastOk: '2024-06-11T23:39:00.000Z',
        lastError: { at: '2024-06-12T09:58:00.000Z', message: 'getaddrinfo ENOTFOUND s3.example.com' },
        failingSince: '2024-06-12T01:00:00.000Z',
        nextAttemptAt: '2024-06-12T10:02:00.000Z',
        failing: [],
      },
      {
        id: 'nas',
        type: 'sftp',
        host: 'nas.local',
        port: 22,
        remoteDir: '/volume1/timelapse/bridge-north',
        send: ['videos'],
        sources: null,
        maxRate: null,
        activity: 'idle',
        backlog: backlog(0, 0, null),
        sent: { files: 30, bytes: 900_000_000, last: '2024-06-12T00:10:00.000Z' },
        lastOk: '2024-06-12T00:10:00.000Z',
        lastError: null,
        failingSince: null,
        nextAttemptAt: null,
        failing: [],
      },
    ],
  },
  relays: [],
  mqtt: {
    broker: 'mqtts://broker.example.com:8883',
    clientId: 'lapsebox-bridge-north',
    topic: 'lapsebox/bridge-north',
    activity: 'connected',
    since: '2024-06-12T09:50:00.000Z',
    lastError: null,
    nextAttemptAt: null,
    queued: 0,
    dropped: 0,
    published: 420,
    lastPublishedAt: '2024-06-12T09:59:00.000Z',
    refused: null,
    homeAssistant: true,
    commands: false,
  },
  public: { enabled: true, changedAt: null, changedBy: null },
  progress: null,
};

function boxInput(over: Partial<BoxStateInput> = {}): BoxStateInput {
  return {
    system,
    now: NOW,
    onlineSince: NOW - 600_000,
    startedAt: NOW - 3_725_400,
    intervalMs: 60_000,
    publicUrl: PUBLIC_URL,
    sources: ['north', 'south'],
    ...over,
  };
}

function alert(i: number, severity: ActiveAlert['severity']): ActiveAlert {
  return { key: `k${i}`, kind: `kind-${i}`, severity, sourceId: null, targetId: null, message: `alert ${i}`, since: '2024-06-12T09:00:00.000Z' };
}

describe('boxState', () => {
  it('says what the box reports, in figures', () => {
    const sut = boxState(boxInput());
    expect(sut).toEqual({
      box: 'bridge-north',
      name: 'Bridge North',
      version: '1.4.0',
      at: '2024-06-12T10:00:00.000Z',
      onlineSince: '2024-06-12T09:50:00.000Z',
      uptimeSeconds: 3725,
      intervalSeconds: 60,
      url: 'https://bridge-north.example.com',
      disk: { freeBytes: 250_000_000, totalBytes: 31_000_000_000, freePercent: 0.8 },
      temperatureC: 61.2,
      power: { underVoltage: false, frequencyCapped: true, throttled: false, softTempLimit: false, occurredSinceBoot: true },
      clockSynchronized: true,
      capturePaused: true,
      problem: true,
      alerts: {
        open: 4,
        errors: 2,
        warnings: 2,
        list: [
          { kind: 'camera-down', severity: 'error', source: 'north', target: null, message: 'North tower: the camera does not answer', since: '2024-06-12T07:10:00.000Z' },
          { kind: 'sync-failing', severity: 'error', source: null, target: 'archive', message: 'archive: getaddrinfo ENOTFOUND s3.example.com', since: '2024-06-12T01:00:00.000Z' },
          { kind: 'picture-late', severity: 'warning', source: 'south', target: null, message: 'South: no picture since 09:30', since: '2024-06-12T09:45:00.000Z' },
          { kind: 'disk-low', severity: 'warning', source: null, target: null, message: 'less than 10% free on /var/lib/lapsebox', since: '2024-06-12T09:30:00.000Z' },
        ],
      },
      sync: {
        files: 15,
        bytes: 5_700_000,
        // The archive's, though hq comes first.
        oldest: '2024-06-11T23:40:00.000Z',
        targets: [
          { id: 'hq', type: 'sftp', files: 12, bytes: 4_800_000, oldest: '2024-06-12T08:15:00.000Z', failing: false, lastError: null },
          { id: 'archive', type: 's3', files: 3, bytes: 900_000, oldest: '2024-06-11T23:40:00.000Z', failing: true, lastError: 'getaddrinfo ENOTFOUND s3.example.com' },
          { id: 'nas', type: 'sftp', files: 0, bytes: 0, oldest: null, failing: false, lastError: null },
        ],
      },
      sources: ['north', 'south'],
    });
  });

  it('lists at most 20 alerts, in the order given, and counts them all', () => {
    const many = [...Array.from({ length: 7 }, (_, i) => alert(i, 'error')), ...Array.from({ length: 18 }, (_, i) => alert(7 + i, 'warning'))];
    const sut = boxState(boxInput({ system: { ...system, alerts: many } }));
    expect(sut.alerts.open).toBe(25);
    expect(sut.alerts.errors).toBe(7);
    expect(sut.alerts.warnings).toBe(18);
    expect(sut.alerts.list.map((a) => a.message)).toEqual(Array.from({ length: 20 }, (_, i) => `alert ${i}`));
    expect(sut.problem).toBe(true);
  });

  it('tells a power problem since boot by any of the four flags', () => {
    const power = system.health!.power!;
    const quiet = { ...power, raw: 0, frequencyCapped: false, frequencyCappedOccurred: false, sentences: [] };
    const withPower = (p: typeof power) => boxState(boxInput({ system: { ...system, health: { ...system.health!, power: p } } })).power;
    expect(withPower(quiet)).toEqual({ underVoltage: false, frequencyCapped: false, throttled: false, softTempLimit: false, occurredSinceBoot: false });
    for (const flag of ['underVoltageOccurred', 'frequencyCappedOccurred', 'throttledOccurred', 'softTempLimitOccurred'] as const) {
      expect(withPower({ ...quiet, [flag]: true })?.occurredSinceBoot).toBe(true);
    }
    expect(withPower({ ...quiet, underVoltage: true, throttled: true, softTempLimit: true })).toEqual({
      underVoltage: true,
      frequencyCapped: false,
      throttled: true,
      softTempLimit: true,
      occurredSinceBoot: false,
    });
  });

  it('says null for what a box without a health sample does not know, and no problem without alerts', () => {
    const bare: SystemStatus = { ...system, health: null, storage: null, alerts: [], sync: { targets: [] }, mqtt: null };
    const sut = boxState(boxInput({ system: bare, onlineSince: null, publicUrl: null }));
    expect(sut).toMatchObject({
      onlineSince: null,
      url: null,
      temperatureC: null,
      power: null,
      clockSynchronized: null,
      capturePaused: false,
      problem: false,
      alerts: { open: 0, errors: 0, warnings: 0, list: [] },
      sync: { files: 0, bytes: 0, oldest: null, targets: [] },
    });
  });

  it('is not paused when the storage guard is not', () => {
    const sut = boxState(boxInput({ system: { ...system, storage: { ...system.storage!, paused: null, low: false } } }));
    expect(sut.capturePaused).toBe(false);
  });

  it('never reports a negative uptime, and rounds the interval to seconds', () => {
    const sut = boxState(boxInput({ startedAt: NOW + 5_000, intervalMs: 90_400 }));
    expect(sut.uptimeSeconds).toBe(0);
    expect(sut.intervalSeconds).toBe(90);
  });
});

function sourceStatus(over: Partial<SourceStatus> = {}): SourceStatus {
  return {
    id: 'north',
    name: 'North tower',
    enabled: true,
    driver: 'gphoto2',
    public: true,
    every: '5m',
    lastCapture: { at: '2024-06-12T09:55:00.000Z', pictureId: 4711 },
    nextSlot: '2024-06-12T10:00:00.000Z',
    busy: false,
    consecutiveFailures: 0,
    lastError: null,
    down: null,
    powerCycles: null,
    counts: { pictures: 4711, captures: 4800, failures: 89, skipped: 0 },
    camera: null,
    exposure: null,
    ...over,
  };
}

function sourceInput(over: Partial<SourceStateInput> = {}): SourceStateInput {
  return { status: sourceStatus(), picturesToday: 61, alerts: [], publicUrl: PUBLIC_URL, now: NOW, ...over };
}

const lateAlert = (sourceId: string): ActiveAlert => ({
  key: `picture-late:${sourceId}`,
  kind: 'picture-late',
  severity: 'warning',
  sourceId,
  targetId: null,
  message: `${sourceId}: no picture since 09:30`,
  since: '2024-06-12T09:45:00.000Z',
});

describe('sourceState', () => {
  it('says what the source reports, with the public picture of the last capture', () => {
    const sut = sourceState(sourceInput());
    expect(sut).toEqual({
      source: 'north',
      name: 'North tower',
      at: '2024-06-12T10:00:00.000Z',
      enabled: true,
      camera: 'ok',
      lastCapture: '2024-06-12T09:55:00.000Z',
      lastPictureId: 4711,
      nextSlot: '2024-06-12T10:00:00.000Z',
      every: '5m',
      failuresInRow: 0,
      picturesToday: 61,
      late: false,
      lastError: null,
      publicUrl: 'https://bridge-north.example.com/public/north/latest.jpg?v=4711',
    });
  });

  it('names the camera state in one word, disabled before down before failing', () => {
    const failure = { at: '2024-06-12T09:55:00.000Z', message: 'gphoto2: could not claim the USB device' };
    const camera = (over: Partial<SourceStatus>) => sourceState(sourceInput({ status: sourceStatus(over) })).camera;
    expect(camera({})).toBe('ok');
    expect(camera({ consecutiveFailures: 2, lastError: failure })).toBe('failing');
    expect(camera({ consecutiveFailures: 9, lastError: failure, down: { since: '2024-06-12T09:00:00.000Z' } })).toBe('down');
    expect(camera({ enabled: false, consecutiveFailures: 9, down: { since: '2024-06-12T09:00:00.000Z' } })).toBe('disabled');
    expect(camera({ enabled: false })).toBe('disabled');
  });

  it('carries the failures and the last error', () => {
    const failure = { at: '2024-06-12T09:55:00.000Z', message: 'gphoto2: could not claim the USB device' };
    const sut = sourceState(sourceInput({ status: sourceStatus({ consecutiveFailures: 3, lastError: failure }) }));
    expect(sut.failuresInRow).toBe(3);
    expect(sut.lastError).toEqual(failure);
  });

  it('is late only while a picture-late alert of this source is open', () => {
    const late = (alerts: ActiveAlert[]) => sourceState(sourceInput({ alerts })).late;
    expect(late([])).toBe(false);
    expect(late([lateAlert('south')])).toBe(false);
    expect(late([{ ...lateAlert('north'), kind: 'camera-down', severity: 'error' }])).toBe(false);
    expect(late([lateAlert('south'), lateAlert('north')])).toBe(true);
  });

  it('gives a public URL only for a public source with web.publicUrl set', () => {
    expect(sourceState(sourceInput({ status: sourceStatus({ public: false }) })).publicUrl).toBeNull();
    expect(sourceState(sourceInput({ publicUrl: null })).publicUrl).toBeNull();
  });

  it('leaves out ?v= while there is no picture yet', () => {
    expect(sourceState(sourceInput({ status: sourceStatus({ lastCapture: null }) })).publicUrl).toBe('https://bridge-north.example.com/public/north/latest.jpg');
    const noId = sourceState(sourceInput({ status: sourceStatus({ lastCapture: { at: '2024-06-12T09:55:00.000Z', pictureId: null } }) }));
    expect(noId.publicUrl).toBe('https://bridge-north.example.com/public/north/latest.jpg');
    expect(noId.lastPictureId).toBeNull();
    expect(noId.lastCapture).toBe('2024-06-12T09:55:00.000Z');
  });

  it('changes the URL with each picture', () => {
    const next = sourceState(sourceInput({ status: sourceStatus({ lastCapture: { at: '2024-06-12T10:00:00.000Z', pictureId: 4712 } }) }));
    expect(next.publicUrl).toBe('https://bridge-north.example.com/public/north/latest.jpg?v=4712');
  });

  it('encodes the source id in the URL, and keeps a path of publicUrl', () => {
    const sut = sourceState(sourceInput({ status: sourceStatus({ id: 'north tower/2' }), publicUrl: 'https://proxy.example.com/boxes/bridge-north' }));
    expect(sut.publicUrl).toBe('https://proxy.example.com/boxes/bridge-north/public/north%20tower%2F2/latest.jpg?v=4711');
    expect(sut.source).toBe('north tower/2');
  });
});

describe('significant', () => {
  it('ignores the clock-driven fields of the box state', () => {
    const before = boxState(boxInput());
    const later: SystemStatus = {
      ...system,
      disk: { ...system.disk, freeBytes: 240_000_000, freePercent: 0.77 },
      health: { ...system.health!, cpuTempC: 63.5 },
    };
    const after = boxState(boxInput({ system: later, now: NOW + 45_000 }));
    // The parts ignored did change.
    expect(after.at).not.toBe(before.at);
    expect(after.uptimeSeconds).not.toBe(before.uptimeSeconds);
    expect(after.disk).not.toEqual(before.disk);
    expect(after.temperatureC).not.toBe(before.temperatureC);
    expect(significant(after)).toBe(significant(before));
  });

  it('tells a change of the alerts, the pause, the backlog or the power flags', () => {
    const before = significant(boxState(boxInput()));
    const changed = (s: SystemStatus) => significant(boxState(boxInput({ system: s })));
    expect(changed({ ...system, alerts: alertList.slice(1) })).not.toBe(before);
    expect(changed({ ...system, alerts: alertList.map((a, i) => (i === 0 ? { ...a, message: 'North tower: the camera answers again' } : a)) })).not.toBe(before);
    expect(changed({ ...system, storage: { ...system.storage!, paused: null } })).not.toBe(before);
    expect(changed({ ...system, sync: { targets: system.sync.targets.map((t, i) => (i === 0 ? { ...t, backlog: backlog(13, 5_200_000, '2024-06-12T08:15:00.000Z') } : t)) } })).not.toBe(before);
    expect(changed({ ...system, health: { ...system.health!, power: { ...system.health!.power!, underVoltage: true } } })).not.toBe(before);
  });

  it('ignores only the time a source state was made', () => {
    const before = sourceState(sourceInput());
    expect(significant(sourceState(sourceInput({ now: NOW + 30_000 })))).toBe(significant(before));
    expect(significant(sourceState(sourceInput({ picturesToday: 62 })))).not.toBe(significant(before));
    expect(significant(sourceState(sourceInput({ alerts: [lateAlert('north')] })))).not.toBe(significant(before));
    expect(significant(sourceState(sourceInput({ status: sourceStatus({ lastCapture: { at: '2024-06-12T10:00:00.000Z', pictureId: 4712 } }) })))).not.toBe(significant(before));
  });
});

function discoveryInput(over: Partial<DiscoveryInput> = {}): DiscoveryInput {
  return {
    discoveryPrefix: 'homeassistant',
    topics: boxTopics('acme/sites', BOX),
    box: { id: BOX, name: 'Bridge North', version: '1.4.0', url: PUBLIC_URL },
    sources: [
      { id: 'north', name: 'North tower', hasPublicUrl: true },
      { id: 'south', name: 'South', hasPublicUrl: false },
    ],
    commands: true,
    ...over,
  };
}

const configOf = (messages: DiscoveryMessage[], topic: string): Record<string, unknown> => {
  const found = messages.find((m) => m.topic === topic);
  if (!found) throw new Error(`no discovery message on ${topic}; got ${messages.map((m) => m.topic).join(', ')}`);
  return found.config;
};

describe('discoveryMessages', () => {
  it('publishes the box entities under <box> and each source under <box>_<source>', () => {
    const sut = discoveryMessages(discoveryInput());
    expect(sut.map((m) => m.topic)).toEqual([
      'homeassistant/sensor/bridge-north/disk_free/config',
      'homeassistant/sensor/bridge-north/temperature/config',
      'homeassistant/sensor/bridge-north/sync_backlog/config',
      'homeassistant/binary_sensor/bridge-north/problem/config',
      'homeassistant/sensor/bridge-north_north/last_capture/config',
      'homeassistant/sensor/bridge-north_north/camera/config',
      'homeassistant/sensor/bridge-north_north/failures/config',
      'homeassistant/sensor/bridge-north_north/pictures_today/config',
      'homeassistant/image/bridge-north_north/latest/config',
      'homeassistant/button/bridge-north_north/capture/config',
      'homeassistant/switch/bridge-north_north/enabled/config',
      'homeassistant/sensor/bridge-north_south/last_capture/config',
      'homeassistant/sensor/bridge-north_south/camera/config',
      'homeassistant/sensor/bridge-north_south/failures/config',
      'homeassistant/sensor/bridge-north_south/pictures_today/config',
      'homeassistant/button/bridge-north_south/capture/config',
      'homeassistant/switch/bridge-north_south/enabled/config',
    ]);
  });

  it('gives every entity a unique_id, unique across the set and across boxes', () => {
    const sut = discoveryMessages(discoveryInput());
    const ids = sut.map((m) => m.config['unique_id']);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(sut.length);
    const other = discoveryMessages(discoveryInput({ topics: boxTopics('acme/sites', 'dam-2'), box: { id: 'dam-2', name: 'Dam 2', version: '1.4.0', url: null } }));
    const otherIds = new Set(other.map((m) => m.config['unique_id']));
    expect(ids.filter((id) => otherIds.has(id))).toEqual([]);
  });

  it('ties every entity to the box: its availability and one device', () => {
    const sut = discoveryMessages(discoveryInput());
    for (const { topic, config } of sut) {
      expect({ topic, availability: config['availability_topic'] }).toEqual({ topic, availability: 'acme/sites/bridge-north/availability' });
      expect({ topic, available: config['payload_available'] }).toEqual({ topic, available: AVAILABLE });
      expect({ topic, identifiers: (config['device'] as { identifiers: unknown }).identifiers }).toEqual({ topic, identifiers: ['bridge-north'] });
    }
  });

  it("reads the box's entities from its state and a source's from that source's state", () => {
    const sut = discoveryMessages(discoveryInput());
    expect(configOf(sut, 'homeassistant/binary_sensor/bridge-north/problem/config')['state_topic']).toBe('acme/sites/bridge-north/state');
    expect(configOf(sut, 'homeassistant/sensor/bridge-north_south/camera/config')['state_topic']).toBe('acme/sites/bridge-north/south/state');
    expect(configOf(sut, 'homeassistant/image/bridge-north_north/latest/config')['url_topic']).toBe('acme/sites/bridge-north/north/state');
    expect(configOf(sut, 'homeassistant/sensor/bridge-north_north/camera/config')['options']).toEqual(['ok', 'failing', 'down', 'disabled']);
  });

  it('offers a picture only for a public source with a URL', () => {
    const images = (sources: DiscoveryInput['sources']) =>
      discoveryMessages(discoveryInput({ sources })).filter((m) => m.topic.startsWith('homeassistant/image/')).map((m) => m.topic);
    expect(images(discoveryInput().sources)).toEqual(['homeassistant/image/bridge-north_north/latest/config']);
    expect(images(discoveryInput().sources.map((s) => ({ ...s, hasPublicUrl: false })))).toEqual([]);
  });

  it('offers the button and the switch only with commands on, on the command topics', () => {
    const withCommands = discoveryMessages(discoveryInput());
    expect(configOf(withCommands, 'homeassistant/switch/bridge-north_north/enabled/config')['command_topic']).toBe('acme/sites/bridge-north/north/enabled/set');
    expect(configOf(withCommands, 'homeassistant/switch/bridge-north_south/enabled/config')['command_topic']).toBe('acme/sites/bridge-north/south/enabled/set');
    expect(configOf(withCommands, 'homeassistant/button/bridge-north_north/capture/config')['command_topic']).toBe('acme/sites/bridge-north/north/capture');
    const without = discoveryMessages(discoveryInput({ commands: false }));
    expect(without.filter((m) => /^homeassistant\/(button|switch)\//.test(m.topic))).toEqual([]);
    expect(without.filter((m) => 'command_topic' in m.config)).toEqual([]);
    expect(without).toHaveLength(withCommands.length - 4);
  });

  it('writes every value_template as a string', () => {
    const sut = discoveryMessages(discoveryInput());
    const templates = sut.filter((m) => 'value_template' in m.config).map((m) => m.config['value_template']);
    // Every entity but the button and the image reads a value.
    expect(templates).toHaveLength(sut.length - 3);
    for (const template of templates) expect(typeof template).toBe('string');
    expect(configOf(sut, 'homeassistant/switch/bridge-north_north/enabled/config')['value_template']).toBe("{{ 'ON' if value_json.enabled else 'OFF' }}");
  });

  it('links the device to the UI only when there is a URL', () => {
    const device = (m: DiscoveryMessage) => m.config['device'] as Record<string, unknown>;
    for (const m of discoveryMessages(discoveryInput())) expect(device(m)['configuration_url']).toBe(PUBLIC_URL);
    const noUrl = discoveryMessages(discoveryInput({ box: { ...discoveryInput().box, url: null } }));
    for (const m of noUrl) expect(Object.keys(device(m))).not.toContain('configuration_url');
  });

  it('has only the box entities without sources', () => {
    const sut = discoveryMessages(discoveryInput({ sources: [] }));
    expect(sut.map((m) => m.topic.split('/').slice(1, 4).join('/'))).toEqual([
      'sensor/bridge-north/disk_free',
      'sensor/bridge-north/temperature',
      'sensor/bridge-north/sync_backlog',
      'binary_sensor/bridge-north/problem',
    ]);
  });
});

describe('Outgoing', () => {
  const takeAll = (sut: Outgoing): OutgoingMessage[] => {
    const out: OutgoingMessage[] = [];
    for (let m = sut.take(); m !== null; m = sut.take()) out.push(m);
    return out;
  };
  const payloads = (sut: Outgoing) => takeAll(sut).map((m) => `${m.topic}=${m.payload}`);

  it('keeps only the newest version of a state, retained at QoS 1', () => {
    const sut = new Outgoing();
    sut.state('box/state', '{"v":1}');
    sut.state('box/state', '{"v":2}');
    expect(sut.size).toBe(1);
    expect(sut.hasState('box/state')).toBe(true);
    expect(takeAll(sut)).toEqual([{ topic: 'box/state', payload: '{"v":2}', retain: true, qos: 1 }]);
    expect(sut.hasState('box/state')).toBe(false);
  });

  it('sends in the order queued, a state queued again going last', () => {
    const sut = new Outgoing();
    sut.state('a/state', 'a1');
    sut.event({ topic: 'box/events', payload: 'e1' });
    sut.state('b/state', 'b1');
    sut.event({ topic: 'box/events', payload: 'e2' });
    sut.state('a/state', 'a2');
    expect(payloads(sut)).toEqual(['box/events=e1', 'b/state=b1', 'box/events=e2', 'a/state=a2']);
  });

  it('sends events and replies unretained at QoS 1, with their correlation data', () => {
    const sut = new Outgoing();
    const correlationData = Buffer.from('req-7');
    sut.event({ topic: 'box/north/capture/reply', payload: '{"ok":true}', correlationData });
    expect(sut.take()).toEqual({ topic: 'box/north/capture/reply', payload: '{"ok":true}', retain: false, qos: 1, correlationData });
    expect(sut.take()).toBeNull();
  });

  it('drops the oldest events past the cap, counts them, and keeps the states', () => {
    const sut = new Outgoing(3);
    sut.state('box/state', 's');
    for (let i = 1; i <= 5; i++) sut.event({ topic: 'box/events', payload: `e${i}` });
    expect(sut.dropped).toBe(2);
    expect(sut.size).toBe(4);
    expect(payloads(sut)).toEqual(['box/state=s', 'box/events=e3', 'box/events=e4', 'box/events=e5']);
  });

  it('makes room again for the events taken', () => {
    const sut = new Outgoing(2);
    sut.event({ topic: 'box/events', payload: 'e1' });
    sut.event({ topic: 'box/events', payload: 'e2' });
    expect(sut.take()?.payload).toBe('e1');
    sut.event({ topic: 'box/events', payload: 'e3' });
    expect(sut.dropped).toBe(0);
    expect(payloads(sut)).toEqual(['box/events=e2', 'box/events=e3']);
  });

  it('puts back events in front, in their order, when put back newest first', () => {
    const sut = new Outgoing();
    sut.event({ topic: 'box/events', payload: 'e1' });
    sut.event({ topic: 'box/events', payload: 'e2' });
    const inFlight = [sut.take()!, sut.take()!];
    sut.event({ topic: 'box/events', payload: 'e3' });
    sut.state('box/state', 's');
    for (const m of [...inFlight].reverse()) sut.putBack(m);
    expect(sut.size).toBe(4);
    expect(payloads(sut)).toEqual(['box/events=e1', 'box/events=e2', 'box/events=e3', 'box/state=s']);
  });

  it('drops an event put back into a full queue, as the oldest', () => {
    const sut = new Outgoing(2);
    sut.event({ topic: 'box/events', payload: 'e1' });
    const sent = sut.take()!;
    sut.event({ topic: 'box/events', payload: 'e2' });
    sut.event({ topic: 'box/events', payload: 'e3' });
    sut.putBack(sent);
    expect(sut.dropped).toBe(1);
    expect(payloads(sut)).toEqual(['box/events=e2', 'box/events=e3']);
  });

  it('puts back a state only when no newer version waits', () => {
    const sut = new Outgoing();
    sut.state('box/state', 'old');
    const sent = sut.take()!;
    sut.state('box/state', 'new');
    sut.putBack(sent);
    expect(sut.size).toBe(1);
    expect(payloads(sut)).toEqual(['box/state=new']);

    sut.state('box/north/state', 'n1');
    const lost = sut.take()!;
    sut.putBack(lost);
    expect(takeAll(sut)).toEqual([{ topic: 'box/north/state', payload: 'n1', retain: true, qos: 1 }]);
  });

  it('sends a state queued with stateFirst before everything waiting, replacing its older version', () => {
    const sut = new Outgoing();
    sut.event({ topic: 'box/events', payload: 'e1' });
    sut.state('box/availability', 'offline');
    sut.state('box/state', 's');
    sut.stateFirst('box/availability', 'online');
    expect(sut.size).toBe(3);
    expect(payloads(sut)).toEqual(['box/availability=online', 'box/events=e1', 'box/state=s']);
  });

  it('counts what waits', () => {
    const sut = new Outgoing();
    expect(sut.size).toBe(0);
    expect(sut.take()).toBeNull();
    sut.state('a/state', '1');
    sut.state('b/state', '1');
    sut.state('a/state', '2');
    sut.event({ topic: 'box/events', payload: 'e1' });
    sut.event({ topic: 'box/events', payload: 'e1' });
    expect(sut.size).toBe(4);
    sut.take();
    expect(sut.size).toBe(3);
    expect(sut.dropped).toBe(0);
  });
});
