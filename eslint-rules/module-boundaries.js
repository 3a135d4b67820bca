// @ts-check
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * candlecast/module-boundaries. Three checks on every relative import/export/import():
 * 1. a capability module (src/modules/<name>/) is used only through its index.ts: importing
 *    another module's internal file is an error, from anywhere;
 * 2. the direction of the module map (src/module-map.json): a module may import only the
 *    modules its `mayImport` lists;
 * 3. platform (src/platform, src/config.ts), src/db and src/http sit below every module and
 *    import none of them.
 * The composition roots (src/app.ts, src/modules.ts, src/boot.ts, src/server.ts, the CLI)
 * may import any module's index.ts.
 */

/** @typedef {{ modules: Record<string, { role: string, mayImport: string[] }> }} ModuleMap */

/** @type {Map<string, ModuleMap>} */
const maps = new Map();
/** @param {string} cwd @returns {ModuleMap} */
function loadMap(cwd) {
  let map = maps.get(cwd);
  if (!map) {
    map = /** @type {ModuleMap} */ (JSON.parse(readFileSync(path.join(cwd, 'src', 'module-map.json'), 'utf8')));
    maps.set(cwd, map);
  }
  return map;
}

const BELOW_ALL = ['platform', 'db', 'http'];

export const moduleBoundaries = {
  meta: {
    type: 'problem',
    messages: {
      internal: "Import '{{target}}' through src/modules/{{mod}}/index.ts, not its internal file.",
      direction: "Module '{{own}}' may not import module '{{mod}}' (src/module-map.json lets '{{own}}' import: {{allowed}}). Dependencies point one way; see docs/architecture.md.",
      unmapped: "Module '{{mod}}' is not in src/module-map.json; add it there (and to docs/architecture.md).",
      below: "'{{layer}}' sits below every module and may not import src/modules/{{mod}}.",
    },
    schema: [],
  },
  /** @param {import('eslint').Rule.RuleContext} context */
  create(context) {
    const file = context.filename;
    const srcRoot = path.join(context.cwd, 'src') + path.sep;
    const modulesRoot = path.join(srcRoot, 'modules') + path.sep;
    const ownModule = file.startsWith(modulesRoot) ? file.slice(modulesRoot.length).split(path.sep)[0] : undefined;
    const inSrc = file.startsWith(srcRoot) ? file.slice(srcRoot.length).split(path.sep) : undefined;
    const layer = inSrc && !ownModule
      ? (BELOW_ALL.includes(inSrc[0] ?? '') && inSrc.length > 1 ? inSrc[0] : inSrc.join('/') === 'config.ts' ? 'config.ts' : undefined)
      : undefined;
    const map = loadMap(context.cwd);
    /** @param {{ source?: any }} node */
    function check(node) {
      const spec = node.source && node.source.value;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(modulesRoot)) return;
      const rel = target.slice(modulesRoot.length).split(path.sep);
      const mod = rel[0] ?? '';
      if (mod === ownModule) return;
      if (layer) {
        context.report({ node: node.source, messageId: 'below', data: { layer, mod } });
        return;
      }
      const isIndex = rel.length === 1 || (rel.length === 2 && /^index\.(js|ts)$/.test(rel[1] ?? ''));
      if (!isIndex) context.report({ node: node.source, messageId: 'internal', data: { target: spec, mod } });
      if (!ownModule) return;
      const own = map.modules[ownModule];
      if (!own) {
        context.report({ node: node.source, messageId: 'unmapped', data: { mod: ownModule } });
        return;
      }
      if (!own.mayImport.includes(mod)) {
        context.report({ node: node.source, messageId: 'direction', data: { own: ownModule, mod, allowed: own.mayImport.join(', ') || 'none' } });
      }
    }
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: (/** @type {any} */ n) => check({ source: n.source }),
    };
  },
};
