/**
 * Groups and grants (SPEC §4): the rules shared by the CLI and the web API. A
 * customer's level on a source is the highest of its own grant and its groups'
 * grants; directors and maintainers need none. Every change is audited.
 */
import { conflict, invalid, notFound } from '../errors';
import { say } from '../i18n/say';
import type { AuditRepository } from '../store/audit.repository';
import { GRANT_LEVELS, type AccessRepository, type EffectiveGrant, type Grant, type GrantLevel, type Group } from '../store/access.repository';
import type { UsersRepository } from '../store/users.repository';
import type { User } from '../domain/users';
import type { Grants, Level, Principal } from './permissions';

/** Who made a change, for the audit trail. */
export interface Actor {
  actor: string;
  /** The client's address, or `cli`. */
  address?: string;
}

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const noUser = (username: string) => notFound(`no user named "${username}"`, { message: say('apiError.user.notFound', { name: username }) });

export interface GroupView {
  name: string;
  createdAt: number;
  members: string[];
  grants: Grant[];
}

export interface UserView extends User {
  groups: string[];
  grants: Grant[];
  /** The level on each source after combining its own grants and its groups'; customers only. */
  effective: Grant[];
}

export function checkGroupName(name: string): string {
  if (!GROUP_NAME.test(name)) {
    throw invalid(`invalid group name "${name}": expected 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit`, { name: 'letters, digits, ".", "_", "@" or "-"' }, {
      message: say('apiError.group.badName', { name }),
      details: { name: say('apiError.group.nameChars') },
    });
  }
  return name;
}

export function checkLevel(level: unknown): GrantLevel {
  if (typeof level !== 'string' || !(GRANT_LEVELS as readonly string[]).includes(level)) {
    throw invalid(`invalid level ${JSON.stringify(level)}: expected ${GRANT_LEVELS.join(' or ')}`, { level: `expected ${GRANT_LEVELS.join(' or ')}` });
  }
  return level as GrantLevel;
}

/** The highest level per source among grants. */
export function combine(grants: readonly Grant[]): Map<string, GrantLevel> {
  const out = new Map<string, GrantLevel>();
  for (const g of grants) {
    const had = out.get(g.sourceId);
    if (had === undefined || GRANT_LEVELS.indexOf(g.level) > GRANT_LEVELS.indexOf(had)) out.set(g.sourceId, g.level);
  }
  return out;
}

export class AccessService {
  readonly #access: AccessRepository;
  readonly #users: UsersRepository;
  readonly #audit: AuditRepository;
  readonly #sourceIds: () => readonly string[];
  readonly #now: () => number;

  constructor(deps: { access: AccessRepository; users: UsersRepository; audit: AuditRepository; sourceIds: () => readonly string[]; now?: () => number }) {
    this.#access = deps.access;
    this.#users = deps.users;
    this.#audit = deps.audit;
    this.#sourceIds = deps.sourceIds;
    this.#now = deps.now ?? Date.now;
  }

  /** A customer's levels per source, for the permission checks of one request. */
  grantsFor(user: Principal): Grants {
    if (user.profile !== 'customer') return new Map<string, Level>();
    return combine(this.#access.effectiveGrants(user.id));
  }

  userView(user: User): UserView {
    const effective: EffectiveGrant[] = user.profile === 'customer' ? this.#access.effectiveGrants(user.id) : [];
    return {
      ...user,
      groups: this.#access.groupsOf(user.id),
      grants: this.#access.grantsOf({ userId: user.id }),
      effective: [...combine(effective)].map(([sourceId, level]) => ({ sourceId, level })).sort((a, b) => a.sourceId.localeCompare(b.sourceId)),
    };
  }

  groups(): GroupView[] {
    return this.#access.groups().map((g) => this.#groupView(g));
  }

  group(name: string): GroupView {
    return this.#groupView(this.#group(name));
  }

  addGroup(name: string, who: Actor): GroupView {
    checkGroupName(name);
    const now = this.#now();
    return this.#access.transaction(() => {
      if (this.#access.findGroup(name)) throw conflict(`group "${name}" already exists`, { message: say('apiError.group.exists', { name }) });
      this.#access.insertGroup(name, now);
      this.#record(who, 'group.add', name, undefined, { name });
      return this.group(name);
    });
  }

