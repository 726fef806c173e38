/**
 * Sending picture files with validators: a strong ETag and Last-Modified, 304 when
 * the client already has the file, Range requests for large
 * originals (416 for a range past the end), and a clean 404 when the file
 * vanished between lookup and send.
 */
import type { Request, Response } from 'express';
import { sendError } from './errors';

export interface CacheHeaders {
  etag: string;
  lastModified: Date;
  cacheControl: string;
  contentType: string;
  /** `attachment; filename=...` for downloads. */
  disposition?: string;
}

export function setCacheHeaders(res: Response, headers: CacheHeaders): void {
  res.setHeader('ETag', headers.etag);
  res.setHeader('Last-Modified', new Date(Math.floor(headers.lastModified.getTime() / 1000) * 1000).toUTCString());
  res.setHeader('Cache-Control', headers.cacheControl);
  res.type(headers.contentType);
  if (headers.disposition) res.setHeader('Content-Disposition', headers.disposition);
}

/** Streams `file` (absolute) with the validators; resolves when the response is done. */
export function sendCachedFile(req: Request, res: Response, file: string, headers: CacheHeaders): Promise<void> {
  setCacheHeaders(res, headers);
  // Checked here rather than left to send: it ignores validators when a request says
  // "Cache-Control: no-cache", which fetch() adds to every conditional request.
  if (notModified(req, headers.etag, headers.lastModified)) {
    res.status(304).end();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    res.sendFile(file, { etag: false, lastModified: false, cacheControl: false, acceptRanges: true, dotfiles: 'allow' }, (err?: Error & { status?: number }) => {
      if (err && !res.headersSent && err.status === 416) {
        // A range that starts past the end: send has set `Content-Range: bytes */<size>` (RFC 9110 §15.5.17).
        sendError(res, 416, 'the requested range starts past the end of the file');
      } else if (err && !res.headersSent) {
        res.removeHeader('Content-Range');
        res.removeHeader('ETag');
        res.removeHeader('Last-Modified');
        res.removeHeader('Content-Disposition');
        res.setHeader('Cache-Control', 'no-store');
        sendError(res, 404, 'the picture file is gone');
      }
      resolve();
    });
  });
}

/** RFC 9110: If-None-Match wins over If-Modified-Since when both are sent. */
export function notModified(req: Request, etag: string, lastModified: Date): boolean {
  const ifNoneMatch = req.get('if-none-match');
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
  }
  const ifModifiedSince = req.get('if-modified-since');
  if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    return Number.isFinite(since) && Math.floor(lastModified.getTime() / 1000) * 1000 <= since;
  }
  return false;
}
