/**
 * Admins see anomalies and blocks and can lift a block: GET/DELETE /api/admin/security/blocks
 * and the page /admin/security. The pages router is mounted after the pages module's, so its
 * layout context (viewer, CSRF token, formatters) and CSRF check already ran.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { requireRole } from '../../http/auth-context.js';
import { parse } from '../../http/validate.js';
import { AppError } from '../../platform/errors.js';
import { ANOMALY, type SecurityService } from './security.service.js';

const listQuery = z.object({
  active: z.enum(['true', 'false'], { message: 'must be true or false' }).optional(),
  limit: z.coerce.number({ message: 'must be a number' }).int().min(1).max(1000).optional(),
});
const idParam = z.object({ id: z.coerce.number({ message: 'must be a block id' }).int().positive().max(2 ** 31 - 1) });

const meta = (req: express.Request) => ({ ip: req.ip, requestId: req.id === undefined ? undefined : String(req.id) });

export function createSecurityApiRoutes(service: SecurityService): Router {
  const r = express.Router();
  r.get('/admin/security/blocks', requireRole('admin'), async (req, res) => {
    const q = parse(listQuery, req.query, 400);
    res.json({ items: await service.list({ activeOnly: q.active === 'true', limit: q.limit }), rules: ANOMALY, settings: publicSettings(service) });
  });
  r.delete('/admin/security/blocks/:id', requireRole('admin'), async (req, res) => {
    const { id } = parse(idParam, req.params, 400);
    res.json(await service.lift(req.user!, id, meta(req)));
  });
  return r;
}

function publicSettings(service: SecurityService) {
  const s = service.settings;
  return {
    window_seconds: s.windowMs / 1000,
    login_failures_per_ip: s.loginFailuresPerIp,
    login_failures_per_user: s.loginFailuresPerUser,
    api_key_max_ips: s.apiKeyMaxIps,
    rate_factor: s.rateFactor,
    rate_floor_per_minute: s.rateFloorPerMinute,
    block_seconds: s.blockMs / 1000,
  };
}

export function createSecurityPages(service: SecurityService): Router {
  const r = express.Router();
  r.get('/admin/security', requireRole('admin'), async (_req, res) => {
    const items = await service.list({ limit: 200 });
    res.render('pages/admin/security', { title: 'Security', items, settings: publicSettings(service), rules: ANOMALY });
  });
  r.post('/admin/security/blocks/:id/lift', requireRole('admin'), async (req, res) => {
    const { id } = parse(idParam, req.params, 400);
    try {
      await service.lift(req.user!, id, meta(req));
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 404) throw err;
    }
    res.redirect(303, '/admin/security');
  });
  return r;
}
