// The worked examples of test/fixtures/traces/:
// `npm run analyze` must reproduce every NAME.expected.json within the tolerances of the
// traces' README: times within 60 ms, durations within 120 ms, forces within 0.5 N.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { engineResultsSchema, type HoldResult, type WarningResult } from '../../../server/engine/results.ts';
import { REPO_ROOT, runTsx } from '../../support/cli.ts';

const TRACES = fileURLToPath(new URL('../../fixtures/traces/', import.meta.url));
const EXAMPLES = readdirSync(TRACES)
  .filter((name) => name.endsWith('.expected.json'))
  .map((name) => name.slice(0, -'.expected.json'.length))
  .sort();

const TIME_MS = 60;
const DURATION_MS = 120;
const FORCE_N = 0.5;

function expectWithin(actual: number | null | undefined, expected: number | null, tolerance: number, what: string): void {
  if (expected === null) {
    expect(actual, what).toBeNull();
    return;
  }
  expect(actual, what).toBeTypeOf('number');
  expect(Math.abs((actual ?? Number.NaN) - expected), `${what}: ${actual} vs expected ${expected}`).toBeLessThanOrEqual(tolerance);
}

/** An expected file has only the fields the README lists (the engine adds its own). */
interface ExpectedResults {
  holds: Pick<HoldResult, 'startMs' | 'endMs' | 'durationMs' | 'meanN' | 'peakN'>[];
  warnings: WarningResult[];
}

/** Checks analyze's stdout against an expected file, field by field, within the tolerances. */
function expectMatches(stdout: string, expected: ExpectedResults, name: string): void {
  const json: unknown = JSON.parse(stdout);
  expect(Object.keys(json as object).sort()).toEqual(['holds', 'warnings']);
  const actual = engineResultsSchema.parse(json);
  expect(actual.holds, `${name}: holds`).toHaveLength(expected.holds.length);
  expect(actual.warnings, `${name}: warnings`).toHaveLength(expected.warnings.length);
  expected.holds.forEach((hold, index) => {
    const found = actual.holds[index];
    expectWithin(found?.startMs, hold.startMs, TIME_MS, `${name} hold ${index} startMs`);
    expectWithin(found?.endMs, hold.endMs, TIME_MS, `${name} hold ${index} endMs`);
    expectWithin(found?.durationMs, hold.durationMs, DURATION_MS, `${name} hold ${index} durationMs`);
    expectWithin(found?.meanN, hold.meanN, FORCE_N, `${name} hold ${index} meanN`);
    expectWithin(found?.peakN, hold.peakN, FORCE_N, `${name} hold ${index} peakN`);
  });
  expected.warnings.forEach((warning, index) => {
    const found = actual.warnings[index];
    expectWithin(found?.startMs, warning.startMs, TIME_MS, `${name} warning ${index} startMs`);
    expectWithin(found?.alertMs, warning.alertMs, TIME_MS, `${name} warning ${index} alertMs`);
    expectWithin(found?.endMs, warning.endMs, TIME_MS, `${name} warning ${index} endMs`);
    expectWithin(found?.peakN, warning.peakN, FORCE_N, `${name} warning ${index} peakN`);
  });
}

function expectedOf(name: string): ExpectedResults {
  return JSON.parse(readFileSync(`${TRACES}${name}.expected.json`, 'utf8')) as ExpectedResults;
}

describe('the shared example traces through npm run analyze', () => {
  it('has the examples', () => {
    expect(EXAMPLES).toEqual(['example_hold_with_dip', 'example_overpressure', 'example_short_and_spike']);
  });

  it.each(EXAMPLES)('%s matches its expected file (with the shared config)', async (name) => {
    const result = await runTsx('server/cli/analyze.ts', ['--config', `${TRACES}config.json`, `${TRACES}${name}.csv`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expectMatches(result.stdout, expectedOf(name), name);
  });

  it('works as the npm script, with paths relative to where it is typed', async () => {
    const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'analyze', '--', '--config', 'config.json', 'example_overpressure.csv'], {
      cwd: TRACES,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    expectMatches(stdout, expectedOf('example_overpressure'), 'example_overpressure');
    expect(REPO_ROOT).not.toBe(TRACES);
  });
});
