/**
 * Queues stored files for the sync targets that want them. Called inside the
 * transaction that indexes the file, so a file is indexed and queued together or
 * not at all; the sync service is woken once the rows exist.
 */
import type { Config } from '../config/schema';
import type { OutboxRepository } from '../store/outbox.repository';
import type { OutboxKind } from '../domain/sync';
import { CAMERA_FAULTS, type Rejection, isCameraFault, type IndexedPicture } from '../domain/pictures';
import { remotePathOf } from './remote-paths';
import { targetsFor } from '../config/sync-targets';

export interface QueuedVideo {
  id: number;
  sourceId: string;
  path: string;
  size: number;
  createdAt: number;
}

export class Outbox {
  readonly #config: () => Config;
  readonly #repo: OutboxRepository;
  readonly #now: () => number;
  readonly #notify: (targetIds: readonly string[]) => void;

  constructor(deps: { config: () => Config; repo: OutboxRepository; now?: () => number; notify?: (targetIds: readonly string[]) => void }) {
    this.#config = deps.config;
    this.#repo = deps.repo;
    this.#now = deps.now ?? Date.now;
    this.#notify = deps.notify ?? (() => undefined);
  }

  /**
   * A picture was indexed. Pictures the camera spoiled (corrupt, too small, too
   * large) stay on the box for diagnosis and are not sent. `latest` when it is now
   * the source's latest picture.
   */
  picture(p: IndexedPicture, options: { latest: boolean }): void {
    const now = this.#now();
    const ids = new Set<string>();
    if (!isCameraFault(p.rejection)) {
      for (const id of this.#add('picture', p.sourceId, { itemId: p.id, localPath: p.path, size: p.size, orderAt: p.takenAt }, now)) ids.add(id);
    }
    if (options.latest) {
      for (const id of this.#add('latest', p.sourceId, { itemId: p.id, localPath: p.path, size: p.size, orderAt: p.takenAt }, now)) ids.add(id);
    }
    if (ids.size > 0) this.#notify([...ids]);
  }

  /** A video was indexed; a rebuilt one (same file) is sent again. */
  video(v: QueuedVideo): void {
    const ids = this.#add('video', v.sourceId, { itemId: v.id, localPath: v.path, size: v.size, orderAt: v.createdAt }, this.#now());
    if (ids.length > 0) this.#notify(ids);
  }

  /**
   * Queues what the targets want and have no row for: the history of a source
   * when a target (or a source of a target) is added, and each source's latest
   * picture. Returns how many rows it added.
   */
  backfill(latestOf: (sourceId: string) => IndexedPicture | undefined): number {
    const config = this.#config();
    const now = this.#now();
    let added = 0;
    for (const target of config.sync.targets) {
      const sources = config.sources.map((s) => s.id).filter((id) => target.sources === undefined || target.sources.includes(id));
      for (const sourceId of sources) {
        if (target.send.includes('pictures')) {
          for (let after = 0; ; ) {
            const page = this.#repo.picturesWithoutRow(target.id, sourceId, after, 1000);
            if (page.length === 0) break;
            this.#repo.transaction(() => {
              for (const p of page) {
                if (p.rejection !== null && CAMERA_FAULTS.has(p.rejection as Rejection['code'])) continue;
                this.#repo.add({ targetId: target.id, kind: 'picture', sourceId, itemId: p.id, localPath: p.path, remotePath: remotePathOf('picture', sourceId, p.path), size: p.size, priority: 1, orderAt: p.takenAt, replaces: false, overwrite: false }, now);
                added++;
              }
            });
            after = page[page.length - 1]!.id;
          }
        }
        if (target.send.includes('videos')) {
          this.#repo.transaction(() => {
            for (const v of this.#repo.videosWithoutRow(target.id, sourceId)) {
              this.#repo.add({ targetId: target.id, kind: 'video', sourceId, itemId: v.id, localPath: v.path, remotePath: remotePathOf('video', sourceId, v.path), size: v.size, priority: 1, orderAt: v.createdAt, replaces: false, overwrite: false }, now);
              added++;
            }
          });
        }
        if (target.send.includes('latest') && !this.#repo.hasLatest(target.id, sourceId)) {
          const latest = latestOf(sourceId);
          if (latest) {
            this.#repo.add({ targetId: target.id, kind: 'latest', sourceId, itemId: latest.id, localPath: latest.path, remotePath: remotePathOf('latest', sourceId, latest.path), size: latest.size, priority: 0, orderAt: latest.takenAt, replaces: true, overwrite: true }, now);
            added++;
          }
        }
      }
    }
    if (added > 0) this.#notify(config.sync.targets.map((t) => t.id));
    return added;
  }

  #add(kind: OutboxKind, sourceId: string, file: { itemId: number; localPath: string; size: number; orderAt: number }, now: number): string[] {
    const targets = targetsFor(this.#config().sync.targets, sourceId, kind);
    if (targets.length === 0) return [];
    const remotePath = remotePathOf(kind, sourceId, file.localPath);
    for (const target of targets) {
      this.#repo.add(
        {
          targetId: target.id,
          kind,
          sourceId,
          ...file,
          remotePath,
          // The latest picture jumps the queue; the rest goes oldest first.
          priority: kind === 'latest' ? 0 : 1,
          replaces: kind !== 'picture',
          overwrite: kind === 'latest',
        },
        now,
      );
    }
    return targets.map((t) => t.id);
  }
}
