/**
 * Share links for users (SPEC §4, §5): directors and maintainers share any source,
 * a customer what they may download, at most at their own level. Each sees and
 * revokes their own links; a maintainer every link. The token is in the answer to
 * the POST only: the box keeps its hash.
 */
import type { Request } from 'express';
import QRCode from 'qrcode';
import { levelOn } from '../daemon/auth/permissions';
import { shareJson, type ShareCreator } from '../daemon/shares/share.service';
import type { WebDeps } from './deps';
import { userOf } from './auth.middleware';
import { HttpError } from './errors';
import { clientAddress, param, type Access, type Routes } from './routes';

/** Directors, maintainers and customers: the service checks the customer's level on the source. */
const SHARERS = { kind: 'profile', profiles: ['customer', 'director', 'maintainer'] } as const;

export function shareRoutes(routes: Routes, deps: WebDeps, access: Access): void {
  routes.post('/shares', SHARERS, async (req, res) => {
    const user = userOf(res);
    const grants = access.grantsOf(res);
    const creator: ShareCreator = {
      actor: `user:${user.username}`,
      address: clientAddress(req),
      user,
      levelOn: (sourceId) => levelOn(user, sourceId, grants),
    };
    const made = deps.shares.create(req.body, creator);
    const link = `${linkBase(req, deps)}${made.url}`;
    // The QR code of the whole link, for a phone on site; an SVG the UI shows as an image.
    const qr = await QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    const share = shareJson(made.share, Date.now());
    res
      .status(201)
      .location(`/api/shares/${made.share.id}`)
      .json({ id: made.share.id, url: made.url, link, expiresAt: share.expiresAt, qr, share });
  });

  routes.get('/shares', SHARERS, (req, res) => {
    const source = req.query['source'];
    if (source !== undefined && typeof source !== 'string') throw new HttpError(400, 'give source once', { source: 'a single source id' });
    if (source !== undefined) access.sourceFor(res, source, 'view');
    const now = Date.now();
    res.json({ shares: deps.shares.list(userOf(res), source === undefined ? {} : { source }).map((s) => shareJson(s, now)) });
  });

  routes.delete('/shares/:id', SHARERS, (req, res) => {
    const text = param(req, 'id');
    const id = /^[1-9]\d{0,15}$/.test(text) ? Number(text) : null;
    if (id === null) throw new HttpError(404, `no share link ${text.slice(0, 40)}`);
    const user = userOf(res);
    const share = deps.shares.revoke(id, { actor: `user:${user.username}`, address: clientAddress(req), user });
    res.json({ share: shareJson(share, Date.now()) });
  });
}

/**
 * Where people open the link: `web.publicUrl` when the box is reached from outside
 * through a proxy or tunnel, else the address this request came to.
 */
function linkBase(req: Request, deps: WebDeps): string {
  const configured = deps.config().web.publicUrl;
  if (configured) return configured;
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}
