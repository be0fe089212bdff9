/**
 * The storage primitives for pressure-pain threshold measurements and the knot presets
 * made from them: insert, list, get and delete rows, nothing more. Every `SessionStorage`
 * has one (`storage.ppt`); the SQLite one is `sqlite-ppt.ts`. The domain rules (re-analysing
 * a posted measurement, trends, before/after pairs, label spellings) are pure code above
 * it, in `ppt-records.ts`.
 *
 * A storage must:
 * - `insertMeasurement`: keep the row as given (trials and summary as JSON), return its new id;
 * - `listMeasurements`: the rows matching a `PptStorageFilter` (every field given must
 *   match; labels by their match keys, exactly), newest `createdAtMs` first, then highest id;
 *   one page (null: all) and how many match in all;
 * - `getMeasurement`, `deleteMeasurement` (false: no such row);
 * - `putKnotPreset`: insert, or replace the one with the same (bodyAreaKey, knotKey) keeping
 *   its id; return the row as stored. `listKnotPresets`: all, in any order; `deleteKnotPreset`.
 *
 * Pipeline position: REST API -> PPT records -> **storage** (SQLite, PostgreSQL).
 */
import type { PptPhase } from '../contract/ppt.ts';
import type { Page } from './store.ts';

/** A measurement to keep. Labels as typed, and their match keys (`labelMatchKey`). */
export interface NewPptMeasurementRow {
  readonly createdAtMs: number;
  readonly deviceId: string;
  readonly bodyArea: string;
  readonly knot: string;
  readonly bodyAreaKey: string;
  readonly knotKey: string;
  readonly phase: PptPhase;
  readonly sessionId: number | null;
  readonly rateKPaPerS: number;
  readonly areaCm2: number;
  readonly startLevelN: number;
  /** JSON-able: the analyser's trials and summary (`ppt-records.ts` validates them on the way out). */
  readonly trials: unknown;
  readonly summary: unknown;
}

export interface StoredPptMeasurementRow extends Omit<NewPptMeasurementRow, 'phase'> {
  readonly id: number;
  /** As written. */
  readonly phase: string;
}

/** Which measurements to list; an absent (or undefined) field does not filter. */
export interface PptStorageFilter {
  readonly deviceId?: string | undefined;
  readonly bodyAreaKey?: string | undefined;
  readonly knotKey?: string | undefined;
  readonly phase?: PptPhase | undefined;
  readonly sessionId?: number | undefined;
  /** Created at or after this wall-clock time (Unix ms). */
  readonly fromMs?: number | undefined;
  /** Created before this wall-clock time (Unix ms). */
  readonly toMs?: number | undefined;
}

export interface NewKnotPresetRow {
  readonly name: string;
  readonly bodyArea: string;
  readonly knot: string;
  readonly bodyAreaKey: string;
  readonly knotKey: string;
  /** JSON-able engine config (validated on the way out). */
  readonly engineConfig: unknown;
  readonly fromMeasurementId: number | null;
  readonly pptN: number;
  readonly createdAtMs: number;
}

export interface StoredKnotPresetRow extends NewKnotPresetRow {
  readonly id: number;
}

export interface PptStorage {
  insertMeasurement(row: NewPptMeasurementRow): Promise<number>;
  listMeasurements(filter: PptStorageFilter, page: Page | null): Promise<{ rows: StoredPptMeasurementRow[]; total: number }>;
  getMeasurement(id: number): Promise<StoredPptMeasurementRow | null>;
  deleteMeasurement(id: number): Promise<boolean>;
  putKnotPreset(row: NewKnotPresetRow): Promise<StoredKnotPresetRow>;
  listKnotPresets(): Promise<StoredKnotPresetRow[]>;
  deleteKnotPreset(id: number): Promise<boolean>;
}
