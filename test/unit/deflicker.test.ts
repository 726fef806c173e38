import { DEFLICKER_MAX_FACTOR, DEFLICKER_WINDOW, deflickerFactors } from '../../daemon/timelapse/deflicker';

/** A repeatable ±amount flicker (a small LCG, not Math.random). */
function flicker(n: number, amount: number, seed = 7): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return 1 + amount * (2 * (x / 2 ** 31) - 1);
  });
}
const meanStep = (v: readonly number[]) => v.slice(1).reduce((sum, x, i) => sum + Math.abs(x - v[i]!), 0) / (v.length - 1);

describe('deflicker factors (no frame held by ffmpeg)', () => {
  it("evens out an auto-exposing camera's jumps: the frame-to-frame change drops by more than 80 %", () => {
    const lum = flicker(200, 0.2).map((g) => 100 * g);
    const after = deflickerFactors(lum).map((f, i) => lum[i]! * f);
    expect(meanStep(lum)).toBeGreaterThan(10);
    expect(meanStep(after)).toBeLessThan(0.2 * meanStep(lum));
  });

  it('keeps the light of the day: a steady dusk is left as it is (the window is centred, so nothing moves early)', () => {
    const dusk = Array.from({ length: 100 }, (_, i) => 200 - i);
    const factors = deflickerFactors(dusk);
    for (const f of factors.slice(7, 93)) expect(f).toBeCloseTo(1, 9);
    // ffmpeg's window ran 14 frames ahead: every frame of a dusk darkened by 7 frames' fall (3.5 % here, more at night).
    // Only the film's first frames do so here, from the window of its first 15.
    expect(factors[0]).toBeCloseTo(193 / 200, 9);
  });

  it('takes the mean of the 15 frames around each one; at the ends, of the first or last 15', () => {
    const lum = Array.from({ length: 40 }, () => 100);
    lum[20] = 200;
    const factors = deflickerFactors(lum);
    expect(DEFLICKER_WINDOW).toBe(15);
    // The spike is brought to its neighbourhood's mean: (14 × 100 + 200) / 15.
    expect(factors[20]).toBeCloseTo((14 * 100 + 200) / 15 / 200, 9);
    // Its neighbours within 7 frames see it in their mean; the 8th does not.
    expect(factors[13]).toBeCloseTo((14 * 100 + 200) / 15 / 100, 9);
    expect(factors[12]).toBe(1);
    // A flicker in the film's first frames is evened out too.
    const start = [130, 70].concat(Array.from({ length: 20 }, () => 100));
    const e = deflickerFactors(start);
    expect(e[0]).toBeCloseTo(100 / 130, 9);
    expect(e[1]).toBeCloseTo(100 / 70, 9);
    // A film shorter than the window: the mean of all its frames.
    expect(deflickerFactors([90, 110])).toEqual([100 / 90, 100 / 110]);
  });

  it("gives frames of unknown brightness nothing, and leaves them out of their neighbours' mean", () => {
    const factors = deflickerFactors([100, null, 100, 130, 100, null, 100]);
    expect(factors[1]).toBe(1);
    expect(factors[5]).toBe(1);
    // Frame 3's window is all 7 frames; the 5 known ones average 106.
    expect(factors[3]).toBeCloseTo(106 / 130, 9);
  });

  it('never blows up a black frame nor scales a frame by more than a factor of 2', () => {
    const night = Array.from({ length: 30 }, () => 120) as number[];
    night[10] = 0.4; // a black frame among lit ones
    night[20] = 20; // a dark one: ffmpeg's deflicker would scale it by 5
    night[25] = 250;
    const factors = deflickerFactors(night);
    expect(factors[10]).toBe(1);
    expect(factors[20]).toBe(DEFLICKER_MAX_FACTOR);
    expect(factors[25]).toBeGreaterThanOrEqual(1 / DEFLICKER_MAX_FACTOR);
    expect(factors[25]).toBeLessThan(0.6);
    expect(deflickerFactors([])).toEqual([]);
  });
});
