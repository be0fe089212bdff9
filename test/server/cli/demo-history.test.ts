// `npm run demo-history`: weeks of simulated treatments written into a real SQLite file
// (or, with --store, a real PostgreSQL database started here) through the store. The sessions must be what the engine finds in their own samples (so
// `analyze --session` agrees with them), labelled by body area and knot, reproducible from
// the seed, never mixed into a database that already holds recordings, and the flags are
// checked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runAnalyze } from '../../../server/cli/analyze.ts';
import { runDemoHistory } from '../../../server/cli/demo-history.ts';
import { DEMO_DEVICE_ID } from '../../../server/recording/demo-sessions.ts';
import { openSqliteStore } from '../../../server/recording/sqlite-store.ts';
import { REPO_ROOT, runTsx } from '../../support/cli.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';
import { seedPastSessions, tempDir } from '../recording/support.ts';

/** Wednesday 25 November 2026, 20:00 UTC: this week's Monday and Wednesday treatments are done. */
const NOW_MS = Date.UTC(2026, 10, 25, 20);
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runDemoHistory(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) }, NOW_MS);
  return { code, stdout, stderr };
}

describe('npm run demo-history', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir('knotmeter-demo-');
  });
  afterEach(() => dir.remove());

  it('writes three treatments a week over the weeks asked, each finished by now, with labelled holds', async () => {
    const db = join(dir.path, 'demo.db');
    const result = await run(['--db', db, '--weeks', '3']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain(`Wrote 9 simulated treatments over 3 weeks into ${db}.`);
    const store = openSqliteStore(db, { readonly: true });
    try {
      const { sessions, total } = await store.listSessions({}, { limit: 50, offset: 0 });
      expect(total).toBe(9);
      // From Friday three weeks back to this Wednesday evening.
      expect(sessions.map((session) => session.startedAt.slice(0, 10)).sort()).toEqual(['2026-11-06', '2026-11-09', '2026-11-11', '2026-11-13', '2026-11-16', '2026-11-18', '2026-11-20', '2026-11-23', '2026-11-25']);
      for (const session of sessions) {
        expect(session).toMatchObject({ deviceId: DEMO_DEVICE_ID, status: 'complete', transport: 'sim' });
        expect(Date.parse(session.endedAt ?? '')).toBeLessThanOrEqual(NOW_MS);
        expect(session.holdCount).toBeGreaterThan(0);
        const area = { neck: 'neck', shoulders: 'shoulders', 'upper-back': 'upper back' }[session.preset ?? 'neck'];
        expect(session.bodyAreas).toEqual([area]);
        expect(session.labels.length).toBeGreaterThanOrEqual(1);
      }
      const trends = await store.trends({});
      expect(trends.groups.map((group) => `${group.bodyArea} · ${group.knot}`).sort()).toEqual([
        'neck · left C5',
        'neck · right C5',
        'shoulders · left upper trapezius',
        'shoulders · right upper trapezius',
        'upper back · left rhomboid',
        'upper back · right rhomboid',
      ]);
    } finally {
      await store.close();
    }
  });

  it('records what the engine finds in the samples recorded: analyze --session agrees', async () => {
    const db = join(dir.path, 'demo.db');
    expect((await run(['--db', db, '--weeks', '1'])).code).toBe(0);
    const store = openSqliteStore(db, { readonly: true });
    const sessions = await Promise.all([1, 2].map((id) => store.getSession(id)));
    await store.close();
    for (const session of sessions) {
      let stdout = '';
      expect(await runAnalyze(['--session', String(session?.id), '--db', db], { stdout: (text) => (stdout += text), stderr: () => undefined })).toBe(0);
      const analyzed = JSON.parse(stdout) as { holds: { startMs: number; durationMs: number; peakN: number }[]; warnings: { startMs: number }[] };
      expect(session?.holds.map(({ startMs, durationMs, peakN }) => ({ startMs, durationMs, peakN }))).toEqual(analyzed.holds.map(({ startMs, durationMs, peakN }) => ({ startMs, durationMs, peakN })));
      expect(session?.warnings.map((warning) => warning.startMs)).toEqual(analyzed.warnings.map((warning) => warning.startMs));
    }
  });

  it('gives the same sessions for the same seed, and others for another', async () => {
    const holdsOf = async (name: string, seed: string): Promise<unknown> => {
      const db = join(dir.path, name);
      expect((await run(['--db', db, '--weeks', '1', '--seed', seed])).code).toBe(0);
      const store = openSqliteStore(db, { readonly: true });
      try {
        return (await store.getSession(1))?.holds;
      } finally {
        await store.close();
      }
    };
    const first = await holdsOf('a.db', '7');
    expect(await holdsOf('b.db', '7')).toEqual(first);
    expect(await holdsOf('c.db', '8')).not.toEqual(first);
  });

  it('refuses a database that already holds recordings, and leaves it as it was', async () => {
    const db = join(dir.path, 'real.db');
    await seedPastSessions(db, [{ startedAtMs: NOW_MS - 86_400_000, holds: [{ durationMs: 30_000, peakN: 20, bodyArea: 'neck', knot: null }] }]);
    const result = await run(['--db', db]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`knotmeter demo-history: ${db} already holds 1 recorded session: demo history goes only into an empty database (e.g. --db ${join(dir.path, 'demo.db')})\n`);
    const store = openSqliteStore(db, { readonly: true });
    expect((await store.listSessions({}, { limit: 10, offset: 0 })).total).toBe(1);
    await store.close();
  });

  it('suggests a file that does not exist yet, never the one it refused', async () => {
    const demo = join(dir.path, 'demo.db');
    expect((await run(['--db', demo, '--weeks', '1'])).code).toBe(0);
    await seedPastSessions(join(dir.path, 'demo-2.db'), [{ startedAtMs: NOW_MS - 86_400_000, holds: [] }]);
    const again = await run(['--db', demo, '--weeks', '1']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds \d+ recorded sessions/);
    expect(again.stderr.endsWith(`(e.g. --db ${join(dir.path, 'demo-3.db')})\n`)).toBe(true);
    expect((await run(['--db', join(dir.path, 'demo-3.db'), '--weeks', '1'])).code).toBe(0);
  });

  it.each([
    [['--weeks', '0'], /--weeks needs a whole number of weeks from 1 to 52 \(got --weeks "0"\)/],
    [['--weeks', '53'], /--weeks needs a whole number of weeks from 1 to 52/],
    [['--seed', 'x'], /--seed needs a whole number from 0 to 1000000/],
    [['--db', ''], /--db needs a file name/],
    [['--week', '3'], /unknown flag --week/],
    [['--weeks', '2', '--weeks', '3'], /--weeks is given 2 times \("2", "3"\): give it once/],
    [['stray'], /stray/],
  ])('refuses %j with exit 2 and a message naming it', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('prints its version with --version, exit 0', async () => {
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `knotmeter ${PACKAGE_VERSION}\n`, stderr: '' });
  });

  it('runs as a command, and prints its usage with --help', async () => {
    const help = await runTsx('server/cli/demo-history.ts', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run demo-history -- \[--db FILE \| --store URL\] \[--weeks N\] \[--seed N\]/);
    const db = join(dir.path, 'cli.db');
    const written = await runTsx('server/cli/demo-history.ts', ['--db', db, '--weeks', '1']);
    expect(written.code).toBe(0);
    // Three a week; two when this run falls inside one of them (it is only written once finished).
    expect(written.stdout).toMatch(/^Wrote [23] simulated treatments over 1 week into /);
  });
});

