/**
 * Opens the database of a data folder with every repository, for the daemon and
 * for CLI commands that work on a stopped box.
 */
import { DataLayout } from '../files/layout';
import { openDatabase, type Db } from './database';
import { PicturesRepository } from './pictures.repository';
import { SourceStateRepository } from './source-state.repository';
import { UsersRepository } from './users.repository';
import { AuditRepository } from './audit.repository';
import { EventsRepository } from './events.repository';
import { VideosRepository } from './videos.repository';
import { VideoJobsRepository } from './video-jobs.repository';
import { OutboxRepository } from './outbox.repository';
import { SyncTargetsRepository } from './sync-targets.repository';
import { MultipartRepository } from './multipart.repository';
import { AccessRepository } from './access.repository';
import { HealthRepository } from './health.repository';
import { NotificationsRepository } from './notifications.repository';
import { AlertsRepository } from './alerts.repository';
import { MqttRetainedRepository } from './mqtt-retained.repository';
import { PublicSwitchRepository } from './public-switch.repository';
import { SharesRepository } from './shares.repository';
import { ProgressRepository } from './progress.repository';
import { CoverageRepository } from './coverage.repository';

export interface Repositories {
  db: Db;
  layout: DataLayout;
  pictures: PicturesRepository;
  state: SourceStateRepository;
  users: UsersRepository;
  audit: AuditRepository;
  events: EventsRepository;
  videos: VideosRepository;
  jobs: VideoJobsRepository;
  outbox: OutboxRepository;
  syncTargets: SyncTargetsRepository;
  multipart: MultipartRepository;
  access: AccessRepository;
  health: HealthRepository;
  notifications: NotificationsRepository;
  alerts: AlertsRepository;
  mqttRetained: MqttRetainedRepository;
  publicSwitch: PublicSwitchRepository;
  shares: SharesRepository;
  progress: ProgressRepository;
  coverage: CoverageRepository;
  close(): void;
}

export function openRepositories(dataDir: string): Repositories {
  const layout = new DataLayout(dataDir);
  const db = openDatabase(layout.database);
  return {
    db,
    layout,
    pictures: new PicturesRepository(db),
    state: new SourceStateRepository(db),
    users: new UsersRepository(db),
    audit: new AuditRepository(db),
    events: new EventsRepository(db),
    videos: new VideosRepository(db),
    jobs: new VideoJobsRepository(db),
    outbox: new OutboxRepository(db),
    syncTargets: new SyncTargetsRepository(db),
    multipart: new MultipartRepository(db),
    access: new AccessRepository(db),
    health: new HealthRepository(db),
    notifications: new NotificationsRepository(db),
    alerts: new AlertsRepository(db),
    mqttRetained: new MqttRetainedRepository(db),
    publicSwitch: new PublicSwitchRepository(db),
    shares: new SharesRepository(db),
    progress: new ProgressRepository(db),
    coverage: new CoverageRepository(db),
    close: () => {
      if (db.open) db.close();
    },
  };
}
