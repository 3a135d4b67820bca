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

/**
 * Where a webhook may not go: every range that is not ordinary public unicast. IPv4 and IPv6
 * rules sit in one node BlockList; IPv6 forms that carry an IPv4 address (mapped, compatible,
 * translated, 6to4) are judged by the IPv4 address inside them, so `::ffff:7f00:1` or
 * `2002:7f00:1::` cannot reach loopback by another spelling.
 */
const privateRanges = new net.BlockList();
for (const [addr, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1 (documentation)
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2 (documentation)
  ['203.0.113.0', 24], // TEST-NET-3 (documentation)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  privateRanges.addSubnet(addr, bits, 'ipv4');
for (const [addr, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64: a gateway would translate it to any IPv4 address, internal ones included
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo (the IPv4 inside is obfuscated; no webhook needs it)
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation (RFC 9637)
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  privateRanges.addSubnet(addr, bits, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (zone id dropped, trailing dotted IPv4 allowed); null if malformed. */
function ipv6Groups(ip: string): number[] | null {
  let s = ip.split('%')[0]!.toLowerCase();
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    if (net.isIP(dotted[2]!) !== 4) return null;
    const b = dotted[2]!.split('.').map(Number);
    s = `${dotted[1]}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? head.length !== 8 : fill < 1) return null;
  const groups = [...head, ...Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  return groups.some(Number.isNaN) ? null : groups;
}

const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/** The IPv4 address an IPv6 address stands for, when it is a form that embeds one. */
export function embeddedIPv4(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  if (!g) return undefined;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return v4(g[6]!, g[7]!); // ::ffff:a.b.c.d   IPv4-mapped
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return v4(g[6]!, g[7]!); // ::ffff:0:a.b.c.d   IPv4-translated
  if (zeros(0, 6)) return v4(g[6]!, g[7]!); // ::a.b.c.d   IPv4-compatible (deprecated); also :: and ::1
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!); // 2002:aabb:ccdd::/48   6to4
  return undefined;
}

/**
 * True for every address a webhook must not reach: loopback, private, link-local, CGNAT,
 * multicast, unspecified, reserved, documentation, NAT64 and Teredo, and any IPv6 form whose
 * embedded IPv4 address is one of those. Anything that is not an IP address counts as private.
 */
export function isPrivateAddress(ip: string): boolean {
  const family = net.isIP(ip.split('%')[0]!);
  if (family === 4) return privateRanges.check(ip, 'ipv4');
  if (family !== 6) return true;
  const plain = ip.split('%')[0]!;
  if (plain === '::' || plain === '::1') return true;
  const inner = embeddedIPv4(plain);
  if (inner !== undefined && privateRanges.check(inner, 'ipv4')) return true;
  return privateRanges.check(plain, 'ipv6');
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
  // A name that does not resolve and a name that resolves to a private address get the same
  // answer, so a test send cannot be used to map which internal names exist.
  const unreachable = (hostname: string) => new WebhookTargetRefused(`refused: ${hostname} does not resolve to a public address`) as NodeJS.ErrnoException;
  const guardedLookup = ((hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void) => {
    resolve(hostname).then(
      (list) => {
        if (!opts.allowPrivate && (list.length === 0 || list.some((a) => isPrivateAddress(a.address)))) return callback(unreachable(hostname), '', 4);
        const usable = options.family === 4 || options.family === 6 ? list.filter((a) => a.family === options.family) : list;
        if (usable.length === 0) return callback(opts.allowPrivate ? Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }) : unreachable(hostname), '', 4);
        if (options.all) return callback(null, usable);
        callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(opts.allowPrivate ? err : unreachable(hostname), '', 4),
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
