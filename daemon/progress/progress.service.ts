/**
 * Progress e-mails (issue 22): for each source with `progress`, at each slot of its rhythm
 * (rhythm.ts, in appliance.timezone), an e-mail with the newest picture, a comparison or the
 * newest film, and a share link valid until the next e-mail, through the SMTP server of
 * alerts.email. Each e-mail is a row in the database before anything is sent: a slot is
 * queued once across restarts, a failed send is tried again with backoff and given up after
 * a bound, and what happened is on the System page.
 *
 * At most once: the row says "sending" (committed) before the SMTP conversation starts and
 * "sent" the moment the server has taken the mail. A row still "sending" at the next start
 * (a crash, a power cut, a stop that had to cut the send) may or may not have reached the
 * server; it is given up, with that said on the System page, rather than sent again. A
 * client who gets the weekly e-mail twice with two different links (the first one revoked
 * by the second) is worse served than one who, very rarely, gets it a slot late: a director
 * sees the given-up e-mail and can send one now.
 */
import type { Config, ProgressConfig, SourceConfig } from '../config/schema';
import type { Logger } from '../logger';
import { backoffDelay, type BackoffPolicy } from '../sync/backoff';
import { ChannelError, sendMail, smtpServer, type EmailConfig, type MailMessage } from '../health/channels';
import type { ProgressContent, ProgressEmail, ProgressRepository } from '../store/progress.repository';
import type { PicturesRepository } from '../store/pictures.repository';
import type { VideosRepository } from '../store/videos.repository';
import type { ShareCreator, ShareRequest, ShareService } from '../shares/share.service';
import type { PictureSizes } from '../storage/picture-sizes';
import type { AuditRepository } from '../store/audit.repository';
import type { Picture } from '../domain/pictures';
import { localDate } from '../domain/data-folder';
import { conflict, notFound } from '../errors';
import { messageOf } from '../error-causes';
import { Doorbell, passUntilStopped } from '../doorbell';
import { settledWithin } from '../settled';
import { formatDuration } from '../config/duration';
import { MISSED_GRACE_MS, decide, periodMs, rhythmKey, rhythmOf, slotAfter, type Rhythm } from './rhythm';
import type { Catalogs, Translate } from '../i18n/catalogs';
import { byLanguage, recipientsOf, type GroupMember } from './recipients';
import { renderProgressEmail, rhythmText, type EmailFacts, type InlinePicture, type RenderedContent } from './render';

export interface ProgressRetry extends BackoffPolicy {
  /** An e-mail still not sent this long after it was queued is given up. */
  giveUpAfterMs: number;
}

/** From a minute to an hour between tries, for 12 hours: an SMTP outage of a morning delays the e-mail, a longer one gives it up before the next is near. */
export const DEFAULT_PROGRESS_RETRY: ProgressRetry = { baseMs: 60_000, capMs: 3_600_000, giveUpAfterMs: 12 * 3_600_000 };

/** Pictures in the e-mail: sharp on a phone's screen (two CSS pixels per pixel of the 600-pixel column... nearly), light to download. */
export const EMAIL_PICTURE_WIDTH = 960;

const DAY_MS = 86_400_000;
/** A link lives its period and this margin: the next e-mail (late by a retry or a restart) replaces it before it ends. */
const LINK_MARGIN_DAYS = { day: 1, week: 2 } as const;
/** How often an idle service looks again (a changed configuration, a clock moved). */
const IDLE_MS = 60_000;
const MIN_WAIT_MS = 50;
/** How long stop() lets a send in flight finish before cutting it. */
const STOP_GRACE_MS = 5_000;
const BATCH = 20;

