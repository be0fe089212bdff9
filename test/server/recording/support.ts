// Helpers for the recording, API and replay tests: a temporary folder per test for real
// SQLite files, and the real server started in-process with a database.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { parseEngineConfig, presetConfig } from '../../../server/engine/presets.ts';
import type { EngineSettings } from '../../../server/pipeline.ts';
import { openSqliteStore } from '../../../server/recording/sqlite-store.ts';
import type { SessionWrite } from '../../../server/recording/store.ts';
import type { StoreTarget } from '../../../server/recording/store-target.ts';
import { REPO_ROOT } from '../../support/cli.ts';

export const TRACES_DIR = join(REPO_ROOT, 'test/fixtures/traces');
export const TRACE_NAMES = ['example_hold_with_dip', 'example_overpressure', 'example_short_and_spike'] as const;

/** The engine settings the example traces' expected results were made with. */
export function traceEngine(): EngineSettings {
  return { preset: null, config: parseEngineConfig(JSON.parse(readFileSync(join(TRACES_DIR, 'config.json'), 'utf8')), 'traces/config.json') };
}

export function tempDir(prefix = 'knotmeter-rec-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface RecordingServerOptions {
  readonly devices: readonly string[];
  /** The SQLite file to record into, or a store target (a PostgreSQL database). */
  readonly db: string | StoreTarget;
  readonly engine?: EngineSettings;
  readonly replaySpeed?: number | null;
  readonly sessionIdleMs?: number;
}

export function startRecordingServer(options: RecordingServerOptions): Promise<RunningServer> {
  return startServer({
    host: '127.0.0.1',
    port: 0,
    devices: options.devices,
    seed: 4321,
    engine: options.engine ?? { preset: 'shoulders', config: presetConfig('shoulders') },
    logger: pino({ level: 'silent' }),
    store: typeof options.db === 'string' ? { kind: 'sqlite', path: options.db } : options.db,
    replaySpeed: options.replaySpeed === undefined ? null : options.replaySpeed,
    ...(options.sessionIdleMs === undefined ? {} : { sessionIdleMs: options.sessionIdleMs }),
  });
}

/** JSON from the server, with the status. */
export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : (JSON.parse(text) as unknown), headers: response.headers };
}

/** One hold of a seeded past session: how long, how hard and where. */
export interface PastHold {
  readonly durationMs: number;
  readonly peakN: number;
  readonly bodyArea: string | null;
  readonly knot: string | null;
  /** The target it was held against (default 60 s). */
  readonly targetHoldMs?: number;
}

/**
 * Writes finished sessions into a database file through the real store, each at its own
 * wall-clock start, with its holds one after the other (30 s apart) and no samples: weeks
 * of history for the review pages without weeks of replay.
 */
export async function seedPastSessions(db: string, sessions: readonly { readonly startedAtMs: number; readonly holds: readonly PastHold[] }[]): Promise<void> {
  const store = openSqliteStore(db);
  try {
    for (const { startedAtMs, holds } of sessions) {
      const handle = { id: null, session: { deviceId: '5eed5eed', spec: 'sim:treatment', transport: 'sim', sensor: 'fsr', preset: 'shoulders' as const, engineConfig: presetConfig('shoulders'), startedAtMs, firstDeviceMs: 0 } };
      let startMs = 5000;
      const holdWrites = holds.map((hold, index): SessionWrite['holds'][number] => {
        const endMs = startMs + hold.durationMs;
        const write = {
          index,
          hold: { startMs, endMs, durationMs: hold.durationMs, meanN: hold.peakN * 0.8, peakN: hold.peakN, timeInBandMs: hold.durationMs, timeOverMs: 0 },
          targetHoldMs: hold.targetHoldMs ?? 60_000,
          label: { bodyArea: hold.bodyArea, knot: hold.knot },
        };
        startMs = endMs + 30_000;
        return write;
      });
      await store.commit([{ handle, samples: [], holds: holdWrites, warnings: [], durationMs: startMs, end: { status: 'complete', endedAtMs: startedAtMs + startMs } }]);
    }
  } finally {
    await store.close();
  }
}
