/**
 * Shared pieces of the alerts integration tests: the app with fast retry settings, real candles
 * stored through the market module's importer (so 'candles.stored' comes from the real candle
 * store), a local webhook receiver that checks signatures and can fail on purpose, a tiny SMTP
 * server, and a direct SQL client for looking at what is stored.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { startApp, type StartAppOptions, type TestApp } from '../../support/app.js';
import { verifyWebhookSignature } from '../../../src/modules/alerts/index.js';

export const HOUR = 3600;

/** The app with webhooks allowed to reach 127.0.0.1 and retries measured in milliseconds. */
export function startAlertsApp(opts: StartAppOptions = {}): Promise<TestApp> {
  return startApp({
    ...opts,
    env: {
      KRAKEN_MAX_RETRIES: '0',
      ALERTS_WEBHOOK_ALLOW_PRIVATE: 'true',
      ALERTS_RETRY_BASE_MS: '40',
      ALERTS_RETRY_MAX_MS: '400',
      ALERTS_DISPATCH_INTERVAL_MS: '50',
      ALERTS_WEBHOOK_TIMEOUT_MS: '2000',
      ...opts.env,
    },
  });
}

export function services(app: TestApp): any {
  return app.running.app.services;
}

/** A tracked pair, created through the market service (from the bundled Kraken catalogue). */
export async function ensurePair(app: TestApp, name = 'XBTUSD'): Promise<{ id: number; altname: string; key: string }> {
  const { pair } = await services(app).market.service.ensurePair(name);
  return pair;
}

/**
 * Stores closed candles through the market importer (the real candle store, which emits
 * candles.stored after its commit) and waits until every listener is done.
 */
export async function storeCloses(app: TestApp, pair: { id: number }, interval: number, points: { time: number; close: number }[]): Promise<void> {
  const fullPair = await services(app).market.service.resolvePair(pair.id);
  const lines = ['time,open,high,low,close,volume'];
  for (const p of points) {
    const c = p.close;
    lines.push(`${p.time},${c},${c},${c},${c},1`);
  }
  await services(app).market.importer.importCsv(fullPair, interval, lines.join('\n'));
  await app.running.app.events.drain();
}

/** Open time of the newest closed candle at `nowMs`. */
export function lastClosedOpen(nowMs: number, interval = 60): number {
  const step = interval * 60;
  return Math.floor(nowMs / 1000 / step) * step - step;
}

export async function sql<T = any>(app: TestApp, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: app.db.connectionString });
  await c.connect();
  try {
    return (await c.query(text, values)).rows as T[];
  } finally {
    await c.end();
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface ReceivedWebhook {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
  /** whether X-Candlecast-Signature matched the secret known at that moment */
  validSignature: boolean | null;
  answered: number;
}

/** A webhook receiver on 127.0.0.1:0 that verifies signatures and can fail on purpose. */
export async function startReceiver() {
  const received: ReceivedWebhook[] = [];
  let secret: string | null = null;
  let failNext = 0;
  let alwaysStatus: number | null = null;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let status = 200;
      if (alwaysStatus !== null) status = alwaysStatus;
      else if (failNext > 0) {
        failNext -= 1;
        status = 500;
      }
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        raw,
        body: JSON.parse(raw),
        validSignature: secret === null ? null : verifyWebhookSignature(secret, raw, req.headers['x-candlecast-signature'] as string | undefined),
        answered: status,
      });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    received,
    setSecret(s: string) {
      secret = s;
    },
    failNext(n: number) {
      failNext = n;
    },
    always(status: number | null) {
      alwaysStatus = status;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  data: string;
}

/** Just enough SMTP (RFC 5321, no TLS, no auth) for nodemailer to hand over a message. */
export async function startSmtpServer() {
  const mails: ReceivedMail[] = [];
  const auths: string[][] = [];
  let refuseNext = 0;
  const server = net.createServer((sock) => {
    sock.setEncoding('utf8');
    let buf = '';
    let inData = false;
    let cur: ReceivedMail = { from: '', to: [], data: '' };
    sock.write('220 candlecast-test ESMTP\r\n');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          cur.data = buf.slice(0, end).replace(/^\.\./gm, '.');
          buf = buf.slice(end + 5);
          inData = false;
          if (refuseNext > 0) {
            refuseNext -= 1;
            sock.write('451 4.3.0 try again later\r\n');
          } else {
            mails.push(cur);
            sock.write('250 2.0.0 queued\r\n');
          }
          cur = { from: '', to: [], data: '' };
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250-candlecast-test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n');
        else if (cmd === 'AUTH') {
          // AUTH PLAIN <base64(\0user\0password)>: remembered so a test can see what was sent
          const b64 = line.split(' ')[2] ?? '';
          auths.push(Buffer.from(b64, 'base64').toString('utf8').split('\0').slice(1));
          sock.write('235 2.7.0 accepted\r\n');
        }
        else if (cmd === 'MAIL') {
          cur.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          sock.write('250 2.1.0 ok\r\n');
        } else if (cmd === 'RCPT') {
          cur.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          sock.write('250 2.1.5 ok\r\n');
        } else if (cmd === 'DATA') {
          inData = true;
          sock.write('354 go ahead\r\n');
        } else if (cmd === 'RSET') {
          cur = { from: '', to: [], data: '' };
          sock.write('250 ok\r\n');
        } else if (cmd === 'QUIT') {
          sock.end('221 bye\r\n');
        } else sock.write('250 ok\r\n');
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mails,
    auths,
    refuseNext(n: number) {
      refuseNext = n;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
