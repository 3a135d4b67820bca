/**
 * E-mail for alerts through SMTP with nodemailer. The transport comes from the settings an
 * administrator stored (the SMTP URL sealed with AES-256-GCM, since it carries the password) or,
 * when none are stored, from SMTP_URL / SMTP_FROM. No settings: e-mail is off and rules' e-mail
 * channel is skipped. Sending sits behind the `MailTransport` interface so the dispatcher can
 * be driven in tests; the real nodemailer path is tested against a local SMTP server.
 */
import nodemailer from 'nodemailer';
import type { Logger } from '../../platform/log.js';
import { ValidationError } from '../../platform/errors.js';
import type { AlertsRepo } from './alerts.repo.js';
import type { SecretBox } from './crypto.js';

export const SMTP_SETTING = 'alerts.smtp';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface MailTransport {
  send(msg: MailMessage & { from: string }): Promise<void>;
  close(): void;
}

export type MailTransportFactory = (smtpUrl: string) => MailTransport;

export const nodemailerTransport: MailTransportFactory = (smtpUrl) => {
  const t = nodemailer.createTransport(smtpUrl, { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 } as never);
  return {
    async send(msg) {
      await t.sendMail({ from: msg.from, to: msg.to, subject: msg.subject, text: msg.text });
    },
    close: () => t.close(),
  };
};

interface StoredSmtp {
  url_enc: string;
  from: string;
}

function isStoredSmtp(v: unknown): v is StoredSmtp {
  return !!v && typeof v === 'object' && typeof (v as StoredSmtp).url_enc === 'string' && typeof (v as StoredSmtp).from === 'string';
}

/** host:port of an SMTP URL, without the credentials, for pages and logs. */
export function smtpHostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid)';
  }
}

export interface MailStatus {
  configured: boolean;
  source: 'settings' | 'environment' | 'none';
  /** scheme, host and port only */
  server: string | null;
  from: string | null;
  /** the stored settings could not be decrypted (wrong ENCRYPTION_KEY) */
  error?: string;
}

export interface MailServiceDeps {
  repo: AlertsRepo;
  box: SecretBox;
  log: Logger;
  env: { SMTP_URL?: string; SMTP_FROM?: string };
  transport?: MailTransportFactory;
}

export function createMailService(deps: MailServiceDeps) {
  const { repo, box, log } = deps;
  const factory = deps.transport ?? nodemailerTransport;
  // Settings are re-read at most once a minute, so a change made on another instance applies soon.
  const ttlMs = 60_000;
  let cached: { url: string; from: string; source: 'settings' | 'environment'; transport: MailTransport } | null | undefined;
  let cachedAt = 0;
  let loading: Promise<typeof cached> | undefined;

  function fromEnvironment(): { url: string; from: string; source: 'environment' } | null {
    if (!deps.env.SMTP_URL) return null;
    let from = deps.env.SMTP_FROM;
    if (!from) {
      try {
        from = `candlecast <alerts@${new URL(deps.env.SMTP_URL).hostname || 'localhost'}>`;
      } catch {
        from = 'candlecast <alerts@localhost>';
      }
    }
    return { url: deps.env.SMTP_URL, from, source: 'environment' };
  }

  /** Stored settings, else the environment; `error` when stored ones exist but do not open. */
  async function resolve(): Promise<{ use: { url: string; from: string; source: 'settings' | 'environment' } | null; error?: string }> {
    const stored = await repo.getSetting(SMTP_SETTING);
    if (isStoredSmtp(stored)) {
      try {
        return { use: { url: box.decrypt(stored.url_enc, 'smtp.url'), from: stored.from, source: 'settings' } };
      } catch (err) {
        return { use: fromEnvironment(), error: (err as Error).message };
      }
    }
    return { use: fromEnvironment() };
  }

  async function current() {
    if (cached !== undefined && performance.now() - cachedAt < ttlMs) return cached;
    if (cached !== undefined) invalidate();
    loading ??= (async () => {
      const r = await resolve();
      if (r.error) log.error({ err: r.error }, `the stored SMTP settings cannot be decrypted: ${r.use ? 'using SMTP_URL' : 'e-mail is off'}`);
      return r.use ? { ...r.use, transport: factory(r.use.url) } : null;
    })().finally(() => (loading = undefined));
    cached = await loading;
    cachedAt = performance.now();
    return cached;
  }

  function invalidate(): void {
    cached?.transport.close();
    cached = undefined;
  }

  return {
    async isConfigured(): Promise<boolean> {
      return (await current()) !== null;
    },
    async status(): Promise<MailStatus> {
      const r = await resolve();
      const base: MailStatus = r.use
        ? { configured: true, source: r.use.source, server: smtpHostOf(r.use.url), from: r.use.from }
        : { configured: false, source: 'none', server: null, from: null };
      return r.error ? { ...base, error: `stored settings unreadable: ${r.error}` } : base;
    },
    /** Sends one message; throws when e-mail is off or the server refuses. */
    async send(msg: MailMessage): Promise<void> {
      const c = await current();
      if (!c) throw new Error('e-mail is not configured');
      await c.transport.send({ ...msg, from: c.from });
    },
    /** Stores (sealed) SMTP settings that take precedence over SMTP_URL. */
    async saveSettings(input: { url: string; from: string }): Promise<MailStatus> {
      try {
        new URL(input.url);
      } catch {
        throw new ValidationError('url: is not a valid SMTP URL', [{ path: 'url', message: 'is not a valid SMTP URL' }]);
      }
      await repo.putSetting(SMTP_SETTING, { url_enc: box.encrypt(input.url, 'smtp.url'), from: input.from });
      invalidate();
      return this.status();
    },
    async clearSettings(): Promise<MailStatus> {
      await repo.deleteSetting(SMTP_SETTING);
      invalidate();
      return this.status();
    },
    /** Re-seals the stored SMTP URL with the newest key; true when it changed. */
    async rotate(): Promise<'resealed' | 'current' | 'none' | 'unreadable'> {
      const stored = await repo.getSetting(SMTP_SETTING);
      if (!isStoredSmtp(stored)) return 'none';
      if (box.isCurrent(stored.url_enc)) return 'current';
      let plain: string;
      try {
        plain = box.decrypt(stored.url_enc, 'smtp.url');
      } catch {
        return 'unreadable';
      }
      const next = { url_enc: box.encrypt(plain, 'smtp.url'), from: stored.from };
      const ok = await repo.replaceSetting(SMTP_SETTING, { ...stored }, next);
      invalidate();
      return ok ? 'resealed' : 'current';
    },
    close(): void {
      invalidate();
    },
  };
}

export type MailService = ReturnType<typeof createMailService>;
