/**
 * The UI: one HTML page and its static assets (`web/ui/`), behind the same Basic
 * auth as the API so the browser asks for credentials once and resends them to
 * `/api`. Everything is served from this origin: the Content-Security-Policy
 * allows no inline script or style and no other site, and no one may frame it.
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import { Routes, type Access, type DeclaredRoute } from './routes';
import { HttpError } from './errors';

export const UI_CSP = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** `web/ui` from the sources (ts-jest) or from `dist/web` after the build. */
export function uiFolder(): string {
  const candidates = [path.join(__dirname, 'ui'), path.join(__dirname, '..', '..', 'web', 'ui')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html')));
  if (!found) throw new Error(`the UI files are missing: looked for index.html in ${candidates.join(' and ')}`);
  return found;
}

const ASSET = /^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)*\.(js|css|svg|png|ico)$/;

export function uiRoutes(auth: RequestHandler, access: Access, declared: DeclaredRoute[]): Router {
  const router = express.Router();
  const folder = uiFolder();
  const headers: RequestHandler = (_req, res, next) => {
    res.setHeader('Content-Security-Policy', UI_CSP);
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  };
  const routes = new Routes(router, '', declared, access, [headers, auth]);
  routes.get('/', { kind: 'user' }, (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(path.join(folder, 'index.html'));
  });
  // Assets are not secret but stay behind the login like the rest; names are checked
  // against a strict pattern before they reach the file system.
  routes.get('/ui/*file', { kind: 'user' }, (req, res) => {
    const file = (req.params as unknown as { file: string[] }).file.join('/');
    if (!ASSET.test(file)) throw new HttpError(404, 'not found');
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(file, { root: folder, dotfiles: 'deny' }, (err) => {
      if (err && !res.headersSent) res.status(404).json({ error: 'not found' });
    });
  });
  return router;
}
