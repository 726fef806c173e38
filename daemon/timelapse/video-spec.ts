/**
 * What a video is built from: a period, frame filters and encoder settings. Scheduled
 * videos take them from the source's `timelapse.<kind>`; custom ones from a request
 * (API or CLI), checked field by field with messages that name the field. Pure.
 */
import { z } from 'zod';
import { parseDuration } from '../config/duration';
import { X264_PRESETS, type SourceConfig, type TimelapseKind } from '../config/schema';
import { frameWidth } from '../pipeline/plan';
import type { Weekday } from '../domain/schedule';
import type { VideoKind } from '../domain/videos';
import { invalid } from '../errors';
import { issueWords } from '../config/issue-words';
import { say, type Say } from '../i18n/say';
import { MAX_FRAMES, parsePeriod, PeriodError, type Period } from './frames';

export interface VideoSpec {
  sourceId: string;
  kind: VideoKind;
  from: number;
  to: number;
  keepFrom?: string | undefined;
  keepTo?: string | undefined;
  weekdays?: Weekday[] | undefined;
  minIntervalMs: number;
  /** Frames are thinned evenly to at most this many. */
  maxFrames: number;
  /** Fewer usable frames: the video is skipped. */
  minFrames: number;
  fps: number;
  width: number;
  crf: number;
  preset: (typeof X264_PRESETS)[number];
  deflicker: boolean;
  /** A film shorter than this (seconds) holds each frame longer; 0: every frame once. */
  minSeconds: number;
  /** The phone rendition made with the film, or null for none. */
  phone: { height: number; maxBitrate: number } | null;
}

/** The phone rendition a source's films get (timelapse.phone), or null when it is off. */
function phoneOf(source: SourceConfig): VideoSpec['phone'] {
  const p = source.timelapse.phone;
  return p.enabled ? { height: p.height, maxBitrate: p.maxBitrate } : null;
}

/** The settings of a scheduled video of one period. */
export function scheduledSpec(source: SourceConfig, kind: TimelapseKind, period: Period): VideoSpec {
  const t = source.timelapse[kind];
  return {
    sourceId: source.id,
    kind,
    from: period.from,
    to: period.to,
    keepFrom: t.keepFrom,
    keepTo: t.keepTo,
    minIntervalMs: t.minInterval,
    maxFrames: t.maxSeconds > 0 ? Math.min(MAX_FRAMES, t.maxSeconds * t.fps) : MAX_FRAMES,
    minFrames: t.minFrames,
    fps: t.fps,
    width: Math.min(t.width, frameWidth(source)),
    crf: t.crf,
    preset: t.preset,
    deflicker: t.deflicker,
    minSeconds: t.minSeconds,
    phone: phoneOf(source),
  };
}

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time "HH:MM"');
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const satisfies readonly Weekday[];

