/**
 * Builds candlecast's OpenAPI 3.1 document from the modules' zod schemas. Each module's public
 * routes are described once, as a table of `DocRoute`s in ./paths/<module>.ts; this file turns
 * the tables into registry paths, adds what every route shares (security schemes, the error
 * body, the 401/403/422/500 answers a guard or the validator can give) and generates the
 * document. The coverage test (test/integration/api-docs) fails when a route mounted on /api has
 * no row here, so an undocumented endpoint cannot slip in.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call a route:
 * - public: anyone (the credential, if any, is read but not required)
 * - user: any signed-in user (bearer JWT, session cookie or API key; read-only keys cannot write)
 * - session: a signed-in user with a password-backed session (token or cookie), not an API key
 * - admin: an administrator (any credential)
 * - admin-session: an administrator with a token or cookie, not an API key
 */
export type Access = 'public' | 'user' | 'session' | 'admin' | 'admin-session';

export interface DocResponse {
  description: string;
  /** zod schema of the JSON body; omit for an empty answer (204) */
  schema?: z.ZodType;
  /** a realistic body; required whenever `schema` is given */
  example?: unknown;
  /** defaults to application/json */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface DocRoute {
  method: HttpMethod;
  /** Express-style path under /api, e.g. /crypto/asset_history/:asset */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  bodyExample?: unknown;
  /** json (default), form (the original's OAuth2 password form, JSON accepted too), csv */
  bodyType?: 'json' | 'form' | 'csv';
  bodyRequired?: boolean;
  responses: Record<number, DocResponse>;
  /** error statuses this route answers besides those derived from access and inputs (404, 409, 429...) */
  errors?: number[];
  /** the path and shapes come from the original FastAPI gateway (kept for its clients) */
  original?: boolean;
  deprecated?: boolean;
}

/** The JSON error body of /api and /internal (src/http/error-handlers.ts). */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ description: 'stable, machine-readable reason', example: 'validation_failed' }),
      message: z.string().openapi({ description: 'what went wrong, for a person', example: 'limit: must be a whole number from 1 to 1000' }),
      details: z.unknown().optional().openapi({ description: 'per-field problems for validation errors; retryAfterSeconds for 429' }),
      requestId: z.string().openapi({ description: 'also sent as X-Request-Id; quote it when reporting a problem', example: '5f0c2a1e-8d1b-4c3e-9a57-0b7f3f0c1d2e' }),
    }),
    detail: z.string().openapi({ description: 'the same message, FastAPI-style, for clients of the original API', example: 'limit: must be a whole number from 1 to 1000' }),
  })
  .openapi('Error');

const ERROR_TEXT: Record<number, { description: string; code: string; message: string; details?: unknown }> = {
  400: { description: 'Bad request (malformed body or parameter)', code: 'bad_request', message: 'The request body is not valid JSON' },
  401: { description: 'No credential, or an expired, revoked or unknown one', code: 'unauthorized', message: 'Authentication required' },
  403: { description: 'Signed in, but not allowed (role, read-only API key, or an API key where a password session is required)', code: 'forbidden', message: 'Administrators only' },
  404: { description: 'No such record', code: 'not_found', message: 'Not found' },
  409: { description: 'Conflicts with existing data (duplicate name, state that forbids the change)', code: 'duplicate', message: 'A record with this username already exists' },
  413: { description: 'The body is larger than the limit', code: 'payload_too_large', message: 'The request body is too large' },
  415: { description: 'The body has a content type this route does not read', code: 'unsupported_media_type', message: 'Send the body as application/json' },
  422: {
    description: 'An input failed validation; `details` names each field',
    code: 'validation_failed',
    message: 'limit: must be a whole number from 1 to 1000',
    details: [{ path: 'limit', message: 'must be a whole number from 1 to 1000' }],
  },
  429: { description: 'Too many requests; wait `Retry-After` seconds', code: 'too_many_requests', message: 'Too many requests; try again later', details: { retryAfterSeconds: 30 } },
  500: { description: 'Unexpected failure (logged with the request id)', code: 'internal_error', message: 'Internal server error' },
  502: { description: 'Kraken failed or answered with an error', code: 'upstream_error', message: 'Kraken did not answer in time' },
  503: { description: 'Temporarily unavailable (database down, no data yet)', code: 'unavailable', message: 'No prediction has been made yet' },
};

export const SECURITY_SCHEMES = {
  bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /api/auth/login (HS256, expires after JWT_EXPIRES_IN seconds). A personal API key (cc_...) is also accepted here.' },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'A personal API key from POST /api/auth/api-keys; read-only keys may only read.' },
  cookieAuth: { type: 'apiKey', in: 'cookie', name: 'cc_session', description: 'The HttpOnly session cookie set by the login page (or POST /api/auth/login with cookie=true). Writes with it must come from the same origin.' },
} as const;

function securityFor(access: Access): Record<string, string[]>[] {
  if (access === 'public') return [{}, { bearerAuth: [] }, { apiKey: [] }, { cookieAuth: [] }];
  if (access === 'session' || access === 'admin-session') return [{ bearerAuth: [] }, { cookieAuth: [] }];
  return [{ bearerAuth: [] }, { apiKey: [] }, { cookieAuth: [] }];
}

