/**
 * Who may do what (SPEC §4), as pure decisions. Routes ask these; they never
 * compare profiles themselves.
 */
import type { Profile } from '../domain/users';

/** Levels on one source, from least to most. */
export const LEVELS = ['view', 'download', 'edit', 'manage'] as const;
export type Level = (typeof LEVELS)[number];

export interface Principal {
  id: number;
  username: string;
  profile: Profile;
  /** The user's own language for the UI (a catalog's code), or null. */
  language?: string | null;
}

/** A customer's level per source: the highest of its own grant and its groups' (AccessService.grantsFor). */
export type Grants = ReadonlyMap<string, Level>;

/** The user's level on a source, or null when the source must look as if it did not exist. */
export function levelOn(user: Principal, sourceId: string, grants: Grants): Level | null {
  if (user.profile === 'maintainer') return 'manage';
  if (user.profile === 'director') return 'edit';
  return grants.get(sourceId) ?? null;
}

export function atLeast(level: Level | null, wanted: Level): boolean {
  return level !== null && LEVELS.indexOf(level) >= LEVELS.indexOf(wanted);
}

/** Directors and maintainers see pictures without the watermark; customers and the public never do (SPEC §4). */
export function seesWithoutWatermark(level: Level): boolean {
  return atLeast(level, 'edit');
}

/** The sources a user can see, with the level on each. */
export function visibleSources(user: Principal, sourceIds: readonly string[], grants: Grants): { id: string; level: Level }[] {
  return sourceIds.flatMap((id) => {
    const level = levelOn(user, id, grants);
    return level ? [{ id, level }] : [];
  });
}
