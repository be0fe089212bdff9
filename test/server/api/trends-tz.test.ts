// GET /api/trends in the reader's time zone, over HTTP on the real server with a real SQLite
// file: two holds a UTC week apart (Sunday 20:00 and Monday 02:00 UTC) are one week in
// Auckland, where both fall on Monday; an unknown or malformed `tz` is a 400 naming it.
// PostgreSQL takes the same path: weeks are counted in code above the storage (trends.ts).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../server/app.ts';
import { trendsSchema } from '../../../server/contract/records.ts';
import { getJson, seedPastSessions, startRecordingServer, tempDir } from '../recording/support.ts';

/** Each seeded hold starts 5 s into its session. */
const HOLD_OFFSET_MS = 5000;

describe('trends in the reader’s time zone', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;

  const weeksOf = async (query: string): Promise<[string, number][]> => {
    const { status, body } = await getJson(`${server.url}/api/trends${query}`);
    expect(status).toBe(200);
    return trendsSchema.parse(body).groups.flatMap((group) => group.weeks.map((week): [string, number] => [week.weekStart, week.holdCount]));
  };

  beforeAll(async () => {
    dir = tempDir();
    const db = join(dir.path, 'trends-tz.db');
    const hold = { durationMs: 30_000, peakN: 24, bodyArea: 'neck', knot: 'left C5' };
    await seedPastSessions(db, [
      { startedAtMs: Date.UTC(2026, 10, 15, 20) - HOLD_OFFSET_MS, holds: [hold] },
      { startedAtMs: Date.UTC(2026, 10, 16, 2) - HOLD_OFFSET_MS, holds: [hold] },
    ]);
    server = await startRecordingServer({ devices: [], db });
  });
  afterAll(async () => {
    await server.close();
    dir.remove();
  });

  it('starts weeks on Monday, UTC, unless told the time zone', async () => {
    expect(await weeksOf('')).toEqual([['2026-11-09', 1], ['2026-11-16', 1]]);
    expect(await weeksOf('?tz=UTC')).toEqual([['2026-11-09', 1], ['2026-11-16', 1]]);
  });

  it('starts weeks on the local Monday of the time zone given', async () => {
    expect(await weeksOf('?tz=Pacific%2FAuckland')).toEqual([['2026-11-16', 2]]);
    // Sunday 12:00 and 18:00 in Los Angeles: the week before.
    expect(await weeksOf('?tz=America/Los_Angeles')).toEqual([['2026-11-09', 2]]);
    expect(await weeksOf('?tz=Europe/Berlin&from=2026-11-16')).toEqual([['2026-11-16', 1]]);
  });

  it.each([
    ['?tz=Mars/Olympus_Mons', /^query: tz must be an IANA time zone name this server knows, such as Europe\/Berlin/],
    ['?tz=', /^query: tz must be an IANA time zone name/],
    [`?tz=${'A'.repeat(65)}`, /^query: tz must be an IANA time zone name of at most 64 characters/],
    ['?tz=UTC&tz=Europe/Berlin', /^query: tz must be given once/],
  ])('refuses %s with a 400 naming tz', async (query, message) => {
    const { status, body } = await getJson(`${server.url}/api/trends${query}`);
    expect(status).toBe(400);
    expect((body as { error: string }).error).toMatch(message);
  });
});
