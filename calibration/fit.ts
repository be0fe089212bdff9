/**
 * Fitting a calibration: known loads against the raw counts they produced, to the curve
 * that converts every later reading (see model.ts for what each model means).
 *
 *   const { fit, stats } = fitCalibration({ sensor: 'fsr', tareRaw: 12, points }, `device ${deviceId}`);
 *   describeError(stats.error); // the error bar it states, from left-out points
 *
 * Bad points are refused before fitting (a `CalibrationError` naming them). Which curve each
 * sensor gets, and why the error bar comes from left-out points: docs/design/calibration.md.
 */
import { z } from 'zod';
import type { SensorKind } from '../device/transport.ts';
import { evaluateModel, linearise, monotoneKnots, SENSOR_RAW_RANGE, type FitModel, type ModelName } from './model.ts';

export const MIN_POINTS = 2;
/** How to start the calibration over, for messages. */
export const CALIBRATE_HINT = 'run `npm run calibrate`';

export class CalibrationError extends Error {
  override readonly name: string = 'CalibrationError';
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const calibrationPointSchema = z.strictObject({
  /** Raw counts: the mean over the still period it was captured in, or as typed. */
  raw: finite,
  /** The known load, newtons. */
  forceN: finite,
  /** The mass that made it (null when given as a force, or for the tare). */
  massKg: finite.nullable(),
  /** Spread (standard deviation) of the raw counts while it was captured; null when typed in. */
  sdRaw: finite.nullable(),
  /** `load`: a known load on the tip; `zero`: the tare itself, a point at 0 N (hx711). */
  kind: z.enum(['load', 'zero']),
});
export type CalibrationPoint = z.infer<typeof calibrationPointSchema>;

export const fittedPointSchema = calibrationPointSchema.extend({
  /** Fitted minus known force, newtons. */
  residualN: finite,
  /** Predicted minus known force when the fit is made without this point; null with too few points. */
  looErrorN: finite.nullable(),
});
export type FittedPoint = z.infer<typeof fittedPointSchema>;

/**
 * The error bar of a reading F: +/- (absN + rel * F) newtons, at about 95 %, within the
 * calibrated range (`rangeN`). Past it the curve is extrapolated and the bar says nothing.
 */
export const errorBoundSchema = z.strictObject({
  absN: finite.refine((value) => value >= 0, 'must be 0 or more'),
  rel: finite.refine((value) => value >= 0, 'must be 0 or more'),
  /** How the bar was found, in words, e.g. "leave-one-out RMS 0.0102 N over 6 points x t(4) = 2.78, about 95 %". */
  basis: z.string(),
});
export type ErrorBound = z.infer<typeof errorBoundSchema>;

export const fitStatsSchema = z.strictObject({
  /** Coefficient of determination of the fitted forces (null when every load is the same). */
  r2: finite.nullable(),
  rmsErrorN: finite,
  maxErrorN: finite,
  /** RMS of the leave-one-out errors, newtons; null with too few points. */
  looRmsN: finite.nullable(),
  /** Null when there are too few points to say (2 points fit a 2-parameter curve exactly). */
  error: errorBoundSchema.nullable(),
  /** The lightest and heaviest load calibrated, newtons: the range the error bar covers. */
  rangeN: z.tuple([finite, finite]),
});
export type FitStats = z.infer<typeof fitStatsSchema>;

export const candidateSchema = z.strictObject({
  model: z.enum(['linear', 'power', 'monotone-cubic']),
  /** Leave-one-out RMS error: newtons (hx711) or relative to the load (fsr); null with too few points. */
  looRms: finite.nullable(),
  chosen: z.boolean(),
});
export type Candidate = z.infer<typeof candidateSchema>;

export interface FitInput {
  readonly sensor: SensorKind;
  readonly tareRaw: number;
  readonly points: readonly CalibrationPoint[];
}

export interface FitResult {
  readonly sensor: SensorKind;
  readonly tareRaw: number;
  readonly fit: FitModel;
  /** Sorted by raw counts, each with its residual. */
  readonly points: FittedPoint[];
  readonly stats: FitStats;
  /** Every model tried, and which was chosen. */
  readonly candidates: Candidate[];
}

/** The error bar (newtons, +/-) of a reading, or null when the fit's error is unknown. */
export function errorAtN(error: ErrorBound | null, forceN: number): number | null {
  return error === null ? null : error.absN + error.rel * Math.max(forceN, 0);
}

/** e.g. `± 0.12 N`, `± 4.1 %`, `± (0.05 N + 3.0 %)`, or `error unknown`. */
export function describeError(error: ErrorBound | null): string {
  if (error === null) return 'error unknown';
  const percent = `${(error.rel * 100).toFixed(1)} %`;
  if (error.rel === 0) return `± ${error.absN.toPrecision(2)} N`;
  if (error.absN === 0) return `± ${percent}`;
  return `± (${error.absN.toPrecision(2)} N + ${percent})`;
}

// ---------------------------------------------------------------- validation

function formatRaw(raw: number): string {
  return Number.isInteger(raw) ? String(raw) : raw.toFixed(1);
}

function describePoint(point: CalibrationPoint): string {
  return `${formatRaw(point.raw)} counts at ${point.forceN.toFixed(2)} N`;
}

/**
 * Refuses points no calibration can come from, naming them and what to do.
 * @param label whose calibration it is, for messages, e.g. `calibration for device 1a2b3c4d`
 * @returns the points sorted by raw counts
 * @throws CalibrationError
 */
export function checkPoints(input: FitInput, label: string): CalibrationPoint[] {
  const { sensor, tareRaw, points } = input;
  const range = SENSOR_RAW_RANGE[sensor];
  if (!Number.isFinite(tareRaw) || tareRaw < range.min || tareRaw > range.max) {
    throw new CalibrationError(`${label}: the tare ${tareRaw} is outside the ${sensor} range ${range.min} to ${range.max} counts`);
  }
  for (const point of points) {
    if (!Number.isFinite(point.forceN) || point.forceN < 0 || (point.massKg !== null && point.massKg < 0)) {
      throw new CalibrationError(`${label}: a load of ${point.massKg !== null ? `${point.massKg} kg` : `${point.forceN} N`} is negative: calibration loads weigh 0 or more`);
    }
    if (!Number.isFinite(point.raw) || point.raw < range.min || point.raw > range.max) {
      throw new CalibrationError(`${label}: raw ${point.raw} is outside the ${sensor} range ${range.min} to ${range.max} counts`);
    }
    if (sensor === 'fsr' && point.raw >= range.max) {
      throw new CalibrationError(`${label}: the point ${describePoint(point)} is at full scale (the FSR is saturated): use a lighter load`);
    }
    if (sensor === 'fsr' && (point.raw <= tareRaw || point.forceN === 0)) {
      throw new CalibrationError(
        `${label}: the point ${describePoint(point)} is no load on an FSR (raw at or below the tare ${formatRaw(tareRaw)}, or 0 N): ` +
          'the tare is the FSR\'s zero; each point needs a load on the tip',
      );
    }
  }
  if (points.length < MIN_POINTS) {
    throw new CalibrationError(`${label} has only ${points.length} point${points.length === 1 ? '' : 's'}; at least ${MIN_POINTS} are needed: ${CALIBRATE_HINT}`);
  }
  const sorted = [...points].sort((a, b) => a.raw - b.raw);
  for (let index = 1; index < sorted.length; index++) {
    const before = sorted[index - 1];
    const point = sorted[index];
    if (before === undefined || point === undefined) continue;
    if (before.raw === point.raw) {
      throw new CalibrationError(
        `${label}: two points have the same raw value ${formatRaw(point.raw)} (${before.forceN.toFixed(2)} N and ${point.forceN.toFixed(2)} N): ` +
          'each load must give its own reading; remove one',
      );
    }
    if (point.forceN <= before.forceN) {
      throw new CalibrationError(
        `${label}: force does not increase with raw: ${describePoint(before)} but ${describePoint(point)}; ` +
          'check the loads typed for these points (a heavier load must read higher)',
      );
    }
  }
  return sorted;
}

// ---------------------------------------------------------------- fitting

interface XY {
  readonly x: number;
  readonly forceN: number;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function rms(values: readonly number[]): number {
  return Math.sqrt(values.reduce((sum, value) => sum + value * value, 0) / values.length);
}

/** Ordinary least squares y = a + b x. */
function leastSquares(xs: readonly number[], ys: readonly number[]): { intercept: number; slope: number } {
  const xMean = mean(xs);
  const yMean = mean(ys);
  let sxy = 0;
  let sxx = 0;
  for (const [index, x] of xs.entries()) {
    sxy += (x - xMean) * ((ys[index] ?? 0) - yMean);
    sxx += (x - xMean) ** 2;
  }
  const slope = sxy / sxx;
  return { intercept: yMean - slope * xMean, slope };
}

function fitModel(model: ModelName, data: readonly XY[]): FitModel {
  switch (model) {
    case 'linear': {
      const { intercept, slope } = leastSquares(
        data.map((point) => point.x),
        data.map((point) => point.forceN),
      );
      return { model, slopeNPerX: slope, interceptN: intercept };
    }
    case 'power': {
      // ln F = ln A + b ln x: least squares on relative errors, as an FSR errs.
      const { intercept, slope } = leastSquares(
        data.map((point) => Math.log(point.x)),
        data.map((point) => Math.log(point.forceN)),
      );
      return { model, coefficientN: Math.exp(intercept), exponent: slope };
    }
    case 'monotone-cubic':
      return { model, knots: monotoneKnots([{ x: 0, forceN: 0 }, ...data]) };
  }
}

/** Points a model needs before one can be left out and the rest still fix it. */
const PARAMETERS: Record<ModelName, number> = { linear: 2, power: 2, 'monotone-cubic': 1 };

/** Leave-one-out prediction errors (newtons), or null when too few points remain to fit. */
function leaveOneOutErrors(model: ModelName, data: readonly XY[]): number[] | null {
  if (data.length - 1 < PARAMETERS[model] || data.length < 3) return null;
  return data.map((left, index) => {
    const rest = data.filter((_, other) => other !== index);
    return evaluateModel(fitModel(model, rest), left.x) - left.forceN;
  });
}

/** Student's t, two-sided 95 %, for `df` degrees of freedom. */
export function studentT95(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
  if (df < 1) return Number.POSITIVE_INFINITY;
  return table[Math.floor(df) - 1] ?? 1.96 + 2.4 / df;
}

/** Which models suit a sensor, first the one preferred when the data cannot decide. */
const MODELS_FOR: Record<SensorKind, readonly ModelName[]> = { hx711: ['linear'], fsr: ['power', 'monotone-cubic'] };

/**
 * Fits a calibration: checks the points, fits each model that suits the sensor, keeps
 * the one with the smallest leave-one-out error, and states its error.
 * @throws CalibrationError naming what is wrong with the points (nothing is fitted then)
 */
export function fitCalibration(input: FitInput, label: string): FitResult {
  const sorted = checkPoints(input, label);
  const { sensor, tareRaw } = input;
  const data: XY[] = sorted.map((point) => ({ x: linearise(sensor, point.raw, tareRaw), forceN: point.forceN }));
  // fsr errors are compared relative to the load (every fsr point has a load above 0).
  const relative = sensor === 'fsr';
  const scaled = (errors: number[]): number[] => (relative ? errors.map((error, index) => error / (data[index]?.forceN ?? 1)) : errors);

  const tried = MODELS_FOR[sensor].map((model) => {
    const loo = leaveOneOutErrors(model, data);
    return { model, loo, looRms: loo === null ? null : rms(scaled(loo)) };
  });
  let best = tried[0];
  for (const candidate of tried) {
    if (best === undefined || (candidate.looRms !== null && best.looRms !== null && candidate.looRms < best.looRms)) best = candidate;
  }
  if (best === undefined) throw new CalibrationError(`${label}: no model for sensor ${sensor}`);

  const fit = fitModel(best.model, data);
  const residuals = data.map((point) => evaluateModel(fit, point.x) - point.forceN);
  const forces = data.map((point) => point.forceN);
  const forceMean = mean(forces);
  const totalSquares = forces.reduce((sum, force) => sum + (force - forceMean) ** 2, 0);
  const residualSquares = residuals.reduce((sum, residual) => sum + residual * residual, 0);
  const n = data.length;
  // Two degrees of freedom go to the curve's two parameters (for an fsr, to choosing
  // between the curves, which flatters the winner's leave-one-out error as much).
  const t = studentT95(n - 2);
  const error: ErrorBound | null =
    best.looRms === null
      ? null
      : {
          absN: relative ? 0 : t * best.looRms,
          rel: relative ? t * best.looRms : 0,
          basis: `leave-one-out RMS ${relative ? `${(best.looRms * 100).toFixed(2)} %` : `${best.looRms.toPrecision(3)} N`} over ${n} points x t(${n - 2}) = ${t.toFixed(2)}, about 95 %`,
        };
  return {
    sensor,
    tareRaw,
    fit,
    points: sorted.map((point, index) => ({ ...point, residualN: residuals[index] ?? 0, looErrorN: best.loo?.[index] ?? null })),
    stats: {
      r2: totalSquares > 0 ? 1 - residualSquares / totalSquares : null,
      rmsErrorN: rms(residuals),
      maxErrorN: Math.max(...residuals.map(Math.abs)),
      looRmsN: best.loo === null ? null : rms(best.loo),
      error,
      rangeN: [Math.min(...forces), Math.max(...forces)],
    },
    candidates: tried.map((candidate) => ({ model: candidate.model, looRms: candidate.looRms, chosen: candidate.model === best.model })),
  };
}
