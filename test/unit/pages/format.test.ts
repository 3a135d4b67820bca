import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatCompact,
  formatDate,
  formatDateTime,
  formatDuration,
  formatInterval,
  formatNumber,
  formatPercent,
  formatPrice,
  formatRelative,
  formatters,
  toLocalInput,
  validTimeZone,
} from '../../../src/modules/pages/format.js';

const at = new Date('2026-01-15T18:40:05Z');

test('times name their zone', () => {
  assert.equal(formatDateTime(at, 'UTC'), '15 Jan 2026, 18:40 UTC');
  assert.equal(formatDateTime(at, 'Europe/Paris'), '15 Jan 2026, 19:40 CET');
  assert.equal(formatDateTime(at, 'UTC', true), '15 Jan 2026, 18:40:05 UTC');
  assert.equal(formatDate('2026-01-15T23:30:00Z', 'Asia/Tokyo'), '16 Jan 2026');
  assert.equal(formatDateTime(null), '–');
  assert.equal(formatDateTime('not a date'), '–');
});

test('an unknown zone falls back to UTC instead of throwing', () => {
  assert.equal(validTimeZone('Mars/Olympus'), undefined);
  assert.equal(validTimeZone('Europe/Paris'), 'Europe/Paris');
  const f = formatters('Mars/Olympus', at);
  assert.equal(f.timeZone, 'UTC');
  assert.match(f.dateTime(at), /UTC$/);
});

test('numbers, prices and percents for people', () => {
  assert.equal(formatNumber(12345.678), '12,345.68');
  assert.equal(formatNumber(Number.NaN), '–');
  assert.equal(formatPrice(64123.456), '64,123.46');
  assert.equal(formatPrice(2.5), '2.50');
  assert.equal(formatPrice(0.000123456), '0.00012346');
  assert.equal(formatPrice(0.5, 3), '0.50');
  assert.equal(formatPercent(0.0123), '1.23 %');
  assert.equal(formatPercent(0.0123, 1, true), '+1.2 %');
  assert.equal(formatPercent(-0.05, 1, true), '-5.0 %');
  assert.equal(formatPercent(0, 2, true), '0.00 %');
  assert.equal(formatCompact(1_234_567), '1.2M');
});

test('durations and intervals', () => {
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(42_000), '42 s');
  assert.equal(formatDuration(65_000), '1 min 5 s');
  assert.equal(formatDuration(3_900_000), '1 h 5 min');
  assert.equal(formatDuration(3 * 86_400_000), '3 d');
  assert.equal(formatInterval(60), '1 h');
  assert.equal(formatInterval(1440), '1 day');
  assert.equal(formatInterval(15), '15 min');
  assert.equal(formatInterval(10080), '1 week');
});

test('relative times and form input values', () => {
  assert.equal(formatRelative(new Date(at.getTime() - 10_000), at), 'just now');
  assert.equal(formatRelative(new Date(at.getTime() - 5 * 60_000), at), '5 minutes ago');
  assert.equal(formatRelative(new Date(at.getTime() + 3 * 3_600_000), at), 'in 3 hours');
  assert.equal(toLocalInput(at, 'Europe/Paris'), '2026-01-15T19:40');
  assert.equal(toLocalInput(at, 'UTC', true), '2026-01-15');
});
