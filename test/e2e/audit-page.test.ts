// The save guard and the Changes page in the real dashboard (Debian chromium), against the
// simulated calibration bench with a database: loads typed ten times too light (kept over
// the live stream, as a confirmed capture) make a fit that the Calibration page's Save
// refuses, showing the change, with "Save it anyway", which saves it. The header's
// "Changes" link, followed by keyboard, lists the preset change, the tare, the save and a
// deleted session newest first in a table with column headers.
import { join } from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/app.ts';
import { commandReplySchema, serverEventSchemas, type ClientToServerEvents, type CommandReply, type ServerToClientEvents } from '../../server/contract/live-events.ts';
import { presetConfig } from '../../server/engine/presets.ts';
import { seedPastSessions, tempDir } from '../server/recording/support.ts';
import { openDashboard } from '../support/browser.ts';
import { until } from '../support/until.ts';

const WAIT = { timeout: 30_000 };
const BENCH = 'sim:weights?loads=5,10&holdS=5&speed=2';

describe('the save guard and the Changes page, in chromium', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let client: Socket<ServerToClientEvents, ClientToServerEvents>;
  let raws: number[] = [];
  let benchId = '';
  const pageErrors: string[] = [];

  const ask = async (event: keyof ClientToServerEvents, payload: unknown): Promise<CommandReply> => {
    const timed = client.timeout(40_000);
    const emit = timed.emitWithAck.bind(timed) as (event: string, payload: unknown) => Promise<unknown>;
    return commandReplySchema.parse(await emit(event, payload));
  };

  beforeAll(async () => {
    dir = tempDir('knotmeter-audit-page-');
    const db = join(dir.path, 'audit.db');
    await seedPastSessions(db, [{ startedAtMs: Date.UTC(2026, 10, 2, 8), holds: [{ durationMs: 30_000, peakN: 18, bodyArea: 'neck', knot: null }] }]);
    const start = (): Promise<RunningServer> => startServer({ host: '127.0.0.1', port: 0, devices: [BENCH], seed: 21, engine: { preset: 'shoulders', config: presetConfig('shoulders') }, logger: pino({ level: 'silent' }), db, dataDir: dir.path });
    ({ server, browser, page } = await openDashboard({ server: start, path: null }));
    benchId = server.pipelines[0]?.info?.deviceId ?? '';
    client = io(server.url, { transports: ['websocket'], forceNew: true });
    client.on('readings', (payload) => {
      for (const batch of serverEventSchemas.readings.parse(payload)) raws.push(...batch.raw);
      if (raws.length > 2000) raws = raws.slice(-500);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });
  afterAll(async () => {
    client.close();
    await browser.close();
    await server.close();
    dir.remove();
  });

  it('Save refuses a calibration off by 10x, showing the change, and "Save it anyway" saves it', { timeout: 120_000 }, async () => {
    expect(await ask('selectPreset', { deviceId: benchId, preset: 'neck' })).toEqual({ ok: true });
    await until(() => raws.length >= 150 && raws.slice(-150).every((raw) => raw < 10), 'the bench to rest unloaded', 60_000);
    expect(await ask('calibrationTare', { deviceId: benchId })).toEqual({ ok: true });
    expect(await ask('calibrationCapture', { deviceId: benchId, value: 0.5, unit: 'N', confirm: true })).toEqual({ ok: true });
    expect(await ask('calibrationCapture', { deviceId: benchId, value: 1, unit: 'N', confirm: true })).toEqual({ ok: true });

    await page.goto(`${server.url}/#/calibration/${benchId}`);
    await expect.poll(() => page.getByTestId('save').isEnabled(), WAIT).toBe(true);
    await page.getByTestId('save').click();
    await expect.poll(() => page.getByTestId('calibration-message').textContent(), WAIT).toMatch(/this calibration reads \d+\.\d\d N as \d\.\d\d N: 9\d % lower than the sensor's default curve/);
    expect(await page.getByTestId('calibration-insist').textContent()).toBe('Save it anyway');
    expect(server.profiles.read(benchId)).toBeNull();
    await page.getByTestId('calibration-insist').click();
    await expect.poll(() => page.getByTestId('calibration-message').textContent(), WAIT).toContain('Saved');
    expect(server.profiles.read(benchId)?.history).toHaveLength(1);
  });

  it('the Changes page lists every change newest first, reached from the header by keyboard', async () => {
    expect((await fetch(`${server.url}/api/sessions/1`, { method: 'DELETE' })).status).toBe(204);
    await page.goto(server.url);
    const link = page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Changes' });
    await link.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.url(), WAIT).toMatch(/#\/audit$/);
    const table = page.getByTestId('audit-list');
    await expect.poll(() => table.locator('tbody tr').count(), WAIT).toBe(4);
    expect(await table.locator('thead th').allTextContents()).toEqual(['Time', 'Who', 'What', 'Device', 'Before', 'After']);
    expect(await table.locator('tbody tr td:nth-child(3)').allTextContents()).toEqual(['session deleted (session 1)', 'calibration saved', 'tared', 'preset changed']);
    expect(await table.locator('tbody tr td:nth-child(2)').allTextContents()).toEqual(['localhost', 'localhost', 'localhost', 'localhost']);
    const preset = table.locator('tbody tr').nth(3);
    expect(await preset.locator('td').nth(4).textContent()).toBe('preset: shoulders');
    expect(await preset.locator('td').nth(5).textContent()).toBe('preset: neck');
    expect(await table.locator('tbody tr').nth(1).locator('td').nth(5).textContent()).toMatch(/largestChange: -9\d % at \d+\.\d\d N, confirmed: true/);
    expect(await link.getAttribute('aria-current')).toBe('page');
  });

  it('raised no error in the page throughout', () => {
    expect(pageErrors).toEqual([]);
  });
});
