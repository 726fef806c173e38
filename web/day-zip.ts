/**
 * A whole day of a source's pictures as a zip, streamed as it is made: JPEGs are
 * stored, not compressed again, and one page of pictures is read at a time.
 */
import type { Response } from 'express';
import archiver from 'archiver';
import type { Picture } from '../daemon/domain/pictures';
import type { SourceConfig } from '../daemon/config/schema';
import type { WebDeps } from './deps';

/** `north-20261123-101500.jpg`: says what it is once saved on someone's disk. */
export function downloadName(p: Picture): string {
  return `${p.sourceId}-${new Date(p.takenAt).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}.jpg`;
}

export async function streamDayZip(res: Response, deps: Pick<WebDeps, 'pictures' | 'sizes' | 'log'>, source: SourceConfig, date: string, clean: boolean): Promise<void> {
  const archive = archiver('zip', { store: true });
  res.status(200);
  res.type('application/zip');
  res.setHeader('Content-Disposition', `attachment; filename="${source.id}-${date}.zip"`);
  res.setHeader('Cache-Control', 'private, no-store');
  let aborted = false;
  res.on('close', () => {
    if (!res.writableFinished) {
      aborted = true;
      archive.abort();
    }
  });
  archive.on('warning', (err) => deps.log.warn({ err, source: source.id, date }, 'a picture was left out of a day zip'));
  archive.on('error', (err) => {
    deps.log.error({ err, source: source.id, date }, 'day zip failed');
    res.destroy(err);
  });
  archive.pipe(res);
  let after: { takenAt: number; id: number } | undefined;
  // One page at a time, and each file waits for the archive to drain: memory stays flat for any day.
  for (;;) {
    const page = deps.pictures.page(source.id, { date }, 200, after);
    for (const p of page) {
      if (aborted) return;
      const name = downloadName(p);
      if (clean) {
        // Through `original`: a file reached through a link inside the data folder is left out, as a missing one is.
        const file = await deps.sizes.original(p).catch((err: unknown) => void deps.log.warn({ err, source: source.id, date }, `picture ${p.id} was left out of a day zip`));
        if (!file) continue;
        const written = entryWritten(archive);
        archive.file(file, { name, date: new Date(p.takenAt) });
        await written;
      } else {
        const data = await deps.sizes.watermarkedOriginal(p, source);
        const written = entryWritten(archive);
        archive.append(data, { name, date: new Date(p.takenAt) });
        await written;
      }
    }
    if (page.length < 200) break;
    after = page[page.length - 1]!;
  }
  if (!aborted) await archive.finalize();
}

/** Resolves once the archive has written the entry just queued, or has stopped: the queue never grows. */
function entryWritten(archive: archiver.Archiver): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      archive.off('entry', done);
      archive.off('error', done);
      archive.off('close', done);
      resolve();
    };
    archive.once('entry', done);
    archive.once('error', done);
    archive.once('close', done);
  });
}
