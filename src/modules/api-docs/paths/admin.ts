/** /api/admin: recent logs (monitoring) and access blocks (security). */
import { z } from 'zod';
import { LOG_LEVELS, logQuerySchema } from '../../monitoring/index.js';
import type { DocRoute } from '../openapi.js';

const iso = z.string().openapi({ format: 'date-time' });

// The security module keeps these two inline in its routes file; same fields and bounds.
const blocksQuery = z.object({
  active: z.enum(['true', 'false']).optional().openapi({ description: 'only blocks in force' }),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
const blockId = z.object({ id: z.string().openapi({ description: 'block id', example: '5' }) });

const blockExample = { id: 5, kind: 'ip', value: '198.51.100.23', reason: '25 failed logins in 300 s', created_at: '2026-11-29T17:40:00.000Z', until: '2026-11-29T18:40:00.000Z', active: true, blocking: true };
const block = z.object({ id: z.number().int(), kind: z.string(), value: z.string(), reason: z.string(), created_at: iso, until: iso, active: z.boolean(), blocking: z.boolean() }).openapi('AccessBlock');

export const adminPaths: DocRoute[] = [
  {
    method: 'get',
    path: '/admin/logs',
    tag: 'admin',
    summary: "Search this instance's recent log lines (already redacted)",
    access: 'admin',
    query: logQuerySchema,
    responses: {
      200: {
        description: 'Matching lines, newest first',
        schema: z.object({
          items: z.array(z.object({ time: iso, level: z.enum(LOG_LEVELS), msg: z.string(), request_id: z.string().nullable(), job_run_id: z.number().int().nullable(), line: z.string() })),
          buffered: z.number().int(),
          capacity: z.number().int(),
        }),
        example: {
          items: [{ time: '2026-11-29T18:50:00.870Z', level: 'info', msg: 'ingest finished', request_id: null, job_run_id: 95, line: '{"level":30,"time":1795892400870,"msg":"ingest finished","jobRunId":95}' }],
          buffered: 4210,
          capacity: 5000,
        },
      },
    },
  },
  {
    method: 'get',
    path: '/admin/security/blocks',
    tag: 'admin',
    summary: 'Temporary blocks from the access-anomaly rules, with the rules and their settings',
    access: 'admin',
    query: blocksQuery,
    responses: {
      200: {
        description: 'Blocks, newest first',
        schema: z.object({ items: z.array(block), rules: z.record(z.string(), z.unknown()), settings: z.record(z.string(), z.number()) }),
        example: {
          items: [blockExample],
          rules: { failedLoginsPerIp: 'anomaly.failed_logins_ip' },
          settings: { window_seconds: 300, login_failures_per_ip: 20, login_failures_per_user: 10, api_key_max_ips: 5, rate_factor: 10, rate_floor_per_minute: 120, block_seconds: 3600 },
        },
      },
    },
  },
  {
    method: 'delete',
    path: '/admin/security/blocks/:id',
    tag: 'admin',
    summary: 'Lift a block now',
    access: 'admin',
    params: blockId,
    responses: { 200: { description: 'The lifted block', schema: block, example: { ...blockExample, active: false } } },
    errors: [404],
  },
];
