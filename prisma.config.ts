import { defineConfig } from 'prisma/config';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Prisma's CLI insists on finding its native schema engine before any command, and tries to
// download it when absent. `generate`, `validate` and `format` never run it, so point the check
// at a stub unless the machine has a real engine (see docs/decisions/002-migrations-without-native-engine.md).
const stub = fileURLToPath(new URL('./scripts/schema-engine-stub.sh', import.meta.url));
if (existsSync(stub)) process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= stub;

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    // Only the CLI reads this; the app builds its own connection string (embedded or DATABASE_URL).
    url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/candlecast',
  },
});
