/**
 * Where the scene's fixed parts are and at what resolution the base scene is held: read by
 * the landscape that draws them, the light that fades the sky down to the ground line and
 * the overlays that move along the lanes, so all agree on one picture.
 */

/** Above this many pixels the base scene is kept at half resolution: a 6000x4000 full-res
 *  base would cost ~100 MB on a box with 1-2 GB, and the per-frame grain hides the loss. */
const FULL_RES_BASE_MAX_PIXELS = 4_200_000;

/** Where the scene's fixed parts are, as fractions of the frame, so every size looks alike. */
export const LAYOUT = {
  groundLine: 0.655,
  craneX: 0.705,
  craneTop: 0.17,
  siteLeft: 0.62,
  siteRight: 0.79,
  siteTop: 0.47,
  fenceTop: 0.745,
  fenceBottom: 0.79,
  roadTop: 0.8,
  laneLine: 0.842,
  roadBottom: 0.885,
  walkBottom: 0.91,
  farLane: 0.836,
  nearLane: 0.879,
} as const;

/** 1 when the base scene is held at half resolution, 0 at full resolution. */
export function baseShift(width: number, height: number): number {
  return width * height > FULL_RES_BASE_MAX_PIXELS ? 1 : 0;
}
