/**
 * Managing users: the rules shared by the CLI and the web API.
 * Passwords are hashed here and never stored, logged or returned in clear.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { conflict, invalid, notFound } from '../errors';
import { say } from '../i18n/say';
import type { AuditRepository } from '../store/audit.repository';
import { type UsersRepository } from '../store/users.repository';
import { PROFILES, type Profile, type User } from '../domain/users';
import { generatePassword, hashPassword } from './password';
import type { Actor } from './access.service';

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const MIN_PASSWORD_LENGTH = 10;
export const INITIAL_PASSWORD_FILE = 'initial-admin-password';

export function checkUsername(username: string): string {
  if (!USERNAME.test(username)) {
    throw invalid(`invalid user name "${username}": expected 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit`, { username: '1 to 64 letters, digits, ".", "_", "@" or "-"' }, {
      message: say('apiError.user.badName', { name: username }),
      details: { username: say('apiError.user.nameChars') },
    });
  }
  return username;
}

export function checkProfile(profile: string): Profile {
  if (!(PROFILES as readonly string[]).includes(profile)) {
    throw invalid(`invalid profile "${profile}": expected one of ${PROFILES.join(', ')}`, { profile: `one of ${PROFILES.join(', ')}` });
  }
  return profile as Profile;
}

/** The same check as the addresses of the config file (alerts.email.to, sources[].progress.to). */
const EMAIL = z.email();

/** A user's e-mail address, trimmed; throws invalid (with `email` in the details) when it is not one. */
export function checkEmail(address: string): string {
  const trimmed = address.trim();
  if (trimmed.length > 254 || !EMAIL.safeParse(trimmed).success) {
    throw invalid(`invalid e-mail address "${address}": expected an address such as anna@example.com`, { email: 'an e-mail address such as anna@example.com' }, {
      message: say('apiError.user.badEmail', { address }),
      details: { email: say('apiError.user.emailExample') },
    });
  }
  return trimmed;
}

function checkPassword(password: string): string {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw invalid(`the password is too short: at least ${MIN_PASSWORD_LENGTH} characters are needed`, { password: `at least ${MIN_PASSWORD_LENGTH} characters` }, {
      message: say('apiError.user.passwordShort', { min: MIN_PASSWORD_LENGTH }),
      details: { password: say('apiError.user.passwordMin', { min: MIN_PASSWORD_LENGTH }) },
    });
  }
  if (password.length > 1024) {
    throw invalid('the password is too long: at most 1024 characters', { password: 'at most 1024 characters' }, {
      message: say('apiError.user.passwordLong', { max: 1024 }),
      details: { password: say('apiError.user.passwordMax', { max: 1024 }) },
    });
  }
  return password;
}

const userExists = (username: string) => conflict(`user "${username}" already exists`, { message: say('apiError.user.exists', { name: username }) });
const noUser = (username: string) => notFound(`no user named "${username}"`, { message: say('apiError.user.notFound', { name: username }) });

export class UsersService {
  readonly #users: UsersRepository;
  readonly #audit: AuditRepository;
  readonly #now: () => number;

  constructor(users: UsersRepository, audit: AuditRepository, now: () => number = Date.now) {
    this.#users = users;
    this.#audit = audit;
    this.#now = now;
  }

  list(): User[] {
    return this.#users.list();
  }

  /** Adds a user; when no password is given, generates one and returns it once. */
  async add(username: string, profile: string, password: string | undefined, who: Actor, options: { email?: string | undefined } = {}): Promise<{ user: User; generatedPassword?: string }> {
    checkUsername(username);
    const checkedProfile = checkProfile(profile);
    const email = options.email === undefined ? null : checkEmail(options.email);
    const clear = password === undefined ? generatePassword() : checkPassword(password);
    if (this.#users.findByName(username)) throw userExists(username);
    const hash = await hashPassword(clear);
    const now = this.#now();
    const id = this.#users.transaction(() => {
      // Checked again inside the transaction: another process may have added it while we hashed.
      if (this.#users.findByName(username)) throw userExists(username);
      const newId = this.#users.insert(username, checkedProfile, hash, now, email);
      this.#audit.record({ at: now, ...who, action: 'user.add', target: username, newValue: { profile: checkedProfile, ...(email !== null ? { email } : {}) } });
      return newId;
    });
    const user: User = { id, username, profile: checkedProfile, email, language: null, createdAt: now, updatedAt: now };
    return password === undefined ? { user, generatedPassword: clear } : { user };
  }

