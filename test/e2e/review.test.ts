// Review end to end in Debian's chromium: a trace replayed through the real server is
// recorded; the history page lists it, its page shows its holds and chart, a hold is
// labelled (and stays labelled after a reload), and the holds export as CSV. Live, the
// key l opens a device's label form and the holds recorded after it carry the label.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { sessionDetailSchema } from '../../server/contract/records.ts';
import { launchChromium, openDashboard } from '../support/browser.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { until } from '../support/until.ts';
import { getJson, startRecordingServer, tempDir, traceEngine, TRACES_DIR } from '../server/recording/support.ts';

const WAIT = { timeout: 20_000 };

describe('reviewing a recorded session in chromium', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dir = tempDir();
    /** The trace replayed to its end and its session written, before the page opens. */
    const replayed = async (): Promise<RunningServer> => {
      const recording = await startRecordingServer({ devices: [`replay:${join(TRACES_DIR, 'example_overpressure.csv')}`], db: join(dir.path, 'review.db'), engine: traceEngine(), replaySpeed: null });
      await until(() => recording.pipelines.every((pipeline) => pipeline.status().state === 'stopped'), 'the replay to end');
      await recording.recording?.recorder?.flush(true);
      return recording;
    };
    ({ server, browser, page } = await openDashboard({ server: replayed, page: { viewport: { width: 1280, height: 900 }, acceptDownloads: true }, path: null }));
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
    dir.remove();
  });

  it('lists the session on the history page and opens it', async () => {
    await page.goto(`${server.url}/#/history`);
    const rows = page.getByTestId('session-list').locator('tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(1);
    expect(await rows.first().textContent()).toMatch(/Replay [0-9a-f]{4} [0-9a-f]{8}.*0:18.*1.*0:14.*1.*complete/);
    await rows.first().getByRole('link').click();
    await expect.poll(() => page.getByTestId('session-facts').textContent(), WAIT).toMatch(/1 hold, 0:14 in all.*1 over-pressure warning/);
    expect(page.url()).toMatch(/#\/sessions\/1$/);
  });

  it('shows the holds with duration against target, the warning, and the chart', async () => {
    const holds = page.getByTestId('recorded-hold');
    await expect.poll(() => holds.count(), WAIT).toBe(1);
    expect(await holds.first().textContent()).toMatch(/#1\s*0:02\s*0:14 \/ 1:00\s*45\.1 s short\s*28\.5 N\s*49\.9 N/);
    expect(await page.getByTestId('recorded-warnings').locator('tbody tr').first().textContent()).toMatch(/0:08.*0:08.*0:10.*49\.9 N/);
    const chart = page.getByTestId('session-chart');
    expect(await chart.getAttribute('aria-label')).toMatch(/1 hold and 1 over-pressure warning marked/);
    await holds.first().getByRole('button', { name: 'Show hold 1 on the chart' }).click();
    await expect.poll(() => page.getByTestId('chart-range').textContent(), WAIT).toMatch(/^0:00 – 0:18/);
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await expect.poll(() => page.getByTestId('chart-range').textContent(), WAIT).toMatch(/^0:0[45] – 0:1[34]/);
  });

  it('labels a hold by keyboard, and the label is saved', async () => {
    const area = page.getByTestId('hold-bodyArea').first();
    await area.fill('neck');
    await area.press('Enter');
    const knot = page.getByTestId('hold-knot').first();
    await knot.fill('=left C5');
    await knot.press('Tab');
    const saved = async (): Promise<string> => {
      const session = sessionDetailSchema.parse((await getJson(`${server.url}/api/sessions/1`)).body);
      return `${session.holds[0]?.bodyArea ?? ''}|${session.holds[0]?.knot ?? ''}`;
    };
    await expect.poll(saved, WAIT).toBe('neck|=left C5');
    await page.reload();
    await expect.poll(() => page.getByTestId('hold-bodyArea').first().inputValue(), WAIT).toBe('neck');
    await expect.poll(() => page.getByTestId('chart-range').textContent(), WAIT).toMatch(/^0:00 – 0:18/);
    await page.screenshot({ path: `${REPO_ROOT}test-results/session.png`, fullPage: true });
    if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(`${REPO_ROOT}test-results/session.png`, `${REPO_ROOT}dashboard/screenshots/session.png`);
  });

  it('exports the holds as CSV, formula-safe', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-holds').click()]);
    expect(download.suggestedFilename()).toBe('knotmeter-session-1-holds.csv');
    const path = await download.path();
    const lines = readFileSync(path, 'utf8').split('\r\n');
    expect(lines[0]).toMatch(/^hold,start_ms,end_ms,duration_ms,/);
    expect(lines[1]).toBe("1,1530,16390,14860,60000,false,28.491,49.912,12840,1620,neck,'=left C5");
  });
});

describe('labelling holds live in chromium', () => {
  it('opens the label form with l, labels the device\'s holds, and the recorded hold carries the label', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const server = await startRecordingServer({ devices: ['sim:over-pressure?rate=100&speed=10'], db: join(dir.path, 'live.db') });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(server.url);
      await expect.poll(() => page.getByTestId('hold-label').textContent(), WAIT).toMatch(/Holds not labelled/);
      await page.keyboard.press('l');
      const area = page.getByTestId('label-body-area');
      await expect.poll(() => area.evaluate((input) => input === document.activeElement), WAIT).toBe(true);
      expect(await area.inputValue()).toBe('shoulders');
      await page.keyboard.press('Tab');
      await page.keyboard.type('left upper trapezius');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.getByTestId('hold-label').textContent(), WAIT).toMatch(/Labelling holds: shoulders · left upper trapezius/);
      const labelledHolds = async (): Promise<number> => {
        await server.recording?.recorder?.flush();
        const session = sessionDetailSchema.parse((await getJson(`${server.url}/api/sessions/1`)).body);
        return session.holds.filter((hold) => hold.bodyArea === 'shoulders' && hold.knot === 'left upper trapezius').length;
      };
      await expect.poll(labelledHolds, { timeout: 40_000 }).toBeGreaterThanOrEqual(1);
    } finally {
      await browser.close();
      await server.close();
      dir.remove();
    }
  });
});
