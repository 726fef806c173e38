/**
 * The one declaration of the configuration file: types, defaults, validation
 * messages and the published JSON Schema (`config/lapsebox.schema.json`) all
 * come from here. Durations and times of day are strings in the file and
 * parsed values (milliseconds, TimeOfDay) in the typed config.
 */
import { z } from 'zod';
import { IANAZone } from 'luxon';
import { availableLanguages } from '../i18n/catalog-files';
import { say, type Say } from '../i18n/say';
import { worded } from './issue-words';
import { parseDuration, formatDuration } from './duration';
import { parseRate } from './rate';
import type { TimeOfDay, Weekday } from '../domain/schedule';
import { parseAperture, parseIso, parseShutter, type ExposureKnob } from '../domain/exposure';
// The allow-lists that keep camera settings out of trouble before they reach gphoto2's argv.
import { modelProblem, portProblem, settingProblem } from './gphoto2-values';

/** A strict object whose unknown-key message lists the keys that are allowed. */
function obj<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      const hints = issue.keys
        .map((k) => closest(k, known))
        .filter((k): k is string => k !== undefined)
        .map((k) => `"${k}"`);
      const hint = hints.length ? `; did you mean ${hints.join(', ')}?` : '';
      return `unknown key ${keys}${hint} (allowed here: ${known.join(', ')})`;
    },
  });
}

/** The known key nearest to a typo, if it is near enough to be a likely typo. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** A duration string (`10s`, `5m`, `1h30m`) parsed to milliseconds, within bounds. */
function duration(opts: { min?: number; max?: number; default: string; description: string }) {
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  return z
    .string({ error: worded('expected a duration string such as "10s", "5m", "2h" or "1d"', say('apiError.config.durationText')) })
    .default(opts.default)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null) {
        ctx.issues.push({
          code: 'custom',
          input: text,
          message: `expected a duration such as "10s", "5m", "2h" or "1d", got "${text}"`,
          params: words(say('apiError.config.duration', { text })),
        });
        return z.NEVER;
      }
      if (ms < min || ms > max) {
        const unbounded = max === Number.MAX_SAFE_INTEGER;
        const range = unbounded ? `at least ${formatDuration(min)}` : `between ${formatDuration(min)} and ${formatDuration(max)}`;
        const said = unbounded ? say('apiError.config.durationAtLeast', { min: formatDuration(min), text }) : say('apiError.config.durationBetween', { min: formatDuration(min), max: formatDuration(max), text });
        ctx.issues.push({ code: 'custom', input: text, message: `expected a duration ${range}, got "${text}"`, params: words(said) });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description: opts.description });
}

/** A custom issue's words in the UI's languages (issue-words.ts reads them from its params). */
function words(said: Say): { say: Say } {
  return { say: said };
}

const int = (min: number, max: number) => {
  const between = worded(`expected an integer between ${min} and ${max}`, say('apiError.config.integerBetween', { min, max }));
  return z.number({ error: (i) => (i.input === undefined ? 'required' : between) }).int().min(min).max(max);
};

const idPattern = (maxLength: number) => new RegExp(`^[a-z0-9][a-z0-9-]{0,${maxLength - 1}}$`);
const sourceIdRegex = idPattern(32);
const sourceId = z
  .string()
  .regex(sourceIdRegex, 'expected lowercase letters, digits and "-", starting with a letter or digit, at most 32 characters')
  .meta({ description: 'Short name used in folders, URLs and on the central server' });

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const satisfies readonly Weekday[];

const CLOCK = /^([01]\d|2[0-4]):([0-5]\d)$/;
const SUN = /^(sunrise|sunset)(?:([+-])(\S+))?$/;

/** Parses "07:30", "24:00", "sunrise", "sunset+30m", "sunrise-1h"; null when it is none of these. */
export function parseTimeOfDay(text: string): TimeOfDay | null {
  const clock = CLOCK.exec(text);
  if (clock) {
    const minutes = Number(clock[1]) * 60 + Number(clock[2]);
    return minutes <= 24 * 60 ? { kind: 'clock', minutes } : null;
  }
  const sun = SUN.exec(text);
  if (sun) {
    const kind = sun[1] as 'sunrise' | 'sunset';
    if (sun[2] === undefined) return { kind, offsetMs: 0 };
    const ms = parseDuration(sun[3]!);
    if (ms === null || ms > 12 * 3_600_000) return null;
    return { kind, offsetMs: sun[2] === '-' ? -ms : ms };
  }
  return null;
}

const timeOfDay = z
  .string({ error: worded('expected a time of day such as "07:00", "sunrise-30m" or "sunset+1h"', say('apiError.config.timeOfDayText')) })
  .transform((text, ctx): TimeOfDay => {
    const parsed = parseTimeOfDay(text);
    if (parsed === null) {
      ctx.issues.push({
        code: 'custom',
        input: text,
        message: `expected a time of day "HH:MM" (00:00 to 24:00) or sunrise/sunset with an optional offset such as "sunrise-30m", got "${text}"`,
        params: words(say('apiError.config.timeOfDay', { text })),
      });
      return z.NEVER;
    }
    return parsed;
  });

/** A day of the week, as the file writes it. */
const weekday = () => z.enum(WEEKDAYS, { error: worded(`expected a day of the week: ${WEEKDAYS.join(', ')}`, say('apiError.config.weekday', { days: WEEKDAYS.join(', ') })) });

const windowSchema = obj({
  days: z
    .array(weekday())
    .min(1, worded('expected at least one day', say('apiError.config.atLeastOneDay')))
    .default([...WEEKDAYS])
    .meta({ description: 'Days the window starts on; default every day' }),
  from: timeOfDay.meta({ description: 'Start: "HH:MM", "sunrise±X" or "sunset±X"' }),
  to: timeOfDay.meta({ description: 'End (exclusive); a window whose end is before its start wraps past midnight' }),
});

/** A zod check from a function that says what is wrong with a value, or null. */
function allowed(problem: (value: string) => string | null) {
  return (ctx: z.core.ParsePayload<string | undefined>) => {
    if (ctx.value === undefined) return;
    const message = problem(ctx.value);
    if (message) ctx.issues.push({ code: 'custom', input: ctx.value, message });
  };
}

