// One vitest run for every suite: unit, integration (real socket.io, pty, emulator) and
// end to end (Debian chromium). The JSON report is what `.ci/run` totals.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
