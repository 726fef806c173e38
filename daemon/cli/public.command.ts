/**
 * `lapsebox public [on|off]` (SPEC §6): the box-wide public switch. Off, every public
 * route (`/public/...`) answers 404 at once; the switch is kept in the database, so it
 * holds across restarts. Through the running daemon when there is one (it writes it, and
 * the change is audited there), else in the database of the data folder, which the next
 * start obeys. Audited as `cli:<login>`.
 */
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { publicSwitchJson, type PublicSwitchJson } from '../settings/public-switch';
import { daemonOrHere } from './daemon-or-here';
import { CliError, cliActor, commonOptions, loadFor, printJson, withConfigOption, withJsonOption, type Output } from './context';

interface Switched extends PublicSwitchJson {
  /** False when it already was what was asked (nothing written, nothing audited). */
  changed: boolean;
  /** Whether a running daemon made the change. */
  daemon: boolean;
}

export function publicCommand(program: Command, io: Output): void {
  withJsonOption(withConfigOption(program.command('public')))
    .description('the box-wide public switch: "off" makes every public picture and embed page answer 404 at once, "on" brings them back; alone, prints the state')
    .argument('[state]', 'on or off')
    .action(async (wanted: string | undefined, _o, cmd: Command) => {
      if (wanted !== undefined && wanted !== 'on' && wanted !== 'off') throw new CliError(`expected "on" or "off", not "${wanted}" (lapsebox public on|off)`, 2);
      const { config } = loadFor(cmd);
      const json = commonOptions(cmd).json;
      const zone = config.appliance.timezone;

      if (wanted === undefined) {
        const state = await daemonOrHere<PublicSwitchJson>(config, {
          daemon: async (ask) => {
            const live = await ask('GET', '/public', 10_000);
            return live && live.status === 200 ? (live.body as PublicSwitchJson) : null;
          },
          here: (services) => publicSwitchJson(services().publicSwitch.state()),
        });
        if (json) return printJson(io, state);
        return io.out(describe(state, zone));
      }

      const enabled = wanted === 'on';
      const who = cliActor();
      const result = await daemonOrHere<Switched>(config, {
        daemon: async (ask) => {
          const live = await ask('PUT', '/public', 10_000, { enabled, actor: who.actor });
          if (live === null) return null;
          // A daemon from before the switch has no such route: writing the database under it would be obeyed only at its next start.
          if (live.status === 404) throw new CliError('the running daemon does not know the public switch (an older lapsebox): update and restart it, then try again', 1);
          if (live.status !== 200) throw new CliError(`the daemon refused: ${(live.body as { error?: string } | null)?.error ?? `it answered ${live.status}`}`, 1);
          return { ...(live.body as PublicSwitchJson & { changed: boolean }), daemon: true };
        },
        here: (services) => {
          const { state, changed } = services().publicSwitch.set(enabled, who);
          return { ...publicSwitchJson(state), changed, daemon: false };
        },
      });
      if (json) return printJson(io, result);
      const word = enabled ? 'on' : 'off';
      if (!result.changed) return io.out(`public pictures were already ${word}\n${describe(result, zone)}`);
      io.out(
        enabled
          ? `public pictures switched on: sources with public.enabled answer again${result.daemon ? '' : ' (the daemon is not running; it starts with them on)'}`
          : `public pictures switched off: every /public/ route answers 404${result.daemon ? ' from now on' : ' (the daemon is not running; it starts with them off)'}`,
      );
    });
}

function describe(state: PublicSwitchJson, zone: string): string {
  const when = state.changedAt ? DateTime.fromISO(state.changedAt, { zone }).toFormat('yyyy-LL-dd HH:mm:ss') : null;
  const since = when ? ` since ${when} (${zone}), switched by ${state.changedBy}` : '';
  return state.enabled
    ? `public pictures: on${since} (sources with public.enabled answer; "lapsebox public off" stops them all at once)`
    : `public pictures: OFF${since}: every /public/ route answers 404 ("lapsebox public on" to switch them back on)`;
}