/** The body of `POST /api/sources/<id>/videos` and the options of `lapsebox timelapse`. */
export const customRequestSchema = z.strictObject(
  {
    from: z.string({ error: 'required: the first day, "YYYY-MM-DD" (or a date and time)' }),
    to: z.string({ error: 'required: the last day, "YYYY-MM-DD" (or a date and time, excluded)' }),
    keepFrom: clock.optional(),
    keepTo: clock.optional(),
    weekdays: z.array(z.enum(WEEKDAYS, { error: `expected days of the week: ${WEEKDAYS.join(', ')}` })).min(1, 'expected at least one day').optional(),
    minInterval: z
      .union([z.string(), z.number()], { error: 'expected a duration such as "10m", or seconds' })
      .optional(),
    fps: z.number({ error: 'expected frames per second, 1 to 120' }).int('expected a whole number of frames per second').min(1, 'expected at least 1 frame per second').max(120, 'expected at most 120 frames per second').optional(),
    width: z
      .number({ error: 'expected a width in pixels' })
      .int('expected a whole number of pixels')
      .min(16, 'expected at least 16 pixels')
      .max(7680)
      .refine((w) => w % 2 === 0, { error: 'expected an even width (H.264 needs even sides)', params: { say: say('apiError.config.evenWidth') } })
      .optional(),
    crf: z.number().int().min(0).max(51).optional(),
    preset: z.enum(X264_PRESETS).optional(),
    deflicker: z.boolean().optional(),
    minSeconds: z.number({ error: 'expected seconds, 0 to 600' }).int('expected a whole number of seconds').min(0, 'expected at least 0 seconds').max(600, 'expected at most 600 seconds').optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')} (allowed: from, to, keepFrom, keepTo, weekdays, minInterval, fps, width, crf, preset, deflicker, minSeconds)` : undefined) },
);
export type CustomRequest = z.output<typeof customRequestSchema>;

/**
 * Checks a custom video request against the source: an AppError 'invalid' whose
 * details name every bad field. Unset settings come from `timelapse.daily`.
 */
export function customSpec(body: unknown, source: SourceConfig, timezone: string): { spec: VideoSpec; request: CustomRequest } {
  const parsed = customRequestSchema.safeParse(body ?? {});
  // Each problem in English (the API, the CLI) and in catalog words (the custom film form).
  const details: Record<string, string> = {};
  const words: Record<string, Say> = {};
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.join('.') || 'body';
      if (details[key] !== undefined) continue;
      details[key] = issue.message.replace(/^Invalid input: /, '');
      const missing = issue.code === 'invalid_type' && (body as Record<string, unknown> | null | undefined)?.[String(issue.path[0])] === undefined;
      words[key] = issueWords(issue, missing) ?? say('apiError.config.untranslated', { message: details[key] });
    }
    throw rejected(details, words);
  }
  const request = parsed.data;
  let period: { from: number; to: number } | null = null;
  try {
    period = parsePeriod(request.from, request.to, timezone);
  } catch (err) {
    if (!(err instanceof PeriodError)) throw err;
    details[err.field] = err.message;
    words[err.field] = err.say;
  }
  let minIntervalMs = 0;
  if (request.minInterval !== undefined) {
    const ms = typeof request.minInterval === 'number' ? request.minInterval * 1000 : parseDuration(request.minInterval);
    if (ms === null || !Number.isFinite(ms) || ms < 0 || ms > 30 * 86_400_000) {
      details['minInterval'] = `expected a duration from 0 to 30 days such as "10m", got ${JSON.stringify(request.minInterval)}`;
      words['minInterval'] = say('apiError.film.minInterval', { text: String(request.minInterval) });
    } else minIntervalMs = ms;
  }
  const frames = frameWidth(source);
  if (request.width !== undefined && request.width > frames) {
    details['width'] = `expected at most ${frames}: the frames of source "${source.id}" are ${frames} wide (the widest timelapse.*.width in its configuration)`;
    words['width'] = say('apiError.film.widthMax', { max: frames, source: source.id });
  }
  if (Object.keys(details).length > 0 || !period) {
    throw rejected(details, words);
  }
  const daily = source.timelapse.daily;
  return {
    request,
    spec: {
      sourceId: source.id,
      kind: 'custom',
      ...period,
      keepFrom: request.keepFrom,
      keepTo: request.keepTo,
      weekdays: request.weekdays,
      minIntervalMs,
      maxFrames: MAX_FRAMES,
      minFrames: 2,
      fps: request.fps ?? daily.fps,
      width: request.width ?? Math.min(daily.width, frames),
      crf: request.crf ?? daily.crf,
      preset: request.preset ?? daily.preset,
      deflicker: request.deflicker ?? daily.deflicker,
      // A custom film's length is what its frames and fps give, unless the request asks for a minimum.
      minSeconds: request.minSeconds ?? 0,
      phone: phoneOf(source),
    },
  };
}

/** The request's errors; the reader's words give the count, and each error beside its field. */
function rejected(details: Record<string, string>, words: Record<string, Say>): Error {
  const list = Object.entries(details).map(([k, v]) => `${k}: ${v}`);
  return invalid(`the video request has ${list.length === 1 ? 'an error' : 'errors'}: ${list.join('; ')}`, details, { message: say('apiError.film.invalid', { count: list.length }), details: words });
}
