/**
 * Alerts operator commands. `rotate-keys` re-seals the secrets alerts store (webhook signing
 * secrets, the SMTP URL) with the newest ENCRYPTION_KEY, after a new key was put first in the
 * list (docs/ops/encryption.md). It is safe to run again, and while the server runs.
 */
import type { Command } from 'commander';
import type { OpenContext } from './commands.js';

export function registerAlertsCommands(program: Command, open: OpenContext): void {
  program
    .command('rotate-keys')
    .description('re-encrypt stored secrets (webhook secrets, SMTP settings) with the newest ENCRYPTION_KEY; run after prepending a new key')
    .action(async () => {
      const ctx = await open();
      try {
        const r = await ctx.app.services.alerts.rotateKeys();
        const w = r.webhookSecrets;
        console.log(`newest key: ${r.keyId}`);
        console.log(`webhook secrets: ${w.total} stored, ${w.resealed} re-encrypted, ${w.current} already on the newest key${w.unreadable.length ? `, ${w.unreadable.length} unreadable (endpoints ${w.unreadable.join(', ')})` : ''}`);
        console.log(`SMTP settings: ${r.smtp === 'none' ? 'none stored' : r.smtp === 'resealed' ? 're-encrypted' : r.smtp === 'current' ? 'already on the newest key' : 'unreadable'}`);
        if (w.unreadable.length || r.smtp === 'unreadable') {
          throw new Error('some secrets open with none of the configured keys: put the key they were sealed with back into ENCRYPTION_KEY (after the newest) and run again');
        }
        if (w.total > 0 || r.smtp !== 'none') {
          console.log('every stored secret is on the newest key: older keys can now be removed from ENCRYPTION_KEY');
        }
      } finally {
        await ctx.close();
      }
    });
}
