/**
 * One CSV cell writer for every CSV the app sends (candle exports, the predictions download).
 *
 * Formula injection: a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and some
 * also after a leading tab or carriage return) as a formula, so a text such as an anomaly reason
 * or an algorithm name could become `=HYPERLINK(...)` in the reader's spreadsheet. Such a text
 * cell gets a leading `'` (OWASP's advice). A cell that is a plain number (`-12.5`, `1e-7`) is
 * left alone so numeric columns stay numbers: a number cannot carry a formula.
 */
const PLAIN_NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  const safe = FORMULA_START.test(s) && !PLAIN_NUMBER.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvLine(cells: readonly unknown[]): string {
  return cells.map(csvCell).join(',');
}
