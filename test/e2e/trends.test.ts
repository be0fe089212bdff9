// The history and trends pages end to end in Debian's chromium, on six weeks of sessions
// written into a real SQLite file through the store and served by the real server: the
// history lists every session, the trends page draws one small multiple per body area
// and knot with the right weekly figures, its date filter narrows them, the weeks export
// as CSV, and the unit choice reaches its tables.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { openDashboard } from '../support/browser.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { seedPastSessions, startRecordingServer, tempDir, type PastHold } from '../server/recording/support.ts';

const WAIT = { timeout: 20_000 };
/** Mondays (UTC) of the six weeks recorded. */
const FIRST_MONDAY_MS = Date.UTC(2026, 9, 5, 12);
const DAY_MS = 86_400_000;
const WEEKS = 6;

/** Monday, Wednesday, Friday: a little shorter, the median, a little longer. */
const NECK_DAY_OFFSET_S: Record<number, number> = { 0: -2, 2: 0, 4: 3 };
const neck = (week: number, day: number): PastHold => ({
  // Longer and gentler holds week by week: median 35 s + 5 s a week, peaks 1 N lower.
  durationMs: (35 + 5 * week + (NECK_DAY_OFFSET_S[day] ?? 0)) * 1000,
  peakN: 30 - week + day / 2,
  bodyArea: 'neck',
  knot: 'left C5',
});
/** From the fifth week on, held against a longer target (another preset). */
const trapezius = (week: number, day: number): PastHold => ({
  durationMs: (20 + 4 * week + day) * 1000,
  peakN: 18 + day / 2,
  bodyArea: 'shoulders',
  knot: 'left upper trapezius',
  targetHoldMs: week >= 4 ? 90_000 : 60_000,
});

/** Monday, Wednesday and Friday of each week; the trapezius from the third week on Mondays and Fridays; one unlabelled hold at the end. */
function sixWeeks(): { startedAtMs: number; holds: PastHold[] }[] {
  const sessions = [];
  for (let week = 0; week < WEEKS; week++) {
    for (const day of [0, 2, 4]) {
      const holds = [neck(week, day)];
      if (week >= 2 && day !== 2) holds.push(trapezius(week, day));
      if (week === WEEKS - 1 && day === 2) holds.push({ durationMs: 12_000, peakN: 15, bodyArea: null, knot: null });
      sessions.push({ startedAtMs: FIRST_MONDAY_MS + (week * 7 + day) * DAY_MS, holds });
    }
  }
  return sessions;
}

/** Pixels of a canvas in a saturated colour (the data, not the grey axes and grid). */
function colouredPixels(canvas: Locator): Promise<number> {
  return canvas.evaluate((element: HTMLCanvasElement) => {
    const { data } = element.getContext('2d')?.getImageData(0, 0, element.width, element.height) ?? { data: [] };
    let coloured = 0;
    for (let index = 0; index < data.length; index += 4) {
      const [red, green, blue, alpha] = [data[index] ?? 0, data[index + 1] ?? 0, data[index + 2] ?? 0, data[index + 3] ?? 0];
      if (alpha > 100 && Math.max(red, green, blue) - Math.min(red, green, blue) > 80) coloured++;
    }
    return coloured;
  });
}

