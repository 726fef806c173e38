/**
 * One start/stop contract for the daemon's parts, and the runner that starts them in
 * order and stops them in reverse. The composition root (app.ts) lists the services;
 * this file knows none of them.
 */
import type { Logger } from './logger';
import { messageOf } from './error-causes';

/**
 * A part of the daemon with something to start and to stop: a timer, a queue, a
 * listener, a worker per target. Built by the composition root (compose/) with all
 * it needs; its constructor only assigns.
 */
export interface Service {
  /** What the logs call it ("capture", "web", "sync"). */
  readonly name: string;
  /**
   * Called once, after every service listed before it has started. When it resolves
   * the service does its work (listens, ticks, sends); when it rejects it holds
   * nothing, and the runner stops those started before it.
   */
  start(): Promise<void> | void;
  /**
   * Called once, and only after a start that resolved, before the services listed
   * before it stop. When it resolves the service holds nothing any more (no timer,
   * child process, socket or file); it ends what it was doing within the daemon's stop
   * budget (9.5 s in all), cutting work rather than waiting for it.
   */
  stop(): Promise<void> | void;
}

/**
 * A service, or services that stop at the same time: they start one after the other
 * in their order, and their stops run together. For stops that each wait on
 * something else (a capture's grace, the web's open requests, an upload) and one
 * after the other would overrun the stop budget.
 */
export type Stage = Service | readonly Service[];

/** A service with its start and stop given as functions; a part with nothing to stop leaves `stop` out. */
export function service(name: string, start: () => Promise<void> | void, stop: () => Promise<void> | void = () => undefined): Service {
  return { name, start, stop };
}

/** A service that could not start, named; the error it threw is the `cause`. */
export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    cause: unknown,
  ) {
    super(`${service}: ${messageOf(cause)}`, { cause });
    this.name = 'ServiceStartError';
  }
}

/** Thrown by `start()` when `stop()` was called before every service had started. */
export class StoppedWhileStarting extends Error {
  constructor() {
    super('stopped while starting');
    this.name = 'StoppedWhileStarting';
  }
}

/**
 * Starts services in the order given and stops them in reverse. A service that
 * cannot start stops those started before it (in reverse), and `start()` rejects
 * with a ServiceStartError naming it. `stop()` never rejects: a stop that fails is
 * logged with the service's name and the others still stop.
 */
export class Lifecycle {
  readonly #stages: readonly (readonly Service[])[];
  readonly #log: Logger;
  /** What has started, stage by stage, each in start order. */
  readonly #started: Service[][] = [];
  #starting: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;

  constructor(stages: readonly Stage[], log: Logger) {
    this.#stages = stages.map((stage) => (Array.isArray(stage) ? stage : [stage as Service]));
    this.#log = log;
  }

  /** Starts every service in order; once only. */
  start(): Promise<void> {
    if (this.#starting) throw new Error('a lifecycle starts once');
    this.#starting = this.#startAll();
    return this.#starting;
  }

  /**
   * Stops what started, in reverse order: stage after stage, the services of one
   * stage together. Called during `start()`, it lets the service starting now finish
   * its start, starts no other, and then stops them all. Called again, it returns
   * the same stop.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#starting?.catch(() => undefined);
      await this.#stopStarted();
    })();
    return this.#stopping;
  }

  async #startAll(): Promise<void> {
    for (const stage of this.#stages) {
      const started: Service[] = [];
      this.#started.push(started);
      for (const service of stage) {
        if (this.#stopping) throw new StoppedWhileStarting();
        try {
          await service.start();
        } catch (err) {
          this.#log.error({ service: service.name, err }, `${service.name} could not start`);
          // During a stop, stop() stops what started once this start has ended.
          if (!this.#stopping) await this.#stopStarted();
          throw new ServiceStartError(service.name, err);
        }
        started.push(service);
      }
    }
  }

  async #stopStarted(): Promise<void> {
    for (let stage = this.#started.pop(); stage; stage = this.#started.pop()) {
      await Promise.all(stage.reverse().map((s) => this.#stopOne(s)));
    }
  }

  async #stopOne(service: Service): Promise<void> {
    try {
      await service.stop();
    } catch (err) {
      this.#log.error({ service: service.name, err }, `${service.name} did not stop cleanly`);
    }
  }
}
