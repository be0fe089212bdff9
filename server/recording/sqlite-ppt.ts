/**
 * PPT measurements and knot presets in the SQLite session file (tables of migration 5):
 * the `PptStorage` primitives over the store's open database.
 *
 *   const ppt = new SqlitePptStorage(db);       // SqliteSessionStorage makes it as `.ppt`
 *   const id = await ppt.insertMeasurement(row);
 *
 * Pipeline position: PPT records -> **SQLite** (the same file as the sessions).
 */
import type { Database } from 'better-sqlite3';
import type { NewKnotPresetRow, NewPptMeasurementRow, PptStorage, PptStorageFilter, StoredKnotPresetRow, StoredPptMeasurementRow } from './ppt-storage.ts';
import type { Page } from './store.ts';

interface MeasurementRow {
  id: number;
  created_at_ms: number;
  device_id: string;
  body_area: string;
  knot: string;
  body_area_key: string;
  knot_key: string;
  phase: string;
  session_id: number | null;
  rate_kpa_s: number;
  area_cm2: number;
  start_level_n: number;
  trials_json: string;
  summary_json: string;
}

interface PresetRow {
  id: number;
  name: string;
  body_area: string;
  knot: string;
  body_area_key: string;
  knot_key: string;
  engine_config: string;
  from_measurement_id: number | null;
  ppt_n: number;
  created_at_ms: number;
}

function measurementOf(row: MeasurementRow): StoredPptMeasurementRow {
  return {
    id: row.id,
    createdAtMs: row.created_at_ms,
    deviceId: row.device_id,
    bodyArea: row.body_area,
    knot: row.knot,
    bodyAreaKey: row.body_area_key,
    knotKey: row.knot_key,
    phase: row.phase,
    sessionId: row.session_id,
    rateKPaPerS: row.rate_kpa_s,
    areaCm2: row.area_cm2,
    startLevelN: row.start_level_n,
    trials: JSON.parse(row.trials_json) as unknown,
    summary: JSON.parse(row.summary_json) as unknown,
  };
}

function presetOf(row: PresetRow): StoredKnotPresetRow {
  return {
    id: row.id,
    name: row.name,
    bodyArea: row.body_area,
    knot: row.knot,
    bodyAreaKey: row.body_area_key,
    knotKey: row.knot_key,
    engineConfig: JSON.parse(row.engine_config) as unknown,
    fromMeasurementId: row.from_measurement_id,
    pptN: row.ppt_n,
    createdAtMs: row.created_at_ms,
  };
}

function whereOf(filter: PptStorageFilter): { where: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  const equal = (column: string, value: string | number | undefined): void => {
    if (value === undefined) return;
    clauses.push(`${column} = ?`);
    params.push(value);
  };
  equal('device_id', filter.deviceId);
  equal('body_area_key', filter.bodyAreaKey);
  equal('knot_key', filter.knotKey);
  equal('phase', filter.phase);
  equal('session_id', filter.sessionId);
  if (filter.fromMs !== undefined) {
    clauses.push('created_at_ms >= ?');
    params.push(filter.fromMs);
  }
  if (filter.toMs !== undefined) {
    clauses.push('created_at_ms < ?');
    params.push(filter.toMs);
  }
  return { where: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

/** The outcome of synchronous SQLite work as a promise (a throw becomes a rejection). */
function settled<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

export class SqlitePptStorage implements PptStorage {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  insertMeasurement(row: NewPptMeasurementRow): Promise<number> {
    return settled(() => {
      const result = this.#db
        .prepare(
          `INSERT INTO ppt_measurements (created_at_ms, device_id, body_area, knot, body_area_key, knot_key, phase, session_id, rate_kpa_s, area_cm2, start_level_n, trials_json, summary_json)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(Math.round(row.createdAtMs), row.deviceId, row.bodyArea, row.knot, row.bodyAreaKey, row.knotKey, row.phase, row.sessionId, row.rateKPaPerS, row.areaCm2, row.startLevelN, JSON.stringify(row.trials), JSON.stringify(row.summary));
      return Number(result.lastInsertRowid);
    });
  }

  listMeasurements(filter: PptStorageFilter, page: Page | null): Promise<{ rows: StoredPptMeasurementRow[]; total: number }> {
    return settled(() => {
      const { where, params } = whereOf(filter);
      const total = (this.#db.prepare(`SELECT COUNT(*) AS total FROM ppt_measurements ${where}`).get(...params) as { total: number }).total;
      const paging = page === null ? '' : 'LIMIT ? OFFSET ?';
      const rows = this.#db
        .prepare(`SELECT * FROM ppt_measurements ${where} ORDER BY created_at_ms DESC, id DESC ${paging}`)
        .all(...params, ...(page === null ? [] : [page.limit, page.offset])) as MeasurementRow[];
      return { rows: rows.map(measurementOf), total };
    });
  }

  getMeasurement(id: number): Promise<StoredPptMeasurementRow | null> {
    return settled(() => {
      const row = this.#db.prepare('SELECT * FROM ppt_measurements WHERE id = ?').get(id) as MeasurementRow | undefined;
      return row === undefined ? null : measurementOf(row);
    });
  }

  deleteMeasurement(id: number): Promise<boolean> {
    return settled(() => this.#db.prepare('DELETE FROM ppt_measurements WHERE id = ?').run(id).changes === 1);
  }

  putKnotPreset(row: NewKnotPresetRow): Promise<StoredKnotPresetRow> {
    return settled(() => {
      const stored = this.#db
        .prepare(
          `INSERT INTO knot_presets (name, body_area, knot, body_area_key, knot_key, engine_config, from_measurement_id, ppt_n, created_at_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (body_area_key, knot_key) DO UPDATE SET name = excluded.name, body_area = excluded.body_area, knot = excluded.knot,
             engine_config = excluded.engine_config, from_measurement_id = excluded.from_measurement_id, ppt_n = excluded.ppt_n, created_at_ms = excluded.created_at_ms
           RETURNING *`,
        )
        .get(row.name, row.bodyArea, row.knot, row.bodyAreaKey, row.knotKey, JSON.stringify(row.engineConfig), row.fromMeasurementId, row.pptN, Math.round(row.createdAtMs)) as PresetRow;
      return presetOf(stored);
    });
  }

  listKnotPresets(): Promise<StoredKnotPresetRow[]> {
    return settled(() => (this.#db.prepare('SELECT * FROM knot_presets ORDER BY id').all() as PresetRow[]).map(presetOf));
  }

  deleteKnotPreset(id: number): Promise<boolean> {
    return settled(() => this.#db.prepare('DELETE FROM knot_presets WHERE id = ?').run(id).changes === 1);
  }
}
