/**
 * `npm run demo-history -- [--db FILE] [--weeks N] [--seed N]`: fills an empty session
 * database with weeks of simulated treatments, so the history, session and trends pages
 * can be tried at once: `npm start -- --db data/demo.db`.
 *
 * Nothing here is made up after the fact: each session is the simulated massager's
 * `treatment` force (the very force model `sim:` streams live), run through the pressure
 * engine with the preset of its body area, and written through the session store with
 * every sample, hold and warning. Only the wall-clock start is set in the past (three
 * treatments a week, neck, shoulders and upper back in turn) and the holds are labelled
 * with knots, the first half of a session's holds with one and the rest with another.
 *
 * It writes only into a database that holds no session: demo data never mixes with real
 * recordings. Exit 0 when written; 2 on a wrong flag or a database that is not empty or
 * cannot be opened, with a message naming it.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { defaultCalibration } from '../device/sensors.ts';
import { ForceModel } from '../device/simulator/force-model.ts';
import { checkedFlag, describeParseError, EXIT_USAGE, pathAsTyped, refuseRepeatedFlags, UsageError, versionText, wholeNumberFlag, type CliOutput } from './cli-support.ts';
import { PressureEngine } from './engine/engine.ts';
import { presetConfig, type PresetName } from './engine/presets.ts';
import { toChunks } from './recording/recorder.ts';
import { DEFAULT_DB_PATH } from './recording/recording.ts';
import { openSqliteStore } from './recording/sqlite-store.ts';
import type { SessionStore, SessionWrite } from './recording/store.ts';

export const DEFAULT_DEMO_DB_PATH = resolve(DEFAULT_DB_PATH, '../demo.db');
const DAY_MS = 86_400_000;
const RATE_HZ = 50;
const SESSION_MS = 4 * 60_000;
/** The demo massager's id (8 hex digits, as a device's). */
export const DEMO_DEVICE_ID = 'de5e0001';

/** Monday, Wednesday, Friday: the area treated that day, its preset and two of its knots. */
const WEEKLY_PLAN: readonly { readonly dayOffset: number; readonly preset: PresetName; readonly bodyArea: string; readonly knots: readonly [string, string] }[] = [
  { dayOffset: 0, preset: 'neck', bodyArea: 'neck', knots: ['left C5', 'right C5'] },
  { dayOffset: 2, preset: 'shoulders', bodyArea: 'shoulders', knots: ['left upper trapezius', 'right upper trapezius'] },
  { dayOffset: 4, preset: 'upper-back', bodyArea: 'upper back', knots: ['right rhomboid', 'left rhomboid'] },
];

export interface DemoHistoryOptions {
  readonly weeks: number;
  readonly seed: number;
  /** Now (Unix ms): the last week is this one, and no session starts after it. */
  readonly nowMs: number;
}

/** Monday 00:00 UTC of the week of `ms`. */
function mondayOf(ms: number): number {
  const day = Math.floor(ms / DAY_MS);
  // 1970-01-01 was a Thursday: day 0 is 3 days after a Monday.
  return (day - ((day + 3) % 7)) * DAY_MS;
}

/** One simulated treatment run through the engine, as one write of a finished session. */
function treatmentWrite(startedAtMs: number, plan: (typeof WEEKLY_PLAN)[number], seed: number): SessionWrite {
  const config = presetConfig(plan.preset);
  const model = new ForceModel({ scenario: 'treatment', seed, rateHz: RATE_HZ, band: config });
  const calibration = defaultCalibration('hx711');
  const count = (SESSION_MS / 1000) * RATE_HZ;
  const tMs = Array.from({ length: count }, (_, index) => (index * 1000) / RATE_HZ);
  const forceN = tMs.map(() => model.next());
  const raw = forceN.map((force) => calibration.toRaw(force));
  const engine = new PressureEngine(config);
  engine.pushBatch({ tMs, forceN });
  engine.finish();
  const { holds, warnings } = engine.results();
  const half = Math.ceil(holds.length / 2);
  const handle = {
    id: null,
    session: { deviceId: DEMO_DEVICE_ID, spec: 'sim:treatment', transport: 'sim', sensor: 'hx711', preset: plan.preset, engineConfig: config, startedAtMs, firstDeviceMs: 0 },
  };
  const durationMs = tMs.at(-1) ?? 0;
  return {
    handle,
    samples: toChunks([{ tMs, forceN, raw }], 0),
    holds: holds.map((hold, index) => ({ index, hold, targetHoldMs: config.targetHoldMs, label: { bodyArea: plan.bodyArea, knot: plan.knots[index < half ? 0 : 1] } })),
    warnings: warnings.map((warning, index) => ({ index, warning })),
    durationMs,
    end: { status: 'complete', endedAtMs: startedAtMs + durationMs },
  };
}

/**
 * Writes the treatments of the last `weeks` weeks (every one finished by `nowMs`: three a
 * week) into an empty store, oldest first; returns how many sessions it wrote.
 */
