/**
 * The session storage in PostgreSQL (`--store postgres://USER@HOST:PORT/DB`): what SQLite
 * stores, laid out alike (`migrations.ts` here), for several servers writing at once.
 * Storage primitives only (`SessionStorage` in `../store.ts`); `openPostgresStore` puts
 * the session store's rules (`../sessions.ts`) on top.
 *
 *   const store = openPostgresStore('postgres://knotmeter@db.clinic.lan:5432/knotmeter');
 *   await store.commit([...]);             // the recorder, once per flush: one transaction
 *   const page = await store.listSessions({}, { limit: 50, offset: 0 });
 *
 * A flush is one transaction of a few statements whatever the number of devices: its
 * chunks in multi-row INSERTs, holds and warnings upserted by (session, index), progress
 * in one UPDATE. Ids come from identity sequences. Each storage registers its server in
 * `servers` and holds an advisory lock on that row's id for as long as it runs (on a
 * connection of its own); its sessions carry that id (`owner`). `markInterrupted` marks
 * only sessions whose owner's lock is free: a server killed with -9 loses its connection,
 * PostgreSQL frees its lock, and the next server to start marks them, never those of a
 * server still running.
 *
 * Nothing is asked of PostgreSQL before the first call: a database that is down at start
 * (or goes down later) makes calls fail, each naming it, and the next call connects again.
 *
 * Pipeline position: recorder -> **PostgreSQL** -> REST API, replay.
 */
import { hostname } from 'node:os';
import pg from 'pg';
import type { AuditChange } from '../../contract/audit.ts';
import type { HoldLabel, SampleEnvelope } from '../../contract/records.ts';
import { bytesOf, chunkOf, chunkSummary } from '../chunk-bytes.ts';
import { queryEnvelope, type BucketArgs, type BucketSummary, type ChunkQueries } from '../envelope-query.ts';
import { sessionStore } from '../sessions.ts';
import {
  CHUNK_MAX_SAMPLES,
  CHUNK_MAX_SPAN_MS,
  type Page,
  type SampleChunk,
  type SessionStorage,
  type SessionStore,
  type SessionWrite,
  type StorageFilter,
  type StoredAudit,
  type StoredHold,
  type StoredHoldAt,
  type StoredSession,
  type StoredWarning,
} from '../store.ts';
import { LOCK_SPACE, migratePg, PG_SCHEMA_VERSION } from './migrations.ts';
import { PostgresPptStorage } from './postgres-ppt.ts';
import { withoutPassword } from '../../security/url-password.ts';

/** Chunks read per query when streaming samples out (replay, export). */
const READ_PAGE_CHUNKS = 64;
/** PostgreSQL takes at most 65 535 parameters in one statement. */
const MAX_PARAMETERS = 65_535;
/** A call waits this long for a connection or an answer before it fails (a database gone from the network). */
const TIMEOUT_MS = 10_000;

export interface PostgresStoreOptions {
  /** Connections in the pool (default 4): the recorder's flushes and the API's reads. */
  readonly poolSize?: number;
  /** For reading only (`npm run analyze -- --session`): no migration and no server registered (commit and markInterrupted refuse). */
  readonly readonly?: boolean;
}

/** Whether `--store`'s value names a PostgreSQL database. */
export function isPostgresUrl(text: string): boolean {
  return /^postgres(?:ql)?:\/\//.test(text);
}

type Row = Record<string, unknown>;

function sessionOf(row: Row): StoredSession {
  return {
    id: row.id as number,
    deviceId: row.device_id as string,
    spec: row.spec as string,
    transport: row.transport as string,
    sensor: row.sensor as string,
    preset: row.preset as string | null,
    engineConfig: JSON.parse(row.engine_config as string) as unknown,
    status: row.status as string,
    startedAtMs: Number(row.started_at_ms),
    endedAtMs: row.ended_at_ms === null ? null : Number(row.ended_at_ms),
    firstDeviceMs: row.first_device_ms as number,
    durationMs: row.duration_ms as number,
    sampleCount: Number(row.sample_count),
    notes: row.notes as string,
  };
}