/** A width listed twice is a typo; the second one is named, with where the first is. */
function distinctWidths(ctx: z.core.ParsePayload<number[]>): void {
  const first = new Map<number, number>();
  ctx.value.forEach((width, i) => {
    const seen = first.get(width);
    if (seen === undefined) first.set(width, i);
    else ctx.issues.push({ code: 'custom', input: width, path: [i], message: `${width} is listed twice (already at [${seen}])`, params: words(say('apiError.config.widthTwice', { width, first: seen })) });
  });
}

const timeout = duration({ min: 1000, max: 3_600_000, default: '60s', description: 'How long a capture may take before it is abandoned' });

/**
 * camera.exposure (issue 27): the settings of each frame, fixed (manual) or ramped by
 * lapsebox from the last frames' brightness, for cameras whose exposure lapsebox sets
 * (gphoto2, and the test pattern's simulated sensor).
 */
export const EXPOSURE_MODES = ['manual', 'ramp'] as const;
export const EXPOSURE_KNOBS = ['shutter', 'iso', 'aperture'] as const satisfies readonly ExposureKnob[];
/** The gphoto2 settings the ramp owns on a camera (camera.settings may not set them too). */
export const RAMPED_GPHOTO2_SETTINGS = ['shutterspeed', 'shutterspeed2', 'iso', 'isospeed', 'f-number', 'aperture', 'exposurecompensation'] as const;

/** A value of a knob: a number, or text as cameras print it ("1/250", "f/8"). */
function knobValue(parse: (text: string) => number | null, message: string, words: Say) {
  const error = worded(message, words);
  return z
    .union([z.number(), z.string()], { error })
    .transform((input, ctx) => {
      const value = parse(String(input));
      if (value === null) {
        ctx.issues.push({ code: 'custom', input, message: `${message}, got "${input}"`, params: { say: words } });
        return z.NEVER;
      }
      return value;
    });
}
const shutterValue = () => knobValue(parseShutter, 'expected a shutter speed in seconds, such as "1/250", 0.5 or 15', say('apiError.config.shutterSpeed'));
const isoValue = () => knobValue(parseIso, 'expected an ISO sensitivity such as 100 or 3200', say('apiError.config.isoSpeed'));
const apertureValue = () => knobValue(parseAperture, 'expected an f-number such as 8 or "f/5.6"', say('apiError.config.fNumber'));

/** min and max of a knob; min may not be above max. */
function knobRange(value: () => z.ZodType<number, string | number>, what: string) {
  return obj({ min: value(), max: value() })
    .check((ctx) => {
      if (ctx.value.min > ctx.value.max) {
        ctx.issues.push({ code: 'custom', input: ctx.value, path: ['min'], message: `min is above max (the ramp uses the ${what} from min to max)`, params: words(say('apiError.config.minAboveMax')) });
      }
    })
    .optional();
}

/** A step in stops: a number or a fraction ("1/3"), from 1/10 to 3. */
const STEP_MESSAGE = 'expected a step in stops (EV) from 1/10 to 3, such as "1/3", "1/2" or 1';
const evStep = z
  .union([z.number(), z.string()], { error: worded(STEP_MESSAGE, say('apiError.config.evStep')) })
  .transform((input, ctx) => {
    const text = String(input).trim();
    const fraction = /^(\d+)\s*\/\s*(\d+)$/.exec(text);
    const value = fraction ? Number(fraction[1]) / Number(fraction[2]) : /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
    if (!(value >= 0.1 - 1e-9 && value <= 3)) {
      ctx.issues.push({ code: 'custom', input, message: `${STEP_MESSAGE}, got "${input}"`, params: words(say('apiError.config.evStep')) });
      return z.NEVER;
    }
    return value;
  });

const exposureSchema = obj({
  mode: z.enum(EXPOSURE_MODES).default('manual').meta({ description: 'manual: the same settings for every frame; ramp: lapsebox moves shutter, ISO and aperture in small steps to keep each frame at the target brightness (day to night without a jump)' }),
  target: z.number().min(10).max(245).default(115).meta({ description: "The mean luminance wanted (0-255, each picture's luminance as the pipeline measures it and image.reject reads it)" }),
  maxStep: evStep.default(1 / 3).meta({ description: 'The largest change between two frames, in stops (EV): "1/3", "1/2", 1, ...' }),
  order: z
    .array(z.enum(EXPOSURE_KNOBS))
    .min(1)
    .default(['shutter', 'iso'])
    .check((ctx) => {
      const seen = new Set<string>();
      ctx.value.forEach((knob, i) => {
        if (seen.has(knob)) ctx.issues.push({ code: 'custom', input: knob, path: [i], message: `"${knob}" is listed twice`, params: words(say('apiError.config.listedTwice', { value: knob })) });
        seen.add(knob);
      });
    })
    .meta({ description: 'The knobs the ramp turns, in the order it turns them to gain light: shutter first, then ISO; aperture only when listed' }),
  shutter: knobRange(shutterValue, 'shutter speeds').meta({ description: 'The shutter speeds the ramp may use, in seconds: { min: "1/4000", max: 15 }; default all of the camera\'s' }),
  iso: knobRange(isoValue, 'ISO sensitivities').meta({ description: "The ISO sensitivities the ramp may use: { min: 100, max: 3200 }; default all of the camera's" }),
  aperture: knobRange(apertureValue, 'f-numbers').meta({ description: 'The f-numbers the ramp may use: { min: 4, max: 11 } (aperture must be in order)' }),
  start: obj({ shutter: shutterValue().optional(), iso: isoValue().optional(), aperture: apertureValue().optional() })
    .optional()
    .meta({ description: "The first frame's settings (manual on the test pattern: its fixed settings); default the camera's current ones" }),
  sun: z.boolean().optional().meta({ description: "Feed-forward from the sun's altitude, so the ramp moves with a dusk rather than after it; default on when appliance.location is set (true without it is an error)" }),
})
  .check((ctx) => {
    for (const knob of EXPOSURE_KNOBS) {
      if (ctx.value[knob] !== undefined && !ctx.value.order.includes(knob)) {
        ctx.issues.push({ code: 'custom', input: ctx.value[knob], path: [knob], message: `limits for ${knob} are set but "${knob}" is not in order, so the ramp never turns it: add it to order or remove the limits`, params: words(say('apiError.config.exposureNotInOrder', { knob })) });
      }
      const start = ctx.value.start?.[knob];
      const range = ctx.value[knob];
      if (start !== undefined && range && (start < range.min - 1e-9 || start > range.max + 1e-9)) {
        ctx.issues.push({ code: 'custom', input: start, path: ['start', knob], message: `the start value is outside the ${knob} limits (min to max)`, params: words(say('apiError.config.exposureStartOutside', { knob })) });
      }
    }
  })
  .optional();

