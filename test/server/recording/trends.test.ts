// Trends and label matching as pure code over hold rows (no store): weeks start on Monday,
// UTC or in the reader's time zone; medians; spellings of one label make one group named as first written; groups in
// label order with the unlabelled last; holds in time order whatever order the storage
// returns them in. Properties (fast-check) over generated holds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HoldLabel } from '../../../server/contract/records.ts';
import { labelMatchKey, spellingsOf } from '../../../server/recording/labels.ts';
import type { StoredHoldAt } from '../../../server/recording/store.ts';
import { median, trendsOf, weekStartOf } from '../../../server/recording/trends.ts';

const DAY_MS = 86_400_000;

function holdAt(sessionId: number, index: number, sessionStartedAtMs: number, label: HoldLabel, durationMs = 30_000, peakN = 25, startMs = 1000): StoredHoldAt {
  return {
    sessionId,
    index,
    sessionStartedAtMs,
    hold: { startMs, endMs: startMs + durationMs, durationMs, meanN: peakN * 0.8, peakN, timeInBandMs: durationMs, timeOverMs: 0 },
    targetHoldMs: 60_000,
    label,
  };
}

describe('label matching', () => {
  it('ignores case, hyphens, underscores and runs of spaces, and finds every stored spelling of a label', () => {
    expect(labelMatchKey('  Upper_back ')).toBe('upper back');
    expect(labelMatchKey('upper--back')).toBe(labelMatchKey('UPPER BACK'));
    expect(labelMatchKey('upperback')).not.toBe(labelMatchKey('upper back'));
    expect(spellingsOf('upper-back', ['Upper back', 'upper_back', 'neck', 'upperback'])).toEqual(['Upper back', 'upper_back']);
    expect(spellingsOf('shoulders', ['neck'])).toEqual([]);
  });
});

