import path from 'node:path';
import { hashPassword, verifyPassword, generatePassword } from '../../daemon/auth/password';
import { Authenticator } from '../../daemon/auth/authenticator';
import { UsersService } from '../../daemon/auth/users.service';
import { levelOn, atLeast, visibleSources } from '../../daemon/auth/permissions';
import { openRepositories, type Repositories } from '../../daemon/store/repositories';
import { tempDir } from '../helpers/env';

describe('password', () => {
  it('hashes with a fresh salt and verifies only the right password', async () => {
    const a = await hashPassword('a long enough password');
    const b = await hashPassword('a long enough password');
    expect(a).not.toBe(b);
    expect(await verifyPassword('a long enough password', a)).toBe(true);
    expect(await verifyPassword('a long enough passwore', a)).toBe(false);
    expect(await verifyPassword('anything', 'not-a-hash')).toBe(false);
    expect(await verifyPassword('anything', 'scrypt$99$8$1$AAAA$AAAA')).toBe(false);
  });

  it('generates passwords from the unambiguous alphabet', () => {
    const seen = new Set(Array.from({ length: 50 }, () => generatePassword()));
    expect(seen.size).toBe(50);
    for (const p of seen) expect(p).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{20}$/);
  });
});

describe('Authenticator', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Repositories;
  let users: UsersService;
  let now: number;

  beforeEach(async () => {
    tmp = tempDir();
    store = openRepositories(path.join(tmp.dir, 'data'));
    users = new UsersService(store.users, store.audit);
    await users.add('ann', 'customer', 'ann-password-1', { actor: 'test' });
    now = 1_000_000;
  });

  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('accepts the right password (any case of the name) and forgets it once changed', async () => {
    const sut = new Authenticator(store.users, { now: () => now });
    expect(await sut.authenticate('ann', 'ann-password-1', '10.0.0.1')).toMatchObject({ ok: true, user: { username: 'ann', profile: 'customer' } });
    expect(await sut.authenticate('ANN', 'ann-password-1', '10.0.0.1')).toMatchObject({ ok: true });
    await users.setPassword('ann', 'ann-password-2', { actor: 'test' });
    expect(await sut.authenticate('ann', 'ann-password-1', '10.0.0.1')).toEqual({ ok: false, reason: 'invalid' });
    expect(await sut.authenticate('ann', 'ann-password-2', '10.0.0.1')).toMatchObject({ ok: true });
    users.remove('ann', { actor: 'test' });
    expect(await sut.authenticate('ann', 'ann-password-2', '10.0.0.1')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('throttles one address after repeated failures, not the others, and forgives after the window', async () => {
    const sut = new Authenticator(store.users, { now: () => now, throttle: { maxFailures: 3, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) expect(await sut.authenticate('ann', 'wrong', '10.0.0.66')).toEqual({ ok: false, reason: 'invalid' });
    expect(await sut.authenticate('ann', 'ann-password-1', '10.0.0.66')).toEqual({ ok: false, reason: 'throttled', retryAfterSeconds: 60 });
    expect(await sut.authenticate('ann', 'ann-password-1', '10.0.0.2')).toMatchObject({ ok: true });
    now += 60_001;
    expect(await sut.authenticate('ann', 'ann-password-1', '10.0.0.66')).toMatchObject({ ok: true });
  });

  it('counts parallel guesses before hashing: of 30 at once from one address, no more than the limit are checked', async () => {
    const sut = new Authenticator(store.users, { now: () => now, throttle: { maxFailures: 5, windowMs: 60_000, perAddress: 30 } });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => sut.authenticate('ann', `guess-${i}`, '10.0.0.66')));
    expect(results.filter((r) => !r.ok && r.reason === 'invalid')).toHaveLength(5);
    expect(results.filter((r) => !r.ok && r.reason === 'throttled')).toHaveLength(25);
    // Still throttled afterwards, even with the right password; another address is not.
    expect(await sut.authenticate('ann', 'ann-password-1', '10.0.0.66')).toMatchObject({ ok: false, reason: 'throttled' });
    expect(await sut.authenticate('ann', 'ann-password-1', '10.0.0.2')).toMatchObject({ ok: true });
  });

  it('runs at most `perAddress` password checks of one address at once, and the real user logs in from elsewhere meanwhile', async () => {
    const sut = new Authenticator(store.users, { now: () => now, throttle: { maxFailures: 100, windowMs: 60_000, perAddress: 2 } });
    const [guesses, real] = await Promise.all([
      Promise.all(Array.from({ length: 10 }, (_, i) => sut.authenticate('ann', `guess-${i}`, '10.0.0.66'))),
      sut.authenticate('ann', 'ann-password-1', '10.0.0.2'),
    ]);
    expect(guesses.filter((r) => !r.ok && r.reason === 'invalid')).toHaveLength(2);
    expect(guesses.filter((r) => !r.ok && r.reason === 'throttled')).toEqual(Array(8).fill({ ok: false, reason: 'throttled', retryAfterSeconds: 1 }));
    expect(real).toMatchObject({ ok: true });
  });

  it('shares one check between the same credentials sent in parallel (a browser loading a page), and gives a success back', async () => {
    const sut = new Authenticator(store.users, { now: () => now, throttle: { maxFailures: 2, windowMs: 60_000, perAddress: 1 } });
    expect(await sut.authenticate('ann', 'typo', '10.0.0.7')).toEqual({ ok: false, reason: 'invalid' });
    const results = await Promise.all(Array.from({ length: 8 }, () => sut.authenticate('ann', 'ann-password-1', '10.0.0.7')));
    expect(results.every((r) => r.ok)).toBe(true);
    // The success did not count: one more typo is still allowed before the limit.
    expect(await sut.authenticate('ann', 'typo-2', '10.0.0.7')).toEqual({ ok: false, reason: 'invalid' });
    expect(await sut.authenticate('ann', 'typo-3', '10.0.0.7')).toMatchObject({ ok: false, reason: 'throttled' });
  });

  it('bounds the password checks of the whole box: beyond the queue, the answer is busy, not another scrypt', async () => {
    const sut = new Authenticator(store.users, { now: () => now, throttle: { maxFailures: 10, windowMs: 60_000, concurrent: 1, maxWaiting: 2 } });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => sut.authenticate('ann', `guess-${i}`, `10.0.1.${i}`)));
    expect(results.filter((r) => !r.ok && r.reason === 'invalid')).toHaveLength(3);
    expect(results.filter((r) => !r.ok && r.reason === 'busy')).toEqual(Array(3).fill({ ok: false, reason: 'busy', retryAfterSeconds: 2 }));
    // An attempt turned away as busy was never checked, so it does not count towards its address's limit.
    const tight = new Authenticator(store.users, { now: () => now, throttle: { maxFailures: 1, windowMs: 60_000, concurrent: 1, maxWaiting: 0 } });
    const [first, turnedAway] = await Promise.all([tight.authenticate('ann', 'guess', '10.0.3.1'), tight.authenticate('ann', 'ann-password-1', '10.0.3.2')]);
    expect([first, turnedAway]).toEqual([{ ok: false, reason: 'invalid' }, { ok: false, reason: 'busy', retryAfterSeconds: 2 }]);
    expect(await tight.authenticate('ann', 'wrong-once', '10.0.3.2')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('forgets the least recently seen addresses first when too many are remembered, never every limit at once', async () => {
    const sut = new Authenticator(store.users, { now: () => now, throttle: { maxFailures: 1, windowMs: 60_000, maxAddresses: 3 } });
    for (const address of ['10.0.2.1', '10.0.2.2', '10.0.2.3', '10.0.2.4']) {
      expect(await sut.authenticate('nobody', 'guess', address)).toEqual({ ok: false, reason: 'invalid' });
    }
    // 10.0.2.1 was the oldest and is forgotten; the three most recent keep their limit.
    for (const address of ['10.0.2.2', '10.0.2.3', '10.0.2.4']) {
      expect(await sut.authenticate('ann', 'ann-password-1', address)).toMatchObject({ ok: false, reason: 'throttled' });
    }
    expect(await sut.authenticate('ann', 'ann-password-1', '10.0.2.1')).toMatchObject({ ok: true });
  });
});

describe('permissions', () => {
  const maintainer = { id: 1, username: 'm', profile: 'maintainer' as const };
  const director = { id: 2, username: 'd', profile: 'director' as const };
  const customer = { id: 3, username: 'c', profile: 'customer' as const };
  const grants = new Map([['north', 'download' as const]]);

  it('gives staff every source and customers only their grants', () => {
    expect(levelOn(maintainer, 'south', grants)).toBe('manage');
    expect(levelOn(director, 'south', grants)).toBe('edit');
    expect(levelOn(customer, 'north', grants)).toBe('download');
    expect(levelOn(customer, 'south', grants)).toBeNull();
    expect(visibleSources(customer, ['north', 'south'], grants)).toEqual([{ id: 'north', level: 'download' }]);
  });

  it('orders levels', () => {
    expect(atLeast('download', 'view')).toBe(true);
    expect(atLeast('download', 'edit')).toBe(false);
    expect(atLeast(null, 'view')).toBe(false);
  });
});
