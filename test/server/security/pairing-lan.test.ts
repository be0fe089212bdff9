// Pairing end to end in Chromium over a non-loopback address: the test (as root) makes a
// network namespace and a veth pair (10.231.N.0/30, addresses inside it only), runs
// `npm start` inside the namespace bound to 10.231.N.2 (auth applies by default there),
// and drives Chromium from outside it: no token -> refused; the printed viewer link ->
// reads but cannot write; the operator link -> writes; revoked (npm run pair -- revoke)
// -> refused.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboardIfStale } from '../../../dashboard/build.ts';
import { TOKEN_COOKIE } from '../../../server/security/pairing-guard.ts';
import { seedPastSessions, tempDir } from '../recording/support.ts';
import { launchChromium } from '../../support/browser.ts';
import { PAGE_SOCKET_SCRIPT, type PageSocketOutcome } from '../../support/page-socket.ts';
import { REPO_ROOT, runTsx } from '../../support/cli.ts';
import { until } from '../../support/until.ts';

const IP = ['/usr/sbin/ip', '/sbin/ip'].find((path) => existsSync(path)) ?? 'ip';
const NAMESPACE = `kmpair${process.pid}`;
const HOST_END = `kmh${process.pid}`.slice(0, 15);
const INNER_END = `kmn${process.pid}`.slice(0, 15);
const SUBNET = `10.231.${process.pid % 250}`;
const HOST_ADDRESS = `${SUBNET}.1`;
const SERVER_ADDRESS = `${SUBNET}.2`;

