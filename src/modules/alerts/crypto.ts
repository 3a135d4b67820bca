/**
 * AES-256-GCM for the secrets alerts keep in the database (webhook signing secrets, the SMTP
 * URL with its password). The stored form names the key that sealed it, so ENCRYPTION_KEY can
 * be rotated: the newest key (first in the list) encrypts, every configured key decrypts, and
 * `npm run cli -- rotate-keys` re-seals old values with the newest key (docs/ops/encryption.md).
 *
 *   v1:<kid>:<iv>:<tag>:<ciphertext>     kid = first 8 hex of sha256(key); the rest base64url
 *
 * The purpose ("webhook.secret", "smtp.url") is bound in as additional authenticated data, so a
 * ciphertext copied from one column into another does not decrypt there.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type SecretPurpose = 'webhook.secret' | 'smtp.url';

export class DecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptError';
  }
}

/** A short, public identifier of a key: enough to pick it, useless to recover it. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export interface SecretBox {
  /** id of the key new values are sealed with (the first configured one) */
  readonly currentKeyId: string;
  encrypt(plaintext: string, purpose: SecretPurpose): string;
  /** throws DecryptError when no configured key opens the value */
  decrypt(sealed: string, purpose: SecretPurpose): string;
  /** the id of the key a stored value names, or undefined when it is not in our format */
  keyIdOf(sealed: string): string | undefined;
  /** true when the value is sealed with the newest key (nothing to rotate) */
  isCurrent(sealed: string): boolean;
  /** looks like a value this box produced (used to refuse plain text where a seal belongs) */
  isSealed(value: string): boolean;
}

function aad(purpose: SecretPurpose): Buffer {
  return Buffer.from(`candlecast:${VERSION}:${purpose}`, 'utf8');
}

function parts(sealed: string): { kid: string; iv: Buffer; tag: Buffer; ct: Buffer } | undefined {
  const p = sealed.split(':');
  if (p.length !== 5 || p[0] !== VERSION || !/^[0-9a-f]{8}$/.test(p[1]!)) return undefined;
  const iv = Buffer.from(p[2]!, 'base64url');
  const tag = Buffer.from(p[3]!, 'base64url');
  const ct = Buffer.from(p[4]!, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
  return { kid: p[1]!, iv, tag, ct };
}

export function createSecretBox(keys: readonly Buffer[]): SecretBox {
  if (keys.length === 0) throw new Error('alerts: no encryption key configured');
  for (const k of keys) if (k.length !== 32) throw new Error('alerts: every encryption key must be 32 bytes (AES-256)');
  const entries = keys.map((key) => ({ key, kid: keyId(key) }));
  const newest = entries[0]!;

  function open(key: Buffer, p: NonNullable<ReturnType<typeof parts>>, purpose: SecretPurpose): string | undefined {
    try {
      const d = createDecipheriv('aes-256-gcm', key, p.iv, { authTagLength: TAG_BYTES });
      d.setAAD(aad(purpose));
      d.setAuthTag(p.tag);
      return Buffer.concat([d.update(p.ct), d.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  return {
    currentKeyId: newest.kid,
    encrypt(plaintext, purpose) {
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv('aes-256-gcm', newest.key, iv, { authTagLength: TAG_BYTES });
      c.setAAD(aad(purpose));
      const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
      return [VERSION, newest.kid, iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
    },
    decrypt(sealed, purpose) {
      const p = parts(sealed);
      if (!p) throw new DecryptError('the stored value is not an encrypted secret in the v1 format');
      // The named key first; then every other key, in case two keys share an id prefix or a
      // value was sealed by a build that named keys differently.
      const ordered = [...entries.filter((e) => e.kid === p.kid), ...entries.filter((e) => e.kid !== p.kid)];
      for (const e of ordered) {
        const out = open(e.key, p, purpose);
        if (out !== undefined) return out;
      }
      throw new DecryptError(
        `no configured encryption key opens this value (sealed with key ${p.kid}; configured: ${entries.map((e) => e.kid).join(', ')}). Was ENCRYPTION_KEY replaced without keeping the old key after the new one?`,
      );
    },
    keyIdOf(sealed) {
      return parts(sealed)?.kid;
    },
    isCurrent(sealed) {
      return parts(sealed)?.kid === newest.kid;
    },
    isSealed(value) {
      return parts(value) !== undefined;
    },
  };
}