const testpatternCamera = obj({
  driver: z.literal('testpattern'),
  width: int(16, 6000).default(1920),
  height: int(16, 4000).default(1080),
  exposure: exposureSchema.meta({ description: "The simulated sensor's settings (issue 27): without it the picture is exposed as a camera's auto would; manual: fixed settings (start); ramp: lapsebox's exposure ramp" }),
  timeout,
});
/** How a gphoto2 source talks to its camera (camera.mode). */
export const GPHOTO2_MODES = ['auto', 'session', 'cli'] as const;

const gphoto2Camera = obj({
  driver: z.literal('gphoto2'),
  model: z.string().min(1).optional().check(allowed(modelProblem)).meta({ description: 'Camera model as gphoto2 --auto-detect prints it' }),
  port: z.string().min(1).optional().check(allowed(portProblem)).meta({ description: 'USB port such as usb:001,004 (changes after a reset; prefer serial or model)' }),
  serial: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected the serial number as "lapsebox cameras" prints it').optional(),
  settings: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .default({})
    .check((ctx) => {
      for (const [name, value] of Object.entries(ctx.value)) {
        const problem = settingProblem(name, value);
        if (problem) ctx.issues.push({ code: 'custom', input: value, path: [name], message: problem });
      }
    })
    .meta({ description: 'gphoto2 --set-config NAME=VALUE pairs applied before each capture, e.g. { iso: 100, aperture: 8 }' }),
  keepRaw: z.boolean().default(false).meta({ description: 'Keep the RAW file of each shot beside its JPEG (set the camera to RAW + JPEG)' }),
  mode: z
    .enum(GPHOTO2_MODES)
    .default('auto')
    .meta({ description: 'auto: the camera kept open in a session (libgphoto2 through the gphoto2 binding, in a worker process), the gphoto2 program where the binding cannot load or keepRaw is on; session: the session only; cli: the gphoto2 program for each shot' }),
  exposure: exposureSchema.meta({ description: 'manual (default): camera.settings as they are for every frame; ramp: lapsebox sets shutter, ISO and aperture for each frame from the camera\'s own choices' }),
  timeout,
}).check((ctx) => {
  if (ctx.value.exposure?.mode === 'ramp') {
    for (const name of Object.keys(ctx.value.settings)) {
      if ((RAMPED_GPHOTO2_SETTINGS as readonly string[]).includes(name.toLowerCase())) {
        ctx.issues.push({ code: 'custom', input: name, path: ['settings', name], message: `"${name}" is set by the exposure ramp for each frame: remove it from camera.settings, or set exposure.mode to manual`, params: words(say('apiError.config.exposureTwoOwners', { name })) });
      }
    }
  }
  if (ctx.value.mode === 'session' && ctx.value.keepRaw) {
    ctx.issues.push({ code: 'custom', input: ctx.value.mode, path: ['mode'], message: 'keepRaw needs the gphoto2 program (the session downloads the JPEG only): set mode to auto or cli' });
  }
});
const v4l2Camera = obj({
  driver: z.literal('v4l2'),
  device: z
    .string()
    .regex(/^\/dev\/(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/, 'expected a device path such as /dev/video0 or /dev/v4l/by-id/...')
    .default('/dev/video0')
    .meta({ description: 'Video device; a /dev/v4l/by-id/... link keeps naming the same webcam after re-plugging' }),
  width: int(16, 8000).optional(),
  height: int(16, 8000).optional(),
  inputFormat: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,32}$/, 'expected a v4l2 input format such as mjpeg or yuyv422')
    .optional()
    .meta({ description: 'Pixel format asked of the webcam (ffmpeg -input_format), e.g. mjpeg for large sizes over USB 2' }),
  skipFrames: int(0, 300).default(10).meta({ description: 'Frames dropped while the exposure settles' }),
  timeout,
});
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });
const httpCamera = obj({
  driver: z.literal('http'),
  url: httpUrl,
  username: z.string().optional(),
  password: z.string().optional(),
  auth: z.enum(['basic', 'digest']).default('basic'),
  timeout,
});
const rtspCamera = obj({
  driver: z.literal('rtsp'),
  url: z.url({ protocol: /^rtsps?$/, error: 'expected an rtsp:// URL' }),
  transport: z.enum(['tcp', 'udp']).default('tcp'),
  timeout,
});
export const CAMERA_DRIVERS = ['testpattern', 'gphoto2', 'v4l2', 'http', 'rtsp'] as const;
const camera = z.discriminatedUnion('driver', [testpatternCamera, gphoto2Camera, v4l2Camera, httpCamera, rtspCamera], {
  error: (issue) =>
    issue.code === 'invalid_union' ? `expected "driver" to be one of: ${CAMERA_DRIVERS.join(', ')}` : undefined,
});

const rect = obj({ left: int(0, 100_000), top: int(0, 100_000), width: int(1, 100_000), height: int(1, 100_000) });
/** Placeholders a legend may use; the pipeline fills them in. */
export const LEGEND_PLACEHOLDERS = ['source', 'id', 'appliance', 'date', 'time'] as const;
function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!).filter((name) => !(LEGEND_PLACEHOLDERS as readonly string[]).includes(name)).map((name) => `{${name}}`);
}
const position = z.enum(['top-left', 'top-right', 'bottom-left', 'bottom-right', 'top', 'bottom', 'center']);

/** x264's presets, fastest first: slower ones make smaller files for the same quality. */
export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;
const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, worded('expected a time "HH:MM"', say('apiError.config.clockTime')));

