/**
 * The box-wide public switch (issue 22, SPEC §6 `lapsebox public`): directors and
 * maintainers read it and switch every public route off or on at once. What the
 * public routes do while it is off is in public.routes.ts.
 */
import type { WebDeps } from './deps';
import { userOf } from './auth.middleware';
import { HttpError } from './errors';
import { publicSwitchJson } from './json';
import { clientAddress, type Routes } from './routes';

/**
 * Directors and maintainers, who decide what the site shows the world (they edit the
 * sources' public settings too). Customers neither switch it nor read it: what the box
 * shows strangers is not theirs to watch.
 */
const staff = { kind: 'profile', profiles: ['maintainer', 'director'] } as const;

export function publicSwitchRoutes(routes: Routes, deps: WebDeps): void {
  routes.get('/public', staff, (_req, res) => {
    res.json(publicSwitchJson(deps.publicSwitch.state()));
  });

  // Takes effect with the next request to a public route; audited when it changes something.
  routes.put('/public', staff, (req, res) => {
    const body = req.body as unknown;
    const enabled = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { enabled?: unknown }).enabled : undefined;
    if (typeof enabled !== 'boolean') throw new HttpError(400, 'enabled must be true or false', { enabled: 'expected true or false' });
    const unknown = Object.keys(body as object).filter((k) => k !== 'enabled');
    if (unknown.length > 0) throw new HttpError(400, `unknown field ${unknown.map((k) => `"${k}"`).join(', ')}: only "enabled" may be sent`, Object.fromEntries(unknown.map((k) => [k, 'not a field of the public switch'])));
    const user = userOf(res);
    const { state } = deps.publicSwitch.set(enabled, { actor: `user:${user.username}`, address: clientAddress(req) });
    res.json(publicSwitchJson(state));
  });
}
