/**
 * Accounts for integration tests: real users, real logins, real JWTs signed by the app.
 *
 *   const app = await startApp();
 *   const alice = await createUserAndLogin(app);                   // role 'user'
 *   const boss = await createUserAndLogin(app, { role: 'admin' }); // an administrator
 *   await app.fetch('/api/things', { token: alice.token });        // bearer token
 *   await app.fetch('/things-page', { headers: { cookie: alice.cookie } });  // pages (cc_session)
 *   // A cookie-authenticated POST/PUT/PATCH/DELETE must look same-origin (CSRF check):
 *   await app.fetch('/things', { method: 'POST', headers: { cookie: alice.cookie, ...sameOrigin(app) } });
 *
 * How: the first call per app creates a hidden administrator through the auth service
 * (services.auth.createAdmin, so no ADMIN_* variables are needed), logs it in, and creates
 * every other account through POST /api/auth/users as that admin; each account then logs in
 * through POST /api/auth/login (with cookie=true, which also sets the session cookie).
 */
import { randomBytes } from 'node:crypto';
import type { TestApp } from './app.js';

/** Passes the password policy; never contains a generated username. */
export const TEST_PASSWORD = 'Test password 4 candlecast!';

export interface TestAccount {
  user: { id: number; username: string; email: string; role: 'user' | 'admin' };
  password: string;
  /** the access token (JWT) */
  token: string;
  /** a Cookie header value: "cc_session=<same JWT>" */
  cookie: string;
  /** { authorization: 'Bearer <token>' } to spread into headers */
  headers: { authorization: string };
}

let counter = 0;
function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}-${randomBytes(4).toString('hex')}`;
}

/** Origin header that makes a cookie-authenticated write count as same-origin. */
export function sameOrigin(app: TestApp): { origin: string } {
  return { origin: new URL(app.url).origin };
}

/** Logs in through the API (form-encoded, as the original clients do) and returns token and cookie. */
export async function login(app: TestApp, username: string, password: string): Promise<TestAccount> {
  const r = await app.fetch('/api/auth/login', {
    method: 'POST',
    // cookie=true sets the session cookie, a cookie write: it must come from this site (login CSRF)
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...sameOrigin(app) },
    body: new URLSearchParams({ username, password, cookie: 'true' }).toString(),
  });
  if (r.status !== 200) throw new Error(`login of ${username} failed: ${r.status} ${await r.text()}`);
  const body = (await r.json()) as { access_token: string };
  const setCookie = r.headers.get('set-cookie') ?? '';
  const m = /cc_session=([^;]+)/.exec(setCookie);
  if (!m) throw new Error('login did not set the cc_session cookie');
  const me = await app.fetch('/api/auth/users/me', { token: body.access_token });
  const user = (await me.json()) as TestAccount['user'];
  return { user, password, token: body.access_token, cookie: `cc_session=${m[1]}`, headers: { authorization: `Bearer ${body.access_token}` } };
}

const admins = new WeakMap<TestApp, Promise<TestAccount>>();

/** The helper's own administrator for this app (created once, through the service). */
export function adminAccount(app: TestApp): Promise<TestAccount> {
  let p = admins.get(app);
  if (!p) {
    p = (async () => {
      const username = uniqueName('admin');
      await app.running.app.services.auth.createAdmin({ username, email: `${username}@example.test`, password: TEST_PASSWORD });
      return login(app, username, TEST_PASSWORD);
    })();
    admins.set(app, p);
    p.catch(() => admins.delete(app));
  }
  return p;
}

export interface NewAccountOptions {
  role?: 'user' | 'admin';
  username?: string;
  email?: string;
  password?: string;
}

/** Creates an account (as the helper's admin, through the API) and logs it in. */
export async function createUserAndLogin(app: TestApp, opts: NewAccountOptions = {}): Promise<TestAccount> {
  const admin = await adminAccount(app);
  const username = opts.username ?? uniqueName(opts.role === 'admin' ? 'adm' : 'user');
  const password = opts.password ?? TEST_PASSWORD;
  const r = await app.fetch('/api/auth/users', {
    method: 'POST',
    token: admin.token,
    json: { username, email: opts.email ?? `${username}@example.test`, password, role: opts.role ?? 'user' },
  });
  if (r.status !== 201) throw new Error(`creating ${username} failed: ${r.status} ${await r.text()}`);
  return login(app, username, password);
}
