/**
 * The api-docs module: the OpenAPI 3.1 document of /api, generated from the modules' zod
 * schemas, served at /api/openapi.json and browsable at /api/docs. What other code may use:
 *
 *   createApiDocsModule({ config, root }) -> { wiring, document() }
 *
 * To document a new route, add a row to src/modules/api-docs/paths/<module>.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ModuleWiring } from '../../app.js';
import type { Config } from '../../config.js';
import { createApiDocsRouter } from './api-docs.routes.js';
import { buildOpenApiDocument, type SpecOptions } from './openapi.js';
import { ALL_PATHS } from './paths/index.js';

export type { DocRoute, Access, DocResponse } from './openapi.js';
export { buildOpenApiDocument, toOpenApiPath, errorBodySchema, SECURITY_SCHEMES, API_PREFIX } from './openapi.js';
export { ALL_PATHS } from './paths/index.js';

export interface ApiDocsModule {
  wiring: ModuleWiring;
  /** the generated document (a fresh object) */
  document(): ReturnType<typeof buildOpenApiDocument>;
}

export function createApiDocsModule(deps: { config: Pick<Config, 'PUBLIC_URL'>; root: string }): ApiDocsModule {
  const { version } = JSON.parse(readFileSync(path.join(deps.root, 'package.json'), 'utf8')) as { version: string };
  const spec: SpecOptions = { version, publicUrl: deps.config.PUBLIC_URL };
  return {
    wiring: { name: 'api-docs', api: createApiDocsRouter({ routes: ALL_PATHS, spec }) },
    document: () => buildOpenApiDocument(ALL_PATHS, spec),
  };
}
