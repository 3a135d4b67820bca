/** The cron adapter: validation messages, next-run arithmetic across time zones, ticks by slot. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../src/platform/log.js';
import { ManualCron, createNodeCron } from '../../../src/modules/scheduler/index.js';

const log = createLogger({ level: 'silent' });
const cron = createNodeCron(log);

test('validate accepts 5- and 6-field expressions and explains what is wrong with the rest', () => {
  assert.equal(cron.validate('*/5 * * * *'), undefined);
  assert.equal(cron.validate('0 2 * * *'), undefined);
  assert.equal(cron.validate('*/10 * * * * *'), undefined, 'seconds-level');
  assert.equal(cron.validate('0 0 1 * MON'), undefined);
  const bad = cron.validate('61 * * * *');
  assert.ok(bad && /minute/i.test(bad), `names the field: ${bad}`);
  assert.ok(cron.validate('not a cron'));
});

test('nextRuns: daily at 02:00 in UTC and in another time zone', () => {
  const [n1, n2] = cron.nextRuns('0 2 * * *', 'UTC', 2);
  assert.ok(n1 && n2);
  assert.equal(n1.getUTCHours(), 2);
  assert.equal(n1.getUTCMinutes(), 0);
  assert.equal(n1.getUTCSeconds(), 0);
  assert.ok(n1.getTime() > Date.now() && n1.getTime() <= Date.now() + 86_400_000);
  assert.equal(n2.getTime() - n1.getTime(), 86_400_000);

  const [tokyo] = cron.nextRuns('0 2 * * *', 'Asia/Tokyo', 1);
  assert.ok(tokyo);
  // 02:00 in Tokyo (UTC+9, no DST) is 17:00 UTC the day before.
  assert.equal(tokyo.getUTCHours(), 17);
});

test('nextRuns: every 5 minutes lands on a multiple of 5 within 5 minutes', () => {
  const [n] = cron.nextRuns('*/5 * * * *', 'UTC', 1);
  assert.ok(n);
  assert.equal(n.getUTCMinutes() % 5, 0);
  assert.ok(n.getTime() - Date.now() <= 5 * 60_000);
});

test('ManualCron: ticks fire only when the test says, with the slot it gives', async () => {
  const manual = new ManualCron(log);
  const seen: Date[] = [];
  const task = manual.schedule({ name: 'job:x', expression: '0 * * * *', timezone: 'UTC' }, async (slot) => void seen.push(slot));
  assert.deepEqual(manual.scheduled(), ['job:x']);
  assert.ok(task.nextRun());
  const slot = new Date('2030-01-01T05:00:00Z');
  assert.equal(await manual.fire('job:x', slot), true);
  assert.deepEqual(seen, [slot]);
  await task.stop();
  assert.equal(task.nextRun(), null);
  assert.equal(await manual.fire('job:x', slot), false, 'a stopped task does not fire');
});

test('node-cron: a seconds-level task ticks with whole-second slots, and stops', async () => {
  const slots: Date[] = [];
  const task = cron.schedule({ name: 'job:tick', expression: '* * * * * *', timezone: 'UTC' }, async (slot) => void slots.push(slot));
  const next = task.nextRun();
  assert.ok(next && next.getTime() - Date.now() <= 1000);
  const deadline = Date.now() + 4000;
  while (slots.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await task.stop();
  assert.ok(slots.length >= 2, `ticked ${slots.length} times`);
  for (const s of slots) assert.equal(s.getTime() % 1000, 0, 'slot is a whole second');
  assert.equal(slots[1]!.getTime() - slots[0]!.getTime(), 1000);
  const count = slots.length;
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(slots.length, count, 'no tick after stop');
  assert.equal(task.nextRun(), null);
});
