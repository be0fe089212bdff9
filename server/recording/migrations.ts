/**
 * The SQLite schema of the session store, as numbered migrations. A database records
 * which it has had in `schema_migrations`; opening one applies the missing ones in order,
 * each in its own transaction, so a file from any earlier version is brought up to date
 * and a crash mid-upgrade leaves it at the last whole version. A migration, once
 * released, never changes: a change of schema is a new migration.
 *
 * Pipeline position: the layout under `sqlite-store.ts`.
 *
 * Samples are stored as chunks (about 250 ms each): parallel arrays packed into BLOBs
 * (float64 time and force, int32 raw counts) with each chunk's time span and lowest and
 * highest force in plain columns. A session of an hour at 1 kHz is some 15 000 rows
 * rather than 3.6 million, and its overview is read from the summary columns alone.
 */
import type { Database } from 'better-sqlite3';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, holds, warnings and sample chunks',
    sql: `
      CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id TEXT NOT NULL,
        spec TEXT NOT NULL,
        transport TEXT NOT NULL,
        sensor TEXT NOT NULL,
        preset TEXT,
        engine_config TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('recording', 'complete', 'interrupted')),
        started_at_ms INTEGER NOT NULL,
        ended_at_ms INTEGER,
        first_device_ms REAL NOT NULL,
        duration_ms REAL NOT NULL DEFAULT 0,
        sample_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX sessions_started ON sessions (started_at_ms);
      CREATE INDEX sessions_device ON sessions (device_id, started_at_ms);
      CREATE TABLE holds (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        hold_index INTEGER NOT NULL,
        start_ms REAL NOT NULL,
        end_ms REAL NOT NULL,
        duration_ms REAL NOT NULL,
        mean_n REAL NOT NULL,
        peak_n REAL NOT NULL,
        time_in_band_ms REAL NOT NULL,
        time_over_ms REAL NOT NULL,
        target_hold_ms REAL NOT NULL,
        PRIMARY KEY (session_id, hold_index)
      ) WITHOUT ROWID;
      CREATE TABLE warnings (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        warning_index INTEGER NOT NULL,
        start_ms REAL NOT NULL,
        alert_ms REAL NOT NULL,
        end_ms REAL,
        peak_n REAL NOT NULL,
        PRIMARY KEY (session_id, warning_index)
      ) WITHOUT ROWID;
      CREATE TABLE sample_chunks (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        chunk_index INTEGER NOT NULL,
        first_ms REAL NOT NULL,
        last_ms REAL NOT NULL,
        sample_count INTEGER NOT NULL,
        min_n REAL NOT NULL,
        max_n REAL NOT NULL,
        t_ms BLOB NOT NULL,
        force_n BLOB NOT NULL,
        raw BLOB NOT NULL,
        PRIMARY KEY (session_id, chunk_index)
      );
      CREATE INDEX sample_chunks_time ON sample_chunks (session_id, first_ms);
    `,
  },
  {
    version: 2,
    name: 'hold labels (body area, knot) and session notes',
    sql: `
      ALTER TABLE holds ADD COLUMN body_area TEXT;
      ALTER TABLE holds ADD COLUMN knot TEXT;
      ALTER TABLE sessions ADD COLUMN notes TEXT NOT NULL DEFAULT '';
      CREATE INDEX holds_label ON holds (body_area, knot);
    `,
  },
  {
    version: 3,
    name: 'chunk summaries in an index of their own (an overview reads no sample pages)',
    // A chunk row is a few kB, one page or more each: reading the summary columns from
    // the rows read every page of the session (150 ms for an hour). From the index alone
    // it reads a few hundred small pages.
    sql: `
      DROP INDEX sample_chunks_time;
      CREATE INDEX sample_chunks_summary ON sample_chunks (session_id, first_ms, last_ms, sample_count, min_n, max_n, chunk_index);
    `,
  },
  {
    version: 4,
    name: 'audit log of safety-relevant changes (preset, limits, calibration, tare, delete)',
    // No foreign key to sessions: the entry for a deleted session outlives it. Before and after are JSON.
    sql: `
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        client TEXT NOT NULL,
        action TEXT NOT NULL,
        device_id TEXT,
        session_id INTEGER,
        before_json TEXT NOT NULL,
        after_json TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'pressure-pain threshold measurements and knot presets made from them',
    // Labels are kept as typed and as their match key (labels.ts), which filters compare.
    // No foreign key to sessions: a measurement outlives the session it was taken in.
    sql: `
      CREATE TABLE ppt_measurements (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at_ms INTEGER NOT NULL,
        device_id TEXT NOT NULL,
        body_area TEXT NOT NULL,
        knot TEXT NOT NULL,
        body_area_key TEXT NOT NULL,
        knot_key TEXT NOT NULL,
        phase TEXT NOT NULL CHECK (phase IN ('before', 'after')),
        session_id INTEGER,
        rate_kpa_s REAL NOT NULL,
        area_cm2 REAL NOT NULL,
        start_level_n REAL NOT NULL,
        trials_json TEXT NOT NULL,
        summary_json TEXT NOT NULL
      );
      CREATE INDEX ppt_measurements_knot ON ppt_measurements (body_area_key, knot_key, created_at_ms);
      CREATE INDEX ppt_measurements_session ON ppt_measurements (session_id);
      CREATE TABLE knot_presets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        body_area TEXT NOT NULL,
        knot TEXT NOT NULL,
        body_area_key TEXT NOT NULL,
        knot_key TEXT NOT NULL,
        engine_config TEXT NOT NULL,
        from_measurement_id INTEGER,
        ppt_n REAL NOT NULL,
        created_at_ms INTEGER NOT NULL,
        UNIQUE (body_area_key, knot_key)
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** The highest migration applied to `db` (0 for a new file). */
export function schemaVersion(db: Database): number {
  const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (table === undefined) return 0;
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
  return row.version ?? 0;
}

/**
 * Brings `db` to `targetVersion` (default: the latest); returns the versions applied.
 * @throws Error when the file is from a newer Knotmeter (a higher version than this one knows).
 */
export function migrate(db: Database, targetVersion = SCHEMA_VERSION, nowMs = Date.now()): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)');
  const current = schemaVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new Error(`the database has schema version ${current}, newer than this Knotmeter knows (${SCHEMA_VERSION}): update Knotmeter, or pass --db with another file`);
  }
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    if (migration.version <= current || migration.version > targetVersion) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(migration.version, migration.name, nowMs);
    })();
    applied.push(migration.version);
  }
  return applied;
}
