/**
 * PPT measurements and knot presets as the REST API serves them, over any `PptStorage`:
 * the domain rules, pure, once. A posted measurement is analysed again here, trial by
 * trial, with the very analyser the dashboard ran (`engine/ppt.ts`): what is stored is the
 * server's result, never the client's figures. Labels match as hold labels do
 * (`labels.ts`); trends group by knot and week; a session's pairs put its latest
 * `before` and `after` of each knot side by side with the minimal detectable change.
 *
 *   const ppt = pptRecords(storage.ppt);      // sessionStore(storage).ppt
 *   const saved = await ppt.save(input, Date.now());
 *
 * Pipeline position: REST API -> **PPT records** -> PPT storage.
 */
import {
  DEFAULT_PPT_SETTINGS,
  knotPresetSchema,
  PPT_MDC_KPA,
  pptMeasurementSchema,
  type KnotPreset,
  type PptMeasurement,
  type PptMeasurementInput,
  type PptMeasurementPage,
  type PptPhase,
  type PptSessionPair,
  type PptSessionPairs,
  type PptSettings,
  type PptTrendGroup,
  type PptTrends,
  type PptTrial,
  type PptTrialSamples,
} from '../contract/ppt.ts';
import { PptAnalyser, summarizePpt } from '../engine/ppt.ts';
import type { EngineConfig } from '../engine/results.ts';
import { labelMatchKey } from './labels.ts';
import type { PptStorage, PptStorageFilter, StoredKnotPresetRow, StoredPptMeasurementRow } from './ppt-storage.ts';
import type { Page } from './store.ts';
import { weekStartOf } from './trends.ts';

/** A posted measurement that cannot be stored as it is (a 400): the message names the trial and what is wrong. */
export class PptInputError extends Error {
  override readonly name = 'PptInputError';
}

/** Which measurements; labels match their spellings (`labelMatchKey`). */
export interface PptFilter {
  readonly deviceId?: string | undefined;
  readonly bodyArea?: string | undefined;
  readonly knot?: string | undefined;
  readonly phase?: PptPhase | undefined;
  readonly sessionId?: number | undefined;
  readonly fromMs?: number | undefined;
  readonly toMs?: number | undefined;
}

export interface PptRecords {
  /** Analyses each posted trial again and stores the result. @throws PptInputError */
  save(input: PptMeasurementInput, createdAtMs: number): Promise<PptMeasurement>;
  list(filter: PptFilter, page: Page): Promise<PptMeasurementPage>;
  /** Every match, newest first (exports). */
  all(filter: PptFilter): Promise<PptMeasurement[]>;
  get(id: number): Promise<PptMeasurement | null>;
  delete(id: number): Promise<boolean>;
  /** Weeks start on Monday in `timeZone` (an IANA zone; UTC unless given). */
  trends(filter: Omit<PptFilter, 'phase' | 'sessionId'>, timeZone?: string): Promise<PptTrends>;
  sessionPairs(sessionId: number): Promise<PptSessionPairs>;
  /** The knot's newest measurement with a valid trial, or null. */
  latestPpt(bodyArea: string, knot: string): Promise<PptMeasurement | null>;
  knotPresets(): Promise<KnotPreset[]>;
  knotPreset(bodyArea: string, knot: string): Promise<KnotPreset | null>;
  putKnotPreset(preset: Omit<KnotPreset, 'id' | 'createdAt'>, createdAtMs: number): Promise<KnotPreset>;
  deleteKnotPreset(id: number): Promise<boolean>;
}

/** One posted trial, analysed alone: it must hold exactly one trial. @throws PptInputError */
export function analyseTrialSamples(samples: PptTrialSamples, settings: PptSettings, number: number): PptTrial {
  const analyser = new PptAnalyser(settings);
  if (samples.markMs !== null) analyser.mark(samples.markMs);
  analyser.pushBatch(samples);
  analyser.finish();
  const { trials } = analyser.results();
  if (trials.length === 1 && trials[0] !== undefined) return trials[0];
  if (trials.length === 0) {
    throw new PptInputError(
      `trial ${number}: its samples hold no trial: they must start below ${settings.startLevelN / 2} N, rise through the start level (${settings.startLevelN} N) and reach an onset (the mark, at markMs, or a release)`,
    );
  }
  throw new PptInputError(`trial ${number}: its samples hold ${trials.length} trials: post each trial's samples apart`);
}

