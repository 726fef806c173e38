/**
 * The notifier against a real HTTP receiver and a real SMTP server on loopback, with
 * a real SQLite file: what arrives, in which order, how often, after failures,
 * timeouts and restarts, and that no secret reaches an error or a log line.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { parseConfig } from '../../daemon/config/load';
import type { Config } from '../../daemon/config/schema';
import { createLogger } from '../../daemon/logger';
import { packageVersion } from '../../daemon/package-info';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import type { AlertMessage, AlertStatus } from '../../daemon/domain/alerts';
import { WebhookChannel } from '../../daemon/health/channels';
import { Notifier, type NotifierDeps, type RetryPolicy } from '../../daemon/health/notifier';
import { freePort, tempDir, waitFor } from '../helpers/env';
import { startReceiver, startSmtp } from '../helpers/alert-receivers';

const FAST: RetryPolicy = { baseMs: 50, capMs: 200, giveUpAfterMs: 3_600_000 };
const T0 = Date.parse('2026-11-23T08:00:00Z');
const HEADER_SECRET = 'h3ader-secret-value';
const QUERY_SECRET = 'tok3n-in-the-query';
const SMTP_PASSWORD = 'Wr0ng-Passw0rd!';

function message(n: number, status: AlertStatus = 'raised'): AlertMessage {
  return {
    type: 'alert',
    appliance: { id: 'bridge-north', name: 'Bridge north' },
    topic: `picture-late:cam${n}`,
    kind: 'picture-late',
    status,
    severity: 'warning',
    sourceId: `cam${n}`,
    targetId: null,
    title: `picture late: cam${n} (Camera ${n})`,
    text: `No picture from cam${n} since 08:00.\nThe last one is from 07:55.`,
    at: new Date(T0 + n * 60_000).toISOString(),
    since: new Date(T0).toISOString(),
  };
}

describe('Notifier', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Repositories;
  let config: Config;
  let lines: string[];
  const notifiers: Notifier[] = [];
  const closers: (() => Promise<void>)[] = [];

  const configure = (alerts: Record<string, unknown>): Config => {
    config = parseConfig(
      stringify({
        appliance: { id: 'bridge-north', name: 'Bridge north', timezone: 'Europe/Paris' },
        storage: { dataDir: path.join(tmp.dir, 'data') },
        sources: [{ id: 'north', camera: { driver: 'testpattern' } }],
        alerts,
      }),
      path.join(tmp.dir, 'lapsebox.yaml'),
    ).config;
    return config;
  };
  const webhookAt = (url: string) => ({ url: `${url}?token=${QUERY_SECRET}`, headers: { Authorization: `Bearer ${HEADER_SECRET}`, 'X-Box': 'north' } });
  const emailAt = (port: number, login?: { username: string; password: string }) => ({
    smtp: { host: '127.0.0.1', port, ...login },
    from: 'box@example.com',
    to: ['ops@example.com', 'night@example.com'],
  });
  const notifier = (deps: Partial<NotifierDeps> = {}): Notifier => {
    const log = createLogger({ levels: { level: 'debug' }, destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const sut = new Notifier({ config: () => config, repo: store.notifications, log, retry: FAST, ...deps });
    notifiers.push(sut);
    return sut;
  };
  const receiver = async (port?: number) => {
    const r = await startReceiver(port);
    closers.push(r.close);
    return r;
  };
  const smtp = async (users?: Record<string, string>) => {
    const s = await startSmtp(users);
    closers.push(s.close);
    return s;
  };
  const rows = () => store.notifications.recent(100).reverse();
  const logText = () => lines.join('');

  beforeEach(() => {
    tmp = tempDir();
    store = openRepositories(path.join(tmp.dir, 'data'));
    lines = [];
  });

  afterEach(async () => {
    for (const n of notifiers.splice(0)) await n.stop();
    for (const close of closers.splice(0)) await close();
    store.close();
    tmp.cleanup();
  });

  it('posts each message as JSON with the configured headers and its user agent, and queues nothing without a channel', async () => {
    const hook = await receiver();
    configure({ webhook: webhookAt(hook.url) });
    const sut = notifier();

    expect(sut.enqueue(message(1))).toBe(1);
    await sut.flush();

    expect(hook.requests).toHaveLength(1);
    const [request] = hook.requests;
    expect(request).toMatchObject({ method: 'POST', url: `/hook?token=${QUERY_SECRET}` });
    expect(request!.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': `lapsebox/${packageVersion()}`,
      authorization: `Bearer ${HEADER_SECRET}`,
      'x-box': 'north',
    });
    expect(JSON.parse(request!.body)).toEqual(message(1));
    expect(rows()).toMatchObject([{ channel: 'webhook', topic: 'picture-late:cam1', state: 'sent', attempts: 0, payload: message(1) }]);
    expect(sut.status()).toMatchObject({ webhook: { configured: true, destination: new URL(hook.url).origin, pending: 0, lastError: null, lastSentAt: expect.any(String) }, email: null });
    // The origin only: Slack- and Teams-style webhooks carry their token in the path.
    expect(sut.status().webhook!.destination).not.toContain(QUERY_SECRET);

    configure({});
    expect(sut.enqueue(message(2))).toBe(0);
    expect(rows()).toHaveLength(1);
  });

  it('retries a receiver that answers 500 with backoff, then delivers each message once and in order', async () => {
    const hook = await receiver();
    // The receiver echoes the token it got: the error must not carry it on.
    hook.answer((n, req) => (n <= 2 ? { status: 500, body: `database is down\n(you sent ${req.headers.authorization ?? ''})` } : { status: 200 }));
    configure({ webhook: webhookAt(hook.url) });
    const sut = notifier();
    sut.start();

    sut.enqueue(message(1));
    sut.enqueue(message(2));
    sut.enqueue(message(3));
    await waitFor('the messages delivered', () => store.notifications.status('webhook').pending === 0);

    const topics = hook.requests.map((r) => (JSON.parse(r.body) as AlertMessage).topic);
    expect(topics).toEqual(['picture-late:cam1', 'picture-late:cam1', 'picture-late:cam1', 'picture-late:cam2', 'picture-late:cam3']);
    expect(hook.delivered()).toEqual(['picture-late:cam1', 'picture-late:cam2', 'picture-late:cam3']);
    const [first, second, third] = rows();
    expect(first).toMatchObject({ state: 'sent', attempts: 2, lastError: expect.stringMatching(/^webhook http:\/\/127\.0\.0\.1:\d+ answered 500: database is down \(you sent \*\*\*\)$/) });
    expect(second).toMatchObject({ state: 'sent', attempts: 0, lastError: null });
    expect(third).toMatchObject({ state: 'sent', attempts: 0 });
    expect(first!.sentAt).toBeLessThanOrEqual(second!.sentAt!);

    expect(lines.some((l) => l.includes('"level":"warn"') && l.includes('answered 500'))).toBe(true);
    expect(lines.some((l) => l.includes('takes messages again after 2 failure(s)'))).toBe(true);
    expect(logText()).not.toContain(HEADER_SECRET);
    expect(logText()).not.toContain(QUERY_SECRET);
  });

  it('sends the messages due together as one plain-text mail to every recipient', async () => {
    const server = await smtp();
    configure({ email: emailAt(server.port) });
    const sut = notifier();

    expect(sut.enqueue(message(1))).toBe(1);
    sut.enqueue(message(2));
    sut.enqueue(message(3, 'recovered'));
    await sut.flush();

    expect(server.mails).toHaveLength(1);
    const [mail] = server.mails;
    expect(mail!.from).toBe('box@example.com');
    expect(mail!.to).toEqual(['ops@example.com', 'night@example.com']);
    expect(mail!.headers.get('subject')).toBe('[lapsebox bridge-north] 3 alerts: 2 raised, 1 recovered');
    expect(mail!.headers.get('to')).toBe('ops@example.com, night@example.com');
    expect(mail!.headers.get('from')).toBe('lapsebox Bridge north <box@example.com>');
    expect(mail!.headers.get('content-type')).toMatch(/^text\/plain/);
    for (const [n, word] of [[1, 'RAISED'], [2, 'RAISED'], [3, 'RECOVERED']] as const) {
      expect(mail!.body).toContain(`${word} picture late: cam${n} (Camera ${n})`);
      expect(mail!.body).toContain(`No picture from cam${n} since 08:00.\nThe last one is from 07:55.`);
    }
    expect(mail!.body.indexOf('cam1')).toBeLessThan(mail!.body.indexOf('cam3'));
    expect(rows().map((r) => [r.channel, r.state])).toEqual([['email', 'sent'], ['email', 'sent'], ['email', 'sent']]);

    // One message alone keeps its own subject.
    sut.enqueue(message(4, 'recovered'));
    await sut.flush();
    sut.enqueue({ ...message(5, 'report'), type: 'report', topic: 'report:2026-11-23', kind: 'daily-report', severity: 'info', title: 'daily report 2026-11-23', details: { pictures: 288 } });
    await sut.flush();
    expect(server.mails.map((m) => m.headers.get('subject'))).toEqual([
      '[lapsebox bridge-north] 3 alerts: 2 raised, 1 recovered',
      '[lapsebox bridge-north] RECOVERED picture late: cam4 (Camera 4)',
      '[lapsebox bridge-north] daily report 2026-11-23',
    ]);
  });

  it('says the SMTP server refused the login, without the password anywhere, and tries at once when the settings change', async () => {
    const server = await smtp({ 'box-user': 'right-passw0rd' });
    configure({ email: emailAt(server.port, { username: 'box-user', password: SMTP_PASSWORD }) });
    const sut = notifier({ retry: { ...FAST, baseMs: 3_600_000, capMs: 3_600_000 } });

    sut.enqueue(message(1));
    await sut.flush();

    expect(server.mails).toHaveLength(0);
    const [row] = rows();
    expect(row).toMatchObject({ state: 'pending', attempts: 1, lastError: expect.stringMatching(/^SMTP 127\.0\.0\.1:\d+ refused the login: 535 .*\(check alerts\.email\.smtp\.username and password\)$/) });
    expect(sut.status().email).toMatchObject({ activity: 'retrying', pending: 1, failures: 1, lastError: row!.lastError, nextAttemptAt: expect.any(String) });
    const secrets = [SMTP_PASSWORD, Buffer.from(SMTP_PASSWORD).toString('base64'), Buffer.from(`\0box-user\0${SMTP_PASSWORD}`).toString('base64')];
    for (const secret of secrets) {
      expect(row!.lastError).not.toContain(secret);
      expect(logText()).not.toContain(secret);
    }
    expect(lines.some((l) => l.includes('"level":"warn"') && l.includes('refused the login'))).toBe(true);

    // Backing off for an hour, but the password was fixed (a reload): tried at once.
    configure({ email: emailAt(server.port, { username: 'box-user', password: 'right-passw0rd' }) });
    await sut.flush();
    expect(server.mails).toHaveLength(1);
    expect(rows()).toMatchObject([{ state: 'sent', attempts: 1 }]);
  });

  it('delivers the messages an earlier run left pending, after a restart', async () => {
    const port = await freePort();
    configure({ webhook: webhookAt(`http://127.0.0.1:${port}/hook`) });
    const first = notifier();
    first.enqueue(message(1));
    first.enqueue(message(2));
    await first.flush();
    expect(rows()[0]).toMatchObject({ state: 'pending', attempts: 1, lastError: expect.stringMatching(/^webhook http:\/\/127\.0\.0\.1:\d+: 127\.0\.0\.1:\d+ refused the connection/) });
    await first.stop();
    store.close();

    const hook = await receiver(port);
    store = openRepositories(path.join(tmp.dir, 'data'));
    const sut = notifier();
    sut.start();
    await waitFor('the pending messages delivered', () => store.notifications.status('webhook').pending === 0);

    expect(hook.delivered()).toEqual(['picture-late:cam1', 'picture-late:cam2']);
    expect(rows()).toMatchObject([{ state: 'sent', attempts: 1 }, { state: 'sent', attempts: 0 }]);
  });

  it('gives up a message still not delivered when the deadline has passed', async () => {
    let now = T0;
    const hook = await receiver();
    hook.answer(() => ({ status: 503, body: 'maintenance' }));
    configure({ webhook: webhookAt(hook.url) });
    const sut = notifier({ now: () => now, retry: { baseMs: 60_000, capMs: 60_000, giveUpAfterMs: 3_600_000 } });

    sut.enqueue(message(1));
    await sut.flush();
    now += 30 * 60_000;
    await sut.flush();
    expect(rows()).toMatchObject([{ state: 'pending', attempts: 2 }]);
    expect(lines.some((l) => l.includes('"level":"error"'))).toBe(false);

    now = T0 + 3_600_000 + 1;
    await sut.flush();

    expect(hook.requests).toHaveLength(2);
    expect(rows()).toMatchObject([{ state: 'failed', attempts: 2, sentAt: null, lastError: expect.stringMatching(/^not delivered within 1h; last error: webhook http:\/\/127\.0\.0\.1:\d+ answered 503: maintenance$/) }]);
    expect(lines.some((l) => l.includes('"level":"error"') && l.includes('gave up 1 webhook message(s) not delivered within 1h') && l.includes('picture-late:cam1'))).toBe(true);
    expect(sut.status().webhook).toMatchObject({ pending: 0, failed: 1 });

    // The next message is not held back by the one given up.
    hook.answer(() => ({ status: 204 }));
    sut.enqueue(message(2));
    await sut.flush();
    expect(rows().map((r) => r.state)).toEqual(['failed', 'sent']);
  });

  it('stops waiting for a webhook that does not answer at the timeout', async () => {
    const hook = await receiver();
    hook.answer(() => 'hang');
    configure({ webhook: webhookAt(hook.url) });
    const sut = notifier({ channels: { webhook: (cfg) => new WebhookChannel(cfg, { timeoutMs: 300 }) } });

    sut.enqueue(message(1));
    const started = Date.now();
    await sut.flush();

    expect(Date.now() - started).toBeLessThan(3_000);
    expect(rows()).toMatchObject([{ state: 'pending', attempts: 1, lastError: expect.stringMatching(/^webhook http:\/\/127\.0\.0\.1:\d+ did not answer within 0\.3 s$/) }]);
  });

  it('does not follow a redirect', async () => {
    const hook = await receiver();
    hook.answer((n) => (n === 1 ? { status: 302, headers: { location: `/elsewhere?token=${QUERY_SECRET}` } } : { status: 200 }));
    configure({ webhook: webhookAt(hook.url) });
    const sut = notifier();

    sut.enqueue(message(1));
    await sut.flush();

    expect(hook.requests.map((r) => r.url)).toEqual([`/hook?token=${QUERY_SECRET}`]);
    expect(rows()[0]!.lastError).toMatch(/^webhook http:\/\/127\.0\.0\.1:\d+ answered 302, a redirect to http:\/\/127\.0\.0\.1:\d+\/elsewhere, which is not followed/);
  });

  it('keeps the messages of a channel removed from the configuration, says so once, and sends them when it is back', async () => {
    const hook = await receiver();
    configure({ webhook: webhookAt(hook.url) });
    const sut = notifier();
    sut.enqueue(message(1));

    configure({});
    await sut.flush();
    await sut.flush();
    expect(hook.requests).toHaveLength(0);
    expect(rows()).toMatchObject([{ state: 'pending', attempts: 0 }]);
    expect(lines.filter((l) => l.includes('no longer configured'))).toHaveLength(1);
    expect(sut.status().webhook).toMatchObject({ configured: false, activity: 'not-configured', pending: 1 });

    configure({ webhook: webhookAt(hook.url) });
    await sut.flush();
    expect(hook.delivered()).toEqual(['picture-late:cam1']);
    expect(sut.status().webhook).toMatchObject({ configured: true, pending: 0 });
  });

  it('lets a delivery in flight finish when stopped', async () => {
    const hook = await receiver();
    hook.answer(() => ({ status: 200, delayMs: 400 }));
    configure({ webhook: webhookAt(hook.url) });
    const sut = notifier();
    sut.start();

    sut.enqueue(message(1));
    await waitFor('the request', () => hook.requests.length === 1);
    await sut.stop();

    expect(rows()).toMatchObject([{ state: 'sent', attempts: 0 }]);
  });
});
