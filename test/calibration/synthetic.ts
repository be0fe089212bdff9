// Synthetic sensors for the calibration tests: a force-sensing resistor and a load cell
// with the faults of real parts (an FSR's part spread, a curve that is not quite a
// power law, errors that grow with force; a load cell's offset and noise), seeded so
// every run sees the same data.
import type { CalibrationPoint } from '../../calibration/fit.ts';
import { SeededRandom } from '../../device/simulator/random.ts';

export interface SyntheticSensor {
  /** A reading of `forceN` as the mean raw count of a still period, with this part's errors. */
  read(forceN: number): number;
}

export interface FsrPart {
  /** The force at which the FSR equals the divider's resistor (the default curve: 30 N). */
  readonly halfScaleN: number;
  /** Conductance ~ force^exponent (1 for the default curve; real parts 0.9 to 1.3). */
  readonly exponent: number;
  /** Relative error of each reading (hysteresis, creep, placement), standard deviation. */
  readonly relativeNoise: number;
  /** Mild saturation at high force: the conductance grows less than the power law says. */
  readonly saturationN?: number;
  readonly seed: number;
}

export function syntheticFsr(part: FsrPart): SyntheticSensor {
  const random = new SeededRandom(part.seed);
  return {
    read(forceN) {
      const felt = forceN * (1 + part.relativeNoise * random.gaussian());
      let conductance = (felt / part.halfScaleN) ** part.exponent;
      if (part.saturationN !== undefined) conductance /= 1 + felt / part.saturationN;
      // ADC noise of about one count, averaged over a still period.
      return Math.min((1023 * conductance) / (1 + conductance) + 0.3 * random.gaussian(), 1022);
    },
  };
}

export interface LoadCell {
  readonly countsPerN: number;
  readonly offsetCounts: number;
  /** Noise of a still period's mean, counts. */
  readonly noiseCounts: number;
  readonly seed: number;
}

export function syntheticLoadCell(cell: LoadCell): SyntheticSensor {
  const random = new SeededRandom(cell.seed);
  return { read: (forceN) => cell.offsetCounts + forceN * cell.countsPerN + cell.noiseCounts * random.gaussian() };
}

export function loadPoints(sensor: SyntheticSensor, forcesN: readonly number[]): CalibrationPoint[] {
  return forcesN.map((forceN) => ({ raw: sensor.read(forceN), forceN, massKg: forceN / 9.80665, sdRaw: null, kind: 'load' }));
}
