/** A user's display preferences, with defaults for users who never saved any. */
import { validTimeZone } from './format.js';
import type { PreferencesPatch, PreferencesRepo } from './preferences.repo.js';
import { ValidationError } from '../../platform/errors.js';

export interface Preferences {
  timeZone: string;
  defaultPair: string | null;
  defaultInterval: number | null;
  watchlist: string[];
}

export const DEFAULT_PREFERENCES: Preferences = Object.freeze({ timeZone: 'UTC', defaultPair: null, defaultInterval: null, watchlist: [] as string[] });

export function createPreferencesService(repo: PreferencesRepo) {
  return {
    async get(userId: number): Promise<Preferences> {
      const row = await repo.get(userId);
      if (!row) return { ...DEFAULT_PREFERENCES, watchlist: [] };
      // A zone Node no longer knows (tzdata changes) falls back to UTC rather than failing pages.
      return { timeZone: validTimeZone(row.timeZone) ?? 'UTC', defaultPair: row.defaultPair, defaultInterval: row.defaultInterval, watchlist: row.watchlist };
    },
    async update(userId: number, patch: PreferencesPatch): Promise<Preferences> {
      if (patch.timeZone !== undefined && !validTimeZone(patch.timeZone)) {
        throw new ValidationError(`"${patch.timeZone.slice(0, 64)}" is not a time zone`, [{ path: 'timeZone', message: 'is not a known time zone' }]);
      }
      const row = await repo.upsert(userId, patch);
      return { timeZone: row.timeZone, defaultPair: row.defaultPair, defaultInterval: row.defaultInterval, watchlist: row.watchlist };
    },
  };
}

export type PreferencesService = ReturnType<typeof createPreferencesService>;
