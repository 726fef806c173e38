/**
 * The web app over a real store, with the real user, access and audit services,
 * for HTTP tests that do not need a whole daemon.
 */
import { Catalogs } from '../../daemon/i18n/catalogs';
import fs from 'node:fs';
import path from 'node:path';
import type { Express } from 'express';
import type { Config } from '../../daemon/config/schema';
import { parseConfig, type LoadedConfig } from '../../daemon/config/load';
import type { Repositories } from '../../daemon/store/repositories';
import { UsersService } from '../../daemon/auth/users.service';
import { AccessService } from '../../daemon/auth/access.service';
import { Authenticator, type ThrottleOptions } from '../../daemon/auth/authenticator';
import { StatusService } from '../../daemon/status.service';
import { PublicImages } from '../../daemon/storage/public-image';
import { PublicSwitch } from '../../daemon/settings/public-switch';
import { silentLogger } from '../../daemon/logger';
import type { Profile } from '../../daemon/domain/users';
import { createWebApp, type WebDeps } from '../../web/app';
import { listen, type Listener } from '../../web/server';
import { buildCaptureStack, buildCoverage, buildShares, buildVideoStack } from '../../daemon/compose/stacks';
import { createCamera } from '../../daemon/capture/drivers';
import type { CaptureService } from '../../daemon/capture/capture.service';
import { PictureSizes } from '../../daemon/storage/picture-sizes';
import type { VideoJobs } from '../../daemon/timelapse/video-jobs.service';
import { SourceSettings } from '../../daemon/settings/source-settings';
import { Metrics } from '../../daemon/health/metrics';
import { ProgressService, type ProgressServiceDeps } from '../../daemon/progress/progress.service';

export const TEST_ACTOR = { actor: 'test', address: 'test' };

export function accessServices(config: () => Config, store: Repositories) {
  const users = new UsersService(store.users, store.audit);
  const access = new AccessService({ access: store.access, users: store.users, audit: store.audit, sourceIds: () => config().sources.map((s) => s.id) });
  return { users, access };
}

/** Adds users (one password for all) and customers' grants: `{ viewer: ['customer', { north: 'view' }] }`. */
export async function addUsers(store: Repositories, config: () => Config, password: string, people: Record<string, [Profile, Record<string, 'view' | 'download'>?]>): Promise<void> {
  const { users, access } = accessServices(config, store);
  for (const [name, [profile, grants]] of Object.entries(people)) {
    await users.add(name, profile, password, TEST_ACTOR);
    for (const [source, level] of Object.entries(grants ?? {})) access.grantUser(name, source, level, TEST_ACTOR);
  }
}

/**
 * Writes `<dir>/lapsebox.yaml` (an appliance in `timezone`, data in `<dir>/data`, then
 * the given lines: comments and layout are kept, for the settings edits) and loads it.
 */
export function writeYamlConfig(dir: string, timezone: string, lines: string[], header: string[] = []): LoadedConfig {
  const file = path.join(dir, 'lapsebox.yaml');
  fs.writeFileSync(file, [...header, `appliance: { id: box, timezone: ${timezone} }`, `storage: { dataDir: ${path.join(dir, 'data')} }`, ...lines, ''].join('\n'));
  return parseConfig(fs.readFileSync(file, 'utf8'), file);
}

export type WebParts = Pick<WebDeps, 'sizes' | 'capture'> & Partial<WebDeps> & { throttle?: ThrottleOptions };

