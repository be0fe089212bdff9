// Zones, holds and over-pressure alerts in the real dashboard (Debian chromium), fed by
// simulated massagers running ten times faster than real time: the banner with
// role="alert" on every open dashboard while a warning is open, the three-pulse alarm
// (counted at the Web Audio API), a mute that lasts only for the page, the hold timer
// and hold list, and a preset change that reaches every dashboard.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboardIfStale } from '../../dashboard/build.ts';
import type { RunningServer } from '../../server/app.ts';
import { launchChromium } from '../support/browser.ts';
import { startTestServer } from '../support/server.ts';

const WAIT = { timeout: 20_000 };

/** Counts oscillators started on the page while its audio runs (not held back): each alarm pulse is one. */
const COUNT_OSCILLATORS = `
  window.oscillatorsStarted = 0;
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    if (this.context.state === 'running') window.oscillatorsStarted++;
    return start.apply(this, args);
  };
`;

async function oscillatorsStarted(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { oscillatorsStarted: number }).oscillatorsStarted);
}

describe('zones, holds and alerts in chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let secondPage: Page;

  beforeAll(async () => {
    await buildDashboardIfStale();
    server = await startTestServer(['sim:over-pressure?rate=100&speed=10', 'sim:treatment?rate=100&speed=10']);
    browser = await launchChromium();
    page = await browser.newPage();
    secondPage = await browser.newPage();
    await page.addInitScript(COUNT_OSCILLATORS);
    await page.goto(server.url);
    await secondPage.goto(server.url);
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
  });

  const banner = (on: Page) => on.getByRole('alert').filter({ hasText: 'ease off' });

  it('raises the over-pressure banner on every open dashboard, sounds the alarm, and clears it after', async () => {
    await expect.poll(() => banner(page).count(), WAIT).toBe(1);
    expect(await banner(page).textContent()).toMatch(/\d+\.\d N, limit 45 N: ease off/);
    await expect.poll(() => banner(secondPage).count(), WAIT).toBe(1);
    await expect.poll(() => oscillatorsStarted(page), WAIT).toBeGreaterThanOrEqual(3);
    await expect.poll(() => banner(page).count(), WAIT).toBe(0);
    await expect.poll(() => banner(secondPage).count(), WAIT).toBe(0);
  });

  it('marks the warning on the chart and counts its time over in the hold list', async () => {
    const overPanel = page.getByTestId('device-panel').first();
    await expect.poll(() => overPanel.getByTestId('hold-list').locator('tbody tr').count(), WAIT).toBeGreaterThanOrEqual(1);
    const timeOver = await overPanel.getByTestId('hold-list').locator('tbody tr td').nth(4).textContent();
    expect(timeOver).toMatch(/^\d+\.\d s$/);
  });

  it('mutes the alarm sound with m for this page only: a reload brings the sound back', async () => {
    await page.keyboard.press('m');
    await expect.poll(() => page.getByTestId('muted').count()).toBe(1);
    await expect.poll(() => banner(page).count(), WAIT).toBe(1);
    const whileMuted = await oscillatorsStarted(page);
    await expect.poll(() => banner(page).count(), WAIT).toBe(0);
    expect(await oscillatorsStarted(page)).toBe(whileMuted);

    await page.reload();
    expect(await page.getByTestId('muted').count()).toBe(0);
    await expect.poll(() => banner(page).count(), WAIT).toBe(1);
    await expect.poll(() => oscillatorsStarted(page), WAIT).toBeGreaterThanOrEqual(3);
  });

  it('shows the zone in words beside the number', async () => {
    const zones = page.getByTestId('zone');
    await expect.poll(() => zones.count(), WAIT).toBe(2);
    for (const zone of await zones.allTextContents()) expect(['gentle', 'in band', 'firm', 'too much']).toContain(zone);
  });

  it('runs the hold timer during a hold', async () => {
    const timer = page.getByTestId('device-panel').nth(1).getByTestId('hold-timer');
    await expect.poll(() => timer.textContent(), WAIT).toMatch(/Holding|Target reached|Release now/);
    const first = await timer.getByTestId('hold-time').textContent();
    await expect.poll(() => timer.getByTestId('hold-time').textContent(), WAIT).not.toBe(first);
    expect(await timer.getByTestId('hold-time').textContent()).toMatch(/^\d+:\d\d$/);
  });

  it('switches a device to another preset from the picker, on every dashboard', async () => {
    const limitMark = (on: Page) => on.getByTestId('device-panel').first().getByTestId('gauge').locator('.limit');
    expect(await limitMark(secondPage).textContent()).toBe('45 N');
    await page.getByTestId('device-panel').first().getByTestId('preset-picker').selectOption('neck');
    await expect.poll(() => limitMark(page).textContent(), WAIT).toBe('25 N');
    await expect.poll(() => limitMark(secondPage).textContent(), WAIT).toBe('25 N');
    expect(await secondPage.getByTestId('device-panel').first().getByTestId('preset-picker').inputValue()).toBe('neck');
  });
});
