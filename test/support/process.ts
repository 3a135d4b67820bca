/** Runs `src/server.ts` as a real child process, as `npm start` would, for boot/restart tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  readyMs: number;
  output: () => string;
  exited: Promise<number | null>;
}

const root = path.resolve(import.meta.dirname, '../..');

/** Spawns `node <args>` in the project root and waits for the server's "ready" line. */
export async function spawnReady(args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<ServerProcess> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = () => {
      const m = /candlecast is ready: open (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before ready:\n${out}`));
    });
  });
  return { child, url, readyMs: Math.round(performance.now() - t0), output: () => out, exited };
}

/** `src/server.ts` under tsx with test defaults (port 0, scheduler off, Kraken unreachable). */
export function spawnServer(env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  return spawnReady(
    ['--import', 'tsx', 'src/server.ts'],
    { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', PORT: '0', LOG_LEVEL: 'info', SCHEDULER_ENABLED: 'false', KRAKEN_API_URL: 'http://127.0.0.1:9/0/public', ...env },
    timeoutMs,
  );
}
