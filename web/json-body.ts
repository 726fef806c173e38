/**
 * The JSON body parser of the API and the control socket. Bodies are small, and
 * nested no deeper than anything lapsebox takes (a settings patch is four or five
 * levels). The depth is checked on the raw bytes before parsing: JSON.parse
 * itself copes with deep nesting, but what walks the body afterwards (the merge
 * patch, validation, JSON.stringify for the audit) recurses, and a body nested a
 * few thousand levels deep overflowed the stack (a 500 instead of a 400).
 */
import express, { type RequestHandler } from 'express';

/** Deepest nesting of objects and arrays accepted in a request body. */
export const MAX_JSON_DEPTH = 32;

/** `express.json` with a size limit and the depth check; a body nested too deeply is a 400. */
export function jsonBody(limit: string): RequestHandler {
  return express.json({
    limit,
    verify: (_req, _res, body, encoding) => {
      // JSON between systems is UTF-8 (RFC 8259 §8.1); a charset the depth check cannot read is refused, not guessed.
      if (!/^utf-?8$/i.test(encoding)) {
        throw Object.assign(new Error(`JSON bodies must be UTF-8 (got charset ${JSON.stringify(encoding).slice(0, 40)})`), { status: 415, type: 'charset.unsupported' });
      }
      if (jsonDepth(body.toString('utf8'), MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
        // body-parser keeps this status and type; the error handler shows the message.
        throw Object.assign(new Error(`the request body is nested more than ${MAX_JSON_DEPTH} levels deep`), { status: 400, type: 'entity.too.deep' });
      }
    },
  });
}

/**
 * How deeply objects and arrays nest in JSON text, counted without recursion and
 * without parsing; stops counting once past `stopAbove`. Brackets inside strings
 * do not count. Malformed text is left to JSON.parse.
 */
export function jsonDepth(text: string, stopAbove = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next byte is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return deepest;
}
