/**
 * The unit the dashboard shows forces in: N, kgf, lbf, or a pressure (kPa, kgf/cm²) over
 * the device's contact area (its calibration profile's, else 1.5 cm²). The user picks it
 * once (the header's unit picker); it is remembered in localStorage and followed by the
 * live number, the gauge, the chart's axis, the hold list and the alert. Everything
 * underneath stays in newtons: this only changes how numbers are written.
 */
import { DEFAULT_CONTACT_AREA_CM2, displayDecimals, forceUnitSchema, formatInUnit, isPressureUnit, toDisplay, unitsPerNewton, type ForceUnit } from '../../../calibration/units.ts';
import type { DeviceInfo } from '../../../server/contract/live-events.ts';

const STORAGE_KEY = 'knotmeter.unit';

function remembered(): ForceUnit {
  try {
    const parsed = forceUnitSchema.safeParse(window.localStorage.getItem(STORAGE_KEY));
    return parsed.success ? parsed.data : 'N';
  } catch {
    // Storage can be refused (private windows, policies): newtons, not remembered.
    return 'N';
  }
}

class UnitPreference {
  unit = $state<ForceUnit>(remembered());

  set(unit: ForceUnit): void {
    this.unit = unit;
    try {
      window.localStorage.setItem(STORAGE_KEY, unit);
    } catch {
      // Not remembered across reloads; still used for this page.
    }
  }
}

/** The one preference of this page (a module-level rune: every component reads the same). */
export const units = new UnitPreference();

/** The device's contact area for pressures. */
export function areaOf(info: DeviceInfo): number {
  return info.calibrationDetail?.areaCm2 ?? DEFAULT_CONTACT_AREA_CM2;
}

/**
 * The contact area for recorded forces on the review pages: recordings keep newtons, not
 * the tip they were pressed with, so pressures there are over the default 1.5 cm² tip.
 */
export const REVIEW_AREA_CM2 = DEFAULT_CONTACT_AREA_CM2;

/** A force as the number to show (no unit), e.g. `4.59` in kgf; `–` for none. */
export function showForce(forceN: number | null, areaCm2: number): string {
  return formatInUnit(forceN, units.unit, areaCm2, false);
}

/** A force with its unit, e.g. `4.59 kgf`. */
export function showForceWithUnit(forceN: number | null, areaCm2: number): string {
  return formatInUnit(forceN, units.unit, areaCm2, true);
}

/** A threshold as written in a config, without trailing zeros: `45 N`, `4.59 kgf`, `300 kPa`. */
export function showThreshold(valueN: number, areaCm2: number, withUnit = true): string {
  const value = Number(toDisplay(valueN, units.unit, areaCm2).toFixed(displayDecimals(units.unit, areaCm2)));
  return withUnit ? `${value} ${units.unit}` : String(value);
}

/** What the quantity is called in the chosen unit: `force (kgf)`, `pressure (kPa)`. */
export function axisTitle(unit: ForceUnit): string {
  return `${isPressureUnit(unit) ? 'pressure' : 'force'} (${unit})`;
}

/** A round step (1, 2, 2.5 or 5 times a power of ten) near `roughStep`. */
export function niceStep(roughStep: number): number {
  if (!(roughStep > 0) || !Number.isFinite(roughStep)) return 1;
  const power = 10 ** Math.floor(Math.log10(roughStep));
  const fraction = roughStep / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/** An axis label: a value in newtons written in `unit` (toFixed(6) sheds the binary noise of 0.1 + 0.2). */
export function tickLabel(valueN: number, unit: ForceUnit, areaCm2: number): string {
  return String(Number((valueN * unitsPerNewton(unit, areaCm2)).toFixed(6)));
}

/**
 * Axis ticks at round values of the chosen unit, placed in newtons (the chart's data stay
 * in newtons), with their labels: about `count` of them from `minN` to `maxN`.
 */
export function unitTicks(minN: number, maxN: number, unit: ForceUnit, areaCm2: number, count = 6): { valueN: number; label: string }[] {
  const perN = unitsPerNewton(unit, areaCm2);
  const step = niceStep(((maxN - minN) * perN) / count);
  const ticks: { valueN: number; label: string }[] = [];
  for (let value = Math.ceil((minN * perN) / step - 1e-9) * step; value <= maxN * perN + 1e-9 && ticks.length < 100; value += step) {
    ticks.push({ valueN: value / perN, label: tickLabel(value / perN, unit, areaCm2) });
  }
  return ticks;
}
