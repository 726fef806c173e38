/**
 * What the web app is given by the daemon (or a test): the services its routes call.
 * Every route file takes its part of `WebDeps` from here, and web/app.ts mounts them:
 * no route file imports the app.
 */
import type { Config, SourceConfig } from '../daemon/config/schema';
import type { HealthPoint, HealthResolution } from '../daemon/store/health.repository';
import type { Logger } from '../daemon/logger';
import type { Authenticator } from '../daemon/auth/authenticator';
import type { StatusService } from '../daemon/status.service';
import type { CaptureService } from '../daemon/capture/capture.service';
import type { PublicImages } from '../daemon/storage/public-image';
import type { PublicSwitch } from '../daemon/settings/public-switch';
import type { DataLayout } from '../daemon/files/layout';
import type { PicturesRepository } from '../daemon/store/pictures.repository';
import type { CoverageCalculator } from '../daemon/schedule/coverage';
import type { PictureSizes } from '../daemon/storage/picture-sizes';
import type { VideosRepository } from '../daemon/store/videos.repository';
import type { VideoJobs } from '../daemon/timelapse/video-jobs.service';
import type { UsersService } from '../daemon/auth/users.service';
import type { AccessService } from '../daemon/auth/access.service';
import type { AuditRepository } from '../daemon/store/audit.repository';
import type { EventsRepository } from '../daemon/store/events.repository';
import type { Profile } from '../daemon/domain/users';
import type { Metrics } from '../daemon/health/metrics';
import type { DownloadLimits } from './download-slots';
import type { ShareService } from '../daemon/shares/share.service';
import type { ProgressService } from '../daemon/progress/progress.service';
import type { Catalogs } from '../daemon/i18n/catalogs';

/** Editing a source's settings in the config file (daemon/settings/source-settings.ts). */
export interface SettingsEditor {
  get(sourceId: string, profile: Profile): { settings: Record<string, unknown>; editable: string[] };
  patch(sourceId: string, patch: unknown, who: { actor: string; address?: string; profile: Profile }): Promise<{ settings: Record<string, unknown> }>;
  /** The source as the patch would make it, checked but neither written nor applied (a preview). */
  proposed(sourceId: string, patch: unknown, who: { actor: string; address?: string; profile: Profile }): SourceConfig;
}

export interface WebDeps {
  config: () => Config;
  layout: DataLayout;
  authenticator: Authenticator;
  status: StatusService;
  /** Without `testShot`, previews of unsaved settings answer 404. */
  capture: Pick<CaptureService, 'capture' | 'isBusy'> & Partial<Pick<CaptureService, 'testShot'>>;
  publicImages: PublicImages;
  /** The box-wide public switch: off, every /public/ route answers 404 (web/public.routes.ts). */
  publicSwitch: Pick<PublicSwitch, 'enabled' | 'state' | 'set'>;
  pictures: Pick<PicturesRepository, 'get' | 'latest' | 'days' | 'page' | 'neighbour' | 'nearest' | 'exposed'>;
  sizes: Pick<PictureSizes, 'file' | 'original' | 'watermarkedOriginal' | 'publicWidth'>;
  /** Videos and their jobs; without them the video routes answer 404. */
  videos?: Pick<VideosRepository, 'get' | 'list'>;
  videoJobs?: Pick<VideoJobs, 'submitCustom' | 'get' | 'list' | 'cancel'>;
  users: Pick<UsersService, 'list' | 'get' | 'add' | 'setProfile' | 'setPassword' | 'setEmail' | 'setLanguage' | 'remove'>;
  /** The message catalogs (i18n/): the UI's page, the public and shared pages, error messages. */
  catalogs: Catalogs;
  /** Groups and grants, and each user's levels. */
  accessAdmin: Pick<AccessService, 'grantsFor' | 'userView' | 'groups' | 'group' | 'addGroup' | 'removeGroup' | 'addMember' | 'removeMember' | 'grantUser' | 'revokeUser' | 'grantGroup' | 'revokeGroup'>;
  audit: Pick<AuditRepository, 'query'>;
  /** Share links: made by users under /api/shares, opened by anyone holding one under /s/<token>. */
  shares: Pick<ShareService, 'create' | 'list' | 'get' | 'revoke' | 'resolve'>;
  events: Pick<EventsRepository, 'recent'>;
  /** The coverage calendar; without it that route answers 404. */
  coverage?: Pick<CoverageCalculator, 'days'>;
  /** Without it, settings cannot be edited over HTTP (404). */
  settings?: SettingsEditor;
  /** Progress e-mails (their state, send one now); without them those routes answer 404. */
  progress?: Pick<ProgressService, 'status' | 'sendNow'>;
  health: () => Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Prometheus metrics; without them GET /metrics answers 503. */
  metrics?: Pick<Metrics, 'text' | 'contentType'>;
  /** Bounds on day zips and watermarked originals; DOWNLOAD_LIMITS by default (tests lower them). */
  downloadLimits?: DownloadLimits;
  /** Health samples for charts (minute, hour or day rows in [from, to)); without it the history route answers 503. */
  history?: (resolution: HealthResolution, from: number, to: number) => HealthPoint[];
  log: Logger;
}
