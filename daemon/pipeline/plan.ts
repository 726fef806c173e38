/**
 * What the picture pipeline does to one picture, decided as data: the geometry of
 * the stored picture (orientation, rotation, crop, masks), the sizes made from it
 * and what each carries, where overlays go, and whether a picture is rejected.
 * Pure functions, so tests can check every decision value by value; the sharp
 * adapter (`picture.pipeline.ts`) only carries them out.
 */
import { DateTime } from 'luxon';
import type { SourceConfig } from '../config/schema';
import type { DerivativeKind, Rejection } from '../domain/pictures';

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Size {
  width: number;
  height: number;
}

/** The sizes kept beside every picture. `-wm` sizes carry the watermark, for customers. */
export const THUMB_WIDTH = 320;
/** The picture for a phone or a slow link: a fifth of the preview's bytes (issue 25). */
export const SMALL_WIDTH = 640;
export const PREVIEW_WIDTH = 1280;
/** Above this many pixels a picture is refused before decoding: 120 MP covers 100 MP medium format. */
export const MAX_PIXELS = 120_000_000;

export type Position = NonNullable<SourceConfig['image']['legend']>['position'];
export type ImageConfig = SourceConfig['image'];

/** How the stored picture is made from what the camera gave. */
export interface Geometry {
  /** EXIF orientation to undo (1 = none). */
  orientation: number;
  /** Clockwise degrees after the orientation. */
  rotate: 0 | 90 | 180 | 270;
  /** Area kept, in the rotated picture; null = all. */
  crop: Rect | null;
  /** Filled areas, in the coordinates of the stored picture (after crop), clipped to it. */
  masks: Rect[];
  /** Size of the stored picture. */
  size: Size;
  /** Whether the camera's file can be stored as it is (nothing to turn, cut or hide). */
  keepAsCaptured: boolean;
  /** Things a person should know: a crop or mask partly or wholly outside the picture. */
  warnings: string[];
}

/**
 * Orientation 5-8 mean the camera was turned a quarter: width and height swap.
 * Masks and crop are in the coordinates of the upright, rotated picture, the one a
 * person sees when they draw them.
 */
export function planGeometry(image: ImageConfig, captured: Size & { orientation?: number | undefined }): Geometry {
  const orientation = captured.orientation && captured.orientation >= 1 && captured.orientation <= 8 ? captured.orientation : 1;
  const quarterTurns = (orientation >= 5 ? 1 : 0) + image.rotate / 90;
  const rotated: Size = quarterTurns % 2 === 1 ? { width: captured.height, height: captured.width } : { width: captured.width, height: captured.height };
  const warnings: string[] = [];
  let crop: Rect | null = null;
  if (image.crop) {
    const clipped = intersect(image.crop, { left: 0, top: 0, ...rotated });
    if (!clipped) {
      warnings.push(`image.crop (${describeRect(image.crop)}) is outside the ${rotated.width}x${rotated.height} picture; the whole picture is kept`);
    } else {
      if (!sameRect(clipped, image.crop)) warnings.push(`image.crop (${describeRect(image.crop)}) goes beyond the ${rotated.width}x${rotated.height} picture; it was cut to ${describeRect(clipped)}`);
      if (!sameRect(clipped, { left: 0, top: 0, ...rotated })) crop = clipped;
    }
  }
  const frame: Rect = crop ?? { left: 0, top: 0, ...rotated };
  const masks: Rect[] = [];
  image.privacyMasks.forEach((mask, i) => {
    const clipped = intersect(mask, frame);
    if (!clipped) {
      warnings.push(`image.privacyMasks[${i}] (${describeRect(mask)}) is outside the stored picture and hides nothing`);
      return;
    }
    masks.push({ ...clipped, left: clipped.left - frame.left, top: clipped.top - frame.top });
  });
  return {
    orientation,
    rotate: image.rotate,
    crop,
    masks,
    size: { width: frame.width, height: frame.height },
    keepAsCaptured: orientation === 1 && image.rotate === 0 && crop === null && masks.length === 0,
    warnings,
  };
}

/** One size made from the stored picture. */
export interface OutputPlan {
  kind: DerivativeKind;
  /** Exact output size: never larger than the stored picture. */
  size: Size;
  legend: boolean;
  watermark: boolean;
  quality: number;
}

