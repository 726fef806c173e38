/**
 * Errors that carry what went wrong in terms both the CLI (exit codes) and the
 * HTTP API (status codes) understand. Messages are for people: they name the
 * thing and say what was expected.
 */
export type AppErrorKind = 'invalid' | 'not-found' | 'conflict' | 'forbidden' | 'unavailable' | 'busy';

export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly kind: AppErrorKind,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const invalid = (message: string, details?: Record<string, unknown>) => new AppError('invalid', message, details);
export const notFound = (message: string) => new AppError('not-found', message);
export const conflict = (message: string) => new AppError('conflict', message);

/** A bounded queue is full: the same request may succeed later (HTTP 429 with Retry-After). */
export class BusyError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('busy', message, { retryAfterSeconds });
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
