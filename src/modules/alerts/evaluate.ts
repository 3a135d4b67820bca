/**
 * Pure rule evaluation: a rule, its previous state and the new facts in; its next state, and
 * whether to notify, out. No I/O, no clock (`now` is given), so every case is a unit test.
 *
 * State kinds (price_above, price_below, move_pct, predicted_move_pct, skill_below_naive,
 * stale_data) track whether their condition holds (`active`) and fire on the edge
 * false -> true only, and only when `cooldownSeconds` have passed since the last notification.
 * A crossing inside the cooldown is consumed (the rule becomes active without notifying), so
 * the next notification needs the condition to go false and true again after the cooldown.
 * `anomaly` is discrete: every flagged anomaly is an event of its own, subject to the cooldown.
 *
 * The eventKey names the rule and the data that triggered it (candle or prediction time), so a
 * re-delivered event maps to the same key and the inbox's unique (userId, eventKey) drops it.
 */

export const RULE_KINDS = ['price_above', 'price_below', 'move_pct', 'predicted_move_pct', 'skill_below_naive', 'stale_data', 'anomaly'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** Kinds about the health of the service rather than the market: administrators only. */
export const ADMIN_RULE_KINDS: ReadonlySet<RuleKind> = new Set<RuleKind>(['skill_below_naive', 'stale_data', 'anomaly']);

export function isRuleKind(v: string): v is RuleKind {
  return (RULE_KINDS as readonly string[]).includes(v);
}

export interface RuleForEvaluation {
  id: number;
  kind: RuleKind;
  /** the pair's altname (e.g. XBTUSD), for messages; null for an any-pair anomaly rule */
  pair: string | null;
  /** minutes (60 or 1440); null: any interval */
  interval: number | null;
  /**
   * price_*: the level; move_pct / predicted_move_pct: the size of the move in percent (either
   * direction); skill_below_naive: the skill in percent the model must stay at or above (0 = as
   * good as the naive forecast); stale_data: intervals without a new candle
   */
  threshold: number | null;
  /** move_pct: the window the move is measured over */
  windowMinutes: number | null;
  cooldownSeconds: number;
}

export interface RuleState {
  active: boolean;
  lastFiredAt: Date | null;
  /** false until the rule has been evaluated once: its previous state is then seeded from the prior data */
  evaluated: boolean;
}

export interface ClosePoint {
  /** candle OPEN time, Unix seconds */
  time: number;
  close: number;
}

export type Facts =
  | {
      type: 'candles';
      interval: number;
      /** the close just before the new ones (seeds a rule that was never evaluated) */
      prior: ClosePoint | null;
      /** the new closes, oldest first */
      closes: readonly ClosePoint[];
      /** closes from at least the longest window before the first new one up to the newest, oldest first */
      history: readonly ClosePoint[];
    }
  | {
      type: 'prediction';
      interval: number;
      predictionId: string;
      algorithm: string;
      /** open time of the last candle the prediction was made from */
      baseTime: number;
      /** open time of the candle whose close is predicted */
      targetTime: number;
      baseClose: number;
      value: number;
    }
  | {
      type: 'skill';
      interval: number;
      /** the newest scored target time among the samples (Unix seconds) */
      at: number;
      modelMae: number;
      naiveMae: number;
      samples: number;
      /** below this many samples the skill is not judged */
      minSamples: number;
    }
  | {
      type: 'staleness';
      interval: number;
      /** Unix seconds */
      now: number;
      /** open time of the newest stored candle, or null when there is none */
      latestTime: number | null;
    }
  | { type: 'anomaly'; interval: number; times: readonly number[]; reason: string };

export interface Evaluation {
  /** the rule's next state */
  active: boolean;
  /** notify now */
  fire: boolean;
  /** the condition became true but the cooldown was still running */
  suppressed: boolean;
  eventKey?: string;
  title?: string;
  body?: string;
  data?: Record<string, unknown>;
}

interface Message {
  eventKey: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
}

interface Step {
  cond: boolean;
  message: () => Message;
}

export const DEFAULT_STALE_INTERVALS = 3;
export const DEFAULT_SKILL_THRESHOLD = 0;

export function cooldownPassed(lastFiredAt: Date | null, cooldownSeconds: number, now: Date): boolean {
  return lastFiredAt === null || now.getTime() - lastFiredAt.getTime() >= cooldownSeconds * 1000;
}

export function intervalLabel(minutes: number | null): string {
  if (minutes === null) return 'any interval';
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

export function formatUtc(unixSeconds: number): string {
  return `${new Date(unixSeconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { maximumSignificantDigits: 10, useGrouping: false });
}

function formatPct(n: number): string {
  return `${Math.abs(n).toLocaleString('en-US', { maximumFractionDigits: 2, useGrouping: false })} %`;
}

function unchanged(state: RuleState): Evaluation {
  return { active: state.active, fire: false, suppressed: false };
}

/** Walks the steps from the previous state and fires on the last false -> true edge, cooldown permitting. */
function walk(state: RuleState, seed: boolean, steps: readonly Step[], rule: RuleForEvaluation, now: Date): Evaluation {
  let active = state.evaluated ? state.active : seed;
  let edge: Step | undefined;
  for (const s of steps) {
    if (s.cond && !active) edge = s;
    active = s.cond;
  }
  if (!edge) return { active, fire: false, suppressed: false };
  if (!cooldownPassed(state.lastFiredAt, rule.cooldownSeconds, now)) return { active, fire: false, suppressed: true };
  return { active, fire: true, suppressed: false, ...edge.message() };
}

function pairLabel(rule: RuleForEvaluation): string {
  return rule.pair ?? 'a pair';
}

function candleSteps(rule: RuleForEvaluation, facts: Extract<Facts, { type: 'candles' }>): { seed: boolean; steps: Step[] } | undefined {
  const iv = facts.interval;
  const ivs = iv * 60;
  const label = `${pairLabel(rule)} ${intervalLabel(iv)}`;
  if (rule.kind === 'price_above' || rule.kind === 'price_below') {
    const level = rule.threshold;
    if (level === null || !Number.isFinite(level)) return undefined;
    const above = rule.kind === 'price_above';
    const cond = (c: number) => (above ? c > level : c < level);
    return {
      seed: facts.prior ? cond(facts.prior.close) : false,
      steps: facts.closes.map((p) => ({
        cond: cond(p.close),
        message: () => ({
          eventKey: `rule:${rule.id}:candle:${iv}:${p.time}`,
          title: `${pairLabel(rule)} crossed ${above ? 'above' : 'below'} ${formatNumber(level)}`,
          body: `${label} candle closing ${formatUtc(p.time + ivs)} closed at ${formatNumber(p.close)}, ${above ? 'above' : 'below'} your level of ${formatNumber(level)}.`,
          data: { kind: rule.kind, pair: rule.pair, interval: iv, level, close: p.close, candle_time: p.time },
        }),
      })),
    };
  }
  if (rule.kind === 'move_pct') {
    const pct = rule.threshold;
    const window = rule.windowMinutes;
    if (pct === null || !(pct > 0) || window === null || !(window > 0)) return undefined;
    const ws = window * 60;
    const history = facts.history;
    // the last close at or before `t`, by binary search over the ascending history
    const at = (t: number): ClosePoint | undefined => {
      let lo = 0;
      let hi = history.length - 1;
      let found: ClosePoint | undefined;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const h = history[mid]!;
        if (h.time <= t) {
          found = h;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return found;
    };
    const moveAt = (p: ClosePoint): { ref: ClosePoint; move: number } | undefined => {
      const ref = at(p.time - ws);
      // a reference from before a long gap would measure a different window
      if (!ref || ref.time < p.time - 2 * ws || ref.close === 0) return undefined;
      return { ref, move: ((p.close - ref.close) / ref.close) * 100 };
    };
    const cond = (p: ClosePoint) => {
      const m = moveAt(p);
      return m !== undefined && Math.abs(m.move) >= pct;
    };
    return {
      seed: facts.prior ? cond(facts.prior) : false,
      steps: facts.closes.map((p) => ({
        cond: cond(p),
        message: () => {
          const m = moveAt(p)!;
          const dir = m.move >= 0 ? 'rose' : 'fell';
          return {
            eventKey: `rule:${rule.id}:candle:${iv}:${p.time}`,
            title: `${pairLabel(rule)} ${dir} ${formatPct(m.move)} in ${intervalLabel(window)}`,
            body: `${label}: ${formatNumber(m.ref.close)} -> ${formatNumber(p.close)} (${m.move >= 0 ? '+' : '-'}${formatPct(m.move)}) between ${formatUtc(m.ref.time + ivs)} and ${formatUtc(p.time + ivs)}; your threshold is ${formatPct(pct)}.`,
            data: { kind: rule.kind, pair: rule.pair, interval: iv, window_minutes: window, threshold_pct: pct, move_pct: m.move, from_close: m.ref.close, close: p.close, candle_time: p.time },
          };
        },
      })),
    };
  }
  return undefined;
}

export function evaluateRule(rule: RuleForEvaluation, state: RuleState, facts: Facts, now: Date): Evaluation {
  if (rule.interval !== null && facts.interval !== rule.interval) return unchanged(state);
  switch (rule.kind) {
    case 'price_above':
    case 'price_below':
    case 'move_pct': {
      if (facts.type !== 'candles' || facts.closes.length === 0) return unchanged(state);
      const s = candleSteps(rule, facts);
      return s ? walk(state, s.seed, s.steps, rule, now) : unchanged(state);
    }
    case 'predicted_move_pct': {
      if (facts.type !== 'prediction') return unchanged(state);
      const pct = rule.threshold;
      if (pct === null || !(pct > 0) || !(facts.baseClose > 0)) return unchanged(state);
      const move = ((facts.value - facts.baseClose) / facts.baseClose) * 100;
      const ivs = facts.interval * 60;
      return walk(
        state,
        false,
        [
          {
            cond: Math.abs(move) >= pct,
            message: () => ({
              eventKey: `rule:${rule.id}:prediction:${facts.interval}:${facts.targetTime}`,
              title: `${pairLabel(rule)} predicted to ${move >= 0 ? 'rise' : 'fall'} ${formatPct(move)}`,
              body: `The ${facts.algorithm} model predicts ${formatNumber(facts.value)} for the ${intervalLabel(facts.interval)} close at ${formatUtc(facts.targetTime + ivs)}, ${move >= 0 ? 'up' : 'down'} ${formatPct(move)} from ${formatNumber(facts.baseClose)}; your threshold is ${formatPct(pct)}.`,
              data: { kind: rule.kind, pair: rule.pair, interval: facts.interval, threshold_pct: pct, predicted_move_pct: move, predicted_close: facts.value, base_close: facts.baseClose, base_time: facts.baseTime, target_time: facts.targetTime, algorithm: facts.algorithm, prediction_id: facts.predictionId },
            }),
          },
        ],
        rule,
        now,
      );
    }
    case 'skill_below_naive': {
      if (facts.type !== 'skill') return unchanged(state);
      // Too few scored predictions say nothing either way: keep the state.
      if (facts.samples < facts.minSamples || !(facts.naiveMae > 0)) return unchanged(state);
      const threshold = rule.threshold ?? DEFAULT_SKILL_THRESHOLD;
      const skill = (1 - facts.modelMae / facts.naiveMae) * 100;
      return walk(
        state,
        false,
        [
          {
            cond: skill < threshold,
            message: () => ({
              eventKey: `rule:${rule.id}:skill:${facts.interval}:${facts.at}`,
              title: `${pairLabel(rule)} ${intervalLabel(facts.interval)}: live model is below the naive baseline`,
              body: `Over the last ${facts.samples} scored live predictions the model's mean absolute error is ${formatNumber(facts.modelMae)} against ${formatNumber(facts.naiveMae)} for the naive forecast (skill ${skill.toFixed(1)} %, your floor ${threshold} %).`,
              data: { kind: rule.kind, pair: rule.pair, interval: facts.interval, skill_pct: skill, threshold_pct: threshold, model_mae: facts.modelMae, naive_mae: facts.naiveMae, samples: facts.samples, scored_up_to: facts.at },
            }),
          },
        ],
        rule,
        now,
      );
    }
    case 'stale_data': {
      if (facts.type !== 'staleness') return unchanged(state);
      const n = rule.threshold ?? DEFAULT_STALE_INTERVALS;
      const ivs = facts.interval * 60;
      // intervals that have closed since the newest stored candle closed, each one a missing candle
      const missing = facts.latestTime === null ? Number.POSITIVE_INFINITY : Math.floor((facts.now - (facts.latestTime + ivs)) / ivs);
      return walk(
        state,
        false,
        [
          {
            cond: missing >= n,
            message: () => ({
              eventKey: `rule:${rule.id}:stale:${facts.interval}:${facts.latestTime ?? 'none'}`,
              title: `${pairLabel(rule)} ${intervalLabel(facts.interval)} data is stale`,
              body:
                facts.latestTime === null
                  ? `No ${intervalLabel(facts.interval)} candles are stored for ${pairLabel(rule)}.`
                  : `The newest ${intervalLabel(facts.interval)} candle of ${pairLabel(rule)} closed at ${formatUtc(facts.latestTime + ivs)}: ${missing} interval(s) without a new candle (your limit is ${n}).`,
              data: { kind: rule.kind, pair: rule.pair, interval: facts.interval, latest_candle_time: facts.latestTime, missing_intervals: Number.isFinite(missing) ? missing : null, threshold_intervals: n },
            }),
          },
        ],
        rule,
        now,
      );
    }
    case 'anomaly': {
      if (facts.type !== 'anomaly' || facts.times.length === 0) return unchanged(state);
      if (!cooldownPassed(state.lastFiredAt, rule.cooldownSeconds, now)) return { active: false, fire: false, suppressed: true };
      const times = [...facts.times].sort((a, b) => a - b);
      const newest = times[times.length - 1]!;
      const pair = rule.pair ?? 'a pair';
      return {
        active: false,
        fire: true,
        suppressed: false,
        eventKey: `rule:${rule.id}:anomaly:${facts.interval}:${newest}`,
        title: `Price anomaly flagged on ${pair} ${intervalLabel(facts.interval)}`,
        body: `${times.length} ${intervalLabel(facts.interval)} candle(s) of ${pair} flagged (${facts.reason}); newest opened ${formatUtc(newest)}.`,
        data: { kind: rule.kind, pair: rule.pair, interval: facts.interval, candle_times: times.slice(-50), reason: facts.reason },
      };
    }
  }
}
