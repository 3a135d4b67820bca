/**
 * The JWT signing secret and the encryption keys. Production must configure both; in
 * development and tests, missing ones are generated once and kept in DATA_DIR/secrets.json
 * (mode 0600) so tokens and encrypted values survive restarts.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from './log.js';

export interface Secrets {
  /** HS256 key as a KeyObject: jsonwebtoken verifies it ~40x faster than a string secret */
  jwtKey: KeyObject;
  /** AES-256 keys, newest first; the first encrypts, all decrypt (rotation) */
  encryptionKeys: Buffer[];
}

function decodeKey(s: string): Buffer {
  const k = /^[0-9a-fA-F]{64}$/.test(s) ? Buffer.from(s, 'hex') : Buffer.from(s, 'base64url');
  if (k.length !== 32) throw new Error('ENCRYPTION_KEY must decode to 32 bytes');
  return k;
}

export async function resolveSecrets(config: Config, log: Logger): Promise<Secrets> {
  const file = path.join(path.resolve(config.DATA_DIR), 'secrets.json');
  let stored: { jwtSecret?: string; encryptionKey?: string } = {};
  if ((!config.JWT_SECRET || !config.ENCRYPTION_KEY) && existsSync(file)) {
    stored = JSON.parse(await readFile(file, 'utf8')) as typeof stored;
  }
  let changed = false;
  if (!config.JWT_SECRET && !stored.jwtSecret) {
    stored.jwtSecret = randomBytes(48).toString('base64url');
    changed = true;
    log.warn({ file }, 'JWT_SECRET is not set: generated one for development and kept it in the data dir (set JWT_SECRET in production)');
  }
  if (!config.ENCRYPTION_KEY && !stored.encryptionKey) {
    stored.encryptionKey = randomBytes(32).toString('hex');
    changed = true;
    log.warn({ file }, 'ENCRYPTION_KEY is not set: generated one for development and kept it in the data dir (set ENCRYPTION_KEY in production)');
  }
  if (changed) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  const jwtSecret = config.JWT_SECRET ?? stored.jwtSecret!;
  const keys = (config.ENCRYPTION_KEY ?? stored.encryptionKey!).split(',').map((s) => decodeKey(s.trim()));
  return { jwtKey: createSecretKey(Buffer.from(jwtSecret, 'utf8')), encryptionKeys: keys };
}