/** Width of the video frames: the widest enabled timelapse (daily when none is). */
export function frameWidth(source: SourceConfig): number {
  const kinds = [source.timelapse.daily, source.timelapse.weekly, source.timelapse.monthly];
  const enabled = kinds.filter((k) => k.enabled);
  return Math.max(...(enabled.length > 0 ? enabled : [source.timelapse.daily]).map((k) => k.width));
}

/**
 * The sizes every picture of a source gets. Customers and the public see the
 * watermark (the `-wm` sizes, the video frames and the public picture); directors
 * and maintainers see `thumb`, `small` and `preview` without it (SPEC §4).
 */
export function planOutputs(source: SourceConfig, stored: Size): OutputPlan[] {
  const watermark = source.image.watermark !== undefined;
  const legend = source.image.legend !== undefined;
  const out: OutputPlan[] = [
    { kind: 'thumb', size: scaledTo(stored, THUMB_WIDTH), legend: false, watermark: false, quality: 80 },
    { kind: 'small', size: scaledTo(stored, SMALL_WIDTH), legend, watermark: false, quality: 80 },
    { kind: 'preview', size: scaledTo(stored, PREVIEW_WIDTH), legend, watermark: false, quality: 82 },
  ];
  if (watermark) {
    out.push({ kind: 'thumb-wm', size: scaledTo(stored, THUMB_WIDTH), legend: false, watermark: true, quality: 80 });
    out.push({ kind: 'small-wm', size: scaledTo(stored, SMALL_WIDTH), legend, watermark: true, quality: 80 });
    out.push({ kind: 'preview-wm', size: scaledTo(stored, PREVIEW_WIDTH), legend, watermark: true, quality: 82 });
  }
  out.push({ kind: 'frame', size: evenSize(scaledTo(stored, frameWidth(source))), legend, watermark, quality: 88 });
  if (source.public.enabled) out.push({ kind: 'public', size: scaledTo(stored, source.public.width), legend, watermark, quality: 82 });
  return out;
}

/** The plan of one size alone, to make it again later from the stored picture. */
export function planOutput(source: SourceConfig, stored: Size, kind: DerivativeKind): OutputPlan {
  const watermark = source.image.watermark !== undefined;
  const all = planOutputs({ ...source, public: { ...source.public, enabled: true } }, stored);
  const found = all.find((o) => o.kind === kind);
  if (found) return found;
  // A -wm size asked for when no watermark is configured is the plain size.
  const plain = all.find((o) => o.kind === kind.replace(/-wm$/, ''))!;
  return { ...plain, kind, watermark };
}

/**
 * The public picture at one of `public.sizes`: the `public` size (legend, watermark,
 * quality) at another width, never wider than the stored picture.
 */
export function planPublicWidth(source: SourceConfig, stored: Size, width: number): OutputPlan {
  return { ...planOutput(source, stored, 'public'), size: scaledTo(stored, width) };
}

/** `size` scaled down to `width` (never up), keeping the aspect ratio. */
export function scaledTo(size: Size, width: number): Size {
  if (width >= size.width) return { ...size };
  return { width, height: Math.max(1, Math.round((size.height * width) / size.width)) };
}

/** Video encoders (yuv420p) need even sides; losing one row or column is invisible. */
export function evenSize(size: Size): Size {
  return { width: Math.max(2, size.width - (size.width % 2)), height: Math.max(2, size.height - (size.height % 2)) };
}

/** The legend text for a picture taken at `at`, in the appliance time zone. */
export function legendText(template: string, values: { source: SourceConfig; applianceId: string; at: number; timezone: string }): string {
  const t = DateTime.fromMillis(values.at, { zone: values.timezone });
  const fields: Record<string, string> = {
    source: values.source.name ?? values.source.id,
    id: values.source.id,
    appliance: values.applianceId,
    date: t.toFormat('yyyy-LL-dd'),
    time: t.toFormat('HH:mm:ss'),
  };
  return template.replace(/\{([a-z]+)\}/g, (whole, name: string) => fields[name] ?? whole);
}

/** Legend type size for an output width: readable on a phone at 1280, discreet at 1920. */
export function legendFontSize(outputWidth: number): number {
  return Math.max(10, Math.round(outputWidth * 0.018));
}

