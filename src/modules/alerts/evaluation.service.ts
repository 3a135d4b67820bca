/**
 * Evaluates rules when the data that can trigger them changes: after candles are stored, after
 * a prediction is made or scored, when an anomaly is flagged. Each handler loads (and locks)
 * only the rules of that pair and the kinds the event can trigger, reads the few facts they
 * need, runs the pure `evaluateRule`, and in the same transaction saves each rule's state and
 * records what fired. `stale_data` is the one kind judged on a timer too: a pair going stale is
 * the absence of events (docs/alerts.md).
 */
import { intervalSeconds } from '../../platform/candle.js';
import type { Clock } from '../../platform/clock.js';
import type { EventMap } from '../../platform/events.js';
import type { Logger } from '../../platform/log.js';
import type { AlertsRepo, LockedRuleRow, Tx } from './alerts.repo.js';
import { ADMIN_RULE_KINDS, evaluateRule, isRuleKind, type ClosePoint, type Facts, type RuleForEvaluation, type RuleKind } from './evaluate.js';
import type { CreatedNotification, Notifier } from './notify.service.js';

/** At most this many new candles of one event are walked (a long catch-up is judged on its tail). */
export const MAX_CANDLES_PER_EVENT = 500;
/** Skill is judged over the scored live predictions of this window unless a rule says otherwise. */
export const DEFAULT_SKILL_WINDOW_MINUTES = 7 * 24 * 60;
export const SKILL_MIN_SAMPLES = 10;
const SKILL_MAX_SAMPLES = 500;

export interface EvaluationDeps {
  repo: AlertsRepo;
  notifier: Notifier;
  clock: Clock;
  log: Logger;
  onFired?: (kind: string) => void;
}

export interface EvaluationOutcome {
  evaluated: number;
  fired: number;
  suppressed: number;
}

type FactsFor = (rule: LockedRuleRow) => Facts | undefined;

