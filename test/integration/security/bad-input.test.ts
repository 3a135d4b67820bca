/**
 * The bad-input suite: every route the running app has (found by walking the module routers,
 * so a new route is covered without editing this file) gets malformed requests as an
 * administrator, so they get past the guards: wrong types, missing and extra fields, huge
 * bodies and numbers, invalid dates and intervals, unicode, SQL and HTML injection strings,
 * prototype pollution, path traversal, wrong and missing content types, broken JSON and
 * percent-encoding. Inputs come from fast-check with a fixed seed (reproducible).
 *
 * Every answer must be below 500; the answers to inputs that cannot be valid must be 4xx with a
 * message in the router's error format; and no table but the security bookkeeping (audit log,
 * login throttle) may change. Then HTML stored through legitimate input must come back escaped
 * on the pages that show it. The number of cases tried is printed.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import pg from 'pg';
import type { Router } from 'express';
import { startApp, type TestApp } from '../../support/app.js';
import { adminAccount, createUserAndLogin, type TestAccount } from '../../support/auth.js';
import { PageClient } from '../pages/support.js';

interface RouteInfo {
  method: string;
  path: string;
  base: '/api' | '/internal' | '';
}

interface LayerLike {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[] };
  rawPath?: unknown;
}

function walk(router: Router, base: RouteInfo['base'], prefix = ''): RouteInfo[] {
  const out: RouteInfo[] = [];
  for (const layer of (router as unknown as { stack: LayerLike[] }).stack) {
    if (layer.route && typeof layer.route.path === 'string') {
      for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push({ method: m.toUpperCase(), path: prefix + layer.route.path, base });
    } else if (layer.handle?.stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      out.push(...walk(layer.handle as unknown as Router, base, prefix + mount));
    }
  }
  return out;
}

// ---------------------------------------------------------------- the bad values

const INJECTION = [
  "' OR '1'='1",
  "1; DROP TABLE users; --",
  "admin'--",
  '" OR ""="',
  "1' UNION SELECT password_hash FROM users --",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "javascript:alert('x')",
  '{{7*7}}',
  '${7*7}',
  '<%= 7*7 %>',
];
const TRAVERSAL = ['../../../../etc/passwd', '..\\..\\..\\windows\\win.ini', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/etc/passwd', '....//....//etc/passwd', 'file:///etc/passwd'];
const UNICODE = ['😀💥🚀', 'ü'.repeat(300), '\u202e\u0000\u0007', 'Ω≈ç√∫˜µ≤≥÷', '𝕏𝕐𝕑', '\ud800', 'ﷺ', ' '.repeat(50), '\t\n\r'];
const NUMBERS = [1e308, -1e308, 2 ** 53 + 1, -(2 ** 31) - 1, 2 ** 31, -1, 0, -0, 0.5, 1e-320, 1.2345678901234568e29];
const DATES = ['2024-02-30', '0000-00-00', '9999-99-99T99:99:99Z', 'yesterday', '1970-01-01T00:00:00+99:00', '-271821-04-20', '2024-13-01', '1e10', '2024-01-01T25:00'];
const INTERVALS = ['0', '-60', '7m', '1y', 'abc', '1e9', '99999999999', '1.5', '1h;DROP', '1440x'];
const STRINGS = [...INJECTION, ...TRAVERSAL, ...UNICODE, ...DATES, ...INTERVALS, '', 'null', 'undefined', 'NaN', 'Infinity', '[object Object]', 'x'.repeat(5000)];
const FIELDS = [
  'username', 'password', 'current_password', 'new_password', 'email', 'role', 'name', 'scope', 'expires_in_days', 'expires_at', 'cookie', 'everywhere', 'token',
  'pair', 'asset', 'symbol', 'exchange', 'interval', 'intervals', 'from', 'to', 'start', 'end', 'since', 'days', 'limit', 'offset', 'cursor', 'confirm', 'purge',
  'params', 'algorithm', 'model', 'horizon', 'metric', 'kind', 'threshold', 'value', 'direction', 'enabled', 'channels', 'url', 'secret', 'events', 'cooldown_minutes',
  'ids', 'all', 'time_zone', 'watchlist', 'default_pair', 'default_interval', 'smtp_url', 'from_address', 'level', 'q', 'requestId', 'jobRunId', 'status', 'job',
];

const badScalar = fc.oneof(
  fc.constantFrom(...STRINGS),
  fc.constantFrom(...NUMBERS),
  fc.constantFrom(null, true, false),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.double({ noDefaultInfinity: true }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((b) => Number(b)),
);
const badValue = fc.oneof(
  { weight: 5, arbitrary: badScalar },
  { weight: 1, arbitrary: fc.array(badScalar, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...FIELDS, '__proto__', 'constructor'), badScalar, { maxKeys: 3 }) },
);
const badObject = fc.dictionary(fc.constantFrom(...FIELDS), badValue, { minKeys: 1, maxKeys: 6 });

/** Bodies that cannot be valid anywhere: each has at least one field of a wrong shape. */
function jsonBodies(n: number, seed: number): unknown[] {
  const objects = fc.sample(badObject, { numRuns: n, seed });
  return [
    ...objects,
    [],
    [1, 2, 3],
    { __proto__: { role: 'admin' }, username: 'x' },
    JSON.parse('{"__proto__": {"role": "admin"}, "constructor": {"prototype": {"isAdmin": true}}}'),
    { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } },
    Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`field${i}`, i])),
  ];
}

