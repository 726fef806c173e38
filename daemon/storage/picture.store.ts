/**
 * Storing pictures safely (SPEC §1): the file is made durable under its final name
 * first, then one transaction indexes it, then `live/latest.jpg` follows. At start-up
 * `reconcile()` repairs whatever a crash left between those steps.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger';
import type { ExposedPicture, PicturesRepository } from '../store/pictures.repository';
import { type Picture, type IndexedPicture, isCameraFault, type DerivativeKind } from '../domain/pictures';
import type { SourceStateRepository } from '../store/source-state.repository';
import { type PictureMetrics, type ProcessedPicture } from '../pipeline/picture.pipeline';
import { commitFile, removeIfExists, replaceWithLinkOrCopy, tempPathFor } from '../files/atomic';
import { isCompleteJpeg } from '../files/jpeg';
import { DataLayout, listFolder } from '../files/layout';
import { TEMP_PREFIX, companionFileName, isCompanionFileName, localDate, parsePictureFileName, pictureFileName } from '../domain/data-folder';
import type { PictureExposure } from '../domain/exposure';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export interface ReconcileReport {
  indexed: number;
  flaggedMissing: number;
  found: number;
  removedTemp: number;
  ignored: string[];
}

export class PictureStore {
  readonly #layout: DataLayout;
  readonly #pictures: PicturesRepository;
  readonly #state: SourceStateRepository;
  readonly #timezone: string;
  readonly #log: Logger;
  readonly #measure: (file: string, sourceId: string) => Promise<PictureMetrics>;
  readonly #indexed: (picture: IndexedPicture, options: { latest: boolean }) => void;

  constructor(deps: {
    layout: DataLayout;
    pictures: PicturesRepository;
    state: SourceStateRepository;
    timezone: string;
    log: Logger;
    /** Metrics of a stored picture found on disk without a row (the pipeline's `measure`). */
    measure: (file: string, sourceId: string) => Promise<PictureMetrics>;
    /**
     * Told of each picture indexed, inside the indexing transaction, with `latest` when it
     * is now the source's latest picture (the daemon's outbox queues it for the sync targets).
     */
    indexed: (picture: IndexedPicture, options: { latest: boolean }) => void;
  }) {
    this.#layout = deps.layout;
    this.#pictures = deps.pictures;
    this.#state = deps.state;
    this.#timezone = deps.timezone;
    this.#log = deps.log;
    this.#measure = deps.measure;
    this.#indexed = deps.indexed;
  }

  /** The folder a capture taken at `at` goes to; created if needed. */
  /** The light of a source's pictures (PicturesRepository.exposed): the exposure ramp's memory and its chart. */
  exposed(sourceId: string, from: number, to: number, options: { limit: number; newestFirst?: boolean }): ExposedPicture[] {
    return this.#pictures.exposed(sourceId, from, to, options);
  }

  async prepareDir(sourceId: string, at: number): Promise<string> {
    const dir = this.#layout.dayDir(sourceId, localDate(at, this.#timezone));
    await fs.mkdir(dir, { recursive: true, mode: 0o750 });
    return dir;
  }

  /**
   * Stores a processed capture: the picture under its final name first (the
   * camera's temporary file itself when the pipeline kept its bytes, else the
   * pipeline's rewritten file, which then replaces it), then its
   * sizes, then one transaction indexes it with its metrics. On an error before
   * the picture is safe, the temporary files are removed and nothing is indexed.
   * Companion files (the RAW file of the shot) get the picture's name with their
   * own extension; losing one, or a size, is logged but does not lose the picture.
   * A picture rejected as a camera fault is kept and indexed, but is not the
   * source's last capture.
   */
  async commit(sourceId: string, capture: { tempPath: string; processed: ProcessedPicture; takenAt: number; companions?: readonly { path: string; extension: string }[]; exposure?: PictureExposure | null }): Promise<Picture> {
    const { tempPath, processed, takenAt } = capture;
    const companions = capture.companions ?? [];
    const day = localDate(takenAt, this.#timezone);
    const dir = this.#layout.dayDir(sourceId, day);
    let at = takenAt;
    let finalPath = path.join(dir, pictureFileName(at));
    const storedTemp = processed.master;
    try {
      if (processed.rewritten) await removeIfExists(tempPath);
      for (;;) {
        try {
          await commitFile(storedTemp, finalPath, { replace: false });
          break;
        } catch (err) {
          // Two captures in the same millisecond ("capture now" racing a slot): the later one moves by 1 ms.
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          at += 1;
          finalPath = path.join(dir, pictureFileName(at));
        }
      }
    } catch (err) {
      await removeIfExists(tempPath);
      if (storedTemp !== tempPath) await removeIfExists(storedTemp);
      for (const companion of companions) await removeIfExists(companion.path);
      throw err;
    }
    for (const companion of companions) {
      const target = path.join(dir, companionFileName(path.basename(finalPath), companion.extension));
      try {
        await commitFile(companion.path, target, { replace: false });
      } catch (err) {
        await removeIfExists(companion.path);
        this.#log.warn({ source: sourceId, err, file: target }, `could not keep the ${companion.extension} file of the shot`);
      }
    }
    const relative = this.#layout.relative(finalPath);
    const written = await Promise.all(
      processed.derivatives.map(async ({ kind, data }) => ((await this.writeDerivative(sourceId, relative, kind, data)) ? [kind] : [])),
    );
    const { metrics } = processed;
    const record = {
      sourceId,
      takenAt: at,
      localDate: day,
      path: relative,
      size: metrics.size,
      width: metrics.width,
      height: metrics.height,
      sha256: metrics.sha256,
      exifTakenAt: metrics.exifTakenAt,
      luminance: metrics.luminance,
      exposure: capture.exposure ?? null,
      rejection: metrics.rejection,
      derivatives: written.flat(),
    };
    const cameraFault = isCameraFault(metrics.rejection);
    const id = this.#pictures.transaction(() => {
      const newId = this.#pictures.insert(record);
      if (!cameraFault) this.#state.recordSuccess(sourceId, at, newId);
      this.#indexed({ id: newId, sourceId, path: relative, size: record.size, takenAt: at, rejection: record.rejection }, { latest: !metrics.rejection });
      return newId;
    });
    if (!metrics.rejection) await this.#updateLatest(sourceId, finalPath);
    return { id, ...record, missing: false };
  }

  /**
   * Writes one size of a stored picture under its final name (crash-safe, replacing
   * an older one). Returns false, after logging why, when it could not.
   */
  async writeDerivative(sourceId: string, picturePath: string, kind: DerivativeKind, data: Buffer): Promise<boolean> {
    return this.writeSize(sourceId, this.#layout.derivative(picturePath, kind), `the ${kind} size of ${picturePath}`, data);
  }

  /**
   * Writes a made size (a derivative, a public width) at `file` inside the data folder,
   * crash-safe, replacing an older one. Returns false, after logging why (`what` names
   * it), when it could not.
   */
  async writeSize(sourceId: string, file: string, what: string, data: Buffer): Promise<boolean> {
    const temp = tempPathFor(file);
    try {
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o750 });
      if (!(await this.#layout.inside(path.dirname(file)))) throw new Error(`${this.#layout.relative(path.dirname(file))} is a symbolic link; lapsebox never writes through one`);
      await fs.writeFile(temp, data, { mode: 0o640 });
      await commitFile(temp, file, { replace: true });
      return true;
    } catch (err) {
      await removeIfExists(temp).catch(() => undefined);
      this.#log.warn({ source: sourceId, err, file }, `could not write ${what}`);
      return false;
    }
  }

  async #updateLatest(sourceId: string, picturePath: string): Promise<void> {
    try {
      await fs.mkdir(this.#layout.liveDir(sourceId), { recursive: true, mode: 0o750 });
      await replaceWithLinkOrCopy(picturePath, this.#layout.latest(sourceId));
    } catch (err) {
      // The picture is safe and indexed; a stale latest.jpg is repaired at the next capture or start.
      this.#log.warn({ source: sourceId, err }, 'could not update live/latest.jpg');
    }
  }

  /** Start-up repair: index complete files the database missed, flag rows whose file is gone, drop temp files. */
  async reconcile(sourceIds: readonly string[]): Promise<ReconcileReport> {
    const report: ReconcileReport = { indexed: 0, flaggedMissing: 0, found: 0, removedTemp: 0, ignored: [] };
    const known = new Map(this.#pictures.allPaths().map((p) => [p.path, p]));
    const seen = new Set<string>();
    // Links are never followed: a day folder linked to elsewhere on the box is not indexed (its rows read as missing).
    const notFollowed = (dir: string, names: string[]) => report.ignored.push(...names.map((n) => this.#layout.relative(path.join(dir, n))));
    const sources = await listFolder(this.#layout.sourcesDir);
    notFollowed(this.#layout.sourcesDir, sources.others);
    for (const sourceId of sources.dirs) {
      const picturesDir = this.#layout.picturesDir(sourceId);
      if (!(await this.#layout.inside(picturesDir))) {
        if ((await fs.lstat(picturesDir).catch(() => null))?.isSymbolicLink()) notFollowed(path.dirname(picturesDir), ['pictures']);
        continue;
      }
      const days = await listFolder(picturesDir);
      notFollowed(picturesDir, days.others);
      for (const day of days.dirs) {
        const dayDir = path.join(picturesDir, day);
        if (!DAY.test(day)) continue;
        const names = await listFolder(dayDir);
        notFollowed(dayDir, names.others);
        for (const name of names.files) {
          const file = path.join(dayDir, name);
          if (name.startsWith(TEMP_PREFIX)) {
            await removeIfExists(file);
            report.removedTemp++;
            continue;
          }
          if (isCompanionFileName(name)) continue;
          const relative = this.#layout.relative(file);
          seen.add(relative);
          if (known.has(relative)) continue;
          const takenAt = parsePictureFileName(name);
          if (takenAt === null || !(await isCompleteJpeg(file))) {
            report.ignored.push(relative);
            continue;
          }
          // A stored picture is already turned, cut and masked: it only needs measuring; its sizes are made when asked for.
          const metrics = await this.#measure(file, sourceId);
          this.#pictures.transaction(() => {
            const id = this.#pictures.insert({ sourceId, takenAt, localDate: day, path: relative, ...metrics });
            const state = this.#state.get(sourceId);
            if (!metrics.rejection && (state.lastCaptureAt ?? 0) < takenAt) this.#state.recordSuccess(sourceId, takenAt, id);
            // Not as the latest picture: one found after a crash is rarely newer than what the targets have.
            this.#indexed({ id, sourceId, path: relative, size: metrics.size, takenAt, rejection: metrics.rejection }, { latest: false });
          });
          report.indexed++;
        }
      }
      if (await this.#layout.inside(this.#layout.liveDir(sourceId))) await removeTemps(this.#layout.liveDir(sourceId), report);
      if (await this.#layout.inside(this.#layout.publicSizesDir(sourceId))) await removeTemps(this.#layout.publicSizesDir(sourceId), report);
      const derivedDir = this.#layout.derivedDir(sourceId);
      if (!(await this.#layout.inside(derivedDir))) continue;
      for (const kind of (await listFolder(derivedDir)).dirs) {
        for (const day of (await listFolder(path.join(derivedDir, kind))).dirs) await removeTemps(path.join(derivedDir, kind, day), report);
      }
    }
    for (const row of known.values()) {
      const present = seen.has(row.path);
      if (!present && !row.missing) {
        this.#pictures.setMissing(row.id, true);
        report.flaggedMissing++;
      } else if (present && row.missing) {
        this.#pictures.setMissing(row.id, false);
        report.found++;
      }
    }
    for (const sourceId of sourceIds) await this.#repairLatest(sourceId);
    return report;
  }

  async #repairLatest(sourceId: string): Promise<void> {
    const newest = this.#pictures.latest(sourceId);
    if (!newest) return;
    const latest = this.#layout.latest(sourceId);
    const [a, b] = await Promise.all([fs.stat(latest).catch(() => null), fs.stat(this.#layout.absolute(newest.path)).catch(() => null)]);
    if (b && (!a || a.ino !== b.ino || a.size !== b.size)) await this.#updateLatest(sourceId, this.#layout.absolute(newest.path));
  }
}

async function removeTemps(dir: string, report: ReconcileReport): Promise<void> {
  for (const name of (await listFolder(dir)).files) {
    if (name.startsWith(TEMP_PREFIX)) {
      await removeIfExists(path.join(dir, name));
      report.removedTemp++;
    }
  }
}
