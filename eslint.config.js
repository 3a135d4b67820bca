// @ts-check
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * candlecast/module-boundaries: a capability module (src/modules/<name>/) is used only through
 * its index.ts. Importing another module's internal file is an error, from anywhere.
 */
const moduleBoundaries = {
  meta: { type: 'problem', messages: { internal: "Import '{{target}}' through src/modules/{{mod}}/index.ts, not its internal file." }, schema: [] },
  create(context) {
    const file = context.filename;
    const modulesRoot = path.join(context.cwd, 'src', 'modules') + path.sep;
    const ownModule = file.startsWith(modulesRoot) ? file.slice(modulesRoot.length).split(path.sep)[0] : undefined;
    function check(node) {
      const spec = node.source && node.source.value;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(modulesRoot)) return;
      const rel = target.slice(modulesRoot.length).split(path.sep);
      const mod = rel[0];
      if (mod === ownModule) return;
      const isIndex = rel.length === 1 || (rel.length === 2 && /^index\.(js|ts)$/.test(rel[1]));
      if (!isIndex) context.report({ node: node.source, messageId: 'internal', data: { target: spec, mod } });
    }
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: (n) => check({ source: n.source }) };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'bench/results/**', 'src/generated/**', 'public/vendor/**', '.data/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly', performance: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', structuredClone: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', Headers: 'readonly', Response: 'readonly', Request: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly', document: 'readonly', window: 'readonly' } },
    plugins: { candlecast: { rules: { 'module-boundaries': moduleBoundaries } } },
    rules: {
      'candlecast/module-boundaries': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    files: ['scripts/**', 'bench/**', 'test/**', 'src/cli.ts', 'src/server.ts', 'src/cli/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Tests read JSON answers of many shapes; typing each one adds noise, not safety. Unit
    // tests and benchmarks exercise a module's internal pure functions directly.
    files: ['test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'candlecast/module-boundaries': 'off' },
  },
  {
    files: ['public/**/*.js'],
    languageOptions: { sourceType: 'script' },
  },
);
