/**
 * Personal API keys: `cc_<8 character prefix>_<43 character secret>`. The prefix is stored in
 * clear (it finds the row and lets people tell their keys apart); the key itself is stored only
 * as a sha256 hash. 256 random bits need no slow hash: nobody can brute-force them.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const ALPHANUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const KEY_RE = /^(cc_[A-Za-z0-9]{8})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  /** the whole key, shown to its owner once */
  key: string;
  /** "cc_" + 8 characters: stored and shown */
  prefix: string;
  /** sha256 hex of the whole key */
  hash: string;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): NewApiKey {
  let p = '';
  for (let i = 0; i < 8; i++) p += ALPHANUM[randomInt(ALPHANUM.length)];
  const prefix = `cc_${p}`;
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/** The prefix of a well-formed key, or null. */
export function parseApiKey(key: string): { prefix: string } | null {
  const m = KEY_RE.exec(key);
  return m ? { prefix: m[1]! } : null;
}

/** Bearer values starting with "cc_" are API keys; JWTs start with "eyJ". */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith('cc_');
}

export function apiKeyMatches(key: string, storedHash: string): boolean {
  const a = Buffer.from(hashApiKey(key), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
