/**
 * Monitoring: the Prometheus registry and metrics every module reports to, the HTTP metrics
 * middleware, and the admins' search over recent log lines.
 *
 *   createMetrics(), registerPoolMetrics(metrics, pool), httpMetrics(metrics)  (app.ts)
 *   createMonitoringModule({ logBuffer }) -> { wiring }  // /api/admin/logs and /admin/logs
 */
import type { ModuleWiring } from '../../app.js';
import type { LogBuffer } from '../../platform/log.js';
import { createLogsApiRoutes, createLogsPages } from './logs.routes.js';

export { createMetrics, registerPoolMetrics, type Metrics } from './metrics.js';
export { httpMetrics } from './http-metrics.js';
export { LOG_LEVELS, logQuerySchema, searchLogs, type PublicLogLine } from './logs.routes.js';

export interface MonitoringModule {
  wiring: ModuleWiring;
}

export function createMonitoringModule(deps: { logBuffer: LogBuffer }): MonitoringModule {
  return {
    wiring: { name: 'monitoring', api: createLogsApiRoutes(deps.logBuffer), pages: createLogsPages(deps.logBuffer) },
  };
}