describe('npm run demo-history and analyze --session with --store, on a real PostgreSQL', () => {
  let postgres: TestPostgres;
  let dir: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    postgres = await startPostgres();
    dir = tempDir('knotmeter-demo-pg-');
  }, 60_000);
  afterAll(async () => {
    dir.remove();
    await postgres.destroy();
  });

  async function analyzeSession(...flags: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runAnalyze(flags, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
    return { code, stdout, stderr };
  }

  it('writes the same demo history as into a SQLite file, refuses to write it twice, and analyze reads it alike', async () => {
    const url = await postgres.createDatabase('demo');
    const written = await run(['--store', url, '--weeks', '1']);
    expect(written).toMatchObject({ code: 0, stderr: '' });
    expect(written.stdout).toMatch(new RegExp(`^Wrote [23] simulated treatments over 1 week into ${url}\\.\nSee them: npm start -- --store ${url}\n$`));
    const again = await run(['--store', url, '--weeks', '1']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(new RegExp(`^knotmeter demo-history: ${url} already holds [23] recorded sessions: demo history goes only into an empty database \\(e\\.g\\. --store with another database\\)\n$`));

    const db = join(dir.path, 'demo.db');
    expect((await run(['--db', db, '--weeks', '1'])).code).toBe(0);
    for (const id of ['1', '2']) {
      const fromPostgres = await analyzeSession('--session', id, '--store', url, '--format', 'table');
      expect(fromPostgres).toMatchObject({ code: 0, stderr: '' });
      expect(fromPostgres.stdout).toMatch(/hold/i);
      expect(fromPostgres.stdout).toBe((await analyzeSession('--session', id, '--db', db, '--format', 'table')).stdout);
    }
    expect(await analyzeSession('--session', '99', '--store', url)).toMatchObject({ code: 2, stderr: `knotmeter analyze: there is no session 99 in ${url} (GET /api/sessions lists them)\n` });
  });

  it('refuses a --store that is no PostgreSQL URL, goes without --session, or comes with --db', async () => {
    const refused = async (result: Promise<{ code: number; stdout: string; stderr: string }>, message: string): Promise<void> => {
      expect(await result).toEqual({ code: 2, stdout: '', stderr: message });
    };
    await refused(analyzeSession('--session', '1', '--store', 'mysql://db.lan/k'), 'knotmeter analyze: --store needs a PostgreSQL URL naming a database, postgres://USER@HOST:PORT/DB (e.g. postgres://knotmeter@127.0.0.1:5432/knotmeter) (got --store "mysql://db.lan/k")\n');
    await refused(analyzeSession('--store', 'postgres://db.lan/k', 'trace.csv'), 'knotmeter analyze: --store goes with --session ID: a trace file is analyzed without the database\n');
    await refused(run(['--store', 'postgres://db.lan/k', '--db', 'x.db']), 'knotmeter demo-history: --db and --store cannot be used together: sessions are recorded in one store (a SQLite file or a PostgreSQL database)\n');
  });

  it('says what is wrong with a database that holds no sessions, and with PostgreSQL down', async () => {
    const empty = await postgres.createDatabase('empty');
    const noSchema = await analyzeSession('--session', '1', '--store', empty);
    expect(noSchema.code).toBe(2);
    expect(noSchema.stderr).toContain(`knotmeter analyze: cannot read the sessions in ${empty}: ${empty} holds no Knotmeter sessions (no Knotmeter schema)`);

    await postgres.stop();
    const down = await analyzeSession('--session', '1', '--store', empty);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^knotmeter analyze: cannot read the sessions in postgres:\/\/\S+: PostgreSQL does not answer \(.*\): start it, or check the network to it/);
    const notWritten = await run(['--store', empty]);
    expect(notWritten.code).toBe(2);
    expect(notWritten.stderr).toMatch(/^knotmeter demo-history: cannot open postgres:\/\/\S+: PostgreSQL does not answer/);
  });
});