function holdOf(row: Row): StoredHold {
  return {
    sessionId: row.session_id as number,
    index: row.hold_index as number,
    hold: {
      startMs: row.start_ms as number,
      endMs: row.end_ms as number,
      durationMs: row.duration_ms as number,
      meanN: row.mean_n as number,
      peakN: row.peak_n as number,
      timeInBandMs: row.time_in_band_ms as number,
      timeOverMs: row.time_over_ms as number,
    },
    targetHoldMs: row.target_hold_ms as number,
    label: { bodyArea: row.body_area as string | null, knot: row.knot as string | null },
  };
}

function warningOf(row: Row): StoredWarning {
  return {
    sessionId: row.session_id as number,
    index: row.warning_index as number,
    warning: { startMs: row.start_ms as number, alertMs: row.alert_ms as number, endMs: row.end_ms as number | null, peakN: row.peak_n as number },
  };
}

/** WHERE clauses for a filter (sessions aliased `s`, holds `h`), with `$n` numbered after `params`. */
function filterClauses(filter: StorageFilter, labelsOn: 'session' | 'hold', params: unknown[]): string {
  const clauses: string[] = [];
  const add = (clause: (placeholder: string) => string, value: unknown): void => {
    params.push(value);
    clauses.push(clause(`$${params.length}`));
  };
  if (filter.deviceId !== undefined) add((p) => `s.device_id = ${p}`, filter.deviceId);
  if (filter.status !== undefined) add((p) => `s.status = ${p}`, filter.status);
  if (filter.fromMs !== undefined) add((p) => `s.started_at_ms >= ${p}`, filter.fromMs);
  if (filter.toMs !== undefined) add((p) => `s.started_at_ms < ${p}`, filter.toMs);
  const label = (column: 'body_area' | 'knot', spellings: readonly string[]): void => {
    add((p) => {
      const matches = `h.${column} = ANY(${p}::text[])`;
      return labelsOn === 'hold' ? matches : `EXISTS (SELECT 1 FROM holds h WHERE h.session_id = s.id AND ${matches})`;
    }, [...spellings]);
  };
  if (filter.bodyAreas !== undefined) label('body_area', filter.bodyAreas);
  if (filter.knots !== undefined) label('knot', filter.knots);
  return clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
}

/** `INSERT ... VALUES (...), (...) [tail]` in as few statements as the parameter limit allows. */
async function insertRows(client: pg.ClientBase, head: string, rows: readonly (readonly unknown[])[], tail = ''): Promise<void> {
  const columns = rows[0]?.length ?? 0;
  if (columns === 0) return;
  const perStatement = Math.floor(MAX_PARAMETERS / columns);
  for (let start = 0; start < rows.length; start += perStatement) {
    const batch = rows.slice(start, start + perStatement);
    const tuples = batch.map((row, index) => `(${row.map((_, column) => `$${index * columns + column + 1}`).join(', ')})`);
    await client.query(`${head} VALUES ${tuples.join(', ')} ${tail}`, batch.flat());
  }
}

/** The last of each key (a warning written open and then ended in one flush is one row). */
function lastByKey<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [keyOf(item), item])).values()];
}

/** Opens the session store over a PostgreSQL database (connecting at the first call). */
export function openPostgresStore(url: string, options: PostgresStoreOptions = {}): SessionStore {
  return sessionStore(new PostgresSessionStorage(url, options));
}