/** The settings every video is built with: the daily ones are also the defaults of custom videos. */
const timelapseKind = (enabled: boolean, maxSeconds: number, minSeconds: number) =>
  obj({
    enabled: z.boolean().default(enabled),
    at: clockTime.default('00:30').meta({ description: 'When the video of the period just ended is built (local time; weekly on Mondays, monthly on the 1st)' }),
    fps: int(1, 120).default(25),
    width: int(16, 7680)
      .refine((w) => w % 2 === 0, { error: 'expected an even width (H.264 in yuv420p needs even sides)', params: words(say('apiError.config.evenWidth')) })
      .default(1920),
    crf: int(0, 51).default(23).meta({ description: 'x264 quality: lower is better and bigger; 18-28 is the useful range' }),
    preset: z.enum(X264_PRESETS).default('medium').meta({ description: 'x264 speed against file size' }),
    deflicker: z.boolean().default(true).meta({ description: 'Even out brightness jumps between frames (each scaled to the mean of the 15 frames around it)' }),
    keepFrom: clockTime.optional().meta({ description: 'Use only pictures taken from this local time of day' }),
    keepTo: clockTime.optional().meta({ description: 'Use only pictures taken before this local time of day (wraps past midnight when before keepFrom)' }),
    minInterval: duration({ min: 0, max: 86_400_000, default: '0s', description: 'At least this much time between two frames; 0 = every picture' }),
    maxSeconds: int(0, 3600)
      .default(maxSeconds)
      .meta({ description: 'Longest film in seconds: frames are thinned evenly to fit; 0 = every frame' }),
    minFrames: int(2, 100_000).default(10).meta({ description: 'Fewer usable frames than this: the video is skipped, with the reason in the log' }),
    minSeconds: int(0, 600)
      .default(minSeconds)
      .meta({ description: 'Shortest film in seconds: a film with fewer frames than this many seconds at fps holds each frame longer (a day of a 20-minute schedule is 36 frames, 1.4 s at 25 fps); 0 = every frame once' }),
  }).prefault({});

/** Bits per second from "1Mbit/s", "800kbit/s", "150KB/s". */
const bitrate = (fallback: string, description: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const rate = parseRate(text);
      if (rate === null || rate * 8 < 100_000 || rate * 8 > 50_000_000) {
        ctx.issues.push({ code: 'custom', input: text, message: `expected a bit rate from 100kbit/s to 50Mbit/s such as "1Mbit/s" or "800kbit/s", got "${text}"`, params: words(say('apiError.config.bitrate', { text })) });
        return z.NEVER;
      }
      return rate * 8;
    })
    .meta({ description });

/** The rendition of every film made for phones and slow links (issue 25), stored and sent beside it. */
const phoneRendition = obj({
  enabled: z.boolean().default(true),
  height: int(144, 1080)
    .refine((h) => h % 2 === 0, { error: 'expected an even height (H.264 in yuv420p needs even sides)', params: words(say('apiError.config.evenHeight')) })
    .default(720)
    .meta({ description: 'Height of the phone rendition (the film\'s shape kept, never larger than the film)' }),
  maxBitrate: bitrate('1Mbit/s', 'Ceiling of its bit rate, so that it plays while it downloads over a slow mobile link (1.6 Mbit/s plays 1Mbit/s at once)'),
}).prefault({});

/** What a progress e-mail shows: the newest picture, it beside one from `compareDays` ago, or the newest film. */
export const PROGRESS_CONTENTS = ['latest', 'compare', 'film'] as const;

/**
 * Progress e-mails of a source (issue 22): to people outside the box, on a rhythm, with a
 * share link that stays valid until the next e-mail. Needs web.publicUrl and alerts.email
 * (crossCheck), and recipients.
 */
const progressSchema = obj({
  enabled: z.boolean().default(true),
  to: z
    .array(z.email({ error: worded('expected an e-mail address such as anna@example.com', say('apiError.config.emailExample')) }))
    .max(50, worded('expected at most 50 addresses (use a group for more)', say('apiError.config.atMostAddresses', { max: 50 })))
    .default([])
    .meta({ description: 'E-mail addresses that receive the e-mails' }),
  group: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, worded('expected the name of a group of users, as "lapsebox groups list" prints it', say('apiError.config.groupName')))
    .optional()
    .meta({ description: 'A group of users (lapsebox groups): its members with an e-mail address receive the e-mails too' }),
  every: z.enum(['day', 'week'], { error: worded('expected "day" or "week"', say('apiError.config.dayOrWeek')) }).default('week').meta({ description: 'How often: every day, or every week on `day`' }),
  day: weekday().optional().meta({ description: 'The day of the weekly e-mail (every: week); default mon' }),
  at: clockTime.default('08:00').meta({ description: 'Local time (appliance.timezone) the e-mail is sent' }),
  content: z.enum(PROGRESS_CONTENTS, { error: worded(`expected one of: ${PROGRESS_CONTENTS.join(', ')}`, say('apiError.oneOf', { values: PROGRESS_CONTENTS.join(', ') })) }).default('latest').meta({ description: 'latest: the newest picture; compare: the newest beside one from compareDays ago; film: the newest film' }),
  compareDays: int(1, 365).optional().meta({ description: 'content: compare: how many days back the older picture is; default 7' }),
  level: z.enum(['view', 'download'], { error: worded('expected "view" or "download"', say('apiError.config.viewOrDownload')) }).default('view').meta({ description: 'What the share link in the e-mail lets its holders do: view, or also download' }),
})
  .refine((p) => p.to.length > 0 || p.group !== undefined, { error: 'expected recipients: to (e-mail addresses), group (a group of users), or both', path: ['to'], params: words(say('apiError.config.progressRecipients')) })
  .refine((p) => p.day === undefined || p.every === 'week', { error: 'used only with every: week; remove it, or set every: week', path: ['day'], params: words(say('apiError.config.progressDayWeekly')) })
  .refine((p) => p.compareDays === undefined || p.content === 'compare', { error: 'used only with content: compare; remove it, or set content: compare', path: ['compareDays'], params: words(say('apiError.config.progressCompareDays')) });

