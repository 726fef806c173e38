/**
 * A process whose clock is off, without touching the machine's: libfaketime (Debian's
 * `libfaketime`) preloaded into the child, with an offset such as "-25m".
 */
import fs from 'node:fs';
import path from 'node:path';

const FOLDERS = ['/usr/lib/x86_64-linux-gnu/faketime', '/usr/lib/aarch64-linux-gnu/faketime', '/usr/lib/arm-linux-gnueabihf/faketime', '/usr/lib/faketime'];

export function libfaketime(): string {
  for (const folder of FOLDERS) {
    const lib = path.join(folder, 'libfaketime.so.1');
    if (fs.existsSync(lib)) return lib;
  }
  throw new Error('libfaketime is not installed (apt-get install libfaketime): the clock tests need it');
}

/** The environment that runs a child process with its clock moved by `offset` ("-25m", "+2h"). */
export function fakeClock(offset: string): NodeJS.ProcessEnv {
  // DONT_FAKE_MONOTONIC: timers and timeouts keep real time; only the wall clock is off, as on a box without NTP.
  return { LD_PRELOAD: libfaketime(), FAKETIME: offset, DONT_FAKE_MONOTONIC: '1' };
}
