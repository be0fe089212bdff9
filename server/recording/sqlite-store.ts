/**
 * The embedded session storage: one SQLite file (better-sqlite3), WAL mode, schema brought
 * up to date on open (`migrations.ts`). The default store of `npm start` (`--db`,
 * default `data/knotmeter.db`). Storage primitives only (`SessionStorage` in `store.ts`);
 * `openSqliteStore` puts the session store's rules (`sessions.ts`) on top.
 *
 *   const store = openSqliteStore('data/knotmeter.db');
 *   await store.commit([...]);            // the recorder, once per flush
 *   const page = await store.listSessions({}, { limit: 50, offset: 0 });
 *
 * Durability: WAL with `synchronous = NORMAL` keeps every committed flush through a
 * crash of the process (kill -9); only a power cut can lose the last few. Samples are
 * packed per chunk (see `migrations.ts`), so writing 8 devices at 1 kHz is some 40
 * inserts a second, and a whole-session overview reads only the chunks' summary columns.
 *
 * Pipeline position: recorder -> **SQLite** -> REST API, replay, `npm run analyze -- --session`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { bytesOf, chunkOf, chunkSummary } from './chunk-bytes.ts';
import { queryEnvelope, type ChunkQueries } from './envelope-query.ts';
import { migrate, SCHEMA_VERSION, schemaVersion } from './migrations.ts';
import { SqlitePptStorage } from './sqlite-ppt.ts';
import type { AuditChange } from '../contract/audit.ts';
import type { HoldLabel, SampleEnvelope } from '../contract/records.ts';
import { sessionStore } from './sessions.ts';
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
} from './store.ts';

/** Chunks read per query when streaming samples out (replay, export): a few hundred kB. */
const READ_PAGE_CHUNKS = 64;

export interface SqliteStoreOptions {
  /** Open for reading only (`npm run analyze -- --session`): no migration, no writes. */
  readonly readonly?: boolean;
}

interface SessionRow {
  id: number;
  device_id: string;
  spec: string;
  transport: string;
  sensor: string;
  preset: string | null;
  engine_config: string;
  status: string;
  started_at_ms: number;
  ended_at_ms: number | null;
  first_device_ms: number;
  duration_ms: number;
  sample_count: number;
  notes: string;
}

interface HoldRow {
  session_id: number;
  hold_index: number;
  start_ms: number;
  end_ms: number;
  duration_ms: number;
  mean_n: number;
  peak_n: number;
  time_in_band_ms: number;
  time_over_ms: number;
  target_hold_ms: number;
  body_area: string | null;
  knot: string | null;
}

interface WarningRow {
  session_id: number;
  warning_index: number;
  start_ms: number;
  alert_ms: number;
  end_ms: number | null;
  peak_n: number;
}

interface AuditRow {
  id: number;
  at: string;
  client: string;
  action: string;
  device_id: string | null;
  session_id: number | null;
  before_json: string;
  after_json: string;
}

interface ChunkDataRow {
  chunk_index: number;
  t_ms: Buffer;
  force_n: Buffer;
  raw: Buffer;
}

/** The outcome of synchronous SQLite work as a promise (a throw becomes a rejection), as the interface promises. */
function settled<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function sessionOf(row: SessionRow): StoredSession {
  return {
    id: row.id,
    deviceId: row.device_id,
    spec: row.spec,
    transport: row.transport,
    sensor: row.sensor,
    preset: row.preset,
    engineConfig: JSON.parse(row.engine_config) as unknown,
    status: row.status,
    startedAtMs: row.started_at_ms,
    endedAtMs: row.ended_at_ms,
    firstDeviceMs: row.first_device_ms,
    durationMs: row.duration_ms,
    sampleCount: row.sample_count,
    notes: row.notes,
  };
}

function holdOf(row: HoldRow): StoredHold {
  return {
    sessionId: row.session_id,
    index: row.hold_index,
    hold: {
      startMs: row.start_ms,
      endMs: row.end_ms,
      durationMs: row.duration_ms,
      meanN: row.mean_n,
      peakN: row.peak_n,
      timeInBandMs: row.time_in_band_ms,
      timeOverMs: row.time_over_ms,
    },
    targetHoldMs: row.target_hold_ms,
    label: { bodyArea: row.body_area, knot: row.knot },
  };
}

function warningOf(row: WarningRow): StoredWarning {
  return { sessionId: row.session_id, index: row.warning_index, warning: { startMs: row.start_ms, alertMs: row.alert_ms, endMs: row.end_ms, peakN: row.peak_n } };
}

