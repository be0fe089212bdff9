/**
 * Calibrations for people, in a terminal: what a fit is in one line, its points and
 * residuals as a table, its curve and points as a plot in plain text, and a profile's
 * history. `npm run calibrate` prints these; the dashboard draws its own.
 */
import type { SensorKind } from '../device/transport.ts';
import { describeError, type FitResult } from './fit.ts';
import type { FitModel } from './model.ts';
import { forceFromRaw, SENSOR_RAW_RANGE } from './model.ts';
import type { ProfileEntry, ProfileFile } from './profile.ts';

const MODEL_WORDS: Record<FitModel['model'], string> = {
  linear: 'linear',
  power: 'power law on conductance',
  'monotone-cubic': 'monotone cubic through the points',
};

/** e.g. `F = 2.336e-5 N per count x (raw - tare) + 0.0012 N`. */
export function describeModel(sensor: SensorKind, fit: FitModel): string {
  const x = sensor === 'fsr' ? 'g, the FSR conductance above the tare (g = raw / (1023 - raw))' : '(raw - tare) counts';
  switch (fit.model) {
    case 'linear':
      return `F = ${fit.slopeNPerX.toPrecision(5)} N x ${x} ${fit.interceptN < 0 ? '-' : '+'} ${Math.abs(fit.interceptN).toPrecision(3)} N (${(1 / fit.slopeNPerX).toPrecision(6)} counts per N)`;
    case 'power':
      return `F = ${fit.coefficientN.toPrecision(5)} N x g^${fit.exponent.toPrecision(4)}, with ${x}`;
    case 'monotone-cubic':
      return `monotone cubic (Fritsch-Carlson) through 0 N at the tare and ${fit.knots.length - 1} points, in ${x}; straight on past the last point`;
  }
}