/** One source's progress e-mails as the System page and `GET /api/system` show them. */
export interface ProgressStatus {
  sourceId: string;
  sourceName: string;
  enabled: boolean;
  /** "every Monday at 08:00". */
  rhythm: string;
  content: ProgressConfig['content'];
  /** The addresses an e-mail goes to now. */
  recipients: string[];
  /** Members of the group without an e-mail address (they get nothing). */
  withoutAddress: string[];
  /** Why an e-mail would go to nobody, or not to everyone expected. */
  problem: string | null;
  /** ISO times. */
  nextAt: string | null;
  lastSent: { at: string; recipients: number } | null;
  /** An e-mail waiting for its next try (or being sent). */
  pending: { queuedAt: string; attempts: number; nextAttemptAt: string | null; sending: boolean; lastError: string | null } | null;
  /** The newest e-mail given up or skipped since the last one sent, with why. */
  lastProblem: { at: string; state: 'failed' | 'skipped'; reason: string } | null;
  /** E-mails given up, ever. */
  failed: number;
}

/** One e-mail as `POST /api/sources/<id>/progress/send` answers it. */
export interface ProgressEmailView {
  id: number;
  source: string;
  kind: ProgressEmail['kind'];
  state: ProgressEmail['state'];
  queuedAt: string;
  sentAt: string | null;
  recipients: number;
  attempts: number;
  nextAttemptAt: string | null;
  /** Why it failed (and is tried again), was skipped or given up. */
  error: string | null;
}

export function progressEmailJson(row: ProgressEmail): ProgressEmailView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: row.id,
    source: row.sourceId,
    kind: row.kind,
    state: row.state,
    queuedAt: new Date(row.createdAt).toISOString(),
    sentAt: iso(row.sentAt),
    recipients: row.recipients,
    attempts: row.attempts,
    nextAttemptAt: row.state === 'pending' ? iso(row.nextAttemptAt) : null,
    error: row.lastError,
  };
}

export interface ProgressServiceDeps {
  config: () => Config;
  repo: ProgressRepository;
  pictures: Pick<PicturesRepository, 'latest' | 'nearest' | 'get'>;
  videos: Pick<VideosRepository, 'list' | 'get'>;
  /** A group's members with their addresses and languages; null when there is no such group. */
  groupMembers: (group: string) => GroupMember[] | null;
  /** The message catalogs: each recipient reads the e-mail in their language, else `appliance.locale`. */
  catalogs: Pick<Catalogs, 'translator' | 'has'>;
  shares: Pick<ShareService, 'create' | 'revokeOwn'>;
  sizes: Pick<PictureSizes, 'watermarkedWidth'>;
  /** Who asked for an e-mail out of its rhythm, and what came of it. */
  audit: Pick<AuditRepository, 'record'>;
  /** The SMTP transport (health/channels.ts); tests keep the real one and point it at a real server. */
  send?: typeof sendMail;
  log: Logger;
  now?: () => number;
  retry?: ProgressRetry;
}

type Chosen = { content: ProgressContent } | { skip: string };
type InlineFile = NonNullable<MailMessage['inline']>[number];

export class ProgressService {
  readonly name = 'progress';
  readonly #deps: ProgressServiceDeps;
  readonly #now: () => number;
  readonly #retry: ProgressRetry;
  readonly #bell = new Doorbell();
  #loop: Promise<void> | null = null;
  #stopped = false;
  /** The pass running; the next one (loop, a check, a send asked for) starts after it. */
  #busy: Promise<unknown> = Promise.resolve();
  #abort: AbortController | null = null;
  /** The e-mail settings the last send failed with: a change makes the waiting e-mails due at once. */
  #failedWith: string | null = null;

  constructor(deps: ProgressServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#retry = deps.retry ?? DEFAULT_PROGRESS_RETRY;
  }

