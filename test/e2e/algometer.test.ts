// Algometer mode end to end in Debian's chromium, against the real recording server and a
// simulated massager playing the `ppt` scenario (steady ramps at about 50 kPa/s, the thumb
// button pressed at the knot's threshold), three times faster than real time: three trials
// marked with the space bar part way up their ramps, each result shown and valid; saved,
// the measurement is stored (GET /api/ppt) and exported (export.csv, one line a trial);
// the preset it makes is previewed and accepted only on the press of "Use for this knot";
// then a trial of the "after" phase ended by the massager's own thumb button; both on the
// trends and session pages. axe-core finds no WCAG 2.1 AA violation on the pages so filled.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { knotPresetListSchema, pptMeasurementPageSchema } from '../../server/contract/ppt.ts';
import { violations } from '../support/axe.ts';
import { openDashboard } from '../support/browser.ts';
import { getJson, startRecordingServer, tempDir } from '../server/recording/support.ts';

const WAIT = { timeout: 30_000 };
const BODY_AREA = 'shoulders';
const KNOT = 'left upper trapezius';
/** Device time into a ramp before the space bar marks: past the 0.5 s a valid trial needs, well before the button at its top. */
const MARK_AFTER_MS = 800;

describe('algometer mode in chromium', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const trialRows = () => page.getByTestId('ppt-trial');

  beforeAll(async () => {
    dir = tempDir('knotmeter-ppt-');
    ({ server, browser, page } = await openDashboard({
      server: () => startRecordingServer({ devices: ['sim:ppt?rate=100&speed=3'], db: join(dir.path, 'ppt.db') }),
      // bypassCSP: axe-core is injected to check each state of the page for WCAG 2.1 AA.
      page: { viewport: { width: 1280, height: 900 }, bypassCSP: true },
      path: '/#/algometer',
    }));
    await page.getByTestId('ppt-device').waitFor(WAIT);
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
    dir.remove();
  });

  it('takes three trials marked with the space bar, shows each, stores and exports them', async () => {
    await page.getByTestId('ppt-body-area').fill(BODY_AREA);
    await page.getByTestId('ppt-knot').fill(KNOT);
    // The space bar types into a text field: the focus leaves it, as a person's would.
    await page.locator('#algometer-title').click();
    for (let trial = 1; trial <= 3; trial++) {
      const status = page.getByTestId('ppt-status');
      // Polled closely: at three times real speed a ramp gives the mark about a second of wall time.
      await expect
        .poll(async () => (await status.getAttribute('data-phase')) === 'ramp' && Number(await status.getAttribute('data-elapsed-ms')) >= MARK_AFTER_MS, { ...WAIT, interval: 20 })
        .toBe(true);
      await page.keyboard.press('Space');
      await expect.poll(() => trialRows().count(), { ...WAIT, message: `trial ${trial}: ${await page.getByTestId('algometer-page').innerText()}` }).toBe(trial);
      const row = trialRows().nth(trial - 1);
      expect(await row.getAttribute('data-ended-by')).toBe('dashboard');
      expect(await row.getAttribute('data-valid'), await row.innerText()).toBe('true');
      expect(await row.getByTestId('ppt-trial-ppt').innerText()).toMatch(/^\d+(\.\d+)? N$/);
    }
    await expect.poll(() => page.getByTestId('ppt-status').getAttribute('data-phase'), WAIT).toBe('complete');
    expect(await page.getByTestId('ppt-summary').getAttribute('data-n')).toBe('3');
    expect(await page.getByTestId('ppt-summary').innerText()).toMatch(/sd \d+(\.\d+)? N, cv \d+(\.\d+)? %/);

    await page.getByTestId('ppt-save').click();
    await page.getByTestId('ppt-stored').waitFor(WAIT);
    const id = Number(await page.getByTestId('ppt-stored').getAttribute('data-id'));

    const listed = pptMeasurementPageSchema.parse((await getJson(`${server.url}/api/ppt?knot=${encodeURIComponent(KNOT)}`)).body);
    expect(listed.total).toBe(1);
    const [measurement] = listed.measurements;
    expect(measurement?.id).toBe(id);
    expect(measurement?.phase).toBe('before');
    expect(measurement?.bodyArea).toBe(BODY_AREA);
    expect(measurement?.trials.map((trial) => [trial.onset, trial.valid])).toEqual([
      ['mark', true],
      ['mark', true],
      ['mark', true],
    ]);
    expect(measurement?.summary.n).toBe(3);

    const csv = await (await fetch(`${server.url}/api/ppt/export.csv`)).text();
    const lines = csv.trim().split(/\r?\n/);
    expect(lines).toHaveLength(4);
    expect(lines.slice(1).every((line) => line.includes(KNOT))).toBe(true);
  }, 90_000);

  it('previews the preset the PPT makes beside the one in force, and keeps it only when asked', async () => {
    const preview = page.getByTestId('ppt-preset-preview');
    await preview.getByTestId('ppt-preset-accept').waitFor(WAIT);
    expect(await preview.innerText()).toContain('In force now');
    const before = knotPresetListSchema.parse((await getJson(`${server.url}/api/ppt/presets`)).body);
    expect(before.presets).toEqual([]);
    await preview.getByTestId('ppt-preset-accept').click();
    await preview.getByTestId('ppt-preset-accepted').waitFor(WAIT);
    const after = knotPresetListSchema.parse((await getJson(`${server.url}/api/ppt/presets`)).body);
    expect(after.presets.map((preset) => [preset.bodyArea, preset.knot])).toEqual([[BODY_AREA, KNOT]]);
    // The page with its trials, mean, stored measurement and preset: still no WCAG 2.1 AA violation.
    expect((await violations(page)).join('\n')).toBe('');
  });

  it("ends a trial at the massager's own thumb button", async () => {
    await page.getByTestId('ppt-new').click();
    await page.getByTestId('ppt-phase-after').check();
    await page.locator('#algometer-title').click();
    await expect.poll(() => trialRows().count(), WAIT).toBe(1);
    expect(await trialRows().first().getAttribute('data-ended-by')).toBe('device');
    expect(await trialRows().first().getAttribute('data-valid'), await trialRows().first().innerText()).toBe('true');
  });

  it('shows the knot on the trends page and the session\'s before/after pair with its difference', async () => {
    await page.getByTestId('ppt-save').click();
    await page.getByTestId('ppt-stored').waitFor(WAIT);
    const listed = pptMeasurementPageSchema.parse((await getJson(`${server.url}/api/ppt`)).body);
    expect(listed.measurements.map((measurement) => measurement.phase).sort()).toEqual(['after', 'before']);

    await page.goto(`${server.url}/#/trends`);
    const group = page.getByTestId('ppt-trend-group');
    await group.first().waitFor(WAIT);
    expect(await group.count()).toBe(1);
    expect(await group.first().innerText()).toContain(`${BODY_AREA} / ${KNOT}`);
    expect((await violations(page)).join('\n')).toBe('');

    // Both were measured while the recorder recorded the device: the same session.
    const sessionIds = new Set(listed.measurements.map((measurement) => measurement.sessionId));
    expect(sessionIds.size).toBe(1);
    const [sessionId] = [...sessionIds];
    expect(sessionId).not.toBeNull();
    await page.goto(`${server.url}/#/sessions/${sessionId}`);
    const difference = page.getByTestId('ppt-session-difference');
    await difference.waitFor(WAIT);
    expect(await difference.innerText()).toMatch(/kPa: (within|beyond) measurement noise/);
    expect((await violations(page)).join('\n')).toBe('');
  });
});
