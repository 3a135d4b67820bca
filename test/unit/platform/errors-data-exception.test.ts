import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toAppError } from '../../../src/platform/errors.js';

test('a Postgres data exception caused by a request value is a 400, wrapped by Prisma or raw from pg', () => {
  const prisma = { name: 'PrismaClientKnownRequestError', code: 'P2039', meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { originalCode: '22021', kind: 'postgres', code: '22021' } } } };
  const a = toAppError(prisma);
  assert.equal(a.status, 400);
  assert.equal(a.code, 'invalid_value');
  assert.deepEqual(a.details, { sqlstate: '22021' });
  const raw = Object.assign(new Error('value "99999999999" is out of range for type integer'), { code: '22003', severity: 'ERROR' });
  assert.equal(toAppError(raw).status, 400);
});

test('other database errors stay 500s', () => {
  const deadlock = { code: 'P2034', meta: { driverAdapterError: { cause: { originalCode: '40P01' } } } };
  assert.equal(toAppError(deadlock).status, 500);
  const conn = Object.assign(new Error('connection terminated'), { code: '57P01', severity: 'FATAL' });
  assert.equal(toAppError(conn).status, 500);
  // An error with a five-character code but no Postgres shape is not mistaken for one.
  assert.equal(toAppError(Object.assign(new Error('x'), { code: '22000' })).status, 500);
});
