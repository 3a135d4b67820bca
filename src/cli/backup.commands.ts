/**
 * `backup <file>` and `restore <file>`: the whole database as one compressed, consistent file
 * (src/db/backup.ts, docs/ops/backups.md). Neither builds the app: a backup reads, a restore
 * writes only into a database with no rows (or, with --force, replaces them).
 */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { createLogger } from '../platform/log.js';
import { writeBackup, restoreBackup } from '../db/backup.js';
import { openMaintenanceConnection } from '../db/maintenance.js';

export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('write a consistent, gzip-compressed backup of the whole database (embedded or DATABASE_URL) to <file>; safe while the server runs')
    .argument('<file>', 'where to write the backup (e.g. candlecast-2026-01-31.ccbak)')
    .action(async (file: string) => {
      const config = loadConfig();
      const log = createLogger({ level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, destination: process.stderr });
      const conn = await openMaintenanceConnection(config, log, { migrate: false });
      try {
        const r = await writeBackup(conn.connectionString, file);
        const size = (await stat(file)).size;
        console.log(`backed up ${conn.where}: ${r.tables.length} tables, ${r.totalRows.toLocaleString('en-US')} rows, ${(size / 1024 / 1024).toFixed(2)} MiB -> ${file}`);
      } finally {
        await conn.close();
      }
    });

  program
    .command('restore')
    .description('load a backup written by `backup` into an empty data directory or database (refuses one with rows unless --force)')
    .argument('<file>', 'the backup file')
    .option('--force', 'replace the contents of a database that already holds rows')
    .action(async (file: string, opts: { force?: boolean }) => {
      await stat(file).catch(() => {
        throw new Error(`no such backup file: ${file}`);
      });
      const config = loadConfig();
      const log = createLogger({ level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, destination: process.stderr });
      const conn = await openMaintenanceConnection(config, log, { migrate: true });
      try {
        const r = await restoreBackup(conn.connectionString, file, { force: opts.force });
        console.log(`restored ${r.tables.length} tables, ${r.totalRows.toLocaleString('en-US')} rows from ${file} into ${conn.where}`);
      } finally {
        await conn.close();
      }
    });
}
