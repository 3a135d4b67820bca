/**
 * Browser assets. htmx and Plotly come from node_modules (no CDN, no build step) under
 * /static/vendor/, with the package version in the URL and a year-long immutable cache; the
 * app's own files under /static get a content hash in the URL for the same reason.
 * Compression is the app's (compression() runs before every router).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Router } from 'express';

const require = createRequire(import.meta.url);

export interface VendorFile {
  /** URL path, e.g. /static/vendor/htmx.min.js */
  route: string;
  file: string;
  version: string;
}

function packageDir(name: string): { dir: string; version: string } {
  // package.json is not in every package's "exports"; its main entry always resolves.
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return { dir, version: pkg.version ?? '0' };
    } catch {
      // not here: go up
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package.json of ${name} not found`);
    dir = up;
  }
}

export function vendorFiles(): { htmx: VendorFile; plotly: VendorFile } {
  const htmx = packageDir('htmx.org');
  const plotly = packageDir('plotly.js-finance-dist-min');
  const files = {
    htmx: { route: '/static/vendor/htmx.min.js', file: path.join(htmx.dir, 'dist', 'htmx.min.js'), version: htmx.version },
    plotly: { route: '/static/vendor/plotly.min.js', file: path.join(plotly.dir, 'plotly-finance.min.js'), version: plotly.version },
  };
  for (const f of Object.values(files)) statSync(f.file); // fail at boot, not on the first page
  return files;
}

const YEAR_SECONDS = 31_536_000;

/** GET /static/vendor/*.js from node_modules. */
export function vendorRouter(files: VendorFile[]): Router {
  const r = express.Router();
  for (const f of files) {
    r.get(f.route, (req, res, next) => {
      // An old or missing version in the URL still gets the file, but must not be cached for a year.
      const current = req.query.v === f.version;
      res.sendFile(f.file, { maxAge: current ? YEAR_SECONDS * 1000 : 0, immutable: current, headers: { 'Content-Type': 'text/javascript; charset=utf-8' } }, (err) => {
        if (err) next(err);
      });
    });
  }
  return r;
}

/**
 * `asset('/static/js/app.js')` -> '/static/js/app.js?v=<hash of the file>'. Hashes are computed
 * once per file (per process) unless `watch` is set (development: edits show on reload).
 */
export function assetUrls(publicDir: string, opts: { watch: boolean; vendor: VendorFile[] }): (url: string) => string {
  const hashes = new Map<string, string>();
  const vendor = new Map(opts.vendor.map((v) => [v.route, `${v.route}?v=${encodeURIComponent(v.version)}`]));
  return (url: string) => {
    const v = vendor.get(url);
    if (v) return v;
    if (!url.startsWith('/static/')) return url;
    let h = opts.watch ? undefined : hashes.get(url);
    if (!h) {
      try {
        h = createHash('sha256').update(readFileSync(path.join(publicDir, url.slice('/static/'.length)))).digest('hex').slice(0, 10);
      } catch {
        h = '0';
      }
      hashes.set(url, h);
    }
    return `${url}?v=${h}`;
  };
}
