/**
 * How far a new calibration moves forces from the curve in force (the device's profile,
 * or its sensor's default curve), over the loads it was calibrated with. Two loads typed
 * as 50 g and 100 g while 0.5 kg and 1 kg were on the tip make a curve that reads every
 * force a tenth of what it is, so the over-pressure warning would come only at ten times
 * the limit: such a change is saved only once the person confirms it.
 *
 *   const change = calibrationChange(fitResult, store.active(deviceId));
 *   if (change.needsConfirming) throw new UnconfirmedChangeError(change.message);
 *
 * Pure, no I/O: the server's calibration page, `npm run calibrate -- fit` and the wizard share it.
 */
import { defaultCalibration } from '../device/sensors.ts';
import { CalibrationError, type FitResult } from './fit.ts';
import { forceFromRaw } from './model.ts';
import { profileCalibration, type ProfileEntry } from './profile.ts';

/** A new calibration may move forces by at most this share, either way, without being confirmed. */
export const CONFIRM_CHANGE_ABOVE = 0.25;
/** Below this force (by both curves) a relative change says nothing: a few counts of drift at the zero. */
export const COMPARED_FROM_N = 1;
/** Raw counts compared between the lightest and the heaviest load (besides the loads themselves). */
const GRID_STEPS = 512;
/** A lighter load is named instead of a heavier one only when its change is larger by this much (half a percentage point). */
const TIE = 0.005;

/** A calibration that moves forces by more than CONFIRM_CHANGE_ABOVE, not confirmed: nothing is saved. */
export class UnconfirmedChangeError extends CalibrationError {
  override readonly name = 'UnconfirmedChangeError';
}

/** The change at one raw count. */
export interface ForceChange {
  readonly raw: number;
  /** What the curve in force reads there, newtons. */
  readonly currentN: number;
  /** What the new curve reads there, newtons. */
  readonly nextN: number;
  /** (nextN - currentN) / currentN (currentN at least COMPARED_FROM_N): -0.9 reads a tenth, +9 ten times. */
  readonly relative: number;
}

/**
 * The raw count in [lowRaw, highRaw] (and at `alsoRaw`) where `next` differs most from
 * `current`, relative to `current`; null when both read under COMPARED_FROM_N everywhere.
 * On a tie (within half a percentage point) the higher count wins: the heavier load is the
 * one the alarm is about.
 */
export function largestForceChange(
  current: (raw: number) => number,
  next: (raw: number) => number,
  lowRaw: number,
  highRaw: number,
  alsoRaw: readonly number[] = [],
): ForceChange | null {
  if (!Number.isFinite(lowRaw) || !Number.isFinite(highRaw) || lowRaw > highRaw) throw new RangeError(`the raw range must be finite and in order (got ${lowRaw} to ${highRaw})`);
  const raws = [...alsoRaw.filter((raw) => raw >= lowRaw && raw <= highRaw)];
  for (let step = 0; step <= GRID_STEPS; step++) raws.push(lowRaw + ((highRaw - lowRaw) * step) / GRID_STEPS);
  raws.sort((a, b) => b - a);
  let largest: ForceChange | null = null;
  for (const raw of raws) {
    const currentN = current(raw);
    const nextN = next(raw);
    if (Math.max(currentN, nextN) < COMPARED_FROM_N) continue;
    const relative = (nextN - currentN) / Math.max(currentN, COMPARED_FROM_N);
    if (largest === null || Math.abs(relative) > Math.abs(largest.relative) + TIE) largest = { raw, currentN, nextN, relative };
  }
  return largest;
}

export interface CalibrationChange {
  /** The largest change over the calibrated loads, or null when there is nothing to compare. */
  readonly change: ForceChange | null;
  /** What it is compared with. */
  readonly against: 'profile' | 'default';
  readonly needsConfirming: boolean;
  /** The change in words, e.g. "this calibration reads 9.81 N as 0.98 N: 90 % lower than ...", or null when small. */
  readonly message: string | null;
}

function newtons(forceN: number): string {
  return `${forceN.toFixed(2)} N`;
}

/** The change described for a person, with what it does to the alarm when forces read lower. */
export function describeChange(change: ForceChange, against: CalibrationChange['against']): string {
  const reference = against === 'profile' ? 'the profile in force' : "the sensor's default curve (no profile yet)";
  const percent = Math.round(Math.abs(change.relative) * 100);
  const direction = change.relative < 0 ? 'lower' : 'higher';
  const alarm =
    change.relative < 0 && change.nextN > 0
      ? `: an over-pressure warning would come only at about ${(change.currentN / change.nextN).toFixed(1)} times the force it comes at now`
      : '';
  return (
    `this calibration reads ${newtons(change.currentN)} as ${newtons(change.nextN)}: ${percent} % ${direction} than ${reference} at ${newtons(change.currentN)}${alarm} ` +
    `(a new calibration may move forces by up to ${CONFIRM_CHANGE_ABOVE * 100} % without confirming); check that each load typed was the one on the tip; if they were, confirm to save it`
  );
}

/** The raw counts of the loads a fit was made with (not its zero), lightest to heaviest. */
function loadRaws(result: FitResult): number[] {
  return result.points.filter((point) => point.kind === 'load' && point.forceN > 0).map((point) => point.raw).sort((a, b) => a - b);
}

/**
 * How a fit would change the device's forces, against the profile in force (`inForce`;
 * one for another sensor kind does not count) or else the sensor's default curve.
 */
export function calibrationChange(result: FitResult, inForce: ProfileEntry | null): CalibrationChange {
  const profile = inForce?.sensor === result.sensor ? inForce : null;
  const against = profile === null ? 'default' : 'profile';
  const current = profile === null ? defaultCalibration(result.sensor) : profileCalibration(profile);
  const next = (raw: number): number => forceFromRaw(result.sensor, result.fit, result.tareRaw, raw);
  const raws = loadRaws(result);
  const lowRaw = raws[0];
  const highRaw = raws.at(-1);
  const change = lowRaw === undefined || highRaw === undefined ? null : largestForceChange((raw) => current.toNewtons(raw), next, lowRaw, highRaw, raws);
  if (change === null || Math.abs(change.relative) <= CONFIRM_CHANGE_ABOVE) return { change, against, needsConfirming: false, message: null };
  return { change, against, needsConfirming: true, message: describeChange(change, against) };
}