/** The web app on a loopback port, built like the daemon builds it. */
export async function startWeb(config: () => Config, store: Repositories, parts: WebParts): Promise<{ server: Listener; base: string; deps: WebDeps; app: Express }> {
  const { users, access } = accessServices(config, store);
  const { throttle, ...rest } = parts;
  const publicSwitch = new PublicSwitch({ repo: store.publicSwitch, audit: store.audit });
  const deps: WebDeps = {
    config,
    layout: store.layout,
    authenticator: new Authenticator(store.users, throttle ? { throttle } : {}),
    status: new StatusService({ config, pictures: store.pictures, state: store.state, live: null, publicSwitch }),
    pictures: store.pictures,
    publicImages: new PublicImages({ pictures: store.pictures, sizes: parts.sizes }),
    publicSwitch,
    users,
    accessAdmin: access,
    shares: buildShares({ config, store, grantsFor: (user) => access.grantsFor(user) }),
    audit: store.audit,
    events: store.events,
    coverage: buildCoverage(store),
    health: async () => ({ ok: true }),
    history: (resolution, from, to) => store.health.points(resolution, from, to),
    log: silentLogger(),
    ...rest,
    catalogs: rest.catalogs ?? new Catalogs(),
  };
  const app = createWebApp(deps);
  const server = await listen(app, { host: '127.0.0.1', port: 0 });
  return { server, base: `http://${server.address}`, deps, app };
}

export interface EveryPart {
  /** The source whose film of `day` is built before the app starts. */
  source: string;
  day: string;
  /** Where the settings editor reads the file, and what it does with a valid edit. */
  settings: { file: () => string; apply: (next: LoadedConfig) => void };
  /** The status service (default: from the database only, as startWeb makes it). */
  status?: StatusService;
}

/**
 * The web app with every part a running daemon gives it: a test-pattern capture stack,
 * sizes, one custom film of `day` built, the settings editor, metrics. What the tests
 * that walk every route (permissions, OpenAPI) serve; they stop `capture` and `jobs`.
 */
export async function startWebWithEveryPart(config: () => Config, store: Repositories, parts: EveryPart): Promise<{ server: Listener; base: string; app: Express; capture: CaptureService; jobs: VideoJobs; videoId: number }> {
  const log = silentLogger();
  const stack = buildCaptureStack({ config: config(), store, log, createCamera, openRelay: () => { throw new Error('no relay here'); } });
  stack.capture.start();
  const sizes = new PictureSizes({ layout: store.layout, pictures: store.pictures, store: stack.pictureStore, pipeline: stack.pipeline, log });
  const jobs = buildVideoStack({ config, store, sizes, log }).jobs;
  await jobs.start();
  const job = jobs.submitCustom(parts.source, { from: parts.day, to: parts.day }, 'maintainer');
  await jobs.idle();
  const videoId = jobs.get(job.id)!.videoId!;
  const settings = new SourceSettings({ file: parts.settings.file, apply: async (next) => parts.settings.apply(next), audit: store.audit });
  const metrics = new Metrics({ config, state: store.state, backlog: (id) => store.outbox.backlog(id), health: () => null, storage: () => null, alerts: () => [] });
  const shares = buildShares({ config, store, grantsFor: (user) => accessServices(config, store).access.grantsFor(user) });
  const progress = progressService(config, store, shares, sizes);
  const { server, base, app } = await startWeb(config, store, { capture: stack.capture, sizes, videos: store.videos, videoJobs: jobs, settings, metrics, shares, progress, ...(parts.status ? { status: parts.status } : {}) });
  return { server, base, app, capture: stack.capture, jobs, videoId };
}

/** The progress e-mails of a store, as the daemon builds them (compose/services.ts), with the given clock. */
export function progressService(
  config: () => Config,
  store: Repositories,
  shares: ReturnType<typeof buildShares>,
  sizes: PictureSizes,
  options: Pick<ProgressServiceDeps, 'now' | 'retry'> = {},
): ProgressService {
  return new ProgressService({
    config,
    repo: store.progress,
    pictures: store.pictures,
    videos: store.videos,
    groupMembers: (name) => store.access.memberAddresses(name)?.map((m) => ({ ...m, language: store.users.findByName(m.username)?.language ?? null })) ?? null,
    catalogs: new Catalogs(),
    shares,
    sizes,
    audit: store.audit,
    log: silentLogger(),
    ...options,
  });
}
