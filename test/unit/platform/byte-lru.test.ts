import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteLru } from '../../../src/platform/byte-lru.js';

const sized = (max: number, evicted: string[] = []) => new ByteLru<string, string>(max, (_k, v) => v.length, (k) => evicted.push(k));

test('the bytes held never exceed the bound: the least recently used entries go first', () => {
  const evicted: string[] = [];
  const lru = sized(10, evicted);
  lru.set('a', 'xxxx');
  lru.set('b', 'xxxx');
  assert.equal(lru.bytes, 8);
  // reading a makes b the least recently used
  assert.equal(lru.get('a'), 'xxxx');
  lru.set('c', 'xxxx');
  assert.deepEqual(evicted, ['b']);
  assert.equal(lru.get('b'), undefined);
  assert.equal(lru.get('a'), 'xxxx');
  assert.equal(lru.get('c'), 'xxxx');
  assert.equal(lru.bytes, 8);
  // one big value pushes out as many as it needs
  lru.set('d', 'xxxxxxxxx');
  assert.deepEqual(evicted, ['b', 'a', 'c']);
  assert.equal(lru.count, 1);
  assert.equal(lru.bytes, 9);
});

test('a value larger than the whole bound is not kept and evicts nothing', () => {
  const evicted: string[] = [];
  const lru = sized(10, evicted);
  lru.set('a', 'xxx');
  assert.equal(lru.set('huge', 'x'.repeat(11)), false);
  assert.equal(lru.has('huge'), false);
  assert.deepEqual(evicted, []);
  assert.equal(lru.get('a'), 'xxx');
});

test('replacing and deleting keep the byte count true', () => {
  const lru = sized(100);
  lru.set('a', 'xxxxx');
  lru.set('a', 'xx');
  assert.equal(lru.bytes, 2);
  assert.equal(lru.count, 1);
  assert.equal(lru.delete('a'), true);
  assert.equal(lru.delete('a'), false);
  assert.equal(lru.bytes, 0);
  lru.set('b', 'x');
  lru.clear();
  assert.equal(lru.bytes, 0);
  assert.equal(lru.count, 0);
});
