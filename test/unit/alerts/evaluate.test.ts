/** The pure rule evaluation: edges, cooldown, seeding, event keys, every rule kind. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRule, type Facts, type RuleForEvaluation, type RuleState, type ClosePoint } from '../../../src/modules/alerts/evaluate.js';

const H = 3600;
const T0 = Date.UTC(2025, 5, 2, 0, 0, 0) / 1000;
const now = new Date((T0 + 100 * H) * 1000);

function rule(over: Partial<RuleForEvaluation> = {}): RuleForEvaluation {
  return { id: 7, kind: 'price_above', pair: 'XBTUSD', interval: 60, threshold: 100, windowMinutes: null, cooldownSeconds: 3600, ...over };
}
const fresh: RuleState = { active: false, lastFiredAt: null, evaluated: false };
function st(active: boolean, lastFiredAt: Date | null = null): RuleState {
  return { active, lastFiredAt, evaluated: true };
}
function candles(closes: number[], prior: number | null = null, start = T0): Facts {
  const pts: ClosePoint[] = closes.map((c, i) => ({ time: start + i * H, close: c }));
  const p = prior === null ? null : { time: start - H, close: prior };
  return { type: 'candles', interval: 60, prior: p, closes: pts, history: p ? [p, ...pts] : pts };
}

describe('price_above / price_below', () => {
  test('fires on the false -> true edge with a key naming the rule and the candle', () => {
    const e = evaluateRule(rule(), st(false), candles([99, 101]), now);
    assert.equal(e.fire, true);
    assert.equal(e.active, true);
    assert.equal(e.eventKey, `rule:7:candle:60:${T0 + H}`);
    assert.match(e.title!, /XBTUSD crossed above 100/);
    assert.match(e.body!, /closed at 101/);
    assert.equal(e.data!.close, 101);
  });

  test('stays quiet while the condition keeps holding', () => {
    const e = evaluateRule(rule(), st(true), candles([101, 102, 150]), now);
    assert.deepEqual([e.fire, e.active], [false, true]);
  });

  test('a fall below re-arms the rule without notifying', () => {
    const e = evaluateRule(rule(), st(true), candles([99]), now);
    assert.deepEqual([e.fire, e.active, e.suppressed], [false, false, false]);
  });

  test('inside the cooldown the crossing is consumed: active, not fired, reported as suppressed', () => {
    const last = new Date(now.getTime() - 600_000);
    const e = evaluateRule(rule(), st(false, last), candles([101]), now);
    assert.deepEqual([e.fire, e.active, e.suppressed], [false, true, true]);
    // and staying above after the cooldown does not fire either: it needs a new crossing
    const later = new Date(now.getTime() + 3 * 3600_000);
    assert.equal(evaluateRule(rule(), st(true, last), candles([102]), later).fire, false);
    // crossing back and forth after the cooldown fires again
    const again = evaluateRule(rule(), st(true, last), candles([99, 103]), later);
    assert.equal(again.fire, true);
    assert.equal(again.eventKey, `rule:7:candle:60:${T0 + H}`);
  });

  test('the cooldown is inclusive at exactly cooldownSeconds', () => {
    const last = new Date(now.getTime() - 3600_000);
    assert.equal(evaluateRule(rule(), st(false, last), candles([101]), now).fire, true);
  });

  test('several crossings in one batch notify once, for the newest crossing', () => {
    const e = evaluateRule(rule(), st(false), candles([101, 99, 102, 98, 104]), now);
    assert.equal(e.fire, true);
    assert.equal(e.active, true);
    assert.equal(e.eventKey, `rule:7:candle:60:${T0 + 4 * H}`);
  });

  test('re-walking the same batch from the state it produced yields the same key (dedupe by the inbox)', () => {
    const f = candles([99, 101]);
    const first = evaluateRule(rule(), st(false), f, now);
    const again = evaluateRule(rule(), st(first.active), f, now);
    assert.equal(again.eventKey ?? first.eventKey, first.eventKey);
  });

  test('a rule never evaluated is seeded from the prior close: already above is no crossing', () => {
    assert.equal(evaluateRule(rule(), fresh, candles([105], 103), now).fire, false);
    assert.equal(evaluateRule(rule(), fresh, candles([105], 97), now).fire, true);
    // no prior data at all: the first close above counts as a crossing
    assert.equal(evaluateRule(rule(), fresh, candles([105]), now).fire, true);
  });

  test('price_below mirrors it; exactly at the level is neither above nor below', () => {
    const r = rule({ kind: 'price_below' });
    assert.equal(evaluateRule(r, st(false), candles([100]), now).fire, false);
    const e = evaluateRule(r, st(false), candles([100, 99.5]), now);
    assert.equal(e.fire, true);
    assert.match(e.title!, /crossed below 100/);
    assert.equal(evaluateRule(rule(), st(false), candles([100]), now).fire, false);
  });

  test('facts of another interval or kind leave the state alone', () => {
    const f = { ...(candles([150]) as Extract<Facts, { type: 'candles' }>), interval: 1440 };
    assert.deepEqual(evaluateRule(rule(), st(false), f, now), { active: false, fire: false, suppressed: false });
    const p: Facts = { type: 'prediction', interval: 60, predictionId: '1', algorithm: 'ridge', baseTime: T0, targetTime: T0 + H, baseClose: 1, value: 2 };
    assert.equal(evaluateRule(rule(), st(false), p, now).fire, false);
  });
});

describe('move_pct', () => {
  const r = rule({ kind: 'move_pct', threshold: 5, windowMinutes: 120 });
  test('measures each new close against the close one window earlier, either direction', () => {
    const up = evaluateRule(r, st(false), candles([100, 101, 106]), now);
    assert.equal(up.fire, true);
    assert.match(up.title!, /rose 6 % in 2h/);
    assert.equal(up.data!.from_close, 100);
    const down = evaluateRule(r, st(false), candles([100, 99, 94]), now);
    assert.equal(down.fire, true);
    assert.match(down.title!, /fell 6 % in 2h/);
  });

  test('a move smaller than the threshold or without a reference close does not fire', () => {
    assert.equal(evaluateRule(r, st(false), candles([100, 101, 104]), now).fire, false);
    assert.equal(evaluateRule(r, st(false), candles([100, 130]), now).fire, false, 'only one hour of history');
  });

  test('history before the new closes provides the reference', () => {
    const hist: ClosePoint[] = [
      { time: T0 - 2 * H, close: 100 },
      { time: T0 - H, close: 102 },
    ];
    const f: Facts = { type: 'candles', interval: 60, prior: hist[1]!, closes: [{ time: T0, close: 110 }], history: [...hist, { time: T0, close: 110 }] };
    const e = evaluateRule(r, st(false), f, now);
    assert.equal(e.fire, true);
    assert.equal(e.data!.from_close, 100);
  });

  test('a reference from before a long gap is not used', () => {
    const f: Facts = { type: 'candles', interval: 60, prior: null, closes: [{ time: T0 + 10 * H, close: 200 }], history: [{ time: T0, close: 100 }, { time: T0 + 10 * H, close: 200 }] };
    assert.equal(evaluateRule(r, st(false), f, now).fire, false);
  });
});

describe('predicted_move_pct', () => {
  const r = rule({ kind: 'predicted_move_pct', threshold: 2 });
  const pred = (value: number, target = T0 + H): Facts => ({ type: 'prediction', interval: 60, predictionId: '42', algorithm: 'ridge', baseTime: target - H, targetTime: target, baseClose: 100, value });
  test('fires when the predicted move reaches the threshold, keyed by the target time', () => {
    const e = evaluateRule(r, st(false), pred(97.5), now);
    assert.equal(e.fire, true);
    assert.equal(e.eventKey, `rule:7:prediction:60:${T0 + H}`);
    assert.match(e.title!, /predicted to fall 2.5 %/);
    assert.equal(e.data!.prediction_id, '42');
  });
  test('does not fire again while successive predictions stay large, re-arms when one is small', () => {
    assert.equal(evaluateRule(r, st(true), pred(103), now).fire, false);
    const small = evaluateRule(r, st(true), pred(100.5), now);
    assert.deepEqual([small.fire, small.active], [false, false]);
  });
});

describe('skill_below_naive', () => {
  const r = rule({ kind: 'skill_below_naive', threshold: 0 });
  const skill = (modelMae: number, samples = 30): Facts => ({ type: 'skill', interval: 60, at: T0, modelMae, naiveMae: 10, samples, minSamples: 10 });
  test('fires when the model is worse than the naive forecast', () => {
    const e = evaluateRule(r, st(false), skill(11), now);
    assert.equal(e.fire, true);
    assert.match(e.body!, /skill -10.0 %/);
    assert.equal(evaluateRule(r, st(false), skill(9), now).fire, false);
  });
  test('too few samples keep the previous state', () => {
    assert.deepEqual(evaluateRule(r, st(true), skill(9, 3), now), { active: true, fire: false, suppressed: false });
  });
  test('a floor below zero tolerates a slightly worse model', () => {
    assert.equal(evaluateRule(rule({ kind: 'skill_below_naive', threshold: -20 }), st(false), skill(11), now).fire, false);
  });
});

describe('stale_data', () => {
  const r = rule({ kind: 'stale_data', threshold: 3 });
  const nowS = now.getTime() / 1000;
  const stale = (latestTime: number | null): Facts => ({ type: 'staleness', interval: 60, now: nowS, latestTime });
  test('counts the intervals closed since the newest candle closed', () => {
    // newest candle opened 4h ago, closed 3h ago: 3 intervals without a new candle
    const e = evaluateRule(r, st(false), stale(nowS - 4 * H), now);
    assert.equal(e.fire, true);
    assert.equal(e.data!.missing_intervals, 3);
    assert.equal(e.eventKey, `rule:7:stale:60:${nowS - 4 * H}`);
    assert.equal(evaluateRule(r, st(false), stale(nowS - 3 * H), now).fire, false);
  });
  test('recovers (re-arms) when data is fresh again; no data at all is stale', () => {
    assert.deepEqual([evaluateRule(r, st(true), stale(nowS - H), now).active], [false]);
    const none = evaluateRule(r, st(false), stale(null), now);
    assert.equal(none.fire, true);
    assert.match(none.body!, /No 1h candles/);
  });
});

describe('anomaly', () => {
  const r = rule({ kind: 'anomaly', threshold: null, interval: null, pair: null });
  const an: Facts = { type: 'anomaly', interval: 60, times: [T0 + H, T0], reason: 'return z-score 14' };
  test('each flagged batch is an event of its own, keyed by the newest candle', () => {
    const e = evaluateRule(r, st(false), an, now);
    assert.equal(e.fire, true);
    assert.equal(e.active, false);
    assert.equal(e.eventKey, `rule:7:anomaly:60:${T0 + H}`);
    assert.match(e.body!, /2 1h candle\(s\)/);
  });
  test('and is subject to the cooldown', () => {
    assert.deepEqual(evaluateRule(r, st(false, new Date(now.getTime() - 1000)), an, now), { active: false, fire: false, suppressed: true });
  });
});
