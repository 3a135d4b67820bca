import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, ConflictError, toAppError } from '../../../src/platform/errors.js';

test('Prisma error codes map to HTTP statuses', () => {
  const dup = toAppError({ code: 'P2002', meta: { target: ['username'] } });
  assert.ok(dup instanceof ConflictError);
  assert.equal(dup.status, 409);
  assert.match(dup.message, /username/);
  assert.equal(toAppError({ code: 'P2025' }).status, 404);
  assert.equal(toAppError({ code: 'P2003' }).status, 400);
});

test('unknown errors become a non-exposed 500', () => {
  const e = toAppError(new Error('secret internals'));
  assert.equal(e.status, 500);
  assert.equal(e.expose, false);
  assert.equal(e.message, 'Internal server error');
});

test('AppErrors pass through unchanged; body-parser errors become 4xx', () => {
  const original = new AppError(418, 'teapot', 'short and stout');
  assert.equal(toAppError(original), original);
  assert.equal(toAppError({ type: 'entity.too.large', status: 413 }).status, 413);
  assert.equal(toAppError({ type: 'entity.parse.failed', status: 400 }).status, 400);
});
