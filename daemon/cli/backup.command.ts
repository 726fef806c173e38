/**
 * `lapsebox backup FILE` and `lapsebox restore FILE`: a box's setup (config, the
 * files it names, users, groups, grants) to move it to a replacement box.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { configFileFrom } from '../config/load';
import { createBackup, type BackupSummary } from '../backup/backup';
import { restoreBackup, type RestoreSummary } from '../backup/restore';
import { BackupError } from '../backup/manifest';
import { controlRequest } from '../control/client';
import { messageOf } from '../error-causes';
import { CliError, cliActor, commonOptions, printJson, withConfigOption, withJsonOption, type Output } from './context';

/** Refusals and bad archives are failures (exit 1), with the message as it is. */
async function failing<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BackupError) throw new CliError(err.message, 1);
    throw err;
  }
}

const kb = (bytes: number) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function counts(c: { users: number; groups: number; grants: number }): string {
  return `${plural(c.users, 'user')}, ${plural(c.groups, 'group')}, ${plural(c.grants, 'grant')}`;
}

function leftOutLines(files: { file: string; keys: string[]; why: string }[]): string[] {
  return files.map((f) => `  ${f.file} (${f.keys.join(', ')}): ${f.why}`);
}

function renderBackup(s: BackupSummary): string {
  const state = Object.entries(s.leftOut).map(([table, rows]) => `${table} ${rows}`);
  return [
    `wrote ${s.file} (${kb(s.bytes)}, mode 0600) for appliance ${s.appliance.id}, lapsebox ${s.lapsebox}, schema ${s.schemaVersion}`,
    `  setup: ${counts(s.counts)}`,
    ...s.entries.map((e) => `  ${e.name}${e.keys ? ` (${e.keys.join(', ')})` : ''}`),
    ...(s.notIncluded.length > 0 ? ['not included, copy these to the new box yourself:', ...leftOutLines(s.notIncluded)] : []),
    `left out (this box's own state; pictures and videos stay on it and on the central server): ${state.join(', ') || 'nothing'}`,
    'keep this file private: it holds password hashes and private keys',
  ].join('\n');
}

function renderRestore(s: RestoreSummary): string {
  return [
    `restored the setup of appliance ${s.appliance.id} from ${s.archive} (made ${s.createdAt} by lapsebox ${s.lapsebox})`,
    `  config: ${s.configFile}${s.previousConfig ? ` (the previous one is kept as ${s.previousConfig})` : ''}${s.dataDirRewritten ? `, storage.dataDir set to ${s.dataDir}` : ''}`,
    ...s.installed.map((f) => `  ${f.file} (${f.keys.join(', ')})${f.previous ? `, the previous one kept as ${f.previous}` : ''}`),
    `  data folder ${s.dataDir}: ${counts(s.counts)}${s.replacedUsers.length > 0 ? ` (replaced: ${s.replacedUsers.join(', ')})` : ''}; pictures and everything else there kept`,
    ...(s.removedInitialPassword ? [`  removed ${path.join(s.dataDir, 'initial-admin-password')}: the restored users replace the generated admin`] : []),
    ...(s.notInstalled.length > 0 ? ['not installed:', ...leftOutLines(s.notInstalled)] : []),
    ...s.warnings.map((w) => `warning: ${w}`),
    'start the daemon: sudo systemctl start lapsebox',
  ].join('\n');
}

export function backupCommand(program: Command, io: Output): void {
  withJsonOption(withConfigOption(program.command('backup')))
    .description("write the box's setup (config and the files it names, users, groups, grants) to a .tar.gz, to move it to another box; the daemon may run")
    .argument('<file>', 'the archive to write, such as bridge-north.tar.gz')
    .option('--force', 'replace FILE if it exists')
    .action(async (file: string, opts: { force?: boolean }, cmd: Command) => {
      const summary = await failing(() => createBackup({ configFile: configFileFrom(commonOptions(cmd).config), file, force: opts.force === true }));
      if (commonOptions(cmd).json) return printJson(io, summary);
      io.out(renderBackup(summary));
    });

  withJsonOption(withConfigOption(program.command('restore')))
    .description('install the setup from a backup on this box (config, the files it names, users, groups, grants); pictures already here stay')
    .argument('<file>', 'an archive made by lapsebox backup')
    .option('--data-dir <dir>', "use this data folder (written into the restored config's storage.dataDir)")
    .option('--force', "replace this box's users, a different config file or key files (the files replaced are kept beside them)")
    .action(async (file: string, opts: { dataDir?: string; force?: boolean }, cmd: Command) => {
      const summary = await failing(() =>
        restoreBackup({
          archive: file,
          configFile: configFileFrom(commonOptions(cmd).config),
          ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
          force: opts.force === true,
          actor: cliActor(),
          daemonRunning: async (layout) => {
            try {
              return (await controlRequest(layout.controlSocket, 'GET', '/status', 5_000)) !== null;
            } catch (err) {
              throw new BackupError(`cannot tell whether a daemon is running on ${layout.dataDir} (${messageOf(err)}); stop it first: sudo systemctl stop lapsebox`);
            }
          },
        }),
      );
      if (commonOptions(cmd).json) return printJson(io, summary);
      io.out(renderRestore(summary));
    });
}
