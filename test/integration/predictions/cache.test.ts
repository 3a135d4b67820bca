/**
 * The cached read path across instances: two app instances on one Postgres. The second caches
 * the latest prediction; when the first promotes another model or stores a new prediction, the
 * second answers with the new one at once (Postgres NOTIFY on 'candlecast_cache'), well before
 * its cache entry would expire on its own.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startApp, type TestApp } from '../../support/app.js';
import { btcDailyLines, lineTime, QUICK_VALIDATION, SMALL_SUITE, startWorld, type World } from './setup.js';

describe('latest prediction cache, invalidated across instances', () => {
  let a: World;
  let b: TestApp;
  const lines = btcDailyLines();
  const head = lines.slice(0, lines.length - 1);
  const env = { JWT_SECRET: randomBytes(32).toString('hex') };

  before(async () => {
    a = await startWorld({ lines: head, env });
    b = await startApp({ db: a.app.db, env: { ...env, LOG_LEVEL: 'warn', KRAKEN_MAX_RETRIES: '0' } });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  const latestOnB = async () => {
    const r = await b.fetch('/api/prediction/latest-prediction', { token: a.user.token });
    assert.equal(r.status, 200);
    return (await r.json()) as any;
  };

  test('a promotion and a new prediction on one instance reach the other instance\'s cache', async () => {
    const out = await a.scheduler.launch('retrain', { suite: SMALL_SUITE, maxCandles: 1000, validation: QUICK_VALIDATION }, { trigger: 'manual', wait: true });
    assert.equal(out.status, 'succeeded');
    const first = await latestOnB();
    // served from B's memory now: the same object again
    assert.deepEqual(await latestOnB(), first);

    const runs = (await a.get('/api/prediction/runs?kind=train')).body.runs;
    const other = runs.find((r: any) => !r.is_best && r.algorithm !== 'naive') ?? runs.find((r: any) => !r.is_best);
    const p = await a.send('POST', `/api/prediction/runs/${other.id}/promote`, {});
    assert.equal(p.status, 200);
    const changed = await a.until(async () => {
      const v = await latestOnB();
      return v.model.run_id === String(other.id) ? v : null;
    }, 'instance B to see the promotion', 15_000);
    assert.equal(changed.model.run_id, String(other.id));

    // a new candle on A: A predicts the next close; B answers with it
    await a.importLines([lines[lines.length - 1]!]);
    const next = new Date((lineTime(lines[lines.length - 1]!) + 86400) * 1000).toISOString();
    const seen = await a.until(async () => {
      const v = await latestOnB();
      return v.prediction_date === next ? v : null;
    }, 'instance B to see the new prediction', 15_000);
    assert.equal(seen.model.run_id, String(other.id));
  });
});
