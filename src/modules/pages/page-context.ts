/**
 * What every page request shares: who is looking (from the session cookie only), the CSRF
 * token, flash messages, formatters in the viewer's time zone, asset URLs and the navigation;
 * the guards that send signed-out visitors to the login page and refuse non-admins; and the
 * helpers that tell a full page load from an htmx request.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Clock } from '../../platform/clock.js';
import { ForbiddenError, UnauthorizedError } from '../../platform/errors.js';
import type { Csrf } from './csrf.js';
import { CSRF_FIELD } from './csrf.js';
import type { Flash, FlashKind } from './flash.js';
import { formatters } from './format.js';
import { DEFAULT_PREFERENCES, type PagePreferences, type Preferences } from './preferences.js';

export interface NavItem {
  href: string;
  label: string;
  /** paths that mark this item as the current one */
  match: string;
  /** 'admin': shown in the Admin menu of the top bar */
  group?: 'admin';
}

export interface Features {
  jobs: boolean;
  market: boolean;
  predictions: boolean;
}

export interface PageContextDeps {
  csrf: Csrf;
  flash: Flash;
  preferences: PagePreferences;
  clock: Clock;
  asset: (url: string) => string;
  signupOpen: boolean;
  features: Features;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** the viewer's display preferences, set by the pages' context middleware */
      preferences?: Preferences;
    }
  }
}

/** An htmx request that wants a fragment (a history restore wants the whole page). */
export function isHtmx(req: Request): boolean {
  return req.get('HX-Request') === 'true' && req.get('HX-History-Restore-Request') !== 'true';
}

/** The id of the element an htmx request will swap into, or undefined for a full page load. */
export function hxTarget(req: Request): string | undefined {
  return isHtmx(req) ? (req.get('HX-Target') ?? undefined) : undefined;
}

function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20 || s.charCodeAt(i) === 0x7f) return true;
  return false;
}

const NEXT_BASE = 'http://candlecast.invalid';

/** A path that a browser resolves on this site: one leading "/", then no "/" or "\\". */
function isLocalPath(s: string): boolean {
  return s.startsWith('/') && s[1] !== '/' && s[1] !== '\\' && !s.includes('\\') && !hasControlChars(s);
}

/**
 * `next` for the login redirect: only a path on this site ("/jobs?x=1"), never another origin
 * ("//evil.example", "https://...", "/\\evil"), and never the login or logout page itself.
 *
 * The check runs on the value that is redirected to, after URL normalisation: "/.//evil.example"
 * is a harmless-looking path but normalises to "//evil.example", a link to another host. The
 * result must also normalise to itself, so no later step can turn it into something else.
 */
export function safeNext(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2000) return undefined;
  if (!isLocalPath(raw)) return undefined;
  let u: URL;
  try {
    u = new URL(raw, NEXT_BASE);
  } catch {
    return undefined;
  }
  if (u.origin !== NEXT_BASE) return undefined;
  if (u.pathname === '/login' || u.pathname === '/logout' || u.pathname === '/signup') return undefined;
  const out = u.pathname + u.search + u.hash;
  if (!isLocalPath(out) || /%(2f|5c)/i.test(u.pathname)) return undefined;
  try {
    const again = new URL(out, NEXT_BASE);
    if (again.origin !== NEXT_BASE || again.pathname + again.search + again.hash !== out) return undefined;
  } catch {
    return undefined;
  }
  return out;
}

function navFor(user: Express.User | undefined, f: Features): NavItem[] {
  if (!user) return [];
  const items: NavItem[] = [{ href: '/', label: 'Home', match: '/' }];
  if (f.predictions) items.push({ href: '/predictions', label: 'Predictions', match: '/predictions' });
  if (f.market) items.push({ href: '/data', label: 'Data', match: '/data' });
  if (f.predictions) items.push({ href: '/models', label: 'Models', match: '/models' });
  if (user.role === 'admin') {
    const admin = (href: string, label: string) => items.push({ href, label, match: href, group: 'admin' });
    if (f.market) admin('/pairs', 'Pairs');
    if (f.jobs) admin('/jobs', 'Jobs');
    admin('/admin/users', 'Users');
    admin('/admin/audit', 'Audit log');
    admin('/admin/security', 'Security');
    admin('/admin/logs', 'Logs');
  }
  return items;
}

export function pageContext(deps: PageContextDeps): RequestHandler {
  return async function pageContextMiddleware(req: Request, res: Response, next: NextFunction): Promise<void> {
    // Pages know people by their HttpOnly session cookie only: a bearer token or API key sent
    // to a page does not sign anyone in here.
    if (req.user && req.user.via !== 'cookie') req.user = undefined;
    const user = req.user;
    const prefs = user ? await deps.preferences.get(user.id) : { ...DEFAULT_PREFERENCES, watchlist: [] };
    req.preferences = prefs;
    res.vary('HX-Request');
    // Pages show personal data and one-time secrets: never store them in a shared or back/forward cache.
    res.setHeader('Cache-Control', 'no-store');
    Object.assign(res.locals, {
      currentUser: user,
      isAdmin: user?.role === 'admin',
      currentPath: req.path,
      csrfToken: deps.csrf.token(req, res),
      csrfField: CSRF_FIELD,
      fmt: formatters(prefs.timeZone, deps.clock.now()),
      prefs,
      flashes: isHtmx(req) || req.method !== 'GET' ? [] : deps.flash.take(req, res),
      asset: deps.asset,
      nav: navFor(user, deps.features),
      signupOpen: deps.signupOpen,
      features: deps.features,
    });
    next();
  };
}

/** Queues a notice for the next full page; `res.locals.flashes` carries it for an htmx answer. */
export function notify(deps: { flash: Flash }, req: Request, res: Response, kind: FlashKind, text: string): void {
  if (isHtmx(req)) {
    res.locals.flashes = [...((res.locals.flashes as unknown[] | undefined) ?? []), { kind, text }];
  } else {
    deps.flash.add(req, res, kind, text);
  }
}

function loginUrl(path: string | undefined): string {
  const next = safeNext(path);
  return next && next !== '/' ? `/login?next=${encodeURIComponent(next)}` : '/login';
}

/** Signed-out visitors go to the login page and come back afterwards. */
export function requirePageUser(req: Request, res: Response, next: NextFunction): void {
  if (req.user) {
    if (req.user.scope === 'read' && req.method !== 'GET' && req.method !== 'HEAD') return next(new ForbiddenError('This session is read-only'));
    return next();
  }
  if (isHtmx(req)) {
    // A fragment request whose session ended: send the whole window to the login page.
    let back: string | undefined;
    try {
      const current = req.get('HX-Current-URL');
      if (current) back = new URL(current).pathname + new URL(current).search;
    } catch {
      back = undefined;
    }
    res.setHeader('HX-Redirect', loginUrl(back));
    res.status(401).end();
    return;
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    res.redirect(303, loginUrl(req.originalUrl));
    return;
  }
  next(new UnauthorizedError('Your session has ended. Log in again and repeat the change.', 'login_required'));
}

/** Admin pages: signed-out visitors log in first; signed-in non-admins get a 403 page. */
export function requirePageAdmin(req: Request, res: Response, next: NextFunction): void {
  requirePageUser(req, res, (err?: unknown) => {
    if (err) return next(err);
    if (req.user!.role !== 'admin') return next(new ForbiddenError('This page is for administrators only.', 'admin_only'));
    next();
  });
}
