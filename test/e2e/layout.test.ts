// The dashboard on a phone in portrait and a tablet in landscape, in Debian's chromium:
// no page scrolls sideways (the header wraps, charts stack, wide tables scroll inside
// their own box), and big-number mode makes the number a fifth of the screen tall where
// the width allows (else as wide as the panel) without pushing the page wider.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboardIfStale } from '../../dashboard/build.ts';
import type { RunningServer } from '../../server/app.ts';
import { launchChromium } from '../support/browser.ts';
import { seedPastSessions, startRecordingServer, tempDir } from '../server/recording/support.ts';

const WAIT = { timeout: 20_000 };
const SCREENS = [
  { name: 'a phone in portrait', width: 390, height: 844 },
  { name: 'a tablet in landscape', width: 1024, height: 768 },
] as const;
/** Each page with what shows it has drawn. */
const PAGES = [
  { route: '', ready: 'live-chart' },
  { route: '#/history', ready: 'session-list' },
  { route: '#/sessions/1', ready: 'recorded-hold' },
  { route: '#/trends', ready: 'trend-multiple' },
  { route: '#/calibration', ready: 'calibration-page' },
] as const;

/** How far the page reaches past the right edge of the screen, in CSS pixels. */
function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

describe('the dashboard on a phone and a tablet', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    await buildDashboardIfStale();
    dir = tempDir();
    const db = join(dir.path, 'layout.db');
    const hold = { durationMs: 42_000, peakN: 24, bodyArea: 'upper back', knot: 'right rhomboid, lower edge' };
    await seedPastSessions(db, [{ startedAtMs: Date.UTC(2026, 9, 5, 12), holds: [hold, { ...hold, durationMs: 61_000 }] }]);
    server = await startRecordingServer({ devices: ['sim:treatment?rate=100', 'sim:over-pressure?rate=100'], db });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
    dir.remove();
  });

  for (const screen of SCREENS) {
    it(`fits ${screen.name} (${screen.width}×${screen.height}) on every page, with no sideways scrolling`, async () => {
      const page = await browser.newPage({ viewport: { width: screen.width, height: screen.height } });
      try {
        for (const { route, ready } of PAGES) {
          await page.goto(`${server.url}/${route}`);
          await expect.poll(() => page.getByTestId(ready).count(), WAIT).toBeGreaterThan(0);
          expect({ route, overflow: await sidewaysOverflow(page) }).toEqual({ route, overflow: 0 });
        }
      } finally {
        await page.close();
      }
    });

    // A fifth of the height where the width allows it; a phone in portrait is too narrow
    // for "23.4" that tall, so there the number fills the panel's width instead.
    it(`makes the big number as large as ${screen.name} allows, within the screen`, async () => {
      const page = await browser.newPage({ viewport: { width: screen.width, height: screen.height } });
      try {
        await page.goto(server.url);
        await expect.poll(() => page.getByTestId('force').count(), WAIT).toBe(2);
        await page.keyboard.press('b');
        const force = page.getByTestId('force').first();
        await expect.poll(() => force.evaluate((element) => parseFloat(getComputedStyle(element).fontSize)), WAIT).toBeGreaterThanOrEqual(Math.min(screen.height / 5, screen.width / 5));
        const box = await force.boundingBox();
        expect(box?.x ?? -1).toBeGreaterThanOrEqual(0);
        expect((box?.x ?? 0) + (box?.width ?? Infinity)).toBeLessThanOrEqual(screen.width);
        expect(await sidewaysOverflow(page)).toBe(0);
      } finally {
        await page.close();
      }
    });
  }
});
