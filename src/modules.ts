/**
 * The one place that wires the capability modules together (Ghost-style `deps` objects, no
 * container). Order matters: a module may use only those built before it.
 */
import type { RequestHandler } from 'express';
import type { AppDeps, ModuleWiring } from './app.js';
import type { BlockedPrivateAttempt } from './http/private-boundary.js';
import { createApiDocsModule } from './modules/api-docs/index.js';
import { createAlertsModule, type AlertsModule } from './modules/alerts/index.js';
import { createAuthModule, type AuthService } from './modules/auth/index.js';
import { createMonitoringModule, type Metrics } from './modules/monitoring/index.js';
import { createMarketModule, type MarketServices } from './modules/market/index.js';
import { createPredictionsModule, type PredictionsFacade } from './modules/predictions/index.js';
import { createScheduler } from './modules/scheduler/index.js';
import { createPagesModule } from './modules/pages/index.js';
import { createSecurityModule, type SecurityHttp, type SecurityService } from './modules/security/index.js';
import type { EventBus } from './platform/events.js';
import { createNotifyBus, type NotifyBus } from './platform/notify-bus.js';

export interface ModuleDeps extends AppDeps {
  metrics: Metrics;
  /** project root, for views, public files and bundled data */
  root: string;
  events: EventBus;
}

/** The services other entry points (CLI, benchmarks) may call. Filled in as modules are built. */
export interface Services {
  auth: AuthService;
  market: MarketServices;
  alerts: Omit<AlertsModule, 'wiring'>;
  security: SecurityService;
  predictions: PredictionsFacade;
  /** the process's LISTEN/NOTIFY bus (cache invalidation across instances) */
  notify: NotifyBus;
  [name: string]: unknown;
}

export interface BuiltModules {
  modules: ModuleWiring[];
  services: Services;
  /** sets req.user; app.ts runs it on the api, internal and pages routers before module routers */
  authenticate: RequestHandler;
  /** audits a request the private boundary refused */
  onPrivateBlocked: (attempt: BlockedPrivateAttempt) => Promise<void>;
  /** rate limits, content-type checks, blocks and anomaly observation for the routers */
  security: SecurityHttp;
}

export async function buildModules(deps: ModuleDeps): Promise<BuiltModules> {
  const modules: ModuleWiring[] = [];
  // One LISTEN connection for every module's cross-instance invalidation. Its wiring comes
  // first, so it connects before the others start and disconnects after they stop.
  const notify = createNotifyBus({
    connectionString: deps.db.connectionString,
    log: deps.log,
    send: async (channel, payload) => {
      await deps.db.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
  });
  modules.push({ name: 'notify-bus', start: () => notify.start(), stop: () => notify.stop() });
  // The API's own documentation first: public, and no module's router-wide guard runs before it.
  modules.push(createApiDocsModule(deps).wiring);
  // The scheduler first, so every module can define its jobs on `scheduler.jobs` (the Jobs port);
  // its wiring is pushed last, so it starts after the others and stops before them.
  const scheduler = createScheduler(deps);
  const auth = createAuthModule({ ...deps, notify });
  modules.push(auth.wiring);
  // Security right after auth (it records anomalies in auth's audit log); its wiring is pushed
  // after the pages so its admin page renders inside the pages' layout context.
  const security = createSecurityModule({ ...deps, notify, audit: auth.audit });
  const market = createMarketModule({ ...deps, notify, jobs: scheduler.jobs });
  modules.push(market.wiring);
  const { wiring: _marketWiring, ...marketServices } = market;
  // Predictions (registry, training, predictions, scoring) react to market's candles and define their jobs.
  const predictions = createPredictionsModule({ ...deps, notify, market: market.service, jobs: scheduler.jobs, audit: auth.audit });
  modules.push(predictions.wiring);
  // Alerts after everything that emits what they react to (market, models, predictions).
  const alerts = createAlertsModule({ ...deps, jobs: scheduler.jobs });
  modules.push(alerts.wiring);
  const { wiring: _alertsWiring, ...alertsServices } = alerts;
  const services: Services = { auth: auth.service, market: marketServices, alerts: alertsServices, security: security.service, predictions: predictions.service, notify };
  services.scheduler = scheduler.service;
  modules.push(scheduler.wiring);
  // Pages last: they read every other module's services and define none of their own.
  modules.push(createPagesModule({ ...deps, auth, scheduler: scheduler.service, market, alerts, preferences: alerts.preferences, predictions: predictions.service }).wiring);
  // Admin pages of monitoring and security after the pages module: its context middleware (viewer,
  // CSRF token, formatters) and CSRF check have run when a request reaches them.
  modules.push(createMonitoringModule(deps).wiring, security.wiring);
  return { modules, services, authenticate: auth.authenticate, onPrivateBlocked: auth.onPrivateBlocked, security: security.http };
}