export class PostgresSessionStorage implements SessionStorage {
  readonly location: string;
  readonly ppt: PostgresPptStorage;
  readonly #pool: pg.Pool;
  readonly #url: string;
  /** Schema migrated and this server registered; null until it is (or after it failed: tried again). */
  #ready: Promise<number> | null = null;
  /** The connection that holds this server's lock, while it is up. */
  #lockClient: pg.Client | null = null;
  #serverId: number | null = null;
  /** Next chunk index per session written by this process. */
  readonly #nextChunk = new Map<number, number>();
  readonly #chunkQueries: ChunkQueries;
  /** The tidying after a session ended (`#tidyAfterEnd`), while it runs; `#tidyAgain`: another ended meanwhile. */
  #tidying: Promise<void> | null = null;
  #tidyAgain = false;
  #closed = false;
  readonly #readonly: boolean;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.#url = url;
    this.#readonly = options.readonly ?? false;
    this.location = withoutPassword(url);
    this.#pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 4, connectionTimeoutMillis: TIMEOUT_MS, query_timeout: TIMEOUT_MS * 3, keepAlive: true, idleTimeoutMillis: 30_000 });
    // An idle connection cut (the database restarted) is dropped from the pool; the next call opens another.
    this.#pool.on('error', () => undefined);
    this.#chunkQueries = this.#makeChunkQueries();
    this.ppt = new PostgresPptStorage(async (text, values = []) => {
      await this.ready();
      const result = await this.#pool.query<Row>(text, [...values]);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    });
  }

  /** This server's id in `servers` (sessions it records carry it), once registered. */
  get serverId(): number | null {
    return this.#serverId;
  }

  /**
   * Connects, migrates, registers this server (once) and takes its lock (again after the
   * lock's connection was lost); resolves to the server's id.
   */
  ready(): Promise<number> {
    if (this.#closed) return Promise.reject(new Error(`the store on ${this.location} is closed`));
    if (this.#ready === null) {
      this.#ready = this.#register().catch((error: unknown) => {
        this.#ready = null;
        throw error;
      });
    }
    return this.#ready;
  }

