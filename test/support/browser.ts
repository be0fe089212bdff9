// Debian's chromium driven by playwright-core: never a downloaded browser. The flags are
// the ones that work on this machine; audio plays without a user gesture. openDashboard is
// the e2e files' common start: the dashboard built, a server, chromium and a page on it.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { buildDashboardIfStale } from '../../dashboard/build.ts';
import type { RunningServer } from '../../server/app.ts';
import { startTestServer } from './server.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** `extraArgs`: more Chromium flags, e.g. `--host-resolver-rules=MAP evil.example 127.0.0.1`. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: run \`bash test/system-deps.sh\` (it installs Debian's chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required', ...extraArgs],
  });
}

export interface DashboardOptions {
  /** Simulated devices for an in-process test server (startTestServer); or `server` to start another. */
  readonly devices?: readonly string[];
  /** Starts the server instead: one that records, with a data directory, on a seeded database... */
  readonly server?: () => Promise<RunningServer>;
  /** The page's options: viewport, colorScheme, timezoneId, acceptDownloads, bypassCSP (for axe-core)... */
  readonly page?: BrowserContextOptions;
  /** Opened after the server's URL ('' its root, '/#/algometer'); null: the test opens it (after listening to the page, say). */
  readonly path?: string | null;
  /** More Chromium flags (launchChromium). */
  readonly browserArgs?: readonly string[];
}

export interface Dashboard {
  readonly server: RunningServer;
  readonly browser: Browser;
  readonly page: Page;
  /** Closes the browser, then the server. */
  close(): Promise<void>;
}

/**
 * The dashboard built (if stale), a server and Debian's chromium started side by side, and a
 * page open on it: one per test file, in beforeAll.
 *
 *   const { server, page, close } = await openDashboard({ devices: ['sim'], page: { viewport: { width: 1280, height: 800 } } });
 */
export async function openDashboard(options: DashboardOptions): Promise<Dashboard> {
  await buildDashboardIfStale();
  const [started, launched] = await Promise.allSettled([options.server?.() ?? startTestServer(options.devices ?? ['sim']), launchChromium(options.browserArgs)]);
  if (started.status === 'rejected' || launched.status === 'rejected') {
    // Whichever did start is stopped before the failure is reported.
    if (started.status === 'fulfilled') await started.value.close();
    if (launched.status === 'fulfilled') await launched.value.close();
    throw started.status === 'rejected' ? started.reason : (launched as PromiseRejectedResult).reason;
  }
  const server = started.value;
  const browser = launched.value;
  const close = async (): Promise<void> => {
    await browser.close();
    await server.close();
  };
  try {
    const page = await browser.newPage(options.page);
    if (options.path !== null) await page.goto(`${server.url}${options.path ?? ''}`);
    return { server, browser, page, close };
  } catch (error) {
    await close();
    throw error;
  }
}
