import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeNext } from '../../../src/modules/pages/page-context.js';
import { createFlash, FLASH_COOKIE } from '../../../src/modules/pages/flash.js';

test('safeNext keeps paths on this site and refuses everything else', () => {
  assert.equal(safeNext('/jobs?job=ingest#x'), '/jobs?job=ingest#x');
  assert.equal(safeNext('/'), '/');
  // Encoded slashes and backslashes in the path are refused too: a proxy or a later decode could
  // turn them into "//" (issue 15); the normalised value is what is checked ("/.//x" -> "//x").
  for (const bad of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', 'jobs', '', '/a\nb', '/login', '/logout?x=1', '/signup', undefined, 42, '/%5c%5cevil', '/%2F%2Fevil', '/.//evil.example', '/a/..//evil.example', '/%2e%2e//evil.example']) {
    assert.equal(safeNext(bad), undefined, `refuses ${JSON.stringify(bad)}`);
  }
  assert.equal(safeNext('/data?pair=XBT%2FUSD'), '/data?pair=XBT%2FUSD', 'an encoded slash in the query is fine');
});

function fakeReqRes(cookie?: string) {
  const set: { name: string; value: string; opts: unknown }[] = [];
  const cleared: string[] = [];
  const req = { cookies: cookie === undefined ? {} : { [FLASH_COOKIE]: cookie }, secure: false } as never;
  const res = {
    cookie: (name: string, value: string, opts: unknown) => set.push({ name, value, opts }),
    clearCookie: (name: string) => cleared.push(name),
  } as never;
  return { req, res, set, cleared };
}

test('flash messages survive one redirect and cannot be forged', () => {
  const flash = createFlash(Buffer.alloc(32, 7));
  const a = fakeReqRes();
  flash.add(a.req, a.res, 'success', 'Saved <b>');
  flash.add(a.req, a.res, 'error', 'Second');
  const value = a.set.at(-1)!.value;
  const b = fakeReqRes(value);
  assert.deepEqual(flash.take(b.req, b.res), [
    { kind: 'success', text: 'Saved <b>' },
    { kind: 'error', text: 'Second' },
  ]);
  assert.deepEqual(b.cleared, [FLASH_COOKIE]);
  // someone else's key, or an edited payload: nothing is shown
  const other = createFlash(Buffer.alloc(32, 8));
  assert.deepEqual(other.take(fakeReqRes(value).req, fakeReqRes(value).res), []);
  const [payload, sig] = value.split('.');
  const forged = Buffer.from(JSON.stringify([{ kind: 'error', text: 'forged' }])).toString('base64url');
  assert.deepEqual(flash.take(fakeReqRes(`${forged}.${sig}`).req, fakeReqRes().res), []);
  assert.deepEqual(flash.take(fakeReqRes(`${payload}`).req, fakeReqRes().res), []);
});
