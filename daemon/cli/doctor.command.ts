/**
 * `lapsebox doctor`: the checks a maintainer would otherwise do by hand, each with a
 * verdict and what to do (daemon/doctor/). Exit 1 when a check fails; warnings do not.
 */
import type { Command } from 'commander';
import { createContext, type Check } from '../doctor/context';
import { DOCTOR_BUDGET_MS, runDoctor, type DoctorReport } from '../doctor/doctor';
import { commonOptions, loadFor, printJson, table, withConfigOption, withJsonOption, type Output } from './context';

export function doctorCommand(program: Command, io: Output): void {
  withJsonOption(withConfigOption(program.command('doctor')))
    .description('check the configuration, daemon, tools, system, data folder, cameras and sync targets; exits 1 when a check fails')
    .action(async (_o, cmd: Command) => {
      const loaded = loadFor(cmd);
      const signal = AbortSignal.timeout(DOCTOR_BUDGET_MS);
      const ctx = await createContext({ config: loaded.config, configFile: loaded.file, configWarnings: loaded.warnings, signal });
      const report = await runDoctor(ctx);
      if (report.verdict === 'fail') process.exitCode = 1;
      if (commonOptions(cmd).json) return printJson(io, report);
      io.out(render(report));
    });
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
