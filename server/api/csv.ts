/**
 * CSV for exports, safe to open in a spreadsheet: RFC 4180 quoting, and text that a
 * spreadsheet would run as a formula (a label starting with `=`, `+`, `-`, `@`, a tab or
 * a carriage return, e.g. `=HYPERLINK(...)` typed as a knot name) is prefixed with `'`
 * so it stays text (the OWASP advice against CSV injection). Numbers are written as
 * numbers; forces in a unit are rounded to the millinewton they were recorded to
 * (`forceCell`). Pure, so the dashboard exports its tables with the same code.
 *
 * Pipeline position: REST API exports and the dashboard's table downloads.
 */

import { unitsPerNewton, type ForceUnit } from '../../calibration/units.ts';
import { roundDecimals } from '../engine/report.ts';

export type CsvValue = string | number | boolean | null;

/** Recordings keep forces to the millinewton (the engine's results as `analyze` rounds them). */
const RECORDED_FORCE_STEP_N = 0.001;

/**
 * Decimals that keep that millinewton in `unit` (N 3, kgf and lbf 4, kPa 3, kgf/cm² 5 on
 * a 1.5 cm² tip): nothing recorded is lost, and no float noise (4.587155963302752) is added.
 */
export function forceDecimals(unit: ForceUnit, areaCm2: number): number {
  return Math.ceil(-Math.log10(RECORDED_FORCE_STEP_N * unitsPerNewton(unit, areaCm2)) - 1e-9);
}

/** A force (N) for a CSV cell in `unit` (a pressure over `areaCm2`), rounded by `forceDecimals`. */
export function forceCell(forceN: number, unit: ForceUnit, areaCm2: number): number {
  return roundDecimals(forceN * unitsPerNewton(unit, areaCm2), forceDecimals(unit, areaCm2));
}

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
