/**
 * The PostgreSQL schema of the session store, as numbered migrations (numbered apart
 * from SQLite's: `../migrations.ts`), recorded in `schema_migrations`. Opening a store
 * applies the missing ones in one transaction under an advisory lock, so servers that
 * start together against a new database migrate it once. A released migration never
 * changes.
 *
 * The layout is SQLite's (chunked samples: per chunk, bytea arrays and summary columns),
 * plus who records what: each server process is a row of `servers`, and a session names
 * the server recording it (`owner`), so that a server starting marks interrupted only
 * the sessions of servers that are gone (`postgres-store.ts`).
 *
 * Pipeline position: the layout under `postgres-store.ts`.
 */
import type pg from 'pg';

export interface PgMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The advisory lock namespace of Knotmeter (first key of the two-key form); the second key says what is locked. */
export const LOCK_SPACE = 0x6b6e6f74; // 'knot'
/** Second key of the migration lock (server ids start at 1). */
const MIGRATION_LOCK = 0;

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'servers, sessions, holds, warnings, sample chunks and the audit log',
    // Ids from identity sequences: servers writing at once never take the same one.
    // Sample arrays are kept out of line uncompressed (floats hardly compress), so a row
    // is small and an overview reads the summary index alone.
    sql: `
      CREATE TABLE servers (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        started_at_ms bigint NOT NULL
      );
      CREATE TABLE sessions (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        owner integer REFERENCES servers (id) ON DELETE SET NULL,
        device_id text NOT NULL,
        spec text NOT NULL,
        transport text NOT NULL,
        sensor text NOT NULL,
        preset text,
        engine_config text NOT NULL,
        status text NOT NULL CHECK (status IN ('recording', 'complete', 'interrupted')),
        started_at_ms bigint NOT NULL,
        ended_at_ms bigint,
        first_device_ms double precision NOT NULL,
        duration_ms double precision NOT NULL DEFAULT 0,
        sample_count bigint NOT NULL DEFAULT 0,
        notes text NOT NULL DEFAULT ''
      );
      CREATE INDEX sessions_started ON sessions (started_at_ms);
      CREATE INDEX sessions_device ON sessions (device_id, started_at_ms);
      CREATE INDEX sessions_open ON sessions (owner) WHERE status = 'recording';
      CREATE TABLE holds (
        session_id integer NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        hold_index integer NOT NULL,
        start_ms double precision NOT NULL,
        end_ms double precision NOT NULL,
        duration_ms double precision NOT NULL,
        mean_n double precision NOT NULL,
        peak_n double precision NOT NULL,
        time_in_band_ms double precision NOT NULL,
        time_over_ms double precision NOT NULL,
        target_hold_ms double precision NOT NULL,
        body_area text,
        knot text,
        PRIMARY KEY (session_id, hold_index),
        -- SQLite keeps NaN as NULL and refuses it: so does this.
        CHECK ('NaN' NOT IN (start_ms, end_ms, duration_ms, mean_n, peak_n, time_in_band_ms, time_over_ms, target_hold_ms))
      );
      CREATE INDEX holds_label ON holds (body_area, knot);
      CREATE TABLE warnings (
        session_id integer NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        warning_index integer NOT NULL,
        start_ms double precision NOT NULL,
        alert_ms double precision NOT NULL,
        end_ms double precision,
        peak_n double precision NOT NULL,
        PRIMARY KEY (session_id, warning_index),
        CHECK ('NaN' NOT IN (start_ms, alert_ms, peak_n) AND (end_ms IS NULL OR end_ms <> 'NaN'))
      );
      CREATE TABLE sample_chunks (
        session_id integer NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        chunk_index integer NOT NULL,
        first_ms double precision NOT NULL,
        last_ms double precision NOT NULL,
        sample_count integer NOT NULL,
        min_n double precision NOT NULL,
        max_n double precision NOT NULL,
        t_ms bytea NOT NULL,
        force_n bytea NOT NULL,
        raw bytea NOT NULL,
        PRIMARY KEY (session_id, chunk_index)
      );
      ALTER TABLE sample_chunks ALTER COLUMN t_ms SET STORAGE EXTERNAL, ALTER COLUMN force_n SET STORAGE EXTERNAL, ALTER COLUMN raw SET STORAGE EXTERNAL;
      CREATE INDEX sample_chunks_summary ON sample_chunks (session_id, first_ms, last_ms) INCLUDE (sample_count, min_n, max_n, chunk_index);
      CREATE TABLE audit_log (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at text NOT NULL,
        client text NOT NULL,
        action text NOT NULL,
        device_id text,
        session_id integer,
        before_json text NOT NULL,
        after_json text NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'pressure-pain threshold measurements and knot presets made from them',
    // As SQLite's migration 5: labels as typed and as their match key; a measurement outlives its session.
    sql: `
      CREATE TABLE ppt_measurements (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        created_at_ms bigint NOT NULL,
        device_id text NOT NULL,
        body_area text NOT NULL,
        knot text NOT NULL,
        body_area_key text NOT NULL,
        knot_key text NOT NULL,
        phase text NOT NULL CHECK (phase IN ('before', 'after')),
        session_id integer,
        rate_kpa_s double precision NOT NULL,
        area_cm2 double precision NOT NULL,
        start_level_n double precision NOT NULL,
        trials_json text NOT NULL,
        summary_json text NOT NULL
      );
      CREATE INDEX ppt_measurements_knot ON ppt_measurements (body_area_key, knot_key, created_at_ms);
      CREATE INDEX ppt_measurements_session ON ppt_measurements (session_id);
      CREATE TABLE knot_presets (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL,
        body_area text NOT NULL,
        knot text NOT NULL,
        body_area_key text NOT NULL,
        knot_key text NOT NULL,
        engine_config text NOT NULL,
        from_measurement_id integer,
        ppt_n double precision NOT NULL,
        created_at_ms bigint NOT NULL,
        UNIQUE (body_area_key, knot_key)
      );
    `,
  },
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.at(-1)?.version ?? 0;

/**
 * Brings the database to `targetVersion` (default: the latest); returns the versions applied.
 * @throws Error when the database is from a newer Knotmeter.
 */
export async function migratePg(client: pg.ClientBase, targetVersion = PG_SCHEMA_VERSION, nowMs = Date.now()): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_SPACE, MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at_ms bigint NOT NULL)');
    const result = await client.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
    const current = result.rows[0]?.version ?? 0;
    if (current > PG_SCHEMA_VERSION) {
      throw new Error(`the database has schema version ${current}, newer than this Knotmeter knows (${PG_SCHEMA_VERSION}): update Knotmeter, or pass --store with another database`);
    }
    const applied: number[] = [];
    for (const migration of PG_MIGRATIONS) {
      if (migration.version <= current || migration.version > targetVersion) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)', [migration.version, migration.name, nowMs]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
