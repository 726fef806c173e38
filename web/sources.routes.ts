/**
 * The sources (SPEC §5): the ones the user may see, their settings as in the config
 * file for the director's form, and a picture taken now. A source the user may not
 * see is 404, a level too low is 403.
 */
import type { Response } from 'express';
import { visibleSources } from '../daemon/auth/permissions';
import type { SourceConfig } from '../daemon/config/schema';
import type { WebDeps } from './deps';
import { userOf } from './auth.middleware';
import { HttpError } from './errors';
import { readerWords } from './language';
import { pictureJson, sourceJson } from './json';
import { clientAddress, sourceOf, type Access, type Routes } from './routes';
import { progressEmailJson } from '../daemon/progress/progress.service';
import { CameraError } from '../daemon/capture/camera';
import { SKIPPED_STOPPING, SKIPPED_TEST_SHOT, type CaptureOutcome } from '../daemon/capture/capture.service';
import { say } from '../daemon/i18n/say';
import { DateTime } from 'luxon';
import { parseDuration } from '../daemon/config/duration';
import { countSlots } from '../daemon/schedule/slots';

const viewer = { kind: 'source', level: 'view' } as const;
const editor = { kind: 'source', level: 'edit' } as const;

const disabled = (source: SourceConfig) => new HttpError(409, `source "${source.id}" is disabled`, undefined, { message: say('apiError.source.disabled', { source: source.id }) });

/** A camera's failure: its own text (and advice) is technical and stays as it is, inside the reader's words. */
function cameraFailed(status: number, err: CameraError): HttpError {
  const words = err.code === 'aborted' ? say('apiError.capture.interrupted', { error: err.message }) : say('apiError.capture.cameraFailed', { error: err.message });
  return new HttpError(status, err.message, { code: err.code, ...(err.advice ? { advice: err.advice } : {}) }, { message: words });
}

/** A "capture now" that took no picture: the disk is full, the daemon stops, or a test shot holds the camera. */
function skipped(outcome: Extract<CaptureOutcome, { status: 'skipped' }>): HttpError {
  const words = outcome.storage
    ? say('apiError.capture.diskFull')
    : outcome.reason === SKIPPED_STOPPING
      ? say('apiError.capture.stopping')
      : outcome.reason === SKIPPED_TEST_SHOT
        ? say('apiError.capture.testShot')
        : undefined;
  return new HttpError(outcome.storage ? 507 : 409, outcome.reason, undefined, words ? { message: words } : undefined);
}

