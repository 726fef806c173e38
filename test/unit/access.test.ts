/**
 * Groups, grants and the per-day picture counts on a real SQLite file.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { MIGRATIONS } from '../../daemon/store/migrations';
import { AccessService, combine } from '../../daemon/auth/access.service';
import { UsersService } from '../../daemon/auth/users.service';
import { levelOn } from '../../daemon/auth/permissions';
import { tempDir } from '../helpers/env';

const WHO = { actor: 'test', address: 'test' };

describe('access: groups and grants', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Repositories;
  let access: AccessService;
  let users: UsersService;
  let sources = ['north', 'south', 'east'];

  beforeEach(async () => {
    tmp = tempDir();
    store = openRepositories(tmp.dir);
    users = new UsersService(store.users, store.audit);
    access = new AccessService({ access: store.access, users: store.users, audit: store.audit, sourceIds: () => sources });
    for (const [name, profile] of [['ann', 'customer'], ['bob', 'customer'], ['dora', 'director']] as const) {
      store.users.insert(name, profile, 'scrypt$unused', 0);
    }
  });

  afterEach(() => {
    store.close();
    tmp.cleanup();
    sources = ['north', 'south', 'east'];
  });

  const principal = (name: string) => {
    const u = store.users.findByName(name)!;
    return { id: u.id, username: u.username, profile: u.profile };
  };

  it('combines a user\'s own grants with its groups\', keeping the highest level per source', () => {
    expect([...combine([{ sourceId: 'a', level: 'download' }, { sourceId: 'a', level: 'view' }, { sourceId: 'b', level: 'view' }])]).toEqual([
      ['a', 'download'],
      ['b', 'view'],
    ]);
    access.grantUser('ann', 'north', 'view', WHO);
    access.addGroup('client', WHO);
    access.addGroup('press', WHO);
    access.addMember('client', 'ann', WHO);
    access.addMember('press', 'ann', WHO);
    access.grantGroup('client', 'north', 'download', WHO);
    access.grantGroup('press', 'south', 'view', WHO);
    const grants = access.grantsFor(principal('ann'));
    expect(Object.fromEntries(grants)).toEqual({ north: 'download', south: 'view' });
    expect(levelOn(principal('ann'), 'east', grants)).toBeNull();
    expect(Object.fromEntries(access.grantsFor(principal('bob')))).toEqual({});
    // Directors need no grants and get none.
    expect(access.grantsFor(principal('dora')).size).toBe(0);
    expect(levelOn(principal('dora'), 'east', new Map())).toBe('edit');
  });

  it('refuses grants that make no sense, naming what is wrong', () => {
    expect(() => access.grantUser('ann', 'nowhere', 'view', WHO)).toThrow('no source "nowhere" in the configuration; sources: north, south, east');
    expect(() => access.grantUser('ann', 'north', 'edit', WHO)).toThrow('invalid level "edit": expected view or download');
    expect(() => access.grantUser('dora', 'north', 'view', WHO)).toThrow('"dora" is a director, who sees every source already');
    expect(() => access.grantUser('zed', 'north', 'view', WHO)).toThrow('no user named "zed"');
    expect(() => access.revokeUser('ann', 'north', WHO)).toThrow('"ann" has no grant on source "north"');
    expect(() => access.addGroup('../x', WHO)).toThrow('invalid group name "../x"');
    access.addGroup('client', WHO);
    expect(() => access.addGroup('Client', WHO)).toThrow('group "Client" already exists');
    expect(() => access.removeMember('client', 'ann', WHO)).toThrow('"ann" is not a member of group "client"');
  });

  it('drops grants and memberships with their user or group, and audits every change once', () => {
    access.addGroup('client', WHO);
    access.addMember('client', 'ann', WHO);
    access.addMember('client', 'ann', WHO); // already a member: no second audit entry
    access.grantGroup('client', 'north', 'view', WHO);
    access.grantUser('bob', 'south', 'download', WHO);
    access.grantUser('bob', 'south', 'download', WHO); // unchanged: not audited
    users.remove('bob', WHO);
    expect(store.db.prepare('SELECT count(*) AS n FROM grants WHERE user_id IS NOT NULL').get()).toEqual({ n: 0 });
    access.removeGroup('client', WHO);
    expect(access.grantsFor(principal('ann')).size).toBe(0);
    expect(store.db.prepare('SELECT count(*) AS n FROM group_members').get()).toEqual({ n: 0 });
    expect(store.audit.query().map((e) => e.action).reverse()).toEqual(['group.add', 'group.member.add', 'group.grant', 'user.grant', 'user.remove', 'group.remove']);
    expect(store.audit.query({ action: 'group.remove' })[0]).toMatchObject({ address: 'test', oldValue: { members: ['ann'], grants: [{ sourceId: 'north', level: 'view' }] } });
  });

  it('keeps a grant on a source that left the configuration until it is revoked', () => {
    access.grantUser('ann', 'east', 'view', WHO);
    sources = ['north'];
    expect(Object.fromEntries(access.grantsFor(principal('ann')))).toEqual({ east: 'view' });
    access.revokeUser('ann', 'east', WHO);
    expect(access.grantsFor(principal('ann')).size).toBe(0);
  });
});

describe('per-day picture counts', () => {
  let tmp: ReturnType<typeof tempDir>;
  afterEach(() => tmp.cleanup());

  const insert = (db: Database.Database, source: string, date: string, n: number, rejection: string | null = null) => {
    const stmt = db.prepare(
      `INSERT INTO pictures (source_id, taken_at, local_date, path, size, width, height, rejection, derivatives, created_at) VALUES (?, ?, ?, ?, 1, 1, 1, ?, '', 0)`,
    );
    for (let i = 0; i < n; i++) stmt.run(source, Date.parse(`${date}T12:00:00Z`) + i, date, `${source}/${date}/${i}-${rejection ?? 'ok'}-${Math.random()}.jpg`, rejection);
  };

  it('are filled from the pictures already indexed when the database is upgraded', () => {
    tmp = tempDir();
    const file = path.join(tmp.dir, 'lapsebox.db');
    const old = new Database(file);
    for (const [i, step] of MIGRATIONS.slice(0, 5).entries()) {
      old.exec(step);
      old.pragma(`user_version = ${i + 1}`);
    }
    insert(old, 'north', '2026-11-20', 3);
    insert(old, 'north', '2026-11-20', 2, 'too-dark');
    insert(old, 'south', '2026-11-21', 1);
    old.close();
    const store = openRepositories(tmp.dir);
    expect(store.pictures.days('north')).toEqual([{ date: '2026-11-20', count: 3 }]);
    expect(store.pictures.days('south')).toEqual([{ date: '2026-11-21', count: 1 }]);
    store.close();
  });

  it('follow inserts, missing files, rejections and deletions', () => {
    tmp = tempDir();
    const store = openRepositories(tmp.dir);
    insert(store.db, 'north', '2026-11-20', 4);
    insert(store.db, 'north', '2026-11-21', 1);
    insert(store.db, 'north', '2026-11-21', 1, 'corrupt');
    expect(store.pictures.days('north')).toEqual([
      { date: '2026-11-20', count: 4 },
      { date: '2026-11-21', count: 1 },
    ]);
    const ids = (store.db.prepare(`SELECT id FROM pictures WHERE local_date = '2026-11-20' ORDER BY id`).all() as { id: number }[]).map((r) => r.id);
    store.pictures.setMissing(ids[0]!, true);
    store.pictures.setMissing(ids[0]!, true); // twice: counted once
    store.db.prepare(`UPDATE pictures SET rejection = 'too-bright' WHERE id = ?`).run(ids[1]);
    expect(store.pictures.days('north')[0]).toEqual({ date: '2026-11-20', count: 2 });
    store.pictures.setMissing(ids[0]!, false);
    expect(store.pictures.days('north')[0]).toEqual({ date: '2026-11-20', count: 3 });
    store.db.prepare(`DELETE FROM pictures WHERE local_date = '2026-11-21'`).run();
    expect(store.pictures.days('north')).toEqual([{ date: '2026-11-20', count: 3 }]);
    const brute = () => (store.db.prepare(`SELECT count(*) AS n FROM pictures WHERE source_id = 'north' AND missing = 0`).get() as { n: number }).n;
    expect(store.pictures.count('north')).toBe(brute()); // usable from the days, rejected from their index
    expect(store.pictures.count('north')).toBe(4);
    store.db.prepare(`DELETE FROM pictures WHERE id = ?`).run(ids[1]); // a rejected one: the count does not move
    expect(store.pictures.days('north')).toEqual([{ date: '2026-11-20', count: 3 }]);
    expect(store.pictures.count('north')).toBe(brute());
    store.close();
  });
});
