/**
 * A FIFO concurrency limiter with an optional bound on how many may wait.
 * p-limit/p-queue are ESM-only and cannot be required from this CommonJS build.
 */

/** Thrown by `run` when `maxWaiting` callers already wait: the caller answers "busy" instead of piling up. */
export class LimiterFullError extends Error {
  constructor(readonly limiter: string) {
    super(`${limiter}: too many waiting`);
    this.name = 'LimiterFullError';
  }
}

export class Limiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #name: string;
  readonly #maxWaiting: number;

  constructor(
    readonly concurrency: number,
    options: { name?: string; maxWaiting?: number } = {},
  ) {
    this.#name = options.name ?? 'limiter';
    this.#maxWaiting = options.maxWaiting ?? Number.POSITIVE_INFINITY;
  }

  /** Runs `work` once fewer than `concurrency` others run; rejects with LimiterFullError when the wait list is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#active >= this.concurrency) {
      if (this.#waiting.length >= this.#maxWaiting) throw new LimiterFullError(this.#name);
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#active++;
    try {
      return await work();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }

  /** Running now. */
  get active(): number {
    return this.#active;
  }

  /** Waiting for a turn. */
  get waiting(): number {
    return this.#waiting.length;
  }
}