// ---------------------------------------------------------------- the suite

interface Outcome {
  route: string;
  method: string;
  url: string;
  status: number;
  mustRefuse: boolean;
  note: string;
  body: string;
  contentType: string;
}

describe('bad input on every route', () => {
  let app: TestApp;
  let admin: TestAccount;
  let db: pg.Client;
  const outcomes: Outcome[] = [];

  before(async () => {
    app = await startApp({
      env: {
        // The suite sends thousands of requests from one address: keep the limits and the
        // anomaly rules out of the way so the handlers themselves answer.
        RATE_LIMIT_PER_MINUTE: '1000000',
        RATE_LIMIT_PER_IP_PER_MINUTE: '1000000',
        ANOMALY_LOGIN_FAILURES_PER_IP: '100000',
        ANOMALY_LOGIN_FAILURES_PER_USER: '100000',
        ANOMALY_RATE_FLOOR_PER_MINUTE: '1000000',
        LOG_LEVEL: 'warn',
      },
    });
    admin = await adminAccount(app);
    db = new pg.Client({ connectionString: app.db.connectionString });
    await db.connect();
  });
  after(async () => {
    await db?.end();
    await app?.stop();
  });

  async function rowCounts(): Promise<Record<string, number>> {
    const tables = await db.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
    const out: Record<string, number> = {};
    for (const { t } of tables.rows) out[t] = Number((await db.query<{ n: string }>(`SELECT count(*)::bigint AS n FROM "${t}"`)).rows[0]!.n);
    // Also catch in-place updates of the users (role, password, token version).
    out['users:fingerprint'] = Number((await db.query<{ n: string }>(`SELECT coalesce(sum(hashtext(username || role || "passwordHash" || "tokenVersion"::text || email)), 0)::bigint AS n FROM users`)).rows[0]!.n);
    return out;
  }

  let currentRoute = '';
  async function send(c: { method: string; url: string; headers?: Record<string, string>; body?: string | Uint8Array; mustRefuse: boolean; note: string }): Promise<void> {
    let r: Response;
    try {
      r = await fetch(new URL(c.url, app.url), { method: c.method, headers: c.headers, body: c.body, redirect: 'manual' });
    } catch (err) {
      // A URL fetch itself refuses to send is not a case.
      if (err instanceof TypeError && /Invalid URL|URL/.test(String(err.message))) return;
      throw err;
    }
    const body = await r.text();
    outcomes.push({ route: currentRoute, method: c.method, url: c.url, status: r.status, mustRefuse: c.mustRefuse, note: c.note, body: body.slice(0, 300), contentType: r.headers.get('content-type') ?? '' });
  }

  test('hundreds of malformed requests: never a 5xx, bad input refused with a message, nothing stored', async () => {
    const modules = app.running.app.modules;
    let routes: RouteInfo[] = [];
    for (const m of modules) {
      if (m.api) routes.push(...walk(m.api, '/api'));
      if (m.internal) routes.push(...walk(m.internal, '/internal'));
      if (m.pages) routes.push(...walk(m.pages, ''));
    }
    const seen = new Set<string>();
    routes = routes.filter((r) => {
      const k = `${r.method} ${r.base}${r.path}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    // Ending the admin's own session would make the rest of the suite anonymous.
    routes = routes.filter((r) => !/\/logout$/.test(r.path));
    assert.ok(routes.length >= 40, `found ${routes.length} routes`);

    const pages = new PageClient(app);
    for (const [k, v] of admin.cookie.split('=').length === 2 ? [admin.cookie.split('=') as [string, string]] : []) pages.cookies.set(k, v);
    await pages.get('/account');
    assert.ok(pages.csrf, 'a CSRF token for the page posts');

    const before0 = await rowCounts();
    const params = [...INJECTION.slice(0, 7), ...TRAVERSAL.slice(0, 4), ...UNICODE.filter((u) => !u.includes('\ud800')).slice(0, 4), '\u0000', ...DATES.slice(0, 3), ...INTERVALS.slice(0, 3), '-1', '0', '99999999999999999999', '1.5', 'NaN', '%ff', '%00', '%'];
    const bodies = jsonBodies(8, 4242);
    const queries = fc.sample(fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(fc.constantFrom(...STRINGS.filter((s) => s.length < 400)), fc.constantFrom(...NUMBERS.map(String))), { minKeys: 1, maxKeys: 4 }), { numRuns: 4, seed: 99 });

    for (const route of routes) {
      currentRoute = `${route.method} ${route.base}${route.path}`;
      const isPage = route.base === '';
      const hasParams = /:\w+/.test(route.path);
      const write = route.method !== 'GET' && route.method !== 'HEAD';
      const auth: Record<string, string> = isPage ? { cookie: pages.cookieHeader(), origin: new URL(app.url).origin } : { authorization: `Bearer ${admin.token}` };
      const fill = (v: string, raw = false) => route.base + route.path.replace(/:(\w+)/g, () => (raw ? v : encodeURIComponent(v)));

      // 1. every path parameter with hostile values (these never name a real record)
      if (hasParams) {
        for (const p of params) {
          const raw = p.startsWith('%') || p.includes('%2e');
          const url = fill(p, raw);
          if (write && isPage) {
            await send({ method: route.method, url, headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${pages.csrf}`, mustRefuse: false, note: `path param ${JSON.stringify(p)}` });
          } else {
            await send({ method: route.method, url, headers: { ...auth, ...(write ? { 'content-type': 'application/json' } : {}) }, body: write ? '{}' : undefined, mustRefuse: !isPage || write, note: `path param ${JSON.stringify(p)}` });
          }
        }
      }
      const url = fill(hasParams ? '1' : '');

      // 2. hostile query strings (GET routes: unknown names may be ignored; known ones must be checked)
      if (!write) {
        for (const q of queries) {
          const qs = new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString();
          await send({ method: route.method, url: `${url}?${qs}`, headers: auth, mustRefuse: false, note: `query ${qs.slice(0, 80)}` });
        }
        await send({ method: route.method, url: `${url}?limit=1&limit=2&offset=-1&from=2024-02-30&to=%ff`, headers: auth, mustRefuse: false, note: 'repeated and broken query values' });
        continue;
      }

      // 3. write routes: bodies of wrong shapes, broken JSON, wrong and missing content types, too big
      if (isPage) {
        for (const b of LENIENT.has(currentRoute) ? [] : bodies.slice(0, 8)) {
          const form = new URLSearchParams();
          form.set('_csrf', pages.csrf);
          // Every value in a form is a string, so a short one may well be valid for the field it
          // lands in (a key named "' OR '1'='1" is a fine name). Padded past any field's limit,
          // each value is certainly invalid while still carrying its hostile content.
          if (b && typeof b === 'object' && !Array.isArray(b)) for (const [k, v] of Object.entries(b)) form.append(k, `${typeof v === 'string' ? v : (JSON.stringify(v) ?? '')}${'\u00a0x'.repeat(1500)}`);
          await send({ method: route.method, url, headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(), mustRefuse: false, note: `form ${form.toString().slice(0, 80)}` });
        }
        await send({ method: route.method, url, headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${pages.csrf}&x=${'y'.repeat(200_000)}`, mustRefuse: true, note: 'huge form' });
        await send({ method: route.method, url, headers: { ...auth, 'content-type': 'application/xml' }, body: '<x/>', mustRefuse: true, note: 'xml to a page' });
        await send({ method: route.method, url, headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1', mustRefuse: true, note: 'no CSRF token' });
        continue;
      }
      for (const b of bodies) {
        await send({ method: route.method, url, headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(b), mustRefuse: !LENIENT.has(`${route.method} ${route.base}${route.path}`), note: `json ${JSON.stringify(b).slice(0, 100)}` });
      }
      for (const raw of ['{"a":', '{"a":1,}', "{'a':1}", 'null', '123', '"str"', 'true', '\u0000', '{"a":"\\ud800"}']) {
        const refuse = !LENIENT.has(`${route.method} ${route.base}${route.path}`) || raw.length < 9;
        await send({ method: route.method, url, headers: { ...auth, 'content-type': 'application/json' }, body: raw, mustRefuse: refuse && raw !== '{"a":"\\ud800"}', note: `raw ${JSON.stringify(raw)}` });
      }
      await send({ method: route.method, url, headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'z'.repeat(200_000) }), mustRefuse: true, note: 'huge json' });
      await send({ method: route.method, url, headers: { ...auth, 'content-type': 'application/xml' }, body: '<a>1</a>', mustRefuse: true, note: 'xml' });
      await send({ method: route.method, url, headers: { ...auth, 'content-type': 'text/html' }, body: '<b>1</b>', mustRefuse: true, note: 'html body' });
      await send({ method: route.method, url, headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=%ff&password=%&role[]=admin', mustRefuse: !LENIENT.has(`${route.method} ${route.base}${route.path}`), note: 'broken form encoding' });
    }

    // Anonymous hostile requests to the private API and unknown paths.
    for (const p of TRAVERSAL) {
      await send({ method: 'GET', url: `/static/${p}`, mustRefuse: true, note: 'static traversal' });
      await send({ method: 'GET', url: `/api/${p}`, mustRefuse: true, note: 'api traversal' });
    }

    const after0 = await rowCounts();
    const total = outcomes.length;
    const fiveHundreds = outcomes.filter((o) => o.status >= 500);
    const notRefused = outcomes.filter((o) => o.mustRefuse && !(o.status >= 400 && o.status < 500));
    const noMessage = outcomes.filter((o) => {
      if (o.status < 400 || o.status >= 500) return false;
      if (o.contentType.includes('json')) {
        try {
          const b = JSON.parse(o.body) as { error?: { message?: unknown; code?: unknown } };
          return !(typeof b.error?.message === 'string' && b.error.message.length > 0 && typeof b.error.code === 'string');
        } catch {
          return o.body.length >= 300 ? false : true;
        }
      }
      return o.body.trim().length === 0 && !(o.status === 401 && o.url.startsWith('/'));
    });
    const statuses = new Map<number, number>();
    for (const o of outcomes) statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
    console.log(`bad-input suite: ${total} cases over ${routes.length} routes; statuses ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ')}`);
    const byRoute = (list: Outcome[]) => [...new Set(list.map((o) => o.route))].join('\n');
    const show = (list: Outcome[]) => byRoute(list) + '\n--\n' + list.slice(0, 15).map((o) => `${o.status} ${o.method} ${o.url.slice(0, 120)} [${o.note}] ${o.body.slice(0, 160)}`).join('\n');
    assert.deepEqual(fiveHundreds.length, 0, `5xx answers:\n${show(fiveHundreds)}`);
    assert.deepEqual(notRefused.length, 0, `bad input accepted:\n${show(notRefused)}`);
    assert.deepEqual(noMessage.length, 0, `4xx without a message:\n${show(noMessage)}`);
    const ignore = new Set(['audit_log', 'login_throttle']);
    const changed = Object.keys(after0).filter((t) => !ignore.has(t) && after0[t] !== before0[t]);
    assert.deepEqual(changed, [], `tables changed: ${changed.map((t) => `${t} ${before0[t]} -> ${after0[t]}`).join(', ')}`);
    assert.ok(total >= 500, `only ${total} cases`);
  });

  test('HTML stored through legitimate input comes back escaped on the pages', async () => {
    const evil = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    const user: TestAccount = await createUserAndLogin(app);
    const key = await app.fetch('/api/auth/api-keys', { method: 'POST', token: user.token, json: { name: evil.slice(0, 60), scope: 'read' } });
    assert.equal(key.status, 201, await key.clone().text());
    const client = new PageClient(app);
    const [k, v] = user.cookie.split('=') as [string, string];
    client.cookies.set(k, v);
    const { html } = await client.get('/account');
    assert.ok(!html.includes('<script>alert("x")'), 'raw script on /account');
    assert.ok(!html.includes('<img src=x onerror'), 'raw img on /account');
    assert.match(html, /&lt;script&gt;alert\(&#34;x&#34;\)|&lt;script&gt;alert\(&quot;x&quot;\)/);
    // The admin's audit page shows the key's name in the entry's details, escaped too.
    const adminPages = new PageClient(app);
    const [ak, av] = admin.cookie.split('=') as [string, string];
    adminPages.cookies.set(ak, av);
    const audit = await adminPages.get('/admin/audit');
    assert.equal(audit.r.status, 200);
    assert.ok(!audit.html.includes('<script>alert("x")'), 'raw script on /admin/audit');
    // A failed login with an HTML username lands in the audit log and the logs page, escaped.
    await app.fetch('/api/auth/login', { method: 'POST', json: { username: '<b>bold</b><script>x()</script>', password: 'nope nope nope' } });
    const logs = await adminPages.get('/admin/logs?q=login');
    assert.ok(!logs.html.includes('<script>x()</script>'), 'raw script on /admin/logs');
    const audit2 = await adminPages.get('/admin/audit?action=auth.login_failed');
    assert.ok(!audit2.html.includes('<script>x()</script>'), 'raw script on the audit page');
    assert.match(audit2.html, /&lt;b&gt;bold&lt;\/b&gt;/);
  });
});

/**
 * Write routes that read no body at all, so any body is as good as none: POST /auth/validate
 * checks the credential in the headers (the original API's shape), DELETE /alerts/admin/smtp
 * forgets the stored SMTP settings. Their bodies still go through the router's content-type
 * check, size limit and JSON parser, which must refuse what they cannot read.
 */
const LENIENT = new Set<string>([
  'POST /api/auth/validate',
  'DELETE /api/alerts/admin/smtp',
  // A page form whose every field is optional (unticked boxes are simply absent): a post without
  // any of its fields is a valid "clear my watchlist and defaults".
  'POST /preferences',
]);
