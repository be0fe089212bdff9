/**
 * PostgreSQL against SQLite as a clinic runs them (issue 17), printed as Markdown for
 * BENCHMARKS.md; `npm run bench` runs it after the recording tables, or alone:
 * `npx tsx test/bench/stores.ts`.
 *
 * 1. Clinic load: two real servers (`npm start` processes, server/cli/start.ts), each with
 *    20 simulated devices at 1 kHz, for a fixed window once every device's session is
 *    being recorded. PostgreSQL: both servers `--store` into one database of a real
 *    PostgreSQL 15 started here (its default settings, fsync on). SQLite: each server its
 *    own `--db` file (a SQLite file is recorded by one server only). Per store: samples
 *    and chunk rows the store gained over the window (counted in the store at its start and
 *    end, so the servers' closing flush is not in it), write transactions per second
 *    (PostgreSQL: transaction ids assigned over the window), each server's CPU and the
 *    PostgreSQL server's (/proc), and, once the servers have stopped, the samples missing
 *    from the recorded sessions (a session's samples against its span at 1 kHz: what the
 *    recorder would have dropped leaves a gap).
 * 2. The 1 h overview: an hour at 1 kHz written into each store in process, then the
 *    2 000-point overview read from both in turns (median and worst of 41 each), fresh and
 *    after VACUUM ANALYZE (what autovacuum does to a freshly written table a little later).
 */
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import pg from 'pg';
import { toChunks } from '../../server/recording/recorder.ts';
import { openSqliteStore } from '../../server/recording/sqlite-store.ts';
import { PostgresSessionStorage } from '../../server/recording/postgres/postgres-store.ts';
import { sessionStore } from '../../server/recording/sessions.ts';
import type { SessionHandle, SessionStore } from '../../server/recording/store.ts';
import { spawnTsx, waitForLine } from '../support/cli.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { newSession, RATE_HZ, treatment } from './recording.ts';

