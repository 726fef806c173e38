/**
 * JSON errors for the API: `{error, details?}` with the status the contract names.
 */
import type { ErrorRequestHandler, Response } from 'express';
import { AppError, BusyError, HTTP_STATUS } from '../daemon/errors';
import type { Logger } from '../daemon/logger';
import { messageOf } from '../daemon/error-causes';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function sendError(res: Response, status: number, error: string, details?: Record<string, unknown>): void {
  // A file route may have set the file's type before it found it cannot send it (a Range past the end): the error is JSON.
  res.status(status).type('application/json').json(details ? { error, details } : { error });
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof HttpError) return sendError(res, err.status, err.message, err.details);
    if (err instanceof AppError) {
      if (err instanceof BusyError) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return sendError(res, HTTP_STATUS[err.kind], err.message, err.details);
    }
    // body-parser and friends mark client errors with a status (400 bad JSON, 413 too large, 415 ...).
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = (err as { type?: unknown }).type;
      const message = type === 'entity.parse.failed' ? 'the request body is not valid JSON' : type === 'entity.too.large' ? 'the request body is too large' : messageOf(err);
      return sendError(res, status, message);
    }
    log.error({ err, method: req.method, path: req.path }, 'request failed');
    sendError(res, 500, 'internal error; the daemon log has the details');
  };
}
