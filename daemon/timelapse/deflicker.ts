/**
 * Deflicker without holding frames (issue 23). ffmpeg's `deflicker` filter keeps 15 decoded
 * frames queued (52 MB at 1080p: ffmpeg's peak 246 MB against 195 MB without it) to measure
 * their brightness before it lets the first one go. lapsebox knows each frame's brightness
 * before the encode starts: the pipeline measured it on the picture (masks included, legend
 * and watermark not), so each frame's factor is computed here and reaches ffmpeg with the
 * ramp's gains (evening.ts, `sendcmd` + `lutyuv`), and ffmpeg holds no frame.
 *
 * The arithmetic mean over 15 frames that ffmpeg's mode=am takes, with three differences,
 * each an improvement on what it replaces:
 * - the window is centred on the frame (ffmpeg's runs 14 frames ahead, which moves a dusk's
 *   fall of light 7 frames early), except at the film's first and last 7 frames, which
 *   take the first or the last 15;
 * - the brightness is the picture's, not the frame's once letterboxed (a frame of another
 *   shape is not brightened for its black bars) nor with the legend's constant box;
 * - the factor is at most 2 either way, and a black frame (mean under 1) keeps its own: ffmpeg
 *   divides by the frame's mean, so a night frame among lit ones was multiplied tenfold.
 * Pure: numbers in, numbers out.
 */

/** Frames the mean of each frame's neighbourhood is taken over (what ffmpeg's deflicker used, measured in the timelapse tests). */
export const DEFLICKER_WINDOW = 15;
/** The largest factor either way: flicker is a fraction of a stop; more is the scene itself. */
export const DEFLICKER_MAX_FACTOR = 2;
/** Under this mean luminance (0-255) a frame is black: nothing to scale, and its neighbours' mean would blow it up. */
const BLACK = 1;

/**
 * Each frame's factor on its luma (Y′, as ffmpeg's deflicker applies it): the mean luminance
 * of the frames around it (DEFLICKER_WINDOW of them, centred where the film allows) over its own. A frame whose
 * luminance is not known (null) gets 1 and does not count in its neighbours' mean.
 */
export function deflickerFactors(luminance: readonly (number | null)[], window = DEFLICKER_WINDOW): number[] {
  const n = luminance.length;
  const reach = Math.floor((window - 1) / 2);
  // Prefix sums of the known values and of how many there are: each window's mean in O(1).
  const sum = new Float64Array(n + 1);
  const count = new Uint32Array(n + 1);
  luminance.forEach((l, i) => {
    sum[i + 1] = sum[i]! + (l ?? 0);
    count[i + 1] = count[i]! + (l === null ? 0 : 1);
  });
  return luminance.map((own, i) => {
    if (own === null || own < BLACK) return 1;
    // The window around the frame; at the film's ends, the first or the last `window` frames.
    const first = Math.max(0, Math.min(i - reach, n - window));
    const end = Math.min(n, first + window);
    const known = count[end]! - count[first]!;
    const mean = (sum[end]! - sum[first]!) / known;
    return Math.min(DEFLICKER_MAX_FACTOR, Math.max(1 / DEFLICKER_MAX_FACTOR, mean / own));
  });
}
