import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

export { PrismaClient };
export type { Prisma } from '../generated/prisma/client.js';

export interface PrismaHandle {
  prisma: PrismaClient;
  /** the pg pool behind Prisma: its counts feed the pool metrics */
  pool: pg.Pool;
}

export function createPrisma(connectionString: string, max: number): PrismaHandle {
  const pool = new pg.Pool({ connectionString, max, idleTimeoutMillis: 30_000, application_name: 'candlecast' });
  // An idle client that loses its server (e.g. Postgres restarted) must not crash the process.
  pool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return { prisma, pool };
}
