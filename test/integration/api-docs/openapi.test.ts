/**
 * The OpenAPI document against the running app: it is structurally sound OpenAPI 3.1, every
 * operation says who may call it, what it answers and shows an example, and EVERY route
 * mounted under /api appears in it (walked from Express's router stack, so a new route with no
 * documentation fails here).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Express } from 'express';
import { startApp, type TestApp } from '../../support/app.js';
import { toOpenApiPath } from '../../../src/modules/api-docs/index.js';

interface LayerLike {
  rawPath?: unknown;
  slash?: boolean;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[] };
  name?: string;
}

/** Every (METHOD, path) an Express app serves under `prefix`, following nested routers. */
export function mountedRoutes(app: Express, prefix = '/api'): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const walk = (stack: LayerLike[], base: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          if (typeof p !== 'string') throw new Error(`a route under ${base} has a non-string path; describe it by hand`);
          for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push({ method: m, path: base + p });
        }
      } else if (layer.handle?.stack) {
        const mount = layer.slash || layer.rawPath === undefined ? '' : String(layer.rawPath);
        walk(layer.handle.stack, base + mount);
      }
    }
  };
  const root = (app as unknown as { router: { stack: LayerLike[] } }).router.stack;
  const apiLayer = root.find((l) => l.rawPath === prefix && l.handle?.stack);
  assert.ok(apiLayer, `no router mounted at ${prefix}`);
  walk(apiLayer.handle!.stack!, prefix);
  return out;
}

describe('the OpenAPI document', () => {
  let app: TestApp;
  let doc: any;
  before(async () => {
    app = await startApp();
    const r = await app.fetch('/api/openapi.json');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    doc = await r.json();
  });
  after(async () => {
    await app?.stop();
  });

  test('is OpenAPI 3.1 with info, security schemes and the shared error body', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info.title, 'candlecast API');
    assert.ok(doc.info.version);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKey', 'bearerAuth', 'cookieAuth']);
    assert.equal(doc.components.securitySchemes.bearerAuth.scheme, 'bearer');
    assert.equal(doc.components.securitySchemes.apiKey.name, 'X-API-Key');
    const err = doc.components.schemas.Error;
    assert.deepEqual(err.required.sort(), ['detail', 'error']);
    assert.deepEqual(err.properties.error.required.sort(), ['code', 'message', 'requestId']);
  });

  test('every operation has an id, a summary, security, responses with an example, and documented errors', () => {
    const ids = new Set<string>();
    let operations = 0;
    for (const [p, item] of Object.entries<any>(doc.paths)) {
      assert.ok(p.startsWith('/api/'), p);
      for (const [method, op] of Object.entries<any>(item)) {
        operations++;
        const where = `${method.toUpperCase()} ${p}`;
        assert.ok(op.operationId && !ids.has(op.operationId), `${where}: unique operationId`);
        ids.add(op.operationId);
        assert.ok(op.summary, `${where}: summary`);
        assert.ok(Array.isArray(op.security) && op.security.length > 0, `${where}: security`);
        for (const req of op.security) for (const name of Object.keys(req)) assert.ok(doc.components.securitySchemes[name], `${where}: scheme ${name}`);
        const statuses = Object.keys(op.responses);
        const ok = statuses.filter((s) => /^2/.test(s));
        assert.ok(ok.length > 0, `${where}: a success response`);
        for (const s of ok) {
          const content = op.responses[s].content;
          if (s === '204') continue;
          if (!content) continue;
          for (const [type, media] of Object.entries<any>(content)) assert.ok(media.example !== undefined, `${where} ${s} ${type}: example`);
        }
        assert.ok(statuses.includes('500'), `${where}: 500`);
        for (const s of statuses.filter((x) => /^[45]/.test(x))) {
          assert.equal(op.responses[s].content['application/json'].schema.$ref, '#/components/schemas/Error', `${where} ${s}: the error body`);
        }
        const isPublic = op.security.some((r: object) => Object.keys(r).length === 0);
        if (!isPublic) assert.ok(statuses.includes('401'), `${where}: 401 for a route that needs a credential`);
        if (op.requestBody) for (const media of Object.values<any>(op.requestBody.content)) assert.ok(media.example !== undefined, `${where}: request example`);
        const templ = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        const declared = (op.parameters ?? []).filter((x: any) => x.in === 'path').map((x: any) => x.name);
        assert.deepEqual(declared.sort(), templ.sort(), `${where}: path parameters`);
      }
    }
    assert.ok(operations >= 30, `only ${operations} operations`);
  });

  test('every route mounted under /api is in the document, and nothing else', () => {
    const mounted = mountedRoutes(app.running.app.express);
    assert.ok(mounted.length >= 30, `found only ${mounted.length} routes: is the router walk broken?`);
    const documented = new Set<string>();
    for (const [p, item] of Object.entries<any>(doc.paths)) for (const m of Object.keys(item)) documented.add(`${m} ${p}`);
    const missing = [...new Set(mounted.map((r) => `${r.method} ${toOpenApiPath(r.path)}`))].filter((k) => !documented.has(k));
    assert.deepEqual(missing, [], `routes with no documentation; add them to src/modules/api-docs/paths/<module>.ts:\n${missing.join('\n')}`);
    const served = new Set(mounted.map((r) => `${r.method} ${toOpenApiPath(r.path)}`));
    const stale = [...documented].filter((k) => !served.has(k));
    assert.deepEqual(stale, [], `documented routes that are not mounted:\n${stale.join('\n')}`);
  });

  test('the document is cached with an ETag and answers 304 to If-None-Match', async () => {
    const a = await app.fetch('/api/openapi.json');
    const etag = a.headers.get('etag');
    assert.ok(etag);
    await a.arrayBuffer();
    const b = await app.fetch('/api/openapi.json', { headers: { 'if-none-match': etag } });
    assert.equal(b.status, 304);
  });

  test('/api/docs is an HTML page with no inline script, loading Swagger UI from this server', async () => {
    const r = await app.fetch('/api/docs');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await r.text();
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 2);
    for (const s of scripts) {
      assert.match(s[1]!, /src="\//, 'scripts come from this origin');
      assert.equal(s[2]!.trim(), '', 'no inline script');
    }
    for (const src of [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!)) {
      const asset = await app.fetch(src);
      assert.equal(asset.status, 200, src);
      if (src.includes('/vendor/')) assert.match(asset.headers.get('cache-control') ?? '', /max-age=31536000/, `${src} cached for a year`);
      await asset.arrayBuffer();
    }
  });
});
