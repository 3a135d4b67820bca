/**
 * One Postgres LISTEN connection per process, shared by every module that keeps something in
 * memory and must hear when another instance changes it. Each topic is a NOTIFY channel; a
 * subscriber gets the raw payloads of its channel, an `onResync` each time its LISTEN is
 * (re)established (messages sent meanwhile are lost, so it drops everything it holds) and an
 * `onDown` the moment the connection is lost (so it stops trusting what it holds until the
 * next `onResync`). A pooled connection would lose its LISTEN when the pool recycles it, hence
 * the dedicated one. Publishing goes through the ordinary pool (`send`): NOTIFY needs no
 * particular connection, and one inside a transaction is delivered at commit.
 *
 * The bus does not filter an instance's own messages: subscribers that care put a sender id
 * in their payload (predictions' cache does), and some use the echo on purpose (auth waits for
 * it, as proof that the message was broadcast, before a revocation answers).
 */
import pg from 'pg';
import type { Logger } from './log.js';

export interface TopicHandlers {
  /** a NOTIFY on this topic's channel, from any instance (this one included) */
  onMessage(payload: string): void;
  /** this topic's LISTEN is (re)established: drop everything, messages may have been missed */
  onResync(): void;
  /** the listening connection is lost: stop trusting cached state until the next onResync */
  onDown?(): void;
}

export interface Subscription {
  /** true while this topic's LISTEN is active on a live connection */
  readonly listening: boolean;
  /** NOTIFY this topic's channel through the pool; rejects when the database does */
  publish(payload: string): Promise<void>;
  unsubscribe(): void;
}

export interface NotifyBus {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** one subscriber per topic; a topic added after start() is LISTENed at once */
  subscribe(topic: string, handlers: TopicHandlers): Subscription;
  /** true while the listening connection is up */
  readonly listening: boolean;
  /** the listening connection's backend pid (tests terminate it to prove the fallback) */
  readonly backendPid: number | undefined;
}

export interface NotifyBusOptions {
  connectionString: string;
  log: Logger;
  /** sends NOTIFY channel, payload on an ordinary (pooled) connection */
  send(channel: string, payload: string): Promise<void>;
  retryMs?: number;
  applicationName?: string;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

interface Topic {
  handlers: TopicHandlers;
  /** LISTEN done on the current connection */
  active: boolean;
}

export function createNotifyBus(o: NotifyBusOptions): NotifyBus {
  const log = o.log.child({ component: 'notify-bus' });
  const retryMs = o.retryMs ?? 5000;
  const topics = new Map<string, Topic>();
  let client: pg.Client | undefined;
  let backendPid: number | undefined;
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let listening = false;

  function safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      log.error({ err }, `notify-bus subscriber failed in ${what}`);
    }
  }

  function down(): void {
    const was = listening;
    listening = false;
    backendPid = undefined;
    for (const t of topics.values()) {
      const active = t.active;
      t.active = false;
      if (was || active) safely('onDown', () => t.handlers.onDown?.());
    }
  }

  function schedule(): void {
    if (!started || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, retryMs);
    timer.unref();
  }

  async function listen(c: pg.Client, name: string, t: Topic): Promise<void> {
    await c.query(`LISTEN ${name}`);
    if (client !== c || topics.get(name) !== t) return;
    t.active = true;
    safely('onResync', () => t.handlers.onResync());
  }

  async function connect(): Promise<void> {
    if (!started) return;
    const c = new pg.Client({ connectionString: o.connectionString, application_name: o.applicationName ?? 'candlecast-notify-bus', keepAlive: true, connectionTimeoutMillis: 10_000 });
    const drop = (why: string, err?: unknown) => {
      if (client !== c) return;
      client = undefined;
      down();
      c.end().catch(() => undefined);
      if (started) {
        log.warn({ err, why }, 'LISTEN connection lost; cached state is bypassed until it is back');
        schedule();
      }
    };
    c.on('error', (err) => drop('error', err));
    c.on('end', () => drop('end'));
    c.on('notification', (n) => {
      const t = topics.get(n.channel);
      if (t?.active && n.payload !== undefined) safely('onMessage', () => t.handlers.onMessage(n.payload!));
    });
    try {
      await c.connect();
      client = c;
      const r = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      backendPid = r.rows[0]?.pid;
      listening = true;
      for (const [name, t] of topics) await listen(c, name, t);
      if (!started) {
        client = undefined;
        down();
        await c.end().catch(() => undefined);
      }
    } catch (err) {
      if (client === c) client = undefined;
      down();
      await c.end().catch(() => undefined);
      if (started) {
        log.warn({ err }, 'LISTEN connection failed; retrying');
        schedule();
      }
    }
  }

  return {
    async start() {
      if (started) return;
      started = true;
      await connect();
    },
    async stop() {
      started = false;
      clearTimeout(timer);
      timer = undefined;
      const c = client;
      client = undefined;
      down();
      if (c) await c.end().catch(() => undefined);
    },
    subscribe(name, handlers) {
      if (!CHANNEL.test(name)) throw new Error(`not a channel name: ${name}`);
      if (topics.has(name)) throw new Error(`topic ${name} already has a subscriber`);
      const t: Topic = { handlers, active: false };
      topics.set(name, t);
      const c = client;
      if (c && listening) {
        listen(c, name, t).catch((err: unknown) => {
          // the connection is failing; its 'error'/'end' reconnects and LISTENs again
          log.warn({ err, topic: name }, 'LISTEN failed');
        });
      }
      return {
        get listening() {
          return listening && t.active && topics.get(name) === t;
        },
        publish: (payload) => o.send(name, payload),
        unsubscribe() {
          if (topics.get(name) !== t) return;
          topics.delete(name);
          t.active = false;
          const c = client;
          if (c) c.query(`UNLISTEN ${name}`).catch(() => undefined);
        },
      };
    },
    get listening() {
      return listening;
    },
    get backendPid() {
      return backendPid;
    },
  };
}
