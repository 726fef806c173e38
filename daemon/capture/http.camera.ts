/**
 * The `http` driver: an IP camera's snapshot URL (`.../snapshot.jpg`, `.../cgi-bin/snapshot.cgi`).
 * One GET per capture with basic or digest authentication, the body streamed straight to
 * the destination under a size cap, and anything but one complete JPEG refused.
 */
import { createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { isCompleteJpeg, startsWithSoi } from '../files/jpeg';
import { jpegSize } from '../pipeline/sharp';
import { removeIfExists } from '../files/atomic';
import { abortError, CameraError, throwIfAborted, type Camera, type CaptureRequest, type CaptureResult } from './camera';
import { digestAuthorization, parseChallenges, pickDigestChallenge } from './http-digest';
import { causes, errorCodes, messageOf } from '../error-causes';
import { SECRET_QUERY_KEY } from '../secrets';

export interface HttpCameraOptions {
  sourceId: string;
  /** http:// or https://. Credentials in it (`user:pass@`) are used when `username` is not given. */
  url: string;
  username?: string;
  password?: string;
  auth: 'basic' | 'digest';
  /** Smaller answers are refused: error texts and placeholder images, not pictures. Default 1 KiB. */
  minBytes?: number;
  /** Larger answers are refused, and their download stopped at this size. Default 50 MiB. */
  maxBytes?: number;
}

const DEFAULT_MIN_BYTES = 1024;
const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
/** Enough for http -> https and a path rewrite; more means a loop or a login page. */
const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const JPEG_TYPES = new Set(['image/jpeg', 'image/jpg', 'image/pjpeg']);
/** Types that say nothing about the body; it is accepted when it starts like a JPEG. */
const SNIFFED_TYPES = new Set(['application/octet-stream', '']);

type AuthSent = 'basic' | 'digest' | 'none';

/** The last answer on the way to the picture, with the URL it came from and the credentials sent. */
interface Answer {
  response: Response;
  url: URL;
  sent: AuthSent;
}

interface Target {
  /** The URL to fetch, without credentials (fetch refuses them, and echoes them in its error). */
  url: URL;
  /** The URL for messages: no credentials, secret-looking query values masked. */
  shown: string;
  credentials?: { username: string; password: string };
}

interface Limits {
  minBytes: number;
  maxBytes: number;
}

export class HttpCamera implements Camera {
  readonly driver = 'http';
  readonly #options: HttpCameraOptions;

  constructor(options: HttpCameraOptions) {
    this.#options = options;
  }

  async capture({ destination, signal }: CaptureRequest): Promise<CaptureResult> {
    throwIfAborted(signal);
    const limits = {
      minBytes: this.#options.minBytes ?? DEFAULT_MIN_BYTES,
      maxBytes: this.#options.maxBytes ?? DEFAULT_MAX_BYTES,
    };
    let response: Response | undefined;
    try {
      const target = this.#target();
      const answer = await this.#get(target, signal);
      response = answer.response;
      this.#checkStatus(answer, target);
      this.#checkHeaders(response, target, limits);
      const size = await this.#download(response, destination, target, limits, signal);
      return await this.#inspect(destination, size, target);
    } catch (err) {
      // Frees the connection when the body was refused before it was read.
      await response?.body?.cancel().catch(() => undefined);
      await removeIfExists(destination).catch(() => undefined);
      if (signal.aborted) throw abortError(signal);
      if (err instanceof CameraError) throw err;
      throw this.#error('failed', `unexpected error: ${messageOf(err)}`, undefined, err);
    }
  }

  #target(): Target {
    let url: URL;
    try {
      url = new URL(this.#options.url);
    } catch {
      // No cause attached: the parser's error carries the whole input, password included.
      throw this.#error('failed', `camera.url is not a valid URL: ${withoutUserInfo(this.#options.url)}`, 'write it as http://host/path or https://host/path');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw this.#error('failed', `camera.url must start with http:// or https://, not ${url.protocol}//`, 'the http driver fetches a snapshot over HTTP; use the rtsp driver for rtsp://');
    }
    const username = this.#options.username ?? (url.username !== '' ? decodeURIComponent(url.username) : undefined);
    const password = this.#options.password ?? decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    return { url, shown: shownUrl(url), ...(username !== undefined ? { credentials: { username, password } } : {}) };
  }

  /** GETs the snapshot, following a few redirects; credentials go to the configured origin only. */
  async #get(target: Target, signal: AbortSignal): Promise<Answer> {
    let url = target.url;
    for (let hop = 0; ; hop++) {
      const credentials = url.origin === target.url.origin ? target.credentials : undefined;
      const answer = await this.#authorisedGet(url, credentials, signal);
      const location = answer.response.headers.get('location');
      if (!REDIRECTS.has(answer.response.status) || location === null) return answer;
      await answer.response.body?.cancel();
      if (hop === MAX_REDIRECTS) {
        throw this.#error('failed', `${target.shown} redirects more than ${MAX_REDIRECTS} times`, 'open it in a browser and put the final address of the picture in camera.url');
      }
      url = new URL(location, url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw this.#error('failed', `${target.shown} redirects to a ${url.protocol} address`, 'put the address of the picture itself in camera.url');
      }
    }
  }

  async #authorisedGet(url: URL, credentials: Target['credentials'], signal: AbortSignal): Promise<Answer> {
    if (!credentials) return { response: await this.#send(url, undefined, signal), url, sent: 'none' };
    if (this.#options.auth === 'basic') {
      const token = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
      return { response: await this.#send(url, `Basic ${token}`, signal), url, sent: 'basic' };
    }
    // Digest needs the server's nonce: ask without credentials, answer its challenge once.
    const first = await this.#send(url, undefined, signal);
    const challenge = first.status === 401 ? pickDigestChallenge(parseChallenges(first.headers.get('www-authenticate') ?? '')) : undefined;
    if (!challenge) return { response: first, url, sent: 'none' };
    await first.body?.cancel();
    const authorization = digestAuthorization({
      challenge,
      ...credentials,
      method: 'GET',
      uri: url.pathname + url.search,
      cnonce: randomBytes(16).toString('hex'),
      nc: 1,
    });
    return { response: await this.#send(url, authorization, signal), url, sent: 'digest' };
  }

  async #send(url: URL, authorization: string | undefined, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {
      accept: 'image/jpeg',
      // A JPEG does not compress; identity also keeps Content-Length the length of the picture.
      'accept-encoding': 'identity',
      ...(authorization ? { authorization } : {}),
    };
    try {
      return await fetch(url, { headers, redirect: 'manual', signal });
    } catch (err) {
      throw this.#networkError(err, url);
    }
  }

  #checkStatus({ response, url, sent }: Answer, target: Target): void {
    const { status } = response;
    if (status >= 200 && status < 300) return;
    const answered = `${shownUrl(url)} answered HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
    if (status === 401 || status === 403) {
      const offered = parseChallenges(response.headers.get('www-authenticate') ?? '').map((c) => c.scheme);
      const { message, advice } = authProblem({
        answered,
        sent,
        configured: this.#options.auth,
        username: target.credentials?.username,
        offered,
        otherOrigin: url.origin !== target.url.origin,
      });
      throw this.#error('failed', message, advice);
    }
    const advice =
      status === 404 ? 'check the path of the snapshot in camera.url (see the camera manual)'
      : status >= 500 ? 'the camera failed to make a picture; restart it if this persists'
      : 'check camera.url';
    throw this.#error('failed', answered, advice);
  }

  #checkHeaders(response: Response, target: Target, limits: Limits): void {
    const type = mediaType(response.headers.get('content-type'));
    if (!JPEG_TYPES.has(type) && !SNIFFED_TYPES.has(type)) {
      throw this.#error('bad-output', `${target.shown} answered with ${type} instead of a JPEG picture`, contentTypeAdvice(type));
    }
    const declared = contentLength(response);
    if (declared !== undefined && declared > limits.maxBytes) {
      throw this.#error('bad-output', `${target.shown} announces ${declared} bytes, more than the limit of ${limits.maxBytes}`, 'choose a smaller picture size or quality in the camera settings');
    }
    if (declared !== undefined && declared < limits.minBytes) {
      throw this.#error('bad-output', `${target.shown} announces only ${declared} bytes, too few for a picture`, tooSmallAdvice);
    }
  }

  /** Streams the body to `destination`, stopping at the size cap; returns the bytes written. */
  async #download(response: Response, destination: string, target: Target, limits: Limits, signal: AbortSignal): Promise<number> {
    const type = mediaType(response.headers.get('content-type')) || 'no Content-Type';
    const declared = contentLength(response);
    let size = 0;
    const head: number[] = [];
    const tooLarge = (bytes: number): CameraError =>
      this.#error('bad-output', `${target.shown} sent more than ${limits.maxBytes} bytes (stopped at ${bytes})`, 'choose a smaller picture size or quality in the camera settings');
    const notJpeg = (): CameraError =>
      this.#error('bad-output', `${target.shown} answered with ${type}, and the body is not a JPEG (it does not start with FF D8)`, 'use the address of a JPEG snapshot in camera.url');
    const cutShort = (err: unknown): CameraError =>
      this.#error('io', `the connection to ${target.shown} broke after ${size}${declared !== undefined ? ` of ${declared}` : ''} bytes`, 'check the network link and the power supply of the camera', err);
    const checked = async function* (body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of body) {
          size += chunk.length;
          if (size > limits.maxBytes) throw tooLarge(size);
          // The first two bytes decide, so a web page sent as octet-stream is not downloaded whole.
          for (let i = 0; i < chunk.length && head.length < 2; i++) head.push(chunk[i]);
          if (head.length === 2 && !startsWithSoi(head)) throw notJpeg();
          yield chunk;
        }
      } catch (err) {
        throw err instanceof CameraError ? err : cutShort(err);
      }
    };

    if (!response.body) throw this.#tooSmall(0, target);
    // fetch itself errors the body when it ends short of its Content-Length: `cutShort` above.
    try {
      await pipeline(response.body, checked, createWriteStream(destination), { signal });
    } catch (err) {
      if (err instanceof CameraError || signal.aborted) throw err;
      throw this.#error('io', `cannot write ${destination}: ${messageOf(err)}`, 'check free space and permissions of the picture folder', err);
    }
    if (size < limits.minBytes) throw this.#tooSmall(size, target);
    return size;
  }

  async #inspect(destination: string, size: number, target: Target): Promise<CaptureResult> {
    if (!(await isCompleteJpeg(destination))) {
      throw this.#error('bad-output', `the picture from ${target.shown} is truncated (no JPEG end marker)`, 'the camera sent an incomplete picture; check its network link, or choose a smaller picture size');
    }
    try {
      const { width, height } = await jpegSize(destination);
      return { width, height, size };
    } catch {
      throw this.#error('bad-output', `the picture from ${target.shown} is not a readable JPEG`, 'use the address of a JPEG snapshot in camera.url');
    }
  }

  #tooSmall(size: number, target: Target): CameraError {
    return this.#error('bad-output', `${target.shown} sent only ${size} bytes, too few for a picture`, tooSmallAdvice);
  }

  /** Maps fetch's "fetch failed" to what a person checks: the name, the port, the network, the certificate. */
  #networkError(err: unknown, url: URL): CameraError {
    const codes = errorCodes(err);
    if (codes.some((c) => c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'EAI_NONAME')) {
      return this.#error('not-found', `cannot resolve the host name ${url.hostname}`, 'check the host name in camera.url and the DNS settings of this box', err);
    }
    if (codes.includes('ECONNREFUSED')) {
      return this.#error('not-found', `${url.host} refused the connection`, "check the port in camera.url and that the camera's web server is enabled", err);
    }
    if (codes.some((c) => UNREACHABLE_CODES.has(c))) {
      return this.#error('not-found', `cannot reach ${url.host}`, 'check that the camera is powered and on the same network, and its address in camera.url', err);
    }
    if (codes.some((c) => c.startsWith('ERR_TLS_') || c.startsWith('ERR_SSL_') || CERTIFICATE_CODES.has(c))) {
      return this.#error(
        'failed',
        `the certificate of ${url.host} is not trusted (${codes.join(', ')})`,
        "use http:// if the camera is on a private network, or add the camera's CA certificate with NODE_EXTRA_CA_CERTS",
        err,
      );
    }
    if (causes(err).some((e) => e.message === 'bad port')) {
      return this.#error('failed', `the port of ${url.host} is on fetch's list of unsafe ports, which it never connects to`, "move the camera's web server to another port (80, 443, 8080, ...)", err);
    }
    return this.#error('io', `the request to ${shownUrl(url)} failed: ${causes(err).map(messageOf).join(': ')}`, 'check the network link and the power supply of the camera', err);
  }

  #error(code: CameraError['code'], message: string, advice?: string, cause?: unknown): CameraError {
    return new CameraError(code, `camera ${this.#options.sourceId}: ${message}`, advice, cause === undefined ? undefined : { cause });
  }
}

