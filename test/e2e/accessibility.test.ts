// Accessibility by measure: axe-core (injected into Debian's chromium) finds no WCAG 2.1 AA
// violation on any page of the dashboard, in the light and the dark theme, with one and
// with three devices streaming, and on the live view while an over-pressure warning is
// open. One browser for the file, one recording server per device count, each with past
// sessions seeded so the history, session and trends pages have something to show.
// The live chart is read without memory of the page: a stretch with no readings shows as
// a gap, and a warning from before a reload is still marked.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboardIfStale } from '../../dashboard/build.ts';
import type { RunningServer } from '../../server/app.ts';
import { violations } from '../support/axe.ts';
import { launchChromium, openDashboard } from '../support/browser.ts';
import { seedPastSessions, startRecordingServer, tempDir, traceEngine, TRACES_DIR } from '../server/recording/support.ts';

const WAIT = { timeout: 20_000 };
const DAY_MS = 86_400_000;

/**
 * Every page, by its hash, and what shows it has loaded its data. The live view is checked
 * while a warning is open (the banner, the alarm panel), the others with whatever shows.
 */
const PAGES: readonly { hash: string; ready: string }[] = [
  { hash: '#/', ready: '[role="alert"]:has-text("ease off")' },
  { hash: '#/history', ready: '[data-testid="session-list"] tbody tr' },
  { hash: '#/sessions/1', ready: '[data-testid="session-facts"]' },
  { hash: '#/trends', ready: '[data-testid="trend-multiple"]' },
  { hash: '#/algometer', ready: '[data-testid="ppt-guide-chart"]' },
  { hash: '#/calibration', ready: '[data-testid="calibration-page"]' },
  { hash: '#/audit', ready: '[data-testid="audit-empty"], [data-testid="audit-list"]' },
  { hash: '#/pairing', ready: 'main > *' },
];

/** Two past sessions a week apart, so every review page has rows and the trends a line. */
async function seed(db: string): Promise<void> {
  const hold = (durationMs: number) => ({ durationMs, peakN: 25, bodyArea: 'neck', knot: 'left C5' });
  const startedAtMs = Date.now() - 14 * DAY_MS;
  await seedPastSessions(db, [
    { startedAtMs, holds: [hold(40_000), hold(45_000)] },
    { startedAtMs: startedAtMs + 7 * DAY_MS, holds: [hold(50_000)] },
  ]);
}

describe.each([
  { label: 'one device', devices: ['sim:over-pressure?rate=100&speed=10'] },
  { label: 'three devices', devices: ['sim:over-pressure?rate=100&speed=10', 'sim:treatment?rate=100', 'sim:kneading?rate=1000'] },
])('WCAG 2.1 AA with $label', ({ devices }) => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    await buildDashboardIfStale();
    dir = tempDir('knotmeter-a11y-');
    const db = join(dir.path, 'a11y.db');
    await seed(db);
    server = await startRecordingServer({ devices, db });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
    dir.remove();
  });

  describe.each(['light', 'dark'] as const)('%s theme', (colorScheme) => {
    let page: Page;
    beforeAll(async () => {
      // axe is injected as a script tag, which the dashboard's CSP would refuse.
      page = await browser.newPage({ colorScheme, viewport: { width: 1024, height: 768 }, bypassCSP: true });
    });
    afterAll(async () => {
      await page.close();
    });

    it.each(PAGES)('$hash has no violation', async ({ hash, ready }) => {
      await page.goto(`${server.url}/${hash}`);
      await page.locator(ready).first().waitFor(WAIT);
      expect((await violations(page)).join('\n')).toBe('');
    });
  });
});

describe('the live chart in chromium', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const chart = (): ReturnType<Page['getByTestId']> => page.getByTestId('live-chart').first();

  beforeAll(async () => {
    dir = tempDir('knotmeter-chart-');
    ({ server, browser, page } = await openDashboard({
      // An 18 s recording with one over-pressure warning, played 4 times faster; then it ends.
      server: () => startRecordingServer({ devices: [`replay:${join(TRACES_DIR, 'example_overpressure.csv')}`], db: join(dir.path, 'chart.db'), engine: traceEngine(), replaySpeed: 4 }),
      page: { viewport: { width: 1024, height: 768 } },
    }));
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
    dir.remove();
  });

  it('marks the warning as it happens, and shows a gap once the readings stop', async () => {
    await expect.poll(() => chart().getAttribute('data-warnings-marked'), WAIT).toBe('1');
    await expect.poll(() => chart().getAttribute('data-gap'), WAIT).toBe('device');
  });

  it('still marks the warning after a reload (the session so far comes with the page)', async () => {
    await page.reload();
    await expect.poll(() => chart().getAttribute('data-warnings-marked'), WAIT).toBe('1');
  });

  // Greyed for a stopped device, the panel's text must still read at 4.5:1.
  it.each(['light', 'dark'] as const)('a panel whose reading is not current has no violation (%s theme)', async (colorScheme) => {
    const stalePage = await browser.newPage({ colorScheme, viewport: { width: 1024, height: 768 }, bypassCSP: true });
    try {
      await stalePage.goto(server.url);
      await expect.poll(() => chart().getAttribute('data-gap'), WAIT).toBe('device');
      await stalePage.getByTestId('stale').first().waitFor(WAIT);
      expect((await violations(stalePage)).join('\n')).toBe('');
    } finally {
      await stalePage.close();
    }
  });
});
