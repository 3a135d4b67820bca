/**
 * Recent logs for admins, so a problem can be traced without shell access: GET /api/admin/logs
 * and the page /admin/logs, searched by minimum level, text, request id and job run. The lines
 * come from this instance's bounded ring (LOG_BUFFER_SIZE), already redacted by pino.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { requireRole } from '../../http/auth-context.js';
import { parse } from '../../http/validate.js';
import type { LogBuffer, LogRecord } from '../../platform/log.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

export const logQuerySchema = z.object({
  level: z.preprocess(blankToUndefined, z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).optional()),
  q: z.preprocess(blankToUndefined, z.string().max(200, { message: 'must be at most 200 characters' }).optional()),
  requestId: z.preprocess(blankToUndefined, z.string().max(64, { message: 'must be at most 64 characters' }).optional()),
  jobRunId: z.preprocess(blankToUndefined, z.coerce.number({ message: 'must be a job run id' }).int().min(0).max(Number.MAX_SAFE_INTEGER).optional()),
  limit: z.preprocess(blankToUndefined, z.coerce.number({ message: 'must be a number' }).int().min(1).max(1000).optional()),
});

export type LogQuery = z.infer<typeof logQuerySchema>;

export interface PublicLogLine {
  time: string;
  level: string;
  msg: string;
  request_id: string | null;
  job_run_id: number | null;
  line: string;
}

const toPublic = (r: LogRecord): PublicLogLine => ({
  time: new Date(r.time).toISOString(),
  level: r.levelName,
  msg: r.msg,
  request_id: r.requestId ?? null,
  job_run_id: r.jobRunId ?? null,
  line: r.raw,
});

export function searchLogs(buffer: LogBuffer, q: LogQuery, defaultLimit: number): PublicLogLine[] {
  return buffer.search({ level: q.level, text: q.q, requestId: q.requestId, jobRunId: q.jobRunId, limit: q.limit ?? defaultLimit }).map(toPublic);
}

export function createLogsApiRoutes(buffer: LogBuffer): Router {
  const r = express.Router();
  r.get('/admin/logs', requireRole('admin'), (req, res) => {
    const q = parse(logQuerySchema, req.query, 400);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ items: searchLogs(buffer, q, 200), buffered: buffer.size, capacity: buffer.capacity });
  });
  return r;
}

export function createLogsPages(buffer: LogBuffer): Router {
  const r = express.Router();
  r.get('/admin/logs', requireRole('admin'), (req, res) => {
    const q = parse(logQuerySchema, req.query, 400);
    const items = searchLogs(buffer, q, 200);
    const data = {
      title: 'Logs',
      items,
      levels: LOG_LEVELS,
      filters: { level: q.level ?? '', q: q.q ?? '', requestId: q.requestId ?? '', jobRunId: q.jobRunId === undefined ? '' : String(q.jobRunId) },
      buffered: buffer.size,
      capacity: buffer.capacity,
    };
    res.vary('HX-Target');
    if (req.get('HX-Request') === 'true' && req.get('HX-Target') === 'log-results') return res.render('pages/admin/_log-results', data);
    res.render('pages/admin/logs', data);
  });
  return r;
}
