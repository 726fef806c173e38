/**
 * Where the sun stands, for what a camera sees: the test pattern's light and the exposure
 * ramp's feed-forward (issue 27). The schedule's sunrise and sunset live in the schedule;
 * this is the altitude at one instant.
 */
import type * as SunCalc from 'suncalc' with { 'resolution-mode': 'import' };
import { DateTime } from 'luxon';

// suncalc 2 ships as an ES module with a CommonJS build; TypeScript's node16 resolution
// only sees the ESM typings, so the CommonJS build is loaded explicitly.
const { getPosition } = require('suncalc') as typeof SunCalc;

/** Where a camera stands: with a location the real sun; without, a sun of the time zone's clock. */
export interface SunPlace {
  /** IANA zone; without `location`, the time of day is read on this clock. */
  timezone: string;
  location?: { latitude: number; longitude: number } | undefined;
}

/** The sun's altitude in degrees (refraction included); negative below the horizon. */
export function sunAltitude(at: Date, place: SunPlace): number {
  if (place.location) {
    // suncalc 2 answers in degrees.
    return getPosition(at, place.location.latitude, place.location.longitude).altitude;
  }
  // Without a place: sunrise at 6, sunset at 18, a higher noon sun in June.
  const local = DateTime.fromJSDate(at, { zone: place.timezone });
  const hour = local.hour + local.minute / 60 + local.second / 3600;
  const noon = 40 + 20 * Math.cos((2 * Math.PI * (local.ordinal - 172)) / 365.25);
  return noon * Math.sin((2 * Math.PI * (hour - 6)) / 24);
}
