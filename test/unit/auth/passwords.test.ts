import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createPasswordHasher, generatePassword, passwordProblem, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../../src/modules/auth/passwords.js';

describe('password policy', () => {
  test('accepts long passphrases, including unicode', () => {
    for (const ok of ['correct horse battery staple', 'Tr0ub4dor&3xyz', 'Crème brûlée à minuit', '日本語のパスワードです', 'a'.repeat(3) + 'bcd' + 'e'.repeat(4)]) {
      assert.equal(passwordProblem(ok), null, ok);
    }
  });

  test('counts characters, not UTF-16 units or bytes', () => {
    assert.equal(passwordProblem('🙂🙃😀😃😄'), `Password must be at least ${PASSWORD_MIN_LENGTH} characters long (it has 5).`);
    assert.equal(passwordProblem('🙂🙃😀😃😄😁😆😅🤣😂'), null);
  });

  test('refuses short, over-long, blank, repetitive, common and sequential passwords', () => {
    assert.match(passwordProblem('short')!, /at least 10 characters long \(it has 5\)/);
    assert.match(passwordProblem('x'.repeat(PASSWORD_MAX_LENGTH + 1))!, /at most 256/);
    assert.match(passwordProblem(' '.repeat(12))!, /only spaces/);
    assert.match(passwordProblem('abababababab')!, /repetitive/);
    assert.match(passwordProblem('Password123')!, /common/);
    assert.match(passwordProblem('qwertyuiop')!, /common/);
    assert.match(passwordProblem('abcdefghijklm')!, /sequence/);
    assert.match(passwordProblem('9876543210')!, /sequence|common/);
  });

  test('refuses a password containing the username or the e-mail name', () => {
    assert.match(passwordProblem('my name is alice!', { username: 'Alice' })!, /username/);
    assert.match(passwordProblem('bob.smith-rocks', { email: 'bob.smith@example.com' })!, /e-mail/);
    assert.equal(passwordProblem('a perfectly fine one', { username: 'al' }), null, 'names under 3 characters are not checked');
  });

  test('generated passwords pass the policy', () => {
    for (let i = 0; i < 50; i++) assert.equal(passwordProblem(generatePassword(), { username: 'admin' }), null);
  });
});

describe('password hashing', () => {
  const hasher = createPasswordHasher();

  test('argon2id hashes that verify the password and nothing else', async () => {
    const h = await hasher.hash('correct horse battery');
    assert.match(h, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    assert.equal(await hasher.verify(h, 'correct horse battery'), true);
    assert.equal(await hasher.verify(h, 'correct horse batterY'), false);
    assert.equal(hasher.needsRehash(h), false);
  });

  test('unicode is normalised: NFC and NFD spellings are the same password', async () => {
    const h = await hasher.hash('Crème brûlée'.normalize('NFD'));
    assert.equal(await hasher.verify(h, 'Crème brûlée'.normalize('NFC')), true);
  });

  test('a malformed stored hash is a failed check, not an exception', async () => {
    assert.equal(await hasher.verify('not-a-hash', 'whatever'), false);
    assert.equal(hasher.needsRehash('not-a-hash'), true);
  });

  test('the dummy check always fails and costs a real verification', async () => {
    const h = await hasher.hash('some password here');
    await hasher.verifyDummy('warm up');
    const timed = async (fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      await fn();
      return performance.now() - t0;
    };
    const dummy: number[] = [];
    const real: number[] = [];
    for (let i = 0; i < 5; i++) {
      dummy.push(await timed(async () => assert.equal(await hasher.verifyDummy('some password here'), false)));
      real.push(await timed(() => hasher.verify(h, 'wrong password')));
    }
    // The fastest run is the work itself; a loaded machine (parallel test files) only adds to it.
    const ratio = Math.min(...dummy) / Math.min(...real);
    assert.ok(ratio > 0.5 && ratio < 2, `dummy/real verification time ratio ${ratio.toFixed(2)}`);
  });

  test('older parameters are flagged for rehash', async () => {
    const argon2 = await import('argon2');
    const old = await argon2.hash('x'.repeat(12), { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    assert.equal(hasher.needsRehash(old), true);
    const argon2i = await argon2.hash('x'.repeat(12), { type: argon2.argon2i, memoryCost: 19456, timeCost: 2, parallelism: 1 });
    assert.equal(hasher.needsRehash(argon2i), true);
  });
});
