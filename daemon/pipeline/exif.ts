/**
 * The few EXIF facts the pipeline uses: when the camera says it took the picture,
 * and the tags worth carrying into a rewritten picture. Anything unreadable is
 * simply absent: a camera's EXIF is never a reason to lose a picture.
 */
import exifReader from 'exif-reader';
import { DateTime } from 'luxon';

export interface ExifFacts {
  /** Capture time (ms), when the camera recorded one. */
  takenAt: number | null;
  make?: string;
  model?: string;
  /** "YYYY:MM:DD HH:MM:SS" as the camera wrote it, to carry over. */
  dateTimeOriginal?: string;
}

/**
 * Reads the EXIF block sharp hands over. The capture time is DateTimeOriginal with
 * its sub-seconds; it is local to the camera, so OffsetTimeOriginal places it when
 * the camera wrote one, else the appliance time zone does (cameras on site are set
 * to local time).
 */
export function readExif(exif: Buffer | undefined, timezone: string): ExifFacts {
  if (!exif || exif.length < 8) return { takenAt: null };
  let tags: ReturnType<typeof exifReader>;
  try {
    tags = exifReader(exif);
  } catch {
    return { takenAt: null };
  }
  const facts: ExifFacts = { takenAt: null };
  const make = text(tags.Image?.Make);
  const model = text(tags.Image?.Model);
  if (make) facts.make = make;
  if (model) facts.model = model;
  const original = tags.Photo?.DateTimeOriginal ?? tags.Photo?.DateTimeDigitized;
  if (original instanceof Date && !Number.isNaN(original.getTime())) {
    // exif-reader reads the wall-clock fields as if they were UTC.
    const wall = DateTime.fromJSDate(original, { zone: 'utc' });
    const offset = text(tags.Photo?.OffsetTimeOriginal);
    const zone = offset && /^[+-]\d{2}:\d{2}$/.test(offset) ? `UTC${offset}` : timezone;
    const subSeconds = text(tags.Photo?.SubSecTimeOriginal);
    const ms = subSeconds && /^\d+$/.test(subSeconds) ? Math.round(Number(`0.${subSeconds}`) * 1000) : 0;
    const local = DateTime.fromObject(
      { year: wall.year, month: wall.month, day: wall.day, hour: wall.hour, minute: wall.minute, second: wall.second, millisecond: Math.min(999, ms) },
      { zone },
    );
    if (local.isValid && wall.year >= 1990) {
      facts.takenAt = local.toMillis();
      facts.dateTimeOriginal = wall.toFormat('yyyy:LL:dd HH:mm:ss');
    }
  }
  return facts;
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/\u0000+$/, '').trim();
  return clean.length > 0 && clean.length <= 200 ? clean : undefined;
}
