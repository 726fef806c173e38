/**
 * Share links (SPEC §4): made by directors, maintainers, customers with the download
 * level (at most at their own level) and by the box itself for progress e-mails;
 * opened by anyone holding the link. The token carries 192 random bits and only its
 * SHA-256 is stored; a token that opens nothing counts against its address like a
 * failed login. Creating, revoking and expiring are in the audit trail.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { conflict, invalid, notFound, AppError } from '../errors';
import { say, type Say } from '../i18n/say';
import { parseDuration, formatDuration } from '../config/duration';
import type { SourceConfig } from '../config/schema';
import type { AuditRepository } from '../store/audit.repository';
import type { SharesRepository } from '../store/shares.repository';
import type { PicturesRepository } from '../store/pictures.repository';
import type { VideosRepository } from '../store/videos.repository';
import type { UsersRepository } from '../store/users.repository';
import { atLeast, levelOn, type Grants, type Level, type Principal } from '../auth/permissions';
import { GuessThrottle, type GuessThrottleOptions } from '../auth/guess-throttle';
import { SHARE_LEVELS, SHARE_MAX_MS, SHARE_MIN_MS, SHARE_SCOPES, shareState, type Share, type ShareLevel, type ShareState } from '../domain/shares';

/** 24 bytes, 32 characters of base64url. */
const TOKEN_BYTES = 24;
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32}$/;
/** Active links one user may hold at once. */
export const SHARES_PER_USER = 200;
/** How long ended links stay in the lists. */
const LISTED_AFTER_END_MS = 30 * 86_400_000;
const LIST_MAX = 500;
/** A link's last use is written at most this often for what a page loads under it. */
const TOUCH_EVERY_MS = 60_000;
const SWEEP_MS = 60_000;
export const DEFAULT_GUESS_THROTTLE: GuessThrottleOptions = { maxFailures: 20, windowMs: 10 * 60_000 };

/** Who makes a link. */
export interface ShareCreator {
  /** The audit's actor: `user:<name>`, `progress:<source>`. */
  actor: string;
  address?: string;
  /** The user making it; null for the box's own links. */
  user: Principal | null;
  /** The maker's level on a source; null when they cannot see it. */
  levelOn(sourceId: string): Level | null;
}

/** Who lists or revokes links. */
export interface ShareViewer {
  actor: string;
  address?: string;
  user: Principal;
}

export interface CreatedShare {
  share: Share;
  /** Given once: only its hash is kept. */
  token: string;
  /** `/s/<token>`. */
  url: string;
}

/** What a token opens, checked now. */
export type Resolution =
  | { kind: 'open'; share: Share; level: ShareLevel }
  /** Revoked, expired, or withdrawn (its source left the configuration, or its maker lost the right it was made with): 410. */
  | { kind: 'gone'; share: Share; reason: 'revoked' | 'expired' | 'withdrawn' }
  | { kind: 'unknown' }
  | { kind: 'throttled'; retryAfterSeconds: number };

export interface ShareServiceDeps {
  shares: SharesRepository;
  pictures: Pick<PicturesRepository, 'get'>;
  videos: Pick<VideosRepository, 'get'>;
  audit: Pick<AuditRepository, 'record'>;
  sources: () => readonly SourceConfig[];
  /** Finds a link's maker, to check at each use that they still have the right the link was made with. */
  users: Pick<UsersRepository, 'findById'>;
  grantsFor: (user: Principal) => Grants;
  now?: () => number;
  throttle?: GuessThrottleOptions;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const day = z
  .string()
  .regex(DAY, 'expected a date YYYY-MM-DD')
  .refine((d) => new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'expected a date that exists');

const requestSchema = z.strictObject({
  source: z.string().min(1).max(64),
  scope: z.enum(SHARE_SCOPES, { error: `expected one of: ${SHARE_SCOPES.join(', ')}` }),
  level: z.enum(SHARE_LEVELS, { error: `expected ${SHARE_LEVELS.join(' or ')}` }).default('view'),
  expiresIn: z.string().max(40),
  label: z
    .string()
    .max(100, 'expected at most 100 characters')
    // eslint-disable-next-line no-control-regex
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'expected no control characters or line breaks')
    .optional(),
  from: day.optional(),
  to: day.optional(),
  picture: id.optional(),
  pictures: z.tuple([id, id]).optional(),
  video: id.optional(),
});
export type ShareRequest = z.input<typeof requestSchema>;

