/**
 * The words of alert and report messages: written in the box's language
 * (`appliance.locale`) when they are made, English in the log; the mail's own words
 * (subject, digest) in the messages' language; times, durations and numbers as
 * each language writes them.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { formatDuration } from '../../daemon/config/duration';
import { createLogger } from '../../daemon/logger';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { AlertService } from '../../daemon/health/alerts';
import { duration, emailDigest, localDateTimeZone } from '../../daemon/health/alert-message';
import type { AlertMessage, AlertStatus } from '../../daemon/domain/alerts';
import type { StorageStatus } from '../../daemon/storage/retention';
import type { TargetStatus } from '../../daemon/sync/sync.service';
import { Catalogs } from '../../daemon/i18n/catalogs';
import { tempDir } from '../helpers/env';

const NB = '\u00a0';
const NNB = '\u202f';
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
/** Monday 23 November 2026, 10:00 in Paris. */
const T0 = Date.parse('2026-11-23T09:00:00Z');
const catalogs = new Catalogs();
const english = catalogs.translator('en');
const french = catalogs.translator('fr');

describe('times and durations', () => {
  it('writes durations in English as the configuration does, in French with units and no-break spaces', () => {
    for (const ms of [MIN, 15 * MIN, 102 * MIN, 26 * 60 * MIN + 5 * MIN, 3 * DAY, 90_000]) expect(duration(ms, english)).toBe(formatDuration(ms));
    expect(duration(102 * MIN, french)).toBe(`1${NB}h${NB}42${NB}min`);
    expect(duration(DAY + 2 * 60 * MIN + 5 * MIN, french)).toBe(`1${NB}j${NB}2${NB}h${NB}5${NB}min`);
  });

  it('writes an instant in the appliance zone: ISO-like in English, "5 déc. 2026 à 23:28" in French, 24-hour', () => {
    const at = Date.parse('2026-12-05T22:28:00Z');
    // The zone's name as the platform's ICU gives it.
    expect(localDateTimeZone(at, 'Europe/Paris', english)).toMatch(/^2026-12-05 23:28 (CET|GMT\+1)$/);
    expect(localDateTimeZone(at, 'Europe/Paris', french)).toBe('5 déc. 2026 à 23:28 UTC+1');
    expect(localDateTimeZone(Date.parse('2026-06-05T13:05:00Z'), 'Europe/Paris', french)).toBe('5 juin 2026 à 15:05 UTC+2');
  });
});

function message(n: number, status: AlertStatus, lang?: string): AlertMessage {
  return {
    type: 'alert',
    appliance: { id: 'bridge-north', name: 'Bridge north' },
    topic: `picture-late:cam${n}`,
    kind: 'picture-late',
    status,
    severity: status === 'recovered' ? 'info' : 'warning',
    sourceId: `cam${n}`,
    targetId: null,
    title: lang === 'fr' ? `photo en retard${NB}: cam${n}` : `picture late: cam${n}`,
    text: `line of cam${n}`,
    ...(lang ? { lang } : {}),
    at: new Date(T0).toISOString(),
    since: new Date(T0).toISOString(),
  };
}

describe('e-mail digest', () => {
  it('keeps the English subjects (a message stored before there was a language is English)', () => {
    expect(emailDigest([message(1, 'raised')], catalogs).subject).toBe('[lapsebox bridge-north] RAISED picture late: cam1');
    expect(emailDigest([message(1, 'raised', 'en'), message(2, 'recovered', 'en'), message(3, 'raised', 'en')], catalogs).subject).toBe(
      '[lapsebox bridge-north] 3 alerts: 2 raised, 1 recovered',
    );
    const report: AlertMessage = { ...message(4, 'report'), type: 'report', kind: 'daily-report', topic: 'report:2026-11-23', title: 'daily report 2026-11-23' };
    expect(emailDigest([report], catalogs).subject).toBe('[lapsebox bridge-north] daily report 2026-11-23');
    expect(emailDigest([message(1, 'reminder'), report], catalogs).subject).toBe('[lapsebox bridge-north] 2 messages: 1 reminder, 1 report');
  });

  it('writes the words around French messages in French', () => {
    expect(emailDigest([message(1, 'raised', 'fr')], catalogs)).toEqual({
      subject: `[lapsebox bridge-north] ALERTE photo en retard${NB}: cam1`,
      text: `photo en retard${NB}: cam1\n\nline of cam1\n`,
    });
    const digest = emailDigest([message(1, 'raised', 'fr'), message(2, 'recovered', 'fr'), message(3, 'raised', 'fr')], catalogs);
    expect(digest.subject).toBe(`[lapsebox bridge-north] 3 alertes${NB}: 2 nouvelles, 1 rétablie`);
    expect(digest.text).toContain(`RÉTABLI photo en retard${NB}: cam2\n`);
    expect(emailDigest([message(1, 'reminder', 'fr'), message(2, 'notice', 'fr')], catalogs).subject).toBe(`[lapsebox bridge-north] 2 alertes${NB}: 1 rappel, 1 avis`);
  });
});

