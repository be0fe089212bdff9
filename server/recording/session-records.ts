/**
 * Stored rows as the review API shows them, pure: a session summary's counts and labels
 * from its holds and warnings, holds numbered from 1 and rounded as `npm run analyze`
 * prints them, the engine settings validated. Used by `sessions.ts` and `trends.ts`.
 *
 *   const summary = summaryOf(row, holdsOfIt, warningCount);
 *
 * Pipeline position: storage -> **session records** -> REST API.
 */
import { presetNameSchema } from '../engine/presets.ts';
import { roundResults } from '../engine/report.ts';
import { engineConfigSchema, type HoldResult } from '../engine/results.ts';
import { sessionStatusSchema, summaryLabels, type RecordedHold, type SessionDetail, type SessionSummary } from '../contract/records.ts';
import type { StoredHold, StoredSession, StoredWarning } from './store.ts';

const toMicros = (ms: number): number => Math.round(ms * 1000) / 1000;

/** A stored hold as the API shows it: rounded as `npm run analyze` prints it, numbered from 1. */
export function recordedHold(stored: StoredHold): RecordedHold {
  const hold: HoldResult = stored.hold;
  const [rounded = hold] = roundResults({ holds: [hold], warnings: [] }).holds;
  return { ...rounded, number: stored.index + 1, targetHoldMs: stored.targetHoldMs, bodyArea: stored.label.bodyArea, knot: stored.label.knot };
}

/** A session in a list: its row, with counts and labels from its holds (any order) and its number of warnings. */
export function summaryOf(session: StoredSession, holds: readonly StoredHold[], warningCount: number): SessionSummary {
  const preset = presetNameSchema.safeParse(session.preset);
  const inOrder = [...holds].sort((a, b) => a.index - b.index);
  return {
    id: session.id,
    deviceId: session.deviceId,
    spec: session.spec,
    transport: session.transport,
    sensor: session.sensor,
    preset: preset.success ? preset.data : null,
    status: sessionStatusSchema.parse(session.status),
    startedAt: new Date(session.startedAtMs).toISOString(),
    endedAt: session.endedAtMs === null ? null : new Date(session.endedAtMs).toISOString(),
    durationMs: toMicros(session.durationMs),
    holdCount: holds.length,
    totalHoldMs: toMicros(inOrder.reduce((sum, stored) => sum + stored.hold.durationMs, 0)),
    warningCount,
    ...summaryLabels(inOrder.map((stored) => stored.label)),
    notes: session.notes,
  };
}

/** One session whole: summary, engine settings, holds and warnings (oldest first). */
export function detailOf(session: StoredSession, holds: readonly StoredHold[], warnings: readonly StoredWarning[]): SessionDetail {
  const inOrder = [...warnings].sort((a, b) => a.index - b.index).map((stored) => stored.warning);
  return {
    ...summaryOf(session, holds, warnings.length),
    engineConfig: engineConfigSchema.parse(session.engineConfig),
    firstDeviceMs: session.firstDeviceMs,
    sampleCount: session.sampleCount,
    holds: [...holds].sort((a, b) => a.index - b.index).map(recordedHold),
    warnings: roundResults({ holds: [], warnings: inOrder }).warnings,
  };
}