const ACCESS_TEXT: Record<Access, string> = {
  public: 'No credential needed.',
  user: 'Any signed-in user.',
  session: 'A signed-in user with a token or the session cookie (API keys are refused).',
  admin: 'Administrators only.',
  'admin-session': 'Administrators only, with a token or the session cookie (API keys are refused).',
};

/** Express's `/a/:b/c` -> OpenAPI's `/a/{b}/c`. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function pathParamNames(expressPath: string): string[] {
  return [...expressPath.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

export interface SpecOptions {
  version: string;
  /** where the API answers, e.g. https://candlecast.example.com; the document uses relative paths otherwise */
  publicUrl?: string;
}

export const API_PREFIX = '/api';

export function buildOpenApiDocument(routes: readonly DocRoute[], opts: SpecOptions): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  registry.register('Error', errorBodySchema);
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) registry.registerComponent('securitySchemes', name, { ...scheme });

  const seen = new Set<string>();
  for (const r of routes) {
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) throw new Error(`OpenAPI: ${key} is described twice`);
    seen.add(key);

    const names = pathParamNames(r.path);
    let params = r.params;
    if (!params && names.length) params = z.object(Object.fromEntries(names.map((n) => [n, z.string()])));
    const responses: Record<string, { description: string; headers?: Record<string, { description: string; schema: { type: 'string' } }>; content?: Record<string, { schema: z.ZodType; example?: unknown }> }> = {};
    for (const [status, res] of Object.entries(r.responses)) {
      if (res.schema && res.example === undefined) throw new Error(`OpenAPI: ${key} ${status} has a schema but no example`);
      responses[status] = {
        description: res.description,
        ...(res.headers ? { headers: Object.fromEntries(Object.entries(res.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' as const } }])) } : {}),
        ...(res.schema ? { content: { [res.contentType ?? 'application/json']: { schema: res.schema, example: res.example } } } : {}),
      };
    }
    const errors = new Set(r.errors ?? []);
    if (r.access !== 'public') errors.add(401);
    if (r.access !== 'public' && r.access !== 'user') errors.add(403);
    if (r.access === 'user' && ['post', 'put', 'patch', 'delete'].includes(r.method)) errors.add(403); // read-only API keys
    if (r.params || r.query || r.body) errors.add(422);
    if (r.body) errors.add(415);
    // every /api request counts against the per-address and per-user/key rate limits
    errors.add(429);
    errors.add(500);
    for (const status of [...errors].sort((a, b) => a - b)) {
      const e = ERROR_TEXT[status];
      if (!e) throw new Error(`OpenAPI: ${key} lists error ${status}, which has no description`);
      responses[String(status)] ??= {
        description: e.description,
        ...(status === 401 ? { headers: { 'WWW-Authenticate': { description: 'Bearer', schema: { type: 'string' as const } } } } : {}),
        ...(status === 429 ? { headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'string' as const } } } } : {}),
        content: {
          'application/json': {
            schema: errorBodySchema,
            example: { error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}), requestId: '5f0c2a1e-8d1b-4c3e-9a57-0b7f3f0c1d2e' }, detail: e.message },
          },
        },
      };
    }

    let body: { required: boolean; content: Record<string, { schema: z.ZodType; example?: unknown }> } | undefined;
    if (r.body) {
      const example = r.bodyExample;
      const content: Record<string, { schema: z.ZodType; example?: unknown }> =
        r.bodyType === 'csv'
          ? { 'text/csv': { schema: r.body, example } }
          : r.bodyType === 'form'
            ? { 'application/x-www-form-urlencoded': { schema: r.body, example }, 'application/json': { schema: r.body, example } }
            : { 'application/json': { schema: r.body, example } };
      body = { required: r.bodyRequired ?? true, content };
    }

    registry.registerPath({
      method: r.method,
      path: API_PREFIX + toOpenApiPath(r.path),
      tags: [r.tag],
      summary: r.summary,
      description: [r.description, ACCESS_TEXT[r.access], r.original ? 'Same path and shapes as the original FastAPI gateway.' : undefined].filter(Boolean).join('\n\n'),
      operationId: operationId(r),
      deprecated: r.deprecated,
      security: securityFor(r.access),
      request: { ...(params ? { params } : {}), ...(r.query ? { query: r.query } : {}), ...(body ? { body } : {}) },
      responses,
    });
  }

  const generator = new OpenApiGeneratorV31(registry.definitions, { sortComponents: 'alphabetically' });
  return generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'candlecast API',
      version: opts.version,
      description:
        'Crypto candles from Kraken, models, predictions, alerts and jobs: the public JSON API of candlecast. `/api/auth`, `/api/crypto` and `/api/prediction` keep the paths, shapes and status codes of the original FastAPI gateway, ' +
        'so its clients only change their base URL; everything else is added. Errors are `{error: {code, message, details?, requestId}, detail}`. ' +
        'Authenticate with `Authorization: Bearer <access_token>` from POST /api/auth/login, an `X-API-Key`, or the session cookie of the pages.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: opts.publicUrl ?? '/', description: opts.publicUrl ? 'this server' : 'the server this document was read from' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
  });
}

function operationId(r: DocRoute): string {
  const words = r.path
    .split('/')
    .filter(Boolean)
    .map((s) => (s.startsWith(':') ? 'by_' + s.slice(1) : s))
    .join('_')
    .replace(/[^A-Za-z0-9_]/g, '_');
  return `${r.method}_${words}`;
}
