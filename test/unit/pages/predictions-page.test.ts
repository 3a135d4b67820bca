import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickPerTarget } from '../../../src/modules/pages/predictions.routes.js';
import { csvCell } from '../../../src/platform/csv.js';

test('CSV cells are quoted when needed and never start a spreadsheet formula', () => {
  assert.equal(csvCell(null), '');
  assert.equal(csvCell(26289.8), '26289.8');
  assert.equal(csvCell(-12.5), '-12.5');
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell('=HYPERLINK("x")'), '"\'=HYPERLINK(""x"")"');
  assert.equal(csvCell('+cmd'), "'+cmd");
  assert.equal(csvCell('2024-01-01T00:00:00.000Z'), '2024-01-01T00:00:00.000Z');
});

test('one prediction per target candle: the model rather than the naive baseline, the newest if re-made', () => {
  const p = (target: string, naive: boolean, madeAt: string, value: number) => ({ target_time: target, is_naive: naive, made_at: madeAt, prediction_value: value }) as never;
  const out = pickPerTarget([
    p('2024-01-02', true, '2024-01-01T01', 1),
    p('2024-01-02', false, '2024-01-01T01', 2),
    p('2024-01-01', true, '2023-12-31T01', 3),
    p('2024-01-03', false, '2024-01-02T01', 4),
    p('2024-01-03', false, '2024-01-02T05', 5),
  ]) as unknown as { target_time: string; prediction_value: number }[];
  assert.deepEqual(out.map((x) => [x.target_time, x.prediction_value]), [['2024-01-01', 3], ['2024-01-02', 2], ['2024-01-03', 5]]);
});
