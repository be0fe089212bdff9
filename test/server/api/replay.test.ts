// Replay through the very same pipeline: each example trace of test/fixtures/traces/
// replayed by the server is recorded as a session whose holds
// and warnings, read back through the API, are those of its expected file (within the
// tolerances its README gives). A recorded session replays again (replay:SESSION_ID) to
// the same results, at real-time pacing as well as unpaced, and `npm run analyze --
// --session` prints them too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../server/app.ts';
import { runAnalyze } from '../../../server/cli/analyze.ts';
import { engineResultsSchema, type EngineResults } from '../../../server/engine/results.ts';
import { sessionDetailSchema, sessionPageSchema, type SessionDetail } from '../../../server/contract/records.ts';
import { until } from '../../support/until.ts';
import { getJson, startRecordingServer, tempDir, traceEngine, TRACE_NAMES, TRACES_DIR } from '../recording/support.ts';

const TIME_TOLERANCE_MS = 60;
const DURATION_TOLERANCE_MS = 120;
const FORCE_TOLERANCE_N = 0.5;

function expectMatches(actual: EngineResults, expected: EngineResults, name: string): void {
  expect(actual.holds.length, `${name}: holds`).toBe(expected.holds.length);
  for (const [index, hold] of expected.holds.entries()) {
    const got = actual.holds[index];
    if (got === undefined) throw new Error(`${name}: hold ${index} missing`);
    expect(Math.abs(got.startMs - hold.startMs), `${name} hold ${index} startMs`).toBeLessThanOrEqual(TIME_TOLERANCE_MS);
    expect(Math.abs(got.endMs - hold.endMs), `${name} hold ${index} endMs`).toBeLessThanOrEqual(TIME_TOLERANCE_MS);
    expect(Math.abs(got.durationMs - hold.durationMs), `${name} hold ${index} durationMs`).toBeLessThanOrEqual(DURATION_TOLERANCE_MS);
    expect(Math.abs(got.meanN - hold.meanN), `${name} hold ${index} meanN`).toBeLessThanOrEqual(FORCE_TOLERANCE_N);
    expect(Math.abs(got.peakN - hold.peakN), `${name} hold ${index} peakN`).toBeLessThanOrEqual(FORCE_TOLERANCE_N);
  }
  expect(actual.warnings.length, `${name}: warnings`).toBe(expected.warnings.length);
  for (const [index, warning] of expected.warnings.entries()) {
    const got = actual.warnings[index];
    if (got === undefined) throw new Error(`${name}: warning ${index} missing`);
    for (const field of ['startMs', 'alertMs'] as const) expect(Math.abs(got[field] - warning[field]), `${name} warning ${index} ${field}`).toBeLessThanOrEqual(TIME_TOLERANCE_MS);
    if (warning.endMs === null) expect(got.endMs).toBeNull();
    else expect(Math.abs((got.endMs ?? Number.NaN) - warning.endMs), `${name} warning ${index} endMs`).toBeLessThanOrEqual(TIME_TOLERANCE_MS);
    expect(Math.abs(got.peakN - warning.peakN), `${name} warning ${index} peakN`).toBeLessThanOrEqual(FORCE_TOLERANCE_N);
  }
}

function expectedFor(name: string): EngineResults {
  const json = JSON.parse(readFileSync(join(TRACES_DIR, `${name}.expected.json`), 'utf8')) as { holds: object[]; warnings: object[] };
  // The expected files give the analyze fields only; the engine's extra figures are not compared.
  return engineResultsSchema.parse({ holds: json.holds.map((hold) => ({ timeInBandMs: 0, timeOverMs: 0, ...hold })), warnings: json.warnings });
}

function resultsOf(session: SessionDetail): EngineResults {
  return { holds: session.holds, warnings: session.warnings };
}

