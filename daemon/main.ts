#!/usr/bin/env node
/** Entry point of the `lapsebox` command (package.json `bin`). */
import { keepPreloadToSelf } from './allocator';

// The unit's jemalloc is for this process, not for the programs it runs (daemon/allocator.ts):
// out of the environment before any module that may start one is loaded.
keepPreloadToSelf();

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { runCli } = require('./cli/program') as typeof import('./cli/program');

void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
