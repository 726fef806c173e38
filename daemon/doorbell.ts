/**
 * A worker's pause that `ring()` ends early. A ring that comes while the worker
 * is busy is kept, so its next `wait()` returns at once: new work is never left
 * waiting for a timer. The worker `reset()`s it when it starts a pass.
 */
export class Doorbell {
  #rung = false;
  #answer: (() => void) | null = null;

  /** Rung since the last reset. */
  get rung(): boolean {
    return this.#rung;
  }

  ring(): void {
    this.#rung = true;
    this.#answer?.();
  }

  reset(): void {
    this.#rung = false;
  }

  /** Waits `ms`, or less if rung; an unref'd timer does not keep the process alive. */
  wait(ms: number, options: { unref?: boolean } = {}): Promise<void> {
    if (this.#rung) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#answer = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (options.unref) timer.unref();
      this.#answer = done;
    });
  }
}

/**
 * A worker's loop: runs `pass` until `stopped()`, and after each pass waits `waitMs()` or
 * until the bell rings (a ring during a pass makes the next one start at once). A pass
 * that throws is handed to `failed` and the loop goes on: the work is still there
 * (in the database) for the next pass.
 */
export async function passUntilStopped(bell: Doorbell, worker: { stopped: () => boolean; pass: () => Promise<void>; waitMs: () => number; failed: (err: unknown) => void }): Promise<void> {
  while (!worker.stopped()) {
    bell.reset();
    try {
      await worker.pass();
    } catch (err) {
      worker.failed(err);
    }
    if (worker.stopped() || bell.rung) continue;
    await bell.wait(worker.waitMs(), { unref: true });
  }
}
