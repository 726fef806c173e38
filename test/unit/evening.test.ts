import { EVENING_REACH_MS, GAMMA_RESPONSE, evenOut, frameFactors, gainCommands, responseOf } from '../../daemon/timelapse/evening';
import { filterValue, videoFilters, type EncodeSettings } from '../../daemon/timelapse/encode-args';

describe("frames evened out before the film (an exposure ramp's steps)", () => {
  const at = (i: number) => Date.parse('2026-12-07T16:00:00Z') + i * 10_000;

  it("gives each frame the difference between its settings' EV and the mean of its neighbours': a staircase becomes a slope", () => {
    // A ramp a third of a stop every 5 frames: EV 9, 9, 9, 9, 9, 8.67, ...
    const ev = Array.from({ length: 60 }, (_, i) => 9 - Math.floor(i / 5) / 3);
    const gains = evenOut(ev.map((e, i) => ({ takenAt: at(i), ev: e })));
    // The settings plus their gain (in light: fewer EV is more light) fall evenly in the middle.
    const corrected = ev.map((e, i) => e - gains[i]!);
    const middle = corrected.slice(10, 50);
    const steps = middle.slice(1).map((c, i) => middle[i]! - c);
    for (const s of steps) expect(s).toBeCloseTo(1 / 15, 2);
    // Small gains: never more than half a step here.
    expect(Math.max(...gains.map(Math.abs))).toBeLessThanOrEqual(1 / 6 + 0.01);
    // No gain at the ends (no window on one side) nor where the settings do not move.
    expect(gains[0]).toBe(0);
    expect(gains.at(-1)).toBe(0);
    expect(evenOut(Array.from({ length: 20 }, (_, i) => ({ takenAt: at(i), ev: 12 })))).toEqual(Array(20).fill(0));
  });

  it('leaves frames without settings, and frames with no near neighbours (a sparse schedule, a thinned film), as they are', () => {
    const ev = [10, 10, null, 9.67, 9.67, 9.33, 9.33];
    expect(evenOut(ev.map((e, i) => ({ takenAt: at(i), ev: e })))[2]).toBe(0);
    // Around the frame without settings the window shrinks to what is on both sides.
    expect(evenOut(ev.map((e, i) => ({ takenAt: at(i), ev: e })))[1]).toBe(0);
    // Frames farther apart than the reach (a thinned film, a gap in the schedule): each has its own settings for its own light.
    const sparse = [12, 12, 12, 9, 6].map((e, i) => ({ takenAt: at(0) + i * (EVENING_REACH_MS + 1), ev: e }));
    expect(evenOut(sparse)).toEqual([0, 0, 0, 0, 0]);
  });

  it("measures how much the frames' brightness answers a stop of their settings, at the steps, the light's own drift taken off", () => {
    // A dusk: the light falls 0.03 stop a frame, the settings step a third every 10 frames; the scene answers 0.28 (log2 of luminance) a stop.
    const k = 0.28;
    const frames = Array.from({ length: 80 }, (_, i) => {
      const ev = 12 - Math.floor(i / 10) / 3;
      // What reaches the sensor, in stops: the scene's light falling, plus the settings' (one EV less is one stop more).
      return { takenAt: at(i), ev, luminance: 115 * 2 ** (k * (12 - ev - 0.03 * i)) };
    });
    expect(responseOf(frames)).toBeCloseTo(k, 2);
    // A truck in front of the lens at one step does not move the median.
    const truck = frames.map((f, i) => (i === 30 ? { ...f, luminance: f.luminance * 0.5 } : f));
    expect(responseOf(truck)).toBeCloseTo(k, 2);
    // Fewer than three steps to measure: the power curve's answer.
    expect(responseOf(frames.slice(0, 25))).toBe(GAMMA_RESPONSE);
    // The gains follow the measured answer, not the power curve's.
    const factors = frameFactors(frames, { evenOut: true, deflicker: false });
    const stops = evenOut(frames);
    const i = stops.findIndex((g) => g > 0.1);
    expect(factors[i]!.y).toBeCloseTo(2 ** (stops[i]! * responseOf(frames)), 6);
    expect(factors[i]!.c).toBe(factors[i]!.y);
  });

  it("says the factors to ffmpeg's sendcmd, half a frame early, only those that change", () => {
    const gain = (g: number) => ({ y: g, c: g });
    expect(gainCommands([gain(1), gain(1), gain(1.00004)], '25')).toBeNull();
    const commands = gainCommands([gain(1), gain(1.065), gain(1.065), { y: 0.969, c: 1.065 }, gain(0.969)], '25')!.trim().split('\n');
    expect(commands).toHaveLength(4);
    expect(commands[0]).toBe("0.000000 lutyuv@gain y 'clip(val*1.0000,0,255)', lutyuv@gain u 'clip((val-128)*1.0000+128,0,255)', lutyuv@gain v 'clip((val-128)*1.0000+128,0,255)';");
    // Frame 1 is read at 0.04 s: its factors are set at 0.02 s.
    expect(commands[1]).toBe("0.020000 lutyuv@gain y 'clip(val*1.0650,0,255)', lutyuv@gain u 'clip((val-128)*1.0650+128,0,255)', lutyuv@gain v 'clip((val-128)*1.0650+128,0,255)';");
    // Frame 3: only the luma changes (the deflicker's factor), so only the luma is sent.
    expect(commands[2]).toBe("0.100000 lutyuv@gain y 'clip(val*0.9690,0,255)';");
    expect(commands[3]).toBe("0.140000 lutyuv@gain u 'clip((val-128)*0.9690+128,0,255)', lutyuv@gain v 'clip((val-128)*0.9690+128,0,255)';");
    // A slowed film (frames read at 36/10 a second).
    expect(gainCommands([gain(1), gain(1.2)], '36/10')!.split('\n')[1]).toMatch(/^0\.138889 /);
  });

  it("joins the ramp's gain and the deflicker: the deflicker measures the frames as the gain leaves them", () => {
    // A dusk through a ramp (the light falls 0.03 stop a frame, a third-stop step every 10 frames, the scene answering 0.28).
    const k = 0.28;
    const frames = Array.from({ length: 80 }, (_, i) => {
      const ev = 12 - Math.floor(i / 10) / 3;
      return { takenAt: at(i), ev, luminance: 115 * 2 ** (k * (12 - ev - 0.03 * i)) };
    });
    const both = frameFactors(frames, { evenOut: true, deflicker: true });
    // The gains leave a smooth fall, on which the deflicker has next to nothing left to do (away from the film's ends, where the gains stop).
    const inner = both.slice(10, 70);
    expect(Math.max(...inner.map((f) => Math.abs(f.y / f.c - 1)))).toBeLessThan(0.005);
    // The deflicker alone evens the staircase instead, on the luma only, by about half a step (2^(0.28/6) = 3.3 %).
    const alone = frameFactors(frames, { evenOut: false, deflicker: true });
    expect(alone.every((f) => f.c === 1)).toBe(true);
    expect(Math.max(...alone.slice(10, 70).map((f) => Math.abs(f.y - 1)))).toBeGreaterThan(0.02);
    // Neither: nothing.
    expect(frameFactors(frames, { evenOut: false, deflicker: false }).every((f) => f.y === 1 && f.c === 1)).toBe(true);
  });

  it('puts the gains first in the chain, the path escaped for the filter graph', () => {
    const s: EncodeSettings = { fps: 25, width: 320, height: 180, crf: 23, preset: 'veryfast', encoder: 'libx264', gains: "/data/it's:a,film/x.gains" };
    // No deflicker filter: its factors are in the gains, so ffmpeg holds no frame (deflicker.ts).
    expect(videoFilters(s, false)).toBe("sendcmd=f=/data/it\\\\\\'s\\\\:a\\,film/x.gains,lutyuv@gain=y=val:u=val:v=val,format=yuv420p");
    expect(filterValue('plain/path')).toBe('plain/path');
  });
});
