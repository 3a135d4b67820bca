/**
 * Flash messages: one-time notices ("Password changed") that survive the redirect after a
 * form post. They travel in a short-lived HttpOnly cookie whose value is HMAC-signed, so a
 * page never shows a message the server did not write. Full page loads consume them; htmx
 * requests leave them alone (a poll must not swallow a notice meant for the next page).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

export type FlashKind = 'success' | 'info' | 'warning' | 'error';
export interface FlashMessage {
  kind: FlashKind;
  text: string;
}

export const FLASH_COOKIE = 'cc_flash';
const MAX_AGE_MS = 60_000;
const MAX_MESSAGES = 5;
const KINDS = new Set<FlashKind>(['success', 'info', 'warning', 'error']);

export interface Flash {
  /** queues a message for the next full page this browser loads */
  add(req: Request, res: Response, kind: FlashKind, text: string): void;
  /** reads and clears the queued messages */
  take(req: Request, res: Response): FlashMessage[];
}

export function createFlash(key: Buffer): Flash {
  const sign = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url');

  function read(req: Request): FlashMessage[] {
    const raw = (req.cookies as Record<string, unknown> | undefined)?.[FLASH_COOKIE];
    if (typeof raw !== 'string') return [];
    const dot = raw.lastIndexOf('.');
    if (dot <= 0) return [];
    const payload = raw.slice(0, dot);
    const given = Buffer.from(raw.slice(dot + 1));
    const expected = Buffer.from(sign(payload));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return [];
    try {
      const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
      if (!Array.isArray(parsed)) return [];
      return parsed
        .filter((m): m is FlashMessage => !!m && typeof m === 'object' && KINDS.has((m as FlashMessage).kind) && typeof (m as FlashMessage).text === 'string')
        .slice(0, MAX_MESSAGES);
    } catch {
      return [];
    }
  }

  const cookieOptions = (req: Request) => ({ httpOnly: true, sameSite: 'lax' as const, secure: req.secure, path: '/' });

  return {
    add(req, res, kind, text) {
      // Messages added earlier in this same request are kept on the request.
      const pending = ((req as Request & { flashPending?: FlashMessage[] }).flashPending ??= read(req));
      pending.push({ kind, text: text.slice(0, 500) });
      const payload = Buffer.from(JSON.stringify(pending.slice(-MAX_MESSAGES)), 'utf8').toString('base64url');
      res.cookie(FLASH_COOKIE, `${payload}.${sign(payload)}`, { ...cookieOptions(req), maxAge: MAX_AGE_MS });
    },
    take(req, res) {
      const messages = read(req);
      if ((req.cookies as Record<string, unknown> | undefined)?.[FLASH_COOKIE] !== undefined) res.clearCookie(FLASH_COOKIE, cookieOptions(req));
      return messages;
    },
  };
}
