/**
 * One scheduler leader among the instances sharing a database: whoever holds the session-level
 * advisory lock LEADER_LOCK_KEY on its own dedicated connection. Followers retry every
 * LEADER_RETRY_MS. The lock lives exactly as long as the leader's session, so:
 *   - the leader process dies (even kill -9): the OS closes the socket, Postgres ends the
 *     session and frees the lock, a follower takes it at its next retry;
 *   - the leader's connection drops: the client sees the error and steps down at once (its
 *     session, and so its lock, is gone), then reconnects and competes again;
 *   - the leader's host vanishes without closing the socket: TCP keepalives, tightened on this
 *     session, make Postgres end it within about 25 s.
 * A leader that stops cleanly unlocks and NOTIFYs, so a follower takes over at once.
 * A dedicated pg.Client (not the pool): a pooled connection would hand the lock to whatever
 * query borrows it next and lose it when the pool recycles the connection.
 */
import pg from 'pg';
import type { Logger } from '../../platform/log.js';

export interface LeaderElectionOptions {
  connectionString: string;
  lockKey: number;
  retryMs: number;
  instanceId: string;
  log: Logger;
  onElected(): Promise<void> | void;
  onDemoted(reason: string): Promise<void> | void;
}

export interface LeaderElection {
  /** connects and makes the first attempt (awaited), then keeps trying in the background */
  start(): Promise<void>;
  /** releases the lock if held, tells the followers, closes the connection */
  stop(): Promise<void>;
  isLeader(): boolean;
  /** the backend pid of the dedicated session (diagnostics and tests) */
  backendPid(): number | undefined;
}

const QUERY_TIMEOUT_MS = 10_000;

export function createLeaderElection(o: LeaderElectionOptions): LeaderElection {
  const log = o.log.child({ component: 'leader' });
  const channel = `candlecast_leader_${o.lockKey}`;
  let client: pg.Client | undefined;
  let pid: number | undefined;
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let again = false;

  async function demote(reason: string): Promise<void> {
    if (!leader) return;
    leader = false;
    log.warn({ reason, instanceId: o.instanceId }, 'scheduler leadership lost; stepping down');
    try {
      await o.onDemoted(reason);
    } catch (err) {
      log.error({ err }, 'stepping down failed');
    }
  }

  function dropClient(c: pg.Client, reason: string): void {
    if (client !== c) return;
    client = undefined;
    pid = undefined;
    c.end().catch(() => undefined);
    // The session is gone, and with it the lock: this instance is no longer the leader.
    void demote(reason);
  }

  async function connect(): Promise<pg.Client> {
    const c = new pg.Client({
      connectionString: o.connectionString,
      application_name: 'candlecast-scheduler-leader',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: QUERY_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
    });
    c.on('error', (err) => {
      log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'leader connection error');
      dropClient(c, 'connection error');
    });
    c.on('end', () => dropClient(c, 'connection closed'));
    c.on('notification', (n) => {
      if (n.channel === channel && !leader) poke();
    });
    try {
      await c.connect();
      // Make the server notice a vanished leader host in ~25 s instead of the OS default (hours).
      // Ignored on Unix sockets; refused by some proxies, which is fine.
      await c.query('SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3').catch(() => undefined);
      await c.query(`LISTEN ${channel}`);
      pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    } catch (err) {
      c.end().catch(() => undefined);
      throw err;
    }
    return c;
  }

  async function attempt(): Promise<void> {
    if (stopped) return;
    try {
      if (!client) client = await connect();
      const c = client;
      if (leader) {
        // Still here? A failed ping means the session (and the lock) may be gone.
        await c.query('SELECT 1');
        return;
      }
      const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [o.lockKey]);
      if (!r.rows[0]?.ok || client !== c) return;
      if (stopped) {
        await c.query('SELECT pg_advisory_unlock($1::bigint)', [o.lockKey]).catch(() => undefined);
        return;
      }
      leader = true;
      log.info({ instanceId: o.instanceId, lockKey: o.lockKey }, 'this instance is now the scheduler leader');
      try {
        await o.onElected();
      } catch (err) {
        log.error({ err }, 'starting as leader failed');
      }
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'leader election: database not reachable; will retry');
      if (client) dropClient(client, 'query failed');
    }
  }

  function run(): Promise<void> {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      do {
        again = false;
        await attempt();
      } while (again && !stopped);
    })().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function arm(): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      void run().finally(arm);
    }, o.retryMs);
    timer.unref();
  }

  function poke(): void {
    if (stopped) return;
    void run();
  }

  return {
    async start() {
      stopped = false;
      await run();
      arm();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      if (inFlight) await Promise.race([inFlight, new Promise((r) => setTimeout(r, QUERY_TIMEOUT_MS).unref())]);
      const c = client;
      client = undefined;
      pid = undefined;
      if (c) {
        if (leader) {
          try {
            await c.query('SELECT pg_advisory_unlock($1::bigint)', [o.lockKey]);
            await c.query(`NOTIFY ${channel}`);
          } catch (err) {
            log.warn({ err: { message: (err as Error).message } }, 'could not release the leader lock cleanly (closing the session releases it)');
          }
        }
        await c.end().catch(() => undefined);
      }
      if (leader) {
        leader = false;
        log.info({ instanceId: o.instanceId }, 'scheduler leader stepped down (stopping)');
        await Promise.resolve(o.onDemoted('stopping')).catch(() => undefined);
      }
    },
    isLeader: () => leader,
    backendPid: () => pid,
  };
}
