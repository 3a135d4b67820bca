export { createMetrics, registerPoolMetrics, type Metrics } from './metrics.js';
export { httpMetrics } from './http-metrics.js';
