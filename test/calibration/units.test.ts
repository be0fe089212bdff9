// Units on top of newtons: forces (N, kgf, lbf), pressures through the contact area
// (kPa, kgf/cm²), and loads as people type them; bad loads refused with a message.
import { describe, expect, it } from 'vitest';
import { displayDecimals, formatInUnit, fromDisplay, FORCE_UNITS, LoadError, parseLoad, toDisplay } from '../../calibration/units.ts';

describe('units', () => {
  it('converts with the standard definitions (docs/calibration.md)', () => {
    expect(toDisplay(9.80665, 'kgf', 1.5)).toBeCloseTo(1, 12);
    expect(toDisplay(4.44822, 'lbf', 1.5)).toBeCloseTo(1, 5);
    // 45 N on 1.5 cm² is 300 kPa, and 1 kgf/cm² is 98.0665 kPa.
    expect(toDisplay(45, 'kPa', 1.5)).toBeCloseTo(300, 9);
    expect(toDisplay(9.80665, 'kgf/cm²', 1)).toBeCloseTo(1, 12);
    expect(toDisplay(45, 'kgf/cm²', 1.5) * 98.0665).toBeCloseTo(300, 9);
  });

  it.each(FORCE_UNITS)('%s round-trips', (unit) => {
    for (const forceN of [0, 0.3, 12.5, 45, 120]) expect(fromDisplay(toDisplay(forceN, unit, 2.2), unit, 2.2)).toBeCloseTo(forceN, 9);
  });

  it('shows about 0.1 N of resolution in every unit', () => {
    expect(displayDecimals('N', 1.5)).toBe(1);
    expect(displayDecimals('kgf', 1.5)).toBe(2);
    expect(displayDecimals('lbf', 1.5)).toBe(2);
    expect(displayDecimals('kPa', 1.5)).toBe(0);
    expect(formatInUnit(45, 'kgf', 1.5)).toBe('4.59 kgf');
    expect(formatInUnit(null, 'N', 1.5)).toBe('–');
  });

  it.each([
    ['500 g', 0.5, 4.903325],
    ['1.2kg', 1.2, 11.76798],
    ['2 lb', 0.90718474, 8.896443],
    ['3', 3, 29.41995],
    ['9.8 N', null, 9.8],
  ])('reads the load "%s"', (text, massKg, forceN) => {
    const load = parseLoad(text);
    if (massKg === null) expect(load.massKg).toBeNull();
    else expect(load.massKg).toBeCloseTo(massKg, 9);
    expect(load.forceN).toBeCloseTo(forceN, 4);
  });

  it.each([
    ['-1 kg', /the load -1 kg is negative/],
    ['heavy', /"heavy" is not a load: type a number and a unit, e.g. 500 g/],
    ['5 stone', /not a load/],
  ])('refuses "%s"', (text, message) => {
    expect(() => parseLoad(text)).toThrow(LoadError);
    expect(() => parseLoad(text)).toThrow(message);
  });
});
