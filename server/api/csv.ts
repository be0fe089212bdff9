/**
 * CSV for exports, safe to open in a spreadsheet: RFC 4180 quoting, and text that a
 * spreadsheet would run as a formula (a label starting with `=`, `+`, `-`, `@`, a tab or
 * a carriage return, e.g. `=HYPERLINK(...)` typed as a knot name) is prefixed with `'`
 * so it stays text (the OWASP advice against CSV injection). Numbers are written as
 * numbers. Pure, so the dashboard exports its tables with the same code.
 *
 * Pipeline position: REST API exports and the dashboard's table downloads.
 */

export type CsvValue = string | number | boolean | null;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: CsvValue): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line (with its `\r\n`). */
export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/** A whole table: a header line, then one line a row. */
export function csvTable(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return csvLine(header) + rows.map(csvLine).join('');
}
