/** `npm start` / `npm run start:prod`: boots candlecast and shuts it down gracefully on signals. */
import { boot } from './boot.js';
import { ConfigError } from './config.js';

async function main(): Promise<void> {
  let running;
  try {
    running = await boot();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`candlecast cannot start. ${err.message}`);
      console.error('See .env.example for every setting and its meaning.');
    } else {
      console.error('candlecast failed to start:', err);
    }
    process.exit(1);
  }
  const { log, url, timings, config, shutdown } = running;
  log.info({ url, ...timings, embeddedDatabase: running.db.embedded }, 'candlecast is ready');
  // A plain line for people, beside the JSON log.
  process.stderr.write(`\ncandlecast is ready: open ${url}  (started in ${(timings.totalMs / 1000).toFixed(2)} s)\n\n`);

  let exitCode = 0;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second signal while stopping must not fall back to Node's default (death by signal,
    // no exit code, in-flight work cut): the first one's shutdown is already bounded.
    if (stopping) {
      log.warn({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    const hard = setTimeout(() => {
      log.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    hard.unref();
    shutdown(signal).then(
      () => process.exit(exitCode),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; shutting down');
    exitCode = 1;
    onSignal('SIGTERM');
  });
}

void main();
