/**
 * Where files go on a sync target (SPEC §3) and which targets want which files.
 * Pure: the outbox and the transport both build paths here.
 */
import path from 'node:path';
import type { SyncTargetConfig } from '../config/schema';
import { TEMP_PREFIX } from '../domain/data-folder';
import type { OutboxKind } from '../domain/sync';

/**
 * The path of a file under `<remoteDir>/<appliance.id>/`: the data folder's
 * `sources/<source>/pictures/<day>/<file>.jpg` becomes `<source>/pictures/<day>/<file>.jpg`,
 * videos likewise, and the latest picture of a source is `<source>/latest.jpg`.
 */
export function remotePathOf(kind: OutboxKind, sourceId: string, localPath: string): string {
  if (kind === 'latest') return `${sourceId}/latest.jpg`;
  const parts = localPath.split(/[\\/]/);
  if (parts[0] !== 'sources' || parts[1] !== sourceId || parts.length < 4 || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`not a file of source "${sourceId}" in the data folder: ${JSON.stringify(localPath)}`);
  }
  return parts.slice(1).join('/');
}

/** The absolute remote path of a file: `<remoteDir>/<appliance.id>/<remote path>`. */
export function remoteFile(target: Pick<SyncTargetConfig, 'remoteDir'>, applianceId: string, remotePath: string): string {
  return path.posix.join(target.remoteDir, applianceId, remotePath);
}

/**
 * The temporary name an upload is written to, beside the final one. The same for
 * every attempt at a file, so an upload cut short is overwritten by the next one
 * instead of leaving debris on the server.
 */
export function remoteTempFile(finalFile: string): string {
  return path.posix.join(path.posix.dirname(finalFile), `${TEMP_PREFIX}${path.posix.basename(finalFile)}`);
}
