/**
 * Progress e-mails end to end inside the daemon's services: the progress service on a
 * clock moved to its slots, real SQLite, real pictures through the real pipeline and
 * sharp, real share links opened over the real web app, and a real SMTP server
 * (smtp-server) that keeps what it receives, stopped and started again for outages.
 */
import path from 'node:path';
import sharp from 'sharp';
import { DateTime } from 'luxon';
import type { LoadedConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { buildShares } from '../../daemon/compose/stacks';
import { ProgressService, EMAIL_PICTURE_WIDTH } from '../../daemon/progress/progress.service';
import { StatusService } from '../../daemon/status.service';
import type { ShareService } from '../../daemon/shares/share.service';
import type { Listener } from '../../web/server';
import { tempDir } from '../helpers/env';
import { scene, seedPictures, pictureServices } from '../helpers/videos';
import { accessServices, addUsers, progressService, startWeb, TEST_ACTOR, writeYamlConfig } from '../helpers/web';
import { loadOpenApi, OpenApiSchemas } from '../helpers/openapi';
import { mimeLeaves, parseMime, startSmtp, type Mail, type MimePart } from '../helpers/alert-receivers';

const TZ = 'Europe/Paris';
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const PASSWORD = 'progress-test-password';
const paris = (text: string) => DateTime.fromISO(text, { zone: TZ }).toMillis();
/** Monday 23 November 2026, 08:00 in Paris: the weekly slot. */
const SLOT = paris('2026-11-23T08:00');

describe('progress e-mails', () => {
  let tmp: ReturnType<typeof tempDir>;
  let loaded: LoadedConfig;
  let store: Repositories;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let smtpPort: number;
  let server: Listener;
  let base: string;
  let shares: ShareService;
  let sut: ProgressService;
  let now: number;

  const config = (): Config => loaded.config;
  const lines = (publicUrl: string, progress: string, extra: string[] = []) => [
    `web: { publicUrl: "${publicUrl}" }`,
    'sources:',
    '  - id: north',
    '    name: North <tower> & "crane"',
    '    camera: { driver: testpattern, width: 1280, height: 720 }',
    '    image:',
    '      legend: { text: "{source} {date} {time}" }',
    '      watermark: { file: logo.png, position: bottom-right, opacity: 1, scale: 0.2 }',
    `    progress: ${progress}`,
    ...extra,
    'alerts:',
    `  email: { smtp: { host: 127.0.0.1, port: ${smtpPort} }, from: box@bridge.example, to: [ops@bridge.example] }`,
  ];
  const configure = (progress: string, extra: string[] = [], publicUrl = base) => {
    loaded = writeYamlConfig(tmp.dir, TZ, lines(publicUrl, progress, extra));
  };
  const WEEKLY = '{ to: [site@example.com], group: client, every: week, day: mon, at: "08:00" }';

  const service = (): ProgressService =>
    progressService(config, store, shares, pictureServices(config(), store).sizes, { now: () => now, retry: { baseMs: 10 * MIN, capMs: 20 * MIN, giveUpAfterMs: 2 * HOUR } });

  /** One pass of the service at `at`. */
  async function at(ms: number): Promise<void> {
    now = ms;
    await sut.check();
  }

  const leaves = (mail: Mail): MimePart[] => mimeLeaves(parseMime(mail.raw));
  const textOf = (mail: Mail) => leaves(mail).find((p) => p.type === 'text/plain')!.body.toString('utf8');
  const htmlOf = (mail: Mail) => leaves(mail).find((p) => p.type === 'text/html')!.body.toString('utf8');
  const linkOf = (mail: Mail) => /https?:\/\/\S+\/s\/[A-Za-z0-9_-]{32}/.exec(textOf(mail))![0];

  beforeAll(async () => {
    tmp = tempDir();
    smtp = await startSmtp();
    smtpPort = smtp.port;
    // A pure blue watermark: the e-mail's pictures are checked for it in their corner.
    await sharp({ create: { width: 100, height: 50, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 1 } } }).png().toFile(path.join(tmp.dir, 'logo.png'));
    base = 'http://127.0.0.1:1';
    configure(WEEKLY);
    store = openRepositories(config().storage.dataDir);
    await addUsers(store, config, PASSWORD, { carla: ['customer', { north: 'view' }], dan: ['customer'], dora: ['director'] });
    const { users, access } = accessServices(config, store);
    users.setEmail('carla', 'carla@client.example', TEST_ACTOR);
    access.addGroup('client', TEST_ACTOR);
    access.addMember('client', 'carla', TEST_ACTOR);
    access.addMember('client', 'dan', TEST_ACTOR);
    // A picture every twelve hours from Monday 16 November to Monday 23, 07:00.
    const times = Array.from({ length: 15 }, (_, i) => paris('2026-11-16T07:00') + i * 12 * HOUR);
    await seedPictures(config(), store, 'north', times, (i) => scene(1280, 720, 1, i * 5));
    now = paris('2026-11-22T20:00');
    shares = buildShares({ config, store, grantsFor: (user) => accessServices(config, store).access.grantsFor(user), now: () => now });
    sut = service();
    const { sizes } = pictureServices(config(), store);
    const status = new StatusService({ config, pictures: store.pictures, state: store.state, live: null, progress: () => sut.status(), now: () => now });
    ({ server, base } = await startWeb(config, store, { sizes, capture: { capture: () => Promise.reject(new Error('no camera here')), isBusy: () => false }, shares, status, progress: { status: () => sut.status(), sendNow: (id, who) => sut.sendNow(id, who) } }));
    configure(WEEKLY);
  }, 60_000);

  afterAll(async () => {
    await sut?.stop();
    await server?.close();
    await smtp?.close();
    store?.close();
    tmp?.cleanup();
  });

  it('sends the weekly e-mail once, at its slot: HTML and text, the picture inline as the HTML refers to it, to the addresses and the group, with a working absolute link', async () => {
    await at(paris('2026-11-22T20:00')); // the rhythm is first seen: it starts at its next slot
    await at(SLOT - 30_000);
    expect(smtp.mails).toHaveLength(0);
    await at(SLOT + 20_000);
    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails as [Mail];
    expect(mail.from).toBe('box@bridge.example');
    expect(mail.to).toEqual(['site@example.com', 'carla@client.example']);
    // Nobody sees the other recipients' addresses.
    expect(mail.headers.get('to')).toBe('"undisclosed-recipients":;');
    expect(mail.raw).not.toContain('carla@client.example');
    expect(decodeWords(mail.headers.get('subject')!)).toBe('North <tower> & "crane" (box): progress on Monday 23 November 2026');

    const parts = leaves(mail);
    expect(parts.map((p) => p.type)).toEqual(['text/plain', 'text/html', 'image/jpeg']);
    const html = htmlOf(mail);
    const picture = parts[2]!;
    const cid = picture.headers.get('content-id')!.replace(/^<|>$/g, '');
    expect(html).toContain(`src="cid:${cid}"`);
    expect(picture.headers.get('content-disposition')).toMatch(/^inline/);
    // At the e-mail's width, from the newest picture (07:00), watermarked in its corner like a customer sees it.
    const meta = await sharp(picture.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', EMAIL_PICTURE_WIDTH, 540]);
    // (stats() reads the whole input: the corner is cut out first.)
    const corner = await sharp(await sharp(picture.body).extract({ left: 960 - 150, top: 540 - 60, width: 100, height: 30 }).toBuffer()).stats();
    expect(corner.channels[2]!.mean).toBeGreaterThan(200);
    expect(corner.channels[0]!.mean).toBeLessThan(60);
    // The names are escaped in the HTML and whole in the text.
    expect(html).toContain('North &lt;tower&gt; &amp; &quot;crane&quot;');
    expect(html).not.toContain('<tower>');
    const text = textOf(mail);
    expect(text).toContain('North <tower> & "crane", Monday 23 November 2026 at 07:00');
    expect(text).toContain('You receive this e-mail every Monday at 08:00');

    const link = linkOf(mail);
    expect(link.startsWith(`${base}/s/`)).toBe(true);
    expect(html).toContain(`href="${link}"`);
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    // A gallery from the start of the week, at the level the director chose.
    const share = store.shares.get(store.progress.history('north').lastSent!.shareId!)!;
    expect([share.scope, share.level, share.fromDate, share.toDate, share.createdBy, share.ownerId]).toEqual(['gallery', 'view', '2026-11-16', null, 'progress:north', null]);
    expect(share.expiresAt - share.createdAt).toBe(9 * DAY);

    // Once per slot, whatever the passes.
    await at(SLOT + 5 * MIN);
    expect(smtp.mails).toHaveLength(1);
    const [status] = sut.status();
    expect(status).toMatchObject({
      sourceId: 'north',
      rhythm: 'every Monday at 08:00',
      recipients: ['site@example.com', 'carla@client.example'],
      withoutAddress: ['dan'],
      problem: null,
      nextAt: new Date(paris('2026-11-30T08:00')).toISOString(),
      lastSent: { at: new Date(SLOT + 20_000).toISOString(), recipients: 2 },
      pending: null,
      lastProblem: null,
      failed: 0,
    });
  });

  it('revokes the previous link when the next e-mail goes: it answers 410, the new one 200', async () => {
    const first = linkOf(smtp.mails[0]!);
    await seedPictures(config(), store, 'north', [paris('2026-11-29T12:00')], () => scene(1280, 720, 1.1, 3));
    await at(paris('2026-11-30T08:00') + 10_000);
    expect(smtp.mails).toHaveLength(2);
    const second = linkOf(smtp.mails[1]!);
    expect(second).not.toBe(first);
    expect((await fetch(first)).status).toBe(410);
    expect((await fetch(second)).status).toBe(200);
  });

  it('retries a send the SMTP server refuses, shows the error on the System page, and delivers when the server is back', async () => {
    await smtp.close();
    now = paris('2026-12-01T10:00');
    const res = await fetch(`${base}/api/sources/north/progress/send`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`dora:${PASSWORD}`).toString('base64')}`, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(201);
    const answer = (await res.json()) as { email: { state: string; attempts: number; error: string; nextAttemptAt: string } };
    const { email } = answer;
    // The answers as docs/openapi.yaml describes them.
    const schemas = new OpenApiSchemas(loadOpenApi(path.join(__dirname, '..', '..', 'docs', 'openapi.yaml')));
    expect(schemas.problemsOf('ProgressEmail', email)).toEqual([]);
    expect(email).toMatchObject({ state: 'pending', attempts: 1, error: `SMTP 127.0.0.1:${smtpPort} refused the connection (check alerts.email.smtp.host and port)` });
    const retryAt = Date.parse(email.nextAttemptAt);
    expect(retryAt - now).toBeGreaterThanOrEqual(5 * MIN);
    expect(retryAt - now).toBeLessThanOrEqual(10 * MIN);

    const system = await fetch(`${base}/api/system`, { headers: { authorization: `Basic ${Buffer.from(`dora:${PASSWORD}`).toString('base64')}` } });
    const systemStatus = (await system.json()) as { progress: { pending: { attempts: number; lastError: string; nextAttemptAt: string } | null }[] };
    expect(schemas.problemsOf('SystemStatus', systemStatus)).toEqual([]);
    const { progress } = systemStatus;
    expect(progress[0]!.pending).toMatchObject({ attempts: 1, lastError: expect.stringContaining('refused the connection') as string, nextAttemptAt: email.nextAttemptAt });
    // The failed try's link was never received: it is revoked; the last e-mail's link still opens.
    expect((await fetch(linkOf(smtp.mails[1]!))).status).toBe(200);

    // Not before its time; then the server is back on the same port and the e-mail goes.
    await at(retryAt - 1000);
    smtp = await restartSmtp(smtp.mails);
    await at(retryAt - 500);
    expect(smtp.mails).toHaveLength(2);
    await at(retryAt + 1000);
    expect(smtp.mails).toHaveLength(3);
    expect(textOf(smtp.mails[2]!)).toContain('Sent on request from the timelapse camera');
    // Who asked is in the audit trail, with what came of the first try.
    const asked = store.audit.query({ limit: 5, action: 'progress.send' })[0]!;
    expect(asked).toMatchObject({ actor: 'user:dora', target: 'north', newValue: { state: 'pending', recipients: 2, error: expect.stringContaining('refused the connection') as string } });
    const [status] = sut.status();
    expect(status!.pending).toBeNull();
    expect(status!.lastSent!.at).toBe(new Date(retryAt + 1000).toISOString());
    expect((await fetch(linkOf(smtp.mails[1]!))).status).toBe(410);
    expect((await fetch(linkOf(smtp.mails[2]!))).status).toBe(200);
  });

  it('gives an e-mail up after its bound, and says so', async () => {
    await smtp.close();
    now = paris('2026-12-02T10:00');
    const queued = await sut.sendNow('north', { actor: 'test' });
    expect(queued.state).toBe('pending');
    const start = now;
    for (let t = start + 20 * MIN; t < start + 3 * HOUR; t += 20 * MIN) await at(t);
    const [status] = sut.status();
    expect(status!.pending).toBeNull();
    expect(status!.failed).toBe(1);
    expect(status!.lastProblem).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^given up after \d+ attempt\(s\) in 2h\d*m?; last error: SMTP 127\.0\.0\.1:\d+ refused the connection/) as string });
    smtp = await restartSmtp(smtp.mails);
  });

  it('never sends twice an e-mail a crash interrupted: given up at the next start, with why', async () => {
    const before = smtp.mails.length;
    now = paris('2026-12-03T09:00');
    const id = store.progress.queueNow('north', now);
    store.progress.startSending(id, now, { shareId: null, content: { kind: 'latest', picture: 1, from: '2026-12-02' }, recipients: 2 });
    const restarted = service();
    restarted.start();
    await restarted.stop();
    expect(store.progress.get(id)).toMatchObject({ state: 'failed', sendingSince: null, lastError: expect.stringContaining('it may have arrived, so it is not sent again') as string });
    await at(now + HOUR);
    expect(smtp.mails).toHaveLength(before);
  });

  it('sends a slot missed with the box off on start within the grace, once; notes an older one as missed', async () => {
    const before = smtp.mails.length;
    await seedPictures(config(), store, 'north', [paris('2026-12-06T12:00')], () => scene(1280, 720, 1, 9));
    // The box was off at 08:00 on Monday 7 December and starts at 14:00: sent late, once.
    await at(paris('2026-12-07T14:00'));
    await at(paris('2026-12-07T14:05'));
    expect(smtp.mails).toHaveLength(before + 1);
    // Off from Sunday 13 to Tuesday 15: Monday's slot is noted as missed, nothing is sent.
    await seedPictures(config(), store, 'north', [paris('2026-12-13T12:00')], () => scene(1280, 720, 1, 11));
    await at(paris('2026-12-15T09:00'));
    expect(smtp.mails).toHaveLength(before + 1);
    expect(sut.status()[0]!.lastProblem).toMatchObject({ state: 'skipped', reason: expect.stringMatching(/^missed: the daemon was not running at 2026-12-14T07:00:00.000Z nor within 12h after/) as string });
  });

  it('skips, with the reason on the System page, an e-mail that has nothing to show, and sends a comparison as two pictures', async () => {
    const before = smtp.mails.length;
    configure('{ to: [site@example.com], every: day, at: "08:00", content: film }');
    await at(paris('2026-12-15T10:00')); // a changed rhythm starts at its next slot
    await at(paris('2026-12-16T08:00:30'));
    expect(smtp.mails).toHaveLength(before);
    expect(sut.status()[0]!.lastProblem).toMatchObject({ state: 'skipped', reason: 'no film yet: turn on a daily or weekly timelapse, or build one' });
    // No picture in the last day: said, not sent.
    configure('{ to: [site@example.com], every: day, at: "08:00", content: compare, compareDays: 2, level: download }');
    await at(paris('2026-12-16T09:00'));
    await at(paris('2026-12-17T08:00:30'));
    expect(smtp.mails).toHaveLength(before);
    expect(sut.status()[0]!.lastProblem!.reason).toBe('no picture taken since 2026-12-16T07:00:00.000Z: the newest is from 2026-12-13T11:00:00.000Z (is the camera working?)');
    // A new picture, but none from around two days before it.
    await seedPictures(config(), store, 'north', [paris('2026-12-18T07:30')], () => scene(1280, 720, 1.2, 13));
    await at(paris('2026-12-18T08:00:30'));
    expect(smtp.mails).toHaveLength(before);
    expect(sut.status()[0]!.lastProblem!.reason).toBe('no picture from around 2026-12-16 to compare with (2 days before the newest)');
    await seedPictures(config(), store, 'north', [paris('2026-12-19T07:30')], () => scene(1280, 720, 1.2, 15));
    configure('{ to: [site@example.com], every: day, at: "08:00", content: compare, compareDays: 5, level: download }');
    await at(paris('2026-12-19T08:00:30'));
    expect(smtp.mails).toHaveLength(before + 1);
    const mail = smtp.mails[before]!;
    const images = leaves(mail).filter((p) => p.type === 'image/jpeg');
    expect(images).toHaveLength(2);
    const html = htmlOf(mail);
    const cids = images.map((p) => p.headers.get('content-id')!.replace(/^<|>$/g, ''));
    expect(html.indexOf(`cid:${cids[0]}`)).toBeGreaterThan(0);
    expect(html.indexOf(`cid:${cids[0]}`)).toBeLessThan(html.indexOf(`cid:${cids[1]}`));
    expect(textOf(mail)).toContain('Before: Sunday 13 December 2026 at 12:00');
    const share = store.shares.get(store.progress.history('north').lastSent!.shareId!)!;
    expect([share.scope, share.level, share.expiresAt - share.createdAt]).toEqual(['compare', 'download', 2 * DAY]);
    expect((await fetch(linkOf(mail))).status).toBe(200);
  });

  /** A header's RFC 2047 encoded words decoded (nodemailer encodes what is not plain ASCII text). */
  function decodeWords(header: string): string {
    return header.replace(/\?=\s+=\?/g, '?==?').replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_, mode: string, data: string) =>
      mode.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8'),
    );
  }

  async function restartSmtp(kept: Mail[]) {
    const again = await startSmtp(undefined, smtpPort);
    again.mails.push(...kept);
    return again;
  }
});
