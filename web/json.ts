/**
 * The JSON shapes of the API (SPEC §5), in one place: the routes answer with them,
 * and the control socket (daemon/control/server.ts) and the command line print the
 * same ones. Times are ISO 8601 strings; ids of other objects become their URLs.
 */
import { atLeast, type Level } from '../daemon/auth/permissions';
import type { Picture } from '../daemon/domain/pictures';
import type { Video, VideoJob } from '../daemon/domain/videos';
import type { SourceStatus } from '../daemon/status.service';
import type { HealthPoint } from '../daemon/store/health.repository';
import type { StoredAuditEntry } from '../daemon/store/audit.repository';
import type { BoxEvent } from '../daemon/store/events.repository';
import type { CoverageDay } from '../daemon/schedule/coverage';

/** Users and groups: the command line's `users ... --json` prints them too, so they live with the access service. */
export { groupJson, userJson } from '../daemon/auth/access.service';
/** The box-wide public switch: the status and `lapsebox public --json` show it too, so it lives with the switch. */
export { publicSwitchJson } from '../daemon/settings/public-switch';

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

/** The project in short, for a customer's card: its days with pictures, its pictures, its newest film. */
export interface SourceSummary {
  days: readonly { date: string; count: number }[];
  latestFilm: Video | undefined;
}

/** A source as the API shows it: its status, the user's level on it, its latest picture and its summary. */
export function sourceJson(status: SourceStatus, level: Level, latest: Picture | undefined, summary: SourceSummary) {
  // The camera itself (serial, battery, exposure) is for those who may change the source's settings.
  const camera = atLeast(level, 'edit') ? status.camera : null;
  // The exposure ramp too: the settings and the light of each frame are the photographer's.
  const exposure = atLeast(level, 'edit') ? status.exposure : null;
  const film = summary.latestFilm;
  return {
    ...status,
    camera,
    exposure,
    level,
    latest: latest ? { id: latest.id, takenAt: new Date(latest.takenAt).toISOString(), date: latest.localDate } : null,
    summary: {
      firstDay: summary.days[0]?.date ?? null,
      days: summary.days.length,
      pictures: summary.days.reduce((n, d) => n + d.count, 0),
      latestFilm: film ? { id: film.id, kind: film.kind, label: film.label, from: new Date(film.periodFrom).toISOString(), to: new Date(film.periodTo).toISOString(), durationMs: film.durationMs, poster: film.posterPath ? `/api/videos/${film.id}/poster` : null } : null,
    },
  };
}

/** A day of the coverage calendar; the camera's errors only for those who may act on them (edit level). */
export function coverageDayJson(d: CoverageDay, withMessages: boolean) {
  return {
    date: d.date,
    state: d.state,
    expected: d.expected,
    pictures: d.pictures,
    ratio: d.ratio,
    unplanned: d.unplanned,
    estimated: d.estimated,
    windows: d.windows.map((w) => ({ from: iso(w.from), to: iso(w.to) })),
    gaps: d.gaps.map((g) => ({ reason: g.reason, from: iso(g.from), to: iso(g.to), slots: g.slots, ...(withMessages && g.message ? { message: g.message } : {}) })),
  };
}

/**
 * A picture as the API shows it; with a level, the URLs of the sizes that level may fetch,
 * under `base` (`/api`, or a share link's `/s/<token>/api`).
 */
export function pictureJson(p: Picture, level?: Level, base = '/api') {
  return {
    id: p.id,
    source: p.sourceId,
    takenAt: new Date(p.takenAt).toISOString(),
    date: p.localDate,
    width: p.width,
    height: p.height,
    size: p.size,
    sha256: p.sha256,
    exifTakenAt: p.exifTakenAt === null ? null : new Date(p.exifTakenAt).toISOString(),
    luminance: p.luminance === null ? null : Math.round(p.luminance * 10) / 10,
    // The settings it was taken with (an exposure ramp's) are the photographer's: edit level, and the box's own tools.
    ...(level === undefined || atLeast(level, 'edit') ? { exposure: p.exposure } : {}),
    rejection: p.rejection,
    ...(level
      ? {
          urls: {
            thumb: `${base}/pictures/${p.id}/thumb`,
            small: `${base}/pictures/${p.id}/small`,
            preview: `${base}/pictures/${p.id}/preview`,
            ...(atLeast(level, 'download') ? { original: `${base}/pictures/${p.id}/original` } : {}),
          },
        }
      : {}),
  };
}

/** A video as the API shows it, its file and poster under `base` (`/api`, or a share link's `/s/<token>/api`). */
export function videoJson(v: Video, base = '/api') {
  return {
    id: v.id,
    source: v.sourceId,
    kind: v.kind,
    label: v.label,
    from: new Date(v.periodFrom).toISOString(),
    to: new Date(v.periodTo).toISOString(),
    frames: v.frames,
    fps: v.fps,
    width: v.width,
    height: v.height,
    durationMs: v.durationMs,
    size: v.size,
    codec: v.codec,
    createdAt: new Date(v.createdAt).toISOString(),
    file: `${base}/videos/${v.id}/file`,
    poster: v.posterPath ? `${base}/videos/${v.id}/poster` : null,
    // The rendition for phones and slow links; null: the film is small enough itself (or older than renditions).
    phone: v.phone ? { file: `${base}/videos/${v.id}/file?rendition=phone`, width: v.phone.width, height: v.phone.height, size: v.phone.size, bitrate: v.phone.bitrate } : null,
    bitrate: v.durationMs > 0 ? Math.round((v.size * 8 * 1000) / v.durationMs) : null,
  };
}

export function jobJson(j: VideoJob) {
  const { spec, ...asked } = j.params as { spec?: { from: number; to: number; fps: number; width: number; crf: number; preset: string; deflicker: boolean } };
  return {
    id: j.id,
    source: j.sourceId,
    kind: j.kind,
    label: j.label,
    status: j.status,
    progress: j.progress,
    requestedBy: j.requestedBy,
    params: asked,
    settings: spec ? { from: iso(spec.from), to: iso(spec.to), fps: spec.fps, width: spec.width, crf: spec.crf, preset: spec.preset, deflicker: spec.deflicker } : null,
    createdAt: iso(j.createdAt),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
    message: j.message,
    result: j.result,
    video: j.videoId === null ? null : `/api/videos/${j.videoId}`,
  };
}

/** A point of the box's health charts. */
export function healthPointJson(p: HealthPoint) {
  return { ...p, at: new Date(p.at).toISOString() };
}

/** An entry of the audit trail; what it does not know is null. */
export function auditJson(e: StoredAuditEntry) {
  return {
    id: e.id,
    at: new Date(e.at).toISOString(),
    actor: e.actor,
    address: e.address ?? null,
    action: e.action,
    target: e.target ?? null,
    oldValue: e.oldValue ?? null,
    newValue: e.newValue ?? null,
  };
}

/** One of the box's events (camera down and up, power cycles, sync alerts). */
export function eventJson(e: BoxEvent) {
  return { id: e.id, at: new Date(e.at).toISOString(), since: iso(e.since), source: e.sourceId, target: e.targetId, kind: e.kind, message: e.message };
}
