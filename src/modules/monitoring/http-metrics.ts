import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from './metrics.js';

/**
 * Counts and times every request by its route TEMPLATE (e.g. /api/crypto/asset_history/:asset),
 * never the raw URL, so label values stay bounded. Unmatched requests count as "unmatched".
 */
export function httpMetrics(metrics: Metrics) {
  return function httpMetricsMiddleware(req: Request, res: Response, next: NextFunction): void {
    const end = metrics.httpLatency.startTimer();
    res.on('finish', () => {
      const routePath = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof routePath === 'string' ? `${req.baseUrl}${routePath}` : req.baseUrl && res.statusCode < 404 ? req.baseUrl : 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      end(labels);
    });
    next();
  };
}
