/**
 * Checks HTTP Basic credentials. Basic auth sends the password with every request,
 * so a verified password is remembered (as a keyed digest, never in clear) for a few
 * minutes instead of paying a 32 MiB scrypt on each call. A changed password or a
 * removed user invalidates it at once, because the stored hash is compared too.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { UsersRepository } from '../store/users.repository';
import type { Principal } from './permissions';
import { hashPassword, verifyPassword } from './password';

export type AuthResult = { ok: true; user: Principal } | { ok: false; reason: 'invalid' | 'throttled'; retryAfterSeconds?: number };

export interface ThrottleOptions {
  /** Failed attempts allowed per address within `windowMs` before answering 429. */
  maxFailures: number;
  windowMs: number;
}

const CACHE_MS = 5 * 60_000;
const CACHE_MAX = 1000;

export class Authenticator {
  readonly #users: UsersRepository;
  readonly #now: () => number;
  readonly #throttle: ThrottleOptions;
  readonly #secret = randomBytes(32);
  readonly #verified = new Map<string, { hash: string; expires: number }>();
  readonly #failures = new Map<string, number[]>();
  #dummyHash: Promise<string> | undefined;

  constructor(users: UsersRepository, options: { now?: () => number; throttle?: ThrottleOptions } = {}) {
    this.#users = users;
    this.#now = options.now ?? Date.now;
    this.#throttle = options.throttle ?? { maxFailures: 10, windowMs: 5 * 60_000 };
  }

  async authenticate(username: string, password: string, address: string): Promise<AuthResult> {
    const now = this.#now();
    const recent = this.#recentFailures(address, now);
    if (recent.length >= this.#throttle.maxFailures) {
      return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil((recent[0]! + this.#throttle.windowMs - now) / 1000) };
    }
    const user = this.#users.findByName(username);
    const key = createHmac('sha256', this.#secret).update(username.toLowerCase()).update('\0').update(password).digest('base64');
    const cached = this.#verified.get(key);
    if (user && cached && cached.hash === user.passwordHash && cached.expires > now) {
      return { ok: true, user: { id: user.id, username: user.username, profile: user.profile } };
    }
    // An unknown user costs the same scrypt as a known one, so timing does not tell which names exist.
    const valid = await verifyPassword(password, user?.passwordHash ?? (await this.#dummy()));
    if (!user || !valid) {
      recent.push(now);
      this.#failures.set(address, recent);
      return { ok: false, reason: 'invalid' };
    }
    if (this.#verified.size >= CACHE_MAX) this.#verified.clear();
    this.#verified.set(key, { hash: user.passwordHash, expires: now + CACHE_MS });
    return { ok: true, user: { id: user.id, username: user.username, profile: user.profile } };
  }

  #recentFailures(address: string, now: number): number[] {
    const kept = (this.#failures.get(address) ?? []).filter((t) => t > now - this.#throttle.windowMs);
    if (kept.length === 0) this.#failures.delete(address);
    else this.#failures.set(address, kept);
    if (this.#failures.size > 10_000) this.#failures.clear(); // bounded memory under a spray of addresses
    return kept;
  }

  #dummy(): Promise<string> {
    this.#dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    return this.#dummyHash;
  }
}
