/**
 * The only reader of process.env. The environment is parsed once by zod into a frozen, typed
 * object; a bad value stops the boot with one message that names every offending variable.
 * Every variable here is documented in .env.example.
 */
import { z } from 'zod';

const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { message: 'must be true or false' })
    .optional()
    .transform((v) => (v === undefined ? def : ['true', '1', 'yes', 'on'].includes(v)));

const int = (def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const num = (def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isFinite(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

const cron = (def: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = v === undefined || v.trim() === '' ? def : v.trim();
      const parts = value.split(/\s+/);
      if (value !== 'off' && (parts.length < 5 || parts.length > 6)) {
        ctx.addIssue({ code: 'custom', message: 'must be a cron expression of 5 or 6 fields, or "off"' });
        return z.NEVER;
      }
      return value;
    });

const cidrList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (!v || v.trim() === '') return [] as string[];
    const items = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const item of items) {
      const [addr, bits] = item.split('/');
      const okAddr = !!addr && (/^\d{1,3}(\.\d{1,3}){3}$/.test(addr) || addr.includes(':'));
      const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (addr?.includes(':') ? 128 : 32));
      if (!okAddr || !okBits) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not an IP address or CIDR range` });
        return z.NEVER;
      }
    }
    return items;
  });

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'must be development, production or test' }).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(3000, 0, 65535),
  PUBLIC_URL: optionalString.pipe(z.url({ message: 'must be a URL such as https://candlecast.example.com' }).optional()),
  DATA_DIR: z.string().min(1).default('./.data'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, { message: 'must start with postgresql://' })
      .optional(),
  ),
  DATABASE_POOL_MAX: int(10, 1, 200),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_BUFFER_SIZE: int(5000, 0, 100000),
  JWT_SECRET: optionalString.pipe(z.string().min(32, { message: 'must be at least 32 characters' }).optional()),
  JWT_EXPIRES_IN: int(3600, 60, 60 * 60 * 24 * 30),
  ENCRYPTION_KEY: optionalString.pipe(
    z
      .string()
      .regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)(,([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?))*$/, {
        message: 'must be 32 bytes as 64 hex characters or base64 (comma-separated for rotation, newest first)',
      })
      .optional(),
  ),
  SIGNUP_MODE: z.enum(['open', 'closed'], { message: 'must be open or closed' }).default('closed'),
  ADMIN_USERNAME: optionalString,
  ADMIN_PASSWORD: optionalString,
  ADMIN_EMAIL: optionalString,
  INTERNAL_ALLOW_CIDRS: cidrList,
  /** host names (besides IP literals, localhost, HOST and PUBLIC_URL's host) for pages and private routes */
  ALLOWED_HOSTS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!v || v.trim() === '') return [] as string[];
      const items = v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
      for (const item of items) {
        if (item !== '*' && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(item)) {
          ctx.addIssue({ code: 'custom', message: `"${item}" is not a host name (no port, no scheme; IP addresses are always accepted)` });
          return z.NEVER;
        }
      }
      return items;
    }),
  INTERNAL_TOKEN: optionalString.pipe(z.string().min(16, { message: 'must be at least 16 characters' }).optional()),
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v, ctx): boolean | number | string[] => {
      if (v === undefined || v.trim() === '' || v === 'false' || v === '0') return false;
      if (v === 'true') return true;
      if (/^\d+$/.test(v)) return Number(v);
      const items = v.split(',').map((s) => s.trim()).filter(Boolean);
      if (items.every((s) => /^[0-9a-fA-F:.]+(\/\d+)?$/.test(s) || ['loopback', 'linklocal', 'uniquelocal'].includes(s))) return items;
      ctx.addIssue({ code: 'custom', message: 'must be false, true, a hop count, or a comma-separated list of proxy addresses/CIDRs' });
      return z.NEVER;
    }),
  TLS_CERT_FILE: optionalString,
  TLS_KEY_FILE: optionalString,
  BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, { message: 'must look like 100kb or 1mb' }).default('100kb'),
  HISTORY_CACHE_MAX_BYTES: int(32 * 1024 * 1024, 0, 4 * 1024 * 1024 * 1024),
  RATE_LIMIT_PER_MINUTE: int(600, 1, 1_000_000),
  RATE_LIMIT_PER_IP_PER_MINUTE: int(1200, 1, 1_000_000),
  ANOMALY_WINDOW_SECONDS: int(900, 10, 86400),
  ANOMALY_LOGIN_FAILURES_PER_IP: int(20, 2, 100000),
  ANOMALY_LOGIN_FAILURES_PER_USER: int(10, 2, 100000),
  ANOMALY_API_KEY_MAX_IPS: int(10, 2, 100000),
  ANOMALY_RATE_FACTOR: num(10, 1.5, 1000),
  ANOMALY_RATE_FLOOR_PER_MINUTE: int(1200, 1, 1_000_000),
  ANOMALY_BLOCK_SECONDS: int(900, 1, 7 * 86400),
  ANOMALY_CHECK_MS: int(15000, 20, 600000),
  SHUTDOWN_TIMEOUT_MS: int(10000, 100, 120000),
  KRAKEN_API_URL: z.url({ message: 'must be a URL' }).default('https://api.kraken.com/0/public'),
  KRAKEN_MIN_INTERVAL_MS: int(1000, 0, 60000),
  KRAKEN_TIMEOUT_MS: int(15000, 100, 120000),
  KRAKEN_MAX_RETRIES: int(5, 0, 20),
  KRAKEN_WS_ENABLED: bool(true),
  KRAKEN_WS_URL: z
    .string()
    .default('wss://ws.kraken.com/v2')
    .refine((v) => /^wss?:\/\/[^\s]+$/.test(v) && URL.canParse(v), { message: 'must be a ws:// or wss:// URL' }),
  KRAKEN_WS_SILENCE_MS: int(10000, 100, 300000),
  KRAKEN_WS_BACKOFF_MIN_MS: int(1000, 10, 600000),
  KRAKEN_WS_BACKOFF_MAX_MS: int(60000, 10, 3600000),
  BUNDLED_DATA: bool(true),
  SCHEDULER_ENABLED: bool(true),
  CRON_TIMEZONE: z.string().min(1).default('UTC'),
  CRON_INGEST: cron('*/5 * * * *'),
  CRON_SCORE: cron('7 * * * *'),
  CRON_RETRAIN: cron('0 2 * * *'),
  CRON_DRIFT_CHECK: cron('17 * * * *'),
  RETRAIN_DRIFT_MARGIN: num(0.25, 0, 10),
  LEADER_LOCK_KEY: int(48151623, 1, 2 ** 31 - 1),
  LEADER_RETRY_MS: int(15000, 100, 600000),
  JOB_HEARTBEAT_MS: int(10000, 100, 300000),
  JOB_STALE_AFTER_MS: int(120000, 1000, 86400000),
  SMTP_URL: optionalString,
  SMTP_FROM: optionalString,
  CRON_ALERTS_STALE: cron('*/10 * * * *'),
  ALERTS_DISPATCH_INTERVAL_MS: int(5000, 20, 600000),
  ALERTS_RETRY_BASE_MS: int(30000, 10, 3600000),
  ALERTS_RETRY_MAX_MS: int(6 * 3600000, 10, 7 * 86400000),
  ALERTS_MAX_ATTEMPTS: int(8, 1, 50),
  ALERTS_DISABLE_AFTER_FAILURES: int(10, 1, 1000),
  ALERTS_WEBHOOK_TIMEOUT_MS: int(10000, 100, 120000),
  ALERTS_WEBHOOK_ALLOW_PRIVATE: bool(false),
  MODEL_WORKERS: int(1, 1, 16),
});

export type Config = Readonly<
  Omit<z.infer<typeof schema>, 'DATA_DIR'> & {
    DATA_DIR: string;
    isProduction: boolean;
    isTest: boolean;
  }
>;

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses an environment (process.env by default) into a frozen Config, or throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({
      variable: String(i.path[0] ?? 'environment'),
      message: i.message.replace(/^Invalid input: /, ''),
    }));
    throw new ConfigError(problems);
  }
  const c = parsed.data;
  const problems: { variable: string; message: string }[] = [];
  if (c.NODE_ENV === 'production' && !c.JWT_SECRET) {
    problems.push({ variable: 'JWT_SECRET', message: 'must be set when NODE_ENV=production (generate one with: openssl rand -base64 48)' });
  }
  if (c.NODE_ENV === 'production' && !c.ENCRYPTION_KEY) {
    problems.push({ variable: 'ENCRYPTION_KEY', message: 'must be set when NODE_ENV=production (generate one with: openssl rand -hex 32)' });
  }
  if (!!c.TLS_CERT_FILE !== !!c.TLS_KEY_FILE) {
    problems.push({ variable: c.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE', message: 'must be set together with the other TLS file' });
  }
  if (!!c.ADMIN_USERNAME !== !!c.ADMIN_PASSWORD) {
    problems.push({ variable: c.ADMIN_USERNAME ? 'ADMIN_PASSWORD' : 'ADMIN_USERNAME', message: 'must be set together with the other ADMIN_ variable' });
  }
  if (c.JOB_STALE_AFTER_MS < 3 * c.JOB_HEARTBEAT_MS) {
    problems.push({ variable: 'JOB_STALE_AFTER_MS', message: `must be at least 3 x JOB_HEARTBEAT_MS (${3 * c.JOB_HEARTBEAT_MS}), or live runs would be closed as interrupted` });
  }
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze({
    ...c,
    isProduction: c.NODE_ENV === 'production',
    isTest: c.NODE_ENV === 'test',
  });
}