  async setPassword(username: string, password: string | undefined, who: Actor): Promise<{ generatedPassword?: string }> {
    const user = this.#users.findByName(username);
    if (!user) throw noUser(username);
    const clear = password === undefined ? generatePassword() : checkPassword(password);
    const hash = await hashPassword(clear);
    const now = this.#now();
    this.#users.transaction(() => {
      this.#users.setPasswordHash(user.id, hash, now);
      this.#audit.record({ at: now, ...who, action: 'user.passwd', target: user.username });
    });
    return password === undefined ? { generatedPassword: clear } : {};
  }

  /** The user without its hash, or a not-found error. */
  get(username: string): User {
    const user = this.#users.findByName(username);
    if (!user) throw noUser(username);
    const { passwordHash: _hash, ...rest } = user;
    return rest;
  }

  setProfile(username: string, profile: string, who: Actor): User {
    const checked = checkProfile(profile);
    return this.#users.transaction(() => {
      const user = this.get(username);
      if (user.profile === checked) return user;
      if (user.profile === 'maintainer' && this.#users.countWithProfile('maintainer') === 1) {
        throw conflict(`"${user.username}" is the last maintainer; make another user maintainer first`, { message: say('apiError.user.lastMaintainerProfile', { name: user.username }) });
      }
      const now = this.#now();
      this.#users.setProfile(user.id, checked, now);
      this.#audit.record({ at: now, ...who, action: 'user.profile', target: user.username, oldValue: { profile: user.profile }, newValue: { profile: checked } });
      return { ...user, profile: checked, updatedAt: now };
    });
  }

  /** Sets or (with null) clears a user's e-mail address; audited with the old and the new one. */
  setEmail(username: string, email: string | null, who: Actor): User {
    const checked = email === null ? null : checkEmail(email);
    return this.#users.transaction(() => {
      const user = this.get(username);
      if (user.email === checked) return user;
      const now = this.#now();
      this.#users.setEmail(user.id, checked, now);
      this.#audit.record({ at: now, ...who, action: 'user.email', target: user.username, oldValue: { email: user.email }, newValue: { email: checked } });
      return { ...user, email: checked, updatedAt: now };
    });
  }

  /** The user's own language (`null`: their browser's); the caller checks there is a catalog for it. */
  setLanguage(username: string, language: string | null, who: Actor): User {
    return this.#users.transaction(() => {
      const user = this.get(username);
      if (user.language === language) return user;
      const now = this.#now();
      this.#users.setLanguage(user.id, language, now);
      this.#audit.record({ at: now, ...who, action: 'user.language', target: user.username, oldValue: { language: user.language }, newValue: { language } });
      return { ...user, language, updatedAt: now };
    });
  }

  remove(username: string, who: Actor): void {
    this.#users.transaction(() => {
      const user = this.#users.findByName(username);
      if (!user) throw noUser(username);
      if (user.profile === 'maintainer' && this.#users.countWithProfile('maintainer') === 1) {
        throw conflict(`"${user.username}" is the last maintainer; add another maintainer before removing it`, { message: say('apiError.user.lastMaintainerRemove', { name: user.username }) });
      }
      this.#users.delete(user.id);
      this.#audit.record({ at: this.#now(), ...who, action: 'user.remove', target: user.username, oldValue: { profile: user.profile } });
    });
  }

  /**
   * First start with no maintainer: creates one with a random password written to
   * `<dataDir>/initial-admin-password` (0600). Returns its name, or null if a maintainer exists.
   */
  async ensureMaintainer(dataDir: string): Promise<{ username: string; passwordFile: string } | null> {
    if (this.#users.countWithProfile('maintainer') > 0) return null;
    let username = 'admin';
    for (let n = 2; this.#users.findByName(username); n++) username = `admin${n}`;
    const password = generatePassword();
    const passwordFile = path.join(dataDir, INITIAL_PASSWORD_FILE);
    // The file is written before the user exists, so a crash never leaves an account nobody knows the password of.
    const temp = `${passwordFile}.${process.pid}.tmp`;
    fs.writeFileSync(temp, `${password}\n`, { mode: 0o600 });
    fs.renameSync(temp, passwordFile);
    await this.add(username, 'maintainer', password, { actor: 'daemon' });
    return { username, passwordFile };
  }
}
