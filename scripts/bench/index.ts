/**
 * `npm run bench`: runs every benchmark in turn. Benchmarks print figures and the
 * ratio to a reference measured in the same run; they never fail on a time and
 * never run in CI.
 */
import { run as pipeline } from './pipeline.bench';
import { run as testpattern } from './testpattern.bench';
import { run as timelapse } from './timelapse.bench';
import { run as sync } from './sync.bench';
import { run as s3 } from './s3.bench';
import { run as web } from './web';
import { run as retention } from './retention.bench';
import { run as reload } from './reload.bench';
import { run as mqtt } from './mqtt.bench';
import { run as soak } from './soak.bench';
import { run as budget } from './budget.bench';
import { run as dslr } from './dslr.bench';
import { run as gallery } from './gallery.bench';
import { run as exposure } from './exposure.bench';

const BENCHES: Array<[string, () => Promise<void>]> = [
  ['testpattern camera', testpattern],
  ['picture pipeline', pipeline],
  ['timelapse video', timelapse],
  ['sftp sync', sync],
  ['s3 sync', s3],
  ['web', web],
  ['retention', retention],
  ['reload', reload],
  ['mqtt', mqtt],
  ['dslr', dslr],
  ['gallery', gallery],
  ['exposure ramp', exposure],
  ['memory budget', budget],
  ['soak', soak],
];

async function main(): Promise<void> {
  const only = process.argv[2];
  for (const [name, bench] of BENCHES) {
    if (only && !name.includes(only)) continue;
    process.stdout.write(`\n== ${name} ==\n`);
    await bench();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
