/**
 * How the light outdoors follows the sun's altitude, for the ramp's feed-forward (issue 27):
 * the ramp learns the scene's level from the frames, and this says how much it will change
 * before the next one, so that a dusk is followed without lagging behind it.
 *
 * Illuminance on the ground under a clear sky, by the sun's altitude (refraction included,
 * as suncalc gives it): about 100,000 lux at a high sun, 400 lux at sunset, 3.4 lux at the
 * end of civil twilight (−6°), 0.008 lux at −12° and starlight (0.0007 lux) at −18°
 * (the usual figures of the almanacs, e.g. the U.S. Naval Observatory's). Linear in the
 * logarithm between those points. Only a frame's change is used: over 10 s at dusk it is a
 * few hundredths of a stop, so a lit site at night, which the model does not know, costs
 * the ramp no more than that.
 */
const POINTS: readonly (readonly [altitude: number, log10Lux: number])[] = [
  [-18, Math.log10(0.0007)],
  [-12, Math.log10(0.008)],
  [-6, Math.log10(3.4)],
  [-3, Math.log10(40)],
  [0, Math.log10(400)],
  [5, Math.log10(5_000)],
  [10, Math.log10(15_000)],
  [20, Math.log10(40_000)],
  [40, Math.log10(80_000)],
  [90, Math.log10(110_000)],
];

/** The light outdoors at a sun altitude (degrees), in stops (log2 of lux); flat below −18° and above 90°. */
export function daylightStops(altitude: number): number {
  const first = POINTS[0]!;
  const last = POINTS.at(-1)!;
  if (altitude <= first[0]) return first[1] * Math.log2(10);
  if (altitude >= last[0]) return last[1] * Math.log2(10);
  for (let i = 1; i < POINTS.length; i++) {
    const [a1, l1] = POINTS[i]!;
    const [a0, l0] = POINTS[i - 1]!;
    if (altitude <= a1) return (l0 + ((altitude - a0) / (a1 - a0)) * (l1 - l0)) * Math.log2(10);
  }
  return last[1] * Math.log2(10);
}

/** How much brighter (+) or darker (−) in stops the light will be at `next` than at `now` (sun altitudes, degrees). */
export function feedForwardStops(now: number, next: number): number {
  return daylightStops(next) - daylightStops(now);
}
