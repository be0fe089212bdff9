// Zones, holds and over-pressure alerts in the real dashboard (Debian chromium), fed by
// three named simulated massagers running ten times faster than real time: the banner on
// every open dashboard while a warning is open, naming the device, its alert text steady
// while the force changes, a button that brings the device's panel into view, the alarm
// (counted at the Web Audio API), the mute counted down and gone after a reload, a new
// warning sounding through a mute, the hold timer and hold list, a preset change that
// reaches every dashboard, and "link lost" instead of an old force when the server goes
// away. What the sound is like is heard in sound.test.ts.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboard, type Dashboard } from '../support/browser.ts';

const WAIT = { timeout: 20_000 };
const WARNING_ALERT = 'Left couch: over the 45 N limit: ease off.';

/** Counts oscillators started on the page while its audio runs (not held back): each alarm pulse is one. */
const COUNT_OSCILLATORS = `
  window.oscillatorsStarted = 0;
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    if (this.context.state === 'running') window.oscillatorsStarted++;
    return start.apply(this, args);
  };
`;

/**
 * For `forMs` while the banner is up: how often the alert region changed (each change is
 * read out again) and how many different forces the line beside it showed.
 */
const WATCH_ALERT = `(forMs) => new Promise((resolve) => {
  const alert = document.querySelector('[data-testid=over-pressure-alert]');
  if (alert === null) return resolve({ alertChanges: 0, forces: 0, stillOpen: false });
  let alertChanges = 0;
  const forces = new Set();
  const observer = new MutationObserver((records) => (alertChanges += records.length));
  observer.observe(alert, { subtree: true, childList: true, characterData: true, attributes: true });
  const startedMs = performance.now();
  const look = () => {
    forces.add(document.querySelector('[data-testid=over-pressure-force]')?.textContent);
    if (performance.now() - startedMs < forMs && alert.isConnected) requestAnimationFrame(look);
    else {
      observer.disconnect();
      resolve({ alertChanges, forces: forces.size, stillOpen: alert.isConnected });
    }
  };
  look();
})`;

async function oscillatorsStarted(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { oscillatorsStarted: number }).oscillatorsStarted);
}

