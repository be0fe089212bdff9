// A real attack in Chromium: a page of another origin (another port of this machine)
// sends the live stream's requests over a raw WebSocket (preset, label, calibration) and
// the REST writes with fetch; a page on a name that re-resolves to 127.0.0.1 (DNS
// rebinding, via Chromium's resolver rules) sends them same-origin; another site frames
// the dashboard. Every one is refused and nothing changes. The same requests from the
// dashboard's own page are accepted (the control that shows the attack code works).
import { join } from 'node:path';
import type { Browser, Page, Response } from 'playwright-core';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboardIfStale } from '../../../dashboard/build.ts';
import { startServer, type RunningServer } from '../../../server/app.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../../server/contract/live-events.ts';
import { sessionDetailSchema, type SessionDetail } from '../../../server/contract/records.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import { getJson, seedPastSessions, tempDir } from '../recording/support.ts';
import { ATTACK_SCRIPT, attackPageHtml, attackPagePath, startAttackSite, type AttackOutcome, type AttackTarget } from '../../support/attack-page.ts';
import { launchChromium } from '../../support/browser.ts';
import { until } from '../../support/until.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
const REBOUND_NAME = 'evil.example';

describe('an attacker web page', { timeout: 90_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let site: Awaited<ReturnType<typeof startAttackSite>>;
  let browser: Browser;
  let observer: Client;
  let deviceId = '';
  const broadcasts = { session: 0, calibration: 0, recorder: 0 };

  const requests = (): [string, unknown][] => [
    ['selectPreset', { deviceId, preset: 'neck' }],
    ['labelHold', { deviceId, bodyArea: 'pwned', knot: 'pwned' }],
    ['calibrationTare', { deviceId, confirm: true }],
    ['calibrationReset', { deviceId }],
    ['calibrationSave', { deviceId, areaCm2: 2 }],
  ];

  const session = async (): Promise<SessionDetail> => sessionDetailSchema.parse((await getJson(`${server.url}/api/sessions/1`)).body);

  /** What an attack could change: the preset, the live label, the recorded session, and what has been broadcast. */
  const state = async (): Promise<unknown> => ({
    preset: server.pipelines[0]?.info?.preset,
    label: server.recording?.recorder?.status().devices[0]?.label,
    session: await session(),
    broadcasts: { ...broadcasts },
  });

  /** Every answer the page received from the Knotmeter server (Playwright sees statuses the page itself may not). */
  const answersFrom = (page: Page, origin: string): number[] => {
    const statuses: number[] = [];
    page.on('response', (response: Response) => {
      if (response.url().startsWith(origin)) statuses.push(response.status());
    });
    return statuses;
  };

  const outcomeOf = async (page: Page): Promise<AttackOutcome> => {
    await page.waitForFunction(() => (globalThis as { attackOutcome?: unknown }).attackOutcome !== undefined, undefined, { timeout: 30_000 });
    return (await page.evaluate(() => (globalThis as { attackOutcome?: unknown }).attackOutcome)) as AttackOutcome;
  };

  beforeAll(async () => {
    // The page is served from dashboard/dist: built here, as every browser test does, since no other file may have built it yet.
    await buildDashboardIfStale();
    dir = tempDir('knotmeter-attack-');
    const db = join(dir.path, 'attack.db');
    await seedPastSessions(db, [{ startedAtMs: Date.parse('2026-11-02T08:00:00Z'), holds: [{ durationMs: 30_000, peakN: 20, bodyArea: 'neck', knot: 'left C5' }] }]);
    server = await startServer({ host: '127.0.0.1', port: 0, devices: ['sim:idle?rate=50'], seed: 5, engine: { preset: 'shoulders', config: presetConfig('shoulders') }, logger: pino({ level: 'silent' }), db });
    observer = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false });
    observer.on('session', () => broadcasts.session++);
    observer.on('calibration', () => broadcasts.calibration++);
    observer.on('recorder', () => broadcasts.recorder++);
    await until(() => broadcasts.calibration > 0 && broadcasts.recorder > 0 && broadcasts.session > 0, 'the observer welcomed');
    deviceId = server.pipelines[0]?.info?.deviceId ?? '';
    site = await startAttackSite(`${server.url}/`);
    // Chromium's own Local Network Access checks would block the rebound page before our
    // server sees it; other browsers (and older Chromium) have none, so they are off here
    // to show that the server refuses it by itself.
    browser = await launchChromium([`--host-resolver-rules=MAP ${REBOUND_NAME} 127.0.0.1`, '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults']);
  });
  afterAll(async () => {
    await browser.close();
    await site.close();
    observer.close();
    await server.close();
    dir.remove();
  });

  it('on another port of this machine: every socket.io request and every write is refused, nothing changes', async () => {
    const before = await state();
    const page = await browser.newPage();
    try {
      const statuses = answersFrom(page, server.url);
      const target: AttackTarget = { url: server.url, deviceId, sessionId: 1 };
      await page.goto(`${site.url}${attackPagePath(target, requests())}`);
      const outcome = await outcomeOf(page);
      expect(outcome.socket).toMatchObject({ opened: false, replies: [] });
      for (const [name, result] of Object.entries(outcome.fetches)) expect(typeof result === 'string' || result === 0 ? 'refused or unreadable' : result, name).toBe('refused or unreadable');
      // The server itself refused whatever reached it (an opaque no-cors answer included).
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.filter((status) => status < 400)).toEqual([]);
    } finally {
      await page.close();
    }
    expect(await state()).toEqual(before);
  });

  it(`by DNS rebinding (${REBOUND_NAME} re-resolved to 127.0.0.1, same origin): refused by its Host, nothing changes`, async () => {
    const before = await state();
    const page = await browser.newPage();
    try {
      const origin = `http://${REBOUND_NAME}:${new URL(server.url).port}`;
      // The page came from the attacker's server before the name was re-pointed; everything after goes to ours.
      await page.route(`${origin}/attack.html*`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: attackPageHtml() }));
      const target: AttackTarget = { url: origin, deviceId, sessionId: 1 };
      await page.goto(`${origin}${attackPagePath(target, requests())}`);
      const outcome = await outcomeOf(page);
      expect(outcome.socket).toMatchObject({ opened: false, replies: [] });
      expect(outcome.fetches).toMatchObject({ polling: 403, patchNotes: 421, patchHold: 421, pollingNoCors: 403, postNoCors: 421, delete: 421 });
      const refusal = await page.evaluate(async (url) => (await fetch(url)).json(), `${origin}/api/sessions`);
      expect(refusal).toEqual({ error: expect.stringMatching(new RegExp(`^this server does not answer to the name ${REBOUND_NAME}: .*--allowed-host ${REBOUND_NAME}`)) as unknown });
    } finally {
      await page.close();
    }
    expect(await state()).toEqual(before);
  });

  it('cannot frame the dashboard', async () => {
    const page = await browser.newPage();
    try {
      const refused = page.waitForEvent('console', { predicate: (message) => message.text().includes("frame-ancestors 'none'"), timeout: 20_000 });
      await page.goto(`${site.url}/frame.html`);
      await refused;
      expect(page.frames().some((frame) => frame.url().startsWith(server.url) && frame !== page.mainFrame())).toBe(false);
    } finally {
      await page.close();
    }
  });

  it("the same requests from the dashboard's own page are accepted (the attack code works), with no CSP violation", async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    try {
      await page.goto(`${server.url}/`);
      const target: AttackTarget = { url: server.url, deviceId, sessionId: 1 };
      const own: unknown = await page.evaluate(`(() => { ${ATTACK_SCRIPT}; return socketRequests(${JSON.stringify(target.url)}, ${JSON.stringify([['selectPreset', { deviceId, preset: 'neck' }]])}, { timeoutMs: 5000, forFirstDevice: false }); })()`);
      expect(own).toMatchObject({ opened: true, how: 'answered', replies: [{ ok: true }] });
      await until(() => server.pipelines[0]?.info?.preset === 'neck', 'the preset chosen from the own page');
      const patched = await page.evaluate(
        async (url) => (await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ notes: 'from the dashboard' }) })).status,
        `${server.url}/api/sessions/1`,
      );
      expect(patched).toBe(200);
      expect((await session()).notes).toBe('from the dashboard');
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