async function recordedSessions(server: RunningServer): Promise<SessionDetail[]> {
  await until(() => server.pipelines.every((pipeline) => pipeline.status().state === 'stopped'), 'every replay to reach its end');
  await server.recording?.recorder?.flush(true);
  const page = sessionPageSchema.parse((await getJson(`${server.url}/api/sessions`)).body);
  return Promise.all(page.sessions.map(async (summary) => sessionDetailSchema.parse((await getJson(`${server.url}/api/sessions/${summary.id}`)).body)));
}

describe('replay of the example traces through the server', () => {
  let dir: ReturnType<typeof tempDir>;
  let dbPath: string;
  let sessions: SessionDetail[];

  beforeAll(async () => {
    dir = tempDir();
    dbPath = join(dir.path, 'replay.db');
    const server = await startRecordingServer({ devices: TRACE_NAMES.map((name) => `replay:${join(TRACES_DIR, `${name}.csv`)}`), db: dbPath, engine: traceEngine(), replaySpeed: null });
    try {
      sessions = await recordedSessions(server);
    } finally {
      await server.close();
    }
  });
  afterAll(() => dir.remove());

  it.each(TRACE_NAMES)('records %s as one complete session with the holds and warnings of its expected file', (name) => {
    const session = sessions.find((candidate) => candidate.spec.includes(`${name}.csv`));
    if (session === undefined) throw new Error(`no session for ${name}`);
    expect(session.status).toBe('complete');
    expect(session.transport).toBe('replay');
    expect(session.firstDeviceMs).toBe(0);
    expectMatches(resultsOf(session), expectedFor(name), name);
  });

  it('replays a recorded session (replay:SESSION_ID, paced at 20 times real time) to the same holds and warnings, as a new session', async () => {
    const original = sessions.find((candidate) => candidate.spec.includes('example_overpressure.csv'));
    if (original === undefined) throw new Error('no overpressure session');
    const server = await startRecordingServer({ devices: [`replay:${original.id}?speed=20`], db: dbPath, engine: traceEngine() });
    try {
      const again = (await recordedSessions(server)).find((session) => session.spec.startsWith(`replay:${original.id}?`));
      if (again === undefined) throw new Error('the replay was not recorded');
      expect(again.id).toBeGreaterThan(Math.max(...sessions.map((session) => session.id)));
      expect(again.sampleCount).toBe(original.sampleCount);
      expectMatches(resultsOf(again), expectedFor('example_overpressure'), 'replayed session');
      expect(resultsOf(again)).toEqual(resultsOf(original));
    } finally {
      await server.close();
    }
  });

  it('refuses to replay a session that does not exist, naming it', async () => {
    await expect(startRecordingServer({ devices: ['replay:999'], db: dbPath })).rejects.toThrow(/there is no recorded session 999 in .*replay\.db \(GET \/api\/sessions lists them\)/);
  });

  it('npm run analyze -- --session ID prints the recorded session\'s holds and warnings', async () => {
    for (const session of sessions) {
      let stdout = '';
      let stderr = '';
      const code = await runAnalyze(['--session', String(session.id), '--db', dbPath], { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const printed = engineResultsSchema.parse(JSON.parse(stdout));
      expect(printed.holds.map(({ startMs, endMs, durationMs, meanN, peakN }) => ({ startMs, endMs, durationMs, meanN, peakN }))).toEqual(
        session.holds.map(({ startMs, endMs, durationMs, meanN, peakN }) => ({ startMs, endMs, durationMs, meanN, peakN })),
      );
      expect(printed.warnings).toEqual(session.warnings);
    }
    let stderr = '';
    expect(await runAnalyze(['--session', '999', '--db', dbPath], { stdout: () => undefined, stderr: (text) => (stderr += text) })).toBe(2);
    expect(stderr).toMatch(/there is no session 999 in .*replay\.db/);
    expect(await runAnalyze(['--session', '1', 'trace.csv'], { stdout: () => undefined, stderr: () => undefined })).toBe(2);
  });
});
