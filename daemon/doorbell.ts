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
