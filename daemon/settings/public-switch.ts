/**
 * The box-wide public switch (SPEC §6 `lapsebox public on|off`, issue 22): off, every
 * public route answers 404 at once, whatever the sources' `public` settings say; on
 * again, they answer as before. Kept in the database (migration 12), so it holds across
 * restarts, and read there on every request, so a change holds at once in every process.
 * The web API, the control socket (for the CLI) and the CLI on a stopped box all switch
 * it through here; each switch is audited as `public.switch`.
 */
import type { AuditRepository } from '../store/audit.repository';
import type { PublicSwitchRepository, PublicSwitchState } from '../store/public-switch.repository';
import type { Logger } from '../logger';

export type { PublicSwitchState } from '../store/public-switch.repository';

/** Who switched it, for the audit trail. */
export interface Switcher {
  /** `user:<name>` (web), `cli:<login>` (command line). */
  actor: string;
  /** The client's address, or `cli`. */
  address?: string;
}

/** The switch as the API, the control socket, the status and `lapsebox public --json` show it. */
export interface PublicSwitchJson {
  enabled: boolean;
  changedAt: string | null;
  changedBy: string | null;
}

export function publicSwitchJson(state: PublicSwitchState): PublicSwitchJson {
  return { enabled: state.enabled, changedAt: state.changedAt === null ? null : new Date(state.changedAt).toISOString(), changedBy: state.changedBy };
}

export interface PublicSwitchDeps {
  repo: PublicSwitchRepository;
  audit: Pick<AuditRepository, 'record'>;
  log?: Logger;
  now?: () => number;
}

export class PublicSwitch {
  readonly #deps: PublicSwitchDeps;
  readonly #now: () => number;

  constructor(deps: PublicSwitchDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Whether public routes may answer now. */
  enabled(): boolean {
    return this.#deps.repo.get().enabled;
  }

  state(): PublicSwitchState {
    return this.#deps.repo.get();
  }

  /**
   * Switches the public pictures on or off, and records it in the audit in the same
   * transaction. Switching to what it already is changes nothing and records nothing
   * (a second press of "off" in a hurry is harmless).
   */
  set(enabled: boolean, who: Switcher): { state: PublicSwitchState; changed: boolean } {
    const repo = this.#deps.repo;
    const at = this.#now();
    const changed = repo.transaction(() => {
      const before = repo.get();
      if (before.enabled === enabled) return false;
      repo.set(enabled, at, who.actor);
      this.#deps.audit.record({
        at,
        actor: who.actor,
        ...(who.address !== undefined ? { address: who.address } : {}),
        action: 'public.switch',
        target: 'box',
        oldValue: { enabled: before.enabled },
        newValue: { enabled },
      });
      return true;
    });
    if (changed) this.#deps.log?.info({ actor: who.actor, enabled }, enabled ? 'public pictures switched on' : 'public pictures switched off: every public route answers 404');
    return { state: repo.get(), changed };
  }
}
