import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';

export interface FakeCamera {
  model: string;
  port: string;
  serial?: string;
}

export interface Scenario {
  cameras?: FakeCamera[];
  plugged?: boolean;
  captures?: string[];
  raw?: boolean;
  /** The file a capture "downloads" (default: a real JPEG made at install). */
  jpeg?: string;
  /** The camera's settings that --get-config prints and --set-config must pick from. */
  config?: Record<string, { label?: string; current: string; choices: string[] }>;
}

export interface FakeCall {
  pid: number;
  /** When the call started, ms since the epoch. */
  at: number;
  args: string[];
  outcome: string;
  childPid?: number;
  /** The LD_PRELOAD the program was started with; null: none. */
  preload: string | null;
}

/**
 * Installs test/fixtures/fake-gphoto2.js as an executable `gphoto2` in `dir`/bin,
 * with a real JPEG to hand out. Put `binDir` first on PATH (or pass `program`).
 */
export async function installFakeGphoto2(dir: string, scenario: Scenario, options: { width?: number; height?: number } = {}) {
  const binDir = path.join(dir, 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  const program = path.join(binDir, 'gphoto2');
  const source = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'fake-gphoto2.js'), 'utf8');
  fs.writeFileSync(program, `#!${process.execPath}\n${source}`, { mode: 0o755 });
  const jpeg = path.join(binDir, 'sample.jpg');
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  // Noise, so the JPEG has the weight of a real photo (a flat colour compresses to a few KB).
  await sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toFile(jpeg);
  const write = (next: Scenario) => fs.writeFileSync(path.join(binDir, 'scenario.json'), JSON.stringify({ jpeg, ...next }));
  write(scenario);
  const calls = (): FakeCall[] => {
    const file = path.join(binDir, 'calls.log');
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as FakeCall);
  };
  return {
    binDir,
    program,
    env: { PATH: `${binDir}:${process.env.PATH ?? ''}` },
    /** Replaces the scenario; the capture counter restarts too. */
    setScenario(next: Scenario): void {
      write(next);
      fs.rmSync(path.join(binDir, 'state.json'), { force: true });
    },
    calls,
    captures: () => calls().filter((c) => c.args.includes('--capture-image-and-download')),
  };
}