  /** Gives up the e-mails a crash left half sent, then sends on schedule. */
  start(): void {
    if (this.#loop) return;
    this.#stopped = false;
    this.#giveUpInterrupted();
    this.#loop = this.#run().catch((err: unknown) => this.#deps.log.error({ err }, 'the progress e-mails stopped on an unexpected error'));
  }

  /** Lets a send in flight finish (at most 5 s), else cuts it: it is then given up at the next start (at most once). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#bell.ring();
    const finished = await settledWithin(this.#busy, STOP_GRACE_MS);
    if (!finished && this.#abort) {
      this.#deps.log.warn(`a progress e-mail was still being sent after ${formatDuration(STOP_GRACE_MS)}: cut short; it may have arrived, so it is not sent again`);
      this.#abort.abort();
    }
    await settledWithin(Promise.all([this.#busy, this.#loop]), 1_000);
    this.#loop = null;
  }

  /** After a reload: rhythms are read again, and e-mails waiting on SMTP settings that changed are tried at once. */
  reconfigure(): void {
    const email = this.#deps.config().alerts.email;
    if (this.#failedWith !== null && JSON.stringify(email ?? null) !== this.#failedWith) {
      this.#failedWith = null;
      if (this.#deps.repo.makeDue(this.#now()) > 0) this.#deps.log.info('the e-mail settings changed: the waiting progress e-mails are tried again now');
    }
    this.#bell.ring();
  }

  /** One pass now: queues the slots that are due and sends what waits. For tests and after a clock change. */
  check(): Promise<void> {
    return this.#exclusive(() => this.#pass());
  }

  /**
   * Sends a source's progress e-mail now, out of its rhythm (a director checks it works),
   * to its recipients, with a new link that replaces the previous one. Resolves with the
   * e-mail as it stands after the first try: sent, skipped (with why) or waiting for a retry.
   */
  async sendNow(sourceId: string, who: { actor: string; address?: string }): Promise<ProgressEmail> {
    const source = this.#deps.config().sources.find((s) => s.id === sourceId);
    if (!source) throw notFound(`no source "${sourceId}"`);
    if (!source.progress?.enabled) throw conflict(`source "${sourceId}" has no progress e-mails: set them up in its settings (progress) first`);
    return this.#exclusive(async () => {
      const id = this.#deps.repo.queueNow(sourceId, this.#now());
      await this.#attempt(this.#deps.repo.get(id)!);
      const email = this.#deps.repo.get(id)!;
      // E-mails to people outside the box, asked for by a person: in the audit trail with what came of it.
      this.#deps.audit.record({ at: this.#now(), ...who, action: 'progress.send', target: sourceId, newValue: { email: email.id, state: email.state, recipients: email.recipients, ...(email.lastError ? { error: email.lastError } : {}) } });
      return email;
    });
  }

