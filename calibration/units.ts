/**
 * Units people think in, on top of the newtons the pipeline and the pressure engine use
 * (the engine never sees anything else). Forces: N, kgf, lbf. Pressures: kPa and
 * kgf/cm^2, which need the tip's contact area (it belongs to the device's calibration
 * profile; 1.5 cm^2 by default). Masses (what a user puts on the tip to calibrate it): g,
 * kg, lb, turned into the force they exert under standard gravity.
 *
 * Pure, with no Node or browser imports: the server, the CLI and the dashboard share it.
 *
 *   toDisplay(45, 'kgf', 1.5)       // 4.59
 *   fromDisplay(300, 'kPa', 1.5)    // 45 (N)
 *   parseLoad('500 g')              // { massKg: 0.5, forceN: 4.903325 }
 */
import { z } from 'zod';

/** Standard gravity (ISO 80000-3): 1 kgf = 9.80665 N exactly. */
export const STANDARD_GRAVITY_MPS2 = 9.806_65;
/** 1 lbf = 0.45359237 kg x g0 = 4.4482216152605 N (rounded to 4.44822 in docs/calibration.md). */
export const NEWTONS_PER_LBF = 0.453_592_37 * STANDARD_GRAVITY_MPS2;
export const KG_PER_LB = 0.453_592_37;
/** The tip's contact area when a profile says nothing else (docs/calibration.md, "Units"). */
export const DEFAULT_CONTACT_AREA_CM2 = 1.5;

export const FORCE_UNITS = ['N', 'kgf', 'lbf', 'kPa', 'kgf/cm²'] as const;
export const forceUnitSchema = z.enum(FORCE_UNITS);
export type ForceUnit = z.infer<typeof forceUnitSchema>;

/** How many display units one newton is, for a contact area (only pressures use it). */
export function unitsPerNewton(unit: ForceUnit, areaCm2: number): number {
  switch (unit) {
    case 'N':
      return 1;
    case 'kgf':
      return 1 / STANDARD_GRAVITY_MPS2;
    case 'lbf':
      return 1 / NEWTONS_PER_LBF;
    // 1 N on 1 cm^2 (1e-4 m^2) is 1e4 Pa = 10 kPa.
    case 'kPa':
      return 10 / areaCm2;
    case 'kgf/cm²':
      return 1 / (STANDARD_GRAVITY_MPS2 * areaCm2);
  }
}

/** A force in newtons, in `unit` (a pressure over `areaCm2` for kPa and kgf/cm²). */
export function toDisplay(forceN: number, unit: ForceUnit, areaCm2: number): number {
  return forceN * unitsPerNewton(unit, areaCm2);
}

/** A value in `unit` back to newtons. */
export function fromDisplay(value: number, unit: ForceUnit, areaCm2: number): number {
  return value / unitsPerNewton(unit, areaCm2);
}

/** The unit as it is written in a CSV column name: `mean_n`, `peak_kgf`, `peak_kgf_per_cm2`. */
export function unitColumnSuffix(unit: ForceUnit): string {
  return unit === 'kgf/cm²' ? 'kgf_per_cm2' : unit.toLowerCase();
}

export function isPressureUnit(unit: ForceUnit): boolean {
  return unit === 'kPa' || unit === 'kgf/cm²';
}

/**
 * Decimals that show about the same resolution as 0.1 N in every unit (0.01 kgf,
 * 0.02 lbf, ~1 kPa on 1.5 cm^2), so switching units neither invents nor hides precision.
 */
export function displayDecimals(unit: ForceUnit, areaCm2: number): number {
  const stepInUnit = 0.1 * unitsPerNewton(unit, areaCm2);
  return Math.min(Math.max(Math.round(-Math.log10(stepInUnit)), 0), 3);
}

/** e.g. `4.59 kgf`; `–` for no value. */
export function formatInUnit(forceN: number | null, unit: ForceUnit, areaCm2: number, withUnit = true): string {
  if (forceN === null || !Number.isFinite(forceN)) return '–';
  const decimals = displayDecimals(unit, areaCm2);
  const fixed = toDisplay(forceN, unit, areaCm2).toFixed(decimals);
  // A residual of -0.0001 N is no force at all: "0.0", not "-0.0".
  const text = Number(fixed) === 0 ? (0).toFixed(decimals) : fixed;
  return withUnit ? `${text} ${unit}` : text;
}

// ---------------------------------------------------------------- masses

export const MASS_UNITS = ['g', 'kg', 'lb', 'N'] as const;
export const massUnitSchema = z.enum(MASS_UNITS);
export type MassUnit = z.infer<typeof massUnitSchema>;

/** What a calibration weight weighs: its mass (null when given directly as a force) and its force. */
export interface KnownLoad {
  readonly massKg: number | null;
  readonly forceN: number;
}

export class LoadError extends Error {
  override readonly name = 'LoadError';
}

/** A known load given as a number and a unit (`N` is a force given directly, e.g. from a force gauge). */
export function knownLoad(value: number, unit: MassUnit): KnownLoad {
  if (!Number.isFinite(value)) throw new LoadError(`the load ${value} ${unit} is not a number`);
  if (value < 0) throw new LoadError(`the load ${value} ${unit} is negative: a calibration mass weighs 0 or more`);
  if (unit === 'N') return { massKg: null, forceN: value };
  const massKg = unit === 'g' ? value / 1000 : unit === 'kg' ? value : value * KG_PER_LB;
  return { massKg, forceN: massKg * STANDARD_GRAVITY_MPS2 };
}

const LOAD_PATTERN = /^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?)\s*(g|kg|lb|lbs|n)?\s*$/i;

/**
 * A load as a person types it: `500 g`, `1.2 kg`, `2lb`, `9.8 N`. A bare number is taken
 * in `defaultUnit`.
 * @throws LoadError saying what was expected.
 */
export function parseLoad(text: string, defaultUnit: MassUnit = 'kg'): KnownLoad {
  const match = LOAD_PATTERN.exec(text);
  if (match === null) {
    throw new LoadError(`"${text.trim()}" is not a load: type a number and a unit, e.g. 500 g, 1.2 kg, 2 lb or 9.8 N`);
  }
  const value = Number(match[1]);
  const unitText = (match[2] ?? defaultUnit).toLowerCase();
  const unit: MassUnit = unitText === 'n' ? 'N' : unitText === 'lbs' ? 'lb' : (unitText as MassUnit);
  return knownLoad(value, unit);
}
