/**
 * The names of things in the data folder (SPEC §1): files the database and the
 * control socket take, temporary files, pictures named by their UTC instant, the
 * files kept beside a picture, video labels. Pure: `files/layout.ts` joins them
 * into paths, the picture store and sync read them back.
 */
import { DateTime } from 'luxon';

export const DATABASE_FILE = 'lapsebox.db';
export const CONTROL_SOCKET = 'lapsebox.sock';
/** Temporary files start with this, so the reconciliation knows them and nothing serves them. */
export const TEMP_PREFIX = '.tmp-';

const PICTURE_NAME = /^(\d{8})T(\d{6})(\d{3})Z\.jpg$/;
/** A file kept beside a picture, with its name and another extension (the RAW file of the shot). */
const COMPANION_NAME = /^\d{8}T\d{9}Z\.[a-z0-9]{2,4}$/;

/** Names of video files: letters, digits, "-", "_" and ".", never a path. */
export const VIDEO_LABEL = /^[0-9A-Za-z][0-9A-Za-z_.-]{0,99}$/;
/** A film's phone rendition is `<label>.phone.mp4` beside `<label>.mp4`; no label ends so. */
export const PHONE_SUFFIX = '.phone';

/** Local calendar date (YYYY-MM-DD) of an instant in the appliance time zone. */
export function localDate(at: number, timezone: string): string {
  return DateTime.fromMillis(at, { zone: timezone }).toISODate()!;
}

/**
 * File name of a picture: its UTC instant to the millisecond. UTC, so names sort
 * by time and never repeat across a DST change, when local clock times do.
 */
export function pictureFileName(at: number): string {
  return `${DateTime.fromMillis(at, { zone: 'utc' }).toFormat("yyyyLLdd'T'HHmmssSSS'Z'")}.jpg`;
}

/** The instant a picture file name stands for, or null for any other name. */
export function parsePictureFileName(name: string): number | null {
  const m = PICTURE_NAME.exec(name);
  if (!m) return null;
  const t = DateTime.fromFormat(`${m[1]}${m[2]}${m[3]}`, 'yyyyLLddHHmmssSSS', { zone: 'utc' });
  return t.isValid ? t.toMillis() : null;
}

/** The name of a file of the same shot as a picture, with another extension: 20261123T101500000Z.cr2. */
export function companionFileName(pictureName: string, extension: string): string {
  return pictureName.replace(/\.jpg$/, `.${extension}`);
}

export function isCompanionFileName(name: string): boolean {
  return COMPANION_NAME.test(name) && !name.endsWith('.jpg');
}