export async function writeDemoHistory(store: SessionStore, options: DemoHistoryOptions): Promise<number> {
  const fromMs = options.nowMs - options.weeks * 7 * DAY_MS;
  let written = 0;
  for (let monday = mondayOf(fromMs); monday <= options.nowMs; monday += 7 * DAY_MS) {
    const week = Math.round(monday / (7 * DAY_MS));
    for (const [index, plan] of WEEKLY_PLAN.entries()) {
      // Early evening, UTC; a few minutes later or earlier each time.
      const startedAtMs = monday + plan.dayOffset * DAY_MS + 18 * 3_600_000 + ((week * 7 + index * 13) % 40) * 60_000;
      if (startedAtMs <= fromMs || startedAtMs + SESSION_MS > options.nowMs) continue;
      await store.commit([treatmentWrite(startedAtMs, plan, options.seed * 1000 + written)]);
      written++;
    }
  }
  return written;
}

export interface DemoHistoryArgs {
  readonly db: string;
  readonly weeks: number;
  readonly seed: number;
  readonly help: boolean;
  readonly version: boolean;
}

export function demoHistoryUsage(): string {
  return [
    'Usage: npm run demo-history -- [--db FILE] [--weeks N] [--seed N]',
    '',
    'Fills an empty session database with weeks of simulated treatments (three a week:',
    'neck, shoulders, upper back; labelled holds), so the History, Trends and session',
    'pages have something to show. Then: npm start -- --db FILE',
    '',
    'Flags:',
    '  --db FILE     the database to create or fill; it must hold no session (default data/demo.db)',
    '  --weeks N     how many weeks back from now (1 to 52; default 8)',
    '  --seed N      the simulated hand (default 1): the same seed gives the same sessions',
    '  --version     print the version and exit',
    '  --help        print this and exit',
  ].join('\n');
}

const flagSchemas = {
  db: z.string().min(1, '--db needs a file name'),
  weeks: wholeNumberFlag('--weeks', 1, 52, 'weeks'),
  seed: wholeNumberFlag('--seed', 0, 1_000_000),
};

export function parseDemoHistoryArgs(argv: readonly string[]): DemoHistoryArgs {
  let values;
  try {
    let tokens;
    ({ values, tokens } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      tokens: true,
      options: { db: { type: 'string' }, weeks: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
    }));
    refuseRepeatedFlags(tokens);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(describeParseError(error));
  }
  return {
    db: values.db === undefined ? DEFAULT_DEMO_DB_PATH : checkedFlag(flagSchemas.db, values.db, '--db'),
    weeks: values.weeks === undefined ? 8 : checkedFlag(flagSchemas.weeks, values.weeks, '--weeks'),
    seed: values.seed === undefined ? 1 : checkedFlag(flagSchemas.seed, values.seed, '--seed'),
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

/**
 * A database file beside `refused` (as the user wrote it) that does not exist yet: demo.db,
 * else demo-2.db, demo-3.db... (never the file just refused).
 */
function unusedDemoPath(refused: string): string {
  const folder = dirname(refused);
  for (let number = 1; ; number++) {
    const name = number === 1 ? basename(DEFAULT_DEMO_DB_PATH) : `demo-${number}.db`;
    const candidate = folder === '.' ? name : join(folder, name);
    if (!existsSync(pathAsTyped(candidate, 'demo-history'))) return candidate;
  }
}

/** Runs the whole command; returns the exit code. Tests call it in-process. */
export async function runDemoHistory(argv: readonly string[], output: CliOutput, nowMs = Date.now()): Promise<number> {
  try {
    const args = parseDemoHistoryArgs(argv);
    if (args.help || args.version) {
      output.stdout(`${args.help ? demoHistoryUsage() : versionText()}\n`);
      return 0;
    }
    let store;
    try {
      store = openSqliteStore(pathAsTyped(args.db, 'demo-history'));
    } catch (error) {
      throw new UsageError(`cannot open ${args.db}: ${error instanceof Error ? error.message : String(error)}`);
    }
    try {
      const { total } = await store.listSessions({}, { limit: 1, offset: 0 });
      if (total > 0) {
        throw new UsageError(`${args.db} already holds ${total} recorded ${total === 1 ? 'session' : 'sessions'}: demo history goes only into an empty database (e.g. --db ${unusedDemoPath(args.db)})`);
      }
      const sessions = await writeDemoHistory(store, { weeks: args.weeks, seed: args.seed, nowMs });
      output.stdout(`Wrote ${sessions} simulated treatments over ${args.weeks} ${args.weeks === 1 ? 'week' : 'weeks'} into ${args.db}.\nSee them: npm start -- --db ${args.db}\n`);
      return 0;
    } finally {
      await store.close();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      output.stderr(`knotmeter demo-history: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

// Run only as the entry point (`tsx server/demo-history.ts`), not when a test imports it.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  process.exitCode = await runDemoHistory(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
