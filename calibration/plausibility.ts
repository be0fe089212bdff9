/**
 * Does a still reading fit what the person says is on the tip? Stillness (stillness.ts)
 * says a reading has settled; this says whether it settled on the right thing: a tare
 * with a weight still on the tip, or a load typed as 1 kg that settled on the 2 kg one,
 * would give a calibration that is wrong everywhere without a word.
 *
 *   noLoadProblem(sensor, toNewtons, meanRaw)          -> null, or why the tip is not bare
 *   loadProblem({ sensor, toNewtons, tareRaw, points }, load, raw) -> null, or why the load disagrees
 *
 * How much room it gives real parts: docs/design/calibration.md.
 */
import type { SensorKind } from '../device/transport.ts';
import type { CalibrationPoint } from './fit.ts';
import type { KnownLoad } from './units.ts';

/** A part reads within this factor of its curve, either way. */
export const PART_FACTOR_MAX = 2.5;
/** A bare tip: even on the most sensitive part, the reading means less than this. */
export const NO_LOAD_LIMIT_N = 0.5;
/** Two points of one part agree on its sensitivity within this factor (a load cell, or an FSR at one force). */
const SENSITIVITY_AGREEMENT = 1.3;
/** How far an FSR's exponent may stray from the curve's, for sensitivities at different forces. */
const FSR_EXPONENT_SPREAD = 0.3;

export interface PartSoFar {
  readonly sensor: SensorKind;
  /** The device's current conversion. */
  readonly toNewtons: (raw: number) => number;
  readonly tareRaw: number;
  /** The points taken since the tare. */
  readonly points: readonly CalibrationPoint[];
}

function count(raw: number): string {
  return Number.isInteger(raw) ? String(raw) : raw.toFixed(1);
}

export function describeLoad(load: KnownLoad): string {
  if (load.massKg === null) return `${load.forceN.toFixed(2)} N`;
  const mass = load.massKg < 1 ? `${+(load.massKg * 1000).toFixed(1)} g` : `${+load.massKg.toFixed(3)} kg`;
  return `${mass} (${load.forceN.toFixed(2)} N)`;
}

/** Why a still reading cannot be the bare tip, or null when it can. */
export function noLoadProblem(sensor: SensorKind, toNewtons: (raw: number) => number, meanRaw: number): string | null {
  const readN = toNewtons(meanRaw);
  if (readN / PART_FACTOR_MAX <= NO_LOAD_LIMIT_N) return null;
  const bare = sensor === 'fsr' ? 'a bare FSR reads a few counts' : "a bare load cell reads near the firmware's zero, 0 counts";
  return (
    `the tip does not look bare: it reads ${count(meanRaw)} counts, ${readN.toFixed(2)} N by the current curve (${bare}): ` +
    'take everything off the tip and tare again; if nothing is on it, confirm to tare anyway'
  );
}

/** The part's sensitivity at a point: force above the tare by the current curve, per newton on the tip. */
function sensitivity(part: PartSoFar, raw: number, forceN: number): number {
  return (part.toNewtons(raw) - part.toNewtons(part.tareRaw)) / forceN;
}

/** Why `raw`, settled on after `load` was typed, cannot be that load on this part, or null when it can. */
export function loadProblem(part: PartSoFar, load: KnownLoad, raw: number): string | null {
  if (!(load.forceN > 0)) return null;
  const readN = part.toNewtons(raw) - part.toNewtons(part.tareRaw);
  const typed = describeLoad(load);
  const ratio = sensitivity(part, raw, load.forceN);
  const check = 'check that the load typed is the one on the tip (and that it has stopped changing); if both are right, confirm to keep it';
  if (ratio > PART_FACTOR_MAX || ratio < 1 / PART_FACTOR_MAX) {
    return (
      `the load settled at ${count(raw)} counts, ${readN.toFixed(2)} N by the current curve: ${ratio.toFixed(2)} times the ${typed} typed, ` +
      `where a part reads ${(1 / PART_FACTOR_MAX).toFixed(1)} to ${PART_FACTOR_MAX} times its curve: ${check}`
    );
  }
  const nearest = nearestLoad(part.points, load.forceN);
  if (nearest === null) return null;
  const spread = Math.max(load.forceN / nearest.forceN, nearest.forceN / load.forceN);
  const allowed = SENSITIVITY_AGREEMENT * (part.sensor === 'fsr' ? spread ** FSR_EXPONENT_SPREAD : 1);
  const nearestSensitivity = sensitivity(part, nearest.raw, nearest.forceN);
  // A point kept against the warnings says nothing about the part: judge by the curve alone.
  if (!(nearestSensitivity > 0) || !Number.isFinite(nearestSensitivity)) return null;
  const relative = ratio / nearestSensitivity;
  if (relative <= allowed && relative >= 1 / allowed) return null;
  return (
    `the load settled at ${count(raw)} counts, which on this part (going by the point at ${nearest.forceN.toFixed(2)} N, ${count(nearest.raw)} counts) ` +
    `is about ${(load.forceN * relative).toFixed(2)} N, not the ${typed} typed: ${check}`
  );
}

/** The load point nearest in force (on a log scale), or null before the first. */
function nearestLoad(points: readonly CalibrationPoint[], forceN: number): CalibrationPoint | null {
  let best: CalibrationPoint | null = null;
  for (const point of points) {
    if (point.kind !== 'load' || !(point.forceN > 0)) continue;
    if (best === null || Math.abs(Math.log(point.forceN / forceN)) < Math.abs(Math.log(best.forceN / forceN))) best = point;
  }
  return best;
}
