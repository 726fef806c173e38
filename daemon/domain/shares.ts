/**
 * Share links (SPEC §4): one scope of one source opened to anyone holding the link,
 * without an account, until it expires or is revoked. Always watermarked.
 */

/** What a link opens: the live picture, a source's pictures and films (optionally a period), one picture, one film, two pictures side by side. */
export const SHARE_SCOPES = ['latest', 'gallery', 'picture', 'video', 'compare'] as const;
export type ShareScope = (typeof SHARE_SCOPES)[number];

/** `view` shows; `download` also lets the visitor download (watermarked originals, films, a day as zip). */
export const SHARE_LEVELS = ['view', 'download'] as const;
export type ShareLevel = (typeof SHARE_LEVELS)[number];

/** The longest a link may live (SPEC §4). */
export const SHARE_MAX_MS = 90 * 86_400_000;
/** The shortest: anything shorter is a mistake, not a share. */
export const SHARE_MIN_MS = 5 * 60_000;

export interface Share {
  id: number;
  sourceId: string;
  scope: ShareScope;
  level: ShareLevel;
  label: string | null;
  /** gallery: first and last local day (YYYY-MM-DD), inclusive; null = open. */
  fromDate: string | null;
  toDate: string | null;
  /** picture, and the first picture of a compare. */
  pictureId: number | null;
  /** The second picture of a compare. */
  picture2Id: number | null;
  videoId: number | null;
  /** The user who made it; null for the box's own links (progress e-mails). */
  ownerId: number | null;
  /** The audit's actor: `user:<name>`, `progress:<source>`. */
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  revokedBy: string | null;
  /** Pages opened. */
  uses: number;
  lastUsedAt: number | null;
}

export type ShareState = 'active' | 'expired' | 'revoked';

export function shareState(share: Pick<Share, 'revokedAt' | 'expiresAt'>, now: number): ShareState {
  if (share.revokedAt !== null) return 'revoked';
  return share.expiresAt <= now ? 'expired' : 'active';
}
