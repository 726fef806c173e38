/**
 * HTTP authentication challenges and the client side of Digest access authentication
 * (RFC 7616, and the RFC 2617 / RFC 2069 forms older cameras still use). Pure functions:
 * the http camera driver does the requests, this module only reads and writes headers.
 */
import { createHash } from 'node:crypto';

/** One challenge of a `WWW-Authenticate` header; scheme and parameter names in lower case. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), which has no parameters. */
  token68?: string;
}

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

/** A Digest challenge this client can answer. */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  /** The algorithm as the server spelled it, echoed back; absent in the oldest form. */
  algorithmToken?: string;
  /** 'auth' when the server offers it; absent for the RFC 2069 form without qop. */
  qop?: 'auth';
  opaque?: string;
}

export interface DigestInput {
  challenge: DigestChallenge;
  username: string;
  password: string;
  method: string;
  /** The request target as sent: path and query. */
  uri: string;
  /** Client nonce: random per request, in the header as is. */
  cnonce: string;
  /** Request counter for this nonce, 1 for a fresh nonce. */
  nc: number;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const QUOTED = /"((?:[^"\\]|\\.)*)"/y;
// A token68 stands alone up to the next comma; `realm=` followed by a value does not match.
const TOKEN68 = /[A-Za-z0-9._~+/-]+=*(?=[ \t]*(?:,|$))/y;
const SPACES = /[ \t]*/y;
const SEPARATORS = /[ \t,]*/y;

const HASHES: Record<string, { algorithm: DigestAlgorithm; hash: string; session: boolean }> = {
  'MD5': { algorithm: 'MD5', hash: 'md5', session: false },
  'MD5-SESS': { algorithm: 'MD5-sess', hash: 'md5', session: true },
  'SHA-256': { algorithm: 'SHA-256', hash: 'sha256', session: false },
  'SHA-256-SESS': { algorithm: 'SHA-256-sess', hash: 'sha256', session: true },
};

/**
 * Reads every challenge of a `WWW-Authenticate` value (RFC 7235 section 4.1). Several
 * headers joined with commas (as fetch's `headers.get()` does) read the same as one.
 * A token followed by `=` is a parameter of the current challenge, any other token
 * starts the next one; quoted values may hold commas and escaped quotes.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let current: Challenge | undefined;
  let pos = 0;
  while (pos < header.length) {
    pos = skip(SEPARATORS, header, pos);
    const name = match(TOKEN, header, pos);
    if (name === undefined) {
      pos++; // not HTTP syntax: skip the character rather than give up on the rest
      continue;
    }
    const afterName = skip(SPACES, header, pos + name.length);
    if (current && header[afterName] === '=') {
      const valueAt = skip(SPACES, header, afterName + 1);
      const value = readValue(header, valueAt);
      current.params[name.toLowerCase()] = value.text;
      pos = value.end;
      continue;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    challenges.push(current);
    pos = afterName;
    const token68 = match(TOKEN68, header, pos);
    if (token68 !== undefined) {
      current.token68 = token68;
      pos += token68.length;
    }
  }
  return challenges;
}

/**
 * The first Digest challenge this client can answer, in the server's order of preference
 * (RFC 7616 section 3.7): a known algorithm, and qop "auth" or no qop at all.
 */
export function pickDigestChallenge(challenges: readonly Challenge[]): DigestChallenge | undefined {
  for (const { scheme, params } of challenges) {
    if (scheme !== 'digest' || params['realm'] === undefined || !params['nonce']) continue;
    const algorithmToken = params['algorithm'];
    const known = HASHES[(algorithmToken ?? 'MD5').toUpperCase()];
    if (!known) continue;
    // An empty qop, as some servers send, means the same as none.
    const qops = (params['qop'] ?? '').split(',').map((q) => q.trim().toLowerCase()).filter((q) => q !== '');
    if (qops.length > 0 && !qops.includes('auth')) continue;
    return {
      realm: params['realm'],
      nonce: params['nonce'],
      algorithm: known.algorithm,
      ...(algorithmToken !== undefined ? { algorithmToken } : {}),
      ...(qops.length > 0 ? { qop: 'auth' as const } : {}),
      ...(params['opaque'] !== undefined ? { opaque: params['opaque'] } : {}),
    };
  }
  return undefined;
}

/** The `response` value: the proof that the client knows the password (RFC 7616 section 3.4.1). */
export function digestResponse(input: DigestInput): string {
  const { challenge, username, password, method, uri, cnonce } = input;
  const { hash, session } = HASHES[challenge.algorithm.toUpperCase()];
  const h = (data: string): string => createHash(hash).update(data, 'utf8').digest('hex');
  let ha1 = h(`${username}:${challenge.realm}:${password}`);
  if (session) ha1 = h(`${ha1}:${challenge.nonce}:${cnonce}`);
  const ha2 = h(`${method}:${uri}`);
  if (!challenge.qop) return h(`${ha1}:${challenge.nonce}:${ha2}`);
  return h(`${ha1}:${challenge.nonce}:${formatNc(input.nc)}:${cnonce}:${challenge.qop}:${ha2}`);
}

/** The `Authorization` header value answering `challenge`. */
export function digestAuthorization(input: DigestInput): string {
  const { challenge } = input;
  const params = [
    `username=${quote(input.username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(input.uri)}`,
    ...(challenge.algorithmToken !== undefined ? [`algorithm=${challenge.algorithmToken}`] : []),
    `response=${quote(digestResponse(input))}`,
    // qop and nc are tokens, unquoted (RFC 7616); cnonce is only sent along with qop.
    ...(challenge.qop ? [`qop=${challenge.qop}`, `nc=${formatNc(input.nc)}`, `cnonce=${quote(input.cnonce)}`] : []),
    ...(challenge.opaque !== undefined ? [`opaque=${quote(challenge.opaque)}`] : []),
  ];
  return `Digest ${params.join(', ')}`;
}

function formatNc(nc: number): string {
  return nc.toString(16).padStart(8, '0');
}

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

function readValue(header: string, pos: number): { text: string; end: number } {
  QUOTED.lastIndex = pos;
  const quoted = QUOTED.exec(header);
  if (quoted) return { text: quoted[1].replace(/\\(.)/g, '$1'), end: QUOTED.lastIndex };
  const token = match(TOKEN, header, pos) ?? '';
  return { text: token, end: pos + token.length };
}

function match(re: RegExp, text: string, pos: number): string | undefined {
  re.lastIndex = pos;
  return re.exec(text)?.[0];
}

function skip(re: RegExp, text: string, pos: number): number {
  return pos + (match(re, text, pos) ?? '').length;
}
