/**
 * The maintainer's routes (SPEC §4, §5): users, groups and their grants, the audit
 * trail, and the box's recent events. Every change is audited with who made it
 * and from where; passwords are never returned except a generated one, once.
 */
import type { Request, Response } from 'express';
import type { Actor } from '../daemon/auth/access.service';
import { checkEmail } from '../daemon/auth/users.service';
import type { WebDeps } from './deps';
import { userOf } from './auth.middleware';
import { HttpError } from './errors';
import { say } from '../daemon/i18n/say';
import { auditJson, eventJson, groupJson, userJson } from './json';
import { clientAddress, param, type Routes } from './routes';

const maintainer = { kind: 'profile', profiles: ['maintainer'] } as const;
const staff = { kind: 'profile', profiles: ['maintainer', 'director'] } as const;

/** Who made a change, and from where, for the audit trail. */
const who = (req: Request, res: Response): Actor => ({ actor: `user:${userOf(res).username}`, address: clientAddress(req) });

/** Users, their profiles and passwords, and their own grants. */
export function userRoutes(routes: Routes, deps: Pick<WebDeps, 'users' | 'accessAdmin'>): void {
  const { users, accessAdmin: access } = deps;
  const userView = (name: string) => userJson(access.userView(users.get(name)));

  routes.get('/users', maintainer, (_req, res) => {
    res.json({ users: users.list().map((u) => userJson(access.userView(u))) });
  });

  routes.post('/users', maintainer, async (req, res) => {
    const body = objectBody(req, { username: 'string', profile: 'string', password: 'string?', email: 'string?' });
    const result = await users.add(body['username'] as string, body['profile'] as string, body['password'] as string | undefined, who(req, res), { email: body['email'] as string | undefined });
    res.status(201).location(`/api/users/${encodeURIComponent(result.user.username)}`);
    res.json({ user: userView(result.user.username), ...(result.generatedPassword ? { password: result.generatedPassword } : {}) });
  });

  routes.get('/users/:name', maintainer, (req, res) => {
    res.json({ user: userView(param(req, 'name')) });
  });

  routes.patch('/users/:name', maintainer, async (req, res) => {
    const body = objectBody(req, { profile: 'string?', password: 'string?', email: 'string|null?' });
    const name = param(req, 'name');
    users.get(name); // 404 before anything changes
    // Checked before anything changes; an empty address clears it too (what a form sends when the field is emptied).
    const email = body['email'] === undefined ? undefined : body['email'] === null || (body['email'] as string).trim() === '' ? null : checkEmail(body['email'] as string);
    if (body['profile'] !== undefined) users.setProfile(name, body['profile'] as string, who(req, res));
    if (email !== undefined) users.setEmail(name, email, who(req, res));
    if (body['password'] !== undefined) await users.setPassword(name, body['password'] as string, who(req, res));
    res.json({ user: userView(name) });
  });

  routes.delete('/users/:name', maintainer, (req, res) => {
    const name = param(req, 'name');
    if (users.get(name).username.toLowerCase() === userOf(res).username.toLowerCase()) {
      throw new HttpError(409, 'you cannot remove yourself; another maintainer can', undefined, { message: say('apiError.user.removeSelf') });
    }
    users.remove(name, who(req, res));
    res.status(204).end();
  });

  routes.put('/users/:name/grants/:source', maintainer, (req, res) => {
    const body = objectBody(req, { level: 'string' });
    res.json({ user: userJson(access.grantUser(param(req, 'name'), param(req, 'source'), body['level'], who(req, res))) });
  });

  routes.delete('/users/:name/grants/:source', maintainer, (req, res) => {
    res.json({ user: userJson(access.revokeUser(param(req, 'name'), param(req, 'source'), who(req, res))) });
  });
}

