/**
 * The `lapsebox` command line (SPEC §6). Exit codes: 0 done, 1 failed,
 * 2 bad usage or bad configuration.
 */
import { syncCommand } from './sync.command';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load';
import { AppError, EXIT_CODE } from '../errors';
import { CliError, stdio, type Output } from './context';
import { runCommand } from './run.command';
import { configCommand } from './config.command';
import { statusCommand } from './status.command';
import { captureCommand } from './capture.command';
import { usersCommand } from './users.command';
import { camerasCommand } from './cameras.command';
import { timelapseCommand } from './timelapse.command';
import { doctorCommand } from './doctor.command';
import { backupCommand } from './backup.command';
import { fleetCommand } from './fleet.command';
import { publicCommand } from './public.command';
import { packageVersion } from '../package-info';
import { ServiceStartError } from '../lifecycle';
import { messageOf } from '../error-causes';


export function buildProgram(io: Output = stdio): Command {
  const program = new Command('lapsebox')
    .description('lapsebox: the timelapse webcam appliance daemon and its tools')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });
  runCommand(program);
  configCommand(program, io);
  statusCommand(program, io);
  captureCommand(program, io);
  camerasCommand(program, io);
  usersCommand(program, io);
  timelapseCommand(program, io);
  doctorCommand(program, io);
  syncCommand(program, io);
  backupCommand(program, io);
  fleetCommand(program, io);
  publicCommand(program, io);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

/** Runs the CLI and returns the exit code; never throws. */
export async function runCli(argv: string[], io: Output = stdio): Promise<number> {
  process.exitCode = undefined;
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (thrown) {
    // The daemon's log names the service that could not start; people read what went wrong.
    const err = thrown instanceof ServiceStartError ? thrown.cause : thrown;
    if (err instanceof CommanderError) {
      // Help and version end the same way as a usage error in commander; only the latter is a failure.
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
    }
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 2;
    }
    if (err instanceof CliError) {
      io.err(`lapsebox: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof AppError) {
      io.err(`lapsebox: ${err.message}`);
      return EXIT_CODE[err.kind];
    }
    io.err(`lapsebox: ${messageOf(err)}`);
    return 1;
  }
}
