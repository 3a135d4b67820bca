/**
 * The one place that wires the capability modules together (Ghost-style `deps` objects, no
 * container). Order matters: a module may use only those built before it.
 */
import type { AppDeps, ModuleWiring } from './app.js';
import type { Metrics } from './modules/monitoring/index.js';
import type { EventBus } from './platform/events.js';

export interface ModuleDeps extends AppDeps {
  metrics: Metrics;
  /** project root, for views, public files and bundled data */
  root: string;
  events: EventBus;
}

/** The services other entry points (CLI, benchmarks) may call. Filled in as modules are built. */
export interface Services {
  [name: string]: unknown;
}

export async function buildModules(deps: ModuleDeps): Promise<{ modules: ModuleWiring[]; services: Services }> {
  void deps;
  const modules: ModuleWiring[] = [];
  const services: Services = {};
  return { modules, services };
}
