/**
 * The one way secrets are hidden wherever a setting or a message is shown: the
 * settings API and form, the audit, the logs, `lapsebox status` and `doctor`.
 * Secrets are values of keys named `password` or `secretAccessKey`, the password in the user part of a
 * URL (`rtsp://user:secret@cam`) and the values of query parameters whose name
 * looks like a secret (`?token=...`). What is shown can be sent back: `keepSecrets`
 * puts the stored secret back where the shown value holds `***`.
 */

/** What a hidden secret reads as. */
export const REDACTED = '***';

/** Query parameters that carry a secret in cameras' snapshot URLs and webhooks. */
export const SECRET_QUERY_KEY = /pass|pwd|secret|token|key|auth|sig/i;

/** Keys whose value is a secret, whatever it holds. */
const SECRET_KEYS = new Set(['password', 'secretAccessKey']);

/** A URL, in a value or in the middle of a sentence: up to a space, a quote or an angle bracket. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

interface Span {
  /** `password` for the user part, `query:<name>` for a query parameter. */
  key: string;
  start: number;
  end: number;
}

/** Where the secrets of one URL are, as offsets into it. */
function spansOf(url: string): Span[] {
  const spans: Span[] = [];
  const scheme = url.indexOf('://') + 3;
  const authorityEnd = firstOf(url, '/?#', scheme);
  const at = url.lastIndexOf('@', authorityEnd - 1);
  if (at >= scheme) {
    const colon = url.indexOf(':', scheme);
    if (colon >= 0 && colon < at && at > colon + 1) spans.push({ key: 'password', start: colon + 1, end: at });
  }
  const query = url.indexOf('?', authorityEnd);
  if (query >= 0) {
    const hash = url.indexOf('#', query);
    const end = hash < 0 ? url.length : hash;
    let cursor = query + 1;
    while (cursor <= end) {
      const amp = url.indexOf('&', cursor);
      const stop = amp < 0 || amp > end ? end : amp;
      const eq = url.indexOf('=', cursor);
      if (eq >= 0 && eq < stop && stop > eq + 1 && SECRET_QUERY_KEY.test(safeDecode(url.slice(cursor, eq)))) {
        spans.push({ key: `query:${url.slice(cursor, eq)}`, start: eq + 1, end: stop });
      }
      cursor = stop + 1;
    }
  }
  return spans;
}

function firstOf(text: string, chars: string, from: number): number {
  for (let i = from; i < text.length; i++) if (chars.includes(text[i]!)) return i;
  return text.length;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function replaceSpans(url: string, spans: readonly Span[], by: (span: Span) => string): string {
  let out = '';
  let cursor = 0;
  for (const span of spans) {
    out += url.slice(cursor, span.start) + by(span);
    cursor = span.end;
  }
  return out + url.slice(cursor);
}

/**
 * `text` with the secrets of every URL in it shown as `***`: the password of the
 * user part and secret-looking query values. The rest is kept as written, so that
 * the masked text sent back unchanged can be recognised.
 */
export function maskUrls(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (url) => replaceSpans(url, spansOf(url), () => REDACTED));
}

/** Only the origin of a URL (`https://hooks.slack.com`): webhooks carry their token in the path. */
export function urlOrigin(text: string): string {
  try {
    const url = new URL(text);
    return url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin;
  } catch {
    return '(an address that does not parse)';
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A copy of `value` with every `password` (at any depth) as `***` and every URL in a string masked. */
export function maskSecrets<T>(value: T): T {
  if (typeof value === 'string') return maskUrls(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => maskSecrets(item)) as T;
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    // defineProperty: a key named `__proto__` stays an own key.
    Object.defineProperty(out, key, {
      value: SECRET_KEYS.has(key) && item !== null && item !== undefined ? REDACTED : maskSecrets(item),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out as T;
}

/** `scheme://user@host:port` of a URL: what must stay the same for a stored secret to be kept. */
function authority(url: string, spans: readonly Span[]): string {
  const end = firstOf(url, '/?#', url.indexOf('://') + 3);
  const password = spans.find((s) => s.key === 'password');
  const head = password ? url.slice(0, password.start - 1) + url.slice(password.end, end) : url.slice(0, end);
  return head.toLowerCase();
}

/**
 * The value to store when `sent` replaces `stored` under key `key`: where `sent`
 * shows a secret as `***` (a form sending back what it was shown), the stored
 * secret is kept. A URL keeps its secrets only while its scheme, user, host and
 * port stay the same: a secret is never sent somewhere new without being typed again.
 */
export function keepSecrets(key: string, stored: unknown, sent: unknown): unknown {
  if (sent !== REDACTED && (typeof sent !== 'string' || !sent.includes(REDACTED))) return sent;
  if (SECRET_KEYS.has(key)) return stored !== undefined && stored !== null ? stored : sent;
  if (typeof stored !== 'string' || typeof sent !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(sent)) return sent;
  if (maskUrls(stored) === sent) return stored;
  const old = spansOf(stored);
  const spans = spansOf(sent);
  if (authority(stored, old) !== authority(sent, spans)) return sent;
  return replaceSpans(sent, spans, (span) => {
    const text = sent.slice(span.start, span.end);
    const was = old.find((s) => s.key === span.key);
    return text === REDACTED && was ? stored.slice(was.start, was.end) : text;
  });
}

/** True when two URLs name the same scheme, user, host and port (what a kept secret may be sent to). */
export function sameAddress(a: string, b: string): boolean {
  return authority(a, spansOf(a)) === authority(b, spansOf(b));
}

/** True when `value` still holds a secret shown as `***` (one `keepSecrets` could not restore). */
export function holdsMaskedSecret(value: string): boolean {
  if (!value.includes(REDACTED)) return false;
  const urls = value.match(URL_IN_TEXT) ?? [];
  return urls.some((url) => spansOf(url).some((span) => url.slice(span.start, span.end) === REDACTED));
}
