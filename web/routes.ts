/**
 * Every HTTP route is declared with the rule that says who may call it (SPEC §4,
 * §5), and that rule is checked here, before the handler runs: one permission
 * check for the whole API. The declared rules are kept on the app
 * (`app.locals.routes`) so the permission-table test can find a route that was
 * added without one.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import { atLeast, levelOn, type Grants, type Level, type Principal } from '../daemon/auth/permissions';
import type { Profile } from '../daemon/domain/users';
import type { SourceConfig } from '../daemon/config/schema';
import { HttpError } from './errors';
import { say, type Say } from '../daemon/i18n/say';
import type { Share, ShareLevel, ShareScope } from '../daemon/domain/shares';
import { userOf } from './auth.middleware';

export type Rule =
  /** No login: health, the public pictures. */
  | { kind: 'anyone' }
  /** Any logged-in user. */
  | { kind: 'user' }
  /** Users of these profiles; anyone else logged in gets 403. */
  | { kind: 'profile'; profiles: readonly Profile[] }
  /** `:id` names a source; 404 when the user may not see it, 403 below `level`. */
  | { kind: 'source'; level: Level }
  /**
   * `:id` names a picture, video or job: the handler finds it and checks the
   * user's level on its source with `Access.levelFor` (404 when invisible).
   */
  | { kind: 'object'; of: 'picture' | 'video' | 'job'; level: Level }
  /**
   * No login: whoever holds an open share link (`/s/:token/...`) of one of these scopes;
   * the share middleware has resolved the token (410 revoked or expired, 404 unknown) and
   * any other scope answers 404. The handler keeps to what the link opens.
   */
  | { kind: 'share'; scopes: readonly ShareScope[] };

export interface DeclaredRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  rule: Rule;
}

declare module 'express-serve-static-core' {
  interface Locals {
    /** The source a `source` rule resolved. */
    source?: SourceConfig;
    /** The open share link of a `/s/:token` request, and the level it gives now. */
    share?: { share: Share; level: ShareLevel };
  }
}

/** Finding the user's level on a source: the one place where levels are compared. */
export class Access {
  readonly #sources: () => readonly SourceConfig[];
  readonly #grants: (user: Principal) => Grants;

  constructor(sources: () => readonly SourceConfig[], grants: (user: Principal) => Grants) {
    this.#sources = sources;
    this.#grants = grants;
  }

  grantsOf(res: Response): Grants {
    const cached = res.locals['grants'] as Grants | undefined;
    if (cached) return cached;
    const grants = this.#grants(userOf(res));
    res.locals['grants'] = grants;
    return grants;
  }

  /** The user's level on a source, or a 404 as if it did not exist (`notFoundSaid`: in the reader's words); 403 if visible but not enough. */
  levelFor(res: Response, source: SourceConfig | undefined, wanted: Level, notFoundMessage: string, notFoundSaid?: Say): Level {
    const level = source ? levelOn(userOf(res), source.id, this.grantsOf(res)) : null;
    if (!source || level === null) throw new HttpError(404, notFoundMessage, undefined, notFoundSaid ? { message: notFoundSaid } : undefined);
    if (!atLeast(level, wanted)) throw new HttpError(403, `your profile may not do this on source "${source.id}"`, undefined, { message: say('apiError.source.forbidden', { source: source.id }) });
    return level;
  }

  /** The source named `id` if the user may act on it at `wanted` level. */
  sourceFor(res: Response, id: string, wanted: Level): SourceConfig {
    const source = this.#sources().find((s) => s.id === id);
    this.levelFor(res, source, wanted, `no source "${id}"`, say('apiError.source.notFound', { source: id }));
    return source!;
  }
}

type Method = DeclaredRoute['method'];

/** Declares routes on a router under `prefix`, each with its rule. */
export class Routes {
  readonly #router: Router;
  readonly #prefix: string;
  readonly #declared: DeclaredRoute[];
  readonly #access: Access | null;
  readonly #before: RequestHandler[];

  /** `before` runs ahead of the rule check (e.g. headers and Basic auth for the UI pages). */
  constructor(router: Router, prefix: string, declared: DeclaredRoute[], access: Access | null, before: RequestHandler[] = []) {
    this.#router = router;
    this.#prefix = prefix;
    this.#declared = declared;
    this.#access = access;
    this.#before = before;
  }

  get(path: string, rule: Rule, ...handlers: RequestHandler[]): void {
    this.#add('GET', path, rule, handlers);
  }
  post(path: string, rule: Rule, ...handlers: RequestHandler[]): void {
    this.#add('POST', path, rule, handlers);
  }
  put(path: string, rule: Rule, ...handlers: RequestHandler[]): void {
    this.#add('PUT', path, rule, handlers);
  }
  patch(path: string, rule: Rule, ...handlers: RequestHandler[]): void {
    this.#add('PATCH', path, rule, handlers);
  }
  delete(path: string, rule: Rule, ...handlers: RequestHandler[]): void {
    this.#add('DELETE', path, rule, handlers);
  }

  #add(method: Method, path: string, rule: Rule, handlers: RequestHandler[]): void {
    this.#declared.push({ method, path: `${this.#prefix}${path}`, rule });
    const check = this.#check(rule);
    const register = this.#router[method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'].bind(this.#router);
    register(path, ...this.#before, check, ...handlers);
  }

  #check(rule: Rule): RequestHandler {
    const access = this.#access;
    return (req: Request, res: Response, next) => {
      if (rule.kind === 'anyone') return next();
      if (rule.kind === 'share') {
        const open = res.locals.share;
        if (!open) throw new Error('a share rule on a router without the share link middleware');
        if (!rule.scopes.includes(open.share.scope)) throw new HttpError(404, 'not part of this share link');
        return next();
      }
      if (!access) throw new Error(`a ${rule.kind} rule on a router without authentication`);
      const user = userOf(res);
      if (rule.kind === 'profile' && !rule.profiles.includes(user.profile)) {
        throw new HttpError(403, `only ${rule.profiles.map((p) => `${p}s`).join(' and ')} may do this`);
      }
      if (rule.kind === 'source') res.locals.source = access.sourceFor(res, param(req, 'id'), rule.level);
      next();
    };
  }
}

/** The source a `source` rule resolved for this request. */
export function sourceOf(res: Response): SourceConfig {
  const source = res.locals.source;
  if (!source) throw new Error('route declared without a source rule');
  return source;
}

/** A named route parameter as a string (wildcards give arrays; none are used with this). */
export function param(req: Request, name: string): string {
  const value = req.params[name];
  if (typeof value !== 'string') throw new Error(`route parameter ${name} is not a plain string`);
  return value;
}

/** The client's address, for the audit trail. */
export function clientAddress(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}