/** `?, ?, ?` for a list of values (never empty: `NULL` matches nothing). */
function placeholders(values: readonly unknown[]): string {
  return values.length === 0 ? 'NULL' : values.map(() => '?').join(', ');
}

/**
 * WHERE clauses and parameters for a filter (sessions aliased `s`). Labels match a
 * session that has such a hold, or (`labelsOn: 'hold'`, holds aliased `h`) the hold itself.
 */
function filterClauses(filter: StorageFilter, labelsOn: 'session' | 'hold'): { where: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  if (filter.deviceId !== undefined) {
    clauses.push('s.device_id = ?');
    params.push(filter.deviceId);
  }
  if (filter.status !== undefined) {
    clauses.push('s.status = ?');
    params.push(filter.status);
  }
  if (filter.fromMs !== undefined) {
    clauses.push('s.started_at_ms >= ?');
    params.push(filter.fromMs);
  }
  if (filter.toMs !== undefined) {
    clauses.push('s.started_at_ms < ?');
    params.push(filter.toMs);
  }
  const label = (column: 'body_area' | 'knot', spellings: readonly string[]): void => {
    const matches = `h.${column} IN (${placeholders(spellings)})`;
    clauses.push(labelsOn === 'hold' ? matches : `EXISTS (SELECT 1 FROM holds h WHERE h.session_id = s.id AND ${matches})`);
    params.push(...spellings);
  };
  if (filter.bodyAreas !== undefined) label('body_area', filter.bodyAreas);
  if (filter.knots !== undefined) label('knot', filter.knots);
  return { where: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

/** Opens (creating it and its folder if need be) and migrates a store file: the session store over it. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SessionStore {
  return sessionStore(openSqliteStorage(path, options));
}

/** The storage primitives alone over a file (opened and migrated as `openSqliteStore` does). */
export function openSqliteStorage(path: string, options: SqliteStoreOptions = {}): SqliteSessionStorage {
  const readonly = options.readonly ?? false;
  if (!readonly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { readonly, fileMustExist: readonly });
  try {
    db.pragma('busy_timeout = 5000');
    if (readonly) {
      const version = schemaVersion(db);
      if (version !== SCHEMA_VERSION) {
        throw new Error(`${path} has schema version ${version}, this Knotmeter reads version ${SCHEMA_VERSION}: start the server on it once (npm start -- --db ${path}) to upgrade it`);
      }
    } else {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db);
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteSessionStorage(db, path);
}

export class SqliteSessionStorage implements SessionStorage {
  readonly location: string;
  readonly ppt: SqlitePptStorage;
  readonly #db: SqliteDatabase;
  /** Next chunk index per session written by this process. */
  readonly #nextChunk = new Map<number, number>();
  readonly #statements: ReturnType<typeof prepareStatements>;
  readonly #chunkQueries: ChunkQueries;

  constructor(db: SqliteDatabase, location: string) {
    this.#db = db;
    this.location = location;
    this.ppt = new SqlitePptStorage(db);
    this.#statements = prepareStatements(db);
    this.#chunkQueries = this.#makeChunkQueries();
  }

  commit(writes: readonly SessionWrite[]): Promise<void> {
    return settled(() => {
      const statements = this.#statements;
      // Ids are given to handles only once the transaction has committed: a failed flush
      // leaves them null, so the next one creates the session again.
      const created: { handle: SessionWrite['handle']; id: number }[] = [];
      const nextChunk = new Map<number, number>();
      this.#db.transaction(() => {
        for (const write of writes) {
          const { session } = write.handle;
          let id = write.handle.id;
          // Deleted meanwhile (from the API): what was still to write for it goes too.
          if (id !== null && statements.sessionSpan.get(id) === undefined) continue;
          if (id === null) {
            const result = statements.insertSession.run(
              session.deviceId,
              session.spec,
              session.transport,
              session.sensor,
              session.preset,
              JSON.stringify(session.engineConfig),
              Math.round(session.startedAtMs),
              session.firstDeviceMs,
            );
            id = Number(result.lastInsertRowid);
            created.push({ handle: write.handle, id });
          }
          let chunkIndex = nextChunk.get(id) ?? this.#nextChunk.get(id) ?? (statements.maxChunk.get(id) as { next: number }).next;
          let samples = 0;
          for (const chunk of write.samples) {
            if (chunk.tMs.length === 0) continue;
            const { firstMs, lastMs, count, minN, maxN } = chunkSummary(chunk, CHUNK_MAX_SAMPLES, CHUNK_MAX_SPAN_MS);
            statements.insertChunk.run(id, chunkIndex++, firstMs, lastMs, count, minN, maxN, bytesOf(chunk.tMs), bytesOf(chunk.forceN), bytesOf(chunk.raw));
            samples += count;
          }
          nextChunk.set(id, chunkIndex);
          for (const { index, hold, targetHoldMs, label } of write.holds) {
            statements.upsertHold.run(id, index, hold.startMs, hold.endMs, hold.durationMs, hold.meanN, hold.peakN, hold.timeInBandMs, hold.timeOverMs, targetHoldMs, label.bodyArea, label.knot);
          }
          for (const { index, warning } of write.warnings) {
            statements.upsertWarning.run(id, index, warning.startMs, warning.alertMs, warning.endMs, warning.peakN);
          }
          statements.updateProgress.run(write.durationMs, samples, id);
          if (write.end !== null) statements.endSession.run(write.end.status, Math.round(write.end.endedAtMs), id);
        }
      })();
      for (const { handle, id } of created) handle.id = id;
      for (const [id, next] of nextChunk) this.#nextChunk.set(id, next);
    });
  }

  markInterrupted(): Promise<number[]> {
    return settled(() => {
      const ids = this.#db.transaction(() => {
        const rows = this.#db.prepare("SELECT id FROM sessions WHERE status = 'recording'").all() as { id: number }[];
        this.#db.prepare("UPDATE sessions SET status = 'interrupted', ended_at_ms = started_at_ms + CAST(duration_ms AS INTEGER) WHERE status = 'recording'").run();
        return rows.map((row) => row.id);
      })();
      return ids;
    });
  }

  listSessions(filter: StorageFilter, page: Page): Promise<{ sessions: StoredSession[]; total: number }> {
    return settled(() => {
      const { where, params } = filterClauses(filter, 'session');
      const total = (this.#db.prepare(`SELECT COUNT(*) AS total FROM sessions s ${where}`).get(...params) as { total: number }).total;
      const rows = this.#db.prepare(`SELECT s.* FROM sessions s ${where} ORDER BY s.started_at_ms DESC, s.id DESC LIMIT ? OFFSET ?`).all(...params, page.limit, page.offset) as SessionRow[];
      return { sessions: rows.map(sessionOf), total };
    });
  }

  getSession(id: number): Promise<StoredSession | null> {
    return settled(() => {
      const row = this.#statements.sessionOne.get(id) as SessionRow | undefined;
      return row === undefined ? null : sessionOf(row);
    });
  }

  holdsOf(sessionIds: readonly number[]): Promise<StoredHold[]> {
    return settled(() => (this.#statements.holdsOf.all(JSON.stringify(sessionIds)) as HoldRow[]).map(holdOf));
  }

  warningsOf(sessionIds: readonly number[]): Promise<StoredWarning[]> {
    return settled(() => (this.#statements.warningsOf.all(JSON.stringify(sessionIds)) as WarningRow[]).map(warningOf));
  }

  findHolds(filter: StorageFilter): Promise<StoredHoldAt[]> {
    return settled(() => {
      const { where, params } = filterClauses({ ...filter, status: undefined }, 'hold');
      const rows = this.#db.prepare(`SELECT h.*, s.started_at_ms FROM holds h JOIN sessions s ON s.id = h.session_id ${where}`).all(...params) as (HoldRow & { started_at_ms: number })[];
      return rows.map((row) => ({ ...holdOf(row), sessionStartedAtMs: row.started_at_ms }));
    });
  }

  labelSpellings(): Promise<{ bodyAreas: string[]; knots: string[] }> {
    return settled(() => {
      const distinct = (statement: 'bodyAreas' | 'knots'): string[] => (this.#statements[statement].all() as { label: string }[]).map((row) => row.label);
      return { bodyAreas: distinct('bodyAreas'), knots: distinct('knots') };
    });
  }

  sampleEnvelope(id: number, fromMs: number, toMs: number | null, maxPoints: number): Promise<SampleEnvelope | null> {
    return queryEnvelope(this.#chunkQueries, id, fromMs, toMs, maxPoints);
  }

  async *readSamples(id: number): AsyncIterable<SampleChunk> {
    let after = -1;
    for (;;) {
      // One page per query, never an open cursor: the recorder writes on this connection meanwhile.
      const rows = this.#statements.chunkPage.all(id, after, READ_PAGE_CHUNKS) as ChunkDataRow[];
      for (const row of rows) yield chunkOf(row);
      const last = rows.at(-1);
      if (last === undefined || rows.length < READ_PAGE_CHUNKS) return;
      after = last.chunk_index;
      await Promise.resolve();
    }
  }

  labelHold(id: number, holdIndex: number, label: Partial<HoldLabel>): Promise<StoredHold | null> {
    return settled(() => {
      const hold = this.#db.transaction(() => {
        const row = this.#statements.holdOne.get(id, holdIndex) as HoldRow | undefined;
        if (row === undefined) return null;
        const bodyArea = label.bodyArea === undefined ? row.body_area : label.bodyArea;
        const knot = label.knot === undefined ? row.knot : label.knot;
        this.#db.prepare('UPDATE holds SET body_area = ?, knot = ? WHERE session_id = ? AND hold_index = ?').run(bodyArea, knot, id, holdIndex);
        return holdOf({ ...row, body_area: bodyArea, knot });
      })();
      return hold;
    });
  }

  setNotes(id: number, notes: string): Promise<boolean> {
    return settled(() => {
      return this.#db.prepare('UPDATE sessions SET notes = ? WHERE id = ?').run(notes, id).changes === 1;
    });
  }

  deleteSession(id: number): Promise<boolean> {
    return settled(() => {
      this.#nextChunk.delete(id);
      return this.#db.prepare('DELETE FROM sessions WHERE id = ?').run(id).changes === 1;
    });
  }

  appendAudit(change: AuditChange): Promise<void> {
    return settled(() => {
      this.#statements.insertAudit.run(change.at, change.client, change.action, change.deviceId, change.sessionId, JSON.stringify(change.before), JSON.stringify(change.after));
    });
  }

  listAudit(page: Page): Promise<{ entries: StoredAudit[]; total: number }> {
    return settled(() => {
      const { total } = this.#statements.auditCount.get() as { total: number };
      const rows = this.#statements.auditPage.all(page.limit, page.offset) as AuditRow[];
      const entries = rows.map((row) => ({
        id: row.id,
        at: row.at,
        client: row.client,
        action: row.action,
        deviceId: row.device_id,
        sessionId: row.session_id,
        before: JSON.parse(row.before_json) as unknown,
        after: JSON.parse(row.after_json) as unknown,
      }));
      return { entries, total };
    });
  }

  close(): Promise<void> {
    if (this.#db.open) this.#db.close();
    return Promise.resolve();
  }

  /** The envelope's queries (`envelope-query.ts`) over the prepared statements. */
  #makeChunkQueries(): ChunkQueries {
    const statements = this.#statements;
    const indexes = (rows: unknown[]): number[] => (rows as { chunk_index: number }[]).map((row) => row.chunk_index);
    return {
      rangeOf: (id, fromMs, until, enough) =>
        settled(() => {
          const durationMs = (statements.sessionSpan.get(id) as { duration_ms: number } | undefined)?.duration_ms ?? null;
          if (durationMs === null) return null;
          const toMs = until ?? Math.max(durationMs, fromMs + 1);
          return { toMs, samples: (statements.countInRange.get(id, toMs, fromMs, enough + 1) as { samples: number }).samples };
        }),
      chunkIndexesInRange: (id, fromMs, toMs) => settled(() => indexes(statements.chunkIndexesInRange.all(id, toMs, fromMs))),
      foldChunks: (args, rest) =>
        settled(() => ({
          buckets: (statements.bucketsInRange.all(args) as { bucket: number; min_n: number; max_n: number }[]).map((row) => ({ bucket: row.bucket, minN: row.min_n, maxN: row.max_n })),
          others: indexes(
            rest === 'edges'
              ? statements.edgeChunks.all({ id: args.id, fromMs: args.fromMs, toMs: args.toMs })
              : statements.otherChunksInRange.all({ id: args.id, fromMs: args.fromMs, toMs: args.toMs, maxSpanMs: args.maxSpanMs }),
          ),
        })),
      readChunks: (id, wanted) =>
        settled(() =>
          wanted.flatMap((index) => {
            const row = statements.chunkData.get(id, index) as ChunkDataRow | undefined;
            return row === undefined ? [] : [chunkOf(row)];
          }),
        ),
    };
  }
}

function prepareStatements(db: SqliteDatabase) {
  return {
    insertSession: db.prepare(
      `INSERT INTO sessions (device_id, spec, transport, sensor, preset, engine_config, status, started_at_ms, first_device_ms)
       VALUES (?, ?, ?, ?, ?, ?, 'recording', ?, ?)`,
    ),
    maxChunk: db.prepare('SELECT COALESCE(MAX(chunk_index) + 1, 0) AS next FROM sample_chunks WHERE session_id = ?'),
    insertChunk: db.prepare(
      `INSERT INTO sample_chunks (session_id, chunk_index, first_ms, last_ms, sample_count, min_n, max_n, t_ms, force_n, raw)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    upsertHold: db.prepare(
      `INSERT OR REPLACE INTO holds (session_id, hold_index, start_ms, end_ms, duration_ms, mean_n, peak_n, time_in_band_ms, time_over_ms, target_hold_ms, body_area, knot)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    upsertWarning: db.prepare('INSERT OR REPLACE INTO warnings (session_id, warning_index, start_ms, alert_ms, end_ms, peak_n) VALUES (?, ?, ?, ?, ?, ?)'),
    updateProgress: db.prepare('UPDATE sessions SET duration_ms = MAX(duration_ms, ?), sample_count = sample_count + ? WHERE id = ?'),
    endSession: db.prepare('UPDATE sessions SET status = ?, ended_at_ms = ? WHERE id = ?'),
    sessionOne: db.prepare('SELECT * FROM sessions WHERE id = ?'),
    holdsOf: db.prepare('SELECT * FROM holds WHERE session_id IN (SELECT value FROM json_each(?))'),
    bodyAreas: db.prepare('SELECT DISTINCT body_area AS label FROM holds WHERE body_area IS NOT NULL'),
    knots: db.prepare('SELECT DISTINCT knot AS label FROM holds WHERE knot IS NOT NULL'),
    holdOne: db.prepare('SELECT * FROM holds WHERE session_id = ? AND hold_index = ?'),
    warningsOf: db.prepare('SELECT * FROM warnings WHERE session_id IN (SELECT value FROM json_each(?))'),
    sessionSpan: db.prepare('SELECT duration_ms FROM sessions WHERE id = ?'),
    // Each chunk holds a sample at least: the first `enough + 1` chunks are enough to tell "more than enough".
    countInRange: db.prepare('SELECT COALESCE(SUM(sample_count), 0) AS samples FROM (SELECT sample_count FROM sample_chunks WHERE session_id = ? AND first_ms <= ? AND last_ms >= ? LIMIT ?)'),
    chunkIndexesInRange: db.prepare('SELECT chunk_index FROM sample_chunks WHERE session_id = ? AND first_ms <= ? AND last_ms >= ? ORDER BY first_ms'),
    // The bucket as EnvelopeBuilder.addBucket places a chunk: by its middle, capped at the last.
    bucketsInRange: db.prepare(
      `SELECT MIN(CAST(((first_ms + last_ms) / 2 - :fromMs) / :bucketMs AS INTEGER), :lastBucket) AS bucket, MIN(min_n) AS min_n, MAX(max_n) AS max_n
       FROM sample_chunks
       WHERE session_id = :id AND first_ms >= :fromMs AND last_ms <= :toMs AND last_ms - first_ms <= :maxSpanMs
       GROUP BY bucket`,
    ),
    edgeChunks: db.prepare(
      `SELECT chunk_index FROM sample_chunks WHERE session_id = :id AND first_ms < :fromMs AND last_ms >= :fromMs
       UNION SELECT chunk_index FROM sample_chunks WHERE session_id = :id AND first_ms <= :toMs AND last_ms > :toMs`,
    ),
    otherChunksInRange: db.prepare(
      `SELECT chunk_index FROM sample_chunks
       WHERE session_id = :id AND first_ms <= :toMs AND last_ms >= :fromMs AND NOT (first_ms >= :fromMs AND last_ms <= :toMs AND last_ms - first_ms <= :maxSpanMs)
       ORDER BY first_ms`,
    ),
    chunkData: db.prepare('SELECT chunk_index, t_ms, force_n, raw FROM sample_chunks WHERE session_id = ? AND chunk_index = ?'),
    chunkPage: db.prepare('SELECT chunk_index, t_ms, force_n, raw FROM sample_chunks WHERE session_id = ? AND chunk_index > ? ORDER BY chunk_index LIMIT ?'),
    insertAudit: db.prepare('INSERT INTO audit_log (at, client, action, device_id, session_id, before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    auditCount: db.prepare('SELECT COUNT(*) AS total FROM audit_log'),
    auditPage: db.prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?'),
  };
}
