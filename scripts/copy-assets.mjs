// After `tsc`: nothing to copy for views/public (they are read from the project root at run
// time), but the generated Prisma client's non-TS files must sit beside the compiled JS.
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const src = 'src/generated/prisma';
const dst = 'dist/src/generated/prisma';
function copyNonTs(from, to) {
  for (const name of readdirSync(from)) {
    const a = path.join(from, name);
    const b = path.join(to, name);
    if (statSync(a).isDirectory()) copyNonTs(a, b);
    else if (!name.endsWith('.ts')) cpSync(a, b);
  }
}
if (existsSync(src)) copyNonTs(src, dst);
console.log('build: assets copied');
