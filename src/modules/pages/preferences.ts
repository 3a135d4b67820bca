/**
 * The viewer's display preferences as the pages use them. They are stored and validated by
 * the alerts module's PreferencesService (which also serves /api/me/preferences); the pages
 * read them on every request (the time zone of every time shown) and change the time zone on
 * /account. Without that service everyone sees UTC and the setting is not offered.
 */
import type { PreferencesService as StoredPreferences } from '../alerts/index.js';
import { validTimeZone } from './format.js';

export interface Preferences {
  timeZone: string;
  defaultPair: string | null;
  defaultInterval: number | null;
  watchlist: string[];
}

export const DEFAULT_PREFERENCES: Readonly<Preferences> = Object.freeze({ timeZone: 'UTC', defaultPair: null, defaultInterval: null, watchlist: [] as string[] });

export interface PagePreferences {
  /** whether preferences can be saved (the alerts module is wired) */
  readonly available: boolean;
  get(userId: number): Promise<Preferences>;
  /** throws the service's ValidationError for an unknown zone */
  setTimeZone(userId: number, timeZone: string): Promise<void>;
}

export function pagePreferences(stored?: Pick<StoredPreferences, 'get' | 'update'>): PagePreferences {
  if (!stored) {
    return {
      available: false,
      get: async () => ({ ...DEFAULT_PREFERENCES, watchlist: [] }),
      setTimeZone: async () => {
        throw new Error('preferences are not available without the alerts module');
      },
    };
  }
  return {
    available: true,
    async get(userId) {
      const p = await stored.get(userId);
      return { timeZone: validTimeZone(p.time_zone) ?? 'UTC', defaultPair: p.default_pair, defaultInterval: p.default_interval, watchlist: p.watchlist };
    },
    async setTimeZone(userId, timeZone) {
      await stored.update(userId, { time_zone: timeZone });
    },
  };
}
