/**
 * libgphoto2's virtual camera (a Nikon D750 over PTP, no USB), built by
 * scripts/vcamera/build.sh from Debian's libgphoto2 source: the real gphoto2 program
 * and the real binding both drive it, in the tests and the DSLR benchmark. It serves
 * the JPEG files of its fixture folder (VCAMERADIR, read once per process); with none
 * there, a capture hangs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { projectRoot } from '../../daemon/package-info';

let built: string | null = null;

/** The virtual camera's folder, built on first use (about a second; nothing when up to date). */
export function vcameraDir(): string {
  if (built) return built;
  try {
    built = execFileSync('bash', [path.join(projectRoot(), 'scripts', 'vcamera', 'build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(`the virtual camera could not be built (bash scripts/vcamera/build.sh): ${stderr.trim()}`);
  }
  return built;
}

/** A fixture folder holding `jpegs` (none: every capture hangs). */
export function fixtureFolder(dir: string, jpegs: readonly Buffer[]): string {
  const folder = path.join(dir, 'DCIM', '100TEST');
  fs.rmSync(path.join(dir, 'DCIM'), { recursive: true, force: true });
  fs.mkdirSync(folder, { recursive: true });
  jpegs.forEach((jpeg, i) => fs.writeFileSync(path.join(folder, `IMG_${String(i + 1).padStart(4, '0')}.JPG`), jpeg));
  return dir;
}

/**
 * The environment that shows libgphoto2 the virtual camera only, serving `fixtures`.
 * `realTiming` keeps its event waits (gphoto2's 3 s drain after a capture is then slept out).
 */
export function vcameraEnv(fixtures: string, options: { realTiming?: boolean } = {}): Record<string, string> {
  const env: Record<string, string> = { IOLIBS: path.join(vcameraDir(), 'iolibs'), VCAMERADIR: fixtures };
  if (!options.realTiming) env.VUSB_NOSLEEP = '1';
  return env;
}
