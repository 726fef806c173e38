// libgphoto2's virtual camera, shared with the DSLR benchmark.
export { fixtureFolder, vcameraDir, vcameraEnv } from '../../scripts/lib/vcamera';
