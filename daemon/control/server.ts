/**
 * The control socket: how `lapsebox status` and `lapsebox capture` reach the running
 * daemon. A Unix socket in the data folder, mode 0660, so only users who can
 * already read the data folder and database can use it; no password involved.
 */
import express, { type Express } from 'express';
import type { CaptureService } from '../capture/capture.service';
import type { StatusService } from '../status.service';
import type { Config } from '../config/schema';
import type { Logger } from '../logger';
import { discoverCameras } from '../capture/discovery';
import { jobJson, pictureJson } from '../../web/json';
import type { VideoJobs } from '../timelapse/video-jobs.service';
import { errorHandler, sendError } from '../../web/errors';
import { allocatorInUse } from '../allocator';
import { jsonBody } from '../../web/json-body';
import type { SyncService } from '../sync/sync.service';
import { publicSwitchJson, type PublicSwitch } from '../settings/public-switch';

export function createControlApp(deps: {
  config: () => Config;
  status: StatusService;
  capture: Pick<CaptureService, 'capture' | 'readCameras'>;
  videoJobs?: Pick<VideoJobs, 'submitCustom' | 'get' | 'cancel'>;
  sync?: Pick<SyncService, 'status' | 'sendNow'>;
  publicSwitch?: Pick<PublicSwitch, 'state' | 'set'>;
  log: Logger;
  startedAt: number;
}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(jsonBody('64kb'));
  // `lapsebox status`: what GET /api/system says (health, storage, alerts, channels), with the sources and the daemon.
  app.get('/status', async (_req, res) => {
    const system = await deps.status.system();
    res.json({
      appliance: system.appliance,
      daemon: { running: true, pid: process.pid, startedAt: new Date(deps.startedAt).toISOString(), allocator: allocatorInUse() },
      versions: system.versions,
      disk: system.disk,
      sources: deps.status.sources(),
      sync: system.sync,
      storage: system.storage,
      health: system.health,
      alerts: system.alerts,
      notifications: system.notifications,
      relays: system.relays,
      mqtt: system.mqtt,
      public: system.public,
      progress: system.progress,
    });
  });
  const publicSwitch = deps.publicSwitch;
  if (publicSwitch) {
    // `lapsebox public`: through the daemon, so that it is this process that writes it.
    app.get('/public', (_req, res) => {
      res.json(publicSwitchJson(publicSwitch.state()));
    });
    // The socket has no users: the CLI says who runs it (`cli:<login>`), for the audit.
    app.put('/public', (req, res) => {
      const body = req.body as { enabled?: unknown; actor?: unknown } | undefined;
      if (typeof body?.enabled !== 'boolean') return sendError(res, 400, 'enabled must be true or false', { enabled: 'expected true or false' });
      if (typeof body.actor !== 'string' || !/^cli:\S{1,64}$/.test(body.actor)) return sendError(res, 400, 'actor must be cli:<login>', { actor: 'expected cli:<login>' });
      const { state, changed } = publicSwitch.set(body.enabled, { actor: body.actor, address: 'cli' });
      res.json({ ...publicSwitchJson(state), changed });
    });
  }
  const sync = deps.sync;
  if (sync) {
    app.get('/sync', (_req, res) => {
      res.json({ targets: sync.status() });
    });
    // `lapsebox sync run`: answers when each target's queue is empty or the target failed.
    app.post('/sync/run', async (req, res) => {
      const target = (req.body as { target?: unknown } | undefined)?.target;
      if (target !== undefined && (typeof target !== 'string' || !deps.config().sync.targets.some((t) => t.id === target))) {
        return sendError(res, 404, `no sync target "${String(target)}"`);
      }
      res.json({ passes: await sync.sendNow(target), targets: sync.status() });
    });
  }
  app.get('/cameras', async (_req, res) => {
    const signal = AbortSignal.timeout(50_000);
    // The sessions first: a camera a session holds answers through it, not to a second program.
    const sessions = await deps.capture.readCameras(signal);
    res.json(await discoverCameras({ signal, sessions }));
  });
  app.post('/sources/:id/capture', async (req, res) => {
    const source = deps.config().sources.find((s) => s.id === req.params.id);
    if (!source) return sendError(res, 404, `no source "${req.params.id}"`);
    if (!source.enabled) return sendError(res, 409, `source "${source.id}" is disabled`);
    const outcome = await deps.capture.capture(source.id, 'manual');
    if (outcome.status === 'captured') return res.status(201).json({ status: 'captured', picture: { ...pictureJson(outcome.picture), path: outcome.picture.path }, durationMs: outcome.durationMs });
    if (outcome.status === 'skipped') return sendError(res, outcome.storage ? 507 : 409, outcome.reason);
    sendError(res, 502, outcome.error.describe(), { code: outcome.error.code });
  });
  const jobs = deps.videoJobs;
  if (jobs) {
    // `lapsebox timelapse` queues its video with the running daemon, so one encode runs at a time.
    app.post('/sources/:id/videos', (req, res) => {
      const job = jobs.submitCustom(req.params.id, req.body, 'cli');
      res.status(202).json({ job: jobJson(job) });
    });
    app.get('/jobs/:id', (req, res) => {
      const job = /^\d{1,15}$/.test(req.params.id) ? jobs.get(Number(req.params.id)) : undefined;
      if (!job) return sendError(res, 404, `no job ${req.params.id}`);
      res.json({ job: jobJson(job) });
    });
    app.delete('/jobs/:id', async (req, res) => {
      res.json({ job: jobJson(await jobs.cancel(Number(req.params.id), 'cli')) });
    });
  }
  app.use((_req, res) => sendError(res, 404, 'not found'));
  app.use(errorHandler(deps.log));
  return app;
}
