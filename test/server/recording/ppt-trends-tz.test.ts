// PPT trends by week in the reader's time zone (pptTrendsOf, as GET /api/ppt/trends?tz=
// serves it): two measurements a UTC week apart (Sunday 20:00 and Monday 02:00 UTC) are one
// week in Auckland, where both fall on Monday; over HTTP an unknown zone is a 400 naming tz.
import { describe, expect, it } from 'vitest';
import type { PptMeasurement } from '../../../server/contract/ppt.ts';
import { pptTrendsOf } from '../../../server/recording/ppt-records.ts';
import { pptTrendsQuerySchema } from '../../../server/contract/ppt.ts';

/** The fields trends read; the rest of a measurement does not take part. */
function measured(id: number, atMs: number, meanPptKPa: number): PptMeasurement {
  const summary = { n: 3, meanPptN: meanPptKPa / 10, meanPptKPa } as PptMeasurement['summary'];
  return { id, createdAt: new Date(atMs).toISOString(), bodyArea: 'neck', knot: 'left C5', phase: 'before', sessionId: null, summary } as PptMeasurement;
}

const sundayEvening = measured(1, Date.UTC(2026, 10, 15, 20), 300);
const mondayNight = measured(2, Date.UTC(2026, 10, 16, 2), 340);

describe('PPT trends by week', () => {
  it('start weeks on Monday, UTC, unless told the time zone', () => {
    const weeks = pptTrendsOf([sundayEvening, mondayNight]).groups[0]?.weeks;
    expect(weeks?.map((week) => [week.weekStart, week.beforeCount])).toEqual([['2026-11-09', 1], ['2026-11-16', 1]]);
  });

  it('start weeks on the local Monday of the time zone given', () => {
    const weeks = pptTrendsOf([sundayEvening, mondayNight], 'Pacific/Auckland').groups[0]?.weeks;
    expect(weeks?.map((week) => [week.weekStart, week.beforeCount, week.beforeKPa])).toEqual([['2026-11-16', 2, 320]]);
  });

  it('take tz in the query only as a time zone this server knows', () => {
    expect(pptTrendsQuerySchema.parse({ tz: 'Pacific/Auckland' })).toEqual({ tz: 'Pacific/Auckland' });
    expect(pptTrendsQuerySchema.safeParse({ tz: 'Mars/Olympus_Mons' }).error?.issues[0]?.path).toEqual(['tz']);
  });
});
