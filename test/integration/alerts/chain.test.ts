/**
 * The main loop end to end, with no event emitted by hand: real BTC/USD daily candles stored
 * through market's importer -> 'candles.stored' -> the predictions module predicts the next
 * close with the trained model (and naive) -> 'prediction.made' -> alerts evaluate. A price rule
 * and a predicted-move rule each notify exactly once.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/platform/clock.js';
import { btcDailyLines, lineClose, lineTime, QUICK_VALIDATION, startWorld, type World } from '../predictions/setup.js';

const DAY = 86400;

describe('market -> predictions -> alerts on real candles', () => {
  let w: World;
  const lines = btcDailyLines();
  const head = lines.slice(0, lines.length - 3);
  const tail = lines.slice(lines.length - 3);
  // the clock stands an hour after the newest candle closed, as when a live ingest stores it
  const clock = new FakeClock((lineTime(head[head.length - 1]!) + DAY + 3600) * 1000);

  before(async () => {
    w = await startWorld({ lines: head, app: { clock } });
  });
  after(async () => {
    await w?.stop();
  });

  test('a crossing and a predicted move arrive through the real modules, each notified once', async () => {
    const run = await w.scheduler.launch('retrain', { pair: 'XBTUSD', interval: '1d', suite: [{ algorithm: 'ridge', params: { lambda: 30 } }], maxCandles: 1000, validation: QUICK_VALIDATION }, { trigger: 'manual', wait: true });
    assert.equal(run.status, 'succeeded');
    const runs = (await w.get('/api/prediction/runs?kind=train')).body.runs;
    const ridge = runs.find((r: any) => r.algorithm === 'ridge');
    if (!ridge.is_best) assert.equal((await w.send('POST', `/api/prediction/runs/${ridge.id}/promote`, {})).status, 200);

    // a level between the last stored close and the next one, in the direction the price went
    const last = lineClose(head[head.length - 1]!);
    const next = lineClose(tail[0]!);
    const up = next > last;
    const level = Number(((last + next) / 2).toFixed(2));
    const post = (json: unknown) => w.app.fetch('/api/alerts/rules', { method: 'POST', token: w.user.token, json });
    assert.equal((await post({ kind: up ? 'price_above' : 'price_below', pair: 'XBTUSD', interval: '1d', threshold: level })).status, 201);
    // any model prediction moving at least 0.0001 % counts: the model's first one fires it
    assert.equal((await post({ kind: 'predicted_move_pct', pair: 'XBTUSD', interval: '1d', threshold: 0.0001, cooldown_seconds: 0 })).status, 201);

    for (const line of tail) {
      clock.set((lineTime(line) + DAY + 3600) * 1000);
      await w.importLines([line]);
    }
    const inbox = (await w.get('/api/alerts/notifications?limit=50')).body.items as any[];
    const crossings = inbox.filter((n) => n.data.kind === (up ? 'price_above' : 'price_below'));
    const predicted = inbox.filter((n) => n.data.kind === 'predicted_move_pct');
    assert.equal(crossings.length, 1, JSON.stringify(inbox.map((n) => n.title)));
    assert.equal(crossings[0].data.candle_time, lineTime(tail[0]!));
    assert.equal(crossings[0].data.close, next);
    // three model predictions came (one per stored candle); the rule stayed active after the first
    const made = await w.sql(`SELECT count(*)::int AS n FROM predictions WHERE algorithm = 'ridge' AND kind = 'live' AND "targetTime" > to_timestamp($1)`, [lineTime(head[head.length - 1]!)]);
    assert.ok(made[0].n >= 3);
    assert.equal(predicted.length, 1, JSON.stringify(predicted.map((n) => n.title)));
    assert.equal(predicted[0].data.algorithm, 'ridge');
    assert.match(predicted[0].title, /^XBTUSD predicted to (rise|fall) /);
  });
});
