/**
 * Administration: users (change role, delete, create) and the audit log. Admins only: others
 * get the 403 page. Row actions are htmx posts that swap the row (or remove it); every action
 * also works as a plain form post that redirects back to the list.
 */
import { Router, type Request, type Response } from 'express';
import { parse } from '../../http/validate.js';
import { AppError } from '../../platform/errors.js';
import { AUDIT, PASSWORD_MIN_LENGTH, requestMeta } from '../auth/index.js';
import type { PageRouteDeps } from './deps.js';
import { keepValues, parseForm, serviceFormErrors } from './forms.js';
import { hxTarget, isHtmx, notify, requirePageAdmin } from './page-context.js';
import { auditQuery, createUserForm, roleForm, usernameParam } from './pages.schemas.js';

export const AUDIT_PAGE_SIZE = 50;

/** A 4xx refusal from the service becomes a notice; anything else goes to the error page. */
function refusal(err: unknown): string {
  if (err instanceof AppError && err.expose && err.status < 500) return err.message;
  throw err;
}

export function createAdminRouter(deps: PageRouteDeps): Router {
  const { auth } = deps;
  const r = Router();
  r.use('/admin', requirePageAdmin);

  r.get('/admin', (_req, res) => res.redirect(303, '/admin/users'));

  // ---------------------------------------------------------------- users

  r.get('/admin/users', async (_req, res) => {
    const users = await auth.service.listUsers({ limit: 1000, offset: 0 });
    res.render('pages/admin/users', { title: 'Users', users });
  });

  async function renderRow(req: Request, res: Response, username: string) {
    const users = await auth.service.listUsers({ limit: 1000, offset: 0 });
    const u = users.find((x) => x.username === username);
    if (!u) return res.send(''); // gone meanwhile: remove the row
    res.render('pages/admin/_user-row', { u, fragment: true });
  }

  r.post('/admin/users/:username/role', async (req, res) => {
    const { username } = parse(usernameParam, req.params, 400);
    const { role } = parse(roleForm, req.body);
    try {
      const u = await auth.service.setRole(req.user!, username, role, requestMeta(req));
      notify(deps, req, res, 'success', `${u.username} is now ${u.role === 'admin' ? 'an administrator' : 'a user'}.`);
    } catch (err) {
      notify(deps, req, res, 'error', refusal(err));
    }
    if (!isHtmx(req)) return res.redirect(303, '/admin/users');
    await renderRow(req, res, username);
  });

  r.post('/admin/users/:username/delete', async (req, res) => {
    const { username } = parse(usernameParam, req.params, 400);
    let deleted = false;
    try {
      await auth.service.deleteUser(req.user!, username, requestMeta(req));
      deleted = true;
      notify(deps, req, res, 'success', `The account ${username} was deleted.`);
    } catch (err) {
      notify(deps, req, res, 'error', refusal(err));
    }
    if (!isHtmx(req)) return res.redirect(303, '/admin/users');
    if (deleted) return res.render('partials/_flash-oob');
    await renderRow(req, res, username);
  });

  const renderCreate = (res: Response, status: number, values: Record<string, string>, errors: Record<string, string>) =>
    res.status(status).render('pages/admin/create-user', { title: 'Create user', values, errors, passwordMinLength: PASSWORD_MIN_LENGTH });

  r.get('/admin/users/new', (_req, res) => renderCreate(res, 200, { username: '', email: '', role: 'user' }, {}));

  r.post('/admin/users', async (req, res) => {
    const values = keepValues(req.body, ['username', 'email', 'role']);
    const form = parseForm(createUserForm, req.body);
    if (!form.ok) return renderCreate(res, 422, values, form.errors);
    try {
      const u = await auth.service.createUser(req.user!, { username: form.data.username, email: form.data.email, password: form.data.password, role: form.data.role }, requestMeta(req));
      notify(deps, req, res, 'success', `Created ${u.role === 'admin' ? 'administrator' : 'user'} ${u.username}.`);
    } catch (err) {
      const { status, errors } = serviceFormErrors(err);
      return renderCreate(res, status, values, errors);
    }
    res.redirect(303, '/admin/users');
  });

  // ---------------------------------------------------------------- audit log

  r.get('/admin/audit', async (req, res) => {
    const q = auditQuery.parse(req.query);
    const page = await auth.service.listAudit({ action: q.action, user: q.user, success: q.success, limit: AUDIT_PAGE_SIZE, offset: q.offset });
    const filters = { action: q.action ?? '', user: q.user ?? '', success: q.success === undefined ? '' : String(q.success) };
    const qs = (offset: number) => {
      const p = new URLSearchParams();
      if (filters.action) p.set('action', filters.action);
      if (filters.user) p.set('user', filters.user);
      if (filters.success) p.set('success', filters.success);
      if (offset) p.set('offset', String(offset));
      const s = p.toString();
      return s ? `/admin/audit?${s}` : '/admin/audit';
    };
    const data = {
      title: 'Audit log',
      page,
      filters,
      actions: Object.values(AUDIT).sort(),
      prevUrl: q.offset > 0 ? qs(Math.max(0, q.offset - AUDIT_PAGE_SIZE)) : null,
      nextUrl: q.offset + page.items.length < page.total ? qs(q.offset + AUDIT_PAGE_SIZE) : null,
    };
    res.vary('HX-Target');
    if (hxTarget(req) === 'audit-results') return res.render('pages/admin/_audit-results', data);
    res.render('pages/admin/audit', data);
  });

  return r;
}
