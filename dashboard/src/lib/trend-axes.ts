// The axes every small multiple of the trends page shares, so they compare at a glance:
// plain arithmetic on the trends, apart from the chart that draws them.
import type { TrendGroup } from '../../../server/contract/records.ts';

export const DAY_MS = 86_400_000;

/**
 * A wall-clock time as days since 1970 in the browser's time zone: whole numbers fall on
 * local midnights, so a hold at 00:30 local time sits on its own day, not on UTC's.
 */
export function localDay(ms: number): number {
  return (ms - new Date(ms).getTimezoneOffset() * 60_000) / DAY_MS;
}

/** Shared axes of every multiple: local days (see `localDay`) and the metric's top. */
export interface TrendAxes {
  readonly fromDay: number;
  readonly toDay: number;
  readonly durationMaxS: number;
  readonly peakMaxN: number;
}

/** A week's first day (Monday, from `YYYY-MM-DD`) as a local day (its midnight, see `localDay`). */
export function weekDay(weekStart: string): number {
  return Date.parse(`${weekStart}T00:00:00Z`) / DAY_MS;
}

/** The first multiple of `step` above `value`: the highest dot never sits on the chart's top edge. */
function stepAbove(value: number, step: number): number {
  return (Math.floor(value / step) + 1) * step;
}

/** Whole weeks from the first hold's to the last one's, so each week's median line fits. */
export function trendAxes(groups: readonly TrendGroup[]): TrendAxes {
  const weeks = groups.flatMap((group) => group.weeks.map((week) => weekDay(week.weekStart)));
  const first = weeks.length === 0 ? Math.floor(localDay(Date.now())) : Math.min(...weeks);
  return {
    fromDay: first,
    toDay: Math.max(...weeks, first) + 7,
    durationMaxS: stepAbove(Math.max(...groups.flatMap((group) => group.holds.map((hold) => Math.max(hold.durationMs, hold.targetHoldMs) / 1000)), 10), 10),
    peakMaxN: stepAbove(Math.max(...groups.flatMap((group) => group.holds.map((hold) => hold.peakN)), 10), 5),
  };
}
