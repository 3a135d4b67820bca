/** AES-256-GCM secret box: round trip, format, tamper and purpose checks, rotation. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSecretBox, DecryptError, keyId } from '../../../src/modules/alerts/crypto.js';

describe('secret box', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  test('round trip; the sealed form is v1:<kid>:<iv>:<tag>:<ct> and never contains the plain text', () => {
    const box = createSecretBox([k1]);
    const secret = 'whsec_super-secret-value-1234567890';
    const sealed = box.encrypt(secret, 'webhook.secret');
    assert.match(sealed, /^v1:[0-9a-f]{8}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    assert.equal(sealed.split(':')[1], keyId(k1));
    assert.ok(!sealed.includes(secret));
    assert.ok(!sealed.includes(Buffer.from(secret).toString('base64url')));
    assert.equal(box.decrypt(sealed, 'webhook.secret'), secret);
    assert.ok(box.isSealed(sealed));
    assert.ok(!box.isSealed(secret));
  });

  test('a fresh IV every time: the same secret seals differently', () => {
    const box = createSecretBox([k1]);
    assert.notEqual(box.encrypt('x', 'smtp.url'), box.encrypt('x', 'smtp.url'));
  });

  test('tampering with the ciphertext or the tag, or opening it for another purpose, fails', () => {
    const box = createSecretBox([k1]);
    const sealed = box.encrypt('smtp://user:pass@mail.example:587', 'smtp.url');
    const p = sealed.split(':');
    const ct = Buffer.from(p[4]!, 'base64url');
    ct[0] = ct[0]! ^ 1;
    const tampered = [...p.slice(0, 4), ct.toString('base64url')].join(':');
    assert.throws(() => box.decrypt(tampered, 'smtp.url'), DecryptError);
    assert.throws(() => box.decrypt(sealed, 'webhook.secret'), DecryptError);
    assert.throws(() => box.decrypt('plain text', 'smtp.url'), DecryptError);
  });

  test('rotation: the newest key seals, older keys still open, isCurrent tells what to re-seal', () => {
    const old = createSecretBox([k1]);
    const sealedOld = old.encrypt('s1', 'webhook.secret');
    const rotated = createSecretBox([k2, k1]);
    assert.equal(rotated.decrypt(sealedOld, 'webhook.secret'), 's1');
    assert.equal(rotated.isCurrent(sealedOld), false);
    const resealed = rotated.encrypt(rotated.decrypt(sealedOld, 'webhook.secret'), 'webhook.secret');
    assert.equal(rotated.isCurrent(resealed), true);
    assert.equal(rotated.keyIdOf(resealed), keyId(k2));
    // once the old key is dropped, old values no longer open, with a message that says why
    const dropped = createSecretBox([k2]);
    assert.throws(() => dropped.decrypt(sealedOld, 'webhook.secret'), /no configured encryption key opens this value/);
    assert.equal(dropped.decrypt(resealed, 'webhook.secret'), 's1');
  });

  test('refuses missing or short keys', () => {
    assert.throws(() => createSecretBox([]));
    assert.throws(() => createSecretBox([randomBytes(16)]));
  });
});