/** Groups, their members and their grants. */
export function groupRoutes(routes: Routes, deps: Pick<WebDeps, 'accessAdmin'>): void {
  const { accessAdmin: access } = deps;

  routes.get('/groups', maintainer, (_req, res) => {
    res.json({ groups: access.groups().map(groupJson) });
  });

  routes.post('/groups', maintainer, (req, res) => {
    const body = objectBody(req, { name: 'string' });
    const group = access.addGroup(body['name'] as string, who(req, res));
    res.status(201).location(`/api/groups/${encodeURIComponent(group.name)}`).json({ group: groupJson(group) });
  });

  routes.get('/groups/:name', maintainer, (req, res) => {
    res.json({ group: groupJson(access.group(param(req, 'name'))) });
  });

  routes.delete('/groups/:name', maintainer, (req, res) => {
    access.removeGroup(param(req, 'name'), who(req, res));
    res.status(204).end();
  });

  routes.put('/groups/:name/members/:user', maintainer, (req, res) => {
    res.json({ group: groupJson(access.addMember(param(req, 'name'), param(req, 'user'), who(req, res))) });
  });

  routes.delete('/groups/:name/members/:user', maintainer, (req, res) => {
    res.json({ group: groupJson(access.removeMember(param(req, 'name'), param(req, 'user'), who(req, res))) });
  });

  routes.put('/groups/:name/grants/:source', maintainer, (req, res) => {
    const body = objectBody(req, { level: 'string' });
    res.json({ group: groupJson(access.grantGroup(param(req, 'name'), param(req, 'source'), body['level'], who(req, res))) });
  });

  routes.delete('/groups/:name/grants/:source', maintainer, (req, res) => {
    res.json({ group: groupJson(access.revokeGroup(param(req, 'name'), param(req, 'source'), who(req, res))) });
  });
}

/** What happened: the audit trail of changes, and the box's recent events. */
export function journalRoutes(routes: Routes, deps: Pick<WebDeps, 'audit' | 'events'>): void {
  const { audit, events } = deps;

  routes.get('/audit', maintainer, (req, res) => {
    const limit = intParam(req, 'limit', 1, 1000) ?? 100;
    const before = intParam(req, 'before', 1, Number.MAX_SAFE_INTEGER);
    const filters = Object.fromEntries(
      (['action', 'actor', 'target'] as const).flatMap((k) => {
        const v = req.query[k];
        if (v === undefined) return [];
        if (typeof v !== 'string' || v.length > 200) throw new HttpError(400, `bad ${k}`, { [k]: 'a single value' });
        return [[k, v]];
      }),
    );
    const entries = audit.query({ limit: limit + 1, ...(before !== undefined ? { before } : {}), ...filters });
    const more = entries.length > limit;
    const shown = more ? entries.slice(0, limit) : entries;
    res.json({ entries: shown.map(auditJson), next: more ? shown[shown.length - 1]!.id : null });
  });

  // The box's recent events (camera down and up, power cycles, sync alerts), newest first.
  routes.get('/events', staff, (req, res) => {
    const limit = intParam(req, 'limit', 1, 1000) ?? 100;
    res.json({ events: events.recent(limit).map(eventJson) });
  });
}

/** `string?` may be left out; `string|null?` may also be null (a value to clear). */
type FieldType = 'string' | 'string?' | 'string|null?';

/** The JSON object body with the expected fields, or a 400 naming each wrong one; unknown fields are refused. */
export function objectBody(req: Request, fields: Record<string, FieldType>): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'expected a JSON object', { body: `an object with ${Object.keys(fields).join(', ')}` });
  }
  const details: Record<string, string> = {};
  for (const [key, type] of Object.entries(fields)) {
    const value = (body as Record<string, unknown>)[key];
    if (value === undefined && type.endsWith('?')) continue;
    if (value === null && type === 'string|null?') continue;
    if (typeof value !== 'string') details[key] = value === undefined ? 'required' : type === 'string|null?' ? 'expected a string, or null to clear it' : 'expected a string';
  }
  for (const key of Object.keys(body)) if (!(key in fields)) details[key] = 'unknown field';
  if (Object.keys(details).length > 0) throw new HttpError(400, `bad request body: ${Object.keys(details).join(', ')}`, details);
  return body as Record<string, unknown>;
}

function intParam(req: Request, key: string, min: number, max: number): number | undefined {
  const value = req.query[key];
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `bad ${key}`, { [key]: `a whole number from ${min} to ${max}` });
  return n;
}
