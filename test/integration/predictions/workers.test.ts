/**
 * Training and tuning off the event loop: requests are answered while a random forest trains in
 * a worker thread; cancelling the job stops the worker and marks the run cancelled; a tuning
 * stores every trial as a 'trial' run linked to it, and the next retrain uses its winner.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { btcDailyLines, startWorld, type World } from './setup.js';

/** A forest big enough to keep a worker busy for a while (seconds per fit). */
const HEAVY_FOREST = { algorithm: 'random-forest', params: { nEstimators: 40, subsamples: 40, maxSamples: 700, maxDepth: 8, minNumSamples: 10, maxFeatures: 1 } };

describe('training and tuning in worker threads (real BTC/USD daily candles)', () => {
  let w: World;

  before(async () => {
    w = await startWorld({ lines: btcDailyLines() });
  });
  after(async () => {
    await w?.stop();
  });

  test('requests are answered while a forest trains in a worker; cancelling marks the run cancelled', async () => {
    const r = await w.send('POST', '/api/prediction/train', { suite: [HEAVY_FOREST], validation: { walkForward: { maxFolds: 3 } } });
    assert.equal(r.status, 202);
    const jobRunId = r.body.run_id;
    // wait until the forest itself is being fitted (it reported progress past data preparation)
    const forest = await w.until(
      async () => (await w.sql(`SELECT id FROM model_runs WHERE "jobRunId" = $1 AND algorithm = 'random-forest' AND status = 'running' AND progress > 0`, [jobRunId]))[0],
      'the forest to start fitting',
    );
    const answered: number[] = [];
    for (let i = 0; i < 20; i++) {
      const h = await w.app.fetch('/healthz');
      answered.push(h.status);
      await h.text();
      const api = await w.get('/api/prediction/runs?limit=1');
      answered.push(api.status);
    }
    assert.deepEqual(answered, new Array(40).fill(200));
    const still = (await w.sql(`SELECT status FROM model_runs WHERE id = $1`, [forest.id]))[0];
    assert.equal(still.status, 'running', 'every request was answered before the forest finished training');

    const c = await w.send('POST', `/api/jobs/${jobRunId}/cancel`, {});
    assert.equal(c.status, 202);
    const done = await w.waitRun(jobRunId);
    assert.equal(done.status, 'cancelled');
    const runs = await w.sql(`SELECT algorithm, status, error FROM model_runs WHERE "jobRunId" = $1 ORDER BY id`, [jobRunId]);
    assert.deepEqual(
      runs.map((x: any) => [x.algorithm, x.status]),
      [
        ['naive', 'succeeded'],
        ['random-forest', 'cancelled'],
      ],
    );
    assert.match(runs[1].error, /cancel/);
    // nothing was chosen from a cancelled batch
    assert.equal((await w.get('/api/prediction/best-model')).status, 404);
    const listed = (await w.get(`/api/prediction/runs/${forest.id}`)).body.run;
    assert.equal(listed.status, 'cancelled');
  });

  test('POST /tune: administrators only; 202 with the tuning to follow; every trial is stored as a run linked to it', async () => {
    assert.equal((await w.send('POST', '/api/prediction/tune', { algorithm: 'ridge' }, w.user)).status, 403);
    assert.equal((await w.send('POST', '/api/prediction/tune', { algorithm: 'nope' })).status, 422);
    const r = await w.send('POST', '/api/prediction/tune', { algorithm: 'ridge', strategy: 'grid', maxTrials: 3, validation: { walkForward: { maxFolds: 2 } } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(typeof r.body.message, 'string');
    const tuningId = r.body.tuning_id;
    const job = await w.waitRun(r.body.run_id);
    assert.equal(job.status, 'succeeded', job.error ?? '');
    const t = (await w.get(`/api/prediction/tunings/${tuningId}`)).body.tuning;
    assert.equal(t.status, 'succeeded');
    assert.equal(t.strategy, 'grid');
    assert.equal(t.max_trials, 3);
    assert.equal(t.progress, 1);
    assert.equal(t.trials.length, 3);
    assert.deepEqual(t.trials.map((x: any) => x.params.lambda), [1, 10, 30], 'grid order, cut at the budget');
    assert.equal(t.summary.truncated, true);
    assert.equal(t.summary.candidates, 7);
    for (const trial of t.trials) {
      assert.equal(trial.status, 'succeeded');
      assert.equal(typeof trial.walk_forward.mae, 'number');
      assert.equal(typeof trial.walk_forward.naive_mae, 'number');
    }
    const bestTrial = t.trials.reduce((a: any, b: any) => (b.walk_forward.mae < a.walk_forward.mae ? b : a));
    assert.equal(t.best_run_id, bestTrial.id);
    const runs = (await w.get(`/api/prediction/runs?kind=trial&tuning=${tuningId}`)).body.runs;
    assert.equal(runs.length, 3);
    assert.ok(runs.every((x: any) => x.kind === 'trial' && x.tuning_id === tuningId && x.status === 'succeeded'));
    assert.equal((await w.get('/api/prediction/tunings')).body.tunings[0].id, tuningId);
    assert.equal((await w.get('/api/prediction/tunings/99999')).status, 404);
    // a trial has no stored model and cannot serve predictions
    assert.equal((await w.send('POST', `/api/prediction/runs/${bestTrial.id}/promote`, {})).status, 409);

    // the next retrain of ridge trains with the tuned params and says where they came from
    const rt = await w.scheduler.launch('retrain', { algorithms: ['ridge'], validation: { walkForward: { maxFolds: 2 } } }, { trigger: 'manual', wait: true });
    assert.equal(rt.status, 'succeeded');
    const trained = (await w.get('/api/prediction/runs?kind=train&algorithm=ridge')).body.runs[0];
    assert.equal(trained.params.lambda, bestTrial.params.lambda);
    assert.equal(trained.tuning_id, tuningId);
    assert.equal((await w.get('/api/prediction/best-model')).status, 200);
  });
});
