// The dashboard's Paired devices page in Chromium (--auth always on loopback): linked
// from the header only when the server pairs devices; a viewer sees the list without
// Revoke; an operator revokes a device, which is then refused.
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboardIfStale } from '../../../dashboard/build.ts';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import type { Role } from '../../../server/security/pairing.ts';
import { launchChromium } from '../../support/browser.ts';

function start(auth: 'auto' | 'always'): Promise<RunningServer> {
  return startServer({ host: '127.0.0.1', port: 0, devices: ['sim:idle?rate=50'], seed: 3, engine: { preset: 'shoulders', config: presetConfig('shoulders') }, logger: pino({ level: 'silent' }), auth });
}

describe('Paired devices page', () => {
  let browser: Browser;
  let server: RunningServer;

  beforeAll(async () => {
    // The page is served from dashboard/dist: built here, as every browser test does, since no other file may have built it yet.
    await buildDashboardIfStale();
    browser = await launchChromium();
    server = await start('always');
  }, 30_000);
  afterAll(async () => {
    await browser.close();
    await server.close();
  });

  async function paired(role: Role): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    const code = server.pairing?.store.newCode(role).code ?? '';
    expect((await page.goto(`${server.url}/pair?code=${code}`))?.status()).toBe(200);
    await page.goto(`${server.url}/#/pairing`);
    await page.getByRole('link', { name: 'Paired devices' }).waitFor();
    await page.getByTestId('pairing-list').waitFor();
    return page;
  }

  it('shows a viewer the list without Revoke, and lets an operator revoke a device', { timeout: 60_000 }, async () => {
    const viewer = await paired('viewer');
    const operator = await paired('operator');
    try {
      await viewer.getByRole('button', { name: 'Reload' }).click();
      await viewer.getByTestId('paired-operator-1').waitFor();
      expect(await viewer.getByTestId('pairing-you').textContent()).toBe('This device: viewer-1 (viewer).');
      expect(await viewer.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);
      expect(await operator.getByTestId('paired-viewer-1').locator('td').nth(1).textContent()).toBe('viewer');
      operator.once('dialog', (dialog) => void dialog.accept());
      await operator.getByRole('button', { name: 'Revoke viewer-1' }).click();
      await operator.getByTestId('paired-viewer-1').waitFor({ state: 'detached' });
      expect(await viewer.evaluate(async () => (await fetch('/api/pairing')).status)).toBe(401);
      expect((await viewer.reload())?.status()).toBe(401);
    } finally {
      await viewer.context().close();
      await operator.context().close();
    }
  });

  it('has no Paired devices link when the server pairs nobody', { timeout: 30_000 }, async () => {
    const open = await start('auto');
    const page = await browser.newPage();
    try {
      const answered = page.waitForResponse((response) => response.url().endsWith('/api/pairing'));
      await page.goto(`${open.url}/`);
      expect(((await (await answered).json()) as { required: boolean }).required).toBe(false);
      await page.getByRole('link', { name: 'Changes' }).waitFor();
      expect(await page.getByRole('link', { name: 'Paired devices' }).count()).toBe(0);
    } finally {
      await page.close();
      await open.close();
    }
  });
});
