/**
 * The pages router: vendor scripts first (no session work for them), then the shared page
 * context, the CSRF check for every state-changing request, and the pages themselves.
 */
import { Router } from 'express';
import { createAccountRouter } from './account.routes.js';
import { createAdminRouter } from './admin.routes.js';
import { createAlertsPagesRouter } from './alerts.routes.js';
import { vendorRouter, type VendorFile } from './assets.js';
import { createAuthPagesRouter } from './auth-pages.routes.js';
import type { Csrf } from './csrf.js';
import type { PageRouteDeps } from './deps.js';
import { createHomeRouter } from './home.routes.js';
import { createJobsRouter } from './jobs.routes.js';
import { createDataRouter } from './data.routes.js';
import { createPairsRouter } from './pairs.routes.js';
import { createPredictionsPagesRouter } from './predictions.routes.js';
import { createModelsPagesRouter } from './models.routes.js';
import { pageContext } from './page-context.js';

export interface PagesRouterOptions {
  deps: PageRouteDeps;
  csrf: Csrf;
  vendor: VendorFile[];
  asset: (url: string) => string;
}

export function createPagesRouter(opts: PagesRouterOptions): Router {
  const { deps, csrf } = opts;
  const r = Router();
  r.use(vendorRouter(opts.vendor));
  r.use(
    pageContext({
      csrf,
      flash: deps.flash,
      preferences: deps.preferences,
      clock: deps.clock,
      asset: opts.asset,
      signupOpen: deps.signupOpen,
      features: { jobs: !!deps.scheduler, market: !!deps.market, predictions: !!deps.market && !!deps.predictions },
    }),
  );
  // Every POST/PUT/PATCH/DELETE that reaches the pages, htmx or not, carries the token.
  r.use(csrf.protect);
  // Alerts first: besides its pages it adds the Alerts link and the unread badge to every page.
  if (deps.alerts) r.use(createAlertsPagesRouter({ ...deps, alerts: deps.alerts }));
  r.use(createAuthPagesRouter(deps));
  r.use(createHomeRouter(deps));
  r.use(createAccountRouter(deps));
  r.use(createAdminRouter(deps));
  if (deps.scheduler) r.use(createJobsRouter({ ...deps, scheduler: deps.scheduler }));
  if (deps.market) {
    r.use(createDataRouter({ ...deps, market: deps.market }));
    r.use(createPairsRouter({ ...deps, market: deps.market }));
    if (deps.predictions) {
      r.use(createPredictionsPagesRouter({ ...deps, market: deps.market, predictions: deps.predictions }));
      r.use(createModelsPagesRouter({ ...deps, market: deps.market, predictions: deps.predictions }));
    }
  }
  return r;
}
