/**
 * Prisma's schema engine as WebAssembly, driven through the `pg` driver adapter, so that
 * migration SQL can be generated on machines without the native engine binary
 * (docs/decisions/002-migrations-without-native-engine.md).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  ColumnTypeEnum,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type SqlQueryable,
  type SqlResultSet,
  type Transaction,
} from '@prisma/driver-adapter-utils';
import type { DiffParams, DiffResult, SchemaEngine } from '@prisma/schema-engine-wasm/schema_engine_bg';

export type { DiffParams, DiffResult, SchemaEngine };

const require = createRequire(import.meta.url);

/** Prisma's wasm code reports panics through this global; without it a panic reads as "reading 'set_message'". */
class PanicRegistry {
  private message = '';
  get(): string {
    return this.message;
  }
  set_message(value: string): void {
    this.message = `RuntimeError: ${value}`;
  }
}

interface EngineModule {
  SchemaEngine: typeof SchemaEngine;
  version(): string;
}

let loaded: Promise<EngineModule> | undefined;

/** The slice of the WebAssembly global used here; the project's `lib` has no DOM typings for it. */
interface WasmApi {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, Record<string, unknown>>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: WasmApi };

/**
 * The package's entry point imports its .wasm the bundler way, which Node 20 cannot load, so
 * the module is instantiated by hand with the package's own glue code as its import object.
 */
export function loadSchemaEngineModule(): Promise<EngineModule> {
  loaded ??= (async () => {
    (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: PanicRegistry }).PRISMA_WASM_PANIC_REGISTRY ??= new PanicRegistry();
    // The package exports no ./package.json; its glue file sits next to the .wasm.
    const pkgDir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
    const glue = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as typeof import('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(path.join(pkgDir, 'schema_engine_bg.wasm'));
    const { instance } = await wasmApi.instantiate(bytes, { './schema_engine_bg.js': glue as unknown as Record<string, unknown> });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return { SchemaEngine: glue.SchemaEngine, version: glue.version };
  })();
  return loaded;
}

// ---------------------------------------------------------------------------------------
// adapter-pg cannot decode Postgres's internal one-byte type "char" (oid 18), which the
// engine reads from the catalogs (pg_class.relkind, pg_constraint.contype, ...): it throws
// "Unsupported column type". Such columns are handed over as text by a pg.Client subclass
// and then labelled Character, the type the engine expects for them.

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;
const charColumnsByRows = new WeakMap<unknown[], number[]>();

function relabelCharFields<R extends pg.QueryResult>(res: R): R {
  if (!res || !Array.isArray(res.fields)) return res;
  const idx: number[] = [];
  res.fields.forEach((f, i) => {
    if (f.dataTypeID === PG_CHAR_OID) {
      f.dataTypeID = PG_TEXT_OID;
      idx.push(i);
    }
  });
  if (idx.length) charColumnsByRows.set(res.rows, idx);
  return res;
}

class CharAwareClient extends pg.Client {
  // One signature for all of pg's overloads: promise and callback forms both pass through.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      const cb = last as (err: Error | null, res?: pg.QueryResult) => void;
      args[args.length - 1] = (err: Error | null, res?: pg.QueryResult) => cb(err, err || !res ? res : relabelCharFields(res));
    }
    const out = (pg.Client.prototype.query as (...a: unknown[]) => unknown).apply(this, args);
    if (out && typeof (out as Promise<unknown>).then === 'function') return (out as Promise<pg.QueryResult>).then(relabelCharFields);
    return out;
  }
}

function withCharColumns(rs: SqlResultSet): SqlResultSet {
  const idx = charColumnsByRows.get(rs.rows);
  if (!idx) return rs;
  const columnTypes = [...rs.columnTypes];
  for (const i of idx) columnTypes[i] = ColumnTypeEnum.Character;
  return { ...rs, columnTypes };
}

function wrapQueryable(q: SqlQueryable): SqlQueryable {
  return {
    provider: q.provider,
    adapterName: q.adapterName,
    queryRaw: async (query: SqlQuery) => withCharColumns(await q.queryRaw(query)),
    executeRaw: (query: SqlQuery) => q.executeRaw(query),
  };
}

