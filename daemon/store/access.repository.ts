import type { Db } from './database';

/** A customer's level on a source through a grant. */
export const GRANT_LEVELS = ['view', 'download'] as const;
export type GrantLevel = (typeof GRANT_LEVELS)[number];

export interface Group {
  id: number;
  name: string;
  createdAt: number;
}

export interface Grant {
  sourceId: string;
  level: GrantLevel;
}

/** A grant with where it comes from: the user's own, or one of its groups'. */
export interface EffectiveGrant extends Grant {
  via: string | null;
}

type Subject = { userId: number } | { groupId: number };

/** Groups, their members, and grants on sources to users and groups (SPEC §4). */
export class AccessRepository {
  readonly #db: Db;
  readonly #groupByName;
  readonly #groups;
  readonly #insertGroup;
  readonly #deleteGroup;
  readonly #members;
  readonly #addresses;
  readonly #groupsOfUser;
  readonly #addMember;
  readonly #removeMember;
  readonly #userGrants;
  readonly #groupGrants;
  readonly #effective;
  readonly #setUserGrant;
  readonly #setGroupGrant;
  readonly #revokeUser;
  readonly #revokeGroup;

  constructor(db: Db) {
    this.#db = db;
    this.#groupByName = db.prepare<[string], { id: number; name: string; created_at: number }>(`SELECT * FROM groups WHERE name = ?`);
    this.#groups = db.prepare<[], { id: number; name: string; created_at: number }>(`SELECT * FROM groups ORDER BY name COLLATE NOCASE`);
    this.#insertGroup = db.prepare<[string, number]>(`INSERT INTO groups (name, created_at) VALUES (?, ?)`);
    this.#deleteGroup = db.prepare<[number]>(`DELETE FROM groups WHERE id = ?`);
    this.#members = db.prepare<[number], { username: string }>(
      `SELECT u.username FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = ? ORDER BY u.username COLLATE NOCASE`,
    );
    this.#addresses = db.prepare<[number], { username: string; email: string | null }>(
      `SELECT u.username, u.email FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = ? ORDER BY u.username COLLATE NOCASE`,
    );
    this.#groupsOfUser = db.prepare<[number], { name: string }>(
      `SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.name COLLATE NOCASE`,
    );
    this.#addMember = db.prepare<[number, number]>(`INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)`);
    this.#removeMember = db.prepare<[number, number]>(`DELETE FROM group_members WHERE group_id = ? AND user_id = ?`);
    this.#userGrants = db.prepare<[number], { source_id: string; level: GrantLevel }>(`SELECT source_id, level FROM grants WHERE user_id = ? ORDER BY source_id`);
    this.#groupGrants = db.prepare<[number], { source_id: string; level: GrantLevel }>(`SELECT source_id, level FROM grants WHERE group_id = ? ORDER BY source_id`);
    // Every grant that applies to a user: its own and its groups'. One indexed read per request.
    this.#effective = db.prepare<{ user: number }, { source_id: string; level: GrantLevel; via: string | null }>(
      `SELECT source_id, level, NULL AS via FROM grants WHERE user_id = @user
       UNION ALL
       SELECT gr.source_id, gr.level, g.name AS via FROM group_members m
         JOIN grants gr ON gr.group_id = m.group_id JOIN groups g ON g.id = m.group_id
       WHERE m.user_id = @user`,
    );
    this.#setUserGrant = db.prepare<[number, string, GrantLevel, number]>(
      `INSERT INTO grants (user_id, source_id, level, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id, source_id) WHERE user_id IS NOT NULL DO UPDATE SET level = excluded.level`,
    );
    this.#setGroupGrant = db.prepare<[number, string, GrantLevel, number]>(
      `INSERT INTO grants (group_id, source_id, level, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (group_id, source_id) WHERE group_id IS NOT NULL DO UPDATE SET level = excluded.level`,
    );
    this.#revokeUser = db.prepare<[number, string]>(`DELETE FROM grants WHERE user_id = ? AND source_id = ?`);
    this.#revokeGroup = db.prepare<[number, string]>(`DELETE FROM grants WHERE group_id = ? AND source_id = ?`);
  }

  findGroup(name: string): Group | undefined {
    const r = this.#groupByName.get(name);
    return r && { id: r.id, name: r.name, createdAt: r.created_at };
  }

  groups(): Group[] {
    return this.#groups.all().map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
  }

  insertGroup(name: string, now: number): number {
    return Number(this.#insertGroup.run(name, now).lastInsertRowid);
  }

  deleteGroup(id: number): void {
    this.#deleteGroup.run(id);
  }

  members(groupId: number): string[] {
    return this.#members.all(groupId).map((r) => r.username);
  }

  /** A group's members with their e-mail addresses (progress e-mails); null when there is no such group. */
  memberAddresses(groupName: string): { username: string; email: string | null }[] | null {
    const group = this.findGroup(groupName);
    return group ? this.#addresses.all(group.id) : null;
  }

  groupsOf(userId: number): string[] {
    return this.#groupsOfUser.all(userId).map((r) => r.name);
  }

  /** False when the user already was a member. */
  addMember(groupId: number, userId: number): boolean {
    return this.#addMember.run(groupId, userId).changes > 0;
  }

  /** False when the user was not a member. */
  removeMember(groupId: number, userId: number): boolean {
    return this.#removeMember.run(groupId, userId).changes > 0;
  }

  grantsOf(subject: Subject): Grant[] {
    const rows = 'userId' in subject ? this.#userGrants.all(subject.userId) : this.#groupGrants.all(subject.groupId);
    return rows.map((r) => ({ sourceId: r.source_id, level: r.level }));
  }

  /** Every grant that applies to a user, its own and through its groups. */
  effectiveGrants(userId: number): EffectiveGrant[] {
    return this.#effective.all({ user: userId }).map((r) => ({ sourceId: r.source_id, level: r.level, via: r.via }));
  }

  setGrant(subject: Subject, sourceId: string, level: GrantLevel, now: number): void {
    if ('userId' in subject) this.#setUserGrant.run(subject.userId, sourceId, level, now);
    else this.#setGroupGrant.run(subject.groupId, sourceId, level, now);
  }

  /** False when there was no such grant. */
  revoke(subject: Subject, sourceId: string): boolean {
    const result = 'userId' in subject ? this.#revokeUser.run(subject.userId, sourceId) : this.#revokeGroup.run(subject.groupId, sourceId);
    return result.changes > 0;
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
