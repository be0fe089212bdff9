/**
 * PPT measurements and knot presets in PostgreSQL (tables of migration 2 here): the
 * `PptStorage` primitives over the store's pool, as `../sqlite-ppt.ts` does them in SQLite.
 *
 *   const ppt = new PostgresPptStorage(query);   // PostgresSessionStorage makes it as `.ppt`
 *   const id = await ppt.insertMeasurement(row);
 *
 * Pipeline position: PPT records -> **PostgreSQL** (the same database as the sessions).
 */
import type { NewKnotPresetRow, NewPptMeasurementRow, PptStorage, PptStorageFilter, StoredKnotPresetRow, StoredPptMeasurementRow } from '../ppt-storage.ts';
import type { Page } from '../store.ts';

type Row = Record<string, unknown>;
/** Runs one statement on the store's pool (connecting first if need be). */
export type PgQuery = (text: string, values?: readonly unknown[]) => Promise<{ rows: Row[]; rowCount: number }>;

function measurementOf(row: Row): StoredPptMeasurementRow {
  return {
    id: row.id as number,
    createdAtMs: Number(row.created_at_ms),
    deviceId: row.device_id as string,
    bodyArea: row.body_area as string,
    knot: row.knot as string,
    bodyAreaKey: row.body_area_key as string,
    knotKey: row.knot_key as string,
    phase: row.phase as string,
    sessionId: row.session_id as number | null,
    rateKPaPerS: row.rate_kpa_s as number,
    areaCm2: row.area_cm2 as number,
    startLevelN: row.start_level_n as number,
    trials: JSON.parse(row.trials_json as string) as unknown,
    summary: JSON.parse(row.summary_json as string) as unknown,
  };
}

function presetOf(row: Row): StoredKnotPresetRow {
  return {
    id: row.id as number,
    name: row.name as string,
    bodyArea: row.body_area as string,
    knot: row.knot as string,
    bodyAreaKey: row.body_area_key as string,
    knotKey: row.knot_key as string,
    engineConfig: JSON.parse(row.engine_config as string) as unknown,
    fromMeasurementId: row.from_measurement_id as number | null,
    pptN: row.ppt_n as number,
    createdAtMs: Number(row.created_at_ms),
  };
}

function whereOf(filter: PptStorageFilter): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const compare = (column: string, operator: string, value: string | number | undefined): void => {
    if (value === undefined) return;
    params.push(value);
    clauses.push(`${column} ${operator} $${params.length}`);
  };
  compare('device_id', '=', filter.deviceId);
  compare('body_area_key', '=', filter.bodyAreaKey);
  compare('knot_key', '=', filter.knotKey);
  compare('phase', '=', filter.phase);
  compare('session_id', '=', filter.sessionId);
  compare('created_at_ms', '>=', filter.fromMs);
  compare('created_at_ms', '<', filter.toMs);
  return { where: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

export class PostgresPptStorage implements PptStorage {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async insertMeasurement(row: NewPptMeasurementRow): Promise<number> {
    const { rows } = await this.#query(
      `INSERT INTO ppt_measurements (created_at_ms, device_id, body_area, knot, body_area_key, knot_key, phase, session_id, rate_kpa_s, area_cm2, start_level_n, trials_json, summary_json)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
      [Math.round(row.createdAtMs), row.deviceId, row.bodyArea, row.knot, row.bodyAreaKey, row.knotKey, row.phase, row.sessionId, row.rateKPaPerS, row.areaCm2, row.startLevelN, JSON.stringify(row.trials), JSON.stringify(row.summary)],
    );
    return rows[0]?.id as number;
  }

  async listMeasurements(filter: PptStorageFilter, page: Page | null): Promise<{ rows: StoredPptMeasurementRow[]; total: number }> {
    const { where, params } = whereOf(filter);
    const paging = page === null ? '' : `LIMIT $${params.length + 1} OFFSET $${params.length + 2}`;
    const [count, listed] = await Promise.all([
      this.#query(`SELECT COUNT(*) AS total FROM ppt_measurements ${where}`, params),
      this.#query(`SELECT * FROM ppt_measurements ${where} ORDER BY created_at_ms DESC, id DESC ${paging}`, [...params, ...(page === null ? [] : [page.limit, page.offset])]),
    ]);
    return { rows: listed.rows.map(measurementOf), total: Number(count.rows[0]?.total ?? 0) };
  }

  async getMeasurement(id: number): Promise<StoredPptMeasurementRow | null> {
    const [row] = (await this.#query('SELECT * FROM ppt_measurements WHERE id = $1', [id])).rows;
    return row === undefined ? null : measurementOf(row);
  }

  async deleteMeasurement(id: number): Promise<boolean> {
    return (await this.#query('DELETE FROM ppt_measurements WHERE id = $1', [id])).rowCount === 1;
  }

  async putKnotPreset(row: NewKnotPresetRow): Promise<StoredKnotPresetRow> {
    const { rows } = await this.#query(
      `INSERT INTO knot_presets (name, body_area, knot, body_area_key, knot_key, engine_config, from_measurement_id, ppt_n, created_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (body_area_key, knot_key) DO UPDATE SET name = EXCLUDED.name, body_area = EXCLUDED.body_area, knot = EXCLUDED.knot,
         engine_config = EXCLUDED.engine_config, from_measurement_id = EXCLUDED.from_measurement_id, ppt_n = EXCLUDED.ppt_n, created_at_ms = EXCLUDED.created_at_ms
       RETURNING *`,
      [row.name, row.bodyArea, row.knot, row.bodyAreaKey, row.knotKey, JSON.stringify(row.engineConfig), row.fromMeasurementId, row.pptN, Math.round(row.createdAtMs)],
    );
    const stored = rows[0];
    if (stored === undefined) throw new Error('PostgreSQL returned no knot preset row');
    return presetOf(stored);
  }

  async listKnotPresets(): Promise<StoredKnotPresetRow[]> {
    return (await this.#query('SELECT * FROM knot_presets ORDER BY id')).rows.map(presetOf);
  }

  async deleteKnotPreset(id: number): Promise<boolean> {
    return (await this.#query('DELETE FROM knot_presets WHERE id = $1', [id])).rowCount === 1;
  }
}