const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

const tooSmallAdvice = 'the camera sent an error or a placeholder instead of a picture; open camera.url in a browser to see it';

interface AuthProblem {
  /** "<url> answered HTTP 401 Unauthorized" */
  answered: string;
  sent: AuthSent;
  configured: HttpCameraOptions['auth'];
  username: string | undefined;
  /** Schemes of the answer's WWW-Authenticate, lower case. */
  offered: readonly string[];
  /** The answer came, after a redirect, from an origin that gets no credentials. */
  otherOrigin: boolean;
}

/** Says which authentication was tried and what to change; never the password. */
function authProblem({ answered, sent, configured, username, offered, otherOrigin }: AuthProblem): { message: string; advice: string } {
  const offers = offered.length > 0 ? ` (it offers ${offered.map(schemeName).join(', ')})` : '';
  if (username === undefined) {
    return { message: `${answered}: it wants a user name and password${offers}`, advice: 'set camera.username and camera.password' };
  }
  if (otherOrigin) {
    return { message: `${answered}: camera.url redirects to another server, which gets no credentials`, advice: 'put the final address of the picture in camera.url' };
  }
  if (sent === 'none') {
    // Digest is configured, but the camera's answer had no digest challenge to answer.
    return { message: `${answered}, with no digest challenge to answer${offers}`, advice: offered.includes('basic') ? 'set camera.auth to basic' : 'check camera.auth' };
  }
  const other = configured === 'basic' ? 'digest' : 'basic';
  const switchAuth = offered.includes(other) && !offered.includes(configured) ? `; the camera wants ${other} authentication, set camera.auth to ${other}` : '';
  return {
    message: `${answered} to ${sent} authentication as user "${username}"${offers}`,
    advice: `check camera.username and camera.password, and that this user may take snapshots${switchAuth}`,
  };
}

function schemeName(scheme: string): string {
  return scheme.charAt(0).toUpperCase() + scheme.slice(1);
}

function contentTypeAdvice(type: string): string {
  if (type === 'text/html') return "camera.url shows a web page, not a picture; use the camera's snapshot address (see its manual)";
  if (type.startsWith('multipart/')) return "camera.url is a video stream (MJPEG); use the camera's snapshot address, or the rtsp driver";
  return "use the camera's JPEG snapshot address in camera.url";
}

/** `image/jpeg; charset=x` -> `image/jpeg`; '' when there is no Content-Type. */
function mediaType(header: string | null): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

function contentLength(response: Response): number | undefined {
  const header = response.headers.get('content-length');
  return header !== null && /^\d+$/.test(header.trim()) ? Number(header) : undefined;
}

function shownUrl(url: URL): string {
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  for (const key of [...shown.searchParams.keys()]) {
    if (SECRET_QUERY_KEY.test(key)) shown.searchParams.set(key, '***');
  }
  return shown.href;
}

/** For a URL that did not parse: drop anything between `//` and `@`. */
function withoutUserInfo(text: string): string {
  return text.replace(/\/\/.*@/, '//');
}