describe('history and trends over six weeks in chromium', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const multiple = (title: string): Locator => page.getByTestId('trend-multiple').filter({ has: page.getByRole('heading', { name: title }) });
  const weekRow = (title: string, weekStart: string): Locator => multiple(title).locator('tbody tr').filter({ hasText: weekStart });
  /** Opens a multiple's table of weeks (a closed `details` until then). */
  const openWeeks = (title: string): Promise<void> => multiple(title).locator('details').evaluate((details: HTMLDetailsElement) => void (details.open = true));

  beforeAll(async () => {
    dir = tempDir();
    const db = join(dir.path, 'weeks.db');
    await seedPastSessions(db, sixWeeks());
    ({ server, browser, page } = await openDashboard({ server: () => startRecordingServer({ devices: ['sim:idle?rate=10'], db }), page: { viewport: { width: 1280, height: 900 }, acceptDownloads: true, timezoneId: 'UTC' }, path: null }));
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
    dir.remove();
  });

  it('lists every session on the history page, newest first', async () => {
    await page.goto(`${server.url}/#/history`);
    const rows = page.getByTestId('session-list').locator('tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(18);
    // The newest: the last Friday, a neck hold of 63 s and a trapezius hold of 44 s, 30 s apart.
    expect(await rows.first().locator('td').allTextContents()).toEqual(['2026-11-13 12:00', 'Simulator 5eed 5eed5eed', 'shoulders', '2:52', '2', '1:47', '0', 'neck · left C5, shoulders · left upper trapezius', 'complete']);
    expect(await rows.last().locator('td').allTextContents()).toEqual(['2026-10-05 12:00', 'Simulator 5eed 5eed5eed', 'shoulders', '1:08', '1', '0:33', '0', 'neck · left C5', 'complete']);
    expect(await page.getByText('1–18 of 18').count()).toBe(1);
    await page.screenshot({ path: `${REPO_ROOT}test-results/history.png` });
    if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(`${REPO_ROOT}test-results/history.png`, `${REPO_ROOT}dashboard/screenshots/history.png`);
  });

  it('draws one small multiple per body area and knot, with its hold count and charts', async () => {
    await page.goto(`${server.url}/#/trends`);
    await expect.poll(() => page.getByTestId('trend-multiple').count(), WAIT).toBe(3);
    expect(await multiple('neck · left C5').getByRole('heading').textContent()).toMatch(/18 holds/);
    expect(await multiple('shoulders · left upper trapezius').getByRole('heading').textContent()).toMatch(/8 holds/);
    expect(await multiple('Not labelled').getByRole('heading').textContent()).toMatch(/1 hold$/);
    // The target line, in words for a screen reader: one target, or the targets a preset change gave.
    expect(await multiple('neck · left C5').locator('canvas').first().getAttribute('aria-label')).toBe('Hold durations of neck · left C5 from 5 Oct to 13 Nov, against a 1:00 target');
    expect(await multiple('shoulders · left upper trapezius').locator('canvas').first().getAttribute('aria-label')).toBe('Hold durations of shoulders · left upper trapezius from 19 Oct to 13 Nov, against targets of 1:00 and 1:30');
    for (const canvas of await multiple('neck · left C5').locator('canvas').all()) {
      await expect.poll(() => colouredPixels(canvas), WAIT).toBeGreaterThan(50);
    }
    await page.screenshot({ path: `${REPO_ROOT}test-results/trends.png`, fullPage: true });
    if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(`${REPO_ROOT}test-results/trends.png`, `${REPO_ROOT}dashboard/screenshots/trends.png`);
  });

  it('dates the holds in the browser\'s time zone, not UTC', async () => {
    // 12:00 UTC is 01:00 the next day in Auckland (UTC+13 in summer): every date moves on a day.
    const auckland = await browser.newPage({ viewport: { width: 1280, height: 900 }, timezoneId: 'Pacific/Auckland' });
    try {
      await auckland.goto(`${server.url}/#/trends`);
      const neckCharts = auckland.getByTestId('trend-multiple').filter({ has: auckland.getByRole('heading', { name: 'neck · left C5' }) }).locator('canvas');
      await expect.poll(() => neckCharts.first().getAttribute('aria-label'), WAIT).toBe('Hold durations of neck · left C5 from 6 Oct to 14 Nov, against a 1:00 target');
      expect(await neckCharts.nth(1).getAttribute('aria-label')).toBe('Peak force of the holds of neck · left C5 from 6 Oct to 14 Nov');
    } finally {
      await auckland.close();
    }
  });

  it('gives each week its median and longest hold and its median and highest peak', async () => {
    await openWeeks('neck · left C5');
    expect(await multiple('neck · left C5').locator('tbody tr').count()).toBe(WEEKS);
    const cells = (row: Locator): Promise<string[]> => row.locator('td').allTextContents();
    expect(await cells(weekRow('neck · left C5', '2026-10-05'))).toEqual(['2026-10-05', '3', '0:35', '0:38', '31.0 N', '32.0 N']);
    expect(await cells(weekRow('neck · left C5', '2026-11-09'))).toEqual(['2026-11-09', '3', '1:00', '1:03', '26.0 N', '27.0 N']);
  });

  it('narrows to the weeks from a date, and exports them as CSV', async () => {
    await page.getByLabel('From', { exact: true }).fill('2026-10-26');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => multiple('neck · left C5').getByRole('heading').textContent(), WAIT).toMatch(/9 holds/);
    expect(await multiple('shoulders · left upper trapezius').getByRole('heading').textContent()).toMatch(/6 holds/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export weeks (CSV)' }).click()]);
    expect(download.suggestedFilename()).toBe('knotmeter-trends.csv');
    const lines = readFileSync(await download.path(), 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe('body_area,knot,week_start,holds,median_duration_ms,longest_duration_ms,median_peak_n,highest_peak_n');
    expect(lines.slice(1)).toHaveLength(3 + 3 + 1);
    expect(lines).toContain('neck,left C5,2026-10-26,3,50000,53000,28,29');
  });

  it('shows the weekly peaks in the unit chosen', async () => {
    await page.getByTestId('unit-picker').selectOption('lbf');
    await openWeeks('neck · left C5');
    await expect.poll(() => weekRow('neck · left C5', '2026-10-26').locator('td').nth(4).textContent(), WAIT).toBe('6.29 lbf');
    await page.getByTestId('unit-picker').selectOption('N');
  });
});
