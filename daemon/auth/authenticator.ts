/**
 * Checks HTTP Basic credentials. Basic auth sends the password with every request,
 * so a verified password is remembered (as a keyed digest, never in clear) for a few
 * minutes instead of paying a 32 MiB scrypt on each call. A changed password or a
 * removed user invalidates it at once, because the stored hash is compared too.
 *
 * scrypt is the box's most expensive request, so password checks are also a CPU and
 * memory budget: every attempt that reaches scrypt is counted against its address
 * *before* hashing (parallel guesses cannot slip through while the first ones hash),
 * one address runs at most a few checks at once, and the whole box runs a few with a
 * short queue behind them. The same credentials arriving in parallel (a browser loading
 * a page) share one check. The real user, from another address, waits at most for the
 * few checks in front of them.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { UsersRepository } from '../store/users.repository';
import type { Principal } from './permissions';
import { hashPassword, verifyPassword } from './password';
import { Limiter, LimiterFullError } from '../limiter';

export type AuthResult =
  | { ok: true; user: Principal }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled' | 'busy'; retryAfterSeconds: number };

export interface ThrottleOptions {
  /** Password checks allowed per address within `windowMs` (successful ones are given back) before answering 429. */
  maxFailures: number;
  windowMs: number;
  /** Password checks one address may have running or waiting at once; more answer 429 at once. Default 2. */
  perAddress?: number;
  /** Password checks the whole box runs at once. Default 2 (a Pi has 4 cores; the pipeline needs the rest). */
  concurrent?: number;
  /** Checks that may wait for one of those; more answer 503. Default 32. */
  maxWaiting?: number;
  /** Addresses whose attempts are remembered; past this, the least recently seen are forgotten first. Default 10,000. */
  maxAddresses?: number;
}

const CACHE_MS = 5 * 60_000;
const CACHE_MAX = 1000;

interface Check {
  passwordHash: string | undefined;
  valid: Promise<boolean>;
}

export class Authenticator {
  readonly #users: UsersRepository;
  readonly #now: () => number;
  readonly #throttle: Required<ThrottleOptions>;
  readonly #secret = randomBytes(32);
  readonly #verified = new Map<string, { hash: string; expires: number }>();
  /** Per address, when each counted attempt started (oldest first); the map is kept least recently used first. */
  readonly #attempts = new Map<string, number[]>();
  readonly #running = new Map<string, number>();
  /** Checks in flight by credentials digest, so the same credentials sent in parallel cost one scrypt. */
  readonly #inFlight = new Map<string, Check>();
  readonly #limiter: Limiter;
  #dummyHash: Promise<string> | undefined;

  constructor(users: UsersRepository, options: { now?: () => number; throttle?: ThrottleOptions } = {}) {
    this.#users = users;
    this.#now = options.now ?? Date.now;
    const throttle = options.throttle ?? { maxFailures: 10, windowMs: 5 * 60_000 };
    this.#throttle = { perAddress: 2, concurrent: 2, maxWaiting: 32, maxAddresses: 10_000, ...throttle };
    this.#limiter = new Limiter(this.#throttle.concurrent, { name: 'password checks', maxWaiting: this.#throttle.maxWaiting });
  }

  async authenticate(username: string, password: string, address: string): Promise<AuthResult> {
    const now = this.#now();
    const user = this.#users.findByName(username);
    const key = createHmac('sha256', this.#secret).update(username.toLowerCase()).update('\0').update(password).digest('base64');
    let check = this.#inFlight.get(key);
    if (check?.passwordHash !== user?.passwordHash) check = undefined;
    const attempts = this.#recentAttempts(address, now);
    // Joining a check already running costs nothing more, so only new checks are refused.
    if (!check && attempts.length >= this.#throttle.maxFailures) {
      return { ok: false, reason: 'throttled', retryAfterSeconds: Math.max(1, Math.ceil((attempts[0]! + this.#throttle.windowMs - now) / 1000)) };
    }
    const cached = this.#verified.get(key);
    if (user && cached && cached.hash === user.passwordHash && cached.expires > now) return { ok: true, user: principal(user) };

    let counted = false;
    if (!check) {
      if ((this.#running.get(address) ?? 0) >= this.#throttle.perAddress) return { ok: false, reason: 'throttled', retryAfterSeconds: 1 };
      // Counted before hashing: a guess is a guess until it proves otherwise.
      attempts.push(now);
      this.#remember(address, attempts);
      counted = true;
      check = this.#startCheck(key, address, password, user?.passwordHash);
    }
    let valid: boolean;
    try {
      valid = await check.valid;
    } catch (err) {
      if (err instanceof LimiterFullError) {
        // Never checked, so not a guess: a real user turned away while the box is busy is not locked out for it.
        if (counted) this.#forgive(address, now);
        return { ok: false, reason: 'busy', retryAfterSeconds: 2 };
      }
      throw err;
    }
    if (!user || !valid) return { ok: false, reason: 'invalid' };
    if (counted) this.#forgive(address, now);
    if (this.#verified.size >= CACHE_MAX) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(key, { hash: user.passwordHash, expires: now + CACHE_MS });
    return { ok: true, user: principal(user) };
  }

  #startCheck(key: string, address: string, password: string, passwordHash: string | undefined): Check {
    this.#running.set(address, (this.#running.get(address) ?? 0) + 1);
    const valid = this.#limiter
      // An unknown user costs the same scrypt as a known one, so timing does not tell which names exist.
      .run(async () => verifyPassword(password, passwordHash ?? (await this.#dummy())))
      .finally(() => {
        const left = (this.#running.get(address) ?? 1) - 1;
        if (left > 0) this.#running.set(address, left);
        else this.#running.delete(address);
        if (this.#inFlight.get(key) === check) this.#inFlight.delete(key);
      });
    const check: Check = { passwordHash, valid };
    this.#inFlight.set(key, check);
    return check;
  }

  /** A successful login gives its attempt back, so a user who mistyped once is not one step closer to a lockout. */
  #forgive(address: string, countedAt: number): void {
    const attempts = this.#attempts.get(address);
    if (!attempts) return;
    const index = attempts.lastIndexOf(countedAt);
    if (index >= 0) attempts.splice(index, 1);
    if (attempts.length === 0) this.#attempts.delete(address);
  }

  #recentAttempts(address: string, now: number): number[] {
    return (this.#attempts.get(address) ?? []).filter((t) => t > now - this.#throttle.windowMs);
  }

  /** Stores an address's attempts as the most recently seen; the least recently seen go first when there are too many. */
  #remember(address: string, attempts: number[]): void {
    this.#attempts.delete(address);
    this.#attempts.set(address, attempts);
    while (this.#attempts.size > this.#throttle.maxAddresses) this.#attempts.delete(this.#attempts.keys().next().value!);
  }

  #dummy(): Promise<string> {
    this.#dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    return this.#dummyHash;
  }
}

function principal(user: { id: number; username: string; profile: Principal['profile']; language?: string | null }): Principal {
  return { id: user.id, username: user.username, profile: user.profile, language: user.language ?? null };
}
