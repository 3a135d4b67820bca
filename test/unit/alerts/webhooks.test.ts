/** Webhook signing and the transport's refusal of private targets (the SSRF guard). */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSignedRequest, createHttpTransport, isPrivateAddress, safeUrlForLog, urlTargetProblem, verifyWebhookSignature } from '../../../src/modules/alerts/webhooks.js';
import { retryDelayMs } from '../../../src/modules/alerts/dispatcher.js';

describe('webhook signing', () => {
  test('sha256=<hex HMAC of the raw body>; verification is exact', () => {
    const secret = 'whsec_test';
    const req = buildSignedRequest(secret, { id: '9', type: 'test', timestamp: 1700000000, attempt: 1, notification: { id: '1', rule_id: null, event_key: 'k', title: 't', body: 'b', created_at: '2024-01-01T00:00:00.000Z', data: null } });
    const expected = 'sha256=' + createHmac('sha256', secret).update(req.body).digest('hex');
    assert.equal(req.headers['X-Candlecast-Signature'], expected);
    assert.equal(req.headers['X-Candlecast-Timestamp'], '1700000000');
    assert.equal(req.headers['X-Candlecast-Delivery'], '9');
    assert.ok(verifyWebhookSignature(secret, req.body, expected));
    assert.ok(!verifyWebhookSignature(secret, req.body + ' ', expected));
    assert.ok(!verifyWebhookSignature('other', req.body, expected));
    assert.ok(!verifyWebhookSignature(secret, req.body, undefined));
    assert.equal(JSON.parse(req.body).timestamp, 1700000000, 'the timestamp is inside the signed body too');
  });

  test('retry delays double from the base up to the cap', () => {
    const s = { retryBaseMs: 100, retryMaxMs: 1000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, s)), [100, 200, 400, 800, 1000, 1000]);
  });

  test('only scheme, host and port of a URL are logged', () => {
    assert.equal(safeUrlForLog('https://user:pw@hooks.example.com:8443/T0/B1/secret?token=x'), 'https://hooks.example.com:8443');
  });
});

describe('private targets', () => {
  test('address classes', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1']) assert.ok(isPrivateAddress(ip), ip);
    for (const ip of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:1.1.1.1']) assert.ok(!isPrivateAddress(ip), ip);
  });

  test('URL literals are refused at creation unless allowed', () => {
    assert.match(urlTargetProblem('http://127.0.0.1:3000/internal/x', false)!, /private/);
    assert.match(urlTargetProblem('http://[::1]/x', false)!, /private/);
    assert.match(urlTargetProblem('http://localhost/x', false)!, /this machine/);
    assert.match(urlTargetProblem('http://169.254.169.254/latest/meta-data', false)!, /private/);
    assert.equal(urlTargetProblem('https://hooks.example.com/x', false), undefined);
    assert.equal(urlTargetProblem('http://127.0.0.1/x', true), undefined);
  });

  test('the transport refuses a name that resolves to a private address, and reaches it when allowed', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits += 1;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const req = { body: '{}', headers: { 'content-type': 'application/json' } };
    try {
      // a public-looking name whose DNS answer is a loopback address (what rebinding does)
      const resolve = async (host: string) => (host === 'hooks.example.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
      await assert.rejects(createHttpTransport({ allowPrivate: false, resolve }).post(`http://hooks.example.test:${port}/`, req, { timeoutMs: 2000 }), /refused: hooks.example.test resolves to a private address/);
      await assert.rejects(createHttpTransport({ allowPrivate: false }).post(`http://127.0.0.1:${port}/`, req, { timeoutMs: 2000 }), /refused/);
      assert.equal(hits, 0);
      const viaName = await createHttpTransport({ allowPrivate: true, resolve }).post(`http://hooks.example.test:${port}/`, req, { timeoutMs: 2000 });
      assert.equal(viaName.status, 200);
      const ok = await createHttpTransport({ allowPrivate: true }).post(`http://127.0.0.1:${port}/`, req, { timeoutMs: 2000 });
      assert.equal(ok.status, 200);
      assert.equal(hits, 2);
    } finally {
      server.close();
    }
  });

  test('no redirects are followed and slow receivers time out', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 1000);
      res.writeHead(302, { location: 'http://169.254.169.254/' });
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const t = createHttpTransport({ allowPrivate: true });
    const req = { body: '{}', headers: {} };
    try {
      assert.equal((await t.post(`http://127.0.0.1:${port}/`, req, { timeoutMs: 2000 })).status, 302);
      await assert.rejects(t.post(`http://127.0.0.1:${port}/slow`, req, { timeoutMs: 100 }), /timed out/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
