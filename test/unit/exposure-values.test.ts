import { choicesOf, parseAperture, parseIso, parseShutter, stopsOf } from '../../daemon/domain/exposure';

describe('exposure values as cameras spell them', () => {
  it('reads shutter speeds in each spelling, and nothing from Bulb, Time or Auto', () => {
    expect(parseShutter('1/250')).toBeCloseTo(0.004);
    expect(parseShutter('1/3.2')).toBeCloseTo(0.3125);
    expect(parseShutter('0.0500s')).toBeCloseTo(0.05);
    expect(parseShutter('30')).toBe(30);
    expect(parseShutter('2.5"')).toBe(2.5);
    expect(parseShutter('1/8000s')).toBeCloseTo(0.000125);
    for (const none of ['Bulb', 'bulb', 'Time', 'Auto', '', '0', '1/0', 'x1/250']) expect(parseShutter(none)).toBeNull();
  });

  it('reads apertures as f-number or Canon number, and ISO with or without its word', () => {
    expect(parseAperture('f/8')).toBe(8);
    expect(parseAperture('f/2.8')).toBe(2.8);
    expect(parseAperture('5.6')).toBe(5.6);
    expect(parseAperture('implicit auto')).toBeNull();
    expect(parseIso('100')).toBe(100);
    expect(parseIso('ISO 3200')).toBe(3200);
    for (const none of ['Auto', 'Auto ISO', 'Hi 1', '']) expect(parseIso(none)).toBeNull();
  });

  it('keeps the choices that are values, darkest first, each value once', () => {
    // The virtual camera's list, and a Canon's with Bulb and a value spelled twice.
    expect(choicesOf('shutter', ['1.0000s', '0.1000s', '0.0500s', '0.0100s']).map((c) => c.label)).toEqual(['0.0100s', '0.0500s', '0.1000s', '1.0000s']);
    expect(choicesOf('shutter', ['bulb', '30', '1/4', '0.25', '1/4000']).map((c) => c.label)).toEqual(['1/4000', '1/4', '30']);
    expect(choicesOf('aperture', ['f/2.8', 'f/8', 'f/22']).map((c) => c.value)).toEqual([22, 8, 2.8]);
    expect(choicesOf('iso', ['Auto', '100', '200', '6400']).map((c) => c.value)).toEqual([100, 200, 6400]);
  });

  it('counts the light in stops: twice the time, twice the ISO or one stop wider each add one', () => {
    const base = stopsOf({ shutter: 1 / 100, iso: 100, aperture: 8 });
    expect(stopsOf({ shutter: 1 / 50, iso: 100, aperture: 8 }) - base).toBeCloseTo(1);
    expect(stopsOf({ shutter: 1 / 100, iso: 200, aperture: 8 }) - base).toBeCloseTo(1);
    expect(stopsOf({ shutter: 1 / 100, iso: 100, aperture: 5.657 }) - base).toBeCloseTo(1, 2);
    // Printed values count for their nominal place: each third-stop detent is a third of a stop.
    const detents = ['1/160', '1/125', '1/100', '1/80', '1/60', '1/50', '1/40', '1/30'].map((l) => stopsOf({ shutter: parseShutter(l)!, iso: null, aperture: null }));
    for (let i = 1; i < detents.length; i++) expect(detents[i]! - detents[i - 1]!).toBeCloseTo(1 / 3, 9);
    expect(stopsOf({ shutter: 1 / 90, iso: null, aperture: null })).toBeCloseTo(-6.5, 9);
    // A camera without ISO or aperture control: the shutter alone.
    expect(stopsOf({ shutter: 1, iso: null, aperture: null })).toBe(0);
  });
});
