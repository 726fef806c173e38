/**
 * The installed lapsebox package: its folder and version, found the same way
 * whether the code runs compiled (dist/...) or from source under jest.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The folder holding lapsebox's package.json. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate) && (JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string }).name === 'lapsebox') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the lapsebox package (no package.json named lapsebox above this file)');
    dir = parent;
  }
}

export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
