/**
 * GET /api/openapi.json (built once, kept in memory, strong ETag) and GET /api/docs (Swagger UI
 * from node_modules/swagger-ui-dist; the page has no inline script, so the CSP's
 * script-src 'self' holds: /static/js/api-docs.js starts the UI).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Router } from 'express';
import { buildOpenApiDocument, type DocRoute, type SpecOptions } from './openapi.js';

const require = createRequire(import.meta.url);
const YEAR_MS = 31_536_000_000;

/** The folder and version of the installed swagger-ui-dist. */
export function swaggerUiDist(): { dir: string; version: string } {
  const dir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const { version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string };
  return { dir, version };
}

/** The files the docs page loads; nothing else in the package is served. */
const VENDOR_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png'];

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export function docsPage(opts: { vendorBase: string; initScript: string; specUrl: string; title: string }): string {
  const v = escapeAttr(opts.vendorBase);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeAttr(opts.title)}</title>
<link rel="stylesheet" href="${v}/swagger-ui.css">
<link rel="icon" type="image/png" href="${v}/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui" data-spec-url="${escapeAttr(opts.specUrl)}"><noscript>This page needs JavaScript. The document itself is at <a href="${escapeAttr(opts.specUrl)}">${escapeAttr(opts.specUrl)}</a>.</noscript></div>
<script src="${v}/swagger-ui-bundle.js"></script>
<script src="${escapeAttr(opts.initScript)}"></script>
</body>
</html>
`;
}

export interface ApiDocsRoutesDeps {
  routes: readonly DocRoute[];
  spec: SpecOptions;
  /** the URL of public/js/api-docs.js (the pages' asset() adds a content hash when available) */
  initScript?: string;
}

export function createApiDocsRouter(deps: ApiDocsRoutesDeps): Router {
  const r = express.Router();
  const ui = swaggerUiDist();
  const vendorBase = `/api/docs/vendor/${ui.version}`;

  // Built on first use, not at boot: nobody pays for it until someone reads the docs.
  let cached: { body: string; etag: string } | undefined;
  const spec = () => {
    if (!cached) {
      const body = JSON.stringify(buildOpenApiDocument(deps.routes, deps.spec));
      cached = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    }
    return cached;
  };

  r.get('/openapi.json', (req, res) => {
    const { body, etag } = spec();
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (req.get('if-none-match') === etag) return void res.status(304).end();
    res.type('application/json').send(body);
  });

  const page = docsPage({ vendorBase, initScript: deps.initScript ?? '/static/js/api-docs.js', specUrl: '/api/openapi.json', title: 'candlecast API' });
  r.get('/docs', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(page);
  });

  // Static files, not API operations: a middleware (not routes), so they stay out of the document.
  const vendor = new Map(VENDOR_FILES.map((f) => [f, path.join(ui.dir, f)]));
  r.use('/docs/vendor', (req, res, next) => {
    const m = /^\/([^/]+)\/([^/]+)$/.exec(req.path);
    const full = m && (req.method === 'GET' || req.method === 'HEAD') ? vendor.get(m[2]!) : undefined;
    if (!m || !full) return next();
    // Another version in the URL still gets the file, but must not be cached for a year.
    const current = m[1] === ui.version;
    res.sendFile(full, { maxAge: current ? YEAR_MS : 0, immutable: current }, (err) => {
      if (err) next(err);
    });
  });
  return r;
}
