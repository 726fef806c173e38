import type { Command } from 'commander';
import { ConfigError, configFileFrom, loadConfig } from '../config/load';
import { commonOptions, printJson, withConfigOption, withJsonOption, type Output } from './context';

export function configCommand(program: Command, io: Output): void {
  const config = program.command('config').description('work with the configuration file');
  withJsonOption(withConfigOption(config.command('check')))
    .description('validate the configuration file and print every error with its key path')
    .action((_opts, cmd: Command) => {
      const { json } = commonOptions(cmd);
      const file = configFileFrom(commonOptions(cmd).config);
      try {
        const loaded = loadConfig(file);
        if (json) printJson(io, { file, valid: true, errors: [], warnings: loaded.warnings, sources: loaded.config.sources.map((s) => s.id) });
        else {
          for (const w of loaded.warnings) io.err(`warning: ${w}`);
          io.out(`${file}: valid (${loaded.config.sources.length} source${loaded.config.sources.length === 1 ? '' : 's'}: ${loaded.config.sources.map((s) => s.id).join(', ') || 'none'})`);
        }
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        if (json) printJson(io, { file, valid: false, errors: err.problems, warnings: [] });
        else io.err(err.message);
        process.exitCode = 2;
      }
    });
}