const sourceSchema = obj({
  id: sourceId,
  name: z.string().min(1).max(200).optional(),
  enabled: z.boolean().default(true),
  camera,
  schedule: obj({
    every: duration({ min: 1000, max: 86_400_000, default: '5m', description: 'Interval between captures; slots are aligned to the wall clock' }),
    windows: z.array(windowSchema).default([]).meta({ description: 'When to capture; none = all day, every day' }),
  }).prefault({}),
  recovery: obj({
    retries: int(0, 10).default(2),
    powerCycle: obj({
      gpio: int(0, 63),
      activeLow: z.boolean().default(false),
      off: duration({ min: 1000, max: 600_000, default: '10s', description: 'How long the relay keeps the camera off' }),
      settle: duration({ min: 0, max: 600_000, default: '10s', description: 'How long the camera gets to start once its power is back' }),
      afterFailures: int(1, 1000).default(3),
      maxPerDay: int(0, 1000).default(6),
      simulate: z.boolean().default(false).meta({ description: 'Only log what the relay would do (a box without one, a demo, tests); otherwise a relay that cannot be opened is a fault' }),
    }).optional(),
  }).prefault({}),
  image: obj({
    rotate: z
      .union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)], { error: worded('expected 0, 90, 180 or 270', say('apiError.config.rotation')) })
      .default(0)
      .meta({ description: 'Clockwise rotation in degrees, after the orientation the camera recorded' }),
    crop: rect.optional().meta({ description: 'Area kept, in pixels of the rotated picture; clipped to the picture' }),
    privacyMasks: z
      .array(rect)
      .default([])
      .meta({ description: 'Areas filled with black before anything is stored, in pixels of the rotated picture (before crop)' }),
    legend: obj({
      text: z
        .string()
        .max(500)
        .default('{source} {date} {time}')
        .check((ctx) => {
          const unknown = unknownPlaceholders(ctx.value).join(', ');
          const allowed = LEGEND_PLACEHOLDERS.map((p) => `{${p}}`).join(', ');
          if (unknown) ctx.issues.push({ code: 'custom', input: ctx.value, message: `unknown placeholder ${unknown} (allowed: ${allowed})`, params: words(say('apiError.config.legendPlaceholder', { unknown, allowed })) });
        }),
      position: position.default('bottom-left'),
    }).optional(),
    watermark: obj({
      file: z.string().min(1).meta({ description: 'A PNG with transparency, ideally; relative to the config file' }),
      position: position.default('bottom-right'),
      opacity: z.number().min(0).max(1).default(0.6),
      scale: z.number().min(0.02).max(1).default(0.2).meta({ description: 'Width of the watermark as a fraction of the picture width' }),
    }).optional(),
    quality: int(50, 100).default(90).meta({ description: 'JPEG quality of pictures that are rewritten (rotation, crop, masks)' }),
    reject: obj({
      minWidth: int(1, 100_000).default(64),
      minHeight: int(1, 100_000).default(64),
      darkerThan: z.number().min(0).max(255).optional().meta({ description: 'Reject pictures whose mean luminance (0-255) is below this' }),
      brighterThan: z.number().min(0).max(255).optional().meta({ description: 'Reject pictures whose mean luminance (0-255) is above this' }),
    }).prefault({}),
  }).prefault({}),
  timelapse: obj({ daily: timelapseKind(true, 0, 10), weekly: timelapseKind(false, 60, 0), monthly: timelapseKind(false, 120, 0), phone: phoneRendition }).prefault({}),
  public: obj({
    enabled: z.boolean().default(false),
    width: int(16, 8000).default(1280).meta({ description: 'Width of the public picture (never wider than captured)' }),
    delay: duration({ min: 0, max: 30 * 86_400_000, default: '0s', description: 'Publish the newest picture at least this old' }),
    sizes: z
      .array(int(16, 8000), { error: worded('expected a list of widths in pixels, such as [640, 1280, 1920]', say('apiError.config.widthList')) })
      .max(6, worded('expected at most 6 widths', say('apiError.config.atMostWidths', { max: 6 })))
      .default([])
      .check(distinctWidths)
      .meta({ description: 'More widths of the public picture, each served as /public/<source>/latest-<width>.jpg (never wider than captured)' }),
  }).prefault({}),
  retention: obj({
    maxAgeDays: int(0, 100_000).meta({ description: 'Overrides storage.retention.maxAgeDays for this source; 0 = keep forever' }),
  }).optional(),
  progress: progressSchema.optional().meta({ description: 'Progress e-mails: the newest picture, a comparison or the newest film, daily or weekly, with a share link (needs web.publicUrl and alerts.email)' }),
});

/** What every sync target has, whatever its protocol: what it wants, and how hard to try. */
const targetCommon = {
  id: sourceId,
  send: z.array(z.enum(['pictures', 'videos', 'latest'])).min(1).default(['pictures', 'videos', 'latest']),
  sources: z.array(z.string()).optional(),
  timeout: duration({ min: 1000, max: 600_000, default: '30s', description: 'How long connecting, or any one step of an upload, may stall before the connection is dropped and tried again' }),
  maxRate: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return undefined;
      const rate = parseRate(text);
      if (rate === null || rate < 1000) {
        ctx.issues.push({ code: 'custom', input: text, message: `expected a rate of at least 1KB/s such as "500KB/s", "2MB/s" or "4Mbit/s", got "${text}"` });
        return z.NEVER;
      }
      return rate;
    })
    .meta({ description: 'Upload bandwidth cap for metered links, shared by every upload in flight on the target, such as "500KB/s" or "4Mbit/s"; default: none' }),
  alertAfter: duration({ min: 60_000, max: 30 * 86_400_000, default: '1h', description: 'Raise an event when the oldest unsent file, or the outage of the target, is older than this' }),
};

const sftpTarget = obj({
  ...targetCommon,
  type: z.literal('sftp'),
  host: z.string().min(1),
  port: int(1, 65535).default(22),
  username: z.string().min(1),
  privateKey: z.string().min(1).optional().meta({ description: 'Private key file (OpenSSH or PEM format, without passphrase); relative to the config file' }),
  password: z.string().min(1).optional().meta({ description: 'Password, for servers that do not take keys; a key is better' }),
  hostKey: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'expected a pinned key fingerprint "SHA256:..." as ssh-keygen -lf prints it'),
  remoteDir: z.string().startsWith('/', 'expected an absolute path'),
}).refine((t) => t.privateKey !== undefined || t.password !== undefined, { error: 'expected privateKey (or password): how to log in to the server', path: ['privateKey'] });