describe('trends', () => {
  it('starts weeks on Monday, UTC, across months and years', () => {
    expect(weekStartOf(Date.UTC(2026, 10, 9))).toBe('2026-11-09');
    expect(weekStartOf(Date.UTC(2026, 10, 15, 23, 59, 59, 999))).toBe('2026-11-09');
    expect(weekStartOf(Date.UTC(2026, 10, 16))).toBe('2026-11-16');
    expect(weekStartOf(Date.UTC(2026, 0, 1, 12))).toBe('2025-12-29');
  });

  it("starts weeks on the reader's local Monday: a Sunday evening in UTC is Monday morning in Auckland", () => {
    const sundayEveningUtc = Date.UTC(2026, 10, 15, 20);
    expect(weekStartOf(sundayEveningUtc)).toBe('2026-11-09');
    expect(weekStartOf(sundayEveningUtc, 'Pacific/Auckland')).toBe('2026-11-16');
    // Monday 01:00 in Berlin is still Sunday in UTC and in Los Angeles.
    const mondayEarlyBerlin = Date.UTC(2026, 10, 16, 0);
    expect(weekStartOf(mondayEarlyBerlin, 'Europe/Berlin')).toBe('2026-11-16');
    expect(weekStartOf(Date.UTC(2026, 10, 15, 23, 30), 'Europe/Berlin')).toBe('2026-11-16');
    expect(weekStartOf(Date.UTC(2026, 10, 16, 7, 59), 'America/Los_Angeles')).toBe('2026-11-09');
    expect(weekStartOf(Date.UTC(2026, 10, 16, 8), 'America/Los_Angeles')).toBe('2026-11-16');
  });

  it("groups holds by the reader's weeks: two holds a UTC week apart are one week in Auckland", () => {
    const label = { bodyArea: 'neck', knot: 'left C5' };
    // Each session's hold starts 1 s in: Sunday 20:00 UTC (Monday 09:00 NZDT) and Monday 02:00 UTC.
    const holds = [holdAt(1, 0, Date.UTC(2026, 10, 15, 19, 59, 59), label), holdAt(2, 0, Date.UTC(2026, 10, 16, 1, 59, 59), label)];
    expect(trendsOf(holds).groups[0]?.weeks.map((week) => [week.weekStart, week.holdCount])).toEqual([['2026-11-09', 1], ['2026-11-16', 1]]);
    expect(trendsOf(holds, 'Pacific/Auckland').groups[0]?.weeks.map((week) => [week.weekStart, week.holdCount])).toEqual([['2026-11-16', 2]]);
  });

  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([40, 10, 30, 20])).toBe(25);
    expect(median([7])).toBe(7);
    expect(median([])).toBe(0);
  });

  it('groups the spellings of one label, named as first written in time, labelled groups first and the unlabelled last', () => {
    const monday = Date.UTC(2026, 10, 9, 10);
    const trends = trendsOf([
      holdAt(3, 0, monday + 2 * DAY_MS, { bodyArea: 'Neck', knot: 'left C5' }),
      holdAt(1, 0, monday, { bodyArea: null, knot: null }),
      holdAt(2, 1, monday + DAY_MS, { bodyArea: 'neck', knot: 'left-c5' }, 40_000, 30, 60_000),
      holdAt(2, 0, monday + DAY_MS, { bodyArea: 'neck', knot: 'Left C5' }, 20_000, 20),
      holdAt(4, 0, monday, { bodyArea: 'back', knot: null }),
      holdAt(5, 0, monday, { bodyArea: null, knot: 'C7' }),
    ]);
    expect(trends.groups.map((group) => [group.bodyArea, group.knot])).toEqual([
      ['back', null],
      ['neck', 'Left C5'],
      [null, 'C7'],
      [null, null],
    ]);
    const neck = trends.groups[1];
    expect(neck?.holds.map((hold) => [hold.sessionId, hold.holdNumber])).toEqual([
      [2, 1],
      [2, 2],
      [3, 1],
    ]);
    expect(neck?.holds[0]?.at).toBe(new Date(monday + DAY_MS + 1000).toISOString());
    expect(neck?.weeks).toEqual([{ weekStart: '2026-11-09', holdCount: 3, medianDurationMs: 30_000, longestDurationMs: 40_000, medianPeakN: 25, highestPeakN: 30 }]);
  });

  it('splits a group into weeks in time order, with figures rounded as analyze prints them', () => {
    const sunday = Date.UTC(2026, 10, 15, 22);
    const trends = trendsOf([
      holdAt(2, 0, sunday + 7 * 3_600_000, { bodyArea: 'neck', knot: null }, 10_000.0004, 20.0000004),
      holdAt(1, 0, sunday, { bodyArea: 'neck', knot: null }, 12_000),
    ]);
    expect(trends.groups[0]?.weeks.map((week) => [week.weekStart, week.holdCount, week.medianDurationMs, week.highestPeakN])).toEqual([
      ['2026-11-09', 1, 12_000, 25],
      ['2026-11-16', 1, 10_000, 20],
    ]);
  });
});

const labelArbitrary: fc.Arbitrary<HoldLabel> = fc.record({
  bodyArea: fc.option(fc.constantFrom('neck', 'Neck', 'upper back', 'Upper-back', 'shoulders'), { nil: null }),
  knot: fc.option(fc.constantFrom('C5', 'c5', 'left trapezius', 'Left_Trapezius'), { nil: null }),
});

/** Holds of sessions over a few months; (session, index) unique. */
const holdsArbitrary: fc.Arbitrary<StoredHoldAt[]> = fc
  .array(
    fc.record({
      startedAtMs: fc.integer({ min: Date.UTC(2025, 11, 1), max: Date.UTC(2026, 2, 1) }),
      holds: fc.array(fc.record({ label: labelArbitrary, durationMs: fc.integer({ min: 1000, max: 120_000 }), peakN: fc.integer({ min: 1, max: 60 }) }), { minLength: 1, maxLength: 6 }),
    }),
    { maxLength: 20 },
  )
  .map((sessions) =>
    sessions.flatMap((session, sessionIndex) => session.holds.map((hold, index) => holdAt(sessionIndex + 1, index, session.startedAtMs, hold.label, hold.durationMs, hold.peakN, 1000 + index * 200_000))),
  );

