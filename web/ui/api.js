// The JSON API. Reads are plain GETs; every state change says it is JSON (the
// server's cross-site guard refuses anything else, DELETE included) and stays on
// this origin, where the browser resends the Basic credentials on its own.

export class ApiError extends Error {
  constructor(status, message, details) {
    super(message);
    this.status = status;
    this.details = details && typeof details === 'object' ? details : null;
  }
}

async function request(method, path, body, signal) {
  const init = { method, mode: 'same-origin', credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' }, signal };
  if (method !== 'GET') {
    init.headers['Content-Type'] = 'application/json';
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'the box did not answer (network down?); try again');
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    const message = (data && data.error) || (res.status === 401 ? 'your login is no longer valid: reload the page to log in again' : `${res.status} ${res.statusText}`);
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

export const pictureUrl = (picture, size) => (picture.urls && picture.urls[size]) || `/api/pictures/${seg(picture.id)}/${size}`;
