import { daylightStops, feedForwardStops } from '../../daemon/capture/exposure/daylight';

describe('daylight by the sun\'s altitude', () => {
  it('goes from starlight to a high sun, always brighter as the sun rises', () => {
    expect(2 ** daylightStops(-30)).toBeCloseTo(0.0007, 6);
    expect(2 ** daylightStops(0)).toBeCloseTo(400, 6);
    expect(2 ** daylightStops(-6)).toBeCloseTo(3.4, 6);
    expect(2 ** daylightStops(90)).toBeCloseTo(110_000, 0);
    for (let alt = -25; alt < 90; alt += 0.5) expect(daylightStops(alt + 0.5)).toBeGreaterThanOrEqual(daylightStops(alt));
  });

  it('tells the ramp a dusk is coming: about 0.04 stop darker over 10 s at sunset, nothing at night or at noon', () => {
    // At sunset the sun goes down by about 0.04° in 10 s at 45° of latitude.
    const atSunset = feedForwardStops(0, -0.04);
    expect(atSunset).toBeLessThan(0);
    expect(atSunset).toBeGreaterThan(-0.1);
    expect(feedForwardStops(-25, -25.04)).toBe(0);
    expect(Math.abs(feedForwardStops(60, 60.04))).toBeLessThan(0.001);
  });
});
