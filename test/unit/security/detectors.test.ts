import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKeySpread, UserRate } from '../../../src/modules/security/detectors.js';

const MIN = 60_000;

test('ApiKeySpread flags a key once it is seen from more than maxIps addresses within the window', () => {
  const s = new ApiKeySpread({ windowMs: 10 * MIN, maxIps: 3 });
  assert.equal(s.observe('k', 'a', 0), null);
  assert.equal(s.observe('k', 'b', 1), null);
  assert.equal(s.observe('k', 'a', 2), null);
  assert.equal(s.observe('k', 'c', 3), null);
  assert.equal(s.observe('k', 'd', 4), 4);
  assert.equal(s.observe('other', 'e', 5), null, 'keys are counted apart');
});

test('ApiKeySpread forgets addresses older than the window', () => {
  const s = new ApiKeySpread({ windowMs: 10 * MIN, maxIps: 2 });
  s.observe('k', 'a', 0);
  s.observe('k', 'b', 0);
  assert.equal(s.observe('k', 'c', 11 * MIN), null, 'a and b are out of the window');
  assert.equal(s.observe('k', 'd', 11 * MIN + 1), null);
  assert.equal(s.observe('k', 'e', 11 * MIN + 2), 3);
});

test('UserRate judges a newcomer by the floor alone, once per minute', () => {
  const r = new UserRate({ factor: 10, floorPerMinute: 5 });
  const flagged: number[] = [];
  for (let i = 0; i < 8; i++) if (r.observe(1, 1000 + i)) flagged.push(i);
  assert.deepEqual(flagged, [5], 'the 6th request of the minute, and only once');
  assert.equal(r.observe(2, 1000), null, 'users are counted apart');
});

test('UserRate learns a steady user\u2019s normal and flags a burst far above it', () => {
  const r = new UserRate({ factor: 5, floorPerMinute: 25 });
  // 20 requests a minute for 30 minutes: never flagged (above the floor, but normal for them).
  for (let m = 0; m < 30; m++) for (let i = 0; i < 20; i++) assert.equal(r.observe(1, m * MIN + i * 100), null, `minute ${m}`);
  // 99 in one minute is below 5 x 20 = 100; the 101st is above.
  let hit: { count: number; baseline: number } | null = null;
  let at = -1;
  for (let i = 0; i < 120 && !hit; i++) {
    hit = r.observe(1, 30 * MIN + i * 10);
    at = i;
  }
  assert.ok(hit);
  assert.equal(at, 100);
  assert.ok(Math.abs(hit.baseline - 20) < 1, `baseline ${hit.baseline}`);
});

test('UserRate lets the baseline decay over idle minutes', () => {
  const r = new UserRate({ factor: 2, floorPerMinute: 5, alpha: 0.5 });
  for (let m = 0; m < 10; m++) for (let i = 0; i < 50; i++) r.observe(1, m * MIN + i);
  // After a long pause the usual rate is close to zero again: 50 a minute is now a burst.
  let flagged = false;
  for (let i = 0; i < 50; i++) flagged ||= r.observe(1, 200 * MIN + i) !== null;
  assert.ok(flagged);
});
