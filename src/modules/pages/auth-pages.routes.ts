/**
 * Log in, log out and sign up. Plain form posts (no htmx): each ends in a redirect, so the
 * next page is rendered with the new session's cookie and CSRF token.
 */
import { Router, type Request, type Response } from 'express';
import { NotFoundError } from '../../platform/errors.js';
import { PASSWORD_MIN_LENGTH, requestMeta } from '../auth/index.js';
import type { PageRouteDeps } from './deps.js';
import { keepValues, parseForm, serviceFormErrors } from './forms.js';
import { notify, requirePageUser, safeNext } from './page-context.js';
import { loginForm, signupForm } from './pages.schemas.js';

export function createAuthPagesRouter(deps: PageRouteDeps): Router {
  const { auth } = deps;
  const r = Router();

  const renderLogin = (res: Response, status: number, locals: { next?: string; values?: Record<string, string>; errors?: Record<string, string> }) =>
    res.status(status).render('pages/login', { title: 'Log in', next: locals.next ?? '', values: locals.values ?? { username: '' }, errors: locals.errors ?? {} });

  r.get('/login', (req, res) => {
    const next = safeNext(req.query.next);
    if (req.user) return res.redirect(303, next ?? '/');
    renderLogin(res, 200, { next });
  });

  r.post('/login', async (req: Request, res: Response) => {
    const next = safeNext((req.body as Record<string, unknown> | undefined)?.next);
    const values = keepValues(req.body, ['username']);
    const form = parseForm(loginForm, req.body);
    if (!form.ok) return renderLogin(res, 422, { next, values, errors: form.errors });
    try {
      const session = await auth.service.login({ username: form.data.username, password: form.data.password }, requestMeta(req));
      auth.issueSessionCookie(req, res, session);
      res.redirect(303, next ?? '/');
    } catch (err) {
      const { status, errors } = serviceFormErrors(err);
      if (err && typeof err === 'object' && 'headers' in err) {
        const retry = (err as { headers?: Record<string, string> }).headers?.['Retry-After'];
        if (retry) res.setHeader('Retry-After', retry);
      }
      renderLogin(res, status, { next, values, errors });
    }
  });

  r.post('/logout', requirePageUser, async (req, res) => {
    await auth.service.logout(req.user, false, requestMeta(req));
    auth.clearSessionCookie(req, res);
    notify(deps, req, res, 'info', 'You have logged out.');
    res.redirect(303, '/login');
  });

  const signupGuard = (_req: Request, _res: Response, next: (err?: unknown) => void) => {
    // Closed sign-up: the page does not exist (nothing to probe).
    if (!deps.signupOpen) return next(new NotFoundError('No route for this page'));
    next();
  };

  const renderSignup = (res: Response, status: number, values: Record<string, string>, errors: Record<string, string>) =>
    res.status(status).render('pages/signup', { title: 'Sign up', values, errors, passwordMinLength: PASSWORD_MIN_LENGTH });

  r.get('/signup', signupGuard, (req, res) => {
    if (req.user) return res.redirect(303, '/');
    renderSignup(res, 200, { username: '', email: '' }, {});
  });

  r.post('/signup', signupGuard, async (req, res) => {
    const values = keepValues(req.body, ['username', 'email']);
    const form = parseForm(signupForm, req.body);
    if (!form.ok) return renderSignup(res, 422, values, form.errors);
    const meta = requestMeta(req);
    try {
      await auth.service.signup(undefined, { username: form.data.username, email: form.data.email, password: form.data.password }, meta);
    } catch (err) {
      const { status, errors } = serviceFormErrors(err);
      return renderSignup(res, status, values, errors);
    }
    const session = await auth.service.login({ username: form.data.username, password: form.data.password }, meta);
    auth.issueSessionCookie(req, res, session);
    notify(deps, req, res, 'success', `Welcome, ${session.user.username}. Your account is ready.`);
    res.redirect(303, '/');
  });

  return r;
}
