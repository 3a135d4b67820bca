/** The documentation's own routes. */
import { z } from 'zod';
import type { DocRoute } from '../openapi.js';

export const systemPaths: DocRoute[] = [
  {
    method: 'get',
    path: '/openapi.json',
    tag: 'docs',
    summary: 'This OpenAPI 3.1 document',
    access: 'public',
    responses: {
      200: {
        description: 'The document (ETag; answers 304 to If-None-Match)',
        headers: { ETag: 'changes when the API changes' },
        schema: z.object({ openapi: z.string(), info: z.record(z.string(), z.unknown()), paths: z.record(z.string(), z.unknown()) }).passthrough(),
        example: { openapi: '3.1.0', info: { title: 'candlecast API', version: '0.1.0' }, paths: {} },
      },
      304: { description: 'Not modified' },
    },
  },
  {
    method: 'get',
    path: '/docs',
    tag: 'docs',
    summary: 'Browse this API (Swagger UI, served by this server; no CDN)',
    access: 'public',
    responses: { 200: { description: 'An HTML page', contentType: 'text/html', schema: z.string(), example: '<!doctype html><html lang="en">...</html>' } },
  },
];
