/**
 * A user's customisation: watchlist, default pair and interval, display time zone. Pair names
 * are checked against the stored pairs and kept in their canonical altname; the time zone must
 * be one this Node.js knows. Users who never saved any get the defaults.
 */
import { ValidationError } from '../../platform/errors.js';
import type { AlertsRepo, PreferencesPatch } from './alerts.repo.js';
import type { PreferencesInput } from './alerts.schemas.js';

export interface PublicPreferences {
  watchlist: string[];
  default_pair: string | null;
  default_interval: number | null;
  time_zone: string;
  updated_at: string | null;
}

export const DEFAULT_TIME_ZONE = 'UTC';

/** The canonical name of a time zone Node knows ("europe/paris" -> "Europe/Paris"), or undefined. */
export function canonicalTimeZone(tz: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

export function createPreferencesService(deps: { repo: AlertsRepo }) {
  const { repo } = deps;

  async function canonicalPair(name: string, path: string): Promise<string> {
    const p = await repo.pairByName(name);
    if (!p) throw new ValidationError(`${path}: no pair "${name.slice(0, 40)}" is stored`, [{ path, message: 'is not a stored pair' }]);
    if (!p.tracked) throw new ValidationError(`${path}: ${p.altname} is not tracked`, [{ path, message: 'is not tracked' }]);
    return p.altname;
  }

  return {
    /** The tracked pairs (altname, id) a watchlist, default pair or rule may name: for forms. */
    async trackedPairs(): Promise<{ id: number; altname: string; intervals: number[] }[]> {
      return (await repo.listPairs()).filter((p) => p.tracked).map((p) => ({ id: p.id, altname: p.altname, intervals: p.intervals }));
    },
    async get(userId: number): Promise<PublicPreferences> {
      const row = await repo.getPreferences(userId);
      if (!row) return { watchlist: [], default_pair: null, default_interval: null, time_zone: DEFAULT_TIME_ZONE, updated_at: null };
      return {
        watchlist: row.watchlist,
        default_pair: row.defaultPair,
        default_interval: row.defaultInterval,
        // a zone dropped from tzdata falls back to UTC rather than breaking every page
        time_zone: canonicalTimeZone(row.timeZone) ?? DEFAULT_TIME_ZONE,
        updated_at: row.updatedAt.toISOString(),
      };
    },
    async update(userId: number, input: PreferencesInput): Promise<PublicPreferences> {
      const patch: PreferencesPatch = {};
      if (input.time_zone !== undefined) {
        const tz = canonicalTimeZone(input.time_zone);
        if (!tz) throw new ValidationError(`time_zone: "${input.time_zone.slice(0, 64)}" is not a time zone (use an IANA name such as Europe/Paris)`, [{ path: 'time_zone', message: 'is not a known time zone' }]);
        patch.timeZone = tz;
      }
      if (input.watchlist !== undefined) {
        const names: string[] = [];
        for (const [i, n] of input.watchlist.entries()) {
          const c = await canonicalPair(n, `watchlist.${i}`);
          if (!names.includes(c)) names.push(c);
        }
        patch.watchlist = names;
      }
      if (input.default_pair !== undefined) patch.defaultPair = input.default_pair === null ? null : await canonicalPair(input.default_pair, 'default_pair');
      if (input.default_interval !== undefined) patch.defaultInterval = input.default_interval;
      await repo.upsertPreferences(userId, patch);
      return this.get(userId);
    },
  };
}

export type PreferencesService = ReturnType<typeof createPreferencesService>;