/** Why this model: the leave-one-out errors of every model tried. */
export function describeChoice(result: Pick<FitResult, 'sensor' | 'candidates'>): string {
  const unit = (looRms: number): string => (result.sensor === 'fsr' ? `${(looRms * 100).toFixed(2)} %` : `${looRms.toPrecision(3)} N`);
  const chosen = result.candidates.find((candidate) => candidate.chosen);
  if (chosen === undefined) return '';
  const others = result.candidates.filter((candidate) => !candidate.chosen);
  if (chosen.looRms === null) return `${MODEL_WORDS[chosen.model]}${others.length > 0 ? ' (too few points to compare models by leaving one out)' : ''}`;
  const against = others.map((other) => `${MODEL_WORDS[other.model]} ${other.looRms === null ? 'n/a' : unit(other.looRms)}`).join(', ');
  return `${MODEL_WORDS[chosen.model]}: leave-one-out RMS error ${unit(chosen.looRms)}${against === '' ? '' : ` (against ${against})`}`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

function signed(value: number, digits: number): string {
  const magnitude = Math.abs(value).toFixed(digits);
  // A residual that rounds to nothing has no sign worth showing.
  if (Number(magnitude) === 0) return magnitude;
  return `${value > 0 ? '+' : '-'}${magnitude}`;
}

/** One row per point: raw counts, the load, what the fit says, the residual, and the left-out error. */
export function residualTable(result: Pick<FitResult, 'points'>): string {
  const header = ['#', 'raw', 'load N', 'fit N', 'residual N', 'left out N'];
  const rows = result.points.map((point, index) => [
    String(index + 1),
    point.raw.toFixed(1),
    `${point.forceN.toFixed(3)}${point.kind === 'zero' ? ' (tare)' : ''}`,
    (point.forceN + point.residualN).toFixed(3),
    signed(point.residualN, 3),
    point.looErrorN === null ? '-' : signed(point.looErrorN, 3),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  return [header, ...rows].map((row) => row.map((cell, column) => pad(cell, widths[column] ?? 0)).join('  ')).join('\n');
}

/** The figures of a fit in a few lines. */
export function fitSummary(result: Pick<FitResult, 'sensor' | 'fit' | 'stats' | 'candidates' | 'tareRaw' | 'points'>): string {
  const { stats } = result;
  return [
    `model     ${describeChoice(result)}`,
    `curve     ${describeModel(result.sensor, result.fit)}`,
    `tare      ${result.tareRaw.toFixed(1)} counts`,
    `R²        ${stats.r2 === null ? 'n/a' : stats.r2.toFixed(6)}, largest residual ${stats.maxErrorN.toFixed(3)} N over ${result.points.length} points`,
    `error     ${describeError(stats.error)} from ${stats.rangeN[0].toFixed(2)} to ${stats.rangeN[1].toFixed(2)} N${stats.error === null ? ' (too few points to tell: add loads for an error bar)' : ` (${stats.error.basis})`}`,
  ].join('\n');
}

/**
 * The curve (`.`) and the points (`o`) in text, raw counts across, newtons up, from the
 * tare to a little past the heaviest point.
 */
export function textPlot(result: Pick<FitResult, 'sensor' | 'fit' | 'tareRaw' | 'points'>, width = 60, height = 15): string {
  const raws = [result.tareRaw, ...result.points.map((point) => point.raw)];
  const range = SENSOR_RAW_RANGE[result.sensor];
  const lowRaw = Math.min(...raws);
  const highRaw = Math.min(Math.max(...raws) + 0.08 * (Math.max(...raws) - lowRaw), range.max);
  const forceAt = (raw: number): number => forceFromRaw(result.sensor, result.fit, result.tareRaw, raw);
  const maxN = Math.max(...result.points.map((point) => point.forceN), forceAt(highRaw)) * 1.05 || 1;
  const grid = Array.from({ length: height }, () => Array.from({ length: width }, () => ' '));
  const column = (raw: number): number => Math.round(((raw - lowRaw) / (highRaw - lowRaw || 1)) * (width - 1));
  const row = (forceN: number): number => height - 1 - Math.round((Math.min(Math.max(forceN, 0), maxN) / maxN) * (height - 1));
  for (let x = 0; x < width; x++) {
    const raw = lowRaw + ((highRaw - lowRaw) * x) / (width - 1);
    const line = grid[row(forceAt(raw))];
    if (line !== undefined) line[x] = '.';
  }
  for (const point of result.points) {
    const line = grid[row(point.forceN)];
    if (line !== undefined) line[column(point.raw)] = 'o';
  }
  const label = (forceN: number): string => pad(forceN.toFixed(1), 7);
  const lines = grid.map((cells, index) => `${index === 0 ? label(maxN) : index === height - 1 ? label(0) : ' '.repeat(7)} |${cells.join('')}`);
  const axis = `${' '.repeat(7)} +${'-'.repeat(width)}`;
  const ends = `${' '.repeat(9)}${lowRaw.toFixed(0)}${pad(`${highRaw.toFixed(0)} raw counts`, width - lowRaw.toFixed(0).length)}`;
  return [`  N (o: the points, .: the fitted curve)`, ...lines, axis, ends].join('\n');
}

/** A profile in force and its history, for `npm run calibrate -- show`. */
export function profileReport(file: ProfileFile, path: string): string {
  const active = file.history.at(-1);
  if (active === undefined) return '';
  const history = file.history.map((entry: ProfileEntry, index) => {
    const what = entry.reason === 'tare' ? `re-tare to ${entry.tareRaw.toFixed(1)} counts` : `fit, ${entry.points.length} points, ${describeError(entry.stats.error)}`;
    return `  ${pad(String(index + 1), 3)}  ${entry.createdAt}  ${what} (${entry.madeWith})${index === file.history.length - 1 ? '  <- in force' : ''}`;
  });
  return [
    `Calibration of device ${file.deviceId} (${active.sensor}), ${path}`,
    `made      ${active.createdAt} with the ${active.madeWith}${active.reason === 'tare' ? ' (a re-tare of the fit before it)' : ''}`,
    `area      ${active.areaCm2} cm² contact (for kPa and kgf/cm²)`,
    fitSummary({ sensor: active.sensor, fit: active.fit, stats: active.stats, candidates: active.candidates, tareRaw: active.tareRaw, points: active.points }),
    '',
    residualTable(active),
    '',
    `History (oldest first; every entry is kept):`,
    ...history,
  ].join('\n');
}
