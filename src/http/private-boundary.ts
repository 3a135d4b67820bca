/**
 * The private boundary in front of /internal/* and /metrics. A request gets through when it
 * comes from loopback or an address in INTERNAL_ALLOW_CIDRS, or carries X-Internal-Token equal
 * to INTERNAL_TOKEN. Anyone else is told nothing: the request falls through to the rest of the
 * app and gets the same 404 as any path that does not exist.
 *
 * The address is `req.ip`, so X-Forwarded-For counts only when TRUST_PROXY says the proxy in
 * front is trusted ('trust proxy' is set from it in app.ts).
 *
 * An allowed address also needs a Host header naming this server (an IP literal or an allowed
 * name, ALLOWED_HOSTS), or a page on a rebound name could read the routes from loopback; and
 * writes (POST/PUT/PATCH/DELETE) sent by a browser (Origin or Sec-Fetch-Site) are refused.
 */
import { BlockList, isIP } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export interface BlockedPrivateAttempt {
  ip: string;
  method: string;
  path: string;
  /**
   * address: not an allowed address and no token; token: a wrong X-Internal-Token; host: an
   * allowed address but a Host name not ours (DNS rebinding); browser: a write sent by a browser
   */
  reason: 'address' | 'token' | 'host' | 'browser';
  requestId?: string;
}

export interface PrivateBoundaryOptions {
  /** addresses and CIDR ranges (IPv4 or IPv6) allowed besides loopback */
  allowCidrs: readonly string[];
  /** the shared secret for callers outside those ranges (e.g. a remote Prometheus) */
  token?: string;
  /** told about each refused request (the auth module audits them, rate-limited) */
  onBlocked?: (attempt: BlockedPrivateAttempt) => unknown;
  /** whether the Host header names this server (src/http/host-check.ts); default: any */
  hostAllowed?: (req: Request) => boolean;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Sent by a browser: it adds Origin to every cross-origin request and to same-origin POSTs, and
 * Sec-Fetch-Site to everything. Scripts (curl, Prometheus, the CLI) send neither. The private
 * write routes (e.g. POST /internal/jobs/:name/run) are for scripts only, so a page open on this
 * machine cannot start a job, whatever name it reached us by.
 */
function fromBrowser(req: Request): boolean {
  if (req.get('origin') !== undefined) return true;
  const site = req.get('sec-fetch-site');
  return site !== undefined && site !== 'none';
}

/** "::ffff:10.0.0.1" -> "10.0.0.1", so IPv4 rules match dual-stack sockets. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return m ? m[1]! : ip;
}

/** A matcher for loopback plus the given addresses/CIDRs, built on node's net.BlockList. */
export function createAddressMatcher(cidrs: readonly string[], opts: { loopback?: boolean } = {}): (ip: string | undefined) => boolean {
  const list = new BlockList();
  if (opts.loopback !== false) {
    list.addSubnet('127.0.0.0', 8, 'ipv4');
    list.addAddress('::1', 'ipv6');
  }
  for (const item of cidrs) {
    const [rawAddr, bits] = item.split('/');
    const addr = normalizeIp(rawAddr ?? '');
    const family = isIP(addr);
    if (family === 0) throw new Error(`"${item}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`"${item}" has a bad prefix length`);
      list.addSubnet(addr, prefix, type);
    }
  }
  return (ip) => {
    if (!ip) return false;
    const addr = normalizeIp(ip);
    const family = isIP(addr);
    if (family === 0) return false;
    return list.check(addr, family === 4 ? 'ipv4' : 'ipv6');
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time comparison that does not leak the length either (both sides are hashed). */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export interface PrivateBoundary {
  /** true when this request may use the private routes */
  allows(req: Request): { ok: true } | { ok: false; reason: BlockedPrivateAttempt['reason'] };
  /** wraps a handler: allowed requests reach it, others fall through to the app's 404 */
  guard(handler: RequestHandler): RequestHandler;
}

export function createPrivateBoundary(opts: PrivateBoundaryOptions): PrivateBoundary {
  const allowedAddress = createAddressMatcher(opts.allowCidrs);
  const expected = opts.token;
  const hostAllowed = opts.hostAllowed ?? (() => true);
  const allows: PrivateBoundary['allows'] = (req) => {
    if (UNSAFE.has(req.method) && fromBrowser(req)) return { ok: false, reason: 'browser' };
    const given = req.get('x-internal-token');
    // The token cannot be rebound or guessed by a page, so it works under any Host name.
    if (given !== undefined && expected !== undefined && tokenMatches(given, expected)) return { ok: true };
    if (allowedAddress(req.ip)) return hostAllowed(req) ? { ok: true } : { ok: false, reason: 'host' };
    return { ok: false, reason: given !== undefined ? 'token' : 'address' };
  };
  return {
    allows,
    guard(handler) {
      return async function privateBoundary(req: Request, res: Response, next: NextFunction) {
        const verdict = allows(req);
        if (verdict.ok) return handler(req, res, next);
        try {
          await opts.onBlocked?.({ ip: req.ip ?? 'unknown', method: req.method, path: req.originalUrl.split('?')[0]!.slice(0, 200), reason: verdict.reason, requestId: req.id === undefined ? undefined : String(req.id) });
        } catch {
          // auditing must never turn a refusal into a 500 that reveals the route exists
        }
        // Fall through: the pages router's 404 answers exactly as for a path that does not exist.
        next();
      };
    },
  };
}
