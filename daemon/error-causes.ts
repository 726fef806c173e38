/**
 * Reading errors from Node's networking (fetch, sockets, SMTP): the chain of
 * causes, the system codes in it, a message from anything thrown. Duck-typed:
 * fetch's errors come from Node's own realm, where `instanceof Error` fails
 * under Jest's vm contexts.
 */
export interface ErrorLike {
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The error and its causes, outermost first, with the members of an AggregateError (one per address tried). */
export function causes(err: unknown): ErrorLike[] {
  const found: ErrorLike[] = [];
  const visit = (e: unknown, depth: number): void => {
    if (typeof e !== 'object' || e === null || depth > 5) return;
    const like = e as ErrorLike;
    found.push(like);
    if (Array.isArray(like.errors)) for (const member of like.errors) visit(member, depth + 1);
    visit(like.cause, depth + 1);
  };
  visit(err, 0);
  return found;
}

/** The distinct `code`s (ECONNREFUSED, ETIMEDOUT, ...) along the chain. */
export function errorCodes(err: unknown): string[] {
  return [...new Set(causes(err).map((e) => e.code).filter((c): c is string => typeof c === 'string'))];
}

/** The message of anything thrown (an Error, an error-like object, a string): the one way a caught error goes into a message. */
export function messageOf(err: unknown): string {
  const message = typeof err === 'object' && err !== null ? (err as ErrorLike).message : undefined;
  return typeof message === 'string' ? message : String(err);
}
