/**
 * The process-wide LISTEN/NOTIFY bus on a real Postgres: two buses (two "instances") on one
 * database, several topics on one connection, a topic added after start, and a listening
 * connection killed from the server side (down at once, resync when it is back).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createLogger } from '../../../src/platform/log.js';
import { createNotifyBus, type NotifyBus, type TopicHandlers } from '../../../src/platform/notify-bus.js';
import { startTestDatabase, type TestDatabase } from '../../support/postgres.js';

async function waitUntil<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function recorder(): TopicHandlers & { messages: string[]; resyncs: number; downs: number } {
  const r = {
    messages: [] as string[],
    resyncs: 0,
    downs: 0,
    onMessage: (p: string) => void r.messages.push(p),
    onResync: () => void r.resyncs++,
    onDown: () => void r.downs++,
  };
  return r;
}

describe('notify bus', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const buses: NotifyBus[] = [];
  const log = createLogger({ level: 'silent' });
  const bus = () => {
    const b = createNotifyBus({
      connectionString: db.connectionString,
      log,
      retryMs: 100,
      send: async (channel, payload) => {
        await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
      },
    });
    buses.push(b);
    return b;
  };

  before(async () => {
    db = await startTestDatabase();
    pool = new pg.Pool({ connectionString: db.connectionString, max: 2 });
  });
  after(async () => {
    for (const b of buses) await b.stop();
    await pool?.end();
    await db?.stop();
  });

  test('topics on one connection reach every instance, each its own; a late topic is listened at once', async () => {
    const a = bus();
    const b = bus();
    const aOne = recorder();
    const bOne = recorder();
    const bTwo = recorder();
    const subA = a.subscribe('test_one', aOne);
    const subB1 = b.subscribe('test_one', bOne);
    assert.equal(subB1.listening, false, 'not listening before start');
    await a.start();
    await b.start();
    assert.equal(a.listening, true);
    assert.equal(subB1.listening, true);
    assert.equal(bOne.resyncs, 1, 'a first LISTEN is a resync: nothing held can be trusted yet');
    const subB2 = b.subscribe('test_two', bTwo);
    await waitUntil(() => subB2.listening, 'the late topic to be listened');
    assert.equal(bTwo.resyncs, 1);
    assert.throws(() => b.subscribe('test_two', recorder()), /already/);
    assert.throws(() => b.subscribe('bad-name; DROP', recorder()), /not a channel name/);

    await subA.publish('hello');
    await waitUntil(() => bOne.messages.length === 1 && aOne.messages.length === 1, 'both instances to hear it');
    assert.deepEqual(bOne.messages, ['hello']);
    assert.deepEqual(aOne.messages, ['hello'], 'the sender hears its own message (auth waits for it)');
    assert.deepEqual(bTwo.messages, [], 'another topic hears nothing');

    // both topics share b's one connection
    const conns = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'candlecast-notify-bus'`);
    assert.equal(conns.rows[0].n, 2, 'one listening connection per bus');

    subB2.unsubscribe();
    assert.equal(subB2.listening, false);
    b.subscribe('test_two', bTwo);
    await waitUntil(() => bTwo.resyncs === 2, 'a topic subscribed again to resync');
  });

  test('a killed listening connection is down at once and resyncs when it is back', async () => {
    const b = bus();
    const r = recorder();
    const sub = b.subscribe('test_three', r);
    await b.start();
    assert.equal(r.resyncs, 1);
    const pid = b.backendPid;
    assert.ok(pid);
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitUntil(() => r.downs === 1, 'the subscriber to be told the connection is down');
    assert.equal(sub.listening, false);
    await waitUntil(() => r.resyncs === 2, 'a resync after reconnecting', 10_000);
    assert.equal(sub.listening, true);
    assert.notEqual(b.backendPid, pid);
    await sub.publish('after');
    await waitUntil(() => r.messages.includes('after'), 'messages to flow again');

    await b.stop();
    assert.equal(sub.listening, false);
    assert.equal(r.downs, 2, 'stop is a down too');
  });
});
