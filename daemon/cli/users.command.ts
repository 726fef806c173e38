/**
 * `lapsebox users ...` and `lapsebox groups ...` (SPEC §6): people, their groups and
 * their grants, on the database of the data folder (the daemon need not run).
 * Every change is audited with the login that made it.
 */
import type { Command } from 'commander';
import { UsersService } from '../auth/users.service';
import { AccessService, groupJson, userJson } from '../auth/access.service';
import { openRepositories } from '../store/repositories';
import { PROFILES } from '../domain/users';
import { GRANT_LEVELS } from '../store/access.repository';
import { CliError, cliActor, commonOptions, loadFor, printJson, readStdin, table, withConfigOption, withJsonOption, type Output } from './context';

async function withAccess<T>(cmd: Command, fn: (users: UsersService, access: AccessService) => Promise<T> | T): Promise<T> {
  const { config } = loadFor(cmd);
  const store = openRepositories(config.storage.dataDir);
  try {
    const access = new AccessService({ access: store.access, users: store.users, audit: store.audit, sourceIds: () => config.sources.map((s) => s.id) });
    return await fn(new UsersService(store.users, store.audit), access);
  } finally {
    store.close();
  }
}

const grantsText = (grants: { sourceId: string; level: string }[]) => grants.map((g) => `${g.sourceId}:${g.level}`).join(', ') || '-';

const levelOption = `--level <level>`;
const levelHelp = `${GRANT_LEVELS.join(' or ')} (default: view)`;

