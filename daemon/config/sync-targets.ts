/** Which sync targets want which files (SPEC §3: a target's `send` and `sources`). */
import type { SyncTargetConfig } from './schema';
import type { OutboxKind } from '../domain/sync';

const SEND_KEY: Record<OutboxKind, 'pictures' | 'videos' | 'latest'> = { picture: 'pictures', video: 'videos', latest: 'latest' };

/** The targets that want a kind of file of a source (`send`, and `sources` when it is given). */
export function targetsFor(targets: readonly SyncTargetConfig[], sourceId: string, kind: OutboxKind): SyncTargetConfig[] {
  return targets.filter((t) => t.send.includes(SEND_KEY[kind]) && (t.sources === undefined || t.sources.includes(sourceId)));
}