  /** Every source with a progress section, in the order of the configuration; its rhythm in `t`'s words (English by default). */
  status(t?: Translate): ProgressStatus[] {
    const config = this.#deps.config();
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const now = this.#now();
    return config.sources.flatMap((source) => {
      const progress = source.progress;
      if (!progress) return [];
      const rhythm = rhythmOf(progress);
      const recipients = recipientsOf(progress, this.#deps.groupMembers);
      const history = this.#deps.repo.history(source.id);
      const pending = history.pending;
      const problem = history.lastProblem;
      return [
        {
          sourceId: source.id,
          sourceName: source.name ?? source.id,
          enabled: progress.enabled,
          rhythm: rhythmText(rhythm, t),
          content: progress.content,
          recipients: recipients.addresses,
          withoutAddress: recipients.withoutAddress,
          problem: recipients.problem,
          nextAt: progress.enabled ? iso(this.#nextSlot(source.id, rhythm, now)) : null,
          lastSent: history.lastSent ? { at: iso(history.lastSent.sentAt)!, recipients: history.lastSent.recipients } : null,
          pending: pending
            ? {
                queuedAt: iso(pending.createdAt)!,
                attempts: pending.attempts,
                nextAttemptAt: pending.sendingSince === null ? iso(Math.max(pending.nextAttemptAt, now)) : null,
                sending: pending.sendingSince !== null,
                lastError: pending.lastError,
              }
            : null,
          lastProblem: problem ? { at: iso(problem.createdAt)!, state: problem.state as 'failed' | 'skipped', reason: problem.lastError ?? '' } : null,
          failed: history.failed,
        },
      ];
    });
  }

  /** The next slot, after the rhythm's `since` (a rhythm just set starts at its next slot). */
  #nextSlot(sourceId: string, rhythm: Rhythm, now: number): number {
    const timezone = this.#deps.config().appliance.timezone;
    const stored = this.#deps.repo.rhythm(sourceId);
    const from = stored && stored.rhythm === rhythmKey(rhythm) ? Math.max(now, stored.since) : now;
    return slotAfter(from, rhythm, timezone);
  }

  #run(): Promise<void> {
    return passUntilStopped(this.#bell, {
      stopped: () => this.#stopped,
      pass: () => this.#exclusive(() => this.#pass()),
      waitMs: () => this.#waitMs(),
      // The database, most likely; the rows are still there when it comes back.
      failed: (err) => this.#deps.log.error({ err }, 'the progress e-mails could not be read or updated'),
    });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#busy.then(fn);
    this.#busy = run.catch(() => undefined);
    return run;
  }

  async #pass(): Promise<void> {
    const now = this.#now();
    this.#queueDueSlots(now);
    for (const row of this.#deps.repo.due(now, BATCH)) {
      if (this.#stopped) return;
      await this.#attempt(row);
    }
  }

  /** Keeps each source's rhythm and its `since` up to date, and queues (or notes as missed) the slots that came. */
  #queueDueSlots(now: number): void {
    const { repo, log } = this.#deps;
    const config = this.#deps.config();
    for (const source of config.sources) {
      const progress = source.progress;
      const key = progress?.enabled ? rhythmKey(rhythmOf(progress)) : 'off';
      const stored = repo.rhythm(source.id);
      if (stored?.rhythm !== key) {
        // A new or changed rhythm starts at its next slot; a slot before it is not sent late.
        if (stored || key !== 'off') repo.setRhythm(source.id, key, now);
        continue;
      }
      if (!progress?.enabled) continue;
      const rhythm = rhythmOf(progress);
      const decision = decide(now, rhythm, config.appliance.timezone, { lastSlot: repo.lastSlot(source.id), since: stored.since });
      if (decision.kind === 'none') continue;
      const id = repo.queueSlot(source.id, decision.slot, now);
      if (id === null) continue;
      if (decision.kind === 'missed') {
        const reason = `missed: the daemon was not running at ${new Date(decision.slot).toISOString()} nor within ${formatDuration(MISSED_GRACE_MS)} after; the next e-mail goes at the next slot`;
        repo.finish(id, 'skipped', reason);
        log.warn({ source: source.id, slot: new Date(decision.slot).toISOString() }, `progress e-mail of source "${source.id}" ${reason}`);
      }
    }
  }

  /** One try at one e-mail: it ends sent, skipped, given up, or waiting for its next try. */
  async #attempt(row: ProgressEmail): Promise<void> {
    const { repo, log } = this.#deps;
    const config = this.#deps.config();
    const now = this.#now();
    const index = config.sources.findIndex((s) => s.id === row.sourceId);
    const source = config.sources[index];
    const progress = source?.progress;
    if (!source || !progress?.enabled) return this.#skip(row, `progress e-mails of source "${row.sourceId}" are no longer set up`);
    const email = config.alerts.email;
    const publicUrl = config.web.publicUrl;
    if (!email || !publicUrl) return this.#skip(row, 'alerts.email or web.publicUrl is no longer set: progress e-mails need both');
    const recipients = recipientsOf(progress, this.#deps.groupMembers);
    if (recipients.addresses.length === 0) return this.#skip(row, recipients.problem ?? 'nobody to send to');
    const chosen = this.#choose(row, source, progress, config);
    if ('skip' in chosen) return this.#skip(row, chosen.skip);
    const rhythm = rhythmOf(progress);

    let shareId: number | null = null;
    let sending = false;
    const abort = new AbortController();
    this.#abort = abort;
    try {
      const { content, inline } = await this.#pictures(chosen.content, source);
      const created = this.#deps.shares.create(this.#linkRequest(source, progress, rhythm, chosen.content, row, config.appliance.timezone), this.#creator(source.id));
      shareId = created.share.id;
      const facts: EmailFacts = {
        applianceName: config.appliance.name ?? config.appliance.id,
        sourceName: source.name ?? source.id,
        timezone: config.appliance.timezone,
        at: row.kind === 'scheduled' ? row.slot : now,
        content,
        link: { url: `${publicUrl}${created.url}`, expiresAt: created.share.expiresAt, level: progress.level },
        rhythm: row.kind === 'scheduled' ? rhythm : null,
      };
      // One e-mail per language the recipients read (the same content and link), with its own Message-ID when there are several.
      const languages = byLanguage(recipients, config.appliance.locale, (code) => this.#deps.catalogs.has(code));
      const baseId = `progress.${config.appliance.id}.${row.id}`;
      const domain = email.from.split('@')[1] ?? 'lapsebox';
      const messages = languages.map(({ lang, addresses }): { lang: string; message: MailMessage } => ({
        lang,
        message: {
          from: { name: config.appliance.name ?? config.appliance.id, address: email.from },
          to: addresses,
          // Customers of different firms in one group: nobody sees the others' addresses.
          undisclosed: true,
          ...renderProgressEmail(facts, this.#deps.catalogs.translator(lang)),
          inline,
          messageId: `<${languages.length === 1 ? baseId : `${baseId}.${lang}`}@${domain}>`,
        },
      }));
      repo.startSending(row.id, this.#now(), { shareId, content: chosen.content, recipients: recipients.addresses.length });
      sending = true;
      const recipientsKey = `sources[${index}].progress.to${progress.group ? ` or the addresses of group "${progress.group}"` : ''}`;
      const refused: string[] = [];
      /** The e-mails of a language that could not be sent once another was: they are not tried again (the others would get theirs twice). */
      const unsent: { lang: string; addresses: readonly string[]; error: string }[] = [];
      for (const [i, { lang, message }] of messages.entries()) {
        try {
          const answer = await (this.#deps.send ?? sendMail)(email, message, { signal: abort.signal, recipientsKey });
          refused.push(...answer.refused);
        } catch (err) {
          // Nothing sent yet: the whole e-mail failed, and is tried again with a new link.
          if (i === 0 || abort.signal.aborted) throw err;
          unsent.push({ lang, addresses: message.to, error: err instanceof ChannelError ? err.message : messageOf(err) });
        }
      }
      // Marked the moment the server took it: this and the "sending" mark are all that stand between a crash and a lost or doubled e-mail.
      repo.markSent(row.id, this.#now());
      this.#failedWith = null;
      this.#revokeEarlier(row);
      const fields = { source: source.id, email: row.id, recipients: recipients.addresses.length, share: shareId };
      for (const u of unsent) {
        log.warn({ ...fields, language: u.lang, unsent: u.addresses }, `progress e-mail of source "${source.id}" sent, but not its ${u.lang} version to ${u.addresses.join(', ')}: ${u.error}`);
      }
      if (refused.length > 0) log.warn({ ...fields, refused }, `progress e-mail of source "${source.id}" sent; ${smtpServer(email)} refused ${refused.join(', ')}`);
      else if (unsent.length === 0) log.info(fields, `progress e-mail of source "${source.id}" sent to ${recipients.addresses.length} recipient(s)`);
    } catch (err) {
      if (sending && abort.signal.aborted) return; // cut by stop(): still "sending", given up at the next start
      if (shareId !== null) this.#deps.shares.revokeOwn(shareId, this.#actor(source.id)); // nobody received it
      this.#failed(row, email, err instanceof ChannelError ? err.message : `the e-mail could not be made: ${messageOf(err)}`);
    } finally {
      this.#abort = null;
    }
  }

  /** The content of the e-mail: the one chosen at its first try, while its pictures and film still exist; chosen now otherwise. */
  #choose(row: ProgressEmail, source: SourceConfig, progress: ProgressConfig, config: Config): Chosen {
    const kept = row.content;
    if (kept) {
      const ids = kept.kind === 'latest' ? [kept.picture] : kept.kind === 'compare' ? kept.pictures : kept.picture === null ? [] : [kept.picture];
      const filmThere = kept.kind !== 'film' || this.#deps.videos.get(kept.video) !== undefined;
      if (filmThere && ids.every((id) => this.#deps.pictures.get(id) !== undefined)) return { content: kept };
    }
    const tz = config.appliance.timezone;
    const rhythm = rhythmOf(progress);
    const period = periodMs(rhythm);
    const scheduled = row.kind === 'scheduled';
    const when = (ms: number) => new Date(ms).toISOString();
    if (progress.content === 'film') {
      const film = this.#deps.videos.list(source.id, null, 1)[0];
      if (!film) return { skip: 'no film yet: turn on a daily or weekly timelapse, or build one' };
      const last = this.#deps.repo.history(source.id).lastSent?.content;
      if (scheduled && last?.kind === 'film' && last.video === film.id) return { skip: `no new film since the last e-mail (the newest, ${film.label}, was in it)` };
      const picture = this.#deps.pictures.latest(source.id, film.periodTo - 1);
      return { content: { kind: 'film', video: film.id, picture: picture && picture.takenAt >= film.periodFrom ? picture.id : null } };
    }
    const newest = this.#deps.pictures.latest(source.id);
    if (!newest) return { skip: 'no picture yet' };
    // A camera down all period would send last week's picture as news: said instead, on the System page.
    if (scheduled && newest.takenAt < row.slot - period) return { skip: `no picture taken since ${when(row.slot - period)}: the newest is from ${when(newest.takenAt)} (is the camera working?)` };
    if (progress.content === 'latest') return { content: { kind: 'latest', picture: newest.id, from: localDate(row.slot - period, tz) } };
    const days = progress.compareDays ?? 7;
    const target = newest.takenAt - days * DAY_MS;
    const before = this.#deps.pictures.nearest(source.id, target);
    if (!before || before.id === newest.id || Math.abs(before.takenAt - target) > (days * DAY_MS) / 2) {
      return { skip: `no picture from around ${localDate(target, tz)} to compare with (${days} days before the newest)` };
    }
    return { content: { kind: 'compare', pictures: [before.id, newest.id], days } };
  }

  /** The pictures of the e-mail, made at the e-mail's width with legend and watermark. */
  async #pictures(content: ProgressContent, source: SourceConfig): Promise<{ content: RenderedContent; inline: InlineFile[] }> {
    const inline: InlineFile[] = [];
    const make = async (id: number, name: string): Promise<InlinePicture> => {
      const picture: Picture | undefined = this.#deps.pictures.get(id);
      if (!picture) throw notFound(`picture ${id} is gone`);
      const data = await this.#deps.sizes.watermarkedWidth(picture, source, EMAIL_PICTURE_WIDTH);
      const cid = `${name}.${picture.id}@lapsebox`;
      inline.push({ cid, filename: `${source.id}-${localDate(picture.takenAt, this.#deps.config().appliance.timezone)}-${name}.jpg`, contentType: 'image/jpeg', content: data });
      const width = Math.min(picture.width, EMAIL_PICTURE_WIDTH);
      return { cid, takenAt: picture.takenAt, width, height: Math.max(1, Math.round((picture.height * width) / picture.width)) };
    };
    if (content.kind === 'latest') return { content: { kind: 'latest', picture: await make(content.picture, 'latest') }, inline };
    if (content.kind === 'compare') {
      const before = await make(content.pictures[0], 'before');
      const after = await make(content.pictures[1], 'now');
      return { content: { kind: 'compare', before, after, days: content.days }, inline };
    }
    const film = this.#deps.videos.get(content.video);
    if (!film) throw notFound(`film ${content.video} is gone`);
    const picture = content.picture === null ? null : await make(content.picture, 'film');
    return { content: { kind: 'film', picture, film: { label: film.label, durationMs: film.durationMs, periodFrom: film.periodFrom, periodTo: film.periodTo } }, inline };
  }

  /**
   * The link of the e-mail, for what its reader most likely wants next. The newest picture
   * is in the e-mail already: its link opens the source's gallery from the start of the
   * period (open-ended), to look through the days since the last e-mail and see what comes
   * until the next. A comparison opens the two pictures side by side, larger and with the
   * slider; a film opens the film itself, which an e-mail cannot play.
   */
  #linkRequest(source: SourceConfig, progress: ProgressConfig, rhythm: Rhythm, content: ProgressContent, row: ProgressEmail, timezone: string): ShareRequest {
    const days = Math.round(periodMs(rhythm) / DAY_MS) + LINK_MARGIN_DAYS[rhythm.every];
    const common = { source: source.id, level: progress.level, expiresIn: `${days}d`, label: `progress e-mail of ${localDate(row.kind === 'scheduled' ? row.slot : this.#now(), timezone)}` };
    if (content.kind === 'latest') return { ...common, scope: 'gallery', from: content.from };
    if (content.kind === 'compare') return { ...common, scope: 'compare', pictures: content.pictures };
    return { ...common, scope: 'video', video: content.video };
  }

  #actor(sourceId: string): string {
    return `progress:${sourceId}`;
  }

  /** The box makes its own links, at the level the director chose. */
  #creator(sourceId: string): ShareCreator {
    return { actor: this.#actor(sourceId), user: null, levelOn: () => 'download' };
  }

  /** A link is valid until the next e-mail: the earlier e-mails' links end now. */
  #revokeEarlier(row: ProgressEmail): void {
    for (const shareId of this.#deps.repo.earlierShares(row.sourceId, row.id)) {
      try {
        this.#deps.shares.revokeOwn(shareId, this.#actor(row.sourceId));
      } catch (err) {
        this.#deps.log.warn({ source: row.sourceId, share: shareId, err }, 'the link of an earlier progress e-mail could not be revoked; it ends when it expires');
      }
    }
  }

  #skip(row: ProgressEmail, reason: string): void {
    this.#deps.repo.finish(row.id, 'skipped', reason);
    // A skip is the content's or the setup's state, not an incident: one line, not an error storm.
    this.#deps.log.info({ source: row.sourceId, email: row.id }, `progress e-mail of source "${row.sourceId}" skipped: ${reason}`);
  }

  #failed(row: ProgressEmail, email: EmailConfig | undefined, message: string): void {
    const { repo, log } = this.#deps;
    const now = this.#now();
    const attempts = row.attempts + 1;
    this.#failedWith = JSON.stringify(email ?? null);
    const fields = { source: row.sourceId, email: row.id, attempts };
    if (now - row.createdAt >= this.#retry.giveUpAfterMs) {
      const reason = `given up after ${attempts} attempt(s) in ${formatDuration(now - row.createdAt)}; last error: ${message}`;
      repo.transaction(() => {
        repo.markFailedAttempt(row.id, message, now);
        repo.finish(row.id, 'failed', reason);
      });
      log.error(fields, `progress e-mail of source "${row.sourceId}" ${reason}`);
      return;
    }
    const retryAt = now + backoffDelay(attempts, this.#retry);
    repo.markFailedAttempt(row.id, message, retryAt);
    const line = `progress e-mail of source "${row.sourceId}" not sent, tried again at ${new Date(retryAt).toISOString()}: ${message}`;
    if (attempts === 1) log.warn(fields, line);
    else log.info(fields, line);
  }

  /** Rows a crash or a cut stop left "sending": they may have arrived, so they are not sent again. */
  #giveUpInterrupted(): void {
    const { repo, log } = this.#deps;
    for (const row of repo.interrupted()) {
      const reason = `the daemon stopped while this e-mail was being sent (${new Date(row.sendingSince!).toISOString()}): it may have arrived, so it is not sent again (nobody gets it twice); send one now from the source's settings if it did not`;
      repo.finish(row.id, 'failed', reason);
      log.warn({ source: row.sourceId, email: row.id }, `progress e-mail of source "${row.sourceId}": ${reason}`);
    }
  }

  #waitMs(): number {
    const now = this.#now();
    const config = this.#deps.config();
    const next = [this.#deps.repo.nextDueAt(), ...config.sources.filter((s) => s.progress?.enabled).map((s) => this.#nextSlot(s.id, rhythmOf(s.progress!), now))].filter((t): t is number => t !== null);
    const soonest = next.length > 0 ? Math.min(...next) : now + IDLE_MS;
    return Math.min(IDLE_MS, Math.max(MIN_WAIT_MS, soonest - now));
  }
}
