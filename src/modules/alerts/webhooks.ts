/**
 * Outgoing webhooks: the signed request and the HTTP transport behind a small interface (so
 * the dispatcher and the tests can drive failures). What a receiver gets:
 *
 *   POST <url>   content-type: application/json
 *   X-Candlecast-Signature: sha256=<hex HMAC-SHA256 of the raw body with the endpoint's secret>
 *   X-Candlecast-Timestamp: <unix seconds, also "timestamp" in the signed body>
 *   X-Candlecast-Delivery:  <delivery id, the same on every retry: the idempotency key>
 *   X-Candlecast-Event:     notification | test
 *
 * The transport refuses private, loopback and link-local targets unless allowed (a user's
 * webhook must not reach the private API or the cloud metadata service from inside), checks
 * the address it actually connects to (no DNS-rebinding detour), follows no redirects and
 * reads at most a few KB of the answer.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export const SIGNATURE_HEADER = 'X-Candlecast-Signature';
export const TIMESTAMP_HEADER = 'X-Candlecast-Timestamp';
export const DELIVERY_HEADER = 'X-Candlecast-Delivery';
export const EVENT_HEADER = 'X-Candlecast-Event';

/** A new signing secret: 32 random bytes, shown to the user once. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function signWebhookBody(secret: string, rawBody: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/** Constant-time check of a signature header against the raw body (what receivers do; used by tests). */
export function verifyWebhookSignature(secret: string, rawBody: string | Buffer, header: string | undefined | null): boolean {
  if (!header) return false;
  const expected = Buffer.from(signWebhookBody(secret, rawBody));
  const got = Buffer.from(header.trim());
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** What may be logged of a URL: scheme, host and port. Paths and queries often carry tokens. */
export function safeUrlForLog(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

/** The URL as shown to its owner in lists: the password in userinfo is masked. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return url;
  }
}

export interface WebhookPayload {
  id: string;
  type: 'notification' | 'test';
  timestamp: number;
  attempt: number;
  notification: {
    id: string;
    rule_id: number | null;
    event_key: string;
    title: string;
    body: string;
    created_at: string;
    data: unknown;
  };
}

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

export function buildSignedRequest(secret: string, payload: WebhookPayload): SignedRequest {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'candlecast-webhooks/1',
      [SIGNATURE_HEADER]: signWebhookBody(secret, body),
      [TIMESTAMP_HEADER]: String(payload.timestamp),
      [DELIVERY_HEADER]: payload.id,
      [EVENT_HEADER]: payload.type,
    },
  };
}

export interface WebhookResponse {
  status: number;
}

export interface WebhookTransport {
  /** resolves with the HTTP status; rejects on network errors, refusals and timeouts */
  post(url: string, req: SignedRequest, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<WebhookResponse>;
}

export class WebhookTargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookTargetRefused';
  }
}

const privateRanges = new net.BlockList();
for (const [addr, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  privateRanges.addSubnet(addr, bits, 'ipv4');
for (const [addr, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  privateRanges.addSubnet(addr, bits, 'ipv6');

/** True for loopback, private, link-local, CGNAT, multicast and unspecified addresses (IPv4-mapped IPv6 included). */
export function isPrivateAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return privateRanges.check(mapped[1]!, 'ipv4');
  const family = net.isIP(ip);
  if (family === 4) return privateRanges.check(ip, 'ipv4');
  if (family === 6) return privateRanges.check(ip, 'ipv6');
  return true;
}

function hostOf(u: URL): string {
  return u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
}

/** Refuses a URL whose host is a private address literal (names are checked when connecting). */
export function urlTargetProblem(url: string, allowPrivate: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must use http or https';
  if (allowPrivate) return undefined;
  const host = hostOf(u);
  if (host === 'localhost' || host.endsWith('.localhost')) return 'must not point at this machine';
  if (net.isIP(host) && isPrivateAddress(host)) return 'must not point at a private, loopback or link-local address';
  return undefined;
}

/** Resolves a host name to every address it has (dns.lookup by default; tests pass their own). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

export function createHttpTransport(opts: { allowPrivate: boolean; maxResponseBytes?: number; resolve?: Resolver }): WebhookTransport {
  const maxBytes = opts.maxResponseBytes ?? 4096;
  const resolve = opts.resolve ?? systemResolver;
  // Checks every address the name resolves to before connecting to one of them: the check and
  // the connection use the same answer, so a DNS rebinding between the two cannot slip through.
  const guardedLookup = ((hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void) => {
    resolve(hostname).then(
      (list) => {
        if (!opts.allowPrivate && list.some((a) => isPrivateAddress(a.address))) {
          return callback(new WebhookTargetRefused(`refused: ${hostname} resolves to a private address`) as NodeJS.ErrnoException, '', 4);
        }
        const usable = options.family === 4 || options.family === 6 ? list.filter((a) => a.family === options.family) : list;
        if (usable.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
        if (options.all) return callback(null, usable);
        callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    );
  }) as unknown as net.LookupFunction;

  return {
    post(url, req, o) {
      return new Promise<WebhookResponse>((resolve, reject) => {
        const problem = urlTargetProblem(url, opts.allowPrivate);
        if (problem) return reject(new WebhookTargetRefused(`refused: the URL ${problem}`));
        const u = new URL(url);
        const mod = u.protocol === 'https:' ? https : http;
        const r = mod.request(
          u,
          {
            method: 'POST',
            headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
            lookup: guardedLookup,
            timeout: o.timeoutMs,
            signal: o.signal,
            // one request per connection: no pooled socket outlives the attempt
            agent: false,
          },
          (res) => {
            let seen = 0;
            res.on('data', (chunk: Buffer) => {
              seen += chunk.length;
              if (seen > maxBytes) res.destroy();
            });
            res.on('close', () => resolve({ status: res.statusCode ?? 0 }));
            res.on('error', () => resolve({ status: res.statusCode ?? 0 }));
          },
        );
        r.on('timeout', () => r.destroy(new Error(`timed out after ${o.timeoutMs} ms`)));
        r.on('error', reject);
        r.end(req.body);
      });
    },
  };
}

/** A short, log-safe description of a failed attempt (never the URL). */
export function describeFailure(err: unknown): string {
  if (err instanceof WebhookTargetRefused) return err.message;
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.name === 'AbortError') return 'aborted (shutting down)';
  if (e?.code) return `${e.code}${e.message && !e.message.includes('://') ? `: ${e.message.slice(0, 200)}` : ''}`;
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/https?:\/\/\S+/g, '(url)').slice(0, 300);
}
