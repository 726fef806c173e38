/**
 * `lapsebox doctor`: every check a maintainer would otherwise make by hand over
 * SSH, each with a verdict and what to do. The families run side by side, each
 * bounded, so doctor ends within about 20 s even with a dead target or camera.
 */
import { CHECK_GROUPS, type Check, type CheckGroup, type DoctorContext, type Verdict } from './context';
import { toolChecks } from './tools';
import { systemChecks } from './system';
import { configFileCheck, dataFolderChecks, unreadableConfigFix } from './permissions';
import { daemonChecks } from './daemon';
import { cameraChecks } from './cameras';
import { targetChecks } from './targets';
import { mqttChecks } from './mqtt';
import { maskSecrets } from '../secrets';
import { messageOf } from '../error-causes';

/** How long the checks may take in all; each family stops what it has in flight then. */
export const DOCTOR_BUDGET_MS = 17_000;

export interface DoctorReport {
  checks: Check[];
  /** The worst verdict: 'fail' makes the command exit 1. */
  verdict: Verdict;
  /** "all good", or "2 problems, 1 warning: ffmpeg (fail), ..." */
  summary: string;
}

type Family = (ctx: DoctorContext) => Promise<Check[]>;

const FAMILIES: [CheckGroup, Family][] = [
  ['configuration', configurationChecks],
  ['daemon', daemonChecks],
  ['tools', toolChecks],
  ['system', systemChecks],
  ['data folder', dataFolderChecks],
  ['cameras', cameraChecks],
  ['targets', targetChecks],
  ['mqtt', mqttChecks],
];

export async function runDoctor(ctx: DoctorContext): Promise<DoctorReport> {
  const results = await Promise.all(FAMILIES.map(([group, family]) => bounded(ctx, group, family)));
  // Details quote config values, cameras and servers: URLs in them keep their secrets hidden.
  const checks = maskSecrets(results.flat()).sort((a, b) => CHECK_GROUPS.indexOf(a.group) - CHECK_GROUPS.indexOf(b.group));
  return { checks, ...verdictOf(checks) };
}

async function configurationChecks(ctx: DoctorContext): Promise<Check[]> {
  const warnings = ctx.configWarnings;
  const problems = ctx.configProblems;
  const notChecked = 'The sources, cameras and targets were not checked';
  if (ctx.configReadError !== null) {
    const code = ctx.configReadError;
    const why = code === 'ENOENT' ? `no configuration file at ${ctx.configFile}` : code === 'EACCES' || code === 'EPERM' ? `this user (${ctx.me.name}) cannot read ${ctx.configFile}` : `${ctx.configFile} cannot be read (${code})`;
    return [
      { group: 'configuration', name: 'configuration', verdict: 'fail', detail: `${why}. ${notChecked}`, fix: unreadableConfigFix(ctx, code) },
      await configFileCheck(ctx),
    ];
  }
  if (problems.length > 0) {
    return [
      {
        group: 'configuration',
        name: 'configuration',
        verdict: 'fail',
        detail: `${ctx.configFile} has ${problems.length} error${problems.length === 1 ? '' : 's'}: ${problems.join('; ')}. ${notChecked}`,
        fix: `fix the lines named, check with "lapsebox config check", then "sudo systemctl reload lapsebox" (a running daemon keeps its previous configuration meanwhile)`,
      },
      await configFileCheck(ctx),
    ];
  }
  return [
    { group: 'configuration', name: 'configuration', verdict: warnings.length ? 'warn' : 'ok', detail: `${ctx.configFile} is valid${warnings.length ? `; ${warnings.join('; ')}` : ''}` },
    await configFileCheck(ctx),
  ];
}

/** A family's checks, or one failed row when it throws or outlives doctor's deadline. */
async function bounded(ctx: DoctorContext, group: CheckGroup, family: Family): Promise<Check[]> {
  let onAbort = () => undefined as void;
  const late = new Promise<Check[]>((resolve) => {
    onAbort = () => resolve([{ group, name: group, verdict: 'fail', detail: `the ${group} checks did not finish within ${DOCTOR_BUDGET_MS / 1000} s` }]);
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([family(ctx), late]);
  } catch (err) {
    return [{ group, name: group, verdict: 'fail', detail: `the ${group} checks failed: ${messageOf(err)}` }];
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

function verdictOf(checks: readonly Check[]): Pick<DoctorReport, 'verdict' | 'summary'> {
  const fails = checks.filter((c) => c.verdict === 'fail');
  const warns = checks.filter((c) => c.verdict === 'warn');
  if (fails.length === 0 && warns.length === 0) return { verdict: 'ok', summary: 'all good' };
  const count = (n: number, word: string) => `${n === 0 ? 'no' : n} ${word}${n === 1 ? '' : 's'}`;
  return {
    verdict: fails.length > 0 ? 'fail' : 'warn',
    summary: `${count(fails.length, 'problem')}, ${count(warns.length, 'warning')}: ${[...fails, ...warns].map((c) => `${c.name} (${c.verdict})`).join(', ')}`,
  };
}
