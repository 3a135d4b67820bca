/**
 * The bundled dataset: a first boot on an empty database imports the real daily BTC and ETH
 * candles (offline: Kraken is unreachable here), once, even when several instances boot on
 * the same database at the same moment.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startApp, type TestApp } from '../../support/app.js';
import { createUserAndLogin } from '../../support/auth.js';
import { startTestDatabase, type TestDatabase } from '../../support/postgres.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const lines = (f: string) => readFileSync(path.join(ROOT, 'data/bundled', f), 'utf8').trim().split('\n');

describe('bundled data on first boot', () => {
  const apps: TestApp[] = [];
  let db: TestDatabase | undefined;
  after(async () => {
    for (const a of apps.reverse()) await a.stop().catch(() => undefined);
    await db?.stop();
  });

  test('three instances booting at once on an empty database import it exactly once', async () => {
    db = await startTestDatabase();
    const env = { BUNDLED_DATA: 'true' };
    const booted = await Promise.all([0, 1, 2].map(() => startApp({ db, env })));
    apps.push(...booted);
    const app = booted[0]!;
    console.log(`first boot with bundled data: ${booted.map((b) => b.running.timings.totalMs).join(', ')} ms`);
    const user = await createUserAndLogin(app);
    const assets = await app.fetch('/api/crypto/assets', { token: user.token });
    const list = (await assets.json()) as any[];
    assert.deepEqual(list.map((a) => [a.asset, a.symbol, a.exchange]).sort(), [
      ['XETHZUSD', 'ETHUSD', 'kraken'],
      ['XXBTZUSD', 'XBTUSD', 'kraken'],
    ]);
    const counts = await app.running.db.prisma.$queryRaw<{ altname: string; n: number; sources: string[] }[]>`
      SELECT p.altname, count(*)::int AS n, array_agg(DISTINCT c.source::text) AS sources
      FROM candles c JOIN pairs p ON p.id = c."pairId" GROUP BY p.altname ORDER BY p.altname`;
    assert.deepEqual(counts, [
      { altname: 'ETHUSD', n: lines('ETHUSD_1440.csv').length, sources: ['bundled'] },
      { altname: 'XBTUSD', n: lines('XBTUSD_1440.csv').length, sources: ['bundled'] },
    ]);
    // exactly as in the file
    const last = lines('XBTUSD_1440.csv').at(-1)!.split(',');
    const h = await app.fetch(`/api/crypto/asset_history/XBTUSD?start_date=${last[0]}&exact=true`, { token: user.token });
    const [c] = (await h.json()) as any[];
    assert.deepEqual([c.time, c.open, c.high, c.low, c.close, c.volume, c.trades], [Number(last[0]), last[1], last[2], last[3], last[4], last[5], Number(last[6])]);
    // anomalies flagged on import are visible
    const an = await app.fetch('/api/crypto/assets/XBTUSD/anomalies', { token: user.token });
    const flagged = (await an.json()) as any[];
    assert.ok(flagged.length > 0);
    assert.ok(flagged.every((x) => x.anomaly && x.anomaly_reason));
    // the pair catalogue falls back to the bundled pairs while Kraken is unreachable
    const cat = await app.fetch('/api/crypto/kraken_assets', { token: user.token });
    assert.equal(cat.status, 200);
    assert.equal(cat.headers.get('x-catalogue-source'), 'bundled');
    assert.deepEqual(((await cat.json()) as any[]).map((p) => p.symbol).sort(), ['ETHUSD', 'XBTUSD']);
    // the offline ticker answers from the stored candles
    const t = await app.fetch('/api/crypto/ticker/ETHUSD', { token: user.token });
    const ticker = (await t.json()) as any;
    assert.equal(ticker.source, 'stored');
    assert.equal(ticker.price, Number(lines('ETHUSD_1440.csv').at(-1)!.split(',')[4]));
  });

  test('a later boot does not import again', async () => {
    const app = await startApp({ db, env: { BUNDLED_DATA: 'true' } });
    apps.push(app);
    const n = await app.running.db.prisma.candle.count();
    assert.equal(n, lines('ETHUSD_1440.csv').length + lines('XBTUSD_1440.csv').length);
    assert.ok(app.logs.every((l) => !l.includes('bundled candles imported')));
  });
});
