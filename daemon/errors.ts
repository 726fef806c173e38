/**
 * Errors that carry what went wrong in terms both the CLI (exit codes) and the
 * HTTP API (status codes) understand. Messages are for people: they name the
 * thing and say what was expected.
 */
import type { Said } from './i18n/say';

export type AppErrorKind = 'invalid' | 'not-found' | 'conflict' | 'forbidden' | 'unavailable' | 'busy';

/**
 * `message` and `details` are English (the CLI, the log, an API client that asks for no
 * language); `said` gives them as catalog messages for a person who reads another
 * language in the UI (web/errors.ts renders them).
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly kind: AppErrorKind,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly said?: Said,
  ) {
    super(message);
  }
}

export const invalid = (message: string, details?: Record<string, unknown>, said?: Said) => new AppError('invalid', message, details, said);
export const notFound = (message: string, said?: Said) => new AppError('not-found', message, undefined, said);
export const conflict = (message: string, said?: Said) => new AppError('conflict', message, undefined, said);

/** A bounded queue is full: the same request may succeed later (HTTP 429 with Retry-After). */
export class BusyError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    said?: Said,
  ) {
    super('busy', message, { retryAfterSeconds }, said);
  }
}

export const HTTP_STATUS: Record<AppErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  unavailable: 503,
  busy: 429,
};

/** CLI exit codes of the contract: 2 for bad usage (bad input, unknown names), 1 for failures. */
export const EXIT_CODE: Record<AppErrorKind, number> = {
  invalid: 2,
  'not-found': 2,
  forbidden: 1,
  conflict: 1,
  unavailable: 1,
  busy: 1,
};
