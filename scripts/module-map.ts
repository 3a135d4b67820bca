// Renders src/module-map.json (the one source of the module map) as the block docs/architecture.md
// shows between its module-map markers. `npx tsx scripts/module-map.ts --write` rewrites the block;
// without --write it exits 1 when the doc is out of date. test/unit/lint/module-map.test.ts checks it.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ModuleMap {
  modules: Record<string, { role: string; mayImport: string[] }>;
}

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BEGIN = '<!-- module-map:begin (generated from src/module-map.json by scripts/module-map.ts; do not edit by hand) -->';
export const END = '<!-- module-map:end -->';

export function readModuleMap(): ModuleMap {
  return JSON.parse(readFileSync(path.join(root, 'src', 'module-map.json'), 'utf8')) as ModuleMap;
}

export function renderModuleMap(map: ModuleMap): string {
  const names = Object.keys(map.modules);
  const lines = [
    '```',
    'platform (src/platform, src/config.ts), db, http      below all; import no module',
    names.join(' → '),
    '```',
    '',
    '| module | may import | role |',
    '|---|---|---|',
    ...names.map((n) => {
      const m = map.modules[n]!;
      return `| ${n} | ${m.mayImport.length ? m.mayImport.join(', ') : '(none)'} | ${m.role} |`;
    }),
  ];
  return `${BEGIN}\n${lines.join('\n')}\n${END}`;
}

export function docWithMap(doc: string, map: ModuleMap): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error('docs/architecture.md has no module-map markers');
  return doc.slice(0, a) + renderModuleMap(map) + doc.slice(b + END.length);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const docPath = path.join(root, 'docs', 'architecture.md');
  const doc = readFileSync(docPath, 'utf8');
  const next = docWithMap(doc, readModuleMap());
  if (process.argv.includes('--write')) writeFileSync(docPath, next);
  else if (next !== doc) {
    console.error('docs/architecture.md does not show src/module-map.json; run: npx tsx scripts/module-map.ts --write');
    process.exit(1);
  }
}
