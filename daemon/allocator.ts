/**
 * The memory allocator the daemon runs on (issue 23). systemd/lapsebox.service preloads
 * jemalloc (`LD_PRELOAD=libjemalloc.so.2`, Debian's libjemalloc2): glibc's malloc keeps
 * what the daemon and libvips free inside its arenas, and a two-hour soak measured 49 MB
 * of it held (given back at once by a malloc_trim) and the daemon's RSS creeping up by
 * +10.6 % while its live memory stayed flat. jemalloc gives pages back on its own,
 * as soon as they are free (`MALLOC_CONF` in the unit).
 *
 * The preload is the daemon's alone: `keepPreloadToSelf` takes it out of the
 * environment that the programs it runs (ffmpeg, gphoto2, the camera session worker)
 * inherit, so they keep the allocator they were measured with, and a box without the
 * library gets no loader error in every program's output.
 */
import fs from 'node:fs';

export type AllocatorName = 'jemalloc' | 'glibc';

/** The soname the unit preloads; the dynamic loader finds it in the system's library folders. */
export const JEMALLOC = 'libjemalloc.so.2';

/** What the process has mapped: jemalloc when its library is loaded (preloaded), else glibc's malloc. */
export function allocatorOf(maps: string): AllocatorName {
  return /\/libjemalloc\.so[.\d]*$/m.test(maps) ? 'jemalloc' : 'glibc';
}

let mine: AllocatorName | null = null;
let asked = false;

/** This process's allocator (read once from /proc/self/maps). */
export function allocatorInUse(): AllocatorName {
  if (mine === null) {
    let maps = '';
    try {
      maps = fs.readFileSync('/proc/self/maps', 'utf8');
    } catch {
      // Not Linux: no preload either.
    }
    mine = allocatorOf(maps);
  }
  return mine;
}

/** Whether this process was started with jemalloc in LD_PRELOAD (as the unit starts the daemon). */
export function jemallocAsked(): boolean {
  return asked;
}

/**
 * Removes jemalloc from `LD_PRELOAD` (and its `MALLOC_CONF`) in `env`, leaving any other
 * preloaded library in place. Returns whether jemalloc was asked for: the daemon says so
 * when it was asked for but is not loaded (the library is not installed).
 */
export function keepPreloadToSelf(env: NodeJS.ProcessEnv = process.env): boolean {
  const preload = env['LD_PRELOAD'];
  if (preload === undefined) return false;
  // ld.so separates the list with spaces or colons.
  const entries = preload.split(/[\s:]+/).filter(Boolean);
  const others = entries.filter((e) => !/(^|\/)libjemalloc\.so[.\d]*$/.test(e));
  if (others.length === entries.length) return false;
  if (others.length > 0) env['LD_PRELOAD'] = others.join(':');
  else delete env['LD_PRELOAD'];
  delete env['MALLOC_CONF'];
  if (env === process.env) asked = true;
  return true;
}
