/**
 * `npm run cli -- <command>`: operator commands. Each opens the same database the server uses
 * (DATABASE_URL or the embedded one under DATA_DIR) and calls the same service functions.
 */
import { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { loadConfig, ConfigError, type Config } from './config.js';
import { createLogger, LogBuffer, type Logger } from './platform/log.js';
import { resolveSecrets } from './platform/secrets.js';
import { systemClock } from './platform/clock.js';
import { openDatabase, type Database } from './db/database.js';
import { applyMigrations, migrationStatus } from './db/migrate.js';
import { createApp, type App } from './app.js';
import { registerCliCommands } from './cli/commands.js';

export interface CliContext {
  config: Config;
  log: Logger;
  db: Database;
  app: App;
  close(): Promise<void>;
}

/** Opens config, database and services without serving HTTP or starting the scheduler. */
export async function openCliContext(): Promise<CliContext> {
  const config = loadConfig();
  const logBuffer = new LogBuffer(0);
  const log = createLogger({ level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, destination: process.stderr });
  const secrets = await resolveSecrets(config, log);
  const db = await openDatabase(config, log);
  const app = await createApp({ config, log, logBuffer, db, secrets, clock: systemClock, instanceId: `cli-${randomUUID()}` });
  return {
    config,
    log,
    db,
    app,
    async close() {
      await app.stop();
      await db.close();
    },
  };
}

const program = new Command();
program.name('candlecast').description('candlecast operator commands').showHelpAfterError();

program
  .command('db:deploy')
  .description('apply pending database migrations and exit (a release step)')
  .action(async () => {
    const config = loadConfig();
    const log = createLogger({ level: 'info', destination: process.stderr });
    if (config.DATABASE_URL) {
      const r = await applyMigrations(config.DATABASE_URL, { log });
      console.log(`applied ${r.applied.length} migration(s)${r.applied.length ? ': ' + r.applied.join(', ') : ''}; ${r.alreadyApplied} already applied`);
    } else {
      const db = await openDatabase(config, log);
      const st = await migrationStatus(db.connectionString);
      console.log(`embedded database under ${config.DATA_DIR}: ${st.applied.length} migration(s) applied, ${st.pending.length} pending`);
      await db.close();
    }
  });

registerCliCommands(program, openCliContext);

program.parseAsync(process.argv).then(
  () => process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0),
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(`candlecast: ${err.message}`);
    else console.error(`candlecast: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
