/** What the page routes are given (built once in index.ts). */
import type { Logger } from '../../platform/log.js';
import type { Clock } from '../../platform/clock.js';
import type { AuthModule } from '../auth/index.js';
import type { PagesAlerts } from './alerts.routes.js';
import type { MarketServices } from '../market/index.js';
import type { PredictionsFacade } from '../predictions/index.js';
import type { SchedulerService } from '../scheduler/index.js';
import type { Flash } from './flash.js';
import type { PagePreferences } from './preferences.js';

export interface PageRouteDeps {
  auth: Pick<AuthModule, 'service' | 'issueSessionCookie' | 'clearSessionCookie'>;
  /** absent until the scheduler module is wired */
  scheduler?: SchedulerService;
  /** absent until the market module is wired */
  market?: PagesMarket;
  /** absent until the predictions module is wired */
  predictions?: PredictionsFacade;
  /** absent until the alerts module is wired */
  alerts?: PagesAlerts;
  preferences: PagePreferences;
  flash: Flash;
  clock: Clock;
  log: Logger;
  signupOpen: boolean;
}

export type PagesMarket = Pick<MarketServices, 'service' | 'backfill'>;