describe('zones, holds and alerts in chromium', { timeout: 60_000 }, () => {
  let dashboard: Dashboard;
  let page: Page;
  /** A phone in portrait: the panels stack, the warning device's is below the fold. */
  let phone: Page;

  beforeAll(async () => {
    dashboard = await openDashboard({
      devices: ['sim:treatment?rate=100&speed=10&name=Right%20couch', 'sim:kneading?rate=100&speed=10&name=Chair', 'sim:over-pressure?rate=100&speed=10&name=Left%20couch'],
      // Opened below, once the alarm's oscillators are counted.
      path: null,
    });
    ({ page } = dashboard);
    phone = await dashboard.browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.addInitScript(COUNT_OSCILLATORS);
    await page.goto(dashboard.server.url);
    await phone.goto(dashboard.server.url);
  });
  afterAll(async () => {
    // The last test has closed the server already: closing it again is a no-op.
    await dashboard.close();
  });

  const banner = (on: Page) => on.getByTestId('over-pressure-alert').filter({ hasText: 'ease off' });
  const panels = (on: Page) => on.getByTestId('device-panel');

  it('raises the banner on every open dashboard naming the device, sounds the alarm, and clears it after', async () => {
    await expect.poll(() => banner(page).count(), WAIT).toBe(1);
    expect(await banner(page).getAttribute('role')).toBe('alert');
    expect(await banner(page).locator('p').first().textContent()).toBe(WARNING_ALERT);
    await expect.poll(() => banner(phone).count(), WAIT).toBe(1);
    await expect.poll(() => oscillatorsStarted(page), WAIT).toBeGreaterThanOrEqual(3);
    await expect.poll(() => banner(page).count(), WAIT).toBe(0);
    await expect.poll(() => banner(phone).count(), WAIT).toBe(0);
  });

  it('keeps the alert text steady while the force beside it changes (a screen reader reads it once)', async () => {
    let watched = { alertChanges: 0, forces: 0 };
    // Warnings come and go: watch one that shows the force change at least three times.
    await expect
      .poll(async () => {
        watched = await page.evaluate<{ alertChanges: number; forces: number }>(`(${WATCH_ALERT})(1000)`);
        return watched.forces;
      }, WAIT)
      .toBeGreaterThanOrEqual(3);
    expect(watched.alertChanges).toBe(0);
  });

  it('brings the warning device panel into view from the banner', async () => {
    const inView = () => panels(phone).nth(2).evaluate((panel) => panel.getBoundingClientRect().top < window.innerHeight && panel.getBoundingClientRect().bottom > 0);
    // Warnings come and go: press Show while one is up.
    const show = async (): Promise<boolean> => {
      await phone.getByRole('button', { name: 'Show Left couch' }).click({ timeout: 1000 }).catch(() => undefined);
      return inView();
    };
    await expect.poll(show, WAIT).toBe(true);
  });

  it('marks the warning on the chart and counts its time over in the hold list', async () => {
    const overPanel = panels(page).nth(2);
    await expect.poll(() => overPanel.getByTestId('hold-list').locator('tbody tr').count(), WAIT).toBeGreaterThanOrEqual(1);
    const timeOver = await overPanel.getByTestId('hold-list').locator('tbody tr td').nth(4).textContent();
    expect(timeOver).toMatch(/^\d+\.\d s$/);
  });

  it('mutes the alarm sound with m, counted down, and a reload brings the sound back', async () => {
    await page.keyboard.press('m');
    await expect.poll(() => page.getByTestId('muted').textContent(), WAIT).toMatch(/Alarm muted (2:00|1:5\d)/);
    await page.reload();
    expect(await page.getByTestId('muted').count()).toBe(0);
    await expect.poll(() => banner(page).count(), WAIT).toBe(1);
    await expect.poll(() => oscillatorsStarted(page), WAIT).toBeGreaterThanOrEqual(3);
  });

  it('sounds a new warning at once even while muted (only the warnings open at the mute stay silent)', async () => {
    await expect.poll(() => banner(page).count(), WAIT).toBe(1);
    await page.keyboard.press('m');
    await expect.poll(() => page.getByTestId('muted').count(), WAIT).toBe(1);
    const whenMuted = await oscillatorsStarted(page);
    // The over-pressure massager warns every episode (ten times faster than real time): the
    // next warning, not the 2 min, ends the mute, and the alarm sounds again.
    await expect.poll(() => page.getByTestId('muted').count(), WAIT).toBe(0);
    await expect.poll(() => banner(page).count(), WAIT).toBe(1);
    await expect.poll(() => oscillatorsStarted(page), WAIT).toBeGreaterThanOrEqual(whenMuted + 3);
  });

  it('shows the zone in words beside the number', async () => {
    const zones = page.getByTestId('zone');
    await expect.poll(() => zones.count(), WAIT).toBe(3);
    for (const zone of await zones.allTextContents()) expect(['gentle', 'in band', 'firm', 'too much']).toContain(zone);
  });

  it('runs the hold timer during a hold', async () => {
    const timer = panels(page).first().getByTestId('hold-timer');
    await expect.poll(() => timer.textContent(), WAIT).toMatch(/Holding|Target reached|Release now/);
    const first = await timer.getByTestId('hold-time').textContent();
    await expect.poll(() => timer.getByTestId('hold-time').textContent(), WAIT).not.toBe(first);
    expect(await timer.getByTestId('hold-time').textContent()).toMatch(/^\d+:\d\d$/);
  });

  it('switches a device to another preset from the picker, on every dashboard', async () => {
    const limitMark = (on: Page) => panels(on).nth(2).getByTestId('gauge').locator('.limit');
    expect(await limitMark(phone).textContent()).toBe('45 N');
    await panels(page).nth(2).getByTestId('preset-picker').selectOption('neck');
    await expect.poll(() => limitMark(page).textContent(), WAIT).toBe('25 N');
    await expect.poll(() => limitMark(phone).textContent(), WAIT).toBe('25 N');
    expect(await panels(phone).nth(2).getByTestId('preset-picker').inputValue()).toBe('neck');
  });

  it('says the link is lost, not an old force, when the server goes away during a warning', async () => {
    await expect.poll(() => banner(page).count(), WAIT).toBe(1);
    await dashboard.server.close();
    await expect.poll(() => page.getByTestId('over-pressure-link-lost').textContent(), WAIT).toMatch(/^Link lost: no reading since /);
    expect(await page.getByTestId('over-pressure-force').count()).toBe(0);
  });
});