function ip(...args: string[]): void {
  execFileSync(IP, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeNetwork(): void {
  if (process.getuid?.() !== 0) throw new Error('this test makes a network namespace: run it as root');
  ip('netns', 'add', NAMESPACE);
  ip('link', 'add', HOST_END, 'type', 'veth', 'peer', 'name', INNER_END);
  ip('link', 'set', INNER_END, 'netns', NAMESPACE);
  ip('addr', 'add', `${HOST_ADDRESS}/30`, 'dev', HOST_END);
  ip('link', 'set', HOST_END, 'up');
  ip('-n', NAMESPACE, 'addr', 'add', `${SERVER_ADDRESS}/30`, 'dev', INNER_END);
  ip('-n', NAMESPACE, 'link', 'set', INNER_END, 'up');
  ip('-n', NAMESPACE, 'link', 'set', 'lo', 'up');
}

function removeNetwork(): void {
  for (const args of [['link', 'del', HOST_END], ['netns', 'del', NAMESPACE]]) {
    try {
      ip(...args);
    } catch {
      // Not made (setup failed before it): nothing to remove.
    }
  }
}

/**
 * The dashboard's live-stream requests as a page sends them (socket.io's wire protocol
 * over a raw WebSocket), each for the first device the server lists; bounded at 10 s.
 */
const LIVE_SCRIPT = `(requests) => {
${PAGE_SOCKET_SCRIPT}
return socketRequests(location.origin, requests, { timeoutMs: 10000, forFirstDevice: true });
}`;

const FETCH_SCRIPT = String.raw`
async ([path, method, body]) => {
  const response = await fetch(path, { method, headers: body === null ? {} : { 'content-type': 'application/json' }, body: body ?? undefined });
  return response.status;
}`;

describe('pairing on the LAN, in Chromium', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: ChildProcess | null = null;
  let browser: Browser | null = null;
  let stdout = '';
  let origin = '';

  beforeAll(async () => {
    // The page is served from dashboard/dist: built here, as every browser test does, since no other file may have built it yet.
    await buildDashboardIfStale();
    dir = tempDir('knotmeter-pair-lan-');
    await seedPastSessions(join(dir.path, 'knotmeter.db'), [{ startedAtMs: Date.parse('2026-11-02T08:00:00Z'), holds: [{ durationMs: 30_000, peakN: 20, bodyArea: 'neck', knot: null }] }]);
    makeNetwork();
    // `ip netns exec` runs node in the namespace (it execs: the pid is node's).
    server = spawn(IP, ['netns', 'exec', NAMESPACE, process.execPath, '--import', 'tsx', 'server/cli/start.ts', '--host', SERVER_ADDRESS, '--port', '0', '--device', 'sim:idle?rate=50', '--data-dir', dir.path, '--log-level', 'error'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    server.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await until(() => stdout.includes('npm run pair -- revoke NAME') || server?.exitCode !== null, 'the server in the namespace to print its pairing links', 30_000);
    origin = /Knotmeter dashboard: (http:\/\/\S+)/.exec(stdout)?.[1] ?? '';
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    if (server !== null && server.exitCode === null && server.signalCode === null) {
      const closed = once(server, 'close');
      server.kill('SIGTERM');
      await closed;
    }
    removeNetwork();
    dir.remove();
  }, 30_000);

  function link(role: 'viewer' | 'operator'): string {
    const found = new RegExp(`${role} \\([^)]*\\):\\s+(http://${SERVER_ADDRESS.replaceAll('.', '\\.')}:\\d+/pair\\?code=[A-Z2-9]{12})`).exec(stdout)?.[1];
    if (found === undefined) throw new Error(`no ${role} link in the server's output: ${stdout}`);
    return found;
  }

  async function context(): Promise<BrowserContext> {
    if (browser === null) throw new Error('Chromium did not start');
    return browser.newContext();
  }

  it('serves on the namespace address only, with pairing by default', () => {
    expect(origin).toMatch(new RegExp(`^http://${SERVER_ADDRESS.replaceAll('.', '\\.')}:\\d+$`));
  });

  it('refuses a browser without a token: the page, the API, the live stream', { timeout: 60_000 }, async () => {
    const unpaired = await context();
    try {
      const page = await unpaired.newPage();
      const answer = await page.goto(`${origin}/`);
      expect(answer?.status()).toBe(401);
      expect(await page.textContent('h1')).toBe('Pair this device');
      expect(await page.evaluate(`(${FETCH_SCRIPT})(['/api/sessions', 'GET', null])`)).toBe(401);
      const live = await page.evaluate<PageSocketOutcome>(`(${LIVE_SCRIPT})([['selectPreset', { preset: 'neck' }]])`);
      expect(live.opened).toBe(false);
    } finally {
      await unpaired.close();
    }
  });

  it('lets the viewer link read and refuses its writes; the operator link writes; revoked, refused', { timeout: 90_000 }, async () => {
    const viewer = await context();
    const operator = await context();
    try {
      const viewerPage = await viewer.newPage();
      const paired = await viewerPage.goto(link('viewer'));
      expect(paired?.status()).toBe(200);
      expect(viewerPage.url()).toBe(`${origin}/`);
      const [cookie] = await viewer.cookies();
      expect(cookie).toMatchObject({ name: TOKEN_COOKIE, httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
      expect(await viewerPage.evaluate(`(${FETCH_SCRIPT})(['/api/sessions', 'GET', null])`)).toBe(200);
      expect(await viewerPage.evaluate(`(${FETCH_SCRIPT})(['/api/sessions/1', 'PATCH', '{"notes":"viewer"}'])`)).toBe(403);
      expect(await viewerPage.evaluate(`(${FETCH_SCRIPT})(['/api/sessions/1', 'DELETE', null])`)).toBe(403);
      const viewerLive = await viewerPage.evaluate<PageSocketOutcome>(`(${LIVE_SCRIPT})([['selectPreset', { preset: 'neck' }], ['labelHold', { bodyArea: 'neck', knot: null }], ['calibrationTare', {}]])`);
      expect(viewerLive.how).toBe('answered');
      for (const reply of viewerLive.replies) expect(reply).toEqual({ ok: false, error: expect.stringMatching(/refused, nothing changed: this device is paired as a viewer/) as unknown });

      const operatorPage = await operator.newPage();
      expect((await operatorPage.goto(link('operator')))?.status()).toBe(200);
      expect(await operatorPage.evaluate(`(${FETCH_SCRIPT})(['/api/sessions/1', 'PATCH', '{"notes":"operator"}'])`)).toBe(200);
      const operatorLive = await operatorPage.evaluate<PageSocketOutcome>(`(${LIVE_SCRIPT})([['selectPreset', { preset: 'neck' }]])`);
      expect(operatorLive).toEqual({ opened: true, how: 'answered', replies: [{ ok: true }] });

      const revoked = await runTsx('server/cli/pair.ts', ['revoke', 'operator-1', '--data-dir', dir.path]);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(await operatorPage.evaluate(`(${FETCH_SCRIPT})(['/api/sessions', 'GET', null])`)).toBe(401);
      expect(await operatorPage.evaluate(`(${FETCH_SCRIPT})(['/api/sessions/1', 'PATCH', '{"notes":"revoked"}'])`)).toBe(401);
      expect((await operatorPage.evaluate<PageSocketOutcome>(`(${LIVE_SCRIPT})([['selectPreset', { preset: 'shoulders' }]])`)).opened).toBe(false);
      expect((await operatorPage.reload())?.status()).toBe(401);
      // The viewer is still paired.
      expect(await viewerPage.evaluate(`(${FETCH_SCRIPT})(['/api/sessions', 'GET', null])`)).toBe(200);
    } finally {
      await viewer.close();
      await operator.close();
    }
  });
});
