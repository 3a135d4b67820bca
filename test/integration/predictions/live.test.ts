/**
 * Real time on real candles: every stored candle makes the next-close prediction of the best
 * model and of the naive baseline and scores the one it settles; a backtest over the same dates
 * through the same code path gives exactly the predictions made one by one; live metrics; the
 * jobs are idempotent; drift launches a retrain with trigger 'drift'.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { btcDailyLines, lineClose, lineTime, QUICK_VALIDATION, startWorld, type World } from './setup.js';

const DAY = 86400;
const iso = (t: number) => new Date(t * 1000).toISOString();

describe('live predictions, scoring, backtests and drift (real BTC/USD daily candles)', () => {
  let w: World;
  const lines = btcDailyLines();
  const LIVE = 6;
  const head = lines.slice(0, lines.length - LIVE);
  const tail = lines.slice(lines.length - LIVE);
  let best: any;

  before(async () => {
    w = await startWorld({ lines: head });
  });
  after(async () => {
    await w?.stop();
  });

  test('no model yet: a new candle predicts nothing, and the predict job says why', async () => {
    const out = await w.scheduler.launch('predict', {}, { trigger: 'manual', wait: true });
    assert.equal(out.status, 'succeeded');
    const rows = await w.sql(`SELECT count(*)::int AS n FROM predictions`);
    assert.equal(rows[0].n, 0);
  });

  test('training (the retrain job) stores the runs, picks the best and predicts the next close at once with it and with naive', async () => {
    const out = await w.scheduler.launch(
      'retrain',
      { pair: 'XBTUSD', interval: '1d', suite: [{ algorithm: 'ridge', params: { lambda: 30 } }], maxCandles: 1000, validation: QUICK_VALIDATION },
      { trigger: 'manual', wait: true },
    );
    assert.equal(out.status, 'succeeded', JSON.stringify(await w.scheduler.getRun(out.runId)));
    const runs = (await w.get('/api/prediction/runs?kind=train')).body.runs;
    assert.deepEqual(runs.map((r: any) => r.algorithm).sort(), ['naive', 'ridge'], 'the naive baseline is always trained beside the suite');
    const ridge = runs.find((r: any) => r.algorithm === 'ridge');
    if (!ridge.is_best) {
      const p = await w.send('POST', `/api/prediction/runs/${ridge.id}/promote`, {});
      assert.equal(p.status, 200);
    }
    best = (await w.get('/api/prediction/best-model')).body;
    assert.equal(best.algorithm, 'ridge');
    const preds = (await w.get('/api/prediction/predictions')).body.predictions;
    const target = iso(lineTime(head[head.length - 1]!) + DAY);
    const mine = preds.filter((p: any) => p.prediction_date === target);
    assert.deepEqual(mine.map((p: any) => p.algorithm).sort(), ['naive', 'ridge']);
    for (const p of mine) {
      assert.equal(p.actual, null, 'not scored before its candle arrives');
      assert.equal(p.base_close, lineClose(head[head.length - 1]!));
    }
  });

  test('each new candle predicts the next close (model and naive) and scores the prediction it settles: error = actual - value', async () => {
    for (const line of tail) await w.importLines([line]);
    const from = iso(lineTime(head[head.length - 1]!) + DAY);
    const r = await w.get(`/api/prediction/predictions?from=${encodeURIComponent(from)}`);
    assert.equal(r.status, 200);
    const preds = r.body.predictions;
    // one prediction per model for each of LIVE + 1 targets
    assert.equal(preds.length, 2 * (LIVE + 1));
    const closes = new Map(lines.map((l) => [iso(lineTime(l)), lineClose(l)]));
    let scored = 0;
    for (const p of preds) {
      const actual = closes.get(p.prediction_date);
      if (actual === undefined) {
        assert.equal(p.actual, null, 'the newest target has not closed yet');
        continue;
      }
      scored++;
      assert.equal(p.actual, actual);
      assert.equal(p.error, actual - p.prediction_value, 'error = actual - value');
      assert.equal(p.abs_error, Math.abs(actual - p.prediction_value));
      assert.equal(p.naive_abs_error, Math.abs(actual - p.naive_value));
      assert.ok(p.scored_at);
      if (p.algorithm === 'naive') assert.equal(p.prediction_value, p.base_close);
      assert.ok(p.lower95 <= p.lower80 && p.lower80 <= p.prediction_value && p.prediction_value <= p.upper80 && p.upper80 <= p.upper95);
    }
    assert.equal(scored, 2 * LIVE);
    const lp = (await w.get('/api/prediction/latest-prediction')).body;
    assert.equal(lp.prediction_date, iso(lineTime(tail[tail.length - 1]!) + DAY));
    assert.equal(lp.model.run_id, String(best.run_id));
    assert.equal(lp.skill.live_n, LIVE);
  });

  test('the jobs are idempotent: predict and score again store and score nothing new', async () => {
    const before = (await w.sql(`SELECT count(*)::int AS n, count("scoredAt")::int AS s FROM predictions`))[0];
    const p = await w.scheduler.launch('predict', {}, { trigger: 'manual', wait: true });
    assert.equal(p.status, 'succeeded');
    const s = await w.scheduler.launch('score', {}, { trigger: 'manual', wait: true });
    assert.equal(s.status, 'succeeded');
    assert.equal(((await w.scheduler.getRun(s.runId)).result as any).scored, 0);
    const afterRows = (await w.sql(`SELECT count(*)::int AS n, count("scoredAt")::int AS s FROM predictions`))[0];
    assert.deepEqual(afterRows, before);
  });

  test('a backtest of the best model over those dates, through the same code path, equals the predictions made one by one', async () => {
    const live = (await w.get(`/api/prediction/predictions?model=best&from=${encodeURIComponent(iso(lineTime(head[head.length - 1]!) + DAY))}`)).body.predictions;
    assert.equal(live.length, LIVE + 1);
    const from = lineTime(head[head.length - 1]!);
    const to = lineTime(tail[tail.length - 1]!);
    const r = await w.send('POST', '/api/prediction/backtest', { from: iso(from), to }, w.user);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.model.id, Number(best.run_id));
    assert.equal(r.body.points.length, LIVE + 1);
    for (const [i, pt] of r.body.points.entries()) {
      const one = live[i];
      assert.equal(pt.prediction_date, one.prediction_date);
      for (const k of ['prediction_value', 'lower80', 'upper80', 'lower95', 'upper95', 'predicted_return', 'base_close', 'naive_value']) {
        assert.equal(pt[k], one[k], `${k} at ${pt.prediction_date}`);
      }
      assert.equal(pt.actual, one.actual);
      assert.equal(pt.in_sample, false, 'these targets are after the training data');
    }
    assert.equal(r.body.summary.out_of_sample.n, LIVE);
    // older dates are in the training window and are flagged as such
    const old = await w.send('POST', '/api/prediction/backtest', { from: from - 30 * DAY, to: from - 20 * DAY }, w.user);
    assert.equal(old.status, 200);
    assert.ok(old.body.points.every((p: any) => p.in_sample === true));
  });

  test('backtests: users may not store them or ask for huge ranges; administrators store them once', async () => {
    const from = lineTime(head[head.length - 1]!);
    const to = lineTime(tail[tail.length - 1]!);
    assert.equal((await w.send('POST', '/api/prediction/backtest', { from, to, store: true }, w.user)).status, 403);
    assert.equal((await w.send('POST', '/api/prediction/backtest', { from: from - 3000 * DAY, to }, w.user)).status, 422);
    assert.equal((await w.send('POST', '/api/prediction/backtest', { from: to, to: from }, w.user)).status, 422);
    const first = await w.send('POST', '/api/prediction/backtest', { from, to, store: true });
    assert.equal(first.status, 200);
    assert.equal(first.body.stored, LIVE + 1);
    const again = await w.send('POST', '/api/prediction/backtest', { from, to, store: true });
    assert.equal(again.body.stored, 0, 'stored once per run and target time');
    const stored = (await w.get(`/api/prediction/predictions?kind=backtest`)).body.predictions;
    assert.equal(stored.length, LIVE + 1);
    assert.equal(stored.filter((p: any) => p.actual !== null).length, LIVE);
    // administrators may go past the users' limit; a long backtest is stored in chunks
    const long = await w.send('POST', '/api/prediction/backtest', { from: from - 1500 * DAY, to: from - DAY, store: true });
    assert.equal(long.status, 200, JSON.stringify(long.body).slice(0, 300));
    assert.equal(long.body.points.length, 1500);
    assert.equal(long.body.stored, 1500);
    assert.equal(long.body.summary.in_sample.n + long.body.summary.out_of_sample.n, 1500);
  });

  test('GET /live-metrics: live MAE/RMSE/direction per model beside naive, from the scored predictions', async () => {
    const r = await w.get('/api/prediction/live-metrics');
    assert.equal(r.status, 200);
    const preds = (await w.get('/api/prediction/predictions')).body.predictions.filter((p: any) => p.actual !== null);
    for (const m of r.body.models) {
      const mine = preds.filter((p: any) => p.run_id === m.run_id);
      assert.equal(m.n, mine.length);
      const mae = mine.reduce((a: number, p: any) => a + p.abs_error, 0) / mine.length;
      assert.ok(Math.abs(m.mae - mae) < 1e-6 * mae);
      const naiveMae = mine.reduce((a: number, p: any) => a + p.naive_abs_error, 0) / mine.length;
      assert.ok(Math.abs(m.naive_mae - naiveMae) < 1e-6 * naiveMae);
      if (m.is_naive) {
        assert.equal(m.direction_accuracy, null, 'naive makes no directional calls');
        assert.equal(m.skill_vs_naive, null);
      } else {
        assert.ok(Math.abs(m.skill_vs_naive - (1 - mae / naiveMae)) < 1e-9);
        assert.equal(m.is_best, true);
      }
    }
    assert.deepEqual(r.body.models.map((m: any) => m.algorithm).sort(), ['naive', 'ridge']);
  });

  test('drift: a live MAE above the walk-forward MAE by the margin launches a retrain of that pair with trigger "drift"', async () => {
    const runId = Number(best.run_id);
    await w.sql(`UPDATE model_runs SET "testMae" = 1e12 WHERE id = $1`, [runId]);
    const calm = await w.scheduler.launch('drift-check', { minSamples: 3 }, { trigger: 'manual', wait: true });
    const calmResult = (await w.scheduler.getRun(calm.runId)).result as any;
    assert.equal(calmResult.series[0].verdict, 'ok');
    assert.equal(calmResult.retrains, 0);

    // A model whose live error is far above what validation promised.
    await w.sql(`UPDATE model_runs SET "testMae" = 1 WHERE id = $1`, [runId]);
    const check = await w.scheduler.launch('drift-check', { minSamples: 3 }, { trigger: 'manual', wait: true });
    assert.equal(check.status, 'succeeded');
    const result = (await w.scheduler.getRun(check.runId)).result as any;
    assert.equal(result.series[0].verdict, 'drift');
    assert.equal(result.series[0].samples, LIVE);
    const retrain = await w.scheduler.getRun(result.series[0].retrainRunId);
    assert.equal(retrain.job, 'retrain');
    assert.equal(retrain.trigger, 'drift');
    assert.deepEqual(retrain.params, { pair: 'XBTUSD', interval: 1440 });
    // The full default suite would take a while here: stop it once it trains, which also shows
    // that cancelling a training job marks its model runs cancelled.
    await w.until(async () => (await w.sql(`SELECT 1 FROM model_runs WHERE "jobRunId" = $1 AND status = 'running'`, [retrain.id])).length > 0, 'the drift retrain to start training');
    const c = await w.send('POST', `/api/jobs/${retrain.id}/cancel`, {});
    assert.equal(c.status, 202);
    const done = await w.waitRun(retrain.id);
    assert.equal(done.status, 'cancelled');
    const rows = await w.sql(`SELECT status FROM model_runs WHERE "jobRunId" = $1`, [retrain.id]);
    assert.ok(rows.length >= 2);
    assert.ok(rows.some((r: any) => r.status === 'cancelled'));
    assert.ok(rows.every((r: any) => r.status === 'cancelled' || r.status === 'succeeded'));
    // the best model did not change on a cancelled retrain
    assert.equal((await w.get('/api/prediction/best-model')).body.run_id, best.run_id);
  });
});
