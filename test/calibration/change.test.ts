// How far a new calibration moves forces (calibration/change.ts): the issue's attack (two
// loads typed as 50 g and 100 g while about 4.9 N and 9.8 N were on the tip: a curve that
// reads a tenth) needs confirming, against the default curve and against a profile in
// force; 25 % either way is the boundary; forces under 1 N are not compared; a fit of the
// same part changes nothing.
import { describe, expect, it } from 'vitest';
import { defaultCalibration } from '../../device/sensors.ts';
import type { SensorKind } from '../../device/transport.ts';
import { calibrationChange, CONFIRM_CHANGE_ABOVE, largestForceChange } from '../../calibration/change.ts';
import { fitCalibration, type CalibrationPoint, type FitResult } from '../../calibration/fit.ts';
import { newProfileEntry, profileCalibration } from '../../calibration/profile.ts';

const LABEL = 'calibration for device 1a2b3c4d';

function load(raw: number, forceN: number): CalibrationPoint {
  return { raw, forceN, massKg: null, sdRaw: null, kind: 'load' };
}

/** A fit of loads that truly are `trueN` (on a part that reads as the default curve), typed as `typedN`. */
function fitOf(sensor: SensorKind, trueN: readonly number[], typedN: readonly number[]): FitResult {
  const curve = defaultCalibration(sensor);
  const loads = trueN.map((forceN, index) => load(curve.toRaw(forceN), typedN[index] ?? 0));
  const points = sensor === 'hx711' ? [{ raw: 0, forceN: 0, massKg: null, sdRaw: null, kind: 'zero' as const }, ...loads] : loads;
  return fitCalibration({ sensor, tareRaw: 0, points }, LABEL);
}

describe('a calibration off by 10x needs confirmation', () => {
  it.each(['hx711', 'fsr'] as const)('%s: 50 g and 100 g typed on 4.9 N and 9.8 N reads a tenth of the default curve', (sensor) => {
    const result = fitOf(sensor, [4.903325, 9.80665], [0.4903325, 0.980665]);
    const change = calibrationChange(result, null);
    expect(change.against).toBe('default');
    expect(change.needsConfirming).toBe(true);
    expect(change.change?.relative).toBeCloseTo(-0.9, 2);
    // The heavier load is named: the profile reads 9.81 N there, the new curve 0.98 N.
    expect(change.message).toMatch(/^this calibration reads 9\.8\d N as 0\.98 N: 90 % lower than the sensor's default curve \(no profile yet\) at 9\.8\d N: an over-pressure warning would come only at about (9\.9|10\.[01]) times the force it comes at now/);
    expect(change.message).toContain('confirm to save it');
  });

  it('against a profile in force, both ways: the 10x profile, then a right calibration after it (10 times higher)', () => {
    const right = newProfileEntry(fitOf('hx711', [4.903325, 9.80665], [4.903325, 9.80665]), { madeWith: 'command' });
    const tenth = fitOf('hx711', [4.903325, 9.80665], [0.4903325, 0.980665]);
    const lower = calibrationChange(tenth, right);
    expect(lower).toMatchObject({ against: 'profile', needsConfirming: true });
    expect(lower.message).toMatch(/90 % lower than the profile in force at/);

    const higher = calibrationChange(fitOf('hx711', [4.903325, 9.80665], [4.903325, 9.80665]), newProfileEntry(tenth, { madeWith: 'dashboard' }));
    expect(higher).toMatchObject({ against: 'profile', needsConfirming: true });
    // The profile in force reads 0.98 N there: under 1 N, so the change is taken against 1 N (a lower bound).
    expect(higher.change?.relative).toBeGreaterThan(8.5);
    expect(higher.message).toMatch(/reads 0\.98 N as 9\.8\d N: 88\d % higher than the profile in force at 0\.98 N \(a new calibration may move forces by up to 25 %/);
  });

  it('a profile for another sensor kind does not count: the default curve is the reference', () => {
    const fsrProfile = newProfileEntry(fitOf('fsr', [5, 10], [5, 10]), { madeWith: 'command' });
    expect(calibrationChange(fitOf('hx711', [5, 10], [5, 10]), fsrProfile).against).toBe('default');
  });
});

describe('the 25 % boundary', () => {
  it('largestForceChange: exactly 25 % is the largest change allowed unconfirmed', () => {
    const current = (raw: number): number => raw / 100;
    expect(largestForceChange(current, (raw) => 1.25 * current(raw), 100, 5000)?.relative).toBe(CONFIRM_CHANGE_ABOVE);
    expect(largestForceChange(current, (raw) => 0.75 * current(raw), 100, 5000)?.relative).toBe(-CONFIRM_CHANGE_ABOVE);
  });

  it.each([
    [1.24, false],
    [1.26, true],
    [0.76, false],
    [0.74, true],
  ])('a load cell reading %s times the profile in force needs confirming: %s', (factor, needed) => {
    const inForce = newProfileEntry(fitOf('hx711', [5, 20], [5, 20]), { madeWith: 'command' });
    const change = calibrationChange(fitOf('hx711', [5, 20], [5 * factor, 20 * factor]), inForce);
    expect(change.change?.relative).toBeCloseTo(factor - 1, 6);
    expect(change.needsConfirming).toBe(needed);
    expect(change.message === null).toBe(!needed);
  });

  it('a new fit of the same part moves nothing (a spread inside the calibrated range stays small)', () => {
    const inForce = newProfileEntry(fitOf('fsr', [5, 10, 20, 40], [5, 10, 20, 40]), { madeWith: 'wizard' });
    const again = fitOf('fsr', [6, 12, 25, 45], [6, 12, 25, 45]);
    const change = calibrationChange(again, inForce);
    expect(Math.abs(change.change?.relative ?? 1)).toBeLessThan(0.05);
    expect(change.needsConfirming).toBe(false);
    // And the profile it would be compared with converts as the file says.
    expect(profileCalibration(inForce).toNewtons(defaultCalibration('fsr').toRaw(20))).toBeCloseTo(20, 0);
  });
});

describe('what is compared', () => {
  it('forces under 1 N by both curves are not compared (a relative change of drift at the zero)', () => {
    expect(largestForceChange(() => 0.2, () => 0.9, 0, 100)).toBeNull();
    // One of them at 1 N or more is compared, relative to at least 1 N.
    expect(largestForceChange(() => 0, () => 2, 0, 100)?.relative).toBe(2);
  });

  it('the largest change anywhere between the loads, not only at them; on a tie the heavier', () => {
    const bump = largestForceChange((raw) => raw, (raw) => (raw === 500 ? raw * 2 : raw), 100, 1000, [500]);
    expect(bump).toMatchObject({ raw: 500, relative: 1 });
    const flat = largestForceChange((raw) => raw, (raw) => raw * 0.5, 100, 1000);
    expect(flat?.raw).toBe(1000);
  });

  it('refuses a range that is not one', () => {
    expect(() => largestForceChange((raw) => raw, (raw) => raw, 10, 5)).toThrow(RangeError);
    expect(() => largestForceChange((raw) => raw, (raw) => raw, Number.NaN, 5)).toThrow(/finite and in order/);
  });
});
