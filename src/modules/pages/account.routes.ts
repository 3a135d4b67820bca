/**
 * /account: the signed-in user's profile, password, display preferences and personal API keys.
 * Profile and API keys are htmx forms that swap their own card (and work as plain posts);
 * the password and the time zone change the whole page (new session, other times), so those
 * posts end in a redirect.
 */
import { Router, type Request, type Response } from 'express';
import { requestMeta, PASSWORD_MIN_LENGTH, type PublicApiKey } from '../auth/index.js';
import type { PageRouteDeps } from './deps.js';
import { timeZones } from './format.js';
import { keepValues, parseForm, serviceFormErrors } from './forms.js';
import { hxTarget, isHtmx, notify, requirePageUser } from './page-context.js';
import { apiKeyForm, idParam, passwordForm, preferencesForm, profileForm } from './pages.schemas.js';
import { parse } from '../../http/validate.js';
import { NotFoundError } from '../../platform/errors.js';

interface AccountView {
  profile?: { values?: Record<string, string>; errors?: Record<string, string>; saved?: boolean };
  password?: { errors?: Record<string, string> };
  preferences?: { errors?: Record<string, string> };
  keys?: { values?: Record<string, string>; errors?: Record<string, string>; created?: PublicApiKey & { key: string } };
}

export function createAccountRouter(deps: PageRouteDeps): Router {
  const { auth, preferences } = deps;
  const r = Router();
  r.use('/account', requirePageUser);

  async function locals(req: Request, view: AccountView) {
    const user = req.user!;
    const [me, keys] = await Promise.all([auth.service.me(user), auth.service.listApiKeys(user)]);
    return {
      title: 'Account',
      me,
      keys,
      zones: timeZones(),
      preferencesAvailable: preferences.available,
      passwordMinLength: PASSWORD_MIN_LENGTH,
      profile: { values: view.profile?.values ?? { username: me.username, email: me.email }, errors: view.profile?.errors ?? {}, saved: view.profile?.saved ?? false },
      password: { errors: view.password?.errors ?? {} },
      preferencesForm: { errors: view.preferences?.errors ?? {} },
      keyForm: { values: view.keys?.values ?? { name: '', scope: 'read', expires_in_days: '' }, errors: view.keys?.errors ?? {}, created: view.keys?.created },
    };
  }

  /** The whole page, or for htmx the card the request targets. */
  async function show(req: Request, res: Response, view: AccountView = {}, status = 200) {
    res.vary('HX-Target');
    const data = await locals(req, view);
    const target = hxTarget(req);
    res.status(status);
    if (target === 'profile-card') return res.render('pages/account/_profile', { ...data, fragment: true });
    if (target === 'api-keys') return res.render('pages/account/_api-keys', { ...data, fragment: true });
    res.render('pages/account/index', data);
  }

  r.get('/account', (req, res) => show(req, res));

  r.post('/account/profile', async (req, res) => {
    const values = keepValues(req.body, ['username', 'email']);
    const form = parseForm(profileForm, req.body);
    // htmx answers 200 with the form and its messages (an error status would not be swapped
    // quietly); a plain post gets the page with 422.
    const refused = (errors: Record<string, string>, status: number) => show(req, res, { profile: { values, errors } }, isHtmx(req) ? 200 : status);
    if (!form.ok) return refused(form.errors, 422);
    try {
      await auth.service.updateMe(req.user!, { username: form.data.username, email: form.data.email }, requestMeta(req));
    } catch (err) {
      const { status, errors } = serviceFormErrors(err);
      return refused(errors, status);
    }
    notify(deps, req, res, 'success', 'Your profile was saved.');
    if (!isHtmx(req)) return res.redirect(303, '/account');
    // The nav shows the username: refresh it too.
    req.user = { ...req.user!, username: form.data.username, email: form.data.email };
    res.locals.currentUser = req.user;
    await show(req, res, { profile: { saved: true } });
  });

  r.post('/account/password', async (req, res) => {
    const form = parseForm(passwordForm, req.body);
    if (!form.ok) return show(req, res, { password: { errors: form.errors } }, 422);
    let session;
    try {
      ({ session } = await auth.service.updateMe(req.user!, { password: form.data.password, current_password: form.data.current_password }, requestMeta(req)));
    } catch (err) {
      const { status, errors } = serviceFormErrors(err);
      if (errors.current_password === undefined && status === 403) errors.current_password = 'is not correct';
      return show(req, res, { password: { errors } }, status);
    }
    // A new password ends every older session, this one included: carry on with a fresh one.
    if (session) auth.issueSessionCookie(req, res, session);
    notify(deps, req, res, 'success', 'Your password was changed. Other sessions have been logged out.');
    if (isHtmx(req)) {
      res.setHeader('HX-Redirect', '/account');
      return res.status(204).end();
    }
    res.redirect(303, '/account');
  });

  r.post('/account/preferences', async (req, res) => {
    if (!preferences.available) throw new NotFoundError('Preferences are not available on this server');
    const form = parseForm(preferencesForm, req.body);
    if (!form.ok) return show(req, res, { preferences: { errors: form.errors } }, 422);
    try {
      await preferences.setTimeZone(req.user!.id, form.data.time_zone);
    } catch (err) {
      const { status, errors } = serviceFormErrors(err);
      return show(req, res, { preferences: { errors: { time_zone: errors.time_zone ?? errors._form ?? 'is not valid' } } }, status);
    }
    notify(deps, req, res, 'success', `Times are now shown in ${form.data.time_zone}.`);
    if (isHtmx(req)) {
      res.setHeader('HX-Redirect', '/account');
      return res.status(204).end();
    }
    res.redirect(303, '/account');
  });

  r.post('/account/api-keys', async (req, res) => {
    const values = keepValues(req.body, ['name', 'scope', 'expires_in_days']);
    const form = parseForm(apiKeyForm, req.body);
    if (!form.ok) return show(req, res, { keys: { values, errors: form.errors } }, isHtmx(req) ? 200 : 422);
    let created;
    try {
      created = await auth.service.createApiKey(req.user!, { name: form.data.name, scope: form.data.scope, expires_in_days: form.data.expires_in_days }, requestMeta(req));
    } catch (err) {
      const { status, errors } = serviceFormErrors(err);
      return show(req, res, { keys: { values, errors } }, isHtmx(req) ? 200 : status);
    }
    // The key is shown once, in this answer; a plain post renders the page rather than redirecting.
    res.setHeader('Cache-Control', 'no-store');
    await show(req, res, { keys: { created } }, isHtmx(req) ? 200 : 201);
  });

  r.post('/account/api-keys/:id/revoke', async (req, res) => {
    const { id } = parse(idParam, req.params, 400);
    const key = await auth.service.revokeApiKey(req.user!, id, requestMeta(req));
    notify(deps, req, res, 'success', `The API key "${key.name}" (${key.prefix}…) was revoked.`);
    if (!isHtmx(req)) return res.redirect(303, '/account#api-keys');
    await show(req, res);
  });

  return r;
}
