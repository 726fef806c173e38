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
    .description('check the configuration, daemon, tools, system, data folder, cameras, sync targets and the MQTT broker; exits 1 when a check fails')
    .action(async (_o, cmd: Command) => {
      const { loaded, problems, readError } = loadOrFallback(configFileFrom(commonOptions(cmd).config));
      const signal = AbortSignal.timeout(DOCTOR_BUDGET_MS);
      const ctx = await createContext({ config: loaded.config, configFile: loaded.file, configWarnings: loaded.warnings, configProblems: problems, configReadError: readError, signal });
      const report = await runDoctor(ctx);
      // A bad configuration keeps its exit code (2), after the other checks have said what they could.
      if (problems.length > 0) process.exitCode = 2;
      else if (report.verdict === 'fail') process.exitCode = 1;
      if (commonOptions(cmd).json) return printJson(io, report);
      io.out(render(report));
    });
}

/**
 * The configuration, or, when the file has errors or cannot be read (loadConfig throws a
 * ConfigError for both), a stand-in with no sources and the file's data folder (read
 * leniently), so that the checks that need no source still run. `readError` is the
 * errno code when the file could not be read at all.
 */
function loadOrFallback(file: string): { loaded: LoadedConfig; problems: string[]; readError: string | null } {
  try {
    return { loaded: loadConfig(file), problems: [], readError: null };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    let text: string | null = null;
    let readError: string | null = null;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (readErr) {
      readError = (readErr as NodeJS.ErrnoException).code ?? 'EIO';
    }
    let dataDir: unknown;
    try {
      dataDir = text === null ? undefined : (parse(text) as { storage?: { dataDir?: unknown } } | null)?.storage?.dataDir;
    } catch {
      dataDir = undefined;
    }
    const fallback = stringify({ appliance: { id: 'unknown' }, storage: typeof dataDir === 'string' && dataDir !== '' ? { dataDir } : {} });
    return { loaded: { ...parseConfig(fallback, file), warnings: [] }, problems: err.problems, readError };
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
