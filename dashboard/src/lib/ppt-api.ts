/**
 * The dashboard's client of the PPT endpoints (`/api/ppt...`, docs/ppt.md): save a
 * measurement, list them, trends, a session's before/after pairs, the preset a knot's PPT
 * makes and accepting it. Answers are validated with the schemas the server builds them
 * from (server/contract/ppt.ts); a refusal is an Error with the server's own message.
 */
import {
  knotPresetSchema,
  pptMeasurementPageSchema,
  pptMeasurementSchema,
  pptPresetPreviewSchema,
  pptSessionPairsSchema,
  pptTrendsSchema,
  type KnotPreset,
  type KnotPresetInput,
  type PptMeasurement,
  type PptMeasurementInput,
  type PptMeasurementPage,
  type PptPresetPreview,
  type PptSessionPairs,
  type PptTrends,
} from '../../../server/contract/ppt.ts';
import { inLocalWeeks, json, queryString, request, type Query } from './review-api.ts';

/** Stores a measurement; the server analyses every trial again and answers with what it stored. */
export function savePpt(input: PptMeasurementInput): Promise<PptMeasurement> {
  return request(pptMeasurementSchema, '/ppt', json('POST', input));
}

export function listPpt(query: Query): Promise<PptMeasurementPage> {
  return request(pptMeasurementPageSchema, `/ppt${queryString(query)}`);
}

export function getPptTrends(query: Query): Promise<PptTrends> {
  return request(pptTrendsSchema, `/ppt/trends${queryString(inLocalWeeks(query))}`);
}

export function getSessionPpt(sessionId: number): Promise<PptSessionPairs> {
  return request(pptSessionPairsSchema, `/sessions/${sessionId}/ppt`);
}

/** The preset the knot's latest PPT makes, beside the one in force on `deviceId`. */
export function getPresetPreview(bodyArea: string, knot: string, deviceId: string): Promise<PptPresetPreview> {
  return request(pptPresetPreviewSchema, `/ppt/preset-preview${queryString({ bodyArea, knot, deviceId })}`);
}

/** Accepts the previewed preset as the knot's own (used whenever the knot is labelled). */
export function acceptKnotPreset(input: KnotPresetInput): Promise<KnotPreset> {
  return request(knotPresetSchema, '/ppt/presets', json('POST', input));
}

/** The measurements' export, one trial a line (CSV) or whole (JSON). */
export function pptExportUrl(what: 'csv' | 'json', query: Query = {}): string {
  return `/api/ppt/export.${what}${queryString(query)}`;
}
