/**
 * Exponential backoff with jitter: the wait doubles with each failure up to a cap,
 * and a random part spreads the retries so that many files (or boxes) do not
 * come back in step.
 */
export interface BackoffPolicy {
  /** Wait after the first failure. */
  baseMs: number;
  /** Longest wait; retries go on at this pace for ever. */
  capMs: number;
}

/** The wait before attempt `failures + 1`; between half and all of the exponential value. */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const full = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  return Math.round(full / 2 + (full / 2) * random());
}