describe('AlertService in the language of appliance.locale', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Repositories;
  let now: number;
  let queued: AlertMessage[];
  let lines: string[];

  const storage: StorageStatus = {
    disk: { path: '/', totalBytes: 1e10, freeBytes: 5e9, freePercent: 50 },
    retention: { maxAgeDays: 0, minFreePercent: 10, reserveMB: 300 },
    low: false,
    paused: null,
    waitingForSync: 0,
    lastPurge: null,
    purged: { pictures: 0, bytes: 0 },
  };
  // A target no longer in the configuration, with files waiting since 22:30 in Paris.
  const targets = [{ id: 'old-hq', activity: 'idle', failingSince: null, lastError: null, lastOk: null, backlog: { pending: 40, bytes: 0, oldestAt: Date.parse('2026-11-23T21:30:00Z'), oldestAgeSeconds: 0 } } as unknown as TargetStatus];

  function service(locale: string): AlertService {
    const config: Config = parseConfig(
      `appliance: { id: bridge-north, name: Bridge north, timezone: Europe/Paris, locale: ${locale} }
storage: { dataDir: ${path.join(tmp.dir, 'data')} }
sources:
  - { id: north, name: North tower, camera: { driver: testpattern }, schedule: { every: 5m } }
alerts: { lateAfter: 15m, quietPeriod: 30m }
`,
      path.join(tmp.dir, 'lapsebox.yaml'),
    ).config;
    store = openRepositories(config.storage.dataDir);
    const log = createLogger({ levels: { level: 'info' }, destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const sut = new AlertService({
      config: () => config,
      store,
      notifier: { enqueue: (m) => (queued.push(m), 1) },
      health: () => null,
      storage: () => storage,
      sync: () => targets,
      log,
      catalogs,
      now: () => now,
    });
    sut.start();
    sut.stop(); // driven by hand below
    return sut;
  }

  /** One check at `at`; the messages it queued. */
  function at(sut: AlertService, ms: number): AlertMessage[] {
    now = ms;
    queued = [];
    sut.check();
    return queued;
  }

  function dayOfPictures(): void {
    for (const [i, minute] of [0, 5, 10].entries()) {
      store.pictures.insert({ sourceId: 'north', takenAt: T0 + minute * MIN, localDate: '2026-11-23', path: `sources/north/pictures/2026-11-23/${i}.jpg`, size: 1000, width: 10, height: 10 });
    }
    store.state.recordFailure('north', T0 + 15 * MIN, 'camera north: timeout', '2026-11-23');
    store.state.recordSkip('north', '2026-11-23', 2);
  }

  beforeEach(() => {
    tmp = tempDir();
    now = T0;
    queued = [];
    lines = [];
  });

  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('writes a raised and a recovered alert in French, and logs them in English', () => {
    const sut = service('fr');
    store.state.recordSuccess('north', T0, 1);
    const [raised] = at(sut, T0 + 20 * MIN);
    expect(raised).toMatchObject({ type: 'alert', topic: 'picture-late:north', kind: 'picture-late', status: 'raised', severity: 'warning', sourceId: 'north', lang: 'fr' });
    expect(raised!.title).toBe(`photo en retard${NB}: north (North tower)`);
    expect(raised!.text).toBe(
      `north (North tower)${NB}: aucune photo depuis le 23 nov. 2026 à 10:00${NNB}; le créneau du 23 nov. 2026 à 10:05 a 15${NB}min de retard\nDepuis le 23 nov. 2026 à 10:20 UTC+1.`,
    );
    expect(lines.join('')).toContain('"msg":"alert raised: north (North tower): no picture since 2026-11-23 10:00; the slot of 2026-11-23 10:05 is 15m late"');
    expect(lines.join('')).toContain('"title":"picture late: north (North tower)"');
    // The status and the stored state keep the English words; a reader of the System page gets theirs.
    expect(sut.active()[0]!.message).toMatch(/^north \(North tower\): no picture since/);
    expect(sut.active(catalogs.translator('fr'))[0]!.message).toBe(`north (North tower)${NB}: aucune photo depuis le 23 nov. 2026 à 10:00${NNB}; le créneau du 23 nov. 2026 à 10:05 a 15${NB}min de retard`);
    expect(sut.active(catalogs.translator('en'))[0]!.message).toBe(sut.active()[0]!.message);

    store.state.recordSuccess('north', T0 + 45 * MIN, 2);
    const [recovered] = at(sut, T0 + 51 * MIN);
    expect(recovered).toMatchObject({ status: 'recovered', severity: 'info', lang: 'fr' });
    expect(recovered!.text).toBe(
      `Retour à la normale après 31${NB}min (alerte déclenchée le 23 nov. 2026 à 10:20 UTC+1).\nC’était${NB}: north (North tower)${NB}: aucune photo depuis le 23 nov. 2026 à 10:00${NNB}; le créneau du 23 nov. 2026 à 10:05 a 15${NB}min de retard`,
    );
    expect(lines.join('')).toContain('"msg":"alert recovered: picture late: north (North tower)"');
  });

  it('keeps the English words exactly when the box speaks English', () => {
    const sut = service('en');
    store.state.recordSuccess('north', T0, 1);
    const [raised] = at(sut, T0 + 20 * MIN);
    expect(raised).toMatchObject({ title: 'picture late: north (North tower)', lang: 'en' });
    expect(raised!.text).toMatch(/^north \(North tower\): no picture since 2026-11-23 10:00; the slot of 2026-11-23 10:05 is 15m late\nSince 2026-11-23 10:20 (CET|GMT\+1)\.$/);
    store.state.recordSuccess('north', T0 + 45 * MIN, 2);
    const [recovered] = at(sut, T0 + 51 * MIN);
    expect(recovered!.text).toMatch(/^Back to normal after 31m \(raised 2026-11-23 10:20 (CET|GMT\+1)\)\.\nIt was: north \(North tower\): no picture since/);

    dayOfPictures();
    const report = sut.dailyReport('2026-11-23');
    expect(report.title).toBe('daily report 2026-11-23');
    expect(report.text.split('\n').slice(0, 5)).toEqual([
      'Daily report for 2026-11-23 (Europe/Paris).',
      '',
      'north (North tower): 3 pictures of 288 slots (1 %), 1 failed captures, 2 slots skipped',
      '',
      'Disk: 50 % free (4768 MB of 9537 MB)',
    ]);
    expect(report.text).toMatch(/\nSync old-hq: 40 files waiting, the oldest since 2026-11-23 22:30 (CET|GMT\+1)\n\nNo alert raised now\.$/);
  });

  it('writes the daily report in French, its figures kept as data', () => {
    const sut = service('fr');
    store.state.recordSuccess('north', T0, 1);
    dayOfPictures();
    const report = sut.dailyReport('2026-11-23');
    expect(report).toMatchObject({ type: 'report', topic: 'report:2026-11-23', kind: 'daily-report', lang: 'fr', details: { day: '2026-11-23', sources: [{ id: 'north', expected: 288, pictures: 3, failures: 1, skipped: 2 }] } });
    expect(report.title).toBe('rapport quotidien du 23 nov. 2026');
    expect(report.text.split('\n')).toEqual([
      'Rapport quotidien du 23 nov. 2026 (Europe/Paris).',
      '',
      `north (North tower)${NB}: 3 photos sur 288 créneaux (1${NB}%), 1 prise de vue échouée, 2 créneaux sautés`,
      '',
      `Disque${NB}: 50${NB}% libres (4${NNB}768${NB}Mo sur 9${NNB}537${NB}Mo)`,
      `Synchronisation old-hq${NB}: 40 fichiers en attente, le plus ancien depuis le 23 nov. 2026 à 22:30 UTC+1`,
      '',
      'Aucune alerte en cours.',
    ]);
    expect(emailDigest([report], catalogs).subject).toBe('[lapsebox bridge-north] rapport quotidien du 23 nov. 2026');
  });
});
