import type { Command } from 'commander';
import { allocatorInUse, jemallocAsked, JEMALLOC } from '../allocator';
import { App } from '../app';
import { createLogger } from '../logger';
import { connectServiceManager } from '../service-manager';
import { messageOf } from '../error-causes';
import { loadFor, withConfigOption } from './context';

/** After SIGTERM the daemon must be gone within 10 s, whatever a camera does. */
const HARD_EXIT_MS = 9_500;

export function runCommand(program: Command): void {
  withConfigOption(program.command('run'))
    .description('run the daemon (what systemd starts)')
    .action(async (_o, cmd: Command) => {
      const loaded = loadFor(cmd);
      const log = createLogger({ levels: loaded.config.logging });
      const daemonLog = log.child({ module: 'daemon' });
      const systemd = connectServiceManager({ log: daemonLog });
      const app = new App(loaded, { log });
      let started = false;
      let reloadAsked = false;
      let stopping: Promise<void> | null = null;

      const shutdown = (signal: string) => {
        if (stopping) {
          // A second signal: the maintainer (or systemd) will not wait.
          daemonLog.warn({ signal }, 'second signal while stopping: exiting now');
          process.exit(1);
        }
        daemonLog.info({ signal }, 'stopping');
        systemd.stopping();
        setTimeout(() => {
          daemonLog.error(`could not stop cleanly within ${HARD_EXIT_MS / 1000} s; exiting now`);
          process.exit(1);
        }, HARD_EXIT_MS).unref();
        stopping = app.stop().then(
          () => {
            systemd.close();
            process.exit(0);
          },
          (err: unknown) => {
            daemonLog.error({ err }, 'error while stopping');
            process.exit(1);
          },
        );
      };

      const reload = () => {
        if (stopping) return;
        // During start-up the file was just read: read it again once the daemon runs.
        if (!started) {
          reloadAsked = true;
          return;
        }
        systemd.reloading();
        void app.reload().then(
          (applied) => systemd.ready(applied ? running(app) : `${running(app)}; the last reload was refused: the configuration file has errors`),
          (err: unknown) => {
            // The daemon goes on with what it has; systemd must not wait in "reloading".
            daemonLog.error({ err }, 'configuration reload failed');
            systemd.ready(`${running(app)}; the last reload failed: ${messageOf(err)}`);
          },
        );
      };

      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGHUP', reload);
      // From the first moment: start-up (reconciling a large data folder) runs on the event loop too,
      // and systemd may count WatchdogSec from the start.
      systemd.startWatchdog();
      if (systemd.watchdogMs !== null) daemonLog.info({ pingEveryMs: systemd.watchdogMs }, 'systemd watchdog on');
      const allocator = allocatorInUse();
      if (jemallocAsked() && allocator !== 'jemalloc') {
        daemonLog.warn(`${JEMALLOC} is not installed: the daemon runs on glibc's malloc, which keeps the memory it frees (sudo apt-get install -y libjemalloc2, then restart)`);
      } else {
        daemonLog.info({ allocator }, 'memory allocator');
      }
      try {
        await app.start();
      } catch (err) {
        await app.stop().catch(() => undefined);
        throw err;
      }
      started = true;
      systemd.ready(running(app));
      if (reloadAsked) reload();
      // Keeps the action pending while the daemon runs; signals end the process.
      await new Promise<never>(() => undefined);
    });
}

function running(app: App): string {
  const sources = app.config.sources.filter((s) => s.enabled).length;
  return `running: ${sources} ${sources === 1 ? 'source' : 'sources'}, web on ${app.webAddress ?? '?'}`;
}
