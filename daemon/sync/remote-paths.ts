/**
 * Where files go on a sync target (SPEC §3): the path of each file under the box's
 * folder, the folder (SFTP) or key prefix (S3) of the box, and how a target is
 * named to people. Pure: the outbox, the transports and the status build them here.
 */
import path from 'node:path';
import type { S3TargetConfig, SftpTargetConfig, SyncTargetConfig } from '../config/schema';
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
export function remoteFile(target: Pick<SftpTargetConfig, 'remoteDir'>, applianceId: string, remotePath: string): string {
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

/** The object key of a remote path: `[<prefix>/]<appliance.id>/<remote path>` (SPEC §3). */
export function objectKey(target: Pick<S3TargetConfig, 'prefix'>, applianceId: string, remotePath: string): string {
  return [target.prefix, applianceId, remotePath].filter((p) => p !== undefined && p !== '').join('/');
}

/** The S3 server of a target: its endpoint, or AWS's for the region. */
export function endpointOf(target: Pick<S3TargetConfig, 'endpoint' | 'region'>): URL {
  return new URL(target.endpoint ?? `https://s3.${target.region}.amazonaws.com`);
}

/** The server a target talks to: host and port. */
export function serverOf(target: SyncTargetConfig): { host: string; port: number } {
  if (target.type === 'sftp') return { host: target.host, port: target.port };
  const url = endpointOf(target);
  return { host: url.hostname, port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port) };
}

/**
 * Where the box's files go on a target, as people read it: `/srv/timelapse/<box>`
 * (SFTP) or `s3://<bucket>/[<prefix>/]<box>/` (S3). Never holds a secret.
 */
export function boxLocation(target: SyncTargetConfig, applianceId: string): string {
  if (target.type === 'sftp') return path.posix.join(target.remoteDir, applianceId);
  return `s3://${target.bucket}/${objectKey(target, applianceId, '')}/`;
}