export function sourceRoutes(routes: Routes, deps: WebDeps, access: Access): void {
  const shown = (res: Response, source: SourceConfig) => {
    const latest = deps.pictures.latest(source.id);
    const level = access.levelFor(res, source, 'view', `no source "${source.id}"`);
    const summary = { days: deps.pictures.days(source.id), latestFilm: deps.videos?.list(source.id, null, 1)[0] };
    return sourceJson(deps.status.source(source), level, latest, summary);
  };
  const settingsEditor = () => {
    if (!deps.settings) throw new HttpError(404, 'settings cannot be edited here');
    return deps.settings;
  };

  routes.get('/sources', { kind: 'user' }, (_req, res) => {
    const visible = new Set(visibleSources(userOf(res), deps.config().sources.map((s) => s.id), access.grantsOf(res)).map((s) => s.id));
    res.json({ sources: deps.config().sources.filter((s) => visible.has(s.id)).map((s) => shown(res, s)) });
  });

  routes.get('/sources/:id', viewer, (_req, res) => {
    res.json(shown(res, sourceOf(res)));
  });

  // Settings as in the config file, for the director's form; PATCH writes them back.
  routes.get('/sources/:id/settings', editor, (_req, res) => {
    res.json(settingsEditor().get(sourceOf(res).id, userOf(res).profile));
  });

  routes.patch('/sources/:id', editor, async (req, res) => {
    const settings = settingsEditor();
    if (req.body === undefined || req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
      throw new HttpError(400, 'expected a JSON object with the settings to change', { body: 'a JSON object' });
    }
    const user = userOf(res);
    res.json(await settings.patch(sourceOf(res).id, req.body, { actor: `user:${user.username}`, address: clientAddress(req), profile: user.profile }));
  });

  /**
   * A test shot with settings not saved yet (issue 25): the camera takes a picture, the
   * pipeline makes it as the patch would (rotation, crop, masks, legend, watermark), and its
   * preview size comes back as a JPEG. Nothing is stored, sent or written to the file; the
   * patch is checked like PATCH (who may change what, the whole file valid).
   */
  routes.post('/sources/:id/preview', editor, async (req, res) => {
    const settings = settingsEditor();
    if (!deps.capture.testShot) throw new HttpError(404, 'previews are not available here');
    if (req.body === undefined || req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
      throw new HttpError(400, 'expected a JSON object with the settings to preview', { body: 'a JSON object' });
    }
    const source = sourceOf(res);
    if (!source.enabled) throw disabled(source);
    const user = userOf(res);
    const proposed = settings.proposed(source.id, req.body, { actor: `user:${user.username}`, address: clientAddress(req), profile: user.profile });
    let jpeg: Buffer;
    try {
      jpeg = await deps.capture.testShot(source.id, proposed);
    } catch (err) {
      if (err instanceof CameraError) throw cameraFailed(err.code === 'aborted' ? 503 : 502, err);
      throw err;
    }
    res.status(200).type('image/jpeg').setHeader('Cache-Control', 'no-store');
    res.end(jpeg);
  });

  /**
   * What an interval gives (issue 25): for each interval asked (`every`, up to 12, such as
   * "10s", "5m"), the slots of each of the next 7 local days with the source's windows, or
   * the windows in the body (checked like PATCH), counted by the schedule's own functions.
   */
  routes.post('/sources/:id/slots', editor, (req, res) => {
    const body = req.body as { every?: unknown; windows?: unknown } | undefined;
    const everies = body?.every;
    if (!Array.isArray(everies) || everies.length === 0 || everies.length > 12 || !everies.every((e) => typeof e === 'string')) {
      throw new HttpError(400, 'expected "every": a list of 1 to 12 intervals such as "5m"', { every: 'a list of 1 to 12 durations' });
    }
    const source = sourceOf(res);
    const user = userOf(res);
    const schedule = body?.windows === undefined ? source.schedule : settingsEditor().proposed(source.id, { schedule: { windows: body.windows } }, { actor: `user:${user.username}`, profile: user.profile }).schedule;
    const cfg = deps.config();
    const zone = cfg.appliance.timezone;
    const ctx = { timezone: zone, ...(cfg.appliance.location ? { location: cfg.appliance.location } : {}) };
    const first = DateTime.now().setZone(zone).startOf('day');
    const days = Array.from({ length: 7 }, (_, i) => first.plus({ days: i }));
    const counts: Record<string, number[]> = {};
    for (const every of everies as string[]) {
      const ms = parseDuration(every);
      if (ms === null || ms < 1000 || ms > 86_400_000) throw new HttpError(400, `bad interval "${every}"`, { every: 'durations from 1s to 1d, such as "10s", "5m", "1h"' });
      counts[every] = days.map((d) => countSlots(d.toJSDate(), d.plus({ days: 1 }).toJSDate(), { everyMs: ms, windows: schedule.windows }, ctx));
    }
    res.json({ days: days.map((d) => d.toISODate()), counts });
  });

  const progressService = () => {
    if (!deps.progress) throw new HttpError(404, 'progress e-mails are not available here');
    return deps.progress;
  };

  // The source's progress e-mails as the System page shows them, and the groups the settings form offers as recipients.
  routes.get('/sources/:id/progress', editor, (req, res) => {
    const id = sourceOf(res).id;
    res.json({ progress: progressService().status(readerWords(deps.catalogs, req, res)).find((p) => p.sourceId === id) ?? null, groups: deps.accessAdmin.groups().map((g) => g.name) });
  });

  // One e-mail now, to the source's recipients, with a new link: a director checks that it arrives.
  routes.post('/sources/:id/progress/send', editor, async (req, res) => {
    const email = await progressService().sendNow(sourceOf(res).id, { actor: `user:${userOf(res).username}`, address: clientAddress(req) });
    res.status(201).json({ email: progressEmailJson(email) });
  });

  routes.post('/sources/:id/capture', editor, async (req, res) => {
    const source = sourceOf(res);
    if (!source.enabled) throw disabled(source);
    const outcome = await deps.capture.capture(source.id, 'manual');
    if (outcome.status === 'skipped') throw skipped(outcome);
    if (outcome.status === 'failed') throw cameraFailed(502, outcome.error);
    const picture = outcome.picture;
    if (req.accepts(['application/json', 'image/jpeg']) === 'image/jpeg') {
      res.status(201).type('image/jpeg');
      return res.sendFile(deps.layout.absolute(picture.path), { headers: { 'Cache-Control': 'no-store' } });
    }
    res.status(201).json({ picture: pictureJson(picture, 'manage'), durationMs: outcome.durationMs });
  });
}