function measurementOf(row: StoredPptMeasurementRow): PptMeasurement | null {
  const parsed = pptMeasurementSchema.safeParse({
    id: row.id,
    createdAt: new Date(row.createdAtMs).toISOString(),
    deviceId: row.deviceId,
    bodyArea: row.bodyArea,
    knot: row.knot,
    phase: row.phase,
    sessionId: row.sessionId,
    rateKPaPerS: row.rateKPaPerS,
    areaCm2: row.areaCm2,
    startLevelN: row.startLevelN,
    trials: row.trials,
    summary: row.summary,
  });
  // A row this version cannot read (a phase it does not know) is left out rather than failing the page.
  return parsed.success ? parsed.data : null;
}

function presetOf(row: StoredKnotPresetRow): KnotPreset | null {
  const parsed = knotPresetSchema.safeParse({
    id: row.id,
    name: row.name,
    bodyArea: row.bodyArea,
    knot: row.knot,
    engineConfig: row.engineConfig,
    fromMeasurementId: row.fromMeasurementId,
    pptN: row.pptN,
    createdAt: new Date(row.createdAtMs).toISOString(),
  });
  return parsed.success ? parsed.data : null;
}

function storageFilter(filter: PptFilter): PptStorageFilter {
  const { bodyArea, knot, ...rest } = filter;
  return { ...rest, bodyAreaKey: bodyArea === undefined ? undefined : labelMatchKey(bodyArea), knotKey: knot === undefined ? undefined : labelMatchKey(knot) };
}

const knotKeyOf = (measurement: { readonly bodyArea: string; readonly knot: string }): string => JSON.stringify([labelMatchKey(measurement.bodyArea), labelMatchKey(measurement.knot)]);

const mean = (values: readonly number[]): number | null => (values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length);

/** Measurements (any order) grouped by knot, oldest first, with weeks (from Monday in `timeZone`) and the baseline. */
export function pptTrendsOf(measurements: readonly PptMeasurement[], timeZone = 'UTC'): PptTrends {
  const groups = new Map<string, PptTrendGroup>();
  const inOrder = [...measurements].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id - b.id);
  for (const measurement of inOrder) {
    const { meanPptN, meanPptKPa, n } = measurement.summary;
    if (meanPptN === null || meanPptKPa === null || n === 0) continue;
    const key = knotKeyOf(measurement);
    let group = groups.get(key);
    if (group === undefined) {
      group = { bodyArea: measurement.bodyArea, knot: measurement.knot, points: [], weeks: [], baselineKPa: null, mdcKPa: PPT_MDC_KPA };
      groups.set(key, group);
    }
    group.points.push({ id: measurement.id, at: measurement.createdAt, phase: measurement.phase, sessionId: measurement.sessionId, n, meanPptN, meanPptKPa });
  }
  for (const group of groups.values()) {
    const weeks = new Map<string, { before: number[]; after: number[] }>();
    for (const point of group.points) {
      const week = weekStartOf(Date.parse(point.at), timeZone);
      const entry = weeks.get(week) ?? { before: [], after: [] };
      entry[point.phase].push(point.meanPptKPa);
      weeks.set(week, entry);
    }
    group.weeks = [...weeks].map(([weekStart, { before, after }]) => ({ weekStart, beforeKPa: mean(before), afterKPa: mean(after), beforeCount: before.length, afterCount: after.length }));
    group.baselineKPa = (group.points.find((point) => point.phase === 'before') ?? group.points[0])?.meanPptKPa ?? null;
  }
  const groupList = [...groups.values()].sort((a, b) => a.bodyArea.localeCompare(b.bodyArea) || a.knot.localeCompare(b.knot));
  return { groups: groupList, mdcKPa: PPT_MDC_KPA };
}

/** A session's measurements (newest first) as before/after pairs per knot. */
export function sessionPairsOf(sessionId: number, newestFirst: readonly PptMeasurement[]): PptSessionPairs {
  const pairs = new Map<string, PptSessionPair>();
  for (const measurement of [...newestFirst].reverse()) {
    const key = knotKeyOf(measurement);
    const pair = pairs.get(key) ?? { bodyArea: measurement.bodyArea, knot: measurement.knot, before: null, after: null, differenceN: null, differenceKPa: null, beyondMdc: null };
    // Oldest first: the latest of each phase is the one left.
    pair[measurement.phase] = measurement;
    pairs.set(key, pair);
  }
  for (const pair of pairs.values()) {
    const before = pair.before?.summary;
    const after = pair.after?.summary;
    if (before?.meanPptN == null || after?.meanPptN == null || before.meanPptKPa === null || after.meanPptKPa === null) continue;
    pair.differenceN = after.meanPptN - before.meanPptN;
    pair.differenceKPa = after.meanPptKPa - before.meanPptKPa;
    pair.beyondMdc = Math.abs(pair.differenceKPa) >= PPT_MDC_KPA;
  }
  return { sessionId, pairs: [...pairs.values()], mdcKPa: PPT_MDC_KPA };
}

