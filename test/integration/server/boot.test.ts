import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startApp, type TestApp } from '../../support/app.js';

describe('the HTTP skeleton on a real Postgres', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('GET /healthz answers 200 while the process is alive', async () => {
    const r = await app.fetch('/healthz');
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as any).status, 'ok');
  });

  test('GET /readyz answers 200 once the database is reachable and migrated', async () => {
    const r = await app.fetch('/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { status: 'ready' });
  });

  test('every response carries a request id, and a sane incoming one is echoed', async () => {
    const a = await app.fetch('/healthz');
    assert.match(a.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const b = await app.fetch('/healthz', { headers: { 'X-Request-Id': 'trace-abc-12345' } });
    assert.equal(b.headers.get('x-request-id'), 'trace-abc-12345');
    const c = await app.fetch('/healthz', { headers: { 'X-Request-Id': '<script>' } });
    assert.notEqual(c.headers.get('x-request-id'), '<script>');
  });

  test('an unknown API route is a JSON 404 in the one error format', async () => {
    const r = await app.fetch('/api/nope', { headers: { 'X-Request-Id': 'req-404-check' } });
    assert.equal(r.status, 404);
    const body: any = await r.json();
    assert.equal(body.error.code, 'not_found');
    assert.equal(body.error.requestId, 'req-404-check');
    assert.equal(typeof body.error.message, 'string');
  });

  test('malformed JSON is a 400 with a message, not a 500', async () => {
    const r = await app.fetch('/api/anything', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    assert.equal(r.status, 400);
    const body: any = await r.json();
    assert.equal(body.error.code, 'invalid_json');
  });

  test('an unknown page renders the HTML error page', async () => {
    const r = await app.fetch('/no-such-page');
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await r.text(), /404/);
  });

  test('a signed-out visitor on any admin page is sent to log in and back', async () => {
    for (const path of ['/admin/logs', '/admin/security?x=1']) {
      const r = await app.fetch(path);
      assert.equal(r.status, 303, path);
      assert.equal(r.headers.get('location'), `/login?next=${encodeURIComponent(path)}`);
      // htmx sends the page it is on; that is where the visitor comes back to
      const hx = await app.fetch(path, { headers: { 'HX-Request': 'true', 'HX-Current-URL': new URL(path, app.url).toString() } });
      assert.equal(hx.headers.get('hx-redirect'), `/login?next=${encodeURIComponent(path)}`);
    }
  });

  test('the log lines are JSON and carry the request id', async () => {
    await app.fetch('/api/nope', { headers: { 'X-Request-Id': 'log-line-check-1' } });
    const line = app.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => o.requestId === 'log-line-check-1' || (o.req as { id?: string } | undefined)?.id === 'log-line-check-1');
    assert.ok(line, 'a log line with the request id');
  });
});

test('graceful shutdown finishes an in-flight request, then refuses new connections', async () => {
  const app = await startApp();
  const url = new URL('/api/echo-not-found', app.url);
  // An in-flight request: its body arrives in two parts, with the shutdown starting in between.
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '14' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write('{"half":');
    setTimeout(() => {
      stopping = app.stop();
      setTimeout(() => req.end('"way"}'), 300);
    }, 100);
  });
  let stopping: Promise<void> | undefined;
  const r = await answer;
  assert.equal(r.status, 404, 'the in-flight request was answered by the app, not cut off');
  assert.match(r.body, /not_found/);
  await stopping;
  await assert.rejects(fetch(new URL('/healthz', app.url)), 'no new connections after shutdown');
});
