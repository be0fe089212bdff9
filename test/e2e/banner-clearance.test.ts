// The over-pressure banner covers no panel's force number and no link of the header's
// navigation, measured with bounding boxes in Debian's chromium on a laptop (1280×800) and a
// phone in portrait (390×844), with one warning and with three at once: as the warnings
// start (the page brings a warning panel into view by itself) and after each Show. The
// strip keeps its height, quiet or warning (on the laptop the chips of three stay on one
// line). Every warning stays announced (an alert each), and the banner of three passes axe
// (light theme on the laptop, dark on the phone). Three replays hold 40 N, under the shoulders preset's
// 45 N limit; switching a device to the neck preset (25 N) makes it warn, so which warnings
// are open never depends on timing. The server is a clinic's (`--room`): each panel shows
// its room on the name's line, and each warning and chip names it ("Chair, Room 2").
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { violations } from '../support/axe.ts';
import { openDashboard, type Dashboard } from '../support/browser.ts';
import { startTestServer } from '../support/server.ts';
import { tempDir } from '../server/recording/support.ts';

const WAIT = { timeout: 20_000 };
const NAMES = ['Right couch', 'Chair', 'Left couch'] as const;
const HELD_N = 40;
const ROOM = 'Room 2';
/** Long enough for the whole file: the replay ends when its data does. */
const TRACE_MS = 300_000;

/** A trace that presses up to HELD_N in a second and holds it, at 100 Hz. */
function heldTrace(): string {
  const lines = ['t_ms,force_n'];
  for (let tMs = 0; tMs <= TRACE_MS; tMs += 10) lines.push(`${tMs},${Math.min(tMs / 1000, 1) * HELD_N}`);
  return `${lines.join('\n')}\n`;
}

/** Every force number and header link whose box meets the banner's, named with where it is; `no banner` when there is none. */
function underBanner(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const banner = document.querySelector('[data-testid="over-pressure-banner"]')?.getBoundingClientRect();
    if (banner === undefined) return ['no banner'];
    const meets = (box: DOMRect): boolean => box.width > 0 && box.height > 0 && box.left < banner.right && box.right > banner.left && box.top < banner.bottom && box.bottom > banner.top;
    return [...document.querySelectorAll('[data-testid="force"], header nav a')].flatMap((element) => {
      const box = element.getBoundingClientRect();
      return meets(box) ? [`"${element.textContent}" at ${Math.round(box.top)}-${Math.round(box.bottom)} px, banner to ${Math.round(banner.bottom)} px`] : [];
    });
  });
}

/** Per panel: its room's text, when it is shown on the name's line, right of it (the header keeps its height). */
function roomsBesideNames(page: Page): Promise<(string | null)[]> {
  return page.getByTestId('device-panel').evaluateAll((panels) =>
    panels.map((panel) => {
      const name = panel.querySelector('[data-testid="device-name"]')?.getBoundingClientRect();
      const room = panel.querySelector('[data-testid="device-room"]');
      const box = room?.getBoundingClientRect();
      if (name === undefined || box === undefined || box.width === 0) return null;
      const middle = (box.top + box.bottom) / 2;
      return middle > name.top && middle < name.bottom && box.left >= name.right ? room?.textContent ?? null : null;
    }),
  );
}

/** The alarm strip's height, CSS px. */
function stripHeight(page: Page): Promise<number> {
  return page.getByTestId('alarm-strip').evaluate((strip) => strip.getBoundingClientRect().height);
}

/** Whether the number of the `index`th device's panel lies whole between the banner's bottom and the screen's. */
function numberInView(page: Page, index: number): Promise<boolean> {
  return page.evaluate((panelIndex) => {
    const panel = document.querySelectorAll('[data-testid="device-panel"]')[panelIndex];
    const box = panel?.querySelector('[data-testid="force"]')?.getBoundingClientRect();
    const bannerBottom = document.querySelector('[data-testid="over-pressure-banner"]')?.getBoundingClientRect().bottom ?? 0;
    return box !== undefined && box.top >= bannerBottom && box.bottom <= window.innerHeight;
  }, index);
}

/** Resolves once the page has stopped scrolling (the same position three frames running). */
function scrollSettled(page: Page): Promise<void> {
  return page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        let last = Number.NaN;
        let steadyFrames = 0;
        const look = (): void => {
          steadyFrames = window.scrollY === last ? steadyFrames + 1 : 0;
          last = window.scrollY;
          if (steadyFrames >= 3) resolve();
          else requestAnimationFrame(look);
        };
        look();
      }),
  );
}

