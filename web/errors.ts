/**
 * JSON errors for the API: `{error, details?}` with the status the contract names,
 * in the reader's language where the error says it in catalog words (SPEC §9): a
 * user's own choice, else a language their browser asks for; English otherwise (an
 * API client that asks for none reads what the CLI and the log say).
 */
import type { ErrorRequestHandler, Request, Response } from 'express';
import { AppError, BusyError, HTTP_STATUS } from '../daemon/errors';
import type { Logger } from '../daemon/logger';
import { messageOf } from '../daemon/error-causes';
import type { Said } from '../daemon/i18n/say';
import { BASE_LANGUAGE, type Catalogs } from '../daemon/i18n/catalogs';
import { readerWords } from './language';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly said?: Said,
  ) {
    super(message);
  }
}

/** The error's words in the reader's language: `said` rendered over the English `message` and `details`. */
function spoken(req: Request, res: Response, catalogs: Catalogs | undefined, message: string, details: Record<string, unknown> | undefined, said: Said | undefined) {
  if (!catalogs || !said) return { message, details };
  const t = readerWords(catalogs, req, res);
  if (t.lang === BASE_LANGUAGE) return { message, details };
  const out = details ? { ...details } : undefined;
  // Several problems of one field are joined as the language punctuates a list of clauses (French: a narrow space before ";").
  const separator = t('apiError.detailSeparator');
  for (const [key, s] of Object.entries(said.details ?? {})) if (out && key in out) out[key] = (Array.isArray(s) ? s : [s]).map((one) => t(one.key, one.values)).join(separator);
  return { message: said.message ? t(said.message.key, said.message.values) : message, details: out };
}

export function sendError(res: Response, status: number, error: string, details?: Record<string, unknown>): void {
  // A file route may have set the file's type before it found it cannot send it (a Range past the end): the error is JSON.
  res.status(status).type('application/json').json(details ? { error, details } : { error });
}

export function errorHandler(log: Logger, catalogs?: Catalogs): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof HttpError || err instanceof AppError) {
      const { message, details } = spoken(req, res, catalogs, err.message, err.details, err.said);
      if (err instanceof HttpError) return sendError(res, err.status, message, details);
      if (err instanceof BusyError) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return sendError(res, HTTP_STATUS[err.kind], message, details);
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
