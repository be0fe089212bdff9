/**
 * The sensors' facts: the raw counts each sensor kind can report and its documented
 * default curve (raw counts <-> newtons), as the `ForceCalibration` every pipeline
 * converts with. A device without a fitted profile converts with its sensor's default
 * curve, which says so (`source: 'default'`) so that every place its force appears can
 * show it as uncalibrated; `calibration/` fits profiles on top of these.
 *
 *   defaultCalibration('fsr').toNewtons(512); // ~30 N: half scale
 */
import type { SensorKind } from './transport.ts';

/** Where a device's conversion comes from. `exact` is the simulator: it knows its own curve. */
export type CalibrationSource = 'default' | 'profile' | 'exact';

export interface ForceCalibration {
  readonly source: CalibrationSource;
  readonly sensor: SensorKind;
  /** Raw counts to newtons; never negative, never NaN. */
  toNewtons(raw: number): number;
  /** Newtons to the raw count at which `toNewtons` first reaches that force (for `LIMIT`). */
  toRaw(forceN: number): number;
}

/** The raw counts each sensor can report (protocol v1). */
export const SENSOR_RAW_RANGE: Record<SensorKind, { readonly min: number; readonly max: number }> = {
  fsr: { min: 0, max: 1023 },
  hx711: { min: -0x80_0000, max: 0x7f_ffff },
};

/** ADC full scale of the FSR build (10-bit). */
export const FSR_RAW_MAX = SENSOR_RAW_RANGE.fsr.max;

/**
 * Default FSR curve. The reference wiring is a divider: FSR from 5 V to A0, 10 kOhm from
 * A0 to ground. An FSR's conductance grows roughly in proportion to force, so with
 * R_fsr = k / F the divider gives raw = 1023 * F / (F + F_half), where F_half is the
 * force at which the FSR equals the fixed resistor (half scale). F_half = 30 N suits a
 * 13 mm FSR under a 1.5 cm^2 tip: usable resolution from ~1 N to ~100 N, most of it in
 * the 8-60 N range where the presets live. Real parts spread 10-25 % around this.
 */
export const FSR_DEFAULT_HALF_SCALE_N = 30;

/**
 * Default HX711 scale: a 20 kg bar load cell (2 mV/V) at gain 128 and 5 V excitation
 * gives about 8.39e6 counts full scale over 196 N, i.e. ~42 800 counts per newton.
 * Offset 0: the firmware tares at boot and on `TARE`.
 */
export const HX711_DEFAULT_COUNTS_PER_N = 42_800;
const HX711_RAW_MAX = SENSOR_RAW_RANGE.hx711.max;

function fsrDefault(): ForceCalibration {
  return {
    source: 'default',
    sensor: 'fsr',
    toNewtons(raw) {
      const clamped = Math.min(Math.max(raw, 0), FSR_RAW_MAX - 1);
      return (FSR_DEFAULT_HALF_SCALE_N * clamped) / (FSR_RAW_MAX - clamped);
    },
    toRaw(forceN) {
      const f = Math.max(forceN, 0);
      return Math.min(Math.ceil((FSR_RAW_MAX * f) / (f + FSR_DEFAULT_HALF_SCALE_N)), FSR_RAW_MAX);
    },
  };
}

function hx711Default(): ForceCalibration {
  return {
    source: 'default',
    sensor: 'hx711',
    toNewtons(raw) {
      return Math.max(raw, 0) / HX711_DEFAULT_COUNTS_PER_N;
    },
    toRaw(forceN) {
      return Math.min(Math.ceil(Math.max(forceN, 0) * HX711_DEFAULT_COUNTS_PER_N), HX711_RAW_MAX);
    },
  };
}

/** The documented default curve for a sensor kind, used when a device has no profile. */
export function defaultCalibration(sensor: SensorKind): ForceCalibration {
  return sensor === 'fsr' ? fsrDefault() : hx711Default();
}

/** The same curve, marked exact: for the simulator, which generates raw counts through it. */
export function exactCalibration(sensor: SensorKind): ForceCalibration {
  return { ...defaultCalibration(sensor), source: 'exact' };
}
