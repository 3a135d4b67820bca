/** /api/auth: the original gateway's /auth routes, user management, API keys, the audit log. */
import { z } from 'zod';
import { authSchemas as s } from '../../auth/index.js';
import type { DocRoute } from '../openapi.js';

const role = z.enum(['user', 'admin']);
const iso = z.string().openapi({ format: 'date-time' });

const userExample = { id: 2, username: 'alice', email: 'alice@example.com', role: 'user', created_at: '2026-11-01T09:30:00.000Z', last_login_at: '2026-11-29T08:12:44.000Z' };
export const publicUser = z
  .object({ id: z.number().int(), username: z.string(), email: z.string(), role, created_at: iso, last_login_at: iso.nullable() })
  .openapi('User', { example: userExample });

const token = {
  access_token: z.string().openapi({ description: 'HS256 JWT; send as Authorization: Bearer <access_token>' }),
  token_type: z.literal('bearer'),
  role,
  expires_in: z.number().int().openapi({ description: 'seconds until the token expires' }),
};
const tokenExample = { access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIyIn0.c2lnbmF0dXJl', token_type: 'bearer', role: 'user', expires_in: 3600 };

const apiKey = z
  .object({ id: z.string(), name: z.string(), prefix: z.string(), scope: z.enum(['read', 'write']), created_at: iso, last_used_at: iso.nullable(), expires_at: iso.nullable() })
  .openapi('ApiKey');
const apiKeyExample = { id: '7', name: 'grafana', prefix: 'cc_3fa9', scope: 'read', created_at: '2026-11-20T10:00:00.000Z', last_used_at: null, expires_at: '2027-11-20T10:00:00.000Z' };

const message = z.object({ message: z.string() });
const userCreated = z.object({ message: z.string(), user: publicUser });

const auditItem = z.object({
  id: z.string(),
  at: iso,
  action: z.string(),
  actor_id: z.number().int().nullable(),
  actor_username: z.string().nullable(),
  target: z.string().nullable(),
  ip: z.string().nullable(),
  request_id: z.string().nullable(),
  success: z.boolean(),
  details: z.unknown(),
});

export const authPaths: DocRoute[] = [
  {
    method: 'post',
    path: '/auth/login',
    tag: 'auth',
    summary: 'Log in with a username and password; get an access token',
    description: 'The OAuth2 password form of the original (form-encoded), or the same fields as JSON. Repeated failures lock the account and the address out for a while (429).',
    access: 'public',
    original: true,
    bodyType: 'form',
    body: s.loginSchema,
    bodyExample: { username: 'alice', password: 'correct horse battery staple' },
    responses: { 200: { description: 'Logged in', schema: z.object({ ...token, username: z.string() }), example: { ...tokenExample, username: 'alice' } } },
    errors: [401, 429],
  },
  {
    method: 'post',
    path: '/auth/logout',
    tag: 'auth',
    summary: 'Log out (clears the session cookie; everywhere=true also revokes every token of the user)',
    access: 'public',
    body: s.logoutSchema,
    bodyRequired: false,
    bodyExample: { everywhere: true },
    responses: { 200: { description: 'Logged out', schema: message, example: { message: 'Logged out everywhere' } } },
    errors: [401],
  },
  {
    method: 'post',
    path: '/auth/validate',
    tag: 'auth',
    summary: 'Tell whether the presented credential is valid',
    access: 'public',
    original: true,
    responses: {
      200: {
        description: '`valid` says whether the credential is accepted; `reason` says why not',
        schema: z.object({ valid: z.boolean(), username: z.string().optional(), role: role.optional(), reason: z.string().optional() }),
        example: { valid: true, username: 'alice', role: 'user' },
      },
    },
  },
  {
    method: 'get',
    path: '/auth/protected',
    tag: 'auth',
    summary: 'A route that needs a credential (for checking one)',
    access: 'user',
    original: true,
    responses: { 200: { description: 'Greeting', schema: z.object({ message: z.string(), user: z.string(), role }), example: { message: 'Hello alice, you are authenticated', user: 'alice', role: 'user' } } },
  },
  {
    method: 'post',
    path: '/auth/signup',
    tag: 'auth',
    summary: 'Create a user (administrators; anyone when SIGNUP_MODE=open)',
    description: 'Only an administrator may give the admin role. Self-service sign-ups are limited per address per hour.',
    access: 'public',
    original: true,
    body: s.signupSchema,
    bodyExample: { username: 'bob', email: 'bob@example.com', password: 'a long passphrase 42', role: 'user' },
    responses: { 201: { description: 'Created', schema: userCreated, example: { message: 'User bob created', user: { ...userExample, id: 3, username: 'bob', email: 'bob@example.com' } } } },
    errors: [400, 401, 403, 409, 429],
  },
  {
    method: 'get',
    path: '/auth/users/me',
    tag: 'auth',
    summary: 'The signed-in user',
    access: 'user',
    original: true,
    responses: { 200: { description: 'The user', schema: publicUser, example: userExample } },
  },
  {
    method: 'put',
    path: '/auth/users/me',
    tag: 'auth',
    summary: 'Change your username, e-mail or password',
    description: 'Changing the password needs current_password and revokes your other tokens: the answer then carries a new access_token.',
    access: 'session',
    original: true,
    body: s.updateMeSchema,
    bodyExample: { email: 'alice@example.org' },
    responses: { 200: { description: 'The updated user (plus a new token after a password change)', schema: publicUser.extend({ access_token: z.string().optional(), token_type: z.literal('bearer').optional(), expires_in: z.number().int().optional() }), example: { ...userExample, email: 'alice@example.org' } } },
    errors: [400, 409],
  },
  {
    method: 'delete',
    path: '/auth/users/:username',
    tag: 'auth',
    summary: 'Delete a user (an administrator, or the user themself; `me` names yourself)',
    access: 'session',
    original: true,
    params: s.usernameParamSchema,
    responses: { 200: { description: 'Deleted', schema: message, example: { message: 'User bob deleted' } } },
    errors: [404, 409],
  },
  {
    method: 'get',
    path: '/auth/users',
    tag: 'auth',
    summary: 'List users',
    access: 'admin',
    original: true,
    query: s.listUsersQuerySchema,
    responses: { 200: { description: 'Users, oldest first', schema: z.array(publicUser), example: [{ ...userExample, id: 1, username: 'admin', email: 'admin@example.com', role: 'admin' }, userExample] } },
  },
  {
    method: 'post',
    path: '/auth/users',
    tag: 'auth',
    summary: 'Create a user (administrators), whatever SIGNUP_MODE says',
    access: 'admin-session',
    body: s.signupSchema,
    bodyExample: { username: 'carol', email: 'carol@example.com', password: 'another long passphrase', role: 'admin' },
    responses: { 201: { description: 'Created', schema: userCreated, example: { message: 'User carol created', user: { ...userExample, id: 4, username: 'carol', email: 'carol@example.com', role: 'admin' } } } },
    errors: [400, 409],
  },
  {
    method: 'put',
    path: '/auth/users/:username/role',
    tag: 'auth',
    summary: "Change a user's role (never your own; never the last administrator)",
    access: 'admin-session',
    original: true,
    params: s.usernameParamSchema,
    body: s.setRoleSchema,
    bodyExample: { role: 'admin' },
    responses: { 200: { description: 'The user', schema: publicUser, example: { ...userExample, role: 'admin' } } },
    errors: [404, 409],
  },
  {
    method: 'get',
    path: '/auth/audit',
    tag: 'auth',
    summary: 'The audit log (logins, failures, role changes, keys, refused private requests)',
    access: 'admin',
    query: s.auditQuerySchema,
    responses: {
      200: {
        description: 'Newest first',
        schema: z.object({ items: z.array(auditItem), total: z.number().int(), limit: z.number().int(), offset: z.number().int() }),
        example: { items: [{ id: '41', at: '2026-11-29T08:12:44.000Z', action: 'login', actor_id: 2, actor_username: 'alice', target: 'alice', ip: '203.0.113.7', request_id: '5f0c2a1e-8d1b-4c3e-9a57-0b7f3f0c1d2e', success: true, details: null }], total: 1, limit: 50, offset: 0 },
      },
    },
  },
  {
    method: 'post',
    path: '/auth/api-keys',
    tag: 'auth',
    summary: 'Create a personal API key (shown once)',
    access: 'session',
    body: s.createApiKeySchema,
    bodyExample: { name: 'grafana', scope: 'read', expires_in_days: 365 },
    responses: { 201: { description: 'The key; `key` is never shown again', schema: apiKey.extend({ key: z.string(), message: z.string() }), example: { ...apiKeyExample, key: 'cc_3fa9c1d7e2b84f6a9d0c5e1b7a3f2d4c', message: 'Store this key now: it is shown only once' } } },
  },
  {
    method: 'get',
    path: '/auth/api-keys',
    tag: 'auth',
    summary: 'Your API keys (without their secrets)',
    access: 'user',
    responses: { 200: { description: 'Keys', schema: z.array(apiKey), example: [apiKeyExample] } },
  },
  {
    method: 'delete',
    path: '/auth/api-keys/:id',
    tag: 'auth',
    summary: 'Revoke one of your API keys',
    access: 'session',
    params: s.apiKeyIdParamSchema,
    responses: { 200: { description: 'Revoked', schema: z.object({ message: z.string(), id: z.string() }), example: { message: 'API key cc_3fa9 revoked', id: '7' } } },
    errors: [404],
  },
];
