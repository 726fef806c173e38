/**
 * What the picture looks like at one instant: where the sun is, the sky colours, the cloud
 * cover, how bright the scene is lit and how noisy the sensor gets. Pure: computed once per
 * frame from the time and the place, before any pixel is touched.
 */
import { baseShift, LAYOUT } from './layout';
import { clamp01, smoothstep, type Rgb } from './math';
import { hashString } from './noise';

import { sunAltitude } from '../sun';

/** The parts of the camera's options the light depends on: frame size and where it stands. */
export interface Viewpoint {
  width: number;
  height: number;
  /** IANA zone; without `location`, the time of day is read on this clock. */
  timezone: string;
  location?: { latitude: number; longitude: number };
}

export interface Look {
  timeMs: number;
  /** Sky colour per output row (r, g, b interleaved). */
  skyRows: Float32Array;
  /** How much cloud shows per output row: haze flattens clouds towards the horizon. */
  cloudFade: Float32Array;
  cloud: Rgb;
  cloudAlpha: Float32Array;
  cloudShade: Float32Array;
  cloudOffset: number;
  ambient: Rgb;
  /** 0..1: lit windows, headlights, aviation lights. */
  lights: number;
  stars: number;
  /** Sensor noise sigma, in 8-bit levels: the gain goes up in the dark. */
  noise: number;
  /** The simulated sensor's factor on the look (sensor.ts): 1 is exposed as a camera's auto would. */
  exposure: number;
  noiseSeed: number;
}

interface Key {
  e: number;
  zenith: Rgb;
  horizon: Rgb;
  cloud: Rgb;
  ambient: Rgb;
  lights: number;
  stars: number;
  noise: number;
}

/** Keyframes by sun elevation in degrees: night, blue hour, golden hour, day. */
const KEYS: readonly Key[] = [
  { e: -90, zenith: [2, 3, 8], horizon: [14, 12, 20], cloud: [24, 19, 22], ambient: [0.05, 0.05, 0.07], lights: 1, stars: 1, noise: 7 },
  { e: -18, zenith: [2, 3, 8], horizon: [14, 12, 20], cloud: [24, 19, 22], ambient: [0.05, 0.05, 0.07], lights: 1, stars: 1, noise: 7 },
  { e: -12, zenith: [6, 9, 24], horizon: [34, 30, 48], cloud: [38, 31, 40], ambient: [0.08, 0.08, 0.11], lights: 1, stars: 0.6, noise: 6.5 },
  { e: -6, zenith: [22, 34, 78], horizon: [120, 80, 90], cloud: [92, 62, 76], ambient: [0.16, 0.15, 0.2], lights: 0.9, stars: 0.1, noise: 5 },
  { e: -2, zenith: [45, 70, 130], horizon: [235, 130, 80], cloud: [205, 112, 92], ambient: [0.32, 0.27, 0.28], lights: 0.6, stars: 0, noise: 4 },
  { e: 2, zenith: [60, 100, 170], horizon: [250, 170, 110], cloud: [255, 175, 125], ambient: [0.55, 0.45, 0.38], lights: 0.25, stars: 0, noise: 3.2 },
  { e: 8, zenith: [70, 120, 195], horizon: [240, 200, 160], cloud: [250, 218, 188], ambient: [0.78, 0.7, 0.6], lights: 0.05, stars: 0, noise: 2.8 },
  { e: 20, zenith: [60, 125, 215], horizon: [195, 212, 232], cloud: [246, 243, 239], ambient: [0.95, 0.92, 0.88], lights: 0, stars: 0, noise: 2.5 },
  { e: 45, zenith: [48, 118, 225], horizon: [172, 202, 240], cloud: [252, 252, 252], ambient: [1.08, 1.06, 1.03], lights: 0, stars: 0, noise: 2.2 },
  { e: 90, zenith: [48, 118, 225], horizon: [172, 202, 240], cloud: [252, 252, 252], ambient: [1.08, 1.06, 1.03], lights: 0, stars: 0, noise: 2.2 },
];

function keyAt(elevation: number): Key {
  let i = 1;
  while (i < KEYS.length - 1 && KEYS[i].e < elevation) i++;
  const a = KEYS[i - 1];
  const b = KEYS[i];
  const t = clamp01((elevation - a.e) / (b.e - a.e));
  const mix = (p: number, q: number): number => p + (q - p) * t;
  const mixRgb = (p: Rgb, q: Rgb): Rgb => [mix(p[0], q[0]), mix(p[1], q[1]), mix(p[2], q[2])];
  return {
    e: elevation,
    zenith: mixRgb(a.zenith, b.zenith),
    horizon: mixRgb(a.horizon, b.horizon),
    cloud: mixRgb(a.cloud, b.cloud),
    ambient: mixRgb(a.ambient, b.ambient),
    lights: mix(a.lights, b.lights),
    stars: mix(a.stars, b.stars),
    noise: mix(a.noise, b.noise),
  };
}

/** Everything that depends on the instant; `seed` (from the source id) varies the weather per camera. */
export function lookAt(at: Date, options: Viewpoint, seed: number): Look {
  const { width: W, height: H } = options;
  const timeMs = at.getTime();
  const key = keyAt(sunAltitude(at, options));
  const horizonY = Math.max(1, LAYOUT.groundLine * H);

  const skyRows = new Float32Array(H * 3);
  const cloudFade = new Float32Array(H);
  for (let y = 0; y < H; y++) {
    const t = Math.min(1, y / horizonY);
    const g = Math.pow(t, 1.6);
    for (let c = 0; c < 3; c++) skyRows[y * 3 + c] = key.zenith[c] + (key.horizon[c] - key.zenith[c]) * g;
    cloudFade[y] = 1 - 0.55 * t * t;
  }

  // The weather changes slowly: cover drifts between clear and overcast over days and hours.
  const hours = timeMs / 3_600_000;
  const cover = clamp01(0.42 + 0.25 * Math.sin((2 * Math.PI * hours) / 65 + seed % 7) + 0.12 * Math.sin((2 * Math.PI * hours) / 9.1));
  const threshold = 0.78 - 0.5 * cover;
  const cloudAlpha = new Float32Array(256);
  const cloudShade = new Float32Array(256);
  for (let d = 0; d < 256; d++) {
    const v = d / 255;
    cloudAlpha[d] = smoothstep(threshold, threshold + 0.22, v);
    cloudShade[d] = 1 - 0.2 * smoothstep(threshold + 0.12, threshold + 0.45, v);
  }

  const baseWidth = W >> baseShift(W, H);
  // Clouds cross the frame in about a quarter of an hour.
  const cloudOffset = Math.floor(((timeMs / 1000) * baseWidth) / 900) % baseWidth;

  return {
    timeMs,
    skyRows,
    cloudFade,
    cloud: key.cloud,
    cloudAlpha,
    cloudShade,
    cloudOffset: cloudOffset < 0 ? cloudOffset + baseWidth : cloudOffset,
    ambient: key.ambient,
    lights: key.lights,
    stars: key.stars,
    noise: key.noise,
    exposure: 1,
    noiseSeed: (hashString(String(timeMs)) ^ seed) | 1,
  };
}