  removeGroup(name: string, who: Actor): void {
    this.#access.transaction(() => {
      const view = this.group(name);
      this.#access.deleteGroup(this.#group(name).id);
      this.#record(who, 'group.remove', view.name, { members: view.members, grants: view.grants }, undefined);
    });
  }

  addMember(groupName: string, username: string, who: Actor): GroupView {
    return this.#access.transaction(() => {
      const group = this.#group(groupName);
      const user = this.#user(username);
      if (this.#access.addMember(group.id, user.id)) this.#record(who, 'group.member.add', group.name, undefined, { user: user.username });
      return this.#groupView(group);
    });
  }

  removeMember(groupName: string, username: string, who: Actor): GroupView {
    return this.#access.transaction(() => {
      const group = this.#group(groupName);
      const user = this.#user(username);
      if (!this.#access.removeMember(group.id, user.id)) throw notFound(`"${user.username}" is not a member of group "${group.name}"`, { message: say('apiError.group.notMember', { user: user.username, group: group.name }) });
      this.#record(who, 'group.member.remove', group.name, { user: user.username }, undefined);
      return this.#groupView(group);
    });
  }

  grantUser(username: string, sourceId: string, level: unknown, who: Actor): UserView {
    const checked = checkLevel(level);
    this.#checkSource(sourceId);
    return this.#access.transaction(() => {
      const user = this.#user(username);
      if (user.profile !== 'customer') {
        throw invalid(`"${user.username}" is a ${user.profile}, who sees every source already; grants are for customers`, { username: `a ${user.profile}, not a customer` }, {
          message: say('apiError.grant.notCustomer', { user: user.username, profile: user.profile }),
          details: { username: say('apiError.grant.notCustomerDetail', { profile: user.profile }) },
        });
      }
      const before = this.#access.grantsOf({ userId: user.id }).find((g) => g.sourceId === sourceId);
      if (before?.level !== checked) {
        this.#access.setGrant({ userId: user.id }, sourceId, checked, this.#now());
        this.#record(who, 'user.grant', user.username, before ? { source: sourceId, level: before.level } : undefined, { source: sourceId, level: checked });
      }
      return this.userView(this.#user(username));
    });
  }

  revokeUser(username: string, sourceId: string, who: Actor): UserView {
    return this.#access.transaction(() => {
      const user = this.#user(username);
      const before = this.#access.grantsOf({ userId: user.id }).find((g) => g.sourceId === sourceId);
      if (!before || !this.#access.revoke({ userId: user.id }, sourceId)) {
        throw notFound(`"${user.username}" has no grant on source "${sourceId}"`, { message: say('apiError.grant.userHasNone', { user: user.username, source: sourceId }) });
      }
      this.#record(who, 'user.revoke', user.username, { source: sourceId, level: before.level }, undefined);
      return this.userView(this.#user(username));
    });
  }

  grantGroup(groupName: string, sourceId: string, level: unknown, who: Actor): GroupView {
    const checked = checkLevel(level);
    this.#checkSource(sourceId);
    return this.#access.transaction(() => {
      const group = this.#group(groupName);
      const before = this.#access.grantsOf({ groupId: group.id }).find((g) => g.sourceId === sourceId);
      if (before?.level !== checked) {
        this.#access.setGrant({ groupId: group.id }, sourceId, checked, this.#now());
        this.#record(who, 'group.grant', group.name, before ? { source: sourceId, level: before.level } : undefined, { source: sourceId, level: checked });
      }
      return this.#groupView(group);
    });
  }

  revokeGroup(groupName: string, sourceId: string, who: Actor): GroupView {
    return this.#access.transaction(() => {
      const group = this.#group(groupName);
      const before = this.#access.grantsOf({ groupId: group.id }).find((g) => g.sourceId === sourceId);
      if (!before || !this.#access.revoke({ groupId: group.id }, sourceId)) {
        throw notFound(`group "${group.name}" has no grant on source "${sourceId}"`, { message: say('apiError.grant.groupHasNone', { group: group.name, source: sourceId }) });
      }
      this.#record(who, 'group.revoke', group.name, { source: sourceId, level: before.level }, undefined);
      return this.#groupView(group);
    });
  }

  #groupView(g: Group): GroupView {
    return { name: g.name, createdAt: g.createdAt, members: this.#access.members(g.id), grants: this.#access.grantsOf({ groupId: g.id }) };
  }

  #group(name: string): Group {
    const group = this.#access.findGroup(name);
    if (!group) throw notFound(`no group named "${name}"`, { message: say('apiError.group.notFound', { name }) });
    return group;
  }

  #user(username: string): User & { id: number } {
    const user = this.#users.findByName(username);
    if (!user) throw noUser(username);
    const { passwordHash: _hash, ...rest } = user;
    return rest;
  }

  #checkSource(sourceId: string): void {
    const ids = this.#sourceIds();
    if (!ids.includes(sourceId)) {
      throw invalid(`no source "${sourceId}" in the configuration; sources: ${ids.join(', ') || 'none'}`, { source: `expected one of: ${ids.join(', ')}` }, {
        message: say('apiError.source.notInConfig', { source: sourceId }),
        details: { source: say('apiError.oneOf', { values: ids.join(', ') }) },
      });
    }
  }

  #record(who: Actor, action: string, target: string, oldValue: unknown, newValue: unknown): void {
    this.#audit.record({
      at: this.#now(),
      actor: who.actor,
      ...(who.address ? { address: who.address } : {}),
      action,
      target,
      ...(oldValue !== undefined ? { oldValue } : {}),
      ...(newValue !== undefined ? { newValue } : {}),
    });
  }
}

/** The JSON form of a user, for `users list --json` and the API: never the hash. */
export function userJson(u: UserView) {
  return {
    username: u.username,
    profile: u.profile,
    email: u.email,
    createdAt: new Date(u.createdAt).toISOString(),
    updatedAt: new Date(u.updatedAt).toISOString(),
    groups: u.groups,
    grants: u.grants.map((g) => ({ source: g.sourceId, level: g.level })),
    effective: u.effective.map((g) => ({ source: g.sourceId, level: g.level })),
  };
}

/** The JSON form of a group. */
export function groupJson(g: GroupView) {
  return { name: g.name, createdAt: new Date(g.createdAt).toISOString(), members: g.members, grants: g.grants.map((x) => ({ source: x.sourceId, level: x.level })) };
}