/** S3 bucket names (AWS's rules, which every compatible store accepts): 3-63 lowercase letters, digits, "-" and ".". */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const s3Target = obj({
  ...targetCommon,
  type: z.literal('s3'),
  endpoint: httpUrl
    .refine((url) => { const u = new URL(url); return u.pathname === '/' && u.search === '' && u.username === '' && u.password === ''; }, { error: 'expected the server\'s address only, such as "https://s3.example.com" or "http://10.0.0.5:9000" (no path, query or credentials)' })
    .optional()
    .meta({ description: 'The S3 server, such as https://s3.fr-par.scw.cloud or http://minio.lan:9000; default: AWS (s3.<region>.amazonaws.com)' }),
  region: z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a region name such as "eu-west-3" or "us-east-1"').default('us-east-1').meta({ description: 'The region signatures are made for (SigV4); servers that have none take "us-east-1"' }),
  bucket: z.string().regex(BUCKET, 'expected a bucket name: 3 to 63 lowercase letters, digits, "-" and "."'),
  prefix: z
    .string()
    .max(512)
    .regex(/^[^/](?:.*[^/])?$/, 'expected a key prefix without a leading or trailing "/", such as "sites" or "clients/acme"')
    .refine((p) => p.split('/').every((part) => part !== '' && part !== '.' && part !== '..'), { error: 'expected a key prefix without empty, "." or ".." parts' })
    .optional()
    .meta({ description: 'Keys start with <prefix>/<appliance.id>/; default: <appliance.id>/' }),
  accessKeyId: z.string().min(1).max(256),
  secretAccessKey: z.string().min(1).max(1024).optional().meta({ description: 'The secret key; better kept in secretAccessKeyFile' }),
  secretAccessKeyFile: z.string().min(1).optional().meta({ description: 'A file holding the secret key (first line); relative to the config file' }),
  forcePathStyle: z.boolean().default(false).meta({ description: 'Address the bucket in the path (http://host/bucket/key) instead of the host name (http://bucket.host/key): MinIO, Ceph, Garage and Swift usually need true' }),
})
  .refine((t) => (t.secretAccessKey === undefined) !== (t.secretAccessKeyFile === undefined), { error: 'expected one of secretAccessKey or secretAccessKeyFile', path: ['secretAccessKey'] });

const syncTarget = z.discriminatedUnion('type', [sftpTarget, s3Target], { error: (issue) => (issue.code === 'invalid_union' ? 'expected type "sftp" or "s3"' : undefined) });

/** MQTT topic levels: no wildcard, no empty level, no leading or trailing "/". */
const topicPath = (what: string) =>
  z
    .string()
    .max(100)
    .regex(/^[^\s#+/]+(\/[^\s#+/]+)*$/, `expected ${what}: topic levels separated by "/", without "+", "#", spaces, or a leading or trailing "/"`);

/** mqtt:// or ws://, whatever the case: no TLS, so no certificate. */
function plainScheme(url: string): boolean {
  try {
    const p = new URL(url).protocol;
    return p === 'mqtt:' || p === 'ws:';
  } catch {
    return false;
  }
}

const mqttSection = obj({
  url: z
    .url({ protocol: /^(mqtts?|wss?)$/, hostname: /^./, error: 'expected an mqtt://, mqtts://, ws:// or wss:// URL with the broker\'s host, such as mqtts://broker.example.com:8883' })
    .refine((url) => { const u = new URL(url); return u.username === '' && u.password === ''; }, {
      error: 'expected the user name and password in mqtt.username and mqtt.password (or passwordFile), not in the URL',
    })
    .meta({ description: 'The broker: mqtt:// (1883), mqtts:// (TLS, 8883), ws:// or wss:// (MQTT over WebSocket; the path is kept, such as /mqtt)' }),
  username: z.string().min(1).max(256).optional().meta({ description: "The box's login on the broker; usually appliance.id, so that the broker's ACL can use %u" }),
  password: z.string().min(1).max(1024).optional().meta({ description: 'The password; better kept in passwordFile' }),
  passwordFile: z.string().min(1).optional().meta({ description: 'A file holding the password (first line); relative to the config file' }),
  ca: z.string().min(1).optional().meta({ description: "A PEM file of the certificate authority that signed the broker's certificate (mqtts, wss); default: the system's" }),
  cert: z.string().min(1).optional().meta({ description: 'A PEM client certificate, for brokers that log boxes in by certificate (with key)' }),
  key: z.string().min(1).optional().meta({ description: "The client certificate's PEM private key" }),
  topicPrefix: topicPath('a topic prefix such as "lapsebox" or "acme/sites"').default('lapsebox').meta({ description: 'Every topic of the box is under <topicPrefix>/<appliance.id>/' }),
  interval: duration({ min: 5_000, max: 3_600_000, default: '1m', description: 'How often the state is published again when nothing changed (a change is published within a second)' }),
  keepalive: duration({ min: 5_000, max: 1_200_000, default: '30s', description: 'MQTT keepalive: the broker publishes the last will "offline" when it has heard nothing for 1.5 times this' }),
  homeAssistant: obj({
    enabled: z.boolean().default(false),
    discoveryPrefix: topicPath('a discovery prefix such as "homeassistant"').default('homeassistant').meta({ description: "Home Assistant's MQTT discovery prefix" }),
  })
    .prefault({})
    .meta({ description: 'Home Assistant discovery: one device per box, with sensors per box and per source' }),
  commands: z.boolean().default(false).meta({ description: 'true: capture now and enable or disable a source over MQTT (audited as actor "mqtt"); anyone who may publish on the box\'s topics may then do it' }),
})
  .refine((m) => m.password === undefined || m.passwordFile === undefined, { error: 'expected one of password or passwordFile, not both', path: ['passwordFile'] })
  .refine((m) => (m.password === undefined && m.passwordFile === undefined) || m.username !== undefined, { error: 'required with a password: the user name', path: ['username'] })
  .refine((m) => (m.cert === undefined) === (m.key === undefined), { error: 'expected cert and key together (a client certificate and its private key)', path: ['cert'] })
  .refine((m) => !plainScheme(m.url) || (m.ca === undefined && m.cert === undefined), {
    error: 'expected an mqtts:// or wss:// URL with ca, cert or key: a plain connection uses no certificate',
    path: ['url'],
  });

/** The modules whose log lines carry `module`, each with its own level under `logging.modules`. */
export const LOG_MODULES = ['alerts', 'capture', 'control', 'daemon', 'health', 'mqtt', 'pipeline', 'progress', 'relay', 'schedule', 'storage', 'store', 'sync', 'timelapse', 'web'] as const;
export type LogModule = (typeof LOG_MODULES)[number];
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'expected one of fatal, error, warn, info, debug, trace, silent' });

