/**
 * The pages module: server-rendered EJS pages with htmx over the other modules' services (see
 * docs/pages.md). Built last in src/modules.ts; nothing imports it but modules.ts.
 *
 *   createPagesModule({ ...deps, auth, scheduler, market, preferences }) -> { wiring, preferences }
 */
import { createHmac } from 'node:crypto';
import path from 'node:path';
import type { ModuleWiring } from '../../app.js';
import type { ModuleDeps } from '../../modules.js';
import type { AuthModule } from '../auth/index.js';
import type { SchedulerService } from '../scheduler/index.js';
import type { PreferencesService as StoredPreferences } from '../alerts/index.js';
import type { PagesMarket } from './deps.js';
import type { PredictionsFacade } from '../predictions/index.js';
import type { PagesAlerts } from './alerts.routes.js';
import { assetUrls, vendorFiles } from './assets.js';
import { createCsrf } from './csrf.js';
import { createFlash } from './flash.js';
import { createPagesRouter } from './pages.routes.js';
import { pagePreferences, type PagePreferences } from './preferences.js';

export type { Preferences, PagePreferences } from './preferences.js';
export { formatters } from './format.js';
export type { Formatters } from './format.js';

export type PagesModuleDeps = Pick<ModuleDeps, 'config' | 'log' | 'secrets' | 'clock' | 'root'> & {
  auth: Pick<AuthModule, 'service' | 'issueSessionCookie' | 'clearSessionCookie'>;
  scheduler?: SchedulerService;
  alerts?: PagesAlerts;
  market?: PagesMarket;
  predictions?: PredictionsFacade;
  /** the alerts module's preferences (time zone, watchlist, defaults); without it times are in UTC */
  preferences?: Pick<StoredPreferences, 'get' | 'update'>;
};

export interface PagesModule {
  wiring: ModuleWiring;
  preferences: PagePreferences;
}

/** A key for one purpose, derived from the app's encryption key (never the key itself). */
function subkey(master: Buffer, purpose: string): Buffer {
  return createHmac('sha256', master).update(`candlecast/pages/${purpose}`).digest();
}

export function createPagesModule(deps: PagesModuleDeps): PagesModule {
  const { config, secrets } = deps;
  const log = deps.log.child({ module: 'pages' });
  const master = secrets.encryptionKeys[0];
  if (!master) throw new Error('pages: no encryption key to derive the CSRF and flash keys from');
  const preferences = pagePreferences(deps.preferences);
  const vendor = vendorFiles();
  const vendorList = [vendor.htmx, vendor.plotly];
  const router = createPagesRouter({
    deps: {
      auth: deps.auth,
      scheduler: deps.scheduler,
      alerts: deps.alerts,
      market: deps.market,
      predictions: deps.predictions,
      preferences,
      flash: createFlash(subkey(master, 'flash')),
      clock: deps.clock,
      log,
      signupOpen: config.SIGNUP_MODE === 'open',
    },
    csrf: createCsrf({ secret: subkey(master, 'csrf') }),
    vendor: vendorList,
    asset: assetUrls(path.join(deps.root, 'public'), { watch: !config.isProduction && !config.isTest, vendor: vendorList }),
  });
  return { wiring: { name: 'pages', pages: router }, preferences };
}
