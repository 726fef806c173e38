// The JSON API. Reads are plain GETs; every state change says it is JSON (the
// server's cross-site guard refuses anything else, DELETE included) and stays on
// this origin, where the browser resends the Basic credentials on its own.
//
// Opened as a share link (/s/<token>), the same UI runs for a visitor without an
// account: every /api/... path then goes to /s/<token>/api/..., here and only here
// (apiUrl), so that no request of a visitor's page ever meets the login.
import { t, lang } from './i18n.js';

const SHARE_PATH = /^\/s\/([A-Za-z0-9_-]{32})\/?$/;
const shareMatch = SHARE_PATH.exec(location.pathname);
/** The share link's token when the page was opened as /s/<token>, else null. */
export const shareToken = shareMatch ? shareMatch[1] : null;
const shareBase = shareToken ? `/s/${shareToken}` : '';

/**
 * The URL to fetch or link for an API path: `/api/pictures/7/thumb` as it is, or
 * under the share link in share mode. Paths the server already gave under the link
 * (a picture's `urls`) are left alone, so it may be applied twice.
 */
export function apiUrl(path) {
  if (shareBase && typeof path === 'string' && (path === '/api' || path.startsWith('/api/'))) return `${shareBase}${path}`;
  return path;
}

/** A path under the share link (`latest.jpg`); only in share mode. */
export const shareUrl = (rest) => `${shareBase}/${rest}`;

export class ApiError extends Error {
  constructor(status, message, details) {
    super(message);
    this.status = status;
    this.details = details && typeof details === 'object' ? details : null;
  }
}

async function request(method, path, body, signal) {
  // The page's language, not the browser's list: the box's sentences (errors, the System page) come in the words the page shows.
  const init = { method, mode: 'same-origin', credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json', 'Accept-Language': lang }, signal };
  if (method !== 'GET') {
    init.headers['Content-Type'] = 'application/json';
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(apiUrl(path), init);
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, t('net.noAnswer'));
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    const message =
      (data && data.error) ||
      (res.status === 401 ? t('net.loginExpired') : res.status === 410 ? t('net.linkGone') : `${res.status} ${res.statusText}`);
    throw new ApiError(res.status, message, data && data.details);
  }
  return data;
}

export const api = {
  get: (path, signal) => request('GET', path, undefined, signal),
  post: (path, body) => request('POST', path, body ?? {}),
  put: (path, body) => request('PUT', path, body ?? {}),
  patch: (path, body) => request('PATCH', path, body),
  del: (path) => request('DELETE', path),
};

/** Path segment, encoded: ids are safe by the server's rules but user names may not be. */
export const seg = (text) => encodeURIComponent(String(text));

/** A size of a picture (thumb, preview, original): the URL the API gave, else the usual one. */
export const pictureUrl = (picture, size) => apiUrl((picture.urls && picture.urls[size]) || `/api/pictures/${seg(picture.id)}/${size}`);

/**
 * The link's speed as this page has seen it (bit/s): the fastest of its own transfers
 * of more than 4 KB (Resource Timing, first byte to last); null until 32 KB of them came
 * over the network (a page whose files all came from the cache). A transfer is never
 * faster than the link, but often slower for reasons that are not the link: the box
 * busy serving the page's twenty modules at once, the browser busy starting up, the
 * transfers sharing the link. Measured on a 2-core box, the page's own modules on
 * loopback came at 2-4 Mbit/s each while the fastest came at 15; through Chromium's
 * throttling at 1.6 Mbit/s, none is faster. The Network Information API's `downlink`
 * is no measure: Chromium says 1.4 Mbit/s on a fresh start whatever the link.
 */
export function measuredDownlink() {
  let bytes = 0;
  let fastest = 0;
  for (const e of performance.getEntriesByType('resource')) {
    if (!(e.transferSize > 4096) || !(e.responseEnd > e.responseStart)) continue;
    bytes += e.transferSize;
    fastest = Math.max(fastest, (e.transferSize * 8) / ((e.responseEnd - e.responseStart) / 1000));
  }
  return bytes < 32 * 1024 ? null : fastest;
}

/**
 * Whether the link cannot carry `bitsPerSecond`: data saver on or a 2G/3G link (the
 * Network Information API, where the browser has it), or this page's own measure of its
 * transfers below it. Nothing known is not slow.
 */
export function linkBelow(bitsPerSecond) {
  const link = navigator.connection;
  if (link && (link.saveData || ['slow-2g', '2g', '3g'].includes(link.effectiveType))) return true;
  const measured = measuredDownlink();
  return measured !== null && measured < bitsPerSecond;
}

/** The `small` size's width, and the link a `preview` needs: its 300 KB in half a second. */
const SMALL_WIDTH = 640;
const PREVIEW_LINK = 5e6;

/** A phone's screen, in CSS pixels, whichever way it is held. */
export const phoneScreen = () => Math.max(window.screen.width, window.screen.height) < 1000;

/**
 * The size to show a picture across the screen: `small` (640 pixels, a fifth of the bytes)
 * when the screen needs no more, on a slow or metered link, or on a phone whose link is
 * not known yet (its files came from the cache: 4G is the likely case); else `preview`
 * (1280). Zoom and the download still reach the full picture.
 */
export function shownSize() {
  const needed = window.innerWidth * (window.devicePixelRatio || 1);
  if (needed <= SMALL_WIDTH * 1.1 || linkBelow(PREVIEW_LINK)) return 'small';
  return measuredDownlink() === null && phoneScreen() ? 'small' : 'preview';
}

/** The picture the address opened, asked for before the UI's modules had arrived (web/ui/boot.js), not shown yet. */
let early = null;

/**
 * Starts downloading picture `id` at the size the viewer will likely show, before the
 * rest of the UI, the profile and the picture's facts have arrived: on a slow link the
 * picture is what takes longest, and the viewer then shows this very image.
 */
export function startPicture(id) {
  const img = new Image();
  img.decoding = 'async';
  img.src = apiUrl(`/api/pictures/${seg(id)}/${shownSize()}`);
  early = { id: String(id), img };
}

/** The image `startPicture` began for picture `id` at `src`, if any (taken once; another size is not it). */
export function earlyPicture(id, src) {
  const found = early && early.id === String(id) && early.img.getAttribute('src') === src ? early.img : null;
  early = null;
  return found;
}

