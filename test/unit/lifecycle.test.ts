import { createLogger } from '../../daemon/logger';
import { Lifecycle, service, ServiceStartError, StoppedWhileStarting, type Service } from '../../daemon/lifecycle';

/** A log that keeps its lines. */
function recordingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ levels: { level: 'info' }, journal: false, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
  return { log, lines };
}

/** Services that write what happens to them into one list. */
function recorder() {
  const events: string[] = [];
  const make = (name: string, how: { start?: () => Promise<void> | void; stop?: () => Promise<void> | void } = {}): Service =>
    service(
      name,
      async () => {
        events.push(`start ${name}`);
        await how.start?.();
      },
      async () => {
        events.push(`stop ${name}`);
        await how.stop?.();
        events.push(`stopped ${name}`);
      },
    );
  return { events, make };
}

const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('Lifecycle', () => {
  it('starts services in the order given and stops them in reverse, each stop awaited before the next', async () => {
    const { events, make } = recorder();
    const { log } = recordingLog();
    const sut = new Lifecycle([make('database'), make('capture', { stop: () => tick(20) }), make('schedule')], log);

    await sut.start();
    expect(events).toEqual(['start database', 'start capture', 'start schedule']);
    events.length = 0;
    await sut.stop();
    expect(events).toEqual(['stop schedule', 'stopped schedule', 'stop capture', 'stopped capture', 'stop database', 'stopped database']);
  });

  it('starts the services of a stage in order and stops them together, between the stages around it', async () => {
    const { events, make } = recorder();
    const { log } = recordingLog();
    const sut = new Lifecycle([make('database'), [make('capture', { stop: () => tick(30) }), make('web', { stop: () => tick(10) })], make('schedule')], log);

    await sut.start();
    expect(events).toEqual(['start database', 'start capture', 'start web', 'start schedule']);
    events.length = 0;
    await sut.stop();
    // Both stops begin before either ends: the web closes while the capture has its grace.
    expect(events).toEqual(['stop schedule', 'stopped schedule', 'stop web', 'stop capture', 'stopped web', 'stopped capture', 'stop database', 'stopped database']);
  });

  it('when a service cannot start, stops those started before it in reverse and rejects naming it', async () => {
    const { events, make } = recorder();
    const { log, lines } = recordingLog();
    const refused = new Error('web.port 8080 on 0.0.0.0 is already in use by another program');
    const sut = new Lifecycle([make('database'), [make('capture'), make('web', { start: () => Promise.reject(refused) })], make('schedule')], log);

    const failure = await sut.start().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ServiceStartError);
    expect(failure).toMatchObject({ service: 'web', cause: refused, message: 'web: web.port 8080 on 0.0.0.0 is already in use by another program' });
    expect(events).toEqual(['start database', 'start capture', 'start web', 'stop capture', 'stopped capture', 'stop database', 'stopped database']);
    expect(lines.filter((l) => l['level'] === 'error').map((l) => [l['service'], l['msg']])).toEqual([['web', 'web could not start']]);
    // Stopping afterwards (the CLI does) stops nothing twice.
    events.length = 0;
    await sut.stop();
    expect(events).toEqual([]);
  });

  it('logs a stop that fails by the service name, and still stops the others', async () => {
    const { events, make } = recorder();
    const { log, lines } = recordingLog();
    const sut = new Lifecycle(
      [make('database'), [make('capture', { stop: () => Promise.reject(new Error('camera did not let go')) }), make('web')], make('alerts', { stop: () => { throw new Error('timer gone'); } })],
      log,
    );

    await sut.start();
    events.length = 0;
    await expect(sut.stop()).resolves.toBeUndefined();
    expect(events).toEqual(['stop alerts', 'stop web', 'stop capture', 'stopped web', 'stop database', 'stopped database']);
    const failures = lines.filter((l) => l['level'] === 'error').map((l) => [l['service'], l['msg'], (l['err'] as { message: string }).message]);
    expect(failures).toEqual([
      ['alerts', 'alerts did not stop cleanly', 'timer gone'],
      ['capture', 'capture did not stop cleanly', 'camera did not let go'],
    ]);
  });

  it('stopped while starting, lets the service starting now finish, starts no other, and stops those started', async () => {
    const { events, make } = recorder();
    const { log } = recordingLog();
    let release!: () => void;
    const reconciling = new Promise<void>((resolve) => (release = resolve));
    const sut = new Lifecycle([make('database'), make('reconcile', { start: () => reconciling }), make('web')], log);

    const starting = sut.start().catch((err: unknown) => err);
    await tick();
    const stopping = sut.stop();
    await tick();
    expect(events).toEqual(['start database', 'start reconcile']);
    release();
    await stopping;
    expect(await starting).toBeInstanceOf(StoppedWhileStarting);
    expect(events).toEqual(['start database', 'start reconcile', 'stop reconcile', 'stopped reconcile', 'stop database', 'stopped database']);
  });

  it('stops once, whoever asks and however often', async () => {
    const { events, make } = recorder();
    const { log } = recordingLog();
    const sut = new Lifecycle([make('database'), make('web', { stop: () => tick(10) })], log);
    await sut.start();
    events.length = 0;

    await Promise.all([sut.stop(), sut.stop()]);
    await sut.stop();
    expect(events).toEqual(['stop web', 'stopped web', 'stop database', 'stopped database']);
  });

  it('stops nothing when nothing started, and starts only once', async () => {
    const { events, make } = recorder();
    const { log } = recordingLog();
    const sut = new Lifecycle([make('database')], log);
    await sut.start();
    expect(() => sut.start()).toThrow('a lifecycle starts once');

    const never = new Lifecycle([make('unused')], log);
    await never.stop();
    expect(events).toEqual(['start database']);
  });
});
