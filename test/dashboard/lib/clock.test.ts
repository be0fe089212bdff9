// Session time on the dashboard: m:ss text, and a time axis whose ticks fall on round
// clock steps at every zoom, labelled finely enough to tell them apart.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clockText, clockTickLabel, clockTicks } from '../../../dashboard/src/lib/clock.ts';

describe('session clock', () => {
  it('reads m:ss, and h:mm:ss past the hour', () => {
    expect([0, 9.4, 59.6, 65, 3599, 3600, 3725].map(clockText)).toEqual(['0:00', '0:09', '1:00', '1:05', '59:59', '1:00:00', '1:02:05']);
  });

  it('puts the ticks on round clock steps: whole minutes for a 4-minute session, not 0:50 and 1:40', () => {
    expect(clockTicks(0, 240)).toEqual([0, 60, 120, 180, 240]);
    expect(clockTicks(0, 18.2)).toEqual([0, 5, 10, 15]);
    expect(clockTicks(4.3, 13.7)).toEqual([6, 8, 10, 12]);
  });

  it('labels ticks closer than a second with tenths or hundredths, so no two read the same', () => {
    const ticks = clockTicks(5.02, 5.61);
    expect(ticks).toEqual([5.1, 5.2, 5.3, 5.4, 5.5, 5.6]);
    expect(ticks.map((tick) => clockTickLabel(tick, 0.1))).toEqual(['0:05.1', '0:05.2', '0:05.3', '0:05.4', '0:05.5', '0:05.6']);
    expect(clockTickLabel(65.05, 0.05)).toBe('1:05.05');
    expect(clockTickLabel(65, 5)).toBe('1:05');
  });

  it('property: at most 8 ticks, inside the range, evenly spaced, with distinct labels', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 20_000, noNaN: true }), fc.double({ min: 0.05, max: 20_000, noNaN: true }), (fromS, spanS) => {
        const ticks = clockTicks(fromS, fromS + spanS);
        expect(ticks.length).toBeGreaterThan(0);
        expect(ticks.length).toBeLessThanOrEqual(8);
        for (const tick of ticks) {
          expect(tick).toBeGreaterThanOrEqual(fromS - 0.005);
          expect(tick).toBeLessThanOrEqual(fromS + spanS + 0.005);
        }
        const step = (ticks[1] ?? 0) - (ticks[0] ?? 0);
        if (ticks.length > 1) expect(new Set(ticks.map((tick) => clockTickLabel(tick, step))).size).toBe(ticks.length);
      }),
    );
  });
});
