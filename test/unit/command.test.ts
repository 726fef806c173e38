import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCommand, CommandNotFoundError } from '../../daemon/process';
import { isAlive } from '../helpers/processes';
import { ROOT } from '../helpers/env';

describe('runCommand', () => {
  it('returns the exit code and both outputs, with no shell between (metacharacters stay literal)', async () => {
    const r = await runCommand('sh', ['-c', 'printf "%s" "$1"; echo err >&2; exit 3', 'sh', '$(id); `id`']);
    expect(r).toMatchObject({ code: 3, signal: null, stdout: '$(id); `id`', stderr: 'err\n', aborted: false });
  });

  it('says when the program is not installed', async () => {
    await expect(runCommand('lapsebox-no-such-program', [])).rejects.toBeInstanceOf(CommandNotFoundError);
  });

  it('on abort, TERMs then KILLs the whole process group, and settles only once the child is reaped', async () => {
    const controller = new AbortController();
    // A leader that ignores TERM, and a grandchild in its group.
    const pending = runCommand('sh', ['-c', 'trap "" TERM; sleep 300 & echo $!; wait'], { signal: controller.signal, killGraceMs: 300 });
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    const r = await pending;
    expect(r.aborted).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    const grandchild = Number(r.stdout.trim());
    expect(grandchild).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isAlive(grandchild)).toBe(false);
  });

  it('kills what is still running when the process exits', async () => {
    const pidFile = path.join(os.tmpdir(), `lapsebox-command-${process.pid}.pid`);
    const script = `
      const { runCommand } = require(${JSON.stringify(path.join(ROOT, 'dist', 'daemon', 'process.js'))});
      runCommand('sh', ['-c', 'echo $$ > "$1"; exec sleep 300', 'sh', ${JSON.stringify(pidFile)}]);
      setTimeout(() => process.exit(0), 300);
    `;
    spawnSync(process.execPath, ['-e', script]);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    fs.rmSync(pidFile);
    expect(pid).toBeGreaterThan(0);
    // kill(2) returns before a busy machine has run the victim to its end:
    // give it up to 2 s to die, which a survivor of 300 s would never do.
    const deadline = Date.now() + 2000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(isAlive(pid)).toBe(false);
  });
});