  async #register(): Promise<number> {
    if (this.#readonly) return this.#checkSchema();
    if (this.#serverId === null) {
      const client = await this.#pool.connect();
      try {
        await migratePg(client);
        const result = await client.query<{ id: number }>('INSERT INTO servers (host, pid, started_at_ms) VALUES ($1, $2, $3) RETURNING id', [hostname(), process.pid, Date.now()]);
        this.#serverId = result.rows[0]?.id ?? null;
      } finally {
        client.release();
      }
    }
    const serverId = this.#serverId;
    if (serverId === null) throw new Error(`no server id from ${this.location}`);
    const lockClient = new pg.Client({ connectionString: this.#url, connectionTimeoutMillis: TIMEOUT_MS, keepAlive: true });
    const lost = (): void => {
      if (this.#lockClient !== lockClient) return;
      // The lock went with the connection: take it again before the next write.
      this.#lockClient = null;
      this.#ready = null;
    };
    lockClient.on('error', lost);
    lockClient.on('end', lost);
    await lockClient.connect();
    await lockClient.query('SELECT pg_advisory_lock($1, $2)', [LOCK_SPACE, serverId]);
    this.#lockClient = lockClient;
    return serverId;
  }

  /** For a reader: the database holds Knotmeter's schema, not a newer one; resolves to 0 (no server id). */
  async #checkSchema(): Promise<number> {
    let version: number;
    try {
      version = (await this.#pool.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations')).rows[0]?.version ?? 0;
    } catch (error) {
      if ((error as { code?: unknown }).code !== '42P01') throw error;
      version = 0;
    }
    if (version === 0) throw new Error(`${this.location} holds no Knotmeter sessions (no Knotmeter schema): check the database in --store`);
    if (version > PG_SCHEMA_VERSION) throw new Error(`the database has schema version ${version}, newer than this Knotmeter knows (${PG_SCHEMA_VERSION}): update Knotmeter`);
    return 0;
  }

  /** A pooled connection of a registered server; the caller releases it. */
  async #connect(): Promise<pg.PoolClient> {
    await this.ready();
    return this.#pool.connect();
  }

  async #query(text: string, values: readonly unknown[] = []): Promise<Row[]> {
    await this.ready();
    return (await this.#pool.query<Row>(text, [...values])).rows;
  }

  /** Runs `work` in a transaction on one connection (a connection that failed is not given back to the pool). */
  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async commit(writes: readonly SessionWrite[]): Promise<void> {
    if (writes.length === 0) return;
    if (this.#readonly) throw new Error(`the store on ${this.location} was opened for reading only`);
    // Refused before anything is sent, as SQLite refuses them inside its transaction.
    const summaries = writes.map((write) => write.samples.filter((chunk) => chunk.tMs.length > 0).map((chunk) => ({ chunk, summary: chunkSummary(chunk, CHUNK_MAX_SAMPLES, CHUNK_MAX_SPAN_MS) })));
    const serverId = await this.ready();
    const created: { handle: SessionWrite['handle']; id: number }[] = [];
    const nextChunk = new Map<number, number>();
    await this.#transaction(async (client) => {
      const ids: (number | null)[] = [];
      for (const write of writes) {
        const { session } = write.handle;
        if (write.handle.id !== null) {
          ids.push(write.handle.id);
          continue;
        }
        const result = await client.query<{ id: number }>(
          `INSERT INTO sessions (owner, device_id, spec, transport, sensor, preset, engine_config, status, started_at_ms, first_device_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'recording', $8, $9) RETURNING id`,
          [serverId, session.deviceId, session.spec, session.transport, session.sensor, session.preset, JSON.stringify(session.engineConfig), Math.round(session.startedAtMs), session.firstDeviceMs],
        );
        const id = result.rows[0]?.id ?? null;
        if (id === null) throw new Error(`${this.location} gave no id for a new session`);
        created.push({ handle: write.handle, id });
        nextChunk.set(id, 0);
        ids.push(id);
      }
      // Deleted meanwhile (from the API): what was still to write for it goes too. KEY SHARE: a delete waits for this flush.
      const known = ids.filter((id): id is number => id !== null && !created.some((entry) => entry.id === id));
      const alive = new Set(created.map((entry) => entry.id));
      if (known.length > 0) {
        for (const row of (await client.query<{ id: number }>('SELECT id FROM sessions WHERE id = ANY($1::int[]) FOR KEY SHARE', [known])).rows) alive.add(row.id);
      }
      const unknownNext = [...alive].filter((id) => !nextChunk.has(id) && !this.#nextChunk.has(id));
      if (unknownNext.length > 0) {
        const result = await client.query<{ session_id: number; next: number }>('SELECT session_id, MAX(chunk_index) + 1 AS next FROM sample_chunks WHERE session_id = ANY($1::int[]) GROUP BY session_id', [unknownNext]);
        for (const id of unknownNext) nextChunk.set(id, 0);
        for (const row of result.rows) nextChunk.set(row.session_id, row.next);
      }
      const chunkRows: unknown[][] = [];
      const holdRows: unknown[][] = [];
      const warningRows: unknown[][] = [];
      const progress = new Map<number, { durationMs: number; samples: number }>();
      const ends: unknown[][] = [];
      for (const [position, write] of writes.entries()) {
        const id = ids[position] ?? null;
        if (id === null || !alive.has(id)) continue;
        let chunkIndex = nextChunk.get(id) ?? this.#nextChunk.get(id) ?? 0;
        let samples = 0;
        for (const { chunk, summary } of summaries[position] ?? []) {
          chunkRows.push([id, chunkIndex++, summary.firstMs, summary.lastMs, summary.count, summary.minN, summary.maxN, bytesOf(chunk.tMs), bytesOf(chunk.forceN), bytesOf(chunk.raw)]);
          samples += summary.count;
        }
        nextChunk.set(id, chunkIndex);
        for (const { index, hold, targetHoldMs, label } of write.holds) {
          holdRows.push([id, index, hold.startMs, hold.endMs, hold.durationMs, hold.meanN, hold.peakN, hold.timeInBandMs, hold.timeOverMs, targetHoldMs, label.bodyArea, label.knot]);
        }
        for (const { index, warning } of write.warnings) warningRows.push([id, index, warning.startMs, warning.alertMs, warning.endMs, warning.peakN]);
        const before = progress.get(id);
        progress.set(id, { durationMs: Math.max(before?.durationMs ?? Number.NEGATIVE_INFINITY, write.durationMs), samples: (before?.samples ?? 0) + samples });
        if (write.end !== null) ends.push([id, write.end.status, Math.round(write.end.endedAtMs)]);
      }
      await insertRows(client, 'INSERT INTO sample_chunks (session_id, chunk_index, first_ms, last_ms, sample_count, min_n, max_n, t_ms, force_n, raw)', chunkRows);
      await insertRows(
        client,
        'INSERT INTO holds (session_id, hold_index, start_ms, end_ms, duration_ms, mean_n, peak_n, time_in_band_ms, time_over_ms, target_hold_ms, body_area, knot)',
        lastByKey(holdRows, (row) => `${String(row[0])}:${String(row[1])}`),
        `ON CONFLICT (session_id, hold_index) DO UPDATE SET start_ms = EXCLUDED.start_ms, end_ms = EXCLUDED.end_ms, duration_ms = EXCLUDED.duration_ms, mean_n = EXCLUDED.mean_n,
         peak_n = EXCLUDED.peak_n, time_in_band_ms = EXCLUDED.time_in_band_ms, time_over_ms = EXCLUDED.time_over_ms, target_hold_ms = EXCLUDED.target_hold_ms,
         body_area = EXCLUDED.body_area, knot = EXCLUDED.knot`,
      );
      await insertRows(
        client,
        'INSERT INTO warnings (session_id, warning_index, start_ms, alert_ms, end_ms, peak_n)',
        lastByKey(warningRows, (row) => `${String(row[0])}:${String(row[1])}`),
        'ON CONFLICT (session_id, warning_index) DO UPDATE SET start_ms = EXCLUDED.start_ms, alert_ms = EXCLUDED.alert_ms, end_ms = EXCLUDED.end_ms, peak_n = EXCLUDED.peak_n',
      );
      if (progress.size > 0) {
        // A session another server marked interrupted while this one was cut off from the
        // database (its lock lost) is still being recorded: its owner's write takes it back.
        await client.query(
          `UPDATE sessions s SET duration_ms = GREATEST(s.duration_ms, v.duration_ms), sample_count = s.sample_count + v.samples,
             status = CASE WHEN s.status = 'interrupted' AND s.owner = $4 THEN 'recording' ELSE s.status END,
             ended_at_ms = CASE WHEN s.status = 'interrupted' AND s.owner = $4 THEN NULL ELSE s.ended_at_ms END
           FROM unnest($1::int[], $2::float8[], $3::bigint[]) AS v(id, duration_ms, samples) WHERE s.id = v.id`,
          [[...progress.keys()], [...progress.values()].map((entry) => entry.durationMs), [...progress.values()].map((entry) => entry.samples), serverId],
        );
      }
      if (ends.length > 0) {
        await client.query('UPDATE sessions s SET status = v.status, ended_at_ms = v.ended_at_ms FROM unnest($1::int[], $2::text[], $3::bigint[]) AS v(id, status, ended_at_ms) WHERE s.id = v.id', [
          ends.map((end) => end[0]),
          ends.map((end) => end[1]),
          ends.map((end) => end[2]),
        ]);
      }
    });
    for (const { handle, id } of created) handle.id = id;
    for (const [id, next] of nextChunk) this.#nextChunk.set(id, next);
    if (writes.some((write) => write.end !== null)) this.#tidyAfterEnd();
  }

  /**
   * Once a session ends, what autovacuum would do some time later, at once and in the
   * background: VACUUM the chunk rows (the visibility map lets the overview's queries read
   * the summary index alone instead of every chunk's row; a vacuum skips the pages already
   * done, and the samples' TOAST is left to autovacuum), and ANALYZE when autovacuum's
   * own rule asks for it (the first sessions in a new database: without statistics the
   * planner reads every row). One at a time; failures are autovacuum's to make good.
   */
  /** Whether a session ended while the last tidying ran (read through a call: it changes between awaits). */
  #tidyWanted(): boolean {
    return this.#tidyAgain && !this.#closed;
  }

  #tidyAfterEnd(): void {
    if (this.#tidying !== null) {
      this.#tidyAgain = true;
      return;
    }
    const tidy = async (): Promise<void> => {
      do {
        this.#tidyAgain = false;
        await this.#pool.query('VACUUM (PROCESS_TOAST FALSE) sample_chunks');
        const [stale] = (await this.#pool.query<Row>(`SELECT (last_analyze IS NULL AND last_autoanalyze IS NULL) OR n_mod_since_analyze > 50 + 0.1 * n_live_tup AS stale
           FROM pg_stat_user_tables WHERE relid = 'sample_chunks'::regclass`)).rows;
        if (stale?.stale === true) await this.#pool.query('ANALYZE sample_chunks');
      } while (this.#tidyWanted());
    };
    this.#tidying = tidy()
      .catch(() => undefined)
      .finally(() => {
        this.#tidying = null;
      });
  }

  async markInterrupted(): Promise<number[]> {
    if (this.#readonly) throw new Error(`the store on ${this.location} was opened for reading only`);
    const serverId = await this.ready();
    // A running server holds its lock: pg_try_advisory_xact_lock on its id fails, and its sessions stay.
    const rows = await this.#query(
      `UPDATE sessions SET status = 'interrupted', ended_at_ms = started_at_ms + trunc(duration_ms)::bigint
       WHERE status = 'recording' AND (owner IS NULL OR (owner <> $1 AND pg_try_advisory_xact_lock($2, owner)))
       RETURNING id`,
      [serverId, LOCK_SPACE],
    );
    return rows.map((row) => row.id as number).sort((a, b) => a - b);
  }

  async listSessions(filter: StorageFilter, page: Page): Promise<{ sessions: StoredSession[]; total: number }> {
    const params: unknown[] = [];
    const where = filterClauses(filter, 'session', params);
    const [count, rows] = await Promise.all([
      this.#query(`SELECT COUNT(*) AS total FROM sessions s ${where}`, params),
      this.#query(`SELECT s.* FROM sessions s ${where} ORDER BY s.started_at_ms DESC, s.id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`, [...params, page.limit, page.offset]),
    ]);
    return { sessions: rows.map(sessionOf), total: Number(count[0]?.total ?? 0) };
  }

  async getSession(id: number): Promise<StoredSession | null> {
    const [row] = await this.#query('SELECT * FROM sessions WHERE id = $1', [id]);
    return row === undefined ? null : sessionOf(row);
  }

  async holdsOf(sessionIds: readonly number[]): Promise<StoredHold[]> {
    if (sessionIds.length === 0) return [];
    return (await this.#query('SELECT * FROM holds WHERE session_id = ANY($1::int[])', [[...sessionIds]])).map(holdOf);
  }

  async warningsOf(sessionIds: readonly number[]): Promise<StoredWarning[]> {
    if (sessionIds.length === 0) return [];
    return (await this.#query('SELECT * FROM warnings WHERE session_id = ANY($1::int[])', [[...sessionIds]])).map(warningOf);
  }

  async findHolds(filter: StorageFilter): Promise<StoredHoldAt[]> {
    const params: unknown[] = [];
    const where = filterClauses({ ...filter, status: undefined }, 'hold', params);
    const rows = await this.#query(`SELECT h.*, s.started_at_ms AS session_started_at_ms FROM holds h JOIN sessions s ON s.id = h.session_id ${where}`, params);
    return rows.map((row) => ({ ...holdOf(row), sessionStartedAtMs: Number(row.session_started_at_ms) }));
  }

  async labelSpellings(): Promise<{ bodyAreas: string[]; knots: string[] }> {
    const [bodyAreas, knots] = await Promise.all([
      this.#query('SELECT DISTINCT body_area AS label FROM holds WHERE body_area IS NOT NULL'),
      this.#query('SELECT DISTINCT knot AS label FROM holds WHERE knot IS NOT NULL'),
    ]);
    return { bodyAreas: bodyAreas.map((row) => row.label as string), knots: knots.map((row) => row.label as string) };
  }

  sampleEnvelope(id: number, fromMs: number, toMs: number | null, maxPoints: number): Promise<SampleEnvelope | null> {
    return queryEnvelope(this.#chunkQueries, id, fromMs, toMs, maxPoints);
  }

  async *readSamples(id: number): AsyncIterable<SampleChunk> {
    let after = -1;
    for (;;) {
      const rows = await this.#query('SELECT chunk_index, t_ms, force_n, raw FROM sample_chunks WHERE session_id = $1 AND chunk_index > $2 ORDER BY chunk_index LIMIT $3', [id, after, READ_PAGE_CHUNKS]);
      for (const row of rows) yield chunkOf(row as { t_ms: Buffer; force_n: Buffer; raw: Buffer });
      const last = rows.at(-1);
      if (last === undefined || rows.length < READ_PAGE_CHUNKS) return;
      after = last.chunk_index as number;
    }
  }

  async labelHold(id: number, holdIndex: number, label: Partial<HoldLabel>): Promise<StoredHold | null> {
    const [row] = await this.#query(
      `UPDATE holds SET body_area = CASE WHEN $3 THEN $4 ELSE body_area END, knot = CASE WHEN $5 THEN $6 ELSE knot END
       WHERE session_id = $1 AND hold_index = $2 RETURNING *`,
      [id, holdIndex, label.bodyArea !== undefined, label.bodyArea ?? null, label.knot !== undefined, label.knot ?? null],
    );
    return row === undefined ? null : holdOf(row);
  }

  async setNotes(id: number, notes: string): Promise<boolean> {
    await this.ready();
    return (await this.#pool.query('UPDATE sessions SET notes = $1 WHERE id = $2', [notes, id])).rowCount === 1;
  }

  async deleteSession(id: number): Promise<boolean> {
    await this.ready();
    this.#nextChunk.delete(id);
    return (await this.#pool.query('DELETE FROM sessions WHERE id = $1', [id])).rowCount === 1;
  }

  async appendAudit(change: AuditChange): Promise<void> {
    await this.#query('INSERT INTO audit_log (at, client, action, device_id, session_id, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      change.at,
      change.client,
      change.action,
      change.deviceId,
      change.sessionId,
      JSON.stringify(change.before),
      JSON.stringify(change.after),
    ]);
  }

  async listAudit(page: Page): Promise<{ entries: StoredAudit[]; total: number }> {
    const [count, rows] = await Promise.all([this.#query('SELECT COUNT(*) AS total FROM audit_log'), this.#query('SELECT * FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2', [page.limit, page.offset])]);
    const entries = rows.map((row) => ({
      id: row.id as number,
      at: row.at as string,
      client: row.client as string,
      action: row.action as string,
      deviceId: row.device_id as string | null,
      sessionId: row.session_id as number | null,
      before: JSON.parse(row.before_json as string) as unknown,
      after: JSON.parse(row.after_json as string) as unknown,
    }));
    return { entries, total: Number(count[0]?.total ?? 0) };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tidying;
    const lockClient = this.#lockClient;
    this.#lockClient = null;
    await Promise.allSettled([this.#pool.end(), lockClient?.end()]);
  }

  /**
   * The envelope's queries as named statements: each connection parses them once and,
   * after a few runs, keeps one plan, rather than planning on every call (the 1 h overview
   * runs them on every History page view).
   */
  #makeChunkQueries(): ChunkQueries {
    const named = async (name: string, text: string, values: readonly unknown[]): Promise<Row[]> => {
      await this.ready();
      return (await this.#pool.query<Row>({ name: `envelope_${name}`, text, values: [...values] })).rows;
    };
    const indexes = (rows: Row[]): number[] => rows.map((row) => row.chunk_index as number);
    const inside = 'session_id = $1 AND first_ms >= $2 AND last_ms <= $3 AND last_ms - first_ms <= $4';
    // The bucket as EnvelopeBuilder.addBucket places a chunk: by its middle, capped at the last.
    // The buckets go back packed into one value (`unpackBuckets`): as 2 000 rows, sending
    // and parsing them took longer than folding them.
    const buckets = `SELECT string_agg(int4send(bucket) || float8send(min_n) || float8send(max_n), ''::bytea) FROM (
      SELECT LEAST(floor(((first_ms + last_ms) / 2 - $2) / $5)::int, $6) AS bucket, MIN(min_n) AS min_n, MAX(max_n) AS max_n
      FROM sample_chunks WHERE ${inside} GROUP BY 1) AS folded`;
    // Buckets and the chunks left over in one round trip.
    const edges = `SELECT (${buckets}) AS buckets, ARRAY(
        SELECT chunk_index FROM sample_chunks WHERE session_id = $1 AND first_ms < $2 AND last_ms >= $2
        UNION SELECT chunk_index FROM sample_chunks WHERE session_id = $1 AND first_ms <= $3 AND last_ms > $3) AS others`;
    const unfolded = `SELECT (${buckets}) AS buckets, ARRAY(
        SELECT chunk_index FROM sample_chunks WHERE session_id = $1 AND first_ms <= $3 AND last_ms >= $2 AND NOT (${inside}) ORDER BY first_ms) AS others`;
    return {
      rangeOf: async (id, fromMs, until, enough) => {
        // One round trip: the range's end as queryEnvelope would take it, then the samples up to it.
        // Each chunk holds a sample at least: the first `enough + 1` chunks are enough to tell "more than enough".
        const [row] = await named(
          'range',
          `SELECT range.to_ms, (SELECT COALESCE(SUM(sample_count), 0) FROM (SELECT sample_count FROM sample_chunks
             WHERE session_id = $1 AND first_ms <= range.to_ms AND last_ms >= $2 LIMIT $4) AS counted) AS samples
           FROM (SELECT COALESCE($3::double precision, GREATEST(duration_ms, $2::double precision + 1)) AS to_ms FROM sessions WHERE id = $1) AS range`,
          [id, fromMs, until, enough + 1],
        );
        return row === undefined ? null : { toMs: row.to_ms as number, samples: Number(row.samples) };
      },
      chunkIndexesInRange: async (id, fromMs, toMs) => indexes(await named('in_range', 'SELECT chunk_index FROM sample_chunks WHERE session_id = $1 AND first_ms <= $2 AND last_ms >= $3 ORDER BY first_ms', [id, toMs, fromMs])),
      foldChunks: async (args: BucketArgs, rest) => {
        const [row] = await named(rest === 'edges' ? 'fold_edges' : 'fold_unfolded', rest === 'edges' ? edges : unfolded, [args.id, args.fromMs, args.toMs, args.maxSpanMs, args.bucketMs, args.lastBucket]);
        return { buckets: unpackBuckets((row?.buckets ?? null) as Buffer | null), others: (row?.others ?? []) as number[] };
      },
      readChunks: async (id, wanted) => {
        if (wanted.length === 0) return [];
        const rows = await named('read', 'SELECT chunk_index, t_ms, force_n, raw FROM sample_chunks WHERE session_id = $1 AND chunk_index = ANY($2::int[])', [id, [...wanted]]);
        const byIndex = new Map(rows.map((row) => [row.chunk_index as number, row]));
        return wanted.flatMap((index) => {
          const row = byIndex.get(index);
          return row === undefined ? [] : [chunkOf(row as { t_ms: Buffer; force_n: Buffer; raw: Buffer })];
        });
      },
    };
  }
}

const PACKED_BUCKET_BYTES = 20;

/** The buckets the fold packs into one bytea: per bucket its number (int4send) and lowest and highest force (float8send), big-endian and exact. */
function unpackBuckets(packed: Buffer | null): BucketSummary[] {
  if (packed === null) return [];
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const buckets: BucketSummary[] = [];
  for (let offset = 0; offset + PACKED_BUCKET_BYTES <= packed.byteLength; offset += PACKED_BUCKET_BYTES) {
    buckets.push({ bucket: view.getInt32(offset), minN: view.getFloat64(offset + 4), maxN: view.getFloat64(offset + 12) });
  }
  return buckets;
}

/** Why PostgreSQL refused or did not answer, in words, with what to do (the part after "cannot record sessions in URL: "). */
export function describePostgresError(error: unknown): string {
  const rawCode = (error as { code?: unknown } | null)?.code;
  const code = typeof rawCode === 'string' ? rawCode : '';
  const message = error instanceof Error ? error.message : String(error);
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', '57P01', '57P02', '57P03'].includes(code) || code.startsWith('08') || /Connection terminated|timeout|not queryable|Client has encountered a connection error/i.test(message)) {
    return `PostgreSQL does not answer (${message}): start it, or check the network to it; recording resumes by itself when it answers`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `there is no host of that name (${message}): check the host in --store`;
  if (code === '28P01' || code === '28000') return `PostgreSQL refused the login (${message}): check the user and password in --store and pg_hba.conf (docs/deployment.md)`;
  if (code === '3D000') return `the database does not exist (${message}): create it (createdb, docs/deployment.md) or pass --store with another database`;
  if (code === '42501') return `the user may not write there (${message}): make the role own the database (docs/deployment.md)`;
  if (code === '53100') return 'the database server\'s disk is full: free some space there and recording resumes by itself';
  return `${message}: check the database, or restart with --store naming another`;
}
