// Freshness in Debian's chromium: a reading that is not current never looks current. A
// device that stops sending greys its own number, gauge and zone word and says since when
// (local time); a server that goes away greys every panel and counts how long ago the link
// was lost; both come back to full colour when readings flow again.
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { openDashboard } from '../support/browser.ts';
import { startTestServer } from '../support/server.ts';

const DEVICES = ['sim:treatment?rate=100', 'sim:kneading?rate=100'];
const WAIT = { timeout: 10_000 };

describe('freshness of the live view in chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const panel = (index: number): Locator => page.getByTestId('device-panel').nth(index);
  const current = (index: number): Promise<string | null> => panel(index).getAttribute('data-current');
  /** Whether the panel's number is drawn in the page's muted grey (never a zone colour). */
  const numberIsGrey = (index: number): Promise<boolean> =>
    panel(index).getByTestId('force').evaluate((force) => {
      const probe = document.createElement('span');
      probe.style.color = 'var(--muted)';
      document.body.append(probe);
      const grey = getComputedStyle(probe).color;
      probe.remove();
      return getComputedStyle(force).color === grey;
    });
  /** A time of day as the page writes it. */
  const timeOfDay = (wallMs: number): Promise<string> => page.evaluate((at) => new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' }), wallMs);

  beforeAll(async () => {
    ({ server, browser, page } = await openDashboard({ devices: DEVICES, page: { viewport: { width: 1024, height: 768 } } }));
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
  });

  it('greys a device that stops sending and says since when; the other stays live', async () => {
    await expect.poll(() => current(1), WAIT).toBe('true');
    expect(await numberIsGrey(0)).toBe(false);
    const stoppedAtMs = Date.now();
    await server.pipelines[1]?.stop();
    await expect.poll(() => current(1), WAIT).toBe('false');
    expect(await numberIsGrey(1)).toBe(true);
    expect(await panel(1).getByTestId('gauge').getAttribute('class')).toMatch(/\bstale\b/);
    const since = (await panel(1).getByTestId('stale').textContent()) ?? '';
    // The last reading came just before the stop: the same second or the one before.
    expect([`no reading since ${await timeOfDay(stoppedAtMs)}`, `no reading since ${await timeOfDay(stoppedAtMs - 1000)}`]).toContain(since);
    expect(await current(0)).toBe('true');
    expect(await panel(0).getByTestId('stale').count()).toBe(0);
  });

  it('greys every panel when the server goes away, counting how long ago the link was lost, and is live again after', async () => {
    const port = Number(new URL(server.url).port);
    await server.close();
    await expect.poll(() => current(0), WAIT).toBe('false');
    expect(await numberIsGrey(0)).toBe(true);
    await expect.poll(() => panel(0).getByTestId('stale').textContent(), WAIT).toMatch(/^link lost [1-9]\d* s ago \(last reading \d\d:\d\d:\d\d/);
    expect(await panel(0).getByTestId('zone').evaluate((zone) => getComputedStyle(zone).borderStyle)).toBe('dotted');
    server = await startTestServer(DEVICES, port);
    await expect.poll(() => current(0), WAIT).toBe('true');
    await expect.poll(() => current(1), WAIT).toBe('true');
    expect(await numberIsGrey(1)).toBe(false);
    expect(await page.getByTestId('stale').count()).toBe(0);
  });
});