/** The fields each scope takes beyond the common ones. */
const SCOPE_FIELDS: Record<Share['scope'], readonly string[]> = {
  latest: [],
  gallery: ['from', 'to'],
  picture: ['picture'],
  video: ['video'],
  compare: ['pictures'],
};
const SCOPED = ['from', 'to', 'picture', 'pictures', 'video'] as const;

export class ShareService {
  readonly #deps: ShareServiceDeps;
  readonly #now: () => number;
  readonly #throttle: GuessThrottle;
  readonly #touched = new Map<number, number>();
  #timer: NodeJS.Timeout | null = null;

  constructor(deps: ShareServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#throttle = new GuessThrottle(deps.throttle ?? DEFAULT_GUESS_THROTTLE);
  }

  /** Makes a link; throws invalid (400), not-found (404), forbidden (403) or conflict (409). */
  create(body: unknown, who: ShareCreator): CreatedShare {
    const parsed = requestSchema.safeParse(body ?? {});
    if (!parsed.success) {
      const details: Record<string, string> = {};
      for (const issue of parsed.error.issues) {
        const key = issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.join('.') || 'body';
        details[key] ??= issue.message.replace(/^Invalid input: /, '');
      }
      throw invalid(`invalid share link: ${Object.entries(details).map(([k, v]) => `${k}: ${v}`).join('; ')}`, details);
    }
    const request = parsed.data;
    const source = this.#deps.sources().find((s) => s.id === request.source);
    const makerLevel = source ? who.levelOn(source.id) : null;
    if (!source || makerLevel === null) throw notFound(`no source "${request.source}"`, { message: say('apiError.source.notFound', { source: request.source }) });
    if (who.user?.profile === 'customer' && !atLeast(makerLevel, 'download')) {
      throw new AppError('forbidden', `sharing source "${source.id}" needs the download level on it; you have ${makerLevel}`, undefined, {
        message: say('apiError.share.needsDownload', { source: source.id, level: makerLevel }),
      });
    }
    if (!atLeast(makerLevel, request.level)) {
      throw new AppError('forbidden', `you may share source "${source.id}" at most at your own level (${makerLevel})`, undefined, {
        message: say('apiError.share.aboveOwnLevel', { source: source.id, level: makerLevel }),
      });
    }
    // Each problem in English (the API, the log) and in catalog words (the share dialog).
    const details: Record<string, string> = {};
    const words: Record<string, Say> = {};
    const problem = (field: string, english: string, said: Say) => {
      details[field] = english;
      words[field] = said;
    };
    const wanted = SCOPE_FIELDS[request.scope];
    for (const field of SCOPED) {
      if (request[field] !== undefined && !wanted.includes(field)) problem(field, `not used by a ${request.scope} link`, say('apiError.share.fieldNotUsed', { scope: request.scope }));
    }
    const ttl = parseDuration(request.expiresIn);
    if (ttl === null || ttl < SHARE_MIN_MS || ttl > SHARE_MAX_MS) {
      const [min, max] = [formatDuration(SHARE_MIN_MS), formatDuration(SHARE_MAX_MS)];
      problem('expiresIn', `expected a duration from ${min} to ${max} such as "7d" or "12h"`, say('apiError.share.expiry', { min, max }));
    }
    if (request.scope === 'gallery' && request.from && request.to && request.to < request.from) problem('to', 'expected the same day as from or a later one', say('apiError.share.toBeforeFrom'));
    if (request.scope === 'picture' && request.picture === undefined) problem('picture', 'required: the id of the picture to share', say('apiError.share.pictureRequired'));
    if (request.scope === 'video' && request.video === undefined) problem('video', 'required: the id of the film to share', say('apiError.share.filmRequired'));
    if (request.scope === 'compare') {
      if (request.pictures === undefined) problem('pictures', 'required: the ids of the two pictures to compare', say('apiError.share.picturesRequired'));
      else if (request.pictures[0] === request.pictures[1]) problem('pictures', 'expected two different pictures', say('apiError.share.samePicture'));
    }
    if (Object.keys(details).length > 0) {
      throw invalid(`invalid share link: ${Object.entries(details).map(([k, v]) => `${k}: ${v}`).join('; ')}`, details, { message: say('apiError.share.invalid'), details: words });
    }
    const pictures = request.scope === 'picture' ? [request.picture!] : request.scope === 'compare' ? request.pictures! : [];
    for (const pid of pictures) {
      const p = this.#deps.pictures.get(pid);
      if (!p || p.sourceId !== source.id || p.rejection || p.missing) {
        throw notFound(`no picture ${pid} of source "${source.id}"`, { message: say('apiError.share.noPicture', { id: pid, source: source.id }) });
      }
    }
    if (request.scope === 'video') {
      const v = this.#deps.videos.get(request.video!);
      if (!v || v.sourceId !== source.id) throw notFound(`no video ${request.video} of source "${source.id}"`, { message: say('apiError.share.noFilm', { id: request.video!, source: source.id }) });
    }

    const now = this.#now();
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const share = this.#deps.shares.transaction(() => {
      if (who.user && this.#deps.shares.activeCount(who.user.id, now) >= SHARES_PER_USER) {
        throw conflict(`you already have ${SHARES_PER_USER} active share links; revoke some first`, { message: say('apiError.share.tooMany', { max: SHARES_PER_USER }) });
      }
      const shareId = this.#deps.shares.insert({
        tokenHash: hashToken(token),
        sourceId: source.id,
        scope: request.scope,
        level: request.level,
        label: request.label?.trim() || null,
        fromDate: request.scope === 'gallery' ? (request.from ?? null) : null,
        toDate: request.scope === 'gallery' ? (request.to ?? null) : null,
        pictureId: pictures[0] ?? null,
        picture2Id: pictures[1] ?? null,
        videoId: request.scope === 'video' ? request.video! : null,
        ownerId: who.user?.id ?? null,
        createdBy: who.actor,
        createdAt: now,
        expiresAt: now + ttl!,
      });
      const made = this.#deps.shares.get(shareId)!;
      this.#record(who, 'share.create', made, undefined, describe(made));
      return made;
    });
    return { share, token, url: `/s/${token}` };
  }

  /** The links a user may see: their own; a maintainer's, every one. Ended links stay listed for 30 days. */
  list(viewer: Principal, filter: { source?: string } = {}): Share[] {
    this.sweep();
    const since = this.#now() - LISTED_AFTER_END_MS;
    return this.#deps.shares.list({ ...(viewer.profile === 'maintainer' ? {} : { owner: viewer.id }), ...filter, since, limit: LIST_MAX });
  }

  /** A link its maker (or a maintainer) may act on; 404 for anyone else. */
  get(shareId: number, viewer: Principal): Share {
    const share = this.#deps.shares.get(shareId);
    if (!share || (viewer.profile !== 'maintainer' && share.ownerId !== viewer.id)) throw notFound(`no share link ${shareId}`);
    return share;
  }

  /** Ends a link at once; revoking one that already ended changes nothing. */
  revoke(shareId: number, who: ShareViewer): Share {
    return this.#deps.shares.transaction(() => {
      const share = this.get(shareId, who.user);
      const now = this.#now();
      if (shareState(share, now) !== 'active') return share;
      this.#deps.shares.revoke(share.id, who.actor, now);
      const revoked = this.#deps.shares.get(share.id)!;
      this.#record(who, 'share.revoke', revoked, { state: 'active', expiresAt: new Date(share.expiresAt).toISOString() }, { state: 'revoked' });
      return revoked;
    });
  }

  /** Revokes a link of the box's own (a progress e-mail's, replaced by the next). */
  revokeOwn(shareId: number, actor: string): void {
    const share = this.#deps.shares.get(shareId);
    if (!share || share.ownerId !== null || shareState(share, this.#now()) !== 'active') return;
    this.#deps.shares.transaction(() => {
      this.#deps.shares.revoke(share.id, actor, this.#now());
      this.#record({ actor }, 'share.revoke', share, { state: 'active' }, { state: 'revoked' });
    });
  }

  /**
   * What a token opens now. `open` counts a use (the page itself); anything else only
   * keeps the time of the last use. Unknown tokens count against the address.
   */
  resolve(token: string, address: string, options: { open?: boolean } = {}): Resolution {
    const now = this.#now();
    const retryAfter = this.#throttle.retryAfter(address, now);
    if (retryAfter > 0) return { kind: 'throttled', retryAfterSeconds: retryAfter };
    const share = TOKEN_PATTERN.test(token) ? this.#deps.shares.byTokenHash(hashToken(token)) : undefined;
    if (!share) {
      this.#throttle.fail(address, now);
      return { kind: 'unknown' };
    }
    const state = shareState(share, now);
    if (state !== 'active') return { kind: 'gone', share, reason: state };
    if (!this.#deps.sources().some((s) => s.id === share.sourceId)) return { kind: 'gone', share, reason: 'withdrawn' };
    let level: ShareLevel = share.level;
    if (share.ownerId !== null) {
      const owner = this.#ownerLevel(share.ownerId, share.sourceId);
      if (owner === null) return { kind: 'gone', share, reason: 'withdrawn' };
      if (!atLeast(owner, share.level)) level = 'view';
    }
    if (options.open) {
      this.#deps.shares.markUsed(share.id, now);
      this.#touched.set(share.id, now);
    } else if ((this.#touched.get(share.id) ?? 0) <= now - TOUCH_EVERY_MS) {
      this.#deps.shares.touch(share.id, now);
      this.#touched.set(share.id, now);
      if (this.#touched.size > 10_000) this.#touched.delete(this.#touched.keys().next().value!);
    }
    return { kind: 'open', share, level };
  }

  /** Writes the expiry of links that ended into the audit trail; returns how many. */
  sweep(): number {
    const now = this.#now();
    let noted = 0;
    for (;;) {
      const batch = this.#deps.shares.expiredUnnoted(now, 100);
      if (batch.length === 0) return noted;
      this.#deps.shares.transaction(() => {
        for (const share of batch) {
          this.#record({ actor: 'daemon' }, 'share.expire', share, { state: 'active' }, { state: 'expired', expiresAt: new Date(share.expiresAt).toISOString() }, share.expiresAt);
          this.#deps.shares.noteExpiry(share.id);
        }
      });
      noted += batch.length;
    }
  }

  /** Notes expiries as they happen (each minute); the lists note them too. */
  start(): void {
    if (this.#timer) return;
    this.sweep();
    this.#timer = setInterval(() => this.sweep(), SWEEP_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  state(share: Share): ShareState {
    return shareState(share, this.#now());
  }

  /** The maker's level now: null when they were removed, the source is gone, or a customer lost the grant. */
  #ownerLevel(ownerId: number, sourceId: string): Level | null {
    const user = this.#deps.users.findById(ownerId);
    if (!user) return null;
    const principal: Principal = { id: user.id, username: user.username, profile: user.profile };
    return levelOn(principal, sourceId, this.#deps.grantsFor(principal));
  }

  #record(who: { actor: string; address?: string }, action: string, share: Share, oldValue: unknown, newValue: unknown, at = this.#now()): void {
    this.#deps.audit.record({
      at,
      actor: who.actor,
      ...(who.address ? { address: who.address } : {}),
      action,
      target: `share:${share.id} (${share.sourceId}, ${share.scope})`,
      ...(oldValue !== undefined ? { oldValue } : {}),
      ...(newValue !== undefined ? { newValue } : {}),
    });
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What a link opens, for the audit trail and the lists. */
function describe(share: Share): Record<string, unknown> {
  return {
    source: share.sourceId,
    scope: share.scope,
    level: share.level,
    expiresAt: new Date(share.expiresAt).toISOString(),
    ...(share.label ? { label: share.label } : {}),
    ...(share.fromDate ? { from: share.fromDate } : {}),
    ...(share.toDate ? { to: share.toDate } : {}),
    ...(share.scope === 'picture' ? { picture: share.pictureId } : {}),
    ...(share.scope === 'compare' ? { pictures: [share.pictureId, share.picture2Id] } : {}),
    ...(share.scope === 'video' ? { video: share.videoId } : {}),
  };
}

/** The JSON form of a link for its maker and maintainers: never the token (it is not kept). */
export function shareJson(share: Share, now: number) {
  return {
    id: share.id,
    source: share.sourceId,
    scope: share.scope,
    level: share.level,
    label: share.label,
    from: share.fromDate,
    to: share.toDate,
    picture: share.scope === 'picture' ? share.pictureId : null,
    pictures: share.scope === 'compare' ? [share.pictureId, share.picture2Id] : null,
    video: share.videoId,
    createdBy: share.createdBy,
    createdAt: new Date(share.createdAt).toISOString(),
    expiresAt: new Date(share.expiresAt).toISOString(),
    revokedAt: share.revokedAt === null ? null : new Date(share.revokedAt).toISOString(),
    revokedBy: share.revokedBy,
    state: shareState(share, now),
    uses: share.uses,
    lastUsedAt: share.lastUsedAt === null ? null : new Date(share.lastUsedAt).toISOString(),
  };
}
