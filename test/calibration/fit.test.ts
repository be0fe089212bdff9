// Fitting calibrations on synthetic FSR and load-cell data with noise: readings the fit
// never saw are predicted within the error it states (at about the 95 % it claims, and
// with a bar not absurdly wider than the truth), the model suits the data, the inverse
// (newtons -> raw, for the firmware's LIMIT) round-trips exactly, and every bad input
// is refused with a message naming it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultCalibration } from '../../device/sensors.ts';
import { CalibrationError, errorAtN, fitCalibration, type CalibrationPoint, type FitResult } from '../../calibration/fit.ts';
import { evaluateModel, forceFromRaw, monotoneKnots, rawForForce } from '../../calibration/model.ts';
import { newProfileEntry, profileCalibration } from '../../calibration/profile.ts';
import { SeededRandom } from '../../device/simulator/random.ts';
import { loadPoints, syntheticFsr, syntheticLoadCell, type SyntheticSensor } from './synthetic.ts';

const LABEL = 'calibration for device 1a2b3c4d';

/** Readings the fit never saw, each checked against the error bar stated at the reading. */
function heldOut(result: FitResult, sensor: SyntheticSensor, forcesN: readonly number[]): { within: number; far: number; total: number } {
  const calibration = profileCalibration(newProfileEntry(result, { madeWith: 'command' }));
  let within = 0;
  let far = 0;
  for (const forceN of forcesN) {
    const readN = calibration.toNewtons(sensor.read(forceN));
    const barN = errorAtN(result.stats.error, readN);
    if (barN === null) throw new Error('no error bar');
    const ratio = Math.abs(readN - forceN) / barN;
    if (ratio <= 1) within++;
    if (ratio > 2) far++;
  }
  return { within, far, total: forcesN.length };
}

/**
 * The bar claims about 95 %: over many calibrations (each fit's own error is shared by
 * all its held-out readings, so many fits, not many readings, make the estimate) at least
 * 92 % of held-out readings fall within it, and hardly any beyond twice it.
 */
