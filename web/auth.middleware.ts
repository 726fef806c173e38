/**
 * HTTP Basic authentication for `/api`. Browsers resend Basic credentials on their
 * own, so state-changing requests must also be JSON and, when an Origin is sent,
 * come from this host (checked in `sameOriginJson`).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import auth from 'basic-auth';
import type { Authenticator } from '../daemon/auth/authenticator';
import type { Principal } from '../daemon/auth/permissions';
import { sendError } from './errors';

export const REALM = 'lapsebox';

declare module 'express-serve-static-core' {
  interface Locals {
    user?: Principal;
  }
}

export function basicAuth(authenticator: Authenticator): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const credentials = auth(req);
    if (!credentials) {
      res.setHeader('WWW-Authenticate', `Basic realm="${REALM}", charset="UTF-8"`);
      return sendError(res, 401, 'authentication required');
    }
    const result = await authenticator.authenticate(credentials.name, credentials.pass, req.socket.remoteAddress ?? 'unknown');
    if (result.ok) {
      res.locals.user = result.user;
      return next();
    }
    if (result.reason === 'throttled') {
      res.setHeader('Retry-After', String(result.retryAfterSeconds));
      return sendError(res, 429, 'too many login attempts from this address; try again later');
    }
    if (result.reason === 'busy') {
      res.setHeader('Retry-After', String(result.retryAfterSeconds));
      return sendError(res, 503, 'too many password checks at once; try again in a few seconds');
    }
    // The same answer whether the user exists or not.
    res.setHeader('WWW-Authenticate', `Basic realm="${REALM}", charset="UTF-8"`);
    return sendError(res, 401, 'invalid user name or password');
  };
}

/** The authenticated user of a request behind `basicAuth`. */
export function userOf(res: Response): Principal {
  const user = res.locals.user;
  if (!user) throw new Error('route mounted without basicAuth');
  return user;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function sameOriginJson(): RequestHandler {
  return (req, res, next) => {
    if (SAFE.has(req.method)) return next();
    const origin = req.get('origin');
    if (origin !== undefined) {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (host !== req.get('host')) return sendError(res, 403, 'cross-site request refused: the Origin header does not match this host');
    }
    // Every state-changing request must say it is JSON, with or without a body: a plain
    // HTML form on another site can only send form or text types.
    const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') return sendError(res, 415, 'expected Content-Type: application/json');
    next();
  };
}
