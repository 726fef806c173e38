/**
 * The storage guard: keeps the data disk from filling up, and never deletes a
 * picture that has not reached every sync target that wants it.
 *
 * - Age: pictures older than `maxAgeDays` (per source, or `storage.retention`)
 *   are deleted with their sizes and companion files.
 * - Space: below `minFreePercent` free, the oldest pictures of all sources go
 *   first, until the disk is a point above the threshold again.
 * - Reserve: below `reserveMB` free with nothing left that may be deleted,
 *   capture pauses with a reason people can read, and resumes by itself once
 *   there is room again (sync caught up, or space freed by hand). The database,
 *   the web UI and the videos keep that room.
 *
 * A picture may be deleted when no outbox row for it is pending and every target
 * that wants it (config: `send` and `sources`) has a row for it that is sent, or
 * gone. The newest picture of each source is always kept (live/latest.jpg, the
 * public picture). Deleting runs in batches with a pause between them, files
 * first and rows after, so a crash in between leaves rows the start-up
 * reconciliation flags as missing, never files that would be sent twice.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Config, SourceConfig } from '../config/schema';
import type { Logger } from '../logger';
import type { Repositories } from '../store/repositories';
import { type Picture, DERIVATIVE_KINDS, isCameraFault } from '../domain/pictures';
import { listFolder } from '../files/layout';
import { targetsFor } from '../config/sync-targets';

const DAY_MS = 86_400_000;
const MB = 1024 * 1024;
/** Pictures deleted per transaction. */
const BATCH = 200;
/** Pause between batches, so captures, uploads and the web keep the disk and CPU. */
const BATCH_PAUSE_MS = 50;
/** Files removed at once: the unlinks overlap in libuv's thread pool. */
const UNLINK_PARALLEL = 16;
/** How often the disk is measured when nothing asks sooner. */
const CHECK_EVERY_MS = 30_000;
/** How often pictures past their age are looked for. */
const AGE_EVERY_MS = 10 * 60_000;
/** Candidates looked at per source and pass: bounds the work when many old pictures still wait for a target. */
const SCAN_LIMIT = 20_000;

export interface DiskSpace {
  totalBytes: number;
  freeBytes: number;
}

export type DiskProbe = (dir: string) => Promise<DiskSpace>;

export const statfsProbe: DiskProbe = async (dir) => {
  const s = await fs.statfs(dir);
  return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
};

export interface PurgeSummary {
  at: string;
  why: 'age' | 'space';
  pictures: number;
  bytes: number;
  /** Taken-at of the first and last picture deleted. */
  from: string | null;
  to: string | null;
}

export interface StorageStatus {
  disk: DiskSpace & { path: string; freePercent: number } | null;
  retention: { maxAgeDays: number; minFreePercent: number; reserveMB: number };
  /** Free space is below minFreePercent and nothing more may be deleted yet. */
  low: boolean;
  /** Set while capture is paused for lack of space. */
  paused: { since: string; reason: string } | null;
  /** Pictures that wait for a target before they may be deleted (counted when asked, whatever the free space). */
  waitingForSync: number;
  lastPurge: PurgeSummary | null;
  purged: { pictures: number; bytes: number };
}

export interface StorageGuardDeps {
  config: () => Config;
  store: Pick<Repositories, 'pictures' | 'outbox' | 'state' | 'layout'>;
  log: Logger;
  now?: () => number;
  /** Free and total bytes of the data folder's file system (tests inject a small disk). */
  disk?: DiskProbe;
  /** Told of each batch deleted (metrics). */
  onPurged?: (sourceId: string, pictures: number, bytes: number) => void;
  checkEveryMs?: number;
  batchPauseMs?: number;
}

export class StorageGuard {
  readonly #deps: StorageGuardDeps;
  readonly #disk: DiskProbe;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<StorageStatus> | null = null;
  #next: Promise<StorageStatus> | null = null;
  #stopped = false;
  #space: DiskSpace | null = null;
  #low = false;
  #paused: { since: number; reason: string } | null = null;
  #lastAgePass = 0;
  #lastPurge: PurgeSummary | null = null;
  #purged = { pictures: 0, bytes: 0 };

  constructor(deps: StorageGuardDeps) {
    this.#deps = deps;
    this.#disk = deps.disk ?? statfsProbe;
    this.#now = deps.now ?? Date.now;
  }

