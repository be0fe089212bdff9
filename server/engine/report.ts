/**
 * The engine's results as people and programs read them: JSON rounded to what the data can
 * say (times to the microsecond, forces to the millinewton; the engine itself keeps full
 * precision) and a plain-text table. Used by `npm run analyze`.
 *
 * Pipeline position: after the engine, at the edge (stdout of the CLI).
 */
import type { EngineResults, HoldResult, WarningResult } from './results.ts';

/** Rounds to `decimals` decimals (0 to 15), without a negative zero. */
export function roundDecimals(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  const rounded = Math.round(value * scale) / scale;
  return rounded === 0 ? 0 : rounded;
}

/** Times to the microsecond, forces to the millinewton. */
function round3(value: number): number {
  return roundDecimals(value, 3);
}

function roundHold(hold: HoldResult): HoldResult {
  return {
    startMs: round3(hold.startMs),
    endMs: round3(hold.endMs),
    durationMs: round3(hold.durationMs),
    meanN: round3(hold.meanN),
    peakN: round3(hold.peakN),
    timeInBandMs: round3(hold.timeInBandMs),
    timeOverMs: round3(hold.timeOverMs),
  };
}

function roundWarning(warning: WarningResult): WarningResult {
  return {
    startMs: round3(warning.startMs),
    alertMs: round3(warning.alertMs),
    endMs: warning.endMs === null ? null : round3(warning.endMs),
    peakN: round3(warning.peakN),
  };
}

/** `{"holds": [...], "warnings": [...]}` with every number rounded to 3 decimals. */
export function roundResults(results: EngineResults): EngineResults {
  return { holds: results.holds.map(roundHold), warnings: results.warnings.map(roundWarning) };
}

/** Right-aligned columns under a header row, two spaces apart. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => `  ${cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  ')}`;
  return [line(header), ...rows.map(line)];
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);
const newtons = (forceN: number): string => forceN.toFixed(2);

/** A readable report: one table of holds, one of warnings, times in seconds. */
export function formatResultsTable(results: EngineResults): string {
  const lines: string[] = [];
  lines.push(`Holds: ${results.holds.length}`);
  if (results.holds.length > 0) {
    lines.push(
      ...table(
        ['#', 'start s', 'end s', 'duration s', 'mean N', 'peak N', 'in band s', 'over s'],
        results.holds.map((hold, index) => [
          String(index + 1),
          seconds(hold.startMs),
          seconds(hold.endMs),
          seconds(hold.durationMs),
          newtons(hold.meanN),
          newtons(hold.peakN),
          seconds(hold.timeInBandMs),
          seconds(hold.timeOverMs),
        ]),
      ),
    );
  }
  lines.push('', `Over-pressure warnings: ${results.warnings.length}`);
  if (results.warnings.length > 0) {
    lines.push(
      ...table(
        ['#', 'start s', 'alert s', 'end s', 'peak N'],
        results.warnings.map((warning, index) => [
          String(index + 1),
          seconds(warning.startMs),
          seconds(warning.alertMs),
          warning.endMs === null ? 'open' : seconds(warning.endMs),
          newtons(warning.peakN),
        ]),
      ),
    );
    if (results.warnings.some((warning) => warning.endMs === null)) lines.push('  (open: still not cleared when the data ended)');
  }
  return lines.join('\n');
}