export function usersCommand(program: Command, io: Output): void {
  const users = program.command('users').description('manage the people who may log in, and their grants');

  withJsonOption(withConfigOption(users.command('list')))
    .description('list users, their profiles, groups and grants')
    .action(async (_o, cmd: Command) => {
      const list = await withAccess(cmd, (u, a) => u.list().map((user) => a.userView(user)));
      if (commonOptions(cmd).json) return printJson(io, list.map(userJson));
      if (list.length === 0) return io.out('no users');
      io.out(table([['USER', 'PROFILE', 'E-MAIL', 'GROUPS', 'GRANTS', 'CREATED'], ...list.map((u) => [u.username, u.profile, u.email ?? '-', u.groups.join(', ') || '-', u.profile === 'customer' ? grantsText(u.effective) : 'all sources', new Date(u.createdAt).toISOString()])]));
    });

  withJsonOption(withConfigOption(users.command('add')))
    .description('add a user; prints a generated password unless --password-stdin is given')
    .argument('<name>', 'user name')
    .requiredOption('-p, --profile <profile>', `one of ${PROFILES.join(', ')}`)
    .option('--password-stdin', 'read the password from standard input')
    .option('--email <address>', 'where progress e-mails sent to a group of this user go')
    .action(async (name: string, opts: { profile: string; passwordStdin?: boolean; email?: string }, cmd: Command) => {
      const password = opts.passwordStdin ? await readStdin() : undefined;
      const result = await withAccess(cmd, (s) => s.add(name, opts.profile, password, cliActor(), { email: opts.email }));
      if (commonOptions(cmd).json) {
        return printJson(io, { username: result.user.username, profile: result.user.profile, email: result.user.email, ...(result.generatedPassword ? { password: result.generatedPassword } : {}) });
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
      const result = await withAccess(cmd, (s) => s.setPassword(name, password, cliActor()));
      if (commonOptions(cmd).json) return printJson(io, { username: name, ...(result.generatedPassword ? { password: result.generatedPassword } : {}) });
      io.out(`password of "${name}" changed`);
      if (result.generatedPassword) io.out(`password: ${result.generatedPassword}`);
    });

  withJsonOption(withConfigOption(users.command('email')))
    .description("set a user's e-mail address (progress e-mails sent to its groups), or clear it with --clear")
    .argument('<name>', 'user name')
    .argument('[address]', 'the e-mail address')
    .option('--clear', 'remove the address: progress e-mails to its groups no longer reach this user')
    .action(async (name: string, address: string | undefined, opts: { clear?: boolean }, cmd: Command) => {
      if ((address === undefined) === !opts.clear) throw new CliError('give either an e-mail address or --clear, such as "lapsebox users email anna anna@example.com"', 2);
      const user = await withAccess(cmd, (u, a) => a.userView(u.setEmail(name, address ?? null, cliActor())));
      if (commonOptions(cmd).json) return printJson(io, userJson(user));
      io.out(user.email === null ? `"${user.username}" has no e-mail address` : `e-mail address of "${user.username}": ${user.email}`);
    });

  withConfigOption(users.command('remove'))
    .description('remove a user (with its grants and group memberships)')
    .argument('<name>', 'user name')
    .action(async (name: string, _o, cmd: Command) => {
      await withAccess(cmd, (s) => s.remove(name, cliActor()));
      io.out(`removed "${name}"`);
    });

  withJsonOption(withConfigOption(users.command('grant')))
    .description('let a customer see a source (view) or also download from it (download)')
    .argument('<name>', 'user name')
    .argument('<source>', 'source id')
    .option(levelOption, levelHelp, 'view')
    .action(async (name: string, source: string, opts: { level: string }, cmd: Command) => {
      const user = await withAccess(cmd, (_u, a) => a.grantUser(name, source, opts.level, cliActor()));
      if (commonOptions(cmd).json) return printJson(io, userJson(user));
      io.out(`"${user.username}" may now ${opts.level === 'download' ? 'see and download' : 'see'} source "${source}"`);
    });

  withJsonOption(withConfigOption(users.command('revoke')))
    .description("remove a customer's own grant on a source (grants through groups stay)")
    .argument('<name>', 'user name')
    .argument('<source>', 'source id')
    .action(async (name: string, source: string, _o, cmd: Command) => {
      const user = await withAccess(cmd, (_u, a) => a.revokeUser(name, source, cliActor()));
      if (commonOptions(cmd).json) return printJson(io, userJson(user));
      const still = user.effective.find((g) => g.sourceId === source);
      io.out(`revoked "${user.username}" on "${source}"${still ? `; still ${still.level} through a group (${user.groups.join(', ')})` : ''}`);
    });

  groupsCommand(program, io);
}

function groupsCommand(program: Command, io: Output): void {
  const groups = program.command('groups').description('groups of users and their grants');

  withJsonOption(withConfigOption(groups.command('list')))
    .description('list groups, their members and grants')
    .action(async (_o, cmd: Command) => {
      const list = await withAccess(cmd, (_u, a) => a.groups());
      if (commonOptions(cmd).json) return printJson(io, list.map(groupJson));
      if (list.length === 0) return io.out('no groups');
      io.out(table([['GROUP', 'MEMBERS', 'GRANTS'], ...list.map((g) => [g.name, g.members.join(', ') || '-', grantsText(g.grants)])]));
    });

  withConfigOption(groups.command('add'))
    .description('add a group')
    .argument('<group>', 'group name')
    .action(async (name: string, _o, cmd: Command) => {
      await withAccess(cmd, (_u, a) => a.addGroup(name, cliActor()));
      io.out(`added group "${name}"`);
    });

  withConfigOption(groups.command('remove'))
    .description('remove a group (its members lose the grants it gave)')
    .argument('<group>', 'group name')
    .action(async (name: string, _o, cmd: Command) => {
      await withAccess(cmd, (_u, a) => a.removeGroup(name, cliActor()));
      io.out(`removed group "${name}"`);
    });

  withJsonOption(withConfigOption(groups.command('member')))
    .description('add a user to a group, or take it out with --remove')
    .argument('<group>', 'group name')
    .argument('<user>', 'user name')
    .option('--remove', 'take the user out of the group')
    .action(async (name: string, user: string, opts: { remove?: boolean }, cmd: Command) => {
      const group = await withAccess(cmd, (_u, a) => (opts.remove ? a.removeMember(name, user, cliActor()) : a.addMember(name, user, cliActor())));
      if (commonOptions(cmd).json) return printJson(io, groupJson(group));
      io.out(opts.remove ? `"${user}" is no longer in group "${group.name}"` : `"${user}" is in group "${group.name}"`);
    });

  withJsonOption(withConfigOption(groups.command('grant')))
    .description("let a group's customers see a source (view) or also download from it (download)")
    .argument('<group>', 'group name')
    .argument('<source>', 'source id')
    .option(levelOption, levelHelp, 'view')
    .action(async (name: string, source: string, opts: { level: string }, cmd: Command) => {
      const group = await withAccess(cmd, (_u, a) => a.grantGroup(name, source, opts.level, cliActor()));
      if (commonOptions(cmd).json) return printJson(io, groupJson(group));
      io.out(`group "${group.name}" may now ${opts.level === 'download' ? 'see and download' : 'see'} source "${source}"`);
    });

  withJsonOption(withConfigOption(groups.command('revoke')))
    .description("remove a group's grant on a source")
    .argument('<group>', 'group name')
    .argument('<source>', 'source id')
    .action(async (name: string, source: string, _o, cmd: Command) => {
      const group = await withAccess(cmd, (_u, a) => a.revokeGroup(name, source, cliActor()));
      if (commonOptions(cmd).json) return printJson(io, groupJson(group));
      io.out(`revoked group "${group.name}" on "${source}"`);
    });
}
