import { EVENING_REACH_MS, GAMMA_RESPONSE, evenOut, gainCommands, responseOf } from '../../daemon/timelapse/evening';
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
    expect(gainCommands([0, 0.3], '25', 0.28)!.split('\n')[1]).toContain(`val*${(2 ** (0.3 * 0.28)).toFixed(4)}`);
  });

  it("says the gains to ffmpeg's sendcmd, half a frame early, only when they change", () => {
    expect(gainCommands([0, 0, 0.001], '25')).toBeNull();
    const commands = gainCommands([0, 0.2, 0.2, -0.1], '25')!.trim().split('\n');
    expect(commands).toHaveLength(3);
    expect(commands[0]).toBe("0.000000 lutyuv@gain y 'clip(val*1.0000,0,255)', lutyuv@gain u 'clip((val-128)*1.0000+128,0,255)', lutyuv@gain v 'clip((val-128)*1.0000+128,0,255)';");
    // Frame 1 is read at 0.04 s: its gain is set at 0.02 s. 0.2 stop of light is 2^(0.2/2.2) on the encoded values.
    expect(commands[1]).toMatch(/^0\.020000 lutyuv@gain y 'clip\(val\*1\.0650,0,255\)'/);
    expect(commands[2]).toMatch(/^0\.100000 lutyuv@gain y 'clip\(val\*0\.9690,0,255\)'/);
    // A slowed film (frames read at 36/10 a second).
    expect(gainCommands([0, 0.5], '36/10')!.split('\n')[1]).toMatch(/^0\.138889 /);
  });

  it('puts the gains first in the chain, the path escaped for the filter graph', () => {
    const s: EncodeSettings = { fps: 25, width: 320, height: 180, crf: 23, preset: 'veryfast', deflicker: true, encoder: 'libx264', gains: "/data/it's:a,film/x.gains" };
    expect(videoFilters(s, false)).toBe("sendcmd=f=/data/it\\\\\\'s\\\\:a\\,film/x.gains,lutyuv@gain=y=val:u=val:v=val,deflicker=size=15:mode=am,format=yuv420p");
    expect(filterValue('plain/path')).toBe('plain/path');
  });
});
