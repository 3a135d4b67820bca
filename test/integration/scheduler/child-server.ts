/**
 * A real candlecast process for crash tests: boots exactly like src/server.ts, then defines a
 * test job through the scheduler service. `test-block` reports progress and then runs until
 * it is cancelled or the process dies; if TEST_BLOCK_SCHEDULE is set it is also scheduled.
 */
import { boot } from '../../../src/boot.js';
import type { SchedulerService } from '../../../src/modules/scheduler/index.js';

const running = await boot();
const scheduler = running.app.services.scheduler as SchedulerService;
scheduler.define({
  name: 'test-block',
  description: 'blocks until cancelled or killed',
  schedule: process.env.TEST_BLOCK_SCHEDULE,
  async run(ctx) {
    await ctx.progress(0.25, 'blocking');
    ctx.log.info('test-block is blocking');
    await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }));
  },
});
running.log.info({ url: running.url }, 'candlecast is ready');
process.stderr.write(`\ncandlecast is ready: open ${running.url}\n`);
const stop = () => void running.shutdown('signal').then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
