/**
 * Runs the Kraken stand-in for local work: `npm run kraken:standin -- --port 8088`, then start
 * candlecast with KRAKEN_API_URL set to the printed URL. Reads only project files.
 *
 *   --port N        (or KRAKEN_STANDIN_PORT; default 0 = any free port)
 *   --host H        default 127.0.0.1
 *   --now T         Unix seconds or an ISO date (or KRAKEN_STANDIN_NOW); default 2023-01-07T09:30Z
 *   --follow        let "now" run with the wall clock from that start, so new candles close
 *                   while the app polls
 *   --ws-port N     port of the WebSocket v2 stand-in (default 0 = any free port); give its
 *                   URL to the app as KRAKEN_WS_URL. With --follow it pushes updates every second.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_STANDIN_NOW, startKrakenStandin } from './kraken-standin.js';
import { startKrakenWsStandin } from './kraken-ws-standin.js';

function parseNow(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) || !value.includes('T') ? value : `${value}Z`);
  if (Number.isNaN(ms)) throw new Error(`--now: not Unix seconds or an ISO date: ${value}`);
  return Math.floor(ms / 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      now: { type: 'string' },
      follow: { type: 'boolean', default: false },
      'ws-port': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: kraken-standin-cli [--port N] [--ws-port N] [--host H] [--now unix|iso] [--follow]');
    return;
  }
  const portText = values.port ?? process.env.KRAKEN_STANDIN_PORT ?? '0';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${portText}`);
  const nowText = values.now ?? process.env.KRAKEN_STANDIN_NOW;
  const start = nowText === undefined ? DEFAULT_STANDIN_NOW : parseNow(nowText);

  const wsPortText = values['ws-port'] ?? '0';
  const wsPort = Number(wsPortText);
  if (!Number.isInteger(wsPort) || wsPort < 0 || wsPort > 65535) throw new Error(`--ws-port: not a port number: ${wsPortText}`);
  const standin = await startKrakenStandin({ port, host: values.host, now: start });
  const ws = await startKrakenWsStandin({ rest: standin, port: wsPort, host: values.host });
  let follower: NodeJS.Timeout | undefined;
  if (values.follow) {
    const t0 = Date.now();
    follower = setInterval(() => {
      standin.setNow(start + Math.floor((Date.now() - t0) / 1000));
      ws.push();
    }, 1000);
  }
  console.log(`Kraken stand-in listening at ${standin.url}`);
  console.log(`WebSocket v2 stand-in at ${ws.url}`);
  console.log(`now = ${new Date(start * 1000).toISOString()}${values.follow ? ' (following the wall clock)' : ''}`);
  console.log(`try: curl '${standin.url}/OHLC?pair=XBTUSD&interval=1440'`);

  const stop = async () => {
    if (follower) clearInterval(follower);
    await ws.close();
    await standin.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
