/**
 * Every public route's description, one table per module. A module that adds a route under
 * /api adds its row to its table here; the coverage test fails until it does.
 */
import type { DocRoute } from '../openapi.js';
import { adminPaths } from './admin.js';
import { alertsPaths } from './alerts.js';
import { authPaths } from './auth.js';
import { marketPaths } from './market.js';
import { predictionsPaths } from './predictions.js';
import { schedulerPaths } from './scheduler.js';
import { systemPaths } from './system.js';

export const ALL_PATHS: readonly DocRoute[] = [...authPaths, ...marketPaths, ...schedulerPaths, ...predictionsPaths, ...alertsPaths, ...adminPaths, ...systemPaths];
