/**
 * Fitted calibration curves: what a profile's `fit` means, evaluated both ways. Raw
 * counts first become the sensor's linearised input `x` relative to the tare, then the
 * fitted model maps `x` to newtons.
 *
 * Pure, no I/O: the server, the CLI and the dashboard (which draws the curves) share it.
 *
 *   const forceN = forceFromRaw(profile.sensor, profile.fit, profile.tareRaw, raw);
 *   const limitRaw = rawForForce(sensor, toNewtons, overLimitN); // for the firmware's LIMIT
 *
 * The linearised input of each sensor and the models (`linear`, `power`, `monotone-cubic`),
 * and why an FSR is fitted on its conductance: docs/design/calibration.md.
 */
import { z } from 'zod';
import { FSR_RAW_MAX as FSR_FULL_SCALE, SENSOR_RAW_RANGE } from '../device/sensors.ts';
import type { SensorKind } from '../device/transport.ts';

/** The raw counts each sensor can report: a fact about the sensor, declared in device/. */
export { SENSOR_RAW_RANGE };
/** Raw counts are clamped this far below full scale so the conductance stays finite. */
const FSR_CLAMP = 0.5;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const positive = finite.refine((value) => value > 0, 'must be above 0');

export const knotSchema = z.strictObject({
  /** The linearised input (net counts for hx711, conductance above the tare for fsr). */
  x: finite,
  forceN: finite.refine((value) => value >= 0, 'must be 0 or more'),
  /** The Hermite tangent at this knot, newtons per unit of x (never negative: monotone). */
  slope: finite.refine((value) => value >= 0, 'must be 0 or more'),
});
export type Knot = z.infer<typeof knotSchema>;

export const fitModelSchema = z.discriminatedUnion('model', [
  z.strictObject({ model: z.literal('linear'), slopeNPerX: positive, interceptN: finite }),
  z.strictObject({ model: z.literal('power'), coefficientN: positive, exponent: positive }),
  z
    .strictObject({ model: z.literal('monotone-cubic'), knots: z.array(knotSchema).min(2) })
    .refine((fit) => fit.knots.every((knot, index) => index === 0 || (knot.x > (fit.knots[index - 1]?.x ?? 0) && knot.forceN >= (fit.knots[index - 1]?.forceN ?? 0))), {
      message: 'knots must be in increasing x with non-decreasing force',
    }),
]);
export type FitModel = z.infer<typeof fitModelSchema>;
export type ModelName = FitModel['model'];
export const MODEL_NAMES = ['linear', 'power', 'monotone-cubic'] as const satisfies readonly ModelName[];

/** FSR conductance in units of 1 / R0 (the divider's fixed resistor), from raw counts. */
export function fsrConductance(raw: number): number {
  const clamped = Math.min(Math.max(raw, 0), FSR_FULL_SCALE - FSR_CLAMP);
  return clamped / (FSR_FULL_SCALE - clamped);
}

/** The sensor's linearised input for a raw count, relative to the tare. */
export function linearise(sensor: SensorKind, raw: number, tareRaw: number): number {
  return sensor === 'fsr' ? fsrConductance(raw) - fsrConductance(tareRaw) : raw - tareRaw;
}

/** Newtons for a linearised input (may be negative below the tare; callers clamp). */
export function evaluateModel(fit: FitModel, x: number): number {
  switch (fit.model) {
    case 'linear':
      return fit.slopeNPerX * x + fit.interceptN;
    case 'power':
      return x <= 0 ? 0 : fit.coefficientN * x ** fit.exponent;
    case 'monotone-cubic':
      return evaluateHermite(fit.knots, x);
  }
}

function evaluateHermite(knots: readonly Knot[], x: number): number {
  const first = knots[0];
  const last = knots.at(-1);
  if (first === undefined || last === undefined) return 0;
  if (x <= first.x) return first.forceN;
  if (x >= last.x) return last.forceN + last.slope * (x - last.x);
  let low = 0;
  let high = knots.length - 1;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if ((knots[middle]?.x ?? 0) <= x) low = middle;
    else high = middle;
  }
  const a = knots[low] ?? first;
  const b = knots[high] ?? last;
  const h = b.x - a.x;
  const t = (x - a.x) / h;
  const t2 = t * t;
  const t3 = t2 * t;
  return (2 * t3 - 3 * t2 + 1) * a.forceN + (t3 - 2 * t2 + t) * h * a.slope + (-2 * t3 + 3 * t2) * b.forceN + (t3 - t2) * h * b.slope;
}

/**
 * Fritsch-Carlson tangents for a monotone cubic through increasing points: the
 * spline never overshoots, so it stays monotone (a force that goes down as the press
 * gets harder would make the inverse ambiguous and the alarm threshold wrong).
 */
export function monotoneKnots(points: readonly { x: number; forceN: number }[]): Knot[] {
  const n = points.length;
  const secants: number[] = [];
  for (let index = 0; index < n - 1; index++) {
    const a = points[index];
    const b = points[index + 1];
    if (a === undefined || b === undefined) continue;
    secants.push((b.forceN - a.forceN) / (b.x - a.x));
  }
  const slopes = points.map((_, index) => {
    if (index === 0) return secants[0] ?? 0;
    if (index === n - 1) return secants.at(-1) ?? 0;
    const before = secants[index - 1] ?? 0;
    const after = secants[index] ?? 0;
    return before * after <= 0 ? 0 : (before + after) / 2;
  });
  for (let index = 0; index < secants.length; index++) {
    const secant = secants[index] ?? 0;
    if (secant === 0) {
      slopes[index] = 0;
      slopes[index + 1] = 0;
      continue;
    }
    const alpha = (slopes[index] ?? 0) / secant;
    const beta = (slopes[index + 1] ?? 0) / secant;
    const radius = Math.hypot(alpha, beta);
    if (radius > 3) {
      slopes[index] = (3 * alpha * secant) / radius;
      slopes[index + 1] = (3 * beta * secant) / radius;
    }
  }
  return points.map((point, index) => ({ x: point.x, forceN: point.forceN, slope: Math.max(slopes[index] ?? 0, 0) }));
}

/** Raw counts -> newtons through a fitted model: never negative, never NaN. */
export function forceFromRaw(sensor: SensorKind, fit: FitModel, tareRaw: number, raw: number): number {
  const forceN = evaluateModel(fit, linearise(sensor, raw, tareRaw));
  return Number.isFinite(forceN) && forceN > 0 ? forceN : 0;
}

/**
 * The smallest whole raw count at which `toNewtons` reaches `forceN`, by bisection over
 * the sensor's range (toNewtons is non-decreasing). A force beyond what the sensor can
 * show gives the top of its range; one at or below what the bottom shows, the bottom.
 */
export function rawForForce(sensor: SensorKind, toNewtons: (raw: number) => number, forceN: number): number {
  const { min, max } = SENSOR_RAW_RANGE[sensor];
  if (toNewtons(min) >= forceN) return min;
  if (toNewtons(max) < forceN) return max;
  let below = min;
  let reaches = max;
  while (reaches - below > 1) {
    const middle = below + Math.floor((reaches - below) / 2);
    if (toNewtons(middle) >= forceN) reaches = middle;
    else below = middle;
  }
  return reaches;
}