function expectCoverage(trials: readonly { within: number; far: number; total: number }[]): void {
  const total = trials.reduce((sum, trial) => sum + trial.total, 0);
  expect(trials.reduce((sum, trial) => sum + trial.within, 0) / total).toBeGreaterThan(0.92);
  expect(trials.reduce((sum, trial) => sum + trial.far, 0) / total).toBeLessThan(0.02);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function spread(random: SeededRandom, count: number, lowN: number, highN: number): number[] {
  return Array.from({ length: count }, () => random.between(lowN, highN));
}

describe('load cell (hx711): linear least squares', () => {
  const forcesN = [0, 4.9, 9.8, 19.6, 49, 98];

  it('predicts held-out loads within the stated error, with a bar close to the real noise', () => {
    const trials = [];
    const barsN = [];
    for (let seed = 1; seed <= 200; seed++) {
      const cell = syntheticLoadCell({ countsPerN: 44_100, offsetCounts: 0, noiseCounts: 450, seed });
      const result = fitCalibration({ sensor: 'hx711', tareRaw: 0, points: loadPoints(cell, forcesN) }, LABEL);
      expect(result.fit.model).toBe('linear');
      const error = result.stats.error;
      if (error === null) throw new Error('six points must give an error bar');
      barsN.push(error.absN);
      trials.push(heldOut(result, cell, spread(new SeededRandom(seed + 1000), 25, 1, 95)));
    }
    expectCoverage(trials);
    // Noise of 450 counts is about 0.01 N: a 95 % bar from 6 points is a few times that, not 100 times.
    expect(median(barsN)).toBeGreaterThan(0.015);
    expect(median(barsN)).toBeLessThan(0.05);
  });

  it('recovers the scale and offset, with R² near 1 and the residuals reported per point', () => {
    const cell = syntheticLoadCell({ countsPerN: 39_000, offsetCounts: 12_345, noiseCounts: 200, seed: 7 });
    const points = loadPoints(cell, forcesN.slice(1));
    const result = fitCalibration({ sensor: 'hx711', tareRaw: 12_345, points: [{ raw: 12_345, forceN: 0, massKg: null, sdRaw: null, kind: 'zero' }, ...points] }, LABEL);
    if (result.fit.model !== 'linear') throw new Error('linear expected');
    expect(1 / result.fit.slopeNPerX).toBeCloseTo(39_000, -2);
    expect(Math.abs(result.fit.interceptN)).toBeLessThan(0.02);
    expect(result.stats.r2).toBeGreaterThan(0.999_99);
    expect(result.points).toHaveLength(6);
    for (const point of result.points) expect(Math.abs(point.residualN)).toBeLessThanOrEqual(result.stats.maxErrorN + 1e-12);
    expect(result.stats.rangeN).toEqual([0, 98]);
  });

  it('with two points (tare and one mass) fits them exactly and says the error is unknown', () => {
    const result = fitCalibration(
      {
        sensor: 'hx711',
        tareRaw: 100,
        points: [
          { raw: 100, forceN: 0, massKg: null, sdRaw: 12, kind: 'zero' },
          { raw: 428_100, forceN: 9.80665, massKg: 1, sdRaw: 15, kind: 'load' },
        ],
      },
      LABEL,
    );
    expect(result.stats.maxErrorN).toBeLessThan(1e-9);
    expect(result.stats.error).toBeNull();
    expect(result.candidates).toEqual([{ model: 'linear', looRms: null, chosen: true }]);
  });
});

describe('force-sensing resistor: power law on conductance or monotone cubic', () => {
  const forcesN = [2, 5, 10, 15, 20, 30, 45, 60];

  it('predicts held-out presses within the stated relative error on parts that spread', () => {
    const trials = [];
    const bars = [];
    for (let seed = 1; seed <= 200; seed++) {
      const random = new SeededRandom(seed * 31);
      const fsr = syntheticFsr({ halfScaleN: random.between(22, 38), exponent: random.between(0.9, 1.3), relativeNoise: 0.02, seed });
      const result = fitCalibration({ sensor: 'fsr', tareRaw: 0, points: loadPoints(fsr, forcesN) }, LABEL);
      const error = result.stats.error;
      if (error === null) throw new Error('eight points must give an error bar');
      expect(error.absN).toBe(0);
      bars.push(error.rel);
      trials.push(heldOut(result, fsr, spread(random, 25, 3, 58)));
    }
    expectCoverage(trials);
    // 2 % noise: a 95 % bar from 8 points is a few percent, not tens.
    expect(median(bars)).toBeGreaterThan(0.03);
    expect(median(bars)).toBeLessThan(0.08);
  });

  it('chooses the power law for a power-law part, and the monotone cubic where the curve bends away from one', () => {
    const powerPart = syntheticFsr({ halfScaleN: 30, exponent: 1.1, relativeNoise: 0.01, seed: 3 });
    const power = fitCalibration({ sensor: 'fsr', tareRaw: 0, points: loadPoints(powerPart, forcesN) }, LABEL);
    expect(power.fit.model).toBe('power');
    // Conductance ~ F^1.1, so F ~ conductance^(1/1.1).
    if (power.fit.model === 'power') expect(1 / power.fit.exponent).toBeCloseTo(1.1, 1);

    const bendingPart = syntheticFsr({ halfScaleN: 12, exponent: 1.3, relativeNoise: 0.002, saturationN: 15, seed: 4 });
    const dense = [1, 2, 3, 5, 7, 10, 13, 16, 20, 25, 30, 36, 43, 50, 60];
    const cubic = fitCalibration({ sensor: 'fsr', tareRaw: 0, points: loadPoints(bendingPart, dense) }, LABEL);
    expect(cubic.fit.model).toBe('monotone-cubic');
    const [chosen, other] = [cubic.candidates.find((candidate) => candidate.chosen), cubic.candidates.find((candidate) => !candidate.chosen)];
    expect(chosen?.looRms).toBeLessThan(other?.looRms ?? 0);
    const check = heldOut(cubic, bendingPart, spread(new SeededRandom(5), 40, 2, 58));
    expect(check.within / check.total).toBeGreaterThan(0.9);
    expect(check.far).toBe(0);
  });

  it('reads zero at the tare and nothing negative below it', () => {
    const fsr = syntheticFsr({ halfScaleN: 30, exponent: 1, relativeNoise: 0.01, seed: 9 });
    const result = fitCalibration({ sensor: 'fsr', tareRaw: 3, points: loadPoints(fsr, forcesN) }, LABEL);
    const calibration = profileCalibration(newProfileEntry(result, { madeWith: 'command' }));
    expect(calibration.toNewtons(3)).toBe(0);
    expect(calibration.toNewtons(0)).toBe(0);
    expect(calibration.toNewtons(1023)).toBeGreaterThan(60);
  });

  it('the default FSR curve is this power law with exponent 1 and 30 N at half scale', () => {
    const fit = { model: 'power', coefficientN: 30, exponent: 1 } as const;
    const defaults = defaultCalibration('fsr');
    for (let raw = 0; raw < 1023; raw += 7) expect(forceFromRaw('fsr', fit, 0, raw)).toBeCloseTo(defaults.toNewtons(raw), 9);
  });
});

describe('the inverse, for the firmware LIMIT', () => {
  const fsr = syntheticFsr({ halfScaleN: 27, exponent: 1.15, relativeNoise: 0.01, seed: 11 });
  const cell = syntheticLoadCell({ countsPerN: 42_000, offsetCounts: -30_000, noiseCounts: 100, seed: 12 });
  const fits: [string, FitResult][] = [
    ['fsr power', fitCalibration({ sensor: 'fsr', tareRaw: 0, points: loadPoints(fsr, [3, 8, 15, 25, 40, 60]) }, LABEL)],
    ['fsr cubic', fitCalibration({ sensor: 'fsr', tareRaw: 0, points: loadPoints(syntheticFsr({ halfScaleN: 12, exponent: 1.3, relativeNoise: 0.002, saturationN: 15, seed: 4 }), [1, 2, 3, 5, 7, 10, 13, 16, 20, 25, 30, 36, 43, 50, 60]) }, LABEL)],
    ['hx711 linear', fitCalibration({ sensor: 'hx711', tareRaw: -30_000, points: [{ raw: -30_000, forceN: 0, massKg: null, sdRaw: null, kind: 'zero' }, ...loadPoints(cell, [5, 20, 60])] }, LABEL)],
  ];

  it.each(fits)('%s: toRaw gives the first count at which toNewtons reaches the force', (_name, result) => {
    const calibration = profileCalibration(newProfileEntry(result, { madeWith: 'command' }));
    for (const forceN of [0.5, 1, 8, 15, 22, 25, 40, 45, 54, 60, 80]) {
      const raw = calibration.toRaw(forceN);
      expect(Number.isInteger(raw)).toBe(true);
      expect(calibration.toNewtons(raw)).toBeGreaterThanOrEqual(forceN);
      expect(calibration.toNewtons(raw - 1)).toBeLessThan(forceN);
    }
  });

  it('past what the sensor can show, the top of its range', () => {
    const [, result] = fits[0] ?? [];
    if (result === undefined) throw new Error('no fit');
    expect(profileCalibration(newProfileEntry(result, { madeWith: 'command' })).toRaw(1e9)).toBe(1023);
    expect(rawForForce('fsr', () => 0, 5)).toBe(1023);
  });
});

describe('the monotone cubic', () => {
  it('passes through every point and never goes down between them (property)', () => {
    const increasing = fc
      .array(fc.tuple(fc.double({ min: 0.001, max: 10, noNaN: true }), fc.double({ min: 0.001, max: 10, noNaN: true })), { minLength: 1, maxLength: 12 })
      .map((steps) => {
        let x = 0;
        let forceN = 0;
        return [{ x, forceN }, ...steps.map(([dx, dForce]) => ({ x: (x += dx), forceN: (forceN += dForce) }))];
      });
    fc.assert(
      fc.property(increasing, (points) => {
        const fit = { model: 'monotone-cubic', knots: monotoneKnots(points) } as const;
        for (const point of points) expect(evaluateModel(fit, point.x)).toBeCloseTo(point.forceN, 6);
        const last = points.at(-1)?.x ?? 0;
        let previous = -Infinity;
        for (let step = 0; step <= 400; step++) {
          const value = evaluateModel(fit, (last * 1.2 * step) / 400);
          expect(value).toBeGreaterThanOrEqual(previous - 1e-9);
          previous = value;
        }
      }),
    );
  });
});

describe('bad input is refused, naming it, before anything is fitted', () => {
  const load = (raw: number, forceN: number, massKg: number | null = null): CalibrationPoint => ({ raw, forceN, massKg, sdRaw: null, kind: 'load' });

  it.each<[string, 'fsr' | 'hx711', number, CalibrationPoint[], RegExp]>([
    ['no points', 'hx711', 0, [], /calibration for device 1a2b3c4d has only 0 points; at least 2 are needed: run `npm run calibrate`/],
    ['one point', 'fsr', 0, [load(400, 10)], /has only 1 point; at least 2 are needed/],
    ['a duplicate raw value', 'fsr', 0, [load(400, 10), load(400, 12), load(600, 30)], /two points have the same raw value 400 \(10.00 N and 12.00 N\)/],
    ['force not increasing with raw', 'hx711', 0, [load(1000, 5), load(2000, 4)], /force does not increase with raw: 1000 counts at 5.00 N but 2000 counts at 4.00 N/],
    ['equal forces at two raw values', 'hx711', 0, [load(1000, 5), load(2000, 5)], /force does not increase with raw/],
    ['a negative mass', 'hx711', 0, [load(1000, 5), load(2000, -9.8, -1)], /a load of -1 kg is negative/],
    ['a negative force', 'fsr', 0, [load(100, 5), load(200, -3)], /a load of -3 N is negative/],
    ['a saturated FSR', 'fsr', 0, [load(300, 5), load(1023, 200)], /at full scale \(the FSR is saturated\): use a lighter load/],
    ['an FSR point without load', 'fsr', 20, [load(15, 5), load(400, 20)], /is no load on an FSR/],
    ['raw outside the sensor range', 'fsr', 0, [load(300, 5), load(5000, 200)], /raw 5000 is outside the fsr range 0 to 1023 counts/],
  ])('%s', (_name, sensor, tareRaw, points, message) => {
    let thrown: unknown;
    try {
      fitCalibration({ sensor, tareRaw, points }, LABEL);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CalibrationError);
    expect((thrown as Error).message).toMatch(message);
  });
});