  /** Measures on a timer (the daemon runs a first `check()` itself before its first slot). */
  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
    await this.#next?.catch(() => undefined);
  }

  /**
   * Why a capture may not start now, or null when it may. Synchronous: it reads
   * what the last check found, so a slot never waits on the disk.
   */
  blocked(): string | null {
    return this.#paused?.reason ?? null;
  }

  /**
   * A capture failed: if the disk is the cause, says why (and capture pauses);
   * null when it is not the disk.
   */
  async diskTrouble(): Promise<string | null> {
    // Measure now; deleting (which may take a while) goes on in the background, not in the capture's time.
    this.#updatePause(await this.#measure(), this.#deps.config().storage.retention.reserveMB * MB);
    void this.check().catch((err: unknown) => this.#deps.log.error({ err }, 'storage check failed'));
    return this.blocked();
  }

  /** Measures, deletes what must go, and pauses or resumes capture. One pass at a time; a call during a pass waits for the next one. */
  check(): Promise<StorageStatus> {
    if (this.#stopped) return Promise.resolve(this.status());
    if (this.#running) {
      // Callers during a pass share the one pass after it, which sees what changed meanwhile.
      this.#next ??= this.#running
        .catch(() => undefined)
        .then(() => {
          this.#next = null;
          return this.check();
        });
      return this.#next;
    }
    const run = this.#pass().finally(() => {
      this.#running = null;
    });
    this.#running = run;
    return run;
  }

  status(): StorageStatus {
    const config = this.#deps.config();
    const space = this.#space;
    return {
      disk: space ? { path: config.storage.dataDir, ...space, freePercent: percent(space) } : null,
      retention: { ...config.storage.retention },
      low: this.#low,
      paused: this.#paused ? { since: new Date(this.#paused.since).toISOString(), reason: this.#paused.reason } : null,
      waitingForSync: this.#deps.store.outbox.picturesWaiting(),
      lastPurge: this.#lastPurge,
      purged: { ...this.#purged },
    };
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.check()
        .catch((err: unknown) => this.#deps.log.error({ err }, 'storage check failed'))
        .finally(() => this.#schedule());
    }, this.#deps.checkEveryMs ?? CHECK_EVERY_MS);
    this.#timer.unref();
  }

  async #pass(): Promise<StorageStatus> {
    const config = this.#deps.config();
    const { minFreePercent, reserveMB } = config.storage.retention;
    if (this.#now() - this.#lastAgePass >= AGE_EVERY_MS || this.#lastAgePass === 0) {
      this.#lastAgePass = this.#now();
      await this.purgeByAge();
    }
    let space = await this.#measure();
    if (minFreePercent > 0 && percent(space) < minFreePercent) {
      // A point of margin, so one picture in and one out does not become the rhythm of the box.
      const goal = Math.min(99, minFreePercent + 1);
      space = await this.#purgeForSpace(space, goal);
      this.#low = percent(space) < minFreePercent;
    } else {
      this.#low = false;
    }
    this.#updatePause(space, reserveMB * MB);
    return this.status();
  }

  async #measure(): Promise<DiskSpace> {
    const space = await this.#disk(this.#deps.config().storage.dataDir);
    this.#space = space;
    return space;
  }

  /** Capture pauses below the reserve and resumes a little above it (10 %, at least 1 MB, so it does not flicker). */
  #updatePause(space: DiskSpace, reserve: number): void {
    const { log } = this.#deps;
    if (!this.#paused && space.freeBytes < reserve) {
      const count = this.#deps.store.outbox.picturesWaiting();
      const waiting = count > 0 ? `; ${count} pictures wait to be sent before they may be deleted` : '; no picture may be deleted (retention keeps pictures until every sync target has them, and the newest of each source)';
      const reason = `capture paused: the data disk has ${mb(space.freeBytes)} free, below storage.retention.reserveMB (${mb(reserve)})${waiting}. It resumes by itself when space comes back`;
      this.#paused = { since: this.#now(), reason };
      log.error({ freeBytes: space.freeBytes, reserveBytes: reserve, waitingForSync: count }, reason);
    } else if (this.#paused && space.freeBytes >= reserve + Math.max(reserve * 0.1, MB)) {
      log.warn({ freeBytes: space.freeBytes, pausedSince: new Date(this.#paused.since).toISOString() }, `capture resumed: the data disk has ${mb(space.freeBytes)} free again`);
      this.#paused = null;
    }
  }

  /** Deletes pictures past their source's age limit (only those every target has). Returns how many. */
  async purgeByAge(): Promise<number> {
    const config = this.#deps.config();
    let total = 0;
    for (const source of config.sources) {
      const days = maxAgeDays(config, source);
      if (days <= 0) continue;
      const cutoff = this.#now() - days * DAY_MS;
      const queue = new Candidates(this.#deps, config, source.id, cutoff);
      for (;;) {
        if (this.#stopped) return total;
        const batch = queue.take(BATCH);
        if (batch.length === 0) break;
        total += await this.#delete(batch, 'age');
      }
    }
    return total;
  }

  /** Deletes the oldest pictures of all sources until `goal` percent is free or nothing more may go. */
  async #purgeForSpace(space: DiskSpace, goal: number): Promise<DiskSpace> {
    const config = this.#deps.config();
    const queues = config.sources.map((s) => new Candidates(this.#deps, config, s.id, Number.MAX_SAFE_INTEGER));
    while (percent(space) < goal && !this.#stopped) {
      // The oldest first, whatever the source: merge the heads of the queues.
      const batch: Picture[] = [];
      while (batch.length < BATCH) {
        let best: Candidates | null = null;
        for (const q of queues) {
          const head = q.peek();
          if (head && (!best || head.takenAt < best.peek()!.takenAt)) best = q;
        }
        if (!best) break;
        batch.push(best.take(1)[0]!);
      }
      if (batch.length === 0) break;
      await this.#delete(batch, 'space');
      space = await this.#measure();
    }
    return space;
  }

  /** Files first, then rows in one transaction; empty day folders last. */
  async #delete(pictures: Picture[], why: 'age' | 'space'): Promise<number> {
    const { store, log } = this.#deps;
    const { layout } = store;
    // Each folder is listed once per batch, so only files that exist are removed: the picture,
    // its companions (RAW: same name, another extension) and whichever sizes were made.
    const listings = new Map<string, Promise<Set<string>>>();
    const list = (dir: string) => {
      let names = listings.get(dir);
      if (!names) {
        // Never through a link: a day folder linked to elsewhere loses its rows, not the files it points at.
        names = layout.inside(dir).then((real) => (real ? listFolder(real).then((l) => new Set(l.files)) : new Set<string>()), () => new Set<string>());
        listings.set(dir, names);
      }
      return names;
    };
    const doomed: string[] = [];
    let bytes = 0;
    for (const p of pictures) {
      bytes += p.size;
      const file = layout.absolute(p.path);
      const dir = path.dirname(file);
      const stem = path.basename(file).replace(/\.jpg$/, '.');
      for (const name of await list(dir)) if (name.startsWith(stem)) doomed.push(path.join(dir, name));
      for (const kind of DERIVATIVE_KINDS) {
        const derived = layout.derivative(p.path, kind);
        if ((await list(path.dirname(derived))).has(path.basename(derived))) doomed.push(derived);
      }
    }
    for (let i = 0; i < doomed.length; i += UNLINK_PARALLEL) {
      await Promise.all(doomed.slice(i, i + UNLINK_PARALLEL).map((f) => fs.unlink(f).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)))));
    }
    const dirs = [...listings.keys()];
    const perDay = new Map<string, { sourceId: string; day: string; n: number; bytes: number }>();
    for (const p of pictures) {
      const key = `${p.sourceId}/${p.localDate}`;
      const entry = perDay.get(key) ?? { sourceId: p.sourceId, day: p.localDate, n: 0, bytes: 0 };
      entry.n++;
      entry.bytes += p.size;
      perDay.set(key, entry);
    }
    const ids = pictures.map((p) => p.id);
    store.pictures.transaction(() => {
      store.outbox.dropFinished(ids);
      store.pictures.delete(ids);
      for (const e of perDay.values()) store.state.recordPurged(e.sourceId, e.day, e.n);
    });
    // A folder still holding files (or a new capture) stays: rmdir refuses it.
    for (const dir of dirs) await fs.rmdir(dir).catch(() => undefined);
    const first = pictures[0]!;
    const last = pictures[pictures.length - 1]!;
    this.#lastPurge = { at: new Date(this.#now()).toISOString(), why, pictures: pictures.length, bytes, from: new Date(first.takenAt).toISOString(), to: new Date(last.takenAt).toISOString() };
    this.#purged.pictures += pictures.length;
    this.#purged.bytes += bytes;
    const bySource = new Map<string, { n: number; bytes: number }>();
    for (const e of perDay.values()) {
      const s = bySource.get(e.sourceId) ?? { n: 0, bytes: 0 };
      s.n += e.n;
      s.bytes += e.bytes;
      bySource.set(e.sourceId, s);
    }
    for (const [sourceId, s] of bySource) {
      this.#deps.onPurged?.(sourceId, s.n, s.bytes);
      log.info({ source: sourceId, pictures: s.n, bytes: s.bytes, why, days: [...perDay.values()].filter((e) => e.sourceId === sourceId).map((e) => e.day) }, why === 'age' ? 'retention: deleted pictures past storage.retention.maxAgeDays, already sent to every target' : 'retention: deleted the oldest pictures, already sent to every target, to free disk space');
    }
    await delay(this.#deps.batchPauseMs ?? BATCH_PAUSE_MS);
    return pictures.length;
  }
}

/**
 * The pictures of one source that may be deleted, oldest first, read in pages;
 * the ones a target still waits for are passed over.
 */
class Candidates {
  readonly #deps: Pick<StorageGuardDeps, 'store'>;
  readonly #config: Config;
  readonly #sourceId: string;
  readonly #before: number;
  readonly #keep: ReadonlySet<number>;
  #buffer: Picture[] = [];
  #cursor: { takenAt: number; id: number } | undefined;
  #scanned = 0;
  #done = false;

  constructor(deps: Pick<StorageGuardDeps, 'store'>, config: Config, sourceId: string, before: number) {
    this.#deps = deps;
    this.#config = config;
    this.#sourceId = sourceId;
    this.#before = before;
    const { pictures, state } = deps.store;
    this.#keep = new Set([pictures.latest(sourceId)?.id, state.get(sourceId).lastPictureId].filter((id): id is number => typeof id === 'number'));
  }

  peek(): Picture | undefined {
    this.#fill();
    return this.#buffer[0];
  }

  take(n: number): Picture[] {
    const out: Picture[] = [];
    while (out.length < n) {
      this.#fill();
      const next = this.#buffer.shift();
      if (!next) break;
      out.push(next);
    }
    return out;
  }

  #fill(): void {
    while (this.#buffer.length === 0 && !this.#done) {
      const page = this.#deps.store.pictures.oldest(this.#sourceId, this.#before, BATCH, this.#cursor);
      if (page.length === 0 || this.#scanned >= SCAN_LIMIT) {
        this.#done = true;
        return;
      }
      this.#scanned += page.length;
      const last = page[page.length - 1]!;
      this.#cursor = { takenAt: last.takenAt, id: last.id };
      this.#buffer = page.filter((p) => !this.#keep.has(p.id) && mayDelete(p, this.#config, this.#deps.store.outbox.rowsOfPicture(p.id)));
    }
  }
}

/**
 * Whether every target that wants the picture is done with it: no row pending,
 * and a sent (or gone) row for each target that wants it. Pictures the camera
 * spoiled are never sent, so no target waits for them.
 */
export function mayDelete(picture: Pick<Picture, 'sourceId' | 'rejection'>, config: Config, rows: readonly { kind: string; targetId: string; state: string }[]): boolean {
  if (rows.some((r) => r.state === 'pending')) return false;
  if (isCameraFault(picture.rejection)) return true;
  return targetsFor(config.sync.targets, picture.sourceId, 'picture').every((t) => rows.some((r) => r.kind === 'picture' && r.targetId === t.id));
}

export function maxAgeDays(config: Config, source: SourceConfig): number {
  return source.retention?.maxAgeDays ?? config.storage.retention.maxAgeDays;
}

function percent(space: DiskSpace): number {
  return space.totalBytes > 0 ? Math.round((space.freeBytes / space.totalBytes) * 1000) / 10 : 0;
}

function mb(bytes: number): string {
  return `${Math.round(bytes / MB)} MB`;
}
