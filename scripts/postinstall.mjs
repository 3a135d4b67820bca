// Generates the Prisma client after `npm install` / `npm ci`. Runs offline: prisma.config.ts
// points Prisma's engine check at a stub, so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const cli = 'node_modules/prisma/build/index.js';
if (!existsSync(cli)) {
  // `npm ci --omit=dev` in the image: the compiled client is already in dist/.
  console.log('candlecast: prisma CLI not installed, skipping client generation');
  process.exit(0);
}
if (!existsSync('prisma/schema.prisma')) process.exit(0);
const r = spawnSync(process.execPath, [cli, 'generate'], { stdio: 'inherit', env: { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' } });
process.exit(r.status ?? 1);
