/** Webhook signing and the transport's refusal of private targets (the SSRF guard). */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSignedRequest, createHttpTransport, describeFailure, isPrivateAddress, safeUrlForLog, urlTargetProblem, verifyWebhookSignature } from '../../../src/modules/alerts/webhooks.js';
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

  test('NAT64, 6to4, Teredo, IPv4-compatible/mapped/translated IPv6 and the documentation ranges are refused', () => {
    const refused = [
      // documentation ranges
      '192.0.2.10', '198.51.100.1', '203.0.113.200', '2001:db8::1', '2001:0db8:85a3::8a2e:370:7334', '3fff::1',
      // NAT64 (well-known and local-use prefix), whatever IPv4 sits inside
      '64:ff9b::7f00:1', '64:ff9b::10.0.0.1', '64:ff9b::8.8.8.8', '64:ff9b:1::a00:1',
      // 6to4 with a private IPv4 inside: 127.0.0.1, 10.0.0.1, 169.254.169.254
      '2002:7f00:1::', '2002:7f00:0001:0:0:0:0:1', '2002:a00:1::1', '2002:a9fe:a9fe::',
      // IPv4-compatible, -mapped (dotted and hex) and -translated forms of loopback/private
      '::127.0.0.1', '::7f00:1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '::FFFF:10.0.0.1', '0:0:0:0:0:ffff:127.0.0.1', '::ffff:0:7f00:1', '::ffff:0:10.1.2.3',
      // Teredo, discard, site-local, zone ids
      '2001:0:4136:e378:8000:63bf:3fff:fdd2', '100::1', 'fec0::1', 'fe80::1%eth0',
      'not-an-ip',
    ];
    for (const ip of refused) assert.ok(isPrivateAddress(ip), ip);
    // public addresses, including 6to4 and mapped forms of a public IPv4 address
    for (const ip of ['8.8.8.8', '192.0.3.1', '198.51.101.1', '203.0.114.1', '2a00:1450:4001::1', '2002:808:808::1', '::ffff:8.8.8.8', '::ffff:808:808', '2001:db9::1']) assert.ok(!isPrivateAddress(ip), ip);
  });

  test('URL literals in the new ranges are refused at creation', () => {
    for (const url of ['http://[64:ff9b::7f00:1]/x', 'http://[2002:7f00:1::]/x', 'http://[::ffff:7f00:1]/x', 'http://[::127.0.0.1]/x', 'http://192.0.2.1/x', 'http://[2001:db8::1]/x']) {
      assert.match(urlTargetProblem(url, false) ?? '', /private/, url);
    }
  });

  test('a name that does not resolve and one that resolves to a private address fail with the same message', async () => {
    const req = { body: '{}', headers: {} };
    const resolve = async (host: string) => {
      if (host === 'db.internal.test') return [{ address: '10.0.0.5', family: 4 }];
      if (host === 'nat64.internal.test') return [{ address: '64:ff9b::a00:5', family: 6 }];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    const t = createHttpTransport({ allowPrivate: false, resolve });
    const message = async (host: string) => {
      try {
        await t.post(`http://${host}/hook`, req, { timeoutMs: 2000 });
      } catch (err) {
        return describeFailure(err).replace(host, '<host>');
      }
      return 'no error';
    };
    const resolvesPrivate = await message('db.internal.test');
    const nat64 = await message('nat64.internal.test');
    const missing = await message('nothing.internal.test');
    assert.match(missing, /^refused: <host> does not resolve to a public address$/);
    assert.equal(resolvesPrivate, missing);
    assert.equal(nat64, missing);
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
      await assert.rejects(createHttpTransport({ allowPrivate: false, resolve }).post(`http://hooks.example.test:${port}/`, req, { timeoutMs: 2000 }), /refused: hooks.example.test does not resolve to a public address/);
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
