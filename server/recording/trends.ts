/**
 * Trends: recorded holds grouped by body area and knot, with weekly figures (how many,
 * median and longest duration, median and highest peak). Pure: holds in, `Trends` out;
 * the storage only finds the holds (`SessionStorage.findHolds`).
 *
 *   const trends = trendsOf(await storage.findHolds({ fromMs }), 'Europe/Berlin');
 *
 * - Holds in a group come in time order (their session's start plus the hold's start;
 *   then session id and hold number).
 * - Spellings of one label (`labelMatchKey`) are one group, named as first written.
 * - Weeks start on Monday in the reader's time zone (an IANA name, UTC unless given), at
 *   local midnight, and come in time order: a hold late on a Sunday evening in Auckland is
 *   in the week it was there, not in UTC's next one.
 * - Groups: labelled ones first, by body area then knot (`localeCompare`, a missing part
 *   after the others); the unlabelled group last.
 *
 * Pipeline position: session store -> **trends** -> REST API (`GET /api/trends`).
 */
import type { TrendGroup, TrendHold, Trends, TrendWeek } from '../contract/records.ts';
import { labelMatchKey } from './labels.ts';
import { recordedHold } from './session-records.ts';
import type { StoredHoldAt } from './store.ts';

/** One formatter per time zone: making one is far slower than using it, and trends format every hold. */
const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar date of a wall-clock time in a time zone, as UTC midnight of that date (ms). */
function localDateOf(ms: number, timeZone: string): number {
  let format = dateFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' });
    dateFormats.set(timeZone, format);
  }
  const parts = format.formatToParts(ms);
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((each) => each.type === type)?.value);
  return Date.UTC(part('year'), part('month') - 1, part('day'));
}

/** Monday of the week of a wall-clock time in `timeZone` (UTC unless given), as YYYY-MM-DD. */
export function weekStartOf(ms: number, timeZone = 'UTC'): string {
  const date = new Date(localDateOf(ms, timeZone));
  const daysSinceMonday = (date.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - daysSinceMonday)).toISOString().slice(0, 10);
}

/** The middle value (the mean of the two middle ones for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** A part of a label in order (`localeCompare`), a missing part after every written one. */
function comparePart(a: string | null, b: string | null): number {
  if (a === null || b === null) return (a === null ? 1 : 0) - (b === null ? 1 : 0);
  return a.localeCompare(b);
}

/** Labelled groups first, by body area then knot; the unlabelled last. */
function compareGroups(a: TrendGroup, b: TrendGroup): number {
  const unlabelled = (group: TrendGroup): number => (group.bodyArea === null && group.knot === null ? 1 : 0);
  return unlabelled(a) - unlabelled(b) || comparePart(a.bodyArea, b.bodyArea) || comparePart(a.knot, b.knot);
}

function byTime(a: StoredHoldAt, b: StoredHoldAt): number {
  return a.sessionStartedAtMs + a.hold.startMs - (b.sessionStartedAtMs + b.hold.startMs) || a.sessionId - b.sessionId || a.index - b.index;
}

/** A group's holds by week (from Monday in `timeZone`), weeks in the order of their holds. */
export function weeksOf(holds: readonly TrendHold[], timeZone = 'UTC'): TrendWeek[] {
  const byWeek = new Map<string, TrendHold[]>();
  for (const hold of holds) {
    const week = weekStartOf(Date.parse(hold.at), timeZone);
    const list = byWeek.get(week);
    if (list === undefined) byWeek.set(week, [hold]);
    else list.push(hold);
  }
  return [...byWeek].map(([weekStart, inWeek]) => ({
    weekStart,
    holdCount: inWeek.length,
    medianDurationMs: median(inWeek.map((hold) => hold.durationMs)),
    longestDurationMs: Math.max(...inWeek.map((hold) => hold.durationMs)),
    medianPeakN: median(inWeek.map((hold) => hold.peakN)),
    highestPeakN: Math.max(...inWeek.map((hold) => hold.peakN)),
  }));
}

/** Holds (in any order) grouped by label, with their weeks (from Monday in `timeZone`, an IANA name). */
export function trendsOf(holds: readonly StoredHoldAt[], timeZone = 'UTC'): Trends {
  const groups = new Map<string, TrendGroup>();
  for (const stored of [...holds].sort(byTime)) {
    const { bodyArea, knot } = stored.label;
    const key = JSON.stringify([bodyArea === null ? null : labelMatchKey(bodyArea), knot === null ? null : labelMatchKey(knot)]);
    let group = groups.get(key);
    if (group === undefined) {
      group = { bodyArea, knot, holds: [], weeks: [] };
      groups.set(key, group);
    }
    const hold = recordedHold(stored);
    group.holds.push({
      sessionId: stored.sessionId,
      holdNumber: hold.number,
      at: new Date(stored.sessionStartedAtMs + stored.hold.startMs).toISOString(),
      durationMs: hold.durationMs,
      meanN: hold.meanN,
      peakN: hold.peakN,
      targetHoldMs: hold.targetHoldMs,
    });
  }
  for (const group of groups.values()) group.weeks = weeksOf(group.holds, timeZone);
  return { groups: [...groups.values()].sort(compareGroups) };
}