class StoredPpt implements PptRecords {
  readonly #storage: PptStorage;

  constructor(storage: PptStorage) {
    this.#storage = storage;
  }

  async save(input: PptMeasurementInput, createdAtMs: number): Promise<PptMeasurement> {
    const settings: PptSettings = {
      startLevelN: input.startLevelN ?? DEFAULT_PPT_SETTINGS.startLevelN,
      rateKPaPerS: input.rateKPaPerS ?? DEFAULT_PPT_SETTINGS.rateKPaPerS,
      areaCm2: input.areaCm2 ?? DEFAULT_PPT_SETTINGS.areaCm2,
    };
    const trials = input.trials.map((samples, index) => analyseTrialSamples(samples, settings, index + 1));
    const summary = summarizePpt(trials, settings.areaCm2);
    const id = await this.#storage.insertMeasurement({
      createdAtMs,
      deviceId: input.deviceId,
      bodyArea: input.bodyArea,
      knot: input.knot,
      bodyAreaKey: labelMatchKey(input.bodyArea),
      knotKey: labelMatchKey(input.knot),
      phase: input.phase,
      sessionId: input.sessionId ?? null,
      rateKPaPerS: settings.rateKPaPerS,
      areaCm2: settings.areaCm2,
      startLevelN: settings.startLevelN,
      trials,
      summary,
    });
    const saved = await this.get(id);
    if (saved === null) throw new Error(`the PPT measurement ${id} was stored but cannot be read back`);
    return saved;
  }

  async list(filter: PptFilter, page: Page): Promise<PptMeasurementPage> {
    const { rows, total } = await this.#storage.listMeasurements(storageFilter(filter), page);
    return { measurements: rows.flatMap((row) => measurementOf(row) ?? []), total, limit: page.limit, offset: page.offset };
  }

  async all(filter: PptFilter): Promise<PptMeasurement[]> {
    const { rows } = await this.#storage.listMeasurements(storageFilter(filter), null);
    return rows.flatMap((row) => measurementOf(row) ?? []);
  }

  async get(id: number): Promise<PptMeasurement | null> {
    const row = await this.#storage.getMeasurement(id);
    return row === null ? null : measurementOf(row);
  }

  delete(id: number): Promise<boolean> {
    return this.#storage.deleteMeasurement(id);
  }

  async trends(filter: Omit<PptFilter, 'phase' | 'sessionId'>, timeZone?: string): Promise<PptTrends> {
    return pptTrendsOf(await this.all(filter), timeZone);
  }

  async sessionPairs(sessionId: number): Promise<PptSessionPairs> {
    return sessionPairsOf(sessionId, await this.all({ sessionId }));
  }

  async latestPpt(bodyArea: string, knot: string): Promise<PptMeasurement | null> {
    return (await this.all({ bodyArea, knot })).find((measurement) => measurement.summary.meanPptN !== null) ?? null;
  }

  async knotPresets(): Promise<KnotPreset[]> {
    return (await this.#storage.listKnotPresets()).flatMap((row) => presetOf(row) ?? []);
  }

  async knotPreset(bodyArea: string, knot: string): Promise<KnotPreset | null> {
    const key = knotKeyOf({ bodyArea, knot });
    return (await this.knotPresets()).find((preset) => knotKeyOf(preset) === key) ?? null;
  }

  async putKnotPreset(preset: Omit<KnotPreset, 'id' | 'createdAt'>, createdAtMs: number): Promise<KnotPreset> {
    const engineConfig: EngineConfig = preset.engineConfig;
    const row = await this.#storage.putKnotPreset({
      name: preset.name,
      bodyArea: preset.bodyArea,
      knot: preset.knot,
      bodyAreaKey: labelMatchKey(preset.bodyArea),
      knotKey: labelMatchKey(preset.knot),
      engineConfig,
      fromMeasurementId: preset.fromMeasurementId,
      pptN: preset.pptN,
      createdAtMs,
    });
    const stored = presetOf(row);
    if (stored === null) throw new Error(`the knot preset ${row.id} was stored but cannot be read back`);
    return stored;
  }

  deleteKnotPreset(id: number): Promise<boolean> {
    return this.#storage.deleteKnotPreset(id);
  }
}

export function pptRecords(storage: PptStorage): PptRecords {
  return new StoredPpt(storage);
}
