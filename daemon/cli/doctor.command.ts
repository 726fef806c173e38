/**
 * `lapsebox doctor`: the checks a maintainer would otherwise do by hand, each with a
 * verdict and what to do (daemon/doctor/). Exit 1 when a check fails; warnings do not.
 */
import type { Command } from 'commander';
import { createContext, type Check } from '../doctor/context';
import { DOCTOR_BUDGET_MS, runDoctor, type DoctorReport } from '../doctor/doctor';
import fs from 'node:fs';
import { parse, stringify } from 'yaml';
import { ConfigError, configFileFrom, loadConfig, parseConfig, type LoadedConfig } from '../config/load';
import { commonOptions, printJson, table, withConfigOption, withJsonOption, type Output } from './context';

export function doctorCommand(program: Command, io: Output): void {
  withJsonOption(withConfigOption(program.command('doctor')))
    .description('check the configuration, daemon, tools, system, data folder, cameras and sync targets; exits 1 when a check fails')
    .action(async (_o, cmd: Command) => {
      const { loaded, problems } = loadOrFallback(configFileFrom(commonOptions(cmd).config));
      const signal = AbortSignal.timeout(DOCTOR_BUDGET_MS);
      const ctx = await createContext({ config: loaded.config, configFile: loaded.file, configWarnings: loaded.warnings, configProblems: problems, signal });
      const report = await runDoctor(ctx);
      // A bad configuration keeps its exit code (2), after the other checks have said what they could.
      if (problems.length > 0) process.exitCode = 2;
      else if (report.verdict === 'fail') process.exitCode = 1;
      if (commonOptions(cmd).json) return printJson(io, report);
      io.out(render(report));
    });
}

/**
 * The configuration, or, when the file has errors, a stand-in with no sources and the
 * file's data folder (read leniently), so that the checks that need no source still run.
 */
function loadOrFallback(file: string): { loaded: LoadedConfig; problems: string[] } {
  try {
    return { loaded: loadConfig(file), problems: [] };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    let dataDir: unknown;
    try {
      dataDir = (parse(fs.readFileSync(file, 'utf8')) as { storage?: { dataDir?: unknown } } | null)?.storage?.dataDir;
    } catch {
      dataDir = undefined;
    }
    const text = stringify({ appliance: { id: 'unknown' }, storage: typeof dataDir === 'string' && dataDir !== '' ? { dataDir } : {} });
    return { loaded: { ...parseConfig(text, file), warnings: [] }, problems: err.problems };
  }
}

/** The table, a blank line between groups, then the verdict. */
function render(report: DoctorReport): string {
  const rows: Check[] = report.checks;
  const lines = table([['CHECK', 'VERDICT', 'DETAIL'], ...rows.map((c) => [c.name, c.verdict, c.fix ? `${c.detail} → ${c.fix}` : c.detail])]).split('\n');
  const out = [lines[0]!];
  rows.forEach((c, i) => {
    if (i > 0 && rows[i - 1]!.group !== c.group) out.push('');
    out.push(lines[i + 1]!);
  });
  return [...out, '', `verdict: ${report.summary}`].join('\n');
}
