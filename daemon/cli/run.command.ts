import type { Command } from 'commander';
import { App } from '../app';
import { createLogger } from '../logger';
import { loadFor, withConfigOption } from './context';

/** After SIGTERM the daemon must be gone within 10 s, whatever a camera does. */
const HARD_EXIT_MS = 9_500;

export function runCommand(program: Command): void {
  withConfigOption(program.command('run'))
    .description('run the daemon (what systemd starts)')
    .action(async (_o, cmd: Command) => {
      const loaded = loadFor(cmd);
      const log = createLogger();
      const app = new App(loaded, { log });
      let stopping: Promise<void> | null = null;
      const shutdown = (signal: string) => {
        if (stopping) return;
        log.info({ signal }, 'stopping');
        setTimeout(() => {
          log.error('could not stop cleanly within 9.5 s; exiting now');
          process.exit(1);
        }, HARD_EXIT_MS).unref();
        stopping = app.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'error while stopping');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGHUP', () => void app.reload());
      try {
        await app.start();
      } catch (err) {
        await app.stop().catch(() => undefined);
        throw err;
      }
      // Keeps the action pending while the daemon runs; signals end the process.
      await new Promise<never>(() => undefined);
    });
}
