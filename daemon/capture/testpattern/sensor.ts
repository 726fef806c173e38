/**
 * The test pattern's simulated sensor (issue 27): how bright a frame comes out for the
 * shutter, ISO and aperture it is taken with, against the light of the scene, which
 * follows the sun. Without settings the test pattern is exposed as a camera's own auto
 * would (light.ts's look); with them, that look is scaled by how far the settings stand
 * from what the auto would have picked, and clips at black and white like a sensor.
 *
 * The scene's light is the daylight model of the ramp's feed-forward (about 27 stops from
 * a high sun to a starlit night) plus the site's own lamps, which light it at night as a
 * construction site is lit (about 20 lux); the look already dims the night by its ambient factor,
 * so the auto's settings are the reference minus the light lost, plus that dimming. At
 * the reference (a sun 45° high) 1/250 s at f/11 and ISO 100 (EV 15, "sunny 16") gives
 * the look as it is.
 */
import { SRGB_GAMMA, choicesOf, stopsOf, type Choices, type Settings } from '../../domain/exposure';
import { daylightStops } from '../exposure/daylight';
import type { Rgb } from './math';

const REFERENCE_ALTITUDE = 45;
/** EV 15 at ISO 100: 1/250 s at f/11. */
const REFERENCE_STOPS = -15;
/** The look's ambient at the reference (light.ts's day keys). */
const DAY_AMBIENT = (1.08 + 1.06 + 1.03) / 3;
/** The site's lamps, in lux: what is left of the light once the sky is dark. */
const SITE_LAMPS_LUX = 20;

/** The light on the scene at a sun altitude, in stops (log2 of lux): the sky's and the lamps'. */
export function sceneStops(altitude: number): number {
  return Math.log2(Math.pow(2, daylightStops(altitude)) + SITE_LAMPS_LUX);
}

/** A DSLR's third-stop scales: 1/8000 s to 30 s, ISO 100 to 25600, f/2.8 to f/22. */
export const SENSOR_CHOICES: Choices = {
  shutter: choicesOf('shutter', [
    '1/8000', '1/6400', '1/5000', '1/4000', '1/3200', '1/2500', '1/2000', '1/1600', '1/1250', '1/1000', '1/800', '1/640', '1/500', '1/400', '1/320', '1/250', '1/200', '1/160', '1/125', '1/100', '1/80', '1/60', '1/50', '1/40', '1/30', '1/25', '1/20', '1/15', '1/13', '1/10', '1/8', '1/6', '1/5', '1/4',
    '0.3', '0.4', '0.5', '0.6', '0.8', '1', '1.3', '1.6', '2', '2.5', '3.2', '4', '5', '6', '8', '10', '13', '15', '20', '25', '30',
  ]),
  iso: choicesOf('iso', ['100', '125', '160', '200', '250', '320', '400', '500', '640', '800', '1000', '1250', '1600', '2000', '2500', '3200', '4000', '5000', '6400', '8000', '10000', '12800', '16000', '20000', '25600']),
  aperture: choicesOf('aperture', ['f/2.8', 'f/3.2', 'f/3.5', 'f/4', 'f/4.5', 'f/5', 'f/5.6', 'f/6.3', 'f/7.1', 'f/8', 'f/9', 'f/10', 'f/11', 'f/13', 'f/14', 'f/16', 'f/18', 'f/20', 'f/22']),
};

/** The simulated camera's settings before any are asked: 1/250 s, ISO 100, f/8. */
export const SENSOR_START: Settings = { shutter: 1 / 250, iso: 100, aperture: 8 };

/**
 * The factor on the look's (sRGB-encoded) pixels for frames taken with `settings` when the
 * sun stands at `altitude` and the look's ambient light is `ambient`: 1 where the settings
 * are the auto's, twice the light per stop above them (2^(1/2.2) on encoded values).
 */
export function sensorGain(settings: Settings, altitude: number, ambient: Rgb): number {
  const dimming = Math.log2((ambient[0] + ambient[1] + ambient[2]) / 3 / DAY_AMBIENT);
  const autoStops = REFERENCE_STOPS - (sceneStops(altitude) - sceneStops(REFERENCE_ALTITUDE)) + dimming;
  return Math.pow(2, (stopsOf(settings) - autoStops) / SRGB_GAMMA);
}
