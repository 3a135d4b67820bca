/**
 * Password hashing (argon2id) and the password policy. The policy follows NIST SP 800-63B:
 * length over composition rules, and a refusal of passwords that are known or guessable from
 * the account itself; the message says exactly what to change.
 */
import { randomBytes } from 'node:crypto';
import * as argon2 from 'argon2';

export const PASSWORD_MIN_LENGTH = 10;
/** argon2 takes any length, but a megabyte password is a cheap way to burn our CPU */
export const PASSWORD_MAX_LENGTH = 256;

/** OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane (~20-40 ms here). */
const HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Passwords of 10+ characters that lead every breach list. A short list is enough: the length
 * rule already removes the bulk of the common ones.
 */
const COMMON = new Set([
  'password123', 'password1234', 'password12345', 'password!123', 'passw0rd123', 'p@ssw0rd123', 'p@ssword123',
  '1234567890', '12345678910', '123456789012', '0123456789', '0987654321', '1111111111', '1234512345',
  'qwertyuiop', 'qwerty12345', 'qwerty123456', 'qwertyuiop1', '1q2w3e4r5t', '1qaz2wsx3edc', 'zaq12wsxcde3',
  'asdfghjkl1', 'asdfghjkl;', 'zxcvbnm123', 'iloveyou12', 'iloveyou123', 'princess123', 'sunshine123',
  'football123', 'baseball123', 'superman123', 'starwars123', 'dragon1234', 'monkey12345', 'letmein123',
  'welcome123', 'welcome1234', 'changeme123', 'administrator', 'admin12345', 'admin123456', 'adminadmin',
  'trustno1234', 'abcdefghij', 'abc1234567', 'abcd123456', 'a1b2c3d4e5', 'candlecast', 'candlecast1',
  'candlecast123', 'bitcoin123', 'bitcoin1234', 'ethereum123', 'cryptocurrency', 'passwordpassword',
]);

export interface PasswordContext {
  username?: string;
  email?: string;
}

/** Counts user-perceived characters closely enough for a length rule (code points). */
function length(s: string): number {
  return [...s].length;
}

/** Why a password is refused, as a sentence a person can act on; null when it is acceptable. */
export function passwordProblem(password: string, ctx: PasswordContext = {}): string | null {
  const pw = password.normalize('NFC');
  const n = length(pw);
  if (n < PASSWORD_MIN_LENGTH) return `Password must be at least ${PASSWORD_MIN_LENGTH} characters long (it has ${n}).`;
  if (n > PASSWORD_MAX_LENGTH) return `Password must be at most ${PASSWORD_MAX_LENGTH} characters long.`;
  if (pw.trim() === '') return 'Password must not be only spaces.';
  const lower = pw.toLowerCase();
  if (new Set(lower).size < 4) return 'Password is too repetitive: use at least 4 different characters.';
  if (COMMON.has(lower)) return 'Password is one of the most common passwords; choose another.';
  if (isSequence(lower)) return 'Password is a simple sequence of characters; choose another.';
  const username = ctx.username?.toLowerCase();
  if (username && username.length >= 3 && lower.includes(username)) return 'Password must not contain the username.';
  const local = ctx.email?.toLowerCase().split('@')[0];
  if (local && local.length >= 3 && lower.includes(local)) return 'Password must not contain the e-mail address.';
  return null;
}

/** "abcdefghij", "9876543210": every step +1 or every step -1. */
function isSequence(s: string): boolean {
  const cps = [...s].map((c) => c.codePointAt(0)!);
  if (cps.length < 2) return false;
  const step = cps[1]! - cps[0]!;
  if (step !== 1 && step !== -1) return false;
  for (let i = 2; i < cps.length; i++) if (cps[i]! - cps[i - 1]! !== step) return false;
  return true;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** false for a wrong password or a malformed hash; never throws for bad input */
  verify(hash: string, password: string): Promise<boolean>;
  /** spends the same time as verify() against a hash nobody knows: for unknown usernames */
  verifyDummy(password: string): Promise<false>;
  /** true when the hash was made with older parameters and should be replaced on next login */
  needsRehash(hash: string): boolean;
}

export function createPasswordHasher(): PasswordHasher {
  let dummy: Promise<string> | undefined;
  const dummyHash = () => (dummy ??= argon2.hash(randomBytes(32), HASH_OPTIONS));
  const verify = async (hash: string, password: string): Promise<boolean> => {
    try {
      return await argon2.verify(hash, password.normalize('NFC'));
    } catch {
      return false;
    }
  };
  // Start the dummy hash now so the first unknown-user login is not the one that pays for it.
  void dummyHash();
  return {
    hash: (password) => argon2.hash(password.normalize('NFC'), HASH_OPTIONS),
    verify,
    async verifyDummy(password) {
      await verify(await dummyHash(), password);
      return false;
    },
    needsRehash(hash) {
      try {
        return argon2.needsRehash(hash, { memoryCost: HASH_OPTIONS.memoryCost, timeCost: HASH_OPTIONS.timeCost, parallelism: HASH_OPTIONS.parallelism }) || !hash.startsWith('$argon2id$');
      } catch {
        return true;
      }
    },
  };
}

/** A strong password for the generated first admin: 24 base64url characters (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