function wrapTransaction(tx: Transaction): Transaction {
  return {
    ...wrapQueryable(tx),
    options: tx.options,
    commit: () => tx.commit(),
    rollback: () => tx.rollback(),
    ...(tx.createSavepoint && { createSavepoint: (name: string) => tx.createSavepoint!(name) }),
    ...(tx.rollbackToSavepoint && { rollbackToSavepoint: (name: string) => tx.rollbackToSavepoint!(name) }),
    ...(tx.releaseSavepoint && { releaseSavepoint: (name: string) => tx.releaseSavepoint!(name) }),
  };
}

function wrapAdapter(a: SqlDriverAdapter): SqlDriverAdapter {
  return {
    ...wrapQueryable(a),
    executeScript: (script: string) => a.executeScript(script),
    startTransaction: async (isolationLevel) => wrapTransaction(await a.startTransaction(isolationLevel)),
    ...(a.getConnectionInfo && { getConnectionInfo: () => a.getConnectionInfo!() }),
    dispose: () => a.dispose(),
  };
}

export interface CatalogReadyFactory extends SqlMigrationAwareDriverAdapterFactory {
  /** Disposes every connection handed out; the engine's free() does not. */
  close(): Promise<void>;
}

/** A PrismaPg adapter factory whose connections can read the catalogs the engine queries. */
export function catalogReadyPgFactory(connectionString: string): CatalogReadyFactory {
  const inner = new PrismaPg({ connectionString, Client: CharAwareClient, max: 2 });
  const open = new Set<SqlDriverAdapter>();
  const track = (a: SqlDriverAdapter): SqlDriverAdapter => {
    const wrapped = wrapAdapter(a);
    const dispose = wrapped.dispose;
    open.add(a);
    return {
      ...wrapped,
      dispose: async () => {
        if (!open.delete(a)) return;
        await dispose();
      },
    };
  };
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: async () => track(await inner.connect()),
    connectToShadowDb: async () => track(await inner.connectToShadowDb()),
    async close() {
      const all = [...open];
      open.clear();
      await Promise.allSettled(all.map((a) => a.dispose()));
    },
  };
}

export interface SchemaEngineHandle {
  engine: SchemaEngine;
  /**
   * Frees the engine and closes its connections. Until then they stay open, and one of them
   * may hold Prisma's migration advisory lock (the engine's applyMigrations takes it).
   */
  close(): Promise<void>;
}

/**
 * A schema engine connected to the database at `connectionString`. `onLog` receives the
 * engine's JSON log lines (it logs at debug level and above).
 */
export async function createSchemaEngine(
  connectionString: string,
  opts: { schemaPath?: string; schema?: string; onLog?: (line: string) => void } = {},
): Promise<SchemaEngineHandle> {
  const mod = await loadSchemaEngineModule();
  const factory = catalogReadyPgFactory(connectionString);
  const adapter = bindMigrationAwareSqlAdapterFactory(factory);
  const datamodels: [string, string][] | undefined =
    opts.schemaPath && opts.schema !== undefined ? [[opts.schemaPath, opts.schema]] : undefined;
  let engine: SchemaEngine;
  try {
    engine = await mod.SchemaEngine.new({ datamodels }, (line: string) => opts.onLog?.(line), adapter);
  } catch (err) {
    await factory.close();
    throw err;
  }
  let closed = false;
  return {
    engine,
    async close() {
      if (closed) return;
      closed = true;
      engine.free();
      await factory.close();
    },
  };
}

/** Panics inside the engine surface as a bare RuntimeError; add what the registry caught. */
export function engineErrorMessage(err: unknown): string {
  const registry = (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: PanicRegistry }).PRISMA_WASM_PANIC_REGISTRY;
  const base = err instanceof Error ? err.message : typeof err === 'object' ? JSON.stringify(err) : String(err);
  const panic = registry?.get();
  return panic && !base.includes(panic) ? `${base} (${panic})` : base;
}
