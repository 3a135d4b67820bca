/**
 * Operator commands contributed by the modules. Each module adds its commands here; they get
 * a lazily opened context (config, database, services) and close it when done.
 */
import type { Command } from 'commander';
import type { CliContext } from '../cli.js';
import { passwordProblem } from '../modules/auth/index.js';
import { promptSecret, readStdinSecret } from './prompt.js';
import { registerAlertsCommands } from './alerts.commands.js';
import { registerMarketCommands } from './market.commands.js';
import { registerBackupCommands } from './backup.commands.js';

export type OpenContext = () => Promise<CliContext>;

export function registerCliCommands(program: Command, open: OpenContext): void {
  program
    .command('create-admin')
    .description('create an administrator; the password is prompted for (no echo) or read with --password-stdin, never taken as an argument')
    .option('-u, --username <name>', 'the administrator\'s username', 'admin')
    .option('-e, --email <address>', 'e-mail address (default <username>@candlecast.invalid)')
    .option('--password-stdin', 'read the password from standard input (for scripts)')
    .option('--update', 'if the user exists: set this password and make them an administrator (ends their sessions)')
    .action(async (opts: { username: string; email?: string; passwordStdin?: boolean; update?: boolean }) => {
      let password: string;
      if (opts.passwordStdin) password = await readStdinSecret();
      else {
        password = await promptSecret(`Password for ${opts.username}: `);
        const again = await promptSecret('Repeat the password: ');
        if (again !== password) throw new Error('the two passwords differ');
      }
      // Checked before the database opens, so a weak password fails fast.
      const problem = passwordProblem(password, { username: opts.username, email: opts.email });
      if (problem) throw new Error(problem);
      const ctx = await open();
      try {
        const r = await ctx.app.services.auth.createAdmin({ username: opts.username, email: opts.email, password, update: opts.update });
        console.log(r.created ? `created administrator ${r.user.username} (${r.user.email})` : `${r.user.username} is now an administrator with the new password`);
      } finally {
        await ctx.close();
      }
    });
  registerMarketCommands(program, open);
  registerAlertsCommands(program, open);
  registerBackupCommands(program);
}
