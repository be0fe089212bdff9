// Debian's chromium driven by playwright-core: never a downloaded browser. The flags are
// the ones that work on this machine; audio plays without a user gesture.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

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
