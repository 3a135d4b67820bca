/**
 * The only file of the pages module that touches Prisma: a user's display preferences (time
 * zone, default pair and interval, watchlist). They belong to the pages, not to the JSON API,
 * so they live here (docs/decisions/070-pages.md).
 */
import type { PrismaClient } from '../../db/prisma.js';

export interface PreferencesRow {
  userId: number;
  timeZone: string;
  defaultPair: string | null;
  defaultInterval: number | null;
  watchlist: string[];
}

export interface PreferencesPatch {
  timeZone?: string;
  defaultPair?: string | null;
  defaultInterval?: number | null;
  watchlist?: string[];
}

export function createPreferencesRepo(prisma: PrismaClient) {
  const select = { userId: true, timeZone: true, defaultPair: true, defaultInterval: true, watchlist: true } as const;
  return {
    async get(userId: number): Promise<PreferencesRow | null> {
      return prisma.userPreference.findUnique({ where: { userId }, select });
    },
    async upsert(userId: number, patch: PreferencesPatch): Promise<PreferencesRow> {
      return prisma.userPreference.upsert({ where: { userId }, create: { userId, ...patch }, update: patch, select });
    },
  };
}

export type PreferencesRepo = ReturnType<typeof createPreferencesRepo>;
