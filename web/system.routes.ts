/**
 * Who is asking and how the box is (SPEC §5): the caller's own view, the box's
 * health and sync backlog, and the charts of its vital signs.
 */
import type { Request } from 'express';
import { visibleSources } from '../daemon/auth/permissions';
import type { HealthResolution } from '../daemon/store/health.repository';
import type { WebDeps } from './deps';
import { userOf } from './auth.middleware';
import { HttpError } from './errors';
import { say } from '../daemon/i18n/say';
import { objectBody } from './admin.routes';
import { readerWords } from './language';
import { healthPointJson } from './json';
import { clientAddress, type Access, type Routes } from './routes';

const staff = { kind: 'profile', profiles: ['maintainer', 'director'] } as const;
/** How far back the charts go when not told: minute rows two days, hour rows a week, day rows a year. */
const SPAN = { minute: 2 * 86_400_000, hour: 7 * 86_400_000, day: 365 * 86_400_000 };

export function systemRoutes(routes: Routes, deps: WebDeps, access: Access): void {
  routes.get('/me', { kind: 'user' }, (_req, res) => {
    const user = userOf(res);
    const config = deps.config();
    res.json({
      username: user.username,
      profile: user.profile,
      appliance: { name: config.appliance.name ?? config.appliance.id, timezone: config.appliance.timezone, locale: config.appliance.locale },
      // The user's own choice (null: their browser's, else the box's) and the languages to choose from.
      language: user.language ?? null,
      languages: deps.catalogs.languages().map(({ code, name }) => ({ code, name })),
      sources: visibleSources(user, config.sources.map((s) => s.id), access.grantsOf(res)),
    });
  });

  // Any user picks the language they read the UI and their e-mails in; null goes back to the browser's.
  routes.put('/me/language', { kind: 'user' }, (req, res) => {
    const language = objectBody(req, { language: 'string|null?' })['language'] as string | null | undefined;
    if (language === undefined || (language !== null && !deps.catalogs.has(language))) {
      const codes = deps.catalogs.languages().map((l) => l.code).join(', ');
      // A language the menu offered but the box no longer has (a catalog removed) is said in the reader's words; no field at all is a hand-made request.
      const said = typeof language === 'string' ? { message: say('apiError.language.unknown', { language: language.slice(0, 20) }), details: { language: say('apiError.language.choices', { languages: codes }) } } : undefined;
      throw new HttpError(400, `bad language${typeof language === 'string' ? ` "${language.slice(0, 20)}"` : ''}`, { language: `one of: ${codes}, or null for the browser's` }, said);
    }
    const user = userOf(res);
    const saved = deps.users.setLanguage(user.username, language, { actor: `user:${user.username}`, address: clientAddress(req) });
    res.json({ language: saved.language });
  });

  // The box's health and sync backlog: maintainers, and directors read-only (SPEC §5).
  routes.get('/system', staff, async (req, res) => {
    // Its sentences (alerts, the power flags) in the reader's words; codes and figures as they are.
    res.json(await deps.status.system(readerWords(deps.catalogs, req, res)));
  });

  // Charts of the box's vital signs: minute rows cover two days, hour rows 90 days, day rows all time.
  routes.get('/system/history', staff, (req, res) => {
    if (!deps.history) throw new HttpError(503, 'health history is not available');
    const { resolution, from, to } = historyQuery(req);
    const points = deps.history(resolution, from, to);
    res.json({ resolution, from: new Date(from).toISOString(), to: new Date(to).toISOString(), points: points.map(healthPointJson) });
  });
}

/** `resolution`, `from` and `to` of a history request, with their defaults; 400 for a bad one. */
function historyQuery(req: Request): { resolution: HealthResolution; from: number; to: number } {
  const resolution = req.query['resolution'] ?? 'hour';
  if (resolution !== 'minute' && resolution !== 'hour' && resolution !== 'day') throw new HttpError(400, 'resolution must be minute, hour or day', { resolution: 'expected minute, hour or day' });
  const instant = (name: 'from' | 'to', fallback: number) => {
    const text = req.query[name];
    if (text === undefined) return fallback;
    const ms = typeof text === 'string' ? Date.parse(text) : NaN;
    if (!Number.isFinite(ms)) throw new HttpError(400, `${name} must be an ISO date or time`, { [name]: 'expected an ISO date or time such as 2026-11-23T10:00:00Z' });
    return ms;
  };
  const to = instant('to', Date.now());
  const from = instant('from', to - SPAN[resolution]);
  if (from >= to) throw new HttpError(400, 'from must be before to', { from: 'must be before to' });
  return { resolution, from, to };
}
