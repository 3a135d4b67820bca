/**
 * Operator commands contributed by the modules. Each module adds its commands here; they get
 * a lazily opened context (config, database, services) and close it when done.
 */
import type { Command } from 'commander';
import type { CliContext } from '../cli.js';

export type OpenContext = () => Promise<CliContext>;

export function registerCliCommands(program: Command, open: OpenContext): void {
  void program;
  void open;
}
