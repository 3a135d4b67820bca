// The module map (src/module-map.json) and the lint rule that enforces it: the real ESLint
// config (eslint.config.js) on small in-memory sources placed at paths inside src/.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { docWithMap, readModuleMap, root } from '../../../scripts/module-map.js';

const eslint = new ESLint({ cwd: root });

async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.filter((m) => m.ruleId === 'candlecast/module-boundaries').map((m) => m.message);
}

describe('module map', () => {
  const map = readModuleMap();
  const names = Object.keys(map.modules);

  it('names every folder under src/modules, and only those', () => {
    const folders = readdirSync(path.join(root, 'src', 'modules')).filter((n) => statSync(path.join(root, 'src', 'modules', n)).isDirectory());
    assert.deepEqual([...names].sort(), folders.sort());
  });

  it('points one way: each module may import only modules earlier in the order', () => {
    for (const [i, name] of names.entries()) {
      for (const dep of map.modules[name]!.mayImport) {
        assert.ok(names.includes(dep), `${name} lists unknown module ${dep}`);
        assert.ok(names.indexOf(dep) < i, `${name} may import ${dep}, which comes after it`);
      }
    }
  });

  it('follows docs/architecture.md: monitoring → auth → market → features → models → predictions → alerts → scheduler → pages', () => {
    const chain = ['monitoring', 'auth', 'market', 'features', 'models', 'predictions', 'alerts', 'scheduler', 'pages'];
    const positions = chain.map((n) => names.indexOf(n));
    assert.ok(positions.every((p) => p >= 0));
    assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
  });

  it('is shown in docs/architecture.md exactly as the file says', () => {
    const doc = readFileSync(path.join(root, 'docs', 'architecture.md'), 'utf8');
    assert.equal(doc, docWithMap(doc, map), 'run: npx tsx scripts/module-map.ts --write');
  });
});

describe('lint rule candlecast/module-boundaries', () => {
  it('accepts an import the map allows (predictions -> market index)', async () => {
    assert.deepEqual(await boundaryErrors('src/modules/predictions/x.ts', "import { a } from '../market/index.js';\nexport const b = a;\n"), []);
  });

  it('fails a wrong-direction import (market -> predictions), also type-only, re-exported or dynamic', async () => {
    const cases = [
      "import { a } from '../predictions/index.js';\nexport const b = a;\n",
      "import type { A } from '../predictions/index.js';\nexport type B = A;\n",
      "export { a } from '../predictions/index.js';\n",
      "export const b = () => import('../predictions/index.js');\n",
    ];
    for (const code of cases) {
      const errors = await boundaryErrors('src/modules/market/x.ts', code);
      assert.equal(errors.length, 1, code);
      assert.match(errors[0]!, /Module 'market' may not import module 'predictions'/);
    }
  });

  it('keeps the pure modules pure (features -> market fails, from a nested folder too)', async () => {
    const errors = await boundaryErrors('src/modules/features/sub/x.ts', "import { a } from '../../market/index.js';\nexport const b = a;\n");
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /Module 'features' may not import module 'market'/);
  });

  it('still fails a deep import past index.ts, even in an allowed direction', async () => {
    const errors = await boundaryErrors('src/modules/predictions/x.ts', "import { a } from '../market/market.service.js';\nexport const b = a;\n");
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /through src\/modules\/market\/index\.ts/);
  });

  it('fails any module import from platform, db or http; the composition root may import any module', async () => {
    for (const file of ['src/platform/x.ts', 'src/db/x.ts', 'src/http/x.ts']) {
      const errors = await boundaryErrors(file, "import { a } from '../modules/auth/index.js';\nexport const b = a;\n");
      assert.equal(errors.length, 1, file);
      assert.match(errors[0]!, /sits below every module/);
    }
    assert.deepEqual(await boundaryErrors('src/modules.ts', "import { a } from './modules/pages/index.js';\nexport const b = a;\n"), []);
  });

  it('imports inside one module are free', async () => {
    assert.deepEqual(await boundaryErrors('src/modules/market/kraken/x.ts', "import { a } from '../candle-store.js';\nexport const b = a;\n"), []);
  });
});
