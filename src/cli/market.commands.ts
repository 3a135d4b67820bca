/**
 * Market operator commands: import a candle file, ingest once, estimate or run a backfill.
 * They call the same service functions as the API and the jobs.
 */
import { readFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { parseInterval } from '../platform/candle.js';
import { ImportRejectedError, ConfirmationRequiredError, IngestFailedError, type BackfillEstimate } from '../modules/market/index.js';
import type { OpenContext } from './commands.js';

function intervalOption(value: string): number {
  const m = parseInterval(value);
  if (m === undefined) throw new Error(`--interval: unknown interval "${value}" (use 1h or 1d)`);
  return m;
}

function timeOption(value: string): number {
  const v = value.trim();
  if (/^\d{1,11}$/.test(v)) return Number(v);
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) || /[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  if (Number.isNaN(ms)) throw new Error(`not a date: ${value} (use 2024-01-31, 2024-01-31T12:00:00Z or Unix seconds)`);
  return Math.floor(ms / 1000);
}

function describeEstimate(e: BackfillEstimate): string {
  const minutes = Math.ceil(e.estimatedSeconds / 60);
  const lines = [
    `backfill of ${e.pair} from ${new Date(e.from * 1000).toISOString()}:`,
    `  Kraken calls: ${e.estimatedCalls.toLocaleString('en-US')} (${e.ohlcCalls} OHLC + ${e.tradesCalls.toLocaleString('en-US')} Trades), about ${minutes.toLocaleString('en-US')} min`,
    `  trades to rebuild: about ${e.estimatedTrades.toLocaleString('en-US')} (basis: ${e.basis}${e.tradesPerDay !== null ? `, ~${e.tradesPerDay.toLocaleString('en-US')}/day` : ''})`,
  ];
  for (const p of e.intervals) {
    lines.push(`  ${p.interval === 60 ? '1h' : '1d'}: OHLC from ${new Date(p.ohlcWindowStart * 1000).toISOString()}, ${Math.round(p.missingSeconds / 86400).toLocaleString('en-US')} days to rebuild from Trades`);
  }
  if (e.needsConfirmation) lines.push(`  more than ${e.confirmAboveCalls} calls (or a cost that cannot be estimated): run again with --confirm to start it`);
  return lines.join('\n');
}

export function registerMarketCommands(program: Command, open: OpenContext): void {
  program
    .command('import-csv')
    .description("import a candle CSV (Kraken's OHLCVT files, or any CSV with a header) in one transaction: all rows or none")
    .requiredOption('-p, --pair <name>', 'the pair, by any of its names (XBTUSD, XXBTZUSD, XBT/USD)')
    .option('-i, --interval <interval>', '1h or 1d', '1d')
    .argument('<file>', 'the CSV file')
    .action(async (file: string, opts: { pair: string; interval: string }) => {
      const interval = intervalOption(opts.interval);
      const text = await readFile(file);
      const ctx = await open();
      const bar = new cliProgress.SingleBar({ format: '{phase} [{bar}] {percentage}% | {value}/{total} candles', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
      let started = false;
      try {
        const market = ctx.app.services.market;
        const { pair, created } = await market.service.ensurePair(opts.pair);
        if (created) console.log(`tracking ${pair.altname} (${pair.key}), found in Kraken's catalogue`);
        const r = await market.importer.importCsv(pair, interval, text, {
          onProgress: (p) => {
            if (p.phase === 'done') return;
            if (!started) {
              bar.start(p.total, 0, { phase: 'storing' });
              started = true;
            }
            bar.update(p.done, { phase: p.phase === 'parse' ? 'checked ' : 'storing' });
          },
        });
        if (started) bar.stop();
        console.log(
          `${file}: ${r.rows} rows (${r.format}, ${r.order}) from ${new Date(r.from * 1000).toISOString()} to ${new Date(r.to * 1000).toISOString()}\n` +
            `  ${r.inserted} candles added to ${pair.altname} ${r.interval}, ${r.existing} already stored` +
            (r.skippedOpen ? `, ${r.skippedOpen} not closed yet (not stored)` : '') +
            (r.anomalies ? `, ${r.anomalies} flagged as anomalies` : '') +
            ` in ${r.ms} ms`,
        );
      } catch (err) {
        if (started) bar.stop();
        if (err instanceof ImportRejectedError) {
          for (const e of err.errors) console.error(`  line ${e.line}: ${e.reason}`);
          if (err.truncated) console.error('  (more errors not shown)');
          // cli.ts prints this and exits with 1
          throw new Error(`${file} was not imported (nothing changed): ${err.errors.length}${err.truncated ? '+' : ''} bad row(s), listed above`);
        }
        throw err;
      } finally {
        await ctx.close();
      }
    });

  program
    .command('ingest')
    .description('fetch the newly closed candles of every tracked pair once (what the ingest job does)')
    .action(async () => {
      const ctx = await open();
      try {
        const r = await ctx.app.services.market.ingest.runAll().catch((err: unknown) => {
          if (err instanceof IngestFailedError) return err.summary;
          throw err;
        });
        for (const p of r.pairs) console.log(`${p.pair} ${p.interval}: ${p.error ? `FAILED: ${p.error}` : `+${p.added}`}${p.heal ? ` (hole before the OHLC window: backfill ${p.heal.backfillIds.join(', ')} ${p.heal.status})` : ''}`);
        if (r.failed) throw new Error(`ingest failed for ${r.failed} pair/interval(s)`);
      } finally {
        await ctx.close();
      }
    });

  program
    .command('backfill')
    .description("fill a pair's history from a date to now (OHLC for the recent part, Trades for the older one); shows the cost first")
    .requiredOption('-p, --pair <name>', 'the pair, by any of its names')
    .option('-f, --from <date>', 'start (ISO date or Unix seconds); default: what OHLC still holds')
    .option('-i, --interval <interval>', '1h or 1d (default: the intervals the pair is tracked at)')
    .option('--estimate', 'only print the estimate')
    .option('--confirm', 'start even when the estimate is above the confirmation threshold')
    .action(async (opts: { pair: string; from?: string; interval?: string; estimate?: boolean; confirm?: boolean }) => {
      const from = opts.from === undefined ? undefined : timeOption(opts.from);
      const ctx = await open();
      try {
        const market = ctx.app.services.market;
        const { pair } = await market.service.ensurePair(opts.pair);
        const intervals = opts.interval ? [intervalOption(opts.interval)] : pair.intervals;
        const estimate = await market.backfill.estimate(pair, intervals, from);
        console.log(describeEstimate(estimate));
        if (opts.estimate) return;
        let rows;
        try {
          rows = (await market.backfill.request(pair, { from, intervals, confirm: opts.confirm, estimate, launch: false })).rows;
        } catch (err) {
          if (err instanceof ConfirmationRequiredError) throw new Error('not started: add --confirm to run a backfill of this cost');
          throw err;
        }
        const bar = new cliProgress.SingleBar({ format: 'backfill [{bar}] {percentage}% | {message}', hideCursor: true }, cliProgress.Presets.shades_classic);
        bar.start(100, 0, { message: 'starting' });
        try {
          const summary = await market.backfill.runPending({ pairId: pair.id, progress: (f, message) => bar.update(Math.round(f * 100), { message: message ?? '' }) });
          bar.stop();
          for (const r of summary.rows) console.log(`backfill ${r.id} ${r.pair} ${r.interval}: ${r.status}, ${r.candlesAdded} candles added`);
          if (summary.skipped.length) console.log(`skipped (another worker holds them): ${summary.skipped.join(', ')}`);
          console.log(`${summary.calls} Kraken calls; rows ${rows.map((r) => r.id).join(', ')}`);
        } catch (err) {
          bar.stop();
          throw err;
        }
      } finally {
        await ctx.close();
      }
    });
}
