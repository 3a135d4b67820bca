import { UpstreamError } from '../../../platform/errors.js';

/**
 * Why a Kraken call failed. The first group is transient (retried with backoff), the second
 * means the same request would fail again.
 */
export type KrakenErrorKind =
  | 'rate_limited'
  | 'unavailable'
  | 'http_5xx'
  | 'timeout'
  | 'network'
  | 'unparseable_body'
  | 'unknown_pair'
  | 'invalid_arguments'
  | 'http_4xx'
  | 'rejected'
  | 'unexpected_shape';

const RETRYABLE: ReadonlySet<KrakenErrorKind> = new Set<KrakenErrorKind>(['rate_limited', 'unavailable', 'http_5xx', 'timeout', 'network', 'unparseable_body']);

export function isRetryableKind(kind: KrakenErrorKind): boolean {
  return RETRYABLE.has(kind);
}

export interface KrakenErrorInit {
  kind: KrakenErrorKind;
  endpoint: string;
  pair?: string;
  krakenErrors?: string[];
  httpStatus?: number;
  /** seconds from a Retry-After header, when Kraken (or its CDN) sent one */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class KrakenError extends UpstreamError {
  readonly kind: KrakenErrorKind;
  readonly endpoint: string;
  readonly pair: string | undefined;
  readonly krakenErrors: readonly string[];
  readonly httpStatus: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  /** how many HTTP attempts were made before giving up (set by the client) */
  attempts = 1;

  constructor(message: string, init: KrakenErrorInit) {
    super(message, {
      retryable: isRetryableKind(init.kind),
      cause: init.cause,
      details: { kind: init.kind, endpoint: init.endpoint, pair: init.pair, krakenErrors: init.krakenErrors ?? [] },
    });
    this.kind = init.kind;
    this.endpoint = init.endpoint;
    this.pair = init.pair;
    this.krakenErrors = init.krakenErrors ?? [];
    this.httpStatus = init.httpStatus;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/**
 * Maps Kraken's error strings ("EService:Unavailable", ...) to a kind. Kraken also sends
 * warnings ("W...") in the same list; only "E" entries count as errors.
 */
export function classifyKrakenErrors(errors: readonly string[]): KrakenErrorKind | null {
  const real = errors.filter((e) => e.startsWith('E'));
  if (real.length === 0) return null;
  // The most transient reason wins: a retry can still succeed while one of them is transient.
  if (real.some((e) => e === 'EAPI:Rate limit exceeded' || e === 'EGeneral:Temporary lockout')) return 'rate_limited';
  if (real.some((e) => e.startsWith('EService:') || e === 'EGeneral:Internal error')) return 'unavailable';
  if (real.some((e) => e === 'EQuery:Unknown asset pair')) return 'unknown_pair';
  if (real.some((e) => e === 'EGeneral:Invalid arguments' || e.startsWith('EGeneral:Invalid arguments:'))) return 'invalid_arguments';
  return 'rejected';
}
