/**
 * The registry on real BTC/USD daily candles: the original endpoints' 404s before any model,
 * training through the job trigger, every run stored with metrics beside the naive baseline,
 * the best chosen by test MSE with naive as a candidate (a window where a model wins and the
 * full history where naive wins), promotion by administrators only, the original shapes of
 * /best-model, /model-evaluation, /models and /latest-prediction, and the private twins.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { btcDailyLines, QUICK_VALIDATION, SMALL_SUITE, startWorld, type World } from './setup.js';

describe('model registry (real BTC/USD daily candles)', () => {
  let w: World;
  const lines = btcDailyLines();
  let windowBatch: any[] = [];
  let fullBatch: any[] = [];

  before(async () => {
    w = await startWorld({ lines });
  });
  after(async () => {
    await w?.stop();
  });

  test('before any training: best-model and model-evaluation are 404, models is empty, latest-prediction is 404', async () => {
    for (const path of ['/api/prediction/best-model', '/api/prediction/model-evaluation', '/api/prediction/latest-prediction']) {
      const r = await w.get(path);
      assert.equal(r.status, 404, path);
      assert.ok(r.body.detail, 'a FastAPI-style detail is present');
    }
    const models = await w.get('/api/prediction/models');
    assert.equal(models.status, 200);
    assert.deepEqual(models.body.models, []);
    // the private twins answer the same
    assert.equal((await w.get('/internal/predict/best-model', null)).status, 404);
    assert.deepEqual((await w.get('/internal/predict/models', null)).body.models, []);
  });

  test('the reads need a signed-in user; the train trigger needs an administrator', async () => {
    assert.equal((await w.get('/api/prediction/best-model', null)).status, 401);
    assert.equal((await w.get('/api/prediction/runs', null)).status, 401);
    const asUser = await w.send('POST', '/api/prediction/train', {}, w.user);
    assert.equal(asUser.status, 403);
    const bad = await w.send('POST', '/api/prediction/train', { interval: '5m' });
    assert.equal(bad.status, 422);
  });

  test('POST /api/prediction/train (admin) answers 202 {message, run_id}; on the last 1000 days a linear model beats naive and becomes best', async () => {
    const r = await w.send('POST', '/api/prediction/train', { pair: 'BTC/USD', interval: '1d', suite: SMALL_SUITE, maxCandles: 1000, validation: QUICK_VALIDATION });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(typeof r.body.message, 'string');
    assert.equal(typeof r.body.run_id, 'number');
    const run = await w.waitRun(r.body.run_id);
    assert.equal(run.status, 'succeeded', run.error ?? '');
    const runs = await w.get('/api/prediction/runs?pair=XBTUSD&interval=1d&kind=train');
    assert.equal(runs.status, 200);
    windowBatch = runs.body.runs.filter((x: any) => x.job_run_id === r.body.run_id);
    assert.deepEqual(windowBatch.map((x: any) => x.algorithm).sort(), ['linear', 'naive', 'ridge']);
    for (const x of windowBatch) {
      assert.equal(x.status, 'succeeded');
      assert.equal(x.data.rows > 500, true);
      assert.match(x.data.fingerprint, /^[0-9a-f]{64}$/);
      assert.ok(x.code_version, 'code version stored');
      // metrics beside naive, on the same points
      assert.equal(typeof x.metrics.test.mse, 'number');
      assert.equal(typeof x.metrics.test.naive_mse, 'number');
      assert.equal(typeof x.metrics.walk_forward.mae, 'number');
      assert.equal(typeof x.metrics.walk_forward.naive_mae, 'number');
      assert.equal(x.metrics.test.naive_mse, windowBatch[0].metrics.test.naive_mse, 'naive is scored on the same test points for every run');
    }
    const minMse = Math.min(...windowBatch.map((x: any) => x.metrics.test.mse));
    const best = windowBatch.find((x: any) => x.is_best);
    assert.ok(best, 'one run of the batch is best');
    assert.equal(best.metrics.test.mse, minMse, 'the best has the lowest test MSE, naive included');
    assert.notEqual(best.algorithm, 'naive', 'on this window a model beats naive');
    assert.ok(best.metrics.test.mse < best.metrics.test.naive_mse);

    const bm = await w.get('/api/prediction/best-model');
    assert.equal(bm.status, 200);
    for (const k of ['model_name', 'model_version', 'evaluation_date', 'mse_train', 'r2_score_train', 'mse_test', 'r2_score_test']) assert.ok(k in bm.body, k);
    assert.equal(bm.body.model_name, best.algorithm);
    assert.equal(bm.body.run_id, String(best.id));
    assert.equal(bm.body.is_naive, false);
    assert.equal(bm.body.mse_test, minMse);
    assert.equal(bm.body.selected_by, 'lowest_test_mse');
    assert.ok(bm.body.mse_test < bm.body.naive.mse_test);
  });

  test('on the whole history no model beats naive: naive is the best model and every endpoint says so', async () => {
    const r = await w.send('POST', '/api/prediction/train', { suite: SMALL_SUITE, validation: QUICK_VALIDATION });
    assert.equal(r.status, 202);
    const run = await w.waitRun(r.body.run_id);
    assert.equal(run.status, 'succeeded', run.error ?? '');
    const runs = await w.get(`/api/prediction/runs?pair=BTC/USD&interval=1440&limit=200`);
    fullBatch = runs.body.runs.filter((x: any) => x.job_run_id === r.body.run_id);
    assert.equal(fullBatch.length, 3);
    const naive = fullBatch.find((x: any) => x.algorithm === 'naive');
    assert.equal(naive.is_best, true);
    assert.equal(naive.metrics.test.mse, Math.min(...fullBatch.map((x: any) => x.metrics.test.mse)));
    // exactly one best per pair and interval: the window batch's winner lost the title
    const bests = (await w.get('/api/prediction/runs?best=true')).body.runs;
    assert.deepEqual(bests.map((x: any) => x.id), [naive.id]);

    const bm = (await w.get('/api/prediction/best-model')).body;
    assert.equal(bm.model_name, 'naive');
    assert.equal(bm.is_naive, true);
    const lp = await w.get('/api/prediction/latest-prediction');
    assert.equal(lp.status, 200, JSON.stringify(lp.body));
    assert.equal(lp.body.naive_is_best, true);
    assert.equal(lp.body.model.is_naive, true);
    assert.equal(lp.body.model.run_id, String(naive.id));
    const lastClose = Number(lines[lines.length - 1]!.split(',')[4]);
    assert.equal(lp.body.prediction_value, lastClose, 'naive: next close = last close');
    assert.equal(lp.body.prediction_date, new Date((Number(lines[lines.length - 1]!.split(',')[0]) + 86400) * 1000).toISOString());
    const ev = (await w.get('/api/prediction/model-evaluation')).body;
    assert.equal(ev.run_id, String(naive.id));
    assert.equal(ev.is_naive, true);
  });

  test('GET /latest-prediction keeps the original fields and adds ordered 80 % / 95 % bounds', async () => {
    const lp = (await w.get('/api/prediction/latest-prediction?pair=XBTUSD&interval=1d')).body;
    assert.equal(typeof lp.prediction_date, 'string');
    assert.ok(!Number.isNaN(Date.parse(lp.prediction_date)));
    assert.equal(typeof lp.prediction_value, 'number');
    assert.ok(lp.lower95 <= lp.lower80, JSON.stringify(lp));
    assert.ok(lp.lower80 <= lp.prediction_value);
    assert.ok(lp.prediction_value <= lp.upper80);
    assert.ok(lp.upper80 <= lp.upper95);
    assert.equal(lp.pair, 'XBTUSD');
    assert.equal(lp.interval, '1d');
    assert.equal(typeof lp.skill.walk_forward, 'number');
    assert.equal(typeof lp.naive.value, 'number');
  });

  test('POST /runs/:id/promote: users get 403; an administrator promotes the window winner, which then predicts', async () => {
    const winner = windowBatch.find((x: any) => x.is_best)!;
    const asUser = await w.send('POST', `/api/prediction/runs/${winner.id}/promote`, {}, w.user);
    assert.equal(asUser.status, 403);
    assert.equal((await w.send('POST', `/api/prediction/runs/999999/promote`, {})).status, 404);
    const r = await w.send('POST', `/api/prediction/runs/${winner.id}/promote`, { reason: 'test' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.run.is_best, true);
    const bm = (await w.get('/api/prediction/best-model')).body;
    assert.equal(bm.run_id, String(winner.id));
    assert.equal(bm.selected_by, 'promoted');
    assert.equal(bm.promoted_by, w.admin.user.id);
    // the latest prediction now comes from the promoted model, with naive beside it
    const lp = (await w.get('/api/prediction/latest-prediction')).body;
    assert.equal(lp.model.run_id, String(winner.id));
    assert.equal(lp.naive_is_best, false);
    assert.equal(lp.naive.value, Number(lines[lines.length - 1]!.split(',')[4]));
    assert.ok(lp.lower95 <= lp.lower80 && lp.lower80 <= lp.prediction_value && lp.prediction_value <= lp.upper80 && lp.upper80 <= lp.upper95);
    const audit = await w.sql(`SELECT action, target FROM audit_log WHERE action = 'models.promoted'`);
    assert.equal(audit.length, 1);
    assert.equal(audit[0].target, `model_run:${winner.id}`);
    // a trial or failed run cannot be promoted; the internal twin sees the same best model
    const internal = await w.get('/internal/predict/best-model', null);
    assert.equal(internal.status, 200);
    assert.equal(internal.body.run_id, String(winner.id));
  });

  test('GET /models answers the MLflow registry shape; GET /runs/:id has the whole story of a run', async () => {
    const m = (await w.get('/api/prediction/models')).body;
    assert.ok(Array.isArray(m.models));
    const names = m.models.map((x: any) => x.name).sort();
    assert.deepEqual(names, ['linear', 'naive', 'ridge']);
    for (const model of m.models) {
      assert.equal(model.versions, 2);
      for (const v of model.latest_versions) {
        for (const k of ['version', 'stage', 'description', 'run_id']) assert.ok(k in v, k);
        assert.equal(typeof v.version, 'string');
      }
    }
    const prod = m.models.flatMap((x: any) => x.latest_versions).filter((v: any) => v.stage === 'Production');
    assert.equal(prod.length, 1);

    const id = windowBatch.find((x: any) => x.algorithm === 'ridge')!.id;
    const d = await w.get(`/api/prediction/runs/${id}`);
    assert.equal(d.status, 200);
    const run = d.body.run;
    assert.equal(run.params.lambda, 30);
    for (const part of ['train', 'test', 'walk_forward']) {
      assert.ok(run.evaluation[part].model.price.mse > 0, part);
      assert.ok(run.evaluation[part].naive.price.mse > 0, part);
    }
    assert.ok(Array.isArray(run.evaluation.folds) && run.evaluation.folds.length === 3);
    assert.ok(run.features.selected.length >= 1);
    assert.ok(run.features.ranking.length >= run.features.selected.length);
    assert.ok(run.residual_quantiles.q025 < run.residual_quantiles.q975);
    assert.ok(run.data.from && run.data.to && run.data.fingerprint);
    assert.ok(run.code_version);
    assert.ok(run.artifact_bytes > 100);
    assert.equal(run.out_of_sample, undefined);
    const withOos = (await w.get(`/api/prediction/runs/${id}?oos=1`)).body.run;
    assert.equal(withOos.out_of_sample.times.length, withOos.evaluation.walk_forward.model.n);
    assert.equal((await w.get('/api/prediction/runs/999999')).status, 404);
  });

  test('GET /runs filters and pages', async () => {
    const page1 = (await w.get('/api/prediction/runs?limit=2')).body;
    assert.equal(page1.runs.length, 2);
    assert.ok(page1.next_cursor);
    const page2 = (await w.get(`/api/prediction/runs?limit=2&cursor=${page1.next_cursor}`)).body;
    assert.ok(page2.runs.every((r: any) => r.id < page1.next_cursor));
    const ridge = (await w.get('/api/prediction/runs?algorithm=ridge')).body.runs;
    assert.equal(ridge.length, 2);
    assert.equal((await w.get('/api/prediction/runs?status=nope')).status, 400);
  });
});