describe('the over-pressure banner covers no number and no navigation link', { timeout: 60_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let dashboard: Dashboard;
  let laptop: Page;
  let phone: Page;
  /** Each page's strip height while quiet. */
  const quietHeights = new Map<Page, number>();

  beforeAll(async () => {
    dir = tempDir('knotmeter-banner-');
    const trace = join(dir.path, 'held.csv');
    writeFileSync(trace, heldTrace());
    dashboard = await openDashboard({
      server: () => startTestServer(NAMES.map((name) => `replay:${trace}?name=${encodeURIComponent(name)}`), 0, 'shoulders', { room: ROOM }),
      // bypassCSP: axe-core is injected to check the banner of three warnings.
      page: { viewport: { width: 1280, height: 800 }, bypassCSP: true },
    });
    laptop = dashboard.page;
    phone = await dashboard.browser.newPage({ viewport: { width: 390, height: 844 }, bypassCSP: true, colorScheme: 'dark' });
    await phone.goto(dashboard.server.url);
  });
  afterAll(async () => {
    await dashboard.close();
    dir.remove();
  });

  const warnings = (page: Page) => page.getByTestId('over-pressure-warning');
  const warnFrom = (index: number) => laptop.getByTestId('device-panel').nth(index).getByTestId('preset-picker').selectOption('neck');

  /** On both screens once `count` warnings are open: nothing under the banner as they start, nor after each Show. */
  async function checkBothScreens(count: number): Promise<void> {
    for (const page of [laptop, phone]) {
      await expect.poll(() => warnings(page).count(), WAIT).toBe(count);
      expect(await stripHeight(page)).toBe(quietHeights.get(page));
      expect((await page.getByTestId('over-pressure-alert').allTextContents()).map((text) => text.trim())).toEqual(NAMES.slice(0, count).map((name) => `${name}, ${ROOM}: over the 25 N limit: ease off.`));
      await scrollSettled(page);
      expect(await underBanner(page)).toEqual([]);
      for (const [index, name] of NAMES.slice(0, count).entries()) {
        await page.getByRole('button', { name: `Show ${name}` }).click();
        await expect.poll(() => numberInView(page, index), WAIT).toBe(true);
        await scrollSettled(page);
        expect({ name, under: await underBanner(page) }).toEqual({ name, under: [] });
      }
    }
  }

  it('with one warning', async () => {
    for (const page of [laptop, phone]) {
      await expect.poll(() => page.getByTestId('force').allTextContents(), WAIT).toEqual(NAMES.map(() => HELD_N.toFixed(1)));
      quietHeights.set(page, await stripHeight(page));
      expect(await roomsBesideNames(page)).toEqual(NAMES.map(() => ROOM));
      // A screen reader's region names the room too.
      expect(await page.getByRole('region', { name: `Device ${NAMES[0]}, ${ROOM}`, exact: true }).count()).toBe(1);
    }
    await warnFrom(0);
    await checkBothScreens(1);
    // At the top of the page the header's links are all in sight, below the banner.
    for (const page of [laptop, phone]) {
      await page.evaluate(() => window.scrollTo(0, 0));
      await scrollSettled(page);
      expect(await underBanner(page)).toEqual([]);
      expect(await page.locator('header nav a').evaluateAll((links) => links.every((link) => link.getBoundingClientRect().top >= 0))).toBe(true);
    }
  });

  it('with three warnings at once, each still announced, and no axe violation', async () => {
    await warnFrom(1);
    await warnFrom(2);
    await checkBothScreens(3);
    expect(await laptop.getByTestId('over-pressure-count').textContent()).toBe('3 devices over the limit: ease off.');
    // One line on the laptop: the three chips side by side (scrolling sideways if they must), none wrapped below.
    const chipTops = await warnings(laptop).evaluateAll((chips) => chips.map((chip) => Math.round(chip.getBoundingClientRect().top)));
    expect(new Set(chipTops).size).toBe(1);
    // Each chip shows the force and the limit it is over (its alert, with the limit, is hidden).
    for (const page of [laptop, phone]) {
      // Each chip names its device's room.
      for (const name of NAMES) expect(await page.getByRole('button', { name: `Show ${name}, ${ROOM}`, exact: true }).count()).toBe(1);
      const chips = (await page.getByTestId('over-pressure-force').allTextContents()).map((text) => text.trim());
      expect(chips).toHaveLength(3);
      for (const chip of chips) expect(chip).toMatch(/^\d+(\.\d+)? N over 25 N$/);
    }
    for (const page of [laptop, phone]) expect(await violations(page)).toEqual([]);
  });
});
