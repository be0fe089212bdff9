// CSV cells for exports (the review API's and the dashboard's tables): formula-safe text,
// and forces in a unit rounded to the millinewton they were recorded to.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FORCE_UNITS, unitsPerNewton } from '../../../calibration/units.ts';
import { csvCell, forceCell, forceDecimals } from '../../../server/contract/csv.ts';

const AREA_CM2 = 1.5;

describe('forceCell', () => {
  it('rounds per unit to what a millinewton is in it', () => {
    expect(FORCE_UNITS.map((unit) => forceDecimals(unit, AREA_CM2))).toEqual([3, 4, 4, 3, 5]);
    expect(forceCell(45, 'kgf', AREA_CM2)).toBe(4.5887);
    expect(csvCell(forceCell(45, 'kgf', AREA_CM2))).toBe('4.5887');
    expect(forceCell(49.912, 'N', AREA_CM2)).toBe(49.912);
    expect(forceCell(-0.0001, 'N', AREA_CM2)).toBe(0);
  });

  it('never loses more than half a millinewton, and never prints more decimals than that needs', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FORCE_UNITS), fc.integer({ min: 0, max: 500_000 }), (unit, milliNewtons) => {
        const forceN = milliNewtons / 1000;
        const cell = forceCell(forceN, unit, AREA_CM2);
        expect(Math.abs(cell / unitsPerNewton(unit, AREA_CM2) - forceN)).toBeLessThanOrEqual(0.0005 + 1e-9);
        const decimals = csvCell(cell).split('.')[1]?.length ?? 0;
        expect(decimals).toBeLessThanOrEqual(forceDecimals(unit, AREA_CM2));
      }),
    );
  });
});