describe('trends: properties', () => {
  it('gives every time the Monday (UTC) on or before it, less than a week before', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        const weekStart = Date.parse(`${weekStartOf(ms)}T00:00:00Z`);
        expect(new Date(weekStart).getUTCDay()).toBe(1);
        expect(ms - weekStart).toBeGreaterThanOrEqual(0);
        expect(ms - weekStart).toBeLessThan(7 * DAY_MS);
        expect(weekStartOf(weekStart)).toBe(weekStartOf(ms));
      }),
    );
  });

  it("gives every time the Monday on or before its date in the reader's time zone, less than a week before", () => {
    const zones = ['Pacific/Auckland', 'Pacific/Chatham', 'Asia/Kolkata', 'Europe/Berlin', 'America/Los_Angeles', 'Pacific/Honolulu'];
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) }), fc.constantFrom(...zones), (ms, timeZone) => {
        const localDate = Date.parse(`${new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(ms)}T00:00:00Z`);
        const weekStart = Date.parse(`${weekStartOf(ms, timeZone)}T00:00:00Z`);
        expect(new Date(weekStart).getUTCDay()).toBe(1);
        expect(localDate - weekStart).toBeGreaterThanOrEqual(0);
        expect(localDate - weekStart).toBeLessThan(7 * DAY_MS);
      }),
    );
  });

  it('has a median with at least half the values on either side of it, whatever their order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 40 }), (values) => {
        const middle = median(values);
        expect(values.filter((value) => value <= middle).length * 2).toBeGreaterThanOrEqual(values.length);
        expect(values.filter((value) => value >= middle).length * 2).toBeGreaterThanOrEqual(values.length);
        expect(median([...values].reverse())).toBe(middle);
      }),
    );
  });

  it('does not depend on the order the storage returns holds in, keeps every hold once, in time order, in its week', () => {
    fc.assert(
      fc.property(holdsArbitrary, fc.integer(), (holds, seed) => {
        const shuffled = fc.sample(fc.shuffledSubarray(holds, { minLength: holds.length, maxLength: holds.length }), { numRuns: 1, seed })[0] ?? holds;
        const trends = trendsOf(holds);
        expect(trendsOf(shuffled)).toEqual(trends);
        expect(trends.groups.reduce((sum, group) => sum + group.holds.length, 0)).toBe(holds.length);
        for (const group of trends.groups) {
          const times = group.holds.map((hold) => Date.parse(hold.at));
          expect(times).toEqual([...times].sort((a, b) => a - b));
          expect(group.weeks.reduce((sum, week) => sum + week.holdCount, 0)).toBe(group.holds.length);
          expect(group.weeks.map((week) => week.weekStart)).toEqual([...new Set(times.map((ms) => weekStartOf(ms)))]);
          for (const week of group.weeks) {
            const inWeek = group.holds.filter((hold) => weekStartOf(Date.parse(hold.at)) === week.weekStart);
            expect(week.medianDurationMs).toBe(median(inWeek.map((hold) => hold.durationMs)));
            expect(week.highestPeakN).toBe(Math.max(...inWeek.map((hold) => hold.peakN)));
          }
        }
      }),
    );
  });

  it('makes one group per label (spellings together), the labelled in order, the unlabelled last', () => {
    fc.assert(
      fc.property(holdsArbitrary, (holds) => {
        const groups = trendsOf(holds).groups;
        const keyOf = (label: HoldLabel): string => JSON.stringify([label.bodyArea === null ? null : labelMatchKey(label.bodyArea), label.knot === null ? null : labelMatchKey(label.knot)]);
        expect(new Set(groups.map(keyOf)).size).toBe(groups.length);
        expect(groups.length).toBe(new Set(holds.map((hold) => keyOf(hold.label))).size);
        const unlabelled = groups.findIndex((group) => group.bodyArea === null && group.knot === null);
        if (unlabelled !== -1) expect(unlabelled).toBe(groups.length - 1);
        const labelled = groups.filter((group) => group.bodyArea !== null || group.knot !== null);
        for (let index = 1; index < labelled.length; index++) {
          const [before, after] = [labelled[index - 1], labelled[index]];
          if (before?.bodyArea !== null && after?.bodyArea !== null) expect((before?.bodyArea ?? '').localeCompare(after?.bodyArea ?? '')).toBeLessThanOrEqual(0);
          if (before?.bodyArea === null) expect(after?.bodyArea).toBeNull();
        }
      }),
    );
  });
});
