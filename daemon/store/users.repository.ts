import type { Db } from './database';
import type { Profile, User } from '../domain/users';

/** The user with the stored hash; only the authenticator and the users service see this. */
export interface UserWithHash extends User {
  passwordHash: string;
}

interface Row {
  id: number;
  username: string;
  profile: Profile;
  password_hash: string;
  email: string | null;
  language: string | null;
  created_at: number;
  updated_at: number;
}

const toUser = (r: Row): UserWithHash => ({
  id: r.id,
  username: r.username,
  profile: r.profile,
  passwordHash: r.password_hash,
  email: r.email,
  language: r.language,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class UsersRepository {
  readonly #db: Db;
  readonly #byName;
  readonly #byId;
  readonly #all;
  readonly #insert;
  readonly #setHash;
  readonly #delete;
  readonly #countProfile;
  readonly #setProfile;
  readonly #setEmail;
  readonly #setLanguage;

  constructor(db: Db) {
    this.#db = db;
    this.#byName = db.prepare<[string], Row>(`SELECT * FROM users WHERE username = ?`);
    this.#byId = db.prepare<[number], Row>(`SELECT * FROM users WHERE id = ?`);
    this.#all = db.prepare<[], Row>(`SELECT * FROM users ORDER BY username`);
    this.#insert = db.prepare<[string, Profile, string, string | null, number, number]>(
      `INSERT INTO users (username, profile, password_hash, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#setHash = db.prepare<[string, number, number]>(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`);
    this.#delete = db.prepare<[number]>(`DELETE FROM users WHERE id = ?`);
    this.#setProfile = db.prepare<[Profile, number, number]>(`UPDATE users SET profile = ?, updated_at = ? WHERE id = ?`);
    this.#setEmail = db.prepare<[string | null, number, number]>(`UPDATE users SET email = ?, updated_at = ? WHERE id = ?`);
    this.#setLanguage = db.prepare<[string | null, number, number]>(`UPDATE users SET language = ?, updated_at = ? WHERE id = ?`);
    this.#countProfile = db.prepare<[Profile], { n: number }>(`SELECT count(*) AS n FROM users WHERE profile = ?`);
  }

  findByName(username: string): UserWithHash | undefined {
    const r = this.#byName.get(username);
    return r && toUser(r);
  }

  findById(id: number): UserWithHash | undefined {
    const r = this.#byId.get(id);
    return r && toUser(r);
  }

  list(): User[] {
    return this.#all.all().map((r) => {
      const { passwordHash: _hash, ...user } = toUser(r);
      return user;
    });
  }

  insert(username: string, profile: Profile, passwordHash: string, now: number, email: string | null = null): number {
    return Number(this.#insert.run(username, profile, passwordHash, email, now, now).lastInsertRowid);
  }

  setPasswordHash(id: number, passwordHash: string, now: number): void {
    this.#setHash.run(passwordHash, now, id);
  }

  setProfile(id: number, profile: Profile, now: number): void {
    this.#setProfile.run(profile, now, id);
  }

  setEmail(id: number, email: string | null, now: number): void {
    this.#setEmail.run(email, now, id);
  }

  setLanguage(id: number, language: string | null, now: number): void {
    this.#setLanguage.run(language, now, id);
  }

  delete(id: number): void {
    this.#delete.run(id);
  }

  countWithProfile(profile: Profile): number {
    return this.#countProfile.get(profile)!.n;
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
