import type { Command } from 'commander';
import { DateTime } from 'luxon';
import type { PassSummary, TargetStatus } from '../sync/sync.service';
import { daemonOrHere } from './daemon-or-here';
import { CliError, commonOptions, loadFor, printJson, table, withConfigOption, withJsonOption, type Output } from './context';

/** `sync run` may take as long as the backlog needs; Ctrl-C leaves the daemon sending. */
const RUN_TIMEOUT_MS = 2 ** 31 - 1;

export function syncCommand(program: Command, io: Output): void {
  const sync = program.command('sync').description('the queue of files for the central servers');

  withJsonOption(withConfigOption(sync.command('status')))
    .description('per target: files waiting, the oldest, what was sent, the last error')
    .action(async (_o, cmd: Command) => {
      const { config } = loadFor(cmd);
      const targets = await daemonOrHere<TargetStatus[]>(config, {
        daemon: async (ask) => {
          const live = await ask('GET', '/sync', 10_000);
          return live && live.status === 200 ? (live.body as { targets: TargetStatus[] }).targets : null;
        },
        here: (services) => services().sync.status(),
      });
      if (commonOptions(cmd).json) return printJson(io, { targets });
      io.out(targets.length === 0 ? 'no sync targets configured (sync.targets in the configuration)' : renderTargets(targets, config.appliance.timezone));
    });

  withJsonOption(withConfigOption(sync.command('run')))
    .description('send now: every waiting file is tried at once, through the running daemon if there is one')
    .option('--target <id>', 'only this target')
    .action(async (options: { target?: string }, cmd: Command) => {
      const { config } = loadFor(cmd);
      if (config.sync.targets.length === 0) throw new CliError('no sync targets configured (sync.targets in the configuration)', 2);
      if (options.target !== undefined && !config.sync.targets.some((t) => t.id === options.target)) {
        throw new CliError(`no sync target "${options.target}" (known: ${config.sync.targets.map((t) => t.id).join(', ')})`, 2);
      }
      const result = await daemonOrHere<{ passes: PassSummary[]; targets: TargetStatus[] }>(config, {
        daemon: async (ask) => {
          const live = await ask('POST', '/sync/run', RUN_TIMEOUT_MS, options.target ? { target: options.target } : {});
          if (live && live.status !== 200) throw new CliError((live.body as { error?: string } | null)?.error ?? `the daemon answered ${live.status}`, 1);
          return live && (live.body as { passes: PassSummary[]; targets: TargetStatus[] });
        },
        // No daemon: send from this process, then stop.
        here: async (services) => {
          const service = services().sync;
          service.start();
          let passes: PassSummary[];
          try {
            passes = await service.sendNow(options.target);
          } finally {
            await service.stop();
          }
          return { passes, targets: service.status() };
        },
      });
      if (commonOptions(cmd).json) printJson(io, result);
      else io.out(result.passes.map(renderPass).join('\n'));
      if (result.passes.some((p) => p.error !== null || p.failed > 0)) throw new CliError('not everything could be sent; the files wait in the queue and are tried again', 1);
    });
}

function renderPass(p: PassSummary): string {
  const parts = [`${p.target}: ${p.sent} sent`];
  if (p.alreadyThere > 0) parts.push(`${p.alreadyThere} already on the server`);
  if (p.failed > 0) parts.push(`${p.failed} failed (tried again later)`);
  parts.push(`${p.pending} still waiting`);
  return parts.join(', ') + (p.error ? `\n  stopped: ${p.error}` : '');
}

/** The sync part of `lapsebox status` and `lapsebox sync status`. */
export function renderTargets(targets: readonly TargetStatus[], zone: string): string {
  const local = (iso: string | null) => (iso ? DateTime.fromISO(iso, { zone }).toFormat('yyyy-LL-dd HH:mm:ss') : '-');
  const rows = [['TARGET', 'SERVER', 'STATE', 'WAITING', 'OLDEST WAITING', 'SENT', 'LAST SENT']];
  for (const t of targets) {
    const b = t.backlog;
    rows.push([
      t.id,
      t.type === 'sftp' ? `${t.host}:${t.port}${t.remoteDir}` : `${t.remoteDir} at ${t.host}:${t.port}`,
      t.activity,
      `${b.pending} files, ${megabytes(b.bytes)}`,
      b.oldestAgeSeconds === null ? '-' : `${age(b.oldestAgeSeconds)} ago`,
      `${t.sent.files} files, ${megabytes(t.sent.bytes)}`,
      local(t.sent.last),
    ]);
  }
  const notes = targets.flatMap((t) => [
    // A next try exists only while the worker waits; otherwise it is trying now.
    ...(t.failingSince ? [`  ${t.id}: failing since ${local(t.failingSince)}, ${t.nextAttemptAt ? `next try ${local(t.nextAttemptAt)}` : `now ${t.activity}`}`] : []),
    ...(t.lastError ? [`  ${t.id}: last error ${local(t.lastError.at)}: ${t.lastError.message}`] : []),
    ...t.failing.map((f) => `  ${t.id}: ${f.file}: ${f.attempts} failed attempts, next ${local(f.nextAttemptAt)}: ${f.error ?? ''}`),
    ...(t.backlog.gone > 0 ? [`  ${t.id}: ${t.backlog.gone} files were deleted from the box before they could be sent`] : []),
  ]);
  return [table(rows), ...notes].join('\n');
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function age(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}