export const configSchema = obj({
  appliance: obj({
    id: z
      .string({ error: 'required: a name for this box, such as "bridge-north"' })
      .regex(idPattern(63), 'expected lowercase letters, digits and "-", starting with a letter or digit, at most 63 characters'),
    name: z.string().min(1).max(200).optional(),
    timezone: z
      .string()
      .refine((zone) => IANAZone.isValidZone(zone), { error: (i) => `expected an IANA time zone name such as "Europe/Paris", got "${String(i.input)}"` })
      .optional()
      // The system zone is looked up when the file is read, not baked into the published schema.
      .transform((zone) => zone ?? systemTimezone())
      .meta({ description: 'IANA time zone such as Europe/Paris; default: the system time zone' }),
    location: obj({ latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180) }).optional(),
    locale: z
      .string()
      .refine((code) => availableLanguages().includes(code), { error: (i) => `expected the code of a language the box has a catalog for (${availableLanguages().join(', ')}), got "${String(i.input)}"` })
      .default('en')
      .meta({ description: 'The language of e-mails and reports, and of pages for a browser that asks for none the box speaks: the code of a catalog in i18n/ (en, fr)' }),
  }),
  storage: obj({
    dataDir: z.string().min(1).default('/var/lib/lapsebox').meta({ description: 'Where everything is written; relative to the config file' }),
    retention: obj({
      maxAgeDays: int(0, 100_000).default(0).meta({ description: 'Pictures older than this many days (24 h each) are deleted once every target that wants them has them; 0 = keep forever' }),
      minFreePercent: int(0, 99).default(10).meta({ description: 'Below this share of free space, the oldest pictures already sent to every target are deleted' }),
      reserveMB: int(0, 1_000_000)
        .default(300)
        .meta({ description: 'Below this much free space, with nothing left that may be deleted, capture pauses (and resumes by itself) so the database, web UI and videos keep room' }),
    }).prefault({}),
  }).prefault({}),
  web: obj({
    host: z.string().min(1).default('0.0.0.0'),
    port: int(1, 65535).default(8080),
    tls: obj({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
    publicUrl: httpUrl
      .refine((url) => { const u = new URL(url); return u.username === '' && u.password === '' && !/[?#]/.test(url); }, { error: 'expected the address people open, without a user, a query or a fragment' })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional()
      .meta({ description: "The address people use to reach this box's UI from outside, such as https://bridge-north.example.com (a proxy or tunnel); used in links the box publishes (MQTT, Home Assistant, progress e-mails)" }),
  }).prefault({}),
  sources: z.array(sourceSchema).default([]),
  sync: obj({ targets: z.array(syncTarget).default([]) }).prefault({}),
  alerts: obj({
    webhook: obj({
      url: httpUrl,
      headers: z
        .record(z.string(), z.string().max(2000))
        .superRefine((headers, ctx) => {
          for (const name of Object.keys(headers)) {
            if (!/^[A-Za-z0-9-]{1,64}$/.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'expected an HTTP header name (letters, digits and "-")' });
          }
        })
        .optional()
        .meta({ description: 'Extra request headers, such as an Authorization token the receiver expects' }),
    }).optional(),
    email: obj({
      smtp: obj({
        host: z.string().min(1),
        port: int(1, 65535).default(587),
        secure: z.boolean().optional().meta({ description: 'TLS from the start (port 465); default: true on port 465, else STARTTLS when the server offers it' }),
        username: z.string().optional(),
        password: z.string().optional(),
      }),
      from: z.email(),
      to: z.array(z.email()).min(1),
    }).optional(),
    lateAfter: duration({ min: 10_000, max: 7 * 86_400_000, default: '15m', description: 'A slot still without a picture this long after it raises "picture late"' }),
    quietPeriod: duration({ min: 0, max: 86_400_000, default: '30m', description: 'At most one message per alert within this period; a change meanwhile is told when it ends' }),
    remindEvery: duration({ min: 0, max: 30 * 86_400_000, default: '6h', description: 'While an alert stays raised, say it again this often; 0s = never' }),
    temperatureMax: z.number().min(30).max(120).default(80).meta({ description: 'CPU temperature (°C) that raises "temperature high"; it clears 5 °C below' }),
    dailyReport: obj({
      enabled: z.boolean().default(true),
      at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a local time "HH:MM"').default('08:00').meta({ description: 'Local time the report on the previous day is sent' }),
    }).prefault({}),
  }).prefault({}),
  mqtt: mqttSection.optional().meta({ description: 'Live state for a fleet: the box publishes its state to an MQTT broker (SPEC section 8)' }),
  logging: obj({
    level: logLevel.default('info').meta({ description: 'Log level of every module not listed under modules' }),
    modules: obj(Object.fromEntries(LOG_MODULES.map((m) => [m, logLevel.optional()])) as Record<LogModule, z.ZodOptional<typeof logLevel>>)
      .default({})
      .meta({ description: `Log level per module, such as { sync: debug }; modules: ${LOG_MODULES.join(', ')}` }),
  }).prefault({}),
});

/** A problem found across keys (duplicates, references, windows); path as in zod issues. */
export interface CrossIssue {
  path: (string | number)[];
  message: string;
  /** The message in catalog words, for the settings form; the CLI prints `message`. */
  say?: Say;
}

/**
 * Checks that span several keys. Runs on the raw document, defensively, so that
 * these problems are reported together with the per-key ones, all at once.
 */
export function crossCheck(raw: unknown): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const root = record(raw);
  const sources = array(root?.['sources']);
  const targets = array(record(root?.['sync'])?.['targets']);
  duplicates(issues, sources.map((s) => record(s)?.['id']), ['sources'], 'source id');
  duplicates(issues, targets.map((t) => record(t)?.['id']), ['sync', 'targets'], 'target id');
  const ids = new Set(sources.map((s) => record(s)?.['id']).filter((id) => typeof id === 'string'));
  targets.forEach((target, t) =>
    array(record(target)?.['sources']).forEach((id, i) => {
      if (typeof id === 'string' && !ids.has(id)) {
        issues.push({ path: ['sync', 'targets', t, 'sources', i], message: `no source has the id "${id}"` });
      }
    }),
  );
  const hasLocation = record(record(root?.['appliance'])?.['location']) !== undefined;
  const hasPublicUrl = typeof record(root?.['web'])?.['publicUrl'] === 'string';
  const hasEmail = record(record(root?.['alerts'])?.['email']) !== undefined;
  sources.forEach((source, s) => {
    const progress = record(record(source)?.['progress']);
    if (progress && progress['enabled'] !== false) {
      const at = ['sources', s, 'progress'];
      if (!hasPublicUrl) issues.push({ path: at, message: 'progress e-mails need web.publicUrl: the address their links open from outside, such as https://bridge-north.example.com', say: say('apiError.config.progressNeedsPublicUrl') });
      if (!hasEmail) issues.push({ path: at, message: 'progress e-mails are sent through the SMTP server of alerts.email: set alerts.email (smtp, from, to) first', say: say('apiError.config.progressNeedsEmail') });
    }
  });
  sources.forEach((source, s) => {
    // A real camera's feed-forward needs to know where the sun is (the test pattern has its own sun).
    const camera = record(record(source)?.['camera']);
    if (camera?.['driver'] === 'gphoto2' && record(camera['exposure'])?.['sun'] === true && !hasLocation) {
      const kind = 'exposure.sun';
      issues.push({ path: ['sources', s, 'camera', 'exposure', 'sun'], message: `${kind} needs appliance.location (latitude and longitude) to be set`, say: say('apiError.config.sunNeedsLocation', { kind }) });
    }
  });
  sources.forEach((source, s) => {
    const schedule = record(record(source)?.['schedule']);
    const every = parseDuration(typeof schedule?.['every'] === 'string' ? schedule['every'] : '5m');
    array(schedule?.['windows']).forEach((window, w) => {
      const at = ['sources', s, 'schedule', 'windows', w];
      const ends = (['from', 'to'] as const).map((end) => {
        const text = record(window)?.[end];
        return typeof text === 'string' ? parseTimeOfDay(text) : null;
      });
      (['from', 'to'] as const).forEach((end, i) => {
        const kind = ends[i]?.kind;
        if (kind !== undefined && kind !== 'clock' && !hasLocation) {
          issues.push({ path: [...at, end], message: `${kind} needs appliance.location (latitude and longitude) to be set`, say: say('apiError.config.sunNeedsLocation', { kind }) });
        }
      });
      const [from, to] = ends;
      const problem = from && to && every !== null ? impossibleWindow(from, to, every) : null;
      if (problem) issues.push({ path: at, ...problem });
    });
  });
  return issues;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function array(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function duplicates(issues: CrossIssue[], ids: unknown[], base: string[], what: string): void {
  const first = new Map<string, number>();
  ids.forEach((id, i) => {
    if (typeof id !== 'string') return;
    const seen = first.get(id);
    if (seen === undefined) first.set(id, i);
    else issues.push({ path: [...base, i, 'id'], message: `duplicate ${what} "${id}" (already used by ${base.join('.')}[${seen}])` });
  });
}

/** Why a clock window can never produce a capture, or null when it can. */
function impossibleWindow(from: TimeOfDay, to: TimeOfDay, everyMs: number): { message: string; say: Say } | null {
  if (from.kind !== 'clock' || to.kind !== 'clock') return null;
  if (from.minutes === 24 * 60) return { message: '"from" cannot be 24:00; use 00:00 on the next day', say: say('apiError.config.windowFrom24') };
  if (from.minutes === to.minutes) {
    return { message: `the window is empty: "from" and "to" are both ${clockText(from.minutes)}`, say: say('apiError.config.windowEmpty', { time: clockText(from.minutes) }) };
  }
  // A window that wraps past midnight always holds the midnight slot; one that does not
  // may fall between two slots, which are aligned to local midnight.
  if (to.minutes < from.minutes) return null;
  const firstSlot = Math.ceil((from.minutes * 60_000) / everyMs) * everyMs;
  if (firstSlot >= to.minutes * 60_000) {
    const [start, end, every] = [clockText(from.minutes), clockText(to.minutes), formatDuration(everyMs)];
    return { message: `no capture slot falls between ${start} and ${end} with every ${every} (slots are aligned to midnight)`, say: say('apiError.config.windowNoSlot', { from: start, to: end, every }) };
  }
  return null;
}

function clockText(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function systemTimezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The configuration as the daemon sees it: defaults applied, durations in ms. */
export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type SourceConfig = Config['sources'][number];
export type CameraConfig = SourceConfig['camera'];
export type TimelapseSettings = SourceConfig['timelapse']['daily'];
/** The films a schedule builds (the `phone` key of `timelapse` is the rendition of every one). */
export const TIMELAPSE_KINDS = ['daily', 'weekly', 'monthly'] as const;
export type TimelapseKind = (typeof TIMELAPSE_KINDS)[number];
export type PhoneRendition = SourceConfig['timelapse']['phone'];
export type ProgressConfig = NonNullable<SourceConfig['progress']>;

/** The JSON Schema published for editors (config/lapsebox.schema.json). */
export function jsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'lapsebox configuration',
  };
}
export type SyncTargetConfig = Config['sync']['targets'][number];
export type SftpTargetConfig = Extract<SyncTargetConfig, { type: 'sftp' }>;
export type S3TargetConfig = Extract<SyncTargetConfig, { type: 's3' }>;
export type MqttConfig = NonNullable<Config['mqtt']>;
export type ExposureConfig = NonNullable<Extract<CameraConfig, { driver: 'gphoto2' }>['exposure']>;
