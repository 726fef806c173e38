/**
 * The gphoto2 session worker never outlives its daemon, even with a thread stuck in a
 * USB call: node's process.exit waits for libuv's threads, so the worker ends by SIGKILL.
 */
import { execFileSync, fork } from 'node:child_process';
import path from 'node:path';
import { tempDir, waitFor } from '../helpers/env';
import { isGone } from '../helpers/processes';

const WORKER = path.join(__dirname, '..', '..', 'dist', 'daemon', 'capture', 'gphoto2-session', 'worker.js');
const STUCK = path.join(__dirname, '..', 'fixtures', 'gphoto2-stuck-binding.js');

describe('the gphoto2 session worker', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  it('ends when its channel closes, with a call stuck in the camera', async () => {
    const fifo = path.join(tmp.dir, 'usb');
    execFileSync('mkfifo', [fifo]);
    const worker = fork(WORKER, [], { execArgv: ['--require', STUCK], env: { ...process.env, STUCK_FIFO: fifo }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], detached: true });
    try {
      const hello = await new Promise((resolve) => worker.once('message', resolve));
      expect(hello).toEqual({ hello: true, binding: { ok: true } });
      worker.send({ id: 1, op: 'list' });
      // The list is under way on a thread of its own, which never returns.
      await new Promise((r) => setTimeout(r, 300));
      const ended = new Promise<string>((resolve) => worker.once('exit', (code, signal) => resolve(signal ?? `exit code ${code}`)));
      worker.disconnect();
      await waitFor('the worker to end', () => isGone(worker.pid!), 5_000);
      expect(await ended).toBe('SIGKILL');
    } finally {
      if (!isGone(worker.pid!)) process.kill(-worker.pid!, 'SIGKILL');
    }
  });
});