export function createEvaluationService(deps: EvaluationDeps) {
  const { repo, notifier, clock } = deps;
  const log = deps.log.child({ component: 'evaluation' });

  function asEvaluable(r: LockedRuleRow, pairFallback: string | null): RuleForEvaluation | undefined {
    if (!isRuleKind(r.kind)) return undefined;
    // A demoted administrator's health rules stay stored but no longer notify.
    if (ADMIN_RULE_KINDS.has(r.kind) && r.ownerRole !== 'admin') return undefined;
    return { id: r.id, kind: r.kind, pair: r.pairAltname ?? pairFallback, interval: r.interval, threshold: r.threshold, windowMinutes: r.windowMinutes, cooldownSeconds: r.cooldownSeconds };
  }

  /** Evaluates locked rules against their facts and persists states and notifications. */
  async function judge(tx: Tx, rules: readonly LockedRuleRow[], factsFor: FactsFor, now: Date, pairFallback: string | null, created: CreatedNotification[]): Promise<EvaluationOutcome> {
    const out: EvaluationOutcome = { evaluated: 0, fired: 0, suppressed: 0 };
    for (const row of rules) {
      const rule = asEvaluable(row, pairFallback);
      const facts = rule && factsFor(row);
      if (!rule || !facts) continue;
      const ev = evaluateRule(rule, { active: row.active, lastFiredAt: row.lastFiredAt, evaluated: row.lastEvaluatedAt !== null }, facts, now);
      out.evaluated += 1;
      let firedAt: Date | undefined;
      if (ev.fire && ev.eventKey && ev.title && ev.body) {
        const c = await notifier.record(tx, row, { eventKey: ev.eventKey, title: ev.title, body: ev.body, data: ev.data }, now);
        // A duplicate (the same event seen again) neither notifies nor restarts the cooldown.
        if (c) {
          created.push(c);
          firedAt = now;
          out.fired += 1;
        }
      }
      if (ev.suppressed) out.suppressed += 1;
      await repo.saveRuleState(tx, row.id, { active: ev.active, lastFiredAt: firedAt, lastEvaluatedAt: now });
    }
    return out;
  }

  async function inTransaction(what: string, fn: (tx: Tx, created: CreatedNotification[]) => Promise<EvaluationOutcome>): Promise<EvaluationOutcome> {
    const created: CreatedNotification[] = [];
    const out = await repo.transaction((tx) => fn(tx, created));
    notifier.committed(created);
    for (const c of created) deps.onFired?.(c.kind);
    if (out.fired > 0 || out.suppressed > 0) log.info({ on: what, ...out, rules: created.map((c) => c.ruleId) }, 'alert rules fired');
    else if (out.evaluated > 0) log.debug({ on: what, ...out }, 'alert rules evaluated');
    return out;
  }

  const none: EvaluationOutcome = { evaluated: 0, fired: 0, suppressed: 0 };

  return {
    /**
     * New candles: price crossings, moves within a window, and stale-data rules of this pair
     * re-arming. Only data at the live edge counts: a backfill or import of history (not the
     * newest stored candle, or closed more than two intervals ago) notifies nobody.
     */
    async onCandlesStored(e: EventMap['candles.stored']): Promise<EvaluationOutcome> {
      const now = clock.now();
      const nowS = Math.floor(now.getTime() / 1000);
      const ivs = intervalSeconds(e.interval);
      if (e.count <= 0 || nowS - (e.upTo + ivs) > 2 * ivs) return none;
      const newest = (await repo.latestTimes([e.pairId], e.interval)).get(e.pairId);
      if (newest !== e.upTo) return none;
      return inTransaction('candles.stored', async (tx, created) => {
        const rules = await repo.lockRulesForPair(tx, { pairId: e.pairId, interval: e.interval, kinds: ['price_above', 'price_below', 'move_pct', 'stale_data'] });
        if (rules.length === 0) return none;
        const count = Math.min(e.count, MAX_CANDLES_PER_EVENT);
        const maxWindow = Math.max(0, ...rules.filter((r) => r.kind === 'move_pct').map((r) => (r.windowMinutes ?? 0) * 60));
        // the new closes, the one before them, and two windows of history for the moves
        const history = await repo.closes(e.pairId, e.interval, e.upTo - (count + 1) * ivs - 2 * maxWindow, e.upTo, tx);
        const closes: ClosePoint[] = history.slice(-count);
        const priorIndex = history.length - closes.length - 1;
        const prior = priorIndex >= 0 ? history[priorIndex]! : null;
        const candles: Facts = { type: 'candles', interval: e.interval, prior, closes, history };
        const staleness: Facts = { type: 'staleness', interval: e.interval, now: nowS, latestTime: e.upTo };
        return judge(tx, rules, (r) => (r.kind === 'stale_data' ? staleness : candles), now, e.altname, created);
      });
    },

    /** A live prediction: predicted-move rules of this pair (and interval). */
    async onPredictionMade(e: EventMap['prediction.made']): Promise<EvaluationOutcome> {
      // The naive baseline always predicts no move: it carries no news, and letting it reset the
      // rules' state between two model predictions would make them fire again and again.
      if (e.algorithm === 'naive') return none;
      const now = clock.now();
      const facts: Facts = { type: 'prediction', interval: e.interval, predictionId: e.predictionId, algorithm: e.algorithm, baseTime: e.baseTime, targetTime: e.targetTime, baseClose: e.baseClose, value: e.value };
      return inTransaction('prediction.made', async (tx, created) => {
        const rules = await repo.lockRulesForPair(tx, { pairId: e.pairId, interval: e.interval, kinds: ['predicted_move_pct'] });
        return judge(tx, rules, () => facts, now, e.altname, created);
      });
    },

    /** Predictions were scored: the live skill of this pair and interval may have changed. */
    async onPredictionsScored(e: EventMap['predictions.scored']): Promise<EvaluationOutcome> {
      const now = clock.now();
      const nowS = Math.floor(now.getTime() / 1000);
      return inTransaction('predictions.scored', async (tx, created) => {
        const rules = await repo.lockRulesForPair(tx, { pairId: e.pairId, interval: e.interval, kinds: ['skill_below_naive'] });
        if (rules.length === 0) return none;
        const byWindow = new Map<number, Facts | undefined>();
        for (const w of new Set(rules.map((r) => r.windowMinutes ?? DEFAULT_SKILL_WINDOW_MINUTES))) {
          const s = await repo.liveSkill(e.pairId, e.interval, nowS - w * 60, SKILL_MAX_SAMPLES);
          byWindow.set(w, s ? { type: 'skill', interval: e.interval, at: s.at, modelMae: s.modelMae, naiveMae: s.naiveMae, samples: s.samples, minSamples: SKILL_MIN_SAMPLES } : undefined);
        }
        return judge(tx, rules, (r) => byWindow.get(r.windowMinutes ?? DEFAULT_SKILL_WINDOW_MINUTES), now, null, created);
      });
    },

    /** Candles were flagged: anomaly rules of this pair, and any-pair anomaly rules. */
    async onAnomaly(e: EventMap['candles.anomaly']): Promise<EvaluationOutcome> {
      if (e.times.length === 0) return none;
      const now = clock.now();
      const facts: Facts = { type: 'anomaly', interval: e.interval, times: e.times, reason: e.reason };
      return inTransaction('candles.anomaly', async (tx, created) => {
        const rules = await repo.lockRulesForPair(tx, { pairId: e.pairId, interval: e.interval, kinds: ['anomaly'], anyPairKinds: ['anomaly'] });
        return judge(tx, rules, () => facts, now, e.altname, created);
      });
    },

    /**
     * Stale data is the absence of new candles, so no event can announce it: this runs on a
     * schedule (and reads one index probe per watched pair), for stale_data rules only.
     */
    async checkStaleness(): Promise<EvaluationOutcome> {
      const now = clock.now();
      const nowS = Math.floor(now.getTime() / 1000);
      return inTransaction('stale-check', async (tx, created) => {
        const rules = await repo.lockRulesOfKind(tx, 'stale_data');
        if (rules.length === 0) return none;
        const latest = new Map<string, number | null>();
        const byInterval = new Map<number, Set<number>>();
        for (const r of rules) {
          if (r.pairId === null || r.interval === null) continue;
          let s = byInterval.get(r.interval);
          if (!s) byInterval.set(r.interval, (s = new Set()));
          s.add(r.pairId);
        }
        for (const [interval, ids] of byInterval) {
          const m = await repo.latestTimes([...ids], interval, tx);
          for (const [pairId, t] of m) latest.set(`${pairId}:${interval}`, t);
        }
        return judge(
          tx,
          rules,
          (r) => (r.pairId === null || r.interval === null ? undefined : { type: 'staleness', interval: r.interval, now: nowS, latestTime: latest.get(`${r.pairId}:${r.interval}`) ?? null }),
          now,
          null,
          created,
        );
      });
    },
  };
}

export type EvaluationService = ReturnType<typeof createEvaluationService>;
export type { RuleKind };
