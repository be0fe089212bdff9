// The firmware core's host tests: device/firmware/test/*.cpp, the core compiled
// with g++ (AddressSanitizer + UndefinedBehaviorSanitizer) against a fake board.
// The binary prints one JSON line per C++ test; each becomes a vitest test here.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FIRMWARE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'device', 'firmware');
const HOST_TESTS = join(FIRMWARE_DIR, 'build', 'host', 'knotmeter-host-tests');

interface HostTestResult {
  readonly name: string;
  readonly failures: readonly string[];
}

function isHostTestResult(value: unknown): value is HostTestResult {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.name === 'string' &&
    Array.isArray(record.failures) &&
    record.failures.every((failure) => typeof failure === 'string')
  );
}

interface HostRun {
  readonly listed: readonly string[];
  readonly results: readonly HostTestResult[];
  readonly stderr: string;
}

function buildAndRun(): HostRun {
  const build = spawnSync('make', ['-C', FIRMWARE_DIR, 'host-test'], { encoding: 'utf8' });
  if (build.status !== 0) {
    throw new Error(`make -C device/firmware host-test failed (it needs g++ and make):\n${build.stdout}${build.stderr}`);
  }
  const list = spawnSync(HOST_TESTS, ['--list'], { encoding: 'utf8' });
  const run = spawnSync(HOST_TESTS, [], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const results = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line): unknown => JSON.parse(line))
    .filter(isHostTestResult);
  return { listed: list.stdout.split('\n').filter((name) => name !== ''), results, stderr: run.stderr };
}

const hostRun = buildAndRun();

describe('firmware core on the host', () => {
  it('runs every C++ test to its end (no sanitizer abort, no crash)', () => {
    expect(hostRun.listed.length).toBeGreaterThan(50);
    expect(hostRun.results.map((result) => result.name), hostRun.stderr).toEqual(hostRun.listed);
  });

  for (const result of hostRun.results) {
    it(result.name.replaceAll('_', ' '), () => {
      expect(result.failures).toEqual([]);
    });
  }
});
