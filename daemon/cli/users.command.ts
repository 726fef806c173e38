import type { Command } from 'commander';
import { UsersService } from '../auth/users.service';
import { openStore } from '../store/store';
import { PROFILES } from '../store/users.repository';
import os from 'node:os';
import { commonOptions, loadFor, printJson, readStdin, table, withConfigOption, withJsonOption, type Output } from './context';

/** Who the audit trail names for changes made from the command line. */
function cliActor(): string {
  let login = 'unknown';
  try {
    login = os.userInfo().username;
  } catch {
    /* no passwd entry (containers): keep "unknown" */
  }
  return `cli:${process.env['SUDO_USER'] ?? login}`;
}

async function withUsers<T>(cmd: Command, fn: (users: UsersService) => Promise<T>): Promise<T> {
  const { config } = loadFor(cmd);
  const store = openStore(config.storage.dataDir);
  try {
    return await fn(new UsersService(store.users, store.audit));
  } finally {
    store.close();
  }
}

export function usersCommand(program: Command, io: Output): void {
  const users = program.command('users').description('manage the people who may log in');

  withJsonOption(withConfigOption(users.command('list')))
    .description('list users and their profiles')
    .action(async (_o, cmd: Command) => {
      const list = await withUsers(cmd, async (s) => s.list());
      if (commonOptions(cmd).json) return printJson(io, list.map((u) => ({ username: u.username, profile: u.profile, createdAt: new Date(u.createdAt).toISOString() })));
      if (list.length === 0) return io.out('no users');
      io.out(table([['USER', 'PROFILE', 'CREATED'], ...list.map((u) => [u.username, u.profile, new Date(u.createdAt).toISOString()])]));
    });

  withJsonOption(withConfigOption(users.command('add')))
    .description('add a user; prints a generated password unless --password-stdin is given')
    .argument('<name>', 'user name')
    .requiredOption('-p, --profile <profile>', `one of ${PROFILES.join(', ')}`)
    .option('--password-stdin', 'read the password from standard input')
    .action(async (name: string, opts: { profile: string; passwordStdin?: boolean }, cmd: Command) => {
      const password = opts.passwordStdin ? await readStdin() : undefined;
      const result = await withUsers(cmd, (s) => s.add(name, opts.profile, password, cliActor()));
      if (commonOptions(cmd).json) {
        return printJson(io, { username: result.user.username, profile: result.user.profile, ...(result.generatedPassword ? { password: result.generatedPassword } : {}) });
      }
      io.out(`added ${result.user.profile} "${result.user.username}"`);
      if (result.generatedPassword) io.out(`password: ${result.generatedPassword}`);
    });

  withJsonOption(withConfigOption(users.command('passwd')))
    .description("change a user's password; prints a generated one unless --password-stdin is given")
    .argument('<name>', 'user name')
    .option('--password-stdin', 'read the new password from standard input')
    .action(async (name: string, opts: { passwordStdin?: boolean }, cmd: Command) => {
      const password = opts.passwordStdin ? await readStdin() : undefined;
      const result = await withUsers(cmd, (s) => s.setPassword(name, password, cliActor()));
      if (commonOptions(cmd).json) return printJson(io, { username: name, ...(result.generatedPassword ? { password: result.generatedPassword } : {}) });
      io.out(`password of "${name}" changed`);
      if (result.generatedPassword) io.out(`password: ${result.generatedPassword}`);
    });

  withConfigOption(users.command('remove'))
    .description('remove a user')
    .argument('<name>', 'user name')
    .action(async (name: string, _o, cmd: Command) => {
      await withUsers(cmd, async (s) => s.remove(name, cliActor()));
      io.out(`removed "${name}"`);
    });
}