const SERVERS = 2;
const DEVICES_PER_SERVER = 20;
const DEVICE_SPEC = `sim:kneading?rate=${RATE_HZ}`;
/** After every session is being recorded: the servers' JIT and pools settle before the window. */
const WARM_UP_S = 3;
const WINDOW_S = 20;
const CLOCK_TICKS_PER_S = 100;
const SENT_PER_S = SERVERS * DEVICES_PER_SERVER * RATE_HZ;

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat; 0 for one that ended. */
export function processCpuS(pid: number): number {
  try {
    // The fields after the command (which may hold spaces): state, ppid, ... utime (14th field), stime (15th).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** CPU seconds the PostgreSQL server has used so far: its postmaster and every backend under it. */
function postgresCpuS(postgres: TestPostgres): number {
  const postmaster = Number(readFileSync(join(postgres.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let seconds = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (pid === postmaster || parent === postmaster) seconds += processCpuS(pid);
    } catch {
      // A process that ended meanwhile.
    }
  }
  return seconds;
}

interface StoreCounts {
  readonly samples: number;
  readonly chunks: number;
  readonly recordingSessions: number;
}

/** One session's stored samples and the span they cover (ms from its start). */
interface SessionSpan {
  readonly samples: number;
  readonly firstMs: number;
  readonly lastMs: number;
}

/** Where the servers record and how the bench looks into it while they run. */
interface ClinicStore {
  readonly kind: 'SQLite' | 'PostgreSQL';
  /** The recording flags of server `index`. */
  flags(index: number): string[];
  counts(): Promise<StoreCounts>;
  /** Write transactions committed so far (null: the store does not count them). */
  writeTransactions(): Promise<number | null>;
  spans(): Promise<SessionSpan[]>;
  /** CPU seconds of the database server, when it has one. */
  serverCpuS(): number;
  close(): Promise<void>;
}

const SPANS_SQL = 'SELECT SUM(sample_count) AS samples, MIN(first_ms) AS "firstMs", MAX(last_ms) AS "lastMs" FROM sample_chunks GROUP BY session_id';
const COUNTS_SQL = `SELECT (SELECT COALESCE(SUM(sample_count), 0) FROM sample_chunks) AS samples, (SELECT COUNT(*) FROM sample_chunks) AS chunks, (SELECT COUNT(*) FROM sessions WHERE status = 'recording') AS "recordingSessions"`;

/** A row as either driver returns it (PostgreSQL's sums and counts are bigint strings). */
type Row = Record<string, unknown>;
const countsOf = (row: Row | undefined): StoreCounts => ({ samples: Number(row?.samples), chunks: Number(row?.chunks), recordingSessions: Number(row?.recordingSessions) });
const spanOf = (row: Row): SessionSpan => ({ samples: Number(row.samples), firstMs: Number(row.firstMs), lastMs: Number(row.lastMs) });

/** One SQLite file per server, read here by a read-only connection beside the server's. */
function sqliteClinic(dir: string): ClinicStore {
  const paths = Array.from({ length: SERVERS }, (_, index) => join(dir, `server-${index}.db`));
  let readers: Database.Database[] = [];
  const open = (): Database.Database[] => {
    if (readers.length === 0) readers = paths.map((path) => new Database(path, { readonly: true, fileMustExist: true }));
    return readers;
  };
  const total = (counts: StoreCounts[]): StoreCounts => ({
    samples: counts.reduce((sum, one) => sum + one.samples, 0),
    chunks: counts.reduce((sum, one) => sum + one.chunks, 0),
    recordingSessions: counts.reduce((sum, one) => sum + one.recordingSessions, 0),
  });
  return {
    kind: 'SQLite',
    flags: (index) => ['--db', paths[index] ?? ''],
    counts: () => Promise.resolve(total(open().map((reader) => countsOf(reader.prepare(COUNTS_SQL).get() as Row | undefined)))),
    writeTransactions: () => Promise.resolve(null),
    spans: () => Promise.resolve(open().flatMap((reader) => (reader.prepare(SPANS_SQL).all() as Row[]).map(spanOf))),
    serverCpuS: () => 0,
    close: () => {
      for (const reader of readers) reader.close();
      return Promise.resolve();
    },
  };
}

/** One database for both servers. */
async function postgresClinic(postgres: TestPostgres): Promise<ClinicStore> {
  const url = await postgres.createDatabase('clinic');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    kind: 'PostgreSQL',
    flags: () => ['--store', url],
    counts: async () => countsOf((await client.query<Row>(COUNTS_SQL)).rows[0]),
    // Every writing transaction takes the next id; asking for one takes one too (hence the - 1 in the caller).
    writeTransactions: async () => Number((await client.query<Row>('SELECT pg_current_xact_id()::text AS xid')).rows[0]?.xid),
    spans: async () => (await client.query<Row>(SPANS_SQL)).rows.map(spanOf),
    serverCpuS: () => postgresCpuS(postgres),
    close: () => client.end(),
  };
}

interface ClinicLoad {
  readonly samplesPerS: number;
  readonly chunksPerS: number;
  readonly transactionsPerS: number | null;
  /** Per server, share of one core over the window. */
  readonly serverShares: number[];
  readonly databaseShare: number;
  readonly missingSamples: number;
  readonly sessions: number;
  /** Lines the servers wrote on stderr (warnings and errors). */
  readonly complaints: string[];
}

async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  server.kill('SIGTERM');
  await once(server, 'close');
}

/** Polls the store until every device's session is being recorded. */
async function untilAllRecording(store: ClinicStore): Promise<void> {
  const limitMs = 60_000;
  const startedMs = performance.now();
  for (;;) {
    const { recordingSessions } = await store.counts();
    if (recordingSessions >= SERVERS * DEVICES_PER_SERVER) return;
    if (performance.now() - startedMs > limitMs) throw new Error(`only ${recordingSessions} of ${SERVERS * DEVICES_PER_SERVER} sessions were being recorded after ${limitMs / 1000} s: are the servers' devices pressing?`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Two servers of 20 devices at 1 kHz recording into `store`, measured over WINDOW_S. */
async function clinicLoad(store: ClinicStore, dir: string): Promise<ClinicLoad> {
  const servers: ChildProcess[] = [];
  const complaints: string[] = [];
  try {
    const starting = Array.from({ length: SERVERS }, (_, index) => {
      const dataDir = join(dir, `data-${store.kind}-${index}`);
      mkdirSync(dataDir, { recursive: true });
      const devices = Array.from({ length: DEVICES_PER_SERVER }, () => ['--device', DEVICE_SPEC]).flat();
      // Seeds far apart: device ids differ between the servers (they share PostgreSQL's sessions table).
      const server = spawnTsx('server/cli/start.ts', ['--port', '0', '--log-level', 'warn', '--seed', String(1000 * (index + 1)), '--data-dir', dataDir, ...store.flags(index), ...devices]);
      // Everything on stderr but the goodbye: with --log-level warn, the warnings and errors.
      server.stderr?.on('data', (chunk: Buffer) => complaints.push(...chunk.toString().split('\n').filter((line) => line.trim() !== '' && line !== 'Knotmeter stopped.')));
      servers.push(server);
      return waitForLine(server, /Knotmeter dashboard: (\S+)/);
    });
    // Both at once, as a clinic's servers may start (PostgreSQL's migrations take a lock).
    await Promise.all(starting);
    await untilAllRecording(store);
    await new Promise((resolve) => setTimeout(resolve, WARM_UP_S * 1000));

    const cpuOf = (): { servers: number[]; database: number } => ({ servers: servers.map((server) => processCpuS(server.pid ?? 0)), database: store.serverCpuS() });
    const startCpu = cpuOf();
    const startedMs = performance.now();
    const start = { counts: await store.counts(), transactions: await store.writeTransactions() };
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000));
    const endCpu = cpuOf();
    const elapsedS = (performance.now() - startedMs) / 1000;
    const end = { counts: await store.counts(), transactions: await store.writeTransactions() };

    await Promise.all(servers.map(stopServer));
    const spans = await store.spans();
    // Samples at 1 kHz are 1 ms apart, so a session spanning S ms holds S + 1 of them.
    const missingSamples = spans.reduce((missing, span) => missing + Math.max(0, Math.round(((span.lastMs - span.firstMs) * RATE_HZ) / 1000) + 1 - span.samples), 0);
    return {
      samplesPerS: (end.counts.samples - start.counts.samples) / elapsedS,
      chunksPerS: (end.counts.chunks - start.counts.chunks) / elapsedS,
      transactionsPerS: start.transactions === null || end.transactions === null ? null : (end.transactions - start.transactions - 1) / elapsedS,
      serverShares: endCpu.servers.map((cpuS, index) => (cpuS - (startCpu.servers[index] ?? 0)) / elapsedS),
      databaseShare: (endCpu.database - startCpu.database) / elapsedS,
      missingSamples,
      sessions: spans.length,
      complaints,
    };
  } finally {
    await Promise.all(servers.map(stopServer));
    await store.close();
  }
}

interface Timing {
  readonly medianMs: number;
  readonly worstMs: number;
}

const OVERVIEW_ROUNDS = 41;

/**
 * Median and worst of 41 reads of each hour's 2 000-point overview, the stores taking
 * turns: whatever the machine does meanwhile (PostgreSQL's checkpoints and autovacuum after
 * the load above) weighs on both alike.
 */
async function timeOverviews(hours: readonly { store: SessionStore; id: number }[]): Promise<Timing[]> {
  const times = hours.map((): number[] => []);
  for (let round = 0; round < OVERVIEW_ROUNDS; round++) {
    for (const [index, { store, id }] of hours.entries()) {
      const startedMs = performance.now();
      const envelope = await store.sampleEnvelope(id, 0, null, 2000);
      if (envelope === null || envelope.tMs.length === 0) throw new Error('the overview came back empty');
      times[index]?.push(performance.now() - startedMs);
    }
  }
  return times.map((list) => {
    list.sort((a, b) => a - b);
    return { medianMs: list[Math.floor(list.length / 2)] ?? Number.NaN, worstMs: list.at(-1) ?? Number.NaN };
  });
}

/** Writes an hour at 1 kHz (10 s per commit); returns its session id and how long the writing took. */
async function writeHour(store: SessionStore): Promise<{ id: number; writeS: number }> {
  const handle: SessionHandle = { id: null, session: newSession('bench1h00') };
  const hourSamples = RATE_HZ * 3600;
  const perCommit = RATE_HZ * 10;
  const piece = treatment(7, 60 * RATE_HZ);
  const writeStartedMs = performance.now();
  for (let from = 0; from < hourSamples; from += perCommit) {
    const offset = from % piece.tMs.length;
    const tMs = Array.from({ length: perCommit }, (_, index) => from + index);
    const run = { tMs, forceN: piece.forceN.slice(offset, offset + perCommit), raw: piece.raw.slice(offset, offset + perCommit) };
    await store.commit([{ handle, samples: toChunks([run], 0), holds: [], warnings: [], durationMs: tMs.at(-1) ?? 0, end: from + perCommit >= hourSamples ? { status: 'complete', endedAtMs: Date.now() } : null }]);
  }
  return { id: handle.id ?? 0, writeS: (performance.now() - writeStartedMs) / 1000 };
}

/**
 * The hour written into each store, then its overview read from both in turns right after
 * writing, and again after a VACUUM ANALYZE of PostgreSQL's database (what autovacuum does
 * a little later: until then its index-only scans visit the heap).
 */
async function hourOverviews(dir: string, postgres: TestPostgres): Promise<string[]> {
  const url = await postgres.createDatabase('hour');
  const stores = [openSqliteStore(join(dir, 'hour.db')), sessionStore(new PostgresSessionStorage(url))];
  try {
    const written: { store: SessionStore; id: number; writeS: number }[] = [];
    for (const store of stores) written.push({ store, ...(await writeHour(store)) });
    const fresh = await timeOverviews(written);
    await vacuumAnalyze(url);
    const settled = await timeOverviews(written);
    return (['SQLite', 'PostgreSQL'] as const).map((kind, index) => {
      const [freshTiming, settledTiming, write] = [fresh[index], settled[index], written[index]];
      if (freshTiming === undefined || settledTiming === undefined || write === undefined) throw new Error(`no overview timing for ${kind}`);
      return `| ${kind} | ${ms(freshTiming)} (hour written in ${write.writeS.toFixed(0)} s) | ${ms(settledTiming)}${kind === 'SQLite' ? ' (read again)' : ''} |`;
    });
  } finally {
    await Promise.all(stores.map((store) => store.close()));
  }
}

/** What autovacuum does to a freshly written PostgreSQL database, at once. */
async function vacuumAnalyze(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

const thousands = (value: number): string => Math.round(value).toLocaleString('en-US');
const percent = (value: number): string => `${(value * 100).toFixed(1)} %`;
const ms = (figures: Timing): string => `${figures.medianMs.toFixed(1)} ms median, ${figures.worstMs.toFixed(1)} ms worst`;

function loadRow(kind: ClinicStore['kind'], load: ClinicLoad): string {
  const transactions = load.transactionsPerS === null ? '– (not counted)' : load.transactionsPerS.toFixed(1);
  const databaseCpu = kind === 'PostgreSQL' ? percent(load.databaseShare) : '– (in the servers)';
  const missing = `${thousands(load.missingSamples)} of ${load.sessions} sessions`;
  return `| ${kind} | ${thousands(load.samplesPerS)} (${percent(load.samplesPerS / SENT_PER_S)}) | ${thousands(load.chunksPerS)} | ${transactions} | ${load.serverShares.map(percent).join(' / ')} | ${databaseCpu} | ${missing} |`;
}

/** SQLite and PostgreSQL side by side, in this run. */
export async function benchStores(): Promise<string[]> {
  const benchStartedMs = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'knotmeter-bench-stores-'));
  const postgres = await startPostgres({ durable: true });
  try {
    const loadRows: string[] = [];
    const complaints: string[] = [];
    for (const kind of ['SQLite', 'PostgreSQL'] as const) {
      const load = await clinicLoad(kind === 'SQLite' ? sqliteClinic(dir) : await postgresClinic(postgres), dir);
      loadRows.push(loadRow(kind, load));
      complaints.push(...load.complaints.slice(0, 3).map((line) => `${kind} server: ${line.slice(0, 300)}`));
    }
    const hourRows = await hourOverviews(dir, postgres);
    return [
      `Stores compared as a clinic runs them: ${SERVERS} servers (\`npm start\` processes), each with ${DEVICES_PER_SERVER} × \`${DEVICE_SPEC}\` (${thousands(SENT_PER_S)} samples/s sent in all), measured over ${WINDOW_S} s once all ${SERVERS * DEVICES_PER_SERVER} sessions were being recorded (plus ${WARM_UP_S} s). SQLite: one file per server (WAL, synchronous NORMAL; a SQLite file is recorded by one server only). PostgreSQL 15 on loopback, its default settings (fsync and synchronous_commit on): both servers in one database. Load average ${loadavg()[0]?.toFixed(1) ?? '?'} when it ended, ${((performance.now() - benchStartedMs) / 1000).toFixed(0)} s after it began.`,
      '',
      `| store | samples/s recorded in the window (share of ${thousands(SENT_PER_S)} sent) | chunk rows/s | write transactions/s | CPU per server (server 1 / server 2) | CPU of PostgreSQL's processes | samples missing after the servers stopped |`,
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...loadRows,
      '',
      ...(complaints.length === 0 ? [] : ['What the servers logged (warnings and errors, first lines):', '', ...complaints.map((line) => `    ${line}`), '']),
      `The 1 h overview from each store (an hour at 1 kHz written in process, 10 s per commit; \`sampleEnvelope(id, 0, null, 2000)\`, ${OVERVIEW_ROUNDS} reads of each, the stores taking turns):`,
      '',
      '| store | 2 000-point overview right after writing | the same after VACUUM ANALYZE |',
      '| --- | --- | --- |',
      ...hourRows,
    ];
  } finally {
    await postgres.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

// `npx tsx test/bench/stores.ts` runs this part alone.
if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  for (const line of await benchStores()) console.log(line);
}
