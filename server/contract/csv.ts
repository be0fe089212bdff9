/**
 * CSV, the one declaration of every file of columns the project writes or reads: the
 * column names of each export (the review API's holds, warnings and samples, the
 * dashboard's sessions and weekly trends) and of a force trace (`t_ms,force_n`, what
 * `npm run analyze` and `replay:FILE.csv` read).
 *
 * Cells are safe to open in a spreadsheet: RFC 4180 quoting, and text that a
 * spreadsheet would run as a formula (a label starting with `=`, `+`, `-`, `@`, a tab or
 * a carriage return, e.g. `=HYPERLINK(...)` typed as a knot name) is prefixed with `'`
 * so it stays text (the OWASP advice against CSV injection). Numbers are written as
 * numbers; forces in a unit are rounded to the millinewton they were recorded to
 * (`forceCell`). Pure, so the dashboard exports its tables with the same code.
 *
 * Pipeline position: the wire contract of REST API exports, the dashboard's table
 * downloads and trace files.
 */

import { unitsPerNewton, type ForceUnit } from '../../calibration/units.ts';
import { roundDecimals } from '../engine/report.ts';

export type CsvValue = string | number | boolean | null;

/** A force trace: device time in ms, force in N, one sample a line (also the samples export). */
export const TRACE_CSV_COLUMNS = ['t_ms', 'force_n'] as const;
export const TRACE_CSV_HEADER = TRACE_CSV_COLUMNS.join(',');
/** An optional third column of a trace: 1 on the sample where the person signalled pain (a PPT mark), else 0 or empty. */
export const TRACE_MARK_COLUMN = 'mark';
export const MARKED_TRACE_CSV_HEADER = `${TRACE_CSV_HEADER},${TRACE_MARK_COLUMN}`;

/** `GET /api/sessions/:id/export.csv?table=holds`; `unitColumn` is `unitColumnSuffix(unit)` (`n`, `kgf`, ...). */
export function holdsCsvColumns(unitColumn: string): string[] {
  return ['hold', 'start_ms', 'end_ms', 'duration_ms', 'target_hold_ms', 'reached_target', `mean_${unitColumn}`, `peak_${unitColumn}`, 'time_in_band_ms', 'time_over_ms', 'body_area', 'knot'];
}

/** `GET /api/sessions/:id/export.csv?table=warnings`. */
export function warningsCsvColumns(unitColumn: string): string[] {
  return ['warning', 'start_ms', 'alert_ms', 'end_ms', `peak_${unitColumn}`];
}

/** The History page's export of the sessions listed. */
export const SESSIONS_CSV_COLUMNS = ['session', 'started', 'device', 'device_name', 'transport', 'preset', 'duration_ms', 'holds', 'total_hold_ms', 'warnings', 'body_areas', 'knots', 'labels', 'status', 'notes'] as const;

/** The Trends page's export of the weekly figures. */
export function trendsCsvColumns(unitColumn: string): string[] {
  return ['body_area', 'knot', 'week_start', 'holds', 'median_duration_ms', 'longest_duration_ms', `median_peak_${unitColumn}`, `highest_peak_${unitColumn}`];
}

/** `GET /api/ppt/export.csv`: one line a PPT trial, with its measurement's columns (docs/ppt.md). */
export const PPT_CSV_COLUMNS = [
  'measurement',
  'created',
  'device',
  'body_area',
  'knot',
  'phase',
  'session',
  'rate_target_kpa_s',
  'area_cm2',
  'trial',
  'start_ms',
  'onset_ms',
  'onset',
  'ppt_n',
  'ppt_kpa',
  'rate_n_s',
  'rate_kpa_s',
  'valid',
  'reason',
  'mean_ppt_n',
  'mean_ppt_kpa',
  'sd_n',
  'cv',
] as const;

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
