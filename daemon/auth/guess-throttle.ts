/**
 * Counts failed guesses per client address within a sliding window (share tokens that
 * open nothing), so that an address guessing is refused for a while without slowing
 * anyone else. Addresses are remembered least recently seen first, within a bound.
 */
export interface GuessThrottleOptions {
  /** Failed guesses allowed per address within `windowMs`; more answer "throttled". */
  maxFailures: number;
  windowMs: number;
  /** Addresses remembered; past this, the least recently seen are forgotten first. */
  maxAddresses?: number;
}

export class GuessThrottle {
  readonly #options: Required<GuessThrottleOptions>;
  readonly #failures = new Map<string, number[]>();

  constructor(options: GuessThrottleOptions) {
    this.#options = { maxAddresses: 10_000, ...options };
  }

  /** Seconds the address must wait, or 0 when it may try. */
  retryAfter(address: string, now: number): number {
    const recent = this.#recent(address, now);
    if (recent.length < this.#options.maxFailures) return 0;
    return Math.max(1, Math.ceil((recent[0]! + this.#options.windowMs - now) / 1000));
  }

  /** A guess that opened nothing. */
  fail(address: string, now: number): void {
    const recent = this.#recent(address, now);
    recent.push(now);
    this.#failures.delete(address);
    this.#failures.set(address, recent);
    while (this.#failures.size > this.#options.maxAddresses) this.#failures.delete(this.#failures.keys().next().value!);
  }

  #recent(address: string, now: number): number[] {
    return (this.#failures.get(address) ?? []).filter((t) => t > now - this.#options.windowMs);
  }
}
