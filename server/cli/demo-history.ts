/**
 * `npm run demo-history -- [--db FILE | --store URL] [--weeks N] [--seed N]`: fills an
 * empty session database (a SQLite file, or a PostgreSQL database) with weeks of simulated
 * treatments, so the history, session and trends pages can be tried at once:
 * `npm start -- --db data/demo.db`. The sessions are made by
 * `server/recording/demo-sessions.ts`; this is the command over it.
 *
 * It writes only into a database that holds no session: demo data never mixes with real
 * recordings. Exit 0 when written; 2 on a wrong flag or a database that is not empty or
 * cannot be opened, with a message naming it.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeDemoHistory } from '../recording/demo-sessions.ts';
import { DEFAULT_DB_PATH } from '../recording/recording.ts';
import { describeStoreTarget, describeStoreTargetError, openStoreAt, type StoreTarget } from '../recording/store-target.ts';
import type { SessionStore } from '../recording/store.ts';
import { storeTargetOfFlags } from './store-flags.ts';
import { checkedFlag, EXIT_USAGE, pathAsTyped, parseFlags, UsageError, versionText, wholeNumberFlag, type CliOutput } from './support.ts';

export const DEFAULT_DEMO_DB_PATH = resolve(DEFAULT_DB_PATH, '../demo.db');

export interface DemoHistoryArgs {
  /** `--db FILE` (default data/demo.db) or `--store URL`. */
  readonly store: StoreTarget;
  readonly weeks: number;
  readonly seed: number;
  readonly help: boolean;
  readonly version: boolean;
}

export function demoHistoryUsage(): string {
  return [
    'Usage: npm run demo-history -- [--db FILE | --store URL] [--weeks N] [--seed N]',
    '',
    'Fills an empty session database with weeks of simulated treatments (three a week:',
    'neck, shoulders, upper back; labelled holds), so the History, Trends and session',
    'pages have something to show. Then: npm start -- --db FILE (or --store URL)',
    '',
    'Flags:',
    '  --db FILE     the database to create or fill; it must hold no session (default data/demo.db)',
    '  --store URL   or a PostgreSQL database that holds no session, postgres://USER[:PASSWORD]@HOST:PORT/DB',
    '  --weeks N     how many weeks back from now (1 to 52; default 8)',
    '  --seed N      the simulated hand (default 1): the same seed gives the same sessions',
    '  --version     print the version and exit',
    '  --help        print this and exit',
  ].join('\n');
}

const flagSchemas = {
  weeks: wholeNumberFlag('--weeks', 1, 52, 'weeks'),
  seed: wholeNumberFlag('--seed', 0, 1_000_000),
};

export function parseDemoHistoryArgs(argv: readonly string[]): DemoHistoryArgs {
  const { values } = parseFlags(argv, { db: { type: 'string' }, store: { type: 'string' }, weeks: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } });
  return {
    store: storeTargetOfFlags(values, DEFAULT_DEMO_DB_PATH, 'demo-history'),
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
    const where = describeStoreTarget(args.store);
    const unopened = (error: unknown): UsageError => new UsageError(`cannot open ${where}: ${describeStoreTargetError(args.store, error)}`);
    let store: SessionStore;
    try {
      store = openStoreAt(args.store);
    } catch (error) {
      throw unopened(error);
    }
    try {
      // A PostgreSQL database is first asked here.
      const { total } = await store.listSessions({}, { limit: 1, offset: 0 }).catch((error: unknown) => {
        throw unopened(error);
      });
      if (total > 0) {
        const another = args.store.kind === 'sqlite' ? `--db ${unusedDemoPath(args.store.path)}` : '--store with another database';
        throw new UsageError(`${where} already holds ${total} recorded ${total === 1 ? 'session' : 'sessions'}: demo history goes only into an empty database (e.g. ${another})`);
      }
      const sessions = await writeDemoHistory(store, { weeks: args.weeks, seed: args.seed, nowMs });
      const see = args.store.kind === 'sqlite' ? `--db ${args.store.path}` : `--store ${where}`;
      output.stdout(`Wrote ${sessions} simulated treatments over ${args.weeks} ${args.weeks === 1 ? 'week' : 'weeks'} into ${where}.\nSee them: npm start -- ${see}\n`);
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

// Run only as the entry point (`tsx server/cli/demo-history.ts`), not when a test imports it.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  process.exitCode = await runDemoHistory(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