/** Space between an overlay and the picture's edge. */
export function overlayMargin(outputWidth: number): number {
  return Math.max(2, Math.round(outputWidth * 0.012));
}

/** Top-left corner of an overlay of `item` size at `position` on `canvas`, `margin` from the edges. */
export function placeOverlay(position: Position, canvas: Size, item: Size, margin: number): { left: number; top: number } {
  const x = { left: margin, center: Math.round((canvas.width - item.width) / 2), right: canvas.width - item.width - margin };
  const y = { top: margin, middle: Math.round((canvas.height - item.height) / 2), bottom: canvas.height - item.height - margin };
  const [v, h] = ((): [keyof typeof y, keyof typeof x] => {
    switch (position) {
      case 'top-left':
        return ['top', 'left'];
      case 'top-right':
        return ['top', 'right'];
      case 'bottom-left':
        return ['bottom', 'left'];
      case 'bottom-right':
        return ['bottom', 'right'];
      case 'top':
        return ['top', 'center'];
      case 'bottom':
        return ['bottom', 'center'];
      case 'center':
        return ['middle', 'center'];
    }
  })();
  return {
    left: clamp(x[h], 0, Math.max(0, canvas.width - item.width)),
    top: clamp(y[v], 0, Math.max(0, canvas.height - item.height)),
  };
}

/** Watermark size on an output: `scale` of its width, aspect kept, never taller than a third of it. */
export function watermarkSize(output: Size, watermark: Size, scale: number): Size {
  let width = Math.max(1, Math.round(output.width * scale));
  let height = Math.max(1, Math.round((watermark.height * width) / watermark.width));
  const maxHeight = Math.max(1, Math.floor(output.height / 3));
  if (height > maxHeight) {
    width = Math.max(1, Math.round((watermark.width * maxHeight) / watermark.height));
    height = maxHeight;
  }
  return { width, height };
}

/** Mean luminance (Rec. 709 weights, 0-255) from the mean of each channel. */
export function meanLuminance(channelMeans: readonly number[]): number {
  if (channelMeans.length < 3) return channelMeans[0] ?? 0;
  return 0.2126 * channelMeans[0]! + 0.7152 * channelMeans[1]! + 0.0722 * channelMeans[2]!;
}

/** The rejection, if any, of a picture that decoded fine. */
export function judge(picture: Size & { luminance: number }, reject: ImageConfig['reject']): Rejection | null {
  if (picture.width < reject.minWidth || picture.height < reject.minHeight) {
    return { code: 'too-small', detail: `${picture.width}x${picture.height} is smaller than ${reject.minWidth}x${reject.minHeight} (image.reject.minWidth, minHeight)` };
  }
  const lum = Math.round(picture.luminance * 10) / 10;
  if (reject.darkerThan !== undefined && picture.luminance < reject.darkerThan) {
    return { code: 'too-dark', detail: `mean luminance ${lum} is below ${reject.darkerThan} (image.reject.darkerThan)` };
  }
  if (reject.brighterThan !== undefined && picture.luminance > reject.brighterThan) {
    return { code: 'too-bright', detail: `mean luminance ${lum} is above ${reject.brighterThan} (image.reject.brighterThan)` };
  }
  return null;
}

/** A decompression bomb or a sensor no camera has: refused before any pixel is decoded. */
export function tooLarge(size: Size): Rejection | null {
  const pixels = size.width * size.height;
  if (pixels <= MAX_PIXELS) return null;
  return { code: 'too-large', detail: `${size.width}x${size.height} (${Math.round(pixels / 1e6)} MP) is above the limit of ${MAX_PIXELS / 1e6} MP` };
}

function intersect(a: Rect, b: Rect): Rect | null {
  const left = Math.max(a.left, b.left);
  const top = Math.max(a.top, b.top);
  const right = Math.min(a.left + a.width, b.left + b.width);
  const bottom = Math.min(a.top + a.height, b.top + b.height);
  return right > left && bottom > top ? { left, top, width: right - left, height: bottom - top } : null;
}

function sameRect(a: Rect, b: Rect): boolean {
  return a.left === b.left && a.top === b.top && a.width === b.width && a.height === b.height;
}

function describeRect(r: Rect): string {
  return `${r.width}x${r.height} at ${r.left},${r.top}`;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
