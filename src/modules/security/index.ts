/**
 * The security module: API rate limits, content-type checks, access-anomaly detection and
 * temporary blocks (docs/ops/README.md). What other code may use:
 *
 *   createSecurityModule(deps) -> {
 *     wiring,   // ModuleWiring: /api/admin/security/*, the /admin/security page; start() runs
 *               // the failed-login sweep and reloads blocks every ANOMALY_CHECK_MS
 *     service,  // SecurityService: list/lift blocks, sweep()
 *     http,     // middleware app.ts puts on the routers: ipGuard, identityGuard, rate limits,
 *               // content-type checks for the API and for pages
 *   }
 *
 * Event emitted: access.anomaly. Audit actions written: anomaly.*, security.block_lifted.
 */
import type { RequestHandler } from 'express';
import type { NotifyBus } from '../../platform/notify-bus.js';
import type { ModuleWiring } from '../../app.js';
import type { ModuleDeps } from '../../modules.js';
import type { AuditLog } from '../auth/index.js';
import { API_BODY_TYPES, contentTypeGuard, createApiRateLimits, PAGE_BODY_TYPES } from './http-guards.js';
import { createSecurityRepo } from './security.repo.js';
import { createSecurityApiRoutes, createSecurityPages } from './security.routes.js';
import { createSecurityService, type SecurityService } from './security.service.js';

export type { SecurityService, PublicBlock, SecuritySettings } from './security.service.js';
export { ANOMALY, BLOCKING_KINDS } from './security.service.js';
export { contentTypeGuard, type ContentTypeRule } from './http-guards.js';

export interface SecurityHttp {
  /** refuses blocked addresses; first on every router */
  ipGuard: RequestHandler;
  /** refuses blocked users and keys and feeds the anomaly rules; right after authenticate */
  identityGuard: RequestHandler;
  /** /api only: per-address limit (before authenticate) and per-user/key limit (after) */
  apiRateLimitPerIp: RequestHandler;
  apiRateLimitPerIdentity: RequestHandler;
  /** 415 for a body of a type the router does not read */
  apiContentType: RequestHandler;
  pageContentType: RequestHandler;
}

export interface SecurityModule {
  wiring: ModuleWiring;
  service: SecurityService;
  http: SecurityHttp;
}

export type SecurityModuleDeps = Pick<ModuleDeps, 'config' | 'db' | 'clock' | 'log' | 'events' | 'metrics'> & { audit: AuditLog; notify?: NotifyBus };

export function createSecurityModule(deps: SecurityModuleDeps): SecurityModule {
  const { config } = deps;
  const log = deps.log.child({ module: 'security' });
  const service = createSecurityService({
    repo: createSecurityRepo(deps.db.prisma),
    audit: deps.audit,
    events: deps.events,
    clock: deps.clock,
    log,
    metrics: deps.metrics,
    notify: deps.notify,
    settings: {
      windowMs: config.ANOMALY_WINDOW_SECONDS * 1000,
      loginFailuresPerIp: config.ANOMALY_LOGIN_FAILURES_PER_IP,
      loginFailuresPerUser: config.ANOMALY_LOGIN_FAILURES_PER_USER,
      apiKeyMaxIps: config.ANOMALY_API_KEY_MAX_IPS,
      rateFactor: config.ANOMALY_RATE_FACTOR,
      rateFloorPerMinute: config.ANOMALY_RATE_FLOOR_PER_MINUTE,
      blockMs: config.ANOMALY_BLOCK_SECONDS * 1000,
      checkMs: config.ANOMALY_CHECK_MS,
    },
  });
  const limits = createApiRateLimits({ perIdentityPerMinute: config.RATE_LIMIT_PER_MINUTE, perIpPerMinute: config.RATE_LIMIT_PER_IP_PER_MINUTE });
  return {
    wiring: {
      name: 'security',
      api: createSecurityApiRoutes(service),
      pages: createSecurityPages(service),
      start: () => service.start(),
      stop: () => service.stop(),
    },
    service,
    http: {
      ipGuard: service.ipGuard,
      identityGuard: service.identityGuard,
      apiRateLimitPerIp: limits.perIp,
      apiRateLimitPerIdentity: limits.perIdentity,
      apiContentType: contentTypeGuard(API_BODY_TYPES),
      pageContentType: contentTypeGuard(PAGE_BODY_TYPES),
    },
  };
}
