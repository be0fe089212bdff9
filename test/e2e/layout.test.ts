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

/** How many rows the page header's parts take (1: the whole header on one line). */
function headerRows(page: Page): Promise<number> {
  return page.evaluate(() => {
    // The page's header comes first; each panel's own header comes after it.
    const boxes = [...(document.querySelector('header')?.children ?? [])].map((part) => part.getBoundingClientRect());
    let rows = 0;
    let rowBottom = Number.NEGATIVE_INFINITY;
    for (const box of boxes.sort((a, b) => a.top - b.top)) {
      if (box.top >= rowBottom) {
        rows += 1;
        rowBottom = box.bottom;
      }
    }
    return rows;
  });
}

/** The lowest panel's bottom edge, CSS px from the top of the screen. */
function panelsBottom(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(...[...document.querySelectorAll('[data-testid="device-panel"]')].map((panel) => panel.getBoundingClientRect().bottom)));
}

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

// Four massagers on one screen, recorded (so each panel has its label row), the first
// warning now and then: the grid shows every panel's number without scrolling on a laptop
// and a tablet, each live chart keeps a plot tall enough to read (PLOT_MIN_PX) and no text
// in a panel is cut, quiet and with the warning strip open; the big numbers stay a fifth of
// the screen tall, and nothing on the page moves while readings flow or while a warning
// starts and ends (cumulative layout shift 0, as Chromium measures it).
describe('four devices on one screen', () => {
  const FOUR = ['sim:over-pressure?rate=100&speed=8', 'sim:kneading?rate=100', 'sim:treatment?rate=100&speed=4', 'sim:treatment?rate=100&speed=8'];
  const WIDE_SCREENS = [
    { width: 1280, height: 800 },
    { width: 1024, height: 768 },
  ] as const;
  /** A live chart's plot height, CSS px, from which its force axis shows three numbered ticks or more. */
  const PLOT_MIN_PX = 90;
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    await buildDashboardIfStale();
    dir = tempDir();
    server = await startRecordingServer({ devices: FOUR, db: join(dir.path, 'four.db') });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
    dir.remove();
  });

  /** How far the page reaches below the screen, in CSS pixels. */
  const downwardOverflow = (page: Page): Promise<number> => page.evaluate(() => document.documentElement.scrollHeight - window.innerHeight);
  /** Each number's box: top, bottom and height in CSS pixels. */
  const numberBoxes = (page: Page): Promise<{ top: number; bottom: number; height: number }[]> =>
    page.getByTestId('force').evaluateAll((forces) => forces.map((force) => {
      const box = force.getBoundingClientRect();
      return { top: box.top, bottom: box.bottom, height: box.height };
    }));

  /** Each live chart's plot height in CSS px (NaN until it has drawn). */
  const plotHeights = (page: Page): Promise<number[]> => page.getByTestId('live-chart').evaluateAll((charts) => charts.map((chart) => Number((chart as HTMLElement).dataset.plotHeight)));
  /**
   * Every visible text in a panel that is cut: a box reaching past its panel's, or past a
   * box between them that hides what overflows it (cut mid-line), or a box hiding part of
   * its own text, named with where it is. A line shortened with "…" is not counted; a
   * closed <details>' content is not seen.
   */
  const cutTexts = (page: Page): Promise<string[]> =>
    page.getByTestId('device-panel').evaluateAll((panels) =>
      panels.flatMap((panel) => {
        const texts = [...panel.querySelectorAll('*')].filter(
          (element) => element.checkVisibility({ visibilityProperty: true }) && [...element.childNodes].some((node) => node.nodeType === Node.TEXT_NODE && (node.textContent ?? '').trim() !== ''),
        );
        return texts.flatMap((element) => {
          const box = element.getBoundingClientRect();
          if (box.width === 0 || box.height === 0 || element.closest('.visually-hidden') !== null) return [];
          const clips: Element[] = [panel];
          for (let above = element.parentElement; above !== null && above !== panel; above = above.parentElement) {
            if (getComputedStyle(above).overflowY !== 'visible') clips.push(above);
          }
          const style = getComputedStyle(element);
          const cutsItself = style.overflow !== 'visible' && style.textOverflow !== 'ellipsis' && (element.scrollWidth > element.clientWidth + 1 || element.scrollHeight > element.clientHeight + 1);
          if (cutsItself) return [`"${element.textContent.trim().slice(0, 40)}" cut inside its own box (${element.scrollWidth}×${element.scrollHeight} px of text in ${element.clientWidth}×${element.clientHeight})`];
          const cutBy = clips.find((clip) => {
            const clipBox = clip.getBoundingClientRect();
            return box.top < clipBox.top - 0.5 || box.bottom > clipBox.bottom + 0.5 || (clip === panel && (box.left < clipBox.left - 0.5 || box.right > clipBox.right + 0.5));
          });
          return cutBy === undefined ? [] : [`"${element.textContent.trim().slice(0, 40)}" at ${Math.round(box.top)}-${Math.round(box.bottom)} px, cut by ${cutBy.tagName.toLowerCase()}.${cutBy.className.split(' ')[0]} (${Math.round(cutBy.getBoundingClientRect().bottom)} px)`];
        });
      }),
    );
  /** The charts readable and no text cut, in the strip's state `warning` (true: a warning shown). */
  async function checkReadable(page: Page, warning: boolean): Promise<void> {
    await expect.poll(() => page.getByTestId('over-pressure-banner').count(), { timeout: 30_000 }).toBe(warning ? 1 : 0);
    await expect.poll(async () => Math.min(...(await plotHeights(page))), WAIT).toBeGreaterThanOrEqual(PLOT_MIN_PX);
    expect(await plotHeights(page)).toHaveLength(4);
    expect(await cutTexts(page)).toEqual([]);
  }

  for (const screen of WIDE_SCREENS) {
    it(`shows all four panels' numbers on ${screen.width}×${screen.height} without scrolling, in normal and big-number mode; each chart readable and no text cut, quiet and warning`, async () => {
      const page = await browser.newPage({ viewport: screen });
      try {
        await page.goto(server.url);
        await expect.poll(() => page.getByTestId('force').count(), WAIT).toBe(4);
        // A second header row would come out of the panels' charts.
        expect(await headerRows(page)).toBe(1);
        // The panels fill the screen down to the page's bottom padding, sized to the header as
        // it is once connected (it may wrap while it says "connecting…").
        await expect.poll(() => panelsBottom(page), WAIT).toBeGreaterThanOrEqual(screen.height - 24);
        // The over-pressure device warns now and then: its strip quiet, then warning (the order it comes in).
        const warningFirst = (await page.getByTestId('over-pressure-banner').count()) === 1;
        await checkReadable(page, warningFirst);
        await checkReadable(page, !warningFirst);
        for (const big of [false, true]) {
          if (big) await page.keyboard.press('b');
          await expect.poll(() => downwardOverflow(page), WAIT).toBeLessThanOrEqual(0);
          const boxes = await numberBoxes(page);
          expect(boxes.every((box) => box.top >= 0 && box.bottom <= screen.height)).toBe(true);
          if (big) expect(Math.min(...boxes.map((box) => box.height))).toBeGreaterThanOrEqual(screen.height / 5);
          expect(await sidewaysOverflow(page)).toBe(0);
        }
      } finally {
        await page.close();
      }
    });
  }

  it('makes the big number a fifth of a phone screen tall, its panel within the screen', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    try {
      await page.goto(server.url);
      await expect.poll(() => page.getByTestId('force').count(), WAIT).toBe(4);
      await page.keyboard.press('b');
      const [first] = await numberBoxes(page);
      expect(first?.height ?? 0).toBeGreaterThanOrEqual(844 / 5);
      const panel = await page.getByTestId('device-panel').first().boundingBox();
      expect((panel?.y ?? 0) + (panel?.height ?? Infinity)).toBeLessThanOrEqual(844);
      // "88.8" as tall as that still fits the panel's width.
      const fits = await page.getByTestId('force').first().evaluate((force) => {
        const probe = force.cloneNode() as HTMLElement;
        probe.textContent = '88.8';
        probe.style.position = 'absolute';
        force.parentElement?.append(probe);
        const widthPx = probe.getBoundingClientRect().width;
        probe.remove();
        return widthPx <= (force.parentElement?.getBoundingClientRect().width ?? 0);
      });
      expect(fits).toBe(true);
      expect(await sidewaysOverflow(page)).toBe(0);
    } finally {
      await page.close();
    }
  });

  it('moves nothing while readings flow and a warning starts and ends: cumulative layout shift exactly 0 at 1024×768', async () => {
    const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
    try {
      await page.goto(server.url);
      await expect.poll(() => page.getByTestId('zone').count(), WAIT).toBe(4);
      // Let the page settle (fonts, the grid measured), then watch while numbers, zones,
      // holds and the banner change: every shift with what moved, and each banner that
      // appeared and went, with how far its bottom stayed above the warning device's number.
      await page.evaluate(() => document.fonts.ready);
      await page.evaluate(() => {
        const scope = window as unknown as { layoutShift: number; shifted: string[]; banners: { shown: number; gone: number; clearancePx: number[] } };
        scope.layoutShift = 0;
        scope.shifted = [];
        scope.banners = { shown: 0, gone: 0, clearancePx: [] };
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries() as (PerformanceEntry & { value: number; hadRecentInput: boolean; sources?: { node?: Node | null; previousRect: DOMRectReadOnly; currentRect: DOMRectReadOnly }[] })[]) {
            if (entry.hadRecentInput) continue;
            scope.layoutShift += entry.value;
            // A box the page cannot name (a removed node, or one inside a built-in element such as <details>) by where it was and went.
            const what = (node: Node | null | undefined): string =>
              node instanceof Element ? node.outerHTML.slice(0, 80) : node?.parentElement ? `text "${node.textContent ?? ''}" in ${node.parentElement.outerHTML.slice(0, 80)}` : 'an unnamed box';
            const where = (rect: DOMRectReadOnly): string => `(${Math.round(rect.x)}, ${Math.round(rect.y)}) ${Math.round(rect.width)}×${Math.round(rect.height)}`;
            scope.shifted.push(...(entry.sources ?? []).map((source) => `${what(source.node)}: ${where(source.previousRect)} -> ${where(source.currentRect)}`));
          }
        }).observe({ type: 'layout-shift' });
        let up = document.querySelector('[data-testid="over-pressure-banner"]') !== null;
        new MutationObserver(() => {
          const banner = document.querySelector('[data-testid="over-pressure-banner"]');
          if ((banner !== null) === up) return;
          up = banner !== null;
          if (banner === null) {
            scope.banners.gone += 1;
            return;
          }
          scope.banners.shown += 1;
          for (const warning of banner.querySelectorAll('[data-testid="over-pressure-warning"]')) {
            const force = document.querySelector(`[data-testid="device-panel"][data-device-id="${warning.getAttribute('data-device-id') ?? ''}"] [data-testid="force"]`);
            scope.banners.clearancePx.push((force?.getBoundingClientRect().top ?? -Infinity) - banner.getBoundingClientRect().bottom);
          }
        }).observe(document.body, { childList: true, subtree: true });
      });
      const startedAt = await page.evaluate(() => performance.now());
      const firstForces = await page.getByTestId('force').allTextContents();
      // At least 5 s of page time (at 4x and 8x, holds start, reach their target and end in
      // that time) and a whole warning, from the banner's appearing to its going.
      const watched = () => page.evaluate((from) => {
        const { banners } = window as unknown as { banners: { shown: number; gone: number } };
        return performance.now() - from > 5000 && banners.shown > 0 && banners.gone >= banners.shown;
      }, startedAt);
      await expect.poll(watched, { timeout: 30_000, interval: 250 }).toBe(true);
      expect(await page.getByTestId('force').allTextContents()).not.toEqual(firstForces);
      const result = await page.evaluate(() => {
        const { layoutShift, shifted, banners } = window as unknown as { layoutShift: number; shifted: string[]; banners: { clearancePx: number[] } };
        return { layoutShift, shifted, clearancePx: banners.clearancePx };
      });
      // The banner lies over the page's top and never over the number of the device that warns.
      expect(result.clearancePx.length).toBeGreaterThan(0);
      expect(result.clearancePx.every((px) => px >= 0)).toBe(true);
      // Nothing moved, not even a sliver: the shifted sources are named for the message.
      expect(result).toMatchObject({ shifted: [], layoutShift: 0 });
    } finally {
      await page.close();
    }
  });
});
