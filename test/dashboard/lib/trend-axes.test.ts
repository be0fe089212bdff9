// The trends page's shared axes: every week in view, and each metric's top a step above
// the highest value, so no dot sits on the chart's top edge.
import { describe, expect, it } from 'vitest';
import type { TrendGroup } from '../../../server/contract/records.ts';
import { trendAxes } from '../../../dashboard/src/lib/trend-axes.ts';

function group(holds: { durationMs: number; peakN: number }[], weekStarts: string[]): TrendGroup {
  return {
    bodyArea: 'neck',
    knot: null,
    holds: holds.map((hold, index) => ({ sessionId: 1, holdNumber: index + 1, at: '2026-10-05T12:00:00.000Z', meanN: hold.peakN * 0.8, targetHoldMs: 60_000, ...hold })),
    weeks: weekStarts.map((weekStart) => ({ weekStart, holdCount: 1, medianDurationMs: 1000, longestDurationMs: 1000, medianPeakN: 1, highestPeakN: 1 })),
  };
}

describe('trend axes', () => {
  it('spans from the first week to the end of the last, over every group', () => {
    const axes = trendAxes([group([], ['2026-10-05']), group([], ['2026-10-19'])]);
    expect(axes.fromDay * 86_400_000).toBe(Date.UTC(2026, 9, 5));
    expect(axes.toDay * 86_400_000).toBe(Date.UTC(2026, 9, 26));
  });

  it('puts the top a step above the highest hold, target or peak, also when it is a whole step', () => {
    expect(trendAxes([group([{ durationMs: 63_000, peakN: 27 }], ['2026-10-05'])])).toMatchObject({ durationMaxS: 70, peakMaxN: 30 });
    // 60 s is the target, 20 N a whole step: both get room above.
    expect(trendAxes([group([{ durationMs: 12_000, peakN: 20 }], ['2026-10-05'])])).toMatchObject({ durationMaxS: 70, peakMaxN: 25 });
  });
});
