import { allocatorOf, keepPreloadToSelf } from '../../daemon/allocator';

describe('allocator', () => {
  it('tells jemalloc from its mapping, and glibc otherwise', () => {
    const glibc = '7f00-7f10 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6\n';
    expect(allocatorOf(`${glibc}7f20-7f30 r-xp 00000000 08:01 456 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2\n`)).toBe('jemalloc');
    expect(allocatorOf(glibc)).toBe('glibc');
    // A file that only mentions it is not the library.
    expect(allocatorOf(`${glibc}7f20-7f30 r--p 00000000 08:01 456 /tmp/libjemalloc.so.2.txt\n`)).toBe('glibc');
  });

  it('keeps jemalloc to the process: out of the environment its programs inherit, other preloads stay', () => {
    const env: NodeJS.ProcessEnv = { LD_PRELOAD: 'libjemalloc.so.2', MALLOC_CONF: 'narenas:2', MALLOC_ARENA_MAX: '2' };
    expect(keepPreloadToSelf(env)).toBe(true);
    expect(env).toEqual({ MALLOC_ARENA_MAX: '2' });

    const mixed: NodeJS.ProcessEnv = { LD_PRELOAD: '/opt/x/libfoo.so /usr/lib/aarch64-linux-gnu/libjemalloc.so.2:libbar.so', MALLOC_CONF: 'narenas:2' };
    expect(keepPreloadToSelf(mixed)).toBe(true);
    expect(mixed).toEqual({ LD_PRELOAD: '/opt/x/libfoo.so:libbar.so' });

    const other: NodeJS.ProcessEnv = { LD_PRELOAD: 'libfaketime.so.1', MALLOC_CONF: 'x' };
    expect(keepPreloadToSelf(other)).toBe(false);
    expect(other).toEqual({ LD_PRELOAD: 'libfaketime.so.1', MALLOC_CONF: 'x' });
    expect(keepPreloadToSelf({})).toBe(false);
  });
});
