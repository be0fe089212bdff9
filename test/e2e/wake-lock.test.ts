// The tablet's screen stays on while a hold is in progress (Screen Wake Lock, which Debian's
// headless chromium grants on loopback) and may sleep again once it ends. The page's own
// requests go to the real API; an init script only keeps the sentinels they return, to
// look at them from here.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboard, type Dashboard } from '../support/browser.ts';
import { TRACES_DIR } from '../server/recording/support.ts';

// 33 s, one hold from 2.4 s to 30.2 s: 8 s at 4 times real time.
const TRACE = join(TRACES_DIR, 'example_hold_with_dip.csv');
const WAIT = { timeout: 20_000 };

declare global {
  interface Window {
    wakeLocksTaken?: WakeLockSentinel[];
  }
}

describe('the screen wake lock in chromium', () => {
  let dashboard: Dashboard;

  beforeAll(async () => {
    dashboard = await openDashboard({ devices: [`replay:${TRACE}?speed=4`], path: null });
    await dashboard.page.addInitScript(() => {
      const wakeLock = navigator.wakeLock;
      const request = wakeLock.request.bind(wakeLock);
      const taken: WakeLockSentinel[] = [];
      window.wakeLocksTaken = taken;
      wakeLock.request = async (type?: WakeLockType): Promise<WakeLockSentinel> => {
        const sentinel = await request(type);
        taken.push(sentinel);
        return sentinel;
      };
    });
    await dashboard.page.goto(dashboard.server.url);
  });
  afterAll(async () => {
    await dashboard.close();
  });

  const locks = (): Promise<{ taken: number; held: number }> =>
    dashboard.page.evaluate(() => {
      const taken = window.wakeLocksTaken ?? [];
      return { taken: taken.length, held: taken.filter((sentinel) => !sentinel.released).length };
    });

  it('holds the screen on while the hold is in progress, and lets it go when the hold ends', async () => {
    const panel = dashboard.page.getByTestId('device-panel').first();
    await expect.poll(() => panel.getByTestId('hold-timer').getAttribute('class'), WAIT).toMatch(/\bactive\b/);
    await expect.poll(locks, WAIT).toEqual({ taken: 1, held: 1 });
    // The replay ends at 33 s of trace: the hold is over and listed, and the lock let go.
    await expect.poll(() => panel.getByTestId('hold-list').locator('tbody tr').count(), WAIT).toBe(1);
    await expect.poll(locks, WAIT).toEqual({ taken: 1, held: 0 });
    expect(await panel.getByTestId('hold-timer').getAttribute('class')).not.toMatch(/\bactive\b/);
  });
});
