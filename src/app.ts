/**
 * createApp(deps): builds every service with its dependencies and mounts the three routers
 * (pages, the public JSON API under /api, the private API under /internal and /metrics), each
 * with its own middleware and error renderer. No listen() here: server.ts and the tests do that.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import express, { type Express, type Router } from 'express';
import compression from 'compression';
import cookieParser from 'cookie-parser';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { Clock } from './platform/clock.js';
import type { LogBuffer, Logger } from './platform/log.js';
import type { Secrets } from './platform/secrets.js';
import { requestContext } from './http/request-context.js';
import { jsonErrorHandler, notFound, pageErrorHandler } from './http/error-handlers.js';
import { createPrivateBoundary } from './http/private-boundary.js';
import { createHostCheck } from './http/host-check.js';
import { AppError } from './platform/errors.js';
import { createMetrics, httpMetrics, registerPoolMetrics, type Metrics } from './modules/monitoring/index.js';
import { buildModules, type Services } from './modules.js';
import { EventBus } from './platform/events.js';

/** The project root (where package.json is), both under tsx (src/) and compiled (dist/src/). */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export interface AppDeps {
  config: Config;
  log: Logger;
  logBuffer: LogBuffer;
  db: Database;
  secrets: Secrets;
  clock: Clock;
  /** an instance id, unique per process, for job runs and the leader lock */
  instanceId: string;
}

/** What a module hands to the app: routers to mount and background work to start and stop. */
export interface ModuleWiring {
  name: string;
  api?: Router;
  internal?: Router;
  pages?: Router;
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
}

export interface App {
  express: Express;
  metrics: Metrics;
  modules: ModuleWiring[];
  services: Services;
  events: EventBus;
  /** starts background work (scheduler, listeners); called once the server listens */
  start(): Promise<void>;
  /** stops background work, newest first; the database is closed by the caller */
  stop(): Promise<void>;
}

export async function createApp(deps: AppDeps): Promise<App> {
  const { config, log, db } = deps;
  const root = projectRoot();
  const metrics = createMetrics();
  registerPoolMetrics(metrics, db.pool);
  const onServerError = (where: string) => metrics.exceptions.inc({ where });

  const events = new EventBus(log);
  const { modules, services, authenticate, onPrivateBlocked, security } = await buildModules({ ...deps, metrics, root, events });
  const hostAllowed = createHostCheck(config);
  const privateBoundary = createPrivateBoundary({ allowCidrs: config.INTERNAL_ALLOW_CIDRS, token: config.INTERNAL_TOKEN, onBlocked: onPrivateBlocked, hostAllowed });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('view engine', 'ejs');
  app.set('views', path.join(root, 'views'));
  if (config.isProduction) app.set('view cache', true);

  app.use(requestContext);
  app.use(
    pinoHttp({
      logger: log,
      genReqId: (req) => (req as express.Request).id,
      quietReqLogger: true,
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
      serializers: {
        req: (req: { method: string; url: string; id: string }) => ({ method: req.method, url: req.url.split('?')[0], id: req.id }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(httpMetrics(metrics));
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          // Plotly writes inline style attributes and a <style> element for its modebar.
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:', 'blob:'],
          fontSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          workerSrc: ["'self'", 'blob:'],
        },
      },
      // HSTS only where the connection is (or is declared by a trusted proxy to be) TLS.
      strictTransportSecurity: false,
      crossOriginEmbedderPolicy: false,
    }),
  );
  app.use((req, res, next) => {
    if (req.secure) res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    next();
  });
  app.use(compression());
  app.use(cookieParser());

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
  });
  app.get('/readyz', async (_req, res) => {
    const r = await db.ready();
    res.status(r.ok ? 200 : 503).json(r.ok ? { status: 'ready' } : { status: 'not_ready', reason: r.reason });
  });

  // ---- routers. Each has its own body parsing and error renderer.
  const api = express.Router();
  const internal = express.Router();
  const pages = express.Router();
  // Blocked addresses are refused first; the API's per-address limit runs before any work, its
  // per-user/key limit once the caller is known; a body of a type the router does not read is a 415.
  api.use(security.ipGuard, security.apiRateLimitPerIp, security.apiContentType);
  internal.use(security.ipGuard, security.apiContentType);
  pages.use(security.ipGuard, security.pageContentType);
  // Pages are cookie-authenticated: a Host name that is not ours (DNS rebinding) gets no page.
  pages.use((req, _res, next) => {
    if (hostAllowed(req)) return next();
    next(new AppError(421, 'host_not_allowed', `This server does not answer to the host name "${req.hostname.slice(0, 100)}". Use its configured name or IP address, or add the name to ALLOWED_HOSTS.`));
  });
  for (const r of [api, internal, pages]) {
    r.use(express.json({ limit: config.BODY_LIMIT }));
    r.use(express.urlencoded({ extended: false, limit: config.BODY_LIMIT }));
    r.use(authenticate, security.identityGuard);
  }
  api.use(security.apiRateLimitPerIdentity);
  for (const m of modules) {
    if (m.api) api.use(m.api);
    if (m.internal) internal.use(m.internal);
    if (m.pages) pages.use(m.pages);
  }
  internal.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  api.use(notFound);
  api.use(jsonErrorHandler(log, onServerError));
  internal.use(notFound);
  internal.use(jsonErrorHandler(log, onServerError));

  app.use('/api', api);
  // Private: refused requests fall through to the pages router's 404, like unknown paths.
  app.use('/internal', privateBoundary.guard(internal));
  app.get(
    '/metrics',
    privateBoundary.guard((req, res, next) => {
      req.url = '/metrics';
      internal(req, res, next);
    }),
  );
  app.use('/static', express.static(path.join(root, 'public'), { maxAge: config.isProduction ? '1d' : 0 }));
  app.use('/', pages);
  pages.use(notFound);
  pages.use(pageErrorHandler(log, onServerError));

  let started = false;
  return {
    express: app,
    metrics,
    modules,
    services,
    events,
    async start() {
      if (started) return;
      started = true;
      for (const m of modules) await m.start?.();
    },
    async stop() {
      await events.drain();
      for (const m of [...modules].reverse()) {
        try {
          await m.stop?.();
        } catch (err) {
          log.error({ err, module: m.name }, 'module failed to stop cleanly');
        }
      }
    },
  };
}
