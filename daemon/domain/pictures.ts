/**
 * Pictures as the whole daemon speaks of them: what is stored, the sizes made from
 * it, and why one is kept but left out. Pure words: no I/O, no library.
 */
import type { PictureExposure } from './exposure';

/** The sizes made from a stored picture (SPEC §1); `-wm` ones carry the watermark. */
export const DERIVATIVE_KINDS = ['thumb', 'small', 'preview', 'thumb-wm', 'small-wm', 'preview-wm', 'frame', 'public'] as const;
export type DerivativeKind = (typeof DERIVATIVE_KINDS)[number];

/** Why a picture is kept but left out of videos and galleries. Camera faults also fail the capture. */
export type RejectionCode = 'corrupt' | 'too-large' | 'too-small' | 'too-dark' | 'too-bright';
export interface Rejection {
  code: RejectionCode;
  detail: string;
}
/** Rejections that mean the camera delivered something unusable, not that the scene was. */
export const CAMERA_FAULTS: ReadonlySet<RejectionCode> = new Set(['corrupt', 'too-large', 'too-small']);

/** Rejections that mean the camera delivered something unusable (the capture is failed and tried again). */
export function isCameraFault(rejection: Rejection | null): boolean {
  return rejection !== null && CAMERA_FAULTS.has(rejection.code);
}

/** A stored picture as the rest of the daemon sees it. */
export interface Picture {
  id: number;
  sourceId: string;
  takenAt: number;
  localDate: string;
  /** Relative to the data folder. */
  path: string;
  size: number;
  width: number;
  height: number;
  missing: boolean;
  /** SHA-256 of the stored file (hex); null for pictures indexed before the pipeline measured them. */
  sha256: string | null;
  exifTakenAt: number | null;
  luminance: number | null;
  /** The settings it was taken with, where lapsebox knows them (an exposure ramp, the test pattern's sensor); else null. */
  exposure: PictureExposure | null;
  /** Why the picture is left out of videos and galleries; null when it is usable. */
  rejection: Rejection | null;
  /** The sizes made for it that are on disk. */
  derivatives: DerivativeKind[];
}

/** A picture the picture store has just indexed, as those who follow it hear of it (the outbox queues it for the sync targets). */
export interface IndexedPicture {
  id: number;
  sourceId: string;
  /** Relative to the data folder. */
  path: string;
  size: number;
  takenAt: number;
  rejection: Rejection | null;
}
